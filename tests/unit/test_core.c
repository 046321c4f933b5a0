/* Unit tests for the small shared pieces: sizes, redaction, ndjson lines, json scanning, hashing,
 * atomic files. */
#include "atomic.h"
#include "err.h"
#include "hash.h"
#include "json.h"
#include "ndjson.h"
#include "opts.h"
#include "tap.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

struct mem { const char *s; size_t n, off, chunk; };
static ssize_t mem_read(void *ctx, void *buf, size_t n, tb_err *e)
{
    (void)e;
    struct mem *m = ctx;
    size_t k = m->n - m->off;
    if (k > n) k = n;
    if (m->chunk && k > m->chunk) k = m->chunk;
    memcpy(buf, m->s + m->off, k);
    m->off += k;
    return (ssize_t)k;
}

static void lines_case(const char *input, size_t chunk, size_t maxline)
{
    struct mem m = {input, strlen(input), 0, chunk};
    struct tb_src s = {&m, mem_read, NULL, "mem"};
    struct tb_lines r;
    tb_lines_init(&r, &s, maxline);
    char *l;
    size_t n;
    tb_err e = {0};
    char got[512] = "";
    int rc;
    while ((rc = tb_lines_next(&r, &l, &n, &e)) == 1) {
        strcat(got, "[");
        strncat(got, l, n);
        strcat(got, "]");
        CHECK(strlen(l) == n, "line NUL-terminated at its length (chunk %zu)", chunk);
    }
    if (rc < 0) { strcat(got, "ERR:"); strcat(got, e.msg); }
    static const char *want_default = "[a][bb][ccc][last]";
    if (maxline == 0) CHECK_STR(got, want_default, "lines: CRLF, empty lines, no final newline (chunk %zu)", chunk);
    else CHECK(strstr(got, "line 2 is longer") != NULL, "too-long line names line 2: %s", got);
    tb_lines_free(&r);
}

int main(void)
{
    unsigned long long v;
    CHECK(tb_parse_size("64MiB", &v) == 0 && v == 64ull << 20, "64MiB");
    CHECK(tb_parse_size("1G", &v) == 0 && v == 1000000000ull, "1G");
    CHECK(tb_parse_size("1GiB", &v) == 0 && v == 1ull << 30, "1GiB");
    CHECK(tb_parse_size("10k", &v) == 0 && v == 10000, "10k");
    CHECK(tb_parse_size("1.5KiB", &v) == 0 && v == 1536, "1.5KiB");
    CHECK(tb_parse_size("12", &v) == 0 && v == 12, "plain");
    CHECK(tb_parse_size("12x", &v) != 0, "bad suffix refused");
    CHECK(tb_parse_size("-1", &v) != 0, "negative refused");
    CHECK(tb_parse_u64("007", &v) == 0 && v == 7, "u64");
    CHECK(tb_parse_u64("1e3", &v) != 0, "u64 refuses junk");

    char s1[] = "GET /b/k?X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F2026&X-Amz-Signature=deadbeef HTTP/1.1\r\n"
                "Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/x, Signature=abc\r\nHost: h";
    tb_redact(s1);
    CHECK(!strstr(s1, "deadbeef") && !strstr(s1, "Signature=abc") && !strstr(s1, "AKIAIOSFODNN7EXAMPLE"), "redacted: %s", s1);
    CHECK(strstr(s1, "Host: h") != NULL, "redaction keeps other headers");
    char s2[] = "Bearer abc.def token=xyz";
    tb_redact(s2);
    CHECK(!strstr(s2, "abc.def") && !strstr(s2, "xyz"), "bearer and token redacted: %s", s2);

    lines_case("a\r\n\nbb\nccc\n\n\r\nlast", 0, 0);
    lines_case("a\r\n\nbb\nccc\n\n\r\nlast", 1, 0);
    lines_case("a\r\n\nbb\nccc\n\n\r\nlast", 3, 0);
    lines_case("a\nbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\nc\n", 7, 16);
    lines_case("a\nbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", 0, 16);

    struct tb_json j;
    tb_json_init(&j);
    tb_err e = {0};
    const char *ok[] = {"{}", "{\"a\":1}", " {\"__key__\":\"k\",\"x\":[1,2,{\"y\":null}],\"n\":-0.5e+10} ",
                        "{\"u\":\"\\u00e9\\ud83d\\ude00\"}", "[1,2]", "\"s\"", NULL};
    for (int i = 0; ok[i]; i++) CHECK(tb_json_scan(&j, ok[i], strlen(ok[i]), &e) == 0, "valid JSON %s (%s)", ok[i], e.msg);
    const char *badj[] = {"", "{", "{\"a\":}", "{\"a\" 1}", "{\"a\":1,}", "[1,,2]", "{,\"a\":1}", "{\"a\":[1,]}", "{\"a\":01}", "{\"a\":tru}", "{\"a\":1} x",
                          "{1:2}", "{\"a\":\"x\ty\"}", "{\"a\":\"\xff\"}", "{} {}", "{\"a\":[2,\"c\":1]}", "[\"c\":1]", "{\"a\":1}]", "{\"a\" :: 1}", "{\"a\":1.}", "{\"a\":-}", "nope", NULL};
    for (int i = 0; badj[i]; i++) CHECK(tb_json_scan(&j, badj[i], strlen(badj[i]), &e) == TB_EDATA, "invalid JSON refused: '%s' (%s)", badj[i], e.msg);
    const char *obj = "{\"x\":{\"__key__\":\"inner\"},\"__k\\u0065y__\":\"a\\/b\\u00e9\",\"n\":123456789012345678901}";
    CHECK(tb_json_scan_object(&j, obj, strlen(obj), &e) == 0, "object scans");
    int k = tb_json_field(&j, "__key__");
    CHECK(k > 0, "top-level field found through an escaped key, not the nested one");
    char out[64];
    long dl = tb_json_unescape(&j, k, out, sizeof out);
    CHECK(dl == 5 && strcmp(out, "a/b\xc3\xa9") == 0, "unescape: %s", out);
    CHECK(tb_json_unescape(&j, k, out, 3) == -1, "unescape reports a small buffer");
    int nn = tb_json_field(&j, "n");
    struct tb_jtok t = tb_json_tok(&j, nn);
    CHECK(t.end - t.start == 21 && memcmp(obj + t.start, "123456789012345678901", 21) == 0, "number span kept as written");
    CHECK(tb_json_scan_object(&j, "[1]", 3, &e) == TB_EDATA && strstr(e.msg, "not a JSON object"), "array is not an object");
    /* errno -> exit code, for a failed input and for an output being created (DESIGN.md's table) */
    static const struct { int code, err, want; } em[] = {
        {0, ENOENT, TB_ENOINPUT}, {0, EACCES, TB_ENOPERM}, {0, EROFS, TB_ENOPERM}, {0, EIO, TB_EIO},
        {TB_FROM_ERRNO_OUT, ENOENT, TB_ECANTCREAT}, {TB_FROM_ERRNO_OUT, ENOTDIR, TB_ECANTCREAT},
        {TB_FROM_ERRNO_OUT, EACCES, TB_ENOPERM}, {TB_FROM_ERRNO_OUT, EPERM, TB_ENOPERM},
        {TB_FROM_ERRNO_OUT, EROFS, TB_ENOPERM}, {TB_FROM_ERRNO_OUT, ENOSPC, TB_EIO}, {TB_EIO, EACCES, TB_EIO},
    };
    for (size_t i = 0; i < sizeof em / sizeof em[0]; i++) {
        errno = em[i].err;
        CHECK(tb_fail_errno(&e, em[i].code, "x") == em[i].want && e.code == em[i].want, "errno mapping %zu -> %d (got %d)", i, em[i].want, e.code);
    }
    /* say what is wrong: a complete object followed by more, a NUL, or a line that really ends early */
    static const struct { const char *text; size_t len; const char *msg; } why[] = {
        {"{\"a\":1} {\"b\":", 13, "trailing bytes after the JSON object at byte 9"},
        {"{\"a\":1}\"x", 9, "trailing bytes after the JSON object at byte 8"},
        {"{\"a\":1}}", 8, "trailing bytes after the JSON object at byte 8"},
        {"{\"a\":1} x", 9, "trailing bytes after the JSON object at byte 9"},
        {"{\"a\":\"x\0y\"}", 11, "raw NUL byte inside a string at byte 8"},
        {"{\"a\":\"\\\"\0\"}", 11, "raw NUL byte inside a string at byte 9"},
        {"{\"a\":\0 1}", 9, "raw NUL byte at byte 6"},
        {"{\"a\":1", 6, "(truncated)"},
        {"{\"a\":\"xy", 8, "(truncated)"},
    };
    for (size_t i = 0; i < sizeof why / sizeof why[0]; i++)
        CHECK(tb_json_scan(&j, why[i].text, why[i].len, &e) == TB_EDATA && strstr(e.msg, why[i].msg),
              "JSON error %zu says '%s' (got: %s)", i, why[i].msg, e.msg);
    char q[64];
    size_t ql = tb_json_quote("a\"b\\\n\x01", 6, q, sizeof q);
    CHECK(ql == strlen(q) && strcmp(q, "\"a\\\"b\\\\\\n\\u0001\"") == 0, "quote: %s", q);
    tb_json_free(&j);

    /* SipHash-2-4 reference vector: key 00..0f, message 00..0e (15 bytes) -> a129ca6149be45e5 */
    uint8_t key[16], msg[64];
    for (int i = 0; i < 16; i++) key[i] = (uint8_t)i;
    for (int i = 0; i < 64; i++) msg[i] = (uint8_t)i;
    CHECK(tb_siphash24(key, msg, 15) == 0xa129ca6149be45e5ULL, "siphash reference vector (15 bytes)");
    CHECK(tb_siphash24(key, msg, 0) == 0x726fdb47dd0e0e31ULL, "siphash reference vector (empty)");
    struct tb_rng r1, r2;
    tb_rng_seed(&r1, 42);
    tb_rng_seed(&r2, 42);
    int same = 1;
    for (int i = 0; i < 1000; i++) if (tb_rng_next(&r1) != tb_rng_next(&r2)) same = 0;
    CHECK(same, "rng is deterministic");
    tb_rng_seed(&r1, 0);
    CHECK(tb_rng_next(&r1) == 0x99ec5f36cb75f2b4ULL, "xoshiro256** seeded by splitmix64(0): first output pinned");
    int hist[10] = {0};
    for (int i = 0; i < 100000; i++) hist[tb_rng_below(&r1, 10)]++;
    int fair = 1;
    for (int i = 0; i < 10; i++) if (hist[i] < 9500 || hist[i] > 10500) fair = 0;
    CHECK(fair, "rng_below is uniform within 5%%");
    char sha[65], md5[33];
    struct tb_digest *d = tb_digest_new();
    tb_digest_update(d, "abc", 3);
    tb_digest_final(d, sha, md5);
    CHECK_STR(sha, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "sha256(abc)");
    CHECK_STR(md5, "900150983cd24fb0d6963f7d28e17f72", "md5(abc)");
    tb_digest_free(d);

    char dir[] = "/tmp/tbunitXXXXXX";
    CHECK(mkdtemp(dir) != NULL, "temp dir");
    char path[256], deep[256];
    snprintf(path, sizeof path, "%s/state.json", dir);
    snprintf(deep, sizeof deep, "%s/a/b/c", dir);
    CHECK(tb_mkdirs(deep, &e) == 0, "mkdirs");
    CHECK(tb_atomic_write(path, "{\"n\":1}", 7, &e) == 0, "atomic write");
    char *data;
    size_t dlen;
    CHECK(tb_read_file(path, &data, &dlen, &e) == 0 && dlen == 7 && strcmp(data, "{\"n\":1}") == 0, "read back");
    free(data);
    struct tb_afile af;
    CHECK(tb_afile_open(&af, path, ".partial", &e) == 0, "afile open");
    fputs("half", af.fp);
    char partial[300];
    snprintf(partial, sizeof partial, "%s.partial", path);
    CHECK(access(partial, F_OK) == 0, "temp exists while writing");
    tb_afile_abort(&af);
    CHECK(access(partial, F_OK) != 0, "abort removes the temp");
    CHECK(tb_read_file(path, &data, &dlen, &e) == 0 && strcmp(data, "{\"n\":1}") == 0, "abort leaves the old file intact");
    free(data);
    CHECK(tb_read_file("/nonexistent/x", &data, &dlen, &e) == TB_ENOINPUT, "missing file is 66");
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0, "cleanup");
    /* hex both ways */
    {
        unsigned char b[4], in[4] = {0x00, 0x9f, 0xa0, 0xff};
        char h[9];
        tb_hex(in, 4, h);
        CHECK_STR(h, "009fa0ff", "tb_hex");
        CHECK(tb_unhex("009FA0ff", 4, b) == 0 && memcmp(b, in, 4) == 0, "tb_unhex takes either case");
        CHECK(tb_unhex("00g0", 2, b) == -1 && tb_unhex("0:", 1, b) == -1, "tb_unhex refuses non-hex digits");
        CHECK(tb_hexval('/') == -1 && tb_hexval('G') == -1 && tb_hexval('f') == 15, "tb_hexval");
    }
    return tap_done();
}
