/* Unit tests for the sample <-> member mapping (lib/shard_sample.c), the ustar header and member sizes
 * (lib/shard_io.c) and the shard state file (lib/shard_state.c). */
#include "atomic.h"
#include "shard_sample.h"
#include "shard_io.h"
#include "shard_state.h"
#include "tap.h"
#include <stdlib.h>
#include <unistd.h>

static struct tb_sample S;

static const char *parse(const char *line, uint64_t index)
{
    static tb_err e;
    memset(&e, 0, sizeof e);
    int r = tb_sample_parse(&S, line, strlen(line), index, &e);
    return r ? e.msg : NULL;
}

static void member_is(int i, const char *field, const char *data, size_t len, const char *what)
{
    int ok = i < S.n && S.m[i].field_len == strlen(field) && memcmp(S.m[i].field, field, S.m[i].field_len) == 0 &&
             S.m[i].len == len && memcmp(S.m[i].data, data, len) == 0;
    CHECK(ok, "%s: member %d is %s (%zu bytes)", what, i, field, len);
    if (!ok && i < S.n) printf("#   got %.*s = '%.*s'\n", (int)S.m[i].field_len, S.m[i].field, (int)S.m[i].len, S.m[i].data);
}

static void key_is(const char *key, const char *what)
{
    int ok = S.key_len == strlen(key) && memcmp(S.key, key, S.key_len) == 0;
    CHECK(ok, "%s: key is %s", what, key);
    if (!ok) printf("#   got '%.*s'\n", (int)S.key_len, S.key);
}

static void forward(void)
{
    const char *err = parse("{\"txt\": \"a\\tb \\u00e9\", \"__key__\": \"d/k1\", \"json\": {\"a\": [1, 2.50, \"x y\"], \"id\": 9007199254740993},"
                            " \"_meta\": 1, \"cls\": 3, \"bin\": {\"$base64\": \"AAEC/w==\"}, \"seg.png\": \"\", \"n\": null}", 5);
    CHECK(err == NULL, "parse a full sample (%s)", err ? err : "ok");
    key_is("d/k1", "__key__ given");
    CHECK_INT(S.n, 6, "_meta and __key__ are not members");
    member_is(0, "bin", "\x00\x01\x02\xff", 4, "base64 decoded");
    member_is(1, "cls", "3", 1, "number as its text");
    member_is(2, "json", "{\"a\":[1,2.50,\"x y\"],\"id\":9007199254740993}", 42, "object compacted, digits kept");
    member_is(3, "n", "null", 4, "null as its text");
    member_is(4, "seg.png", "", 0, "empty string");
    member_is(5, "txt", "a\tb \xc3\xa9", 6, "string unescaped to UTF-8");

    CHECK(parse("{\"b\":\"1\",\"a\":\"2\"}", 42) == NULL, "sample without key");
    key_is("000000042", "assigned key is the zero-padded index");
    member_is(0, "a", "2", 1, "fields sorted");

    CHECK(parse("{\"__key__\":\"k\",\"x\":{\"$base64\":\"AQ==\",\"y\":1}}", 0) == NULL, "an object with $base64 and more is JSON");
    member_is(0, "x", "{\"$base64\":\"AQ==\",\"y\":1}", 24, "kept as JSON text");
    CHECK(parse("{\"__key__\":\"k\",\"x\":{\"$base64\":\"AQ\\u003d\\u003d\"}}", 0) == NULL, "escaped base64 text");
    member_is(0, "x", "\x01", 1, "decoded after unescaping");
}

static void errors(void)
{
    struct { const char *line, *want; } cases[] = {
        {"[1,2]", "not a JSON object"},
        {"{\"a\":", "not valid JSON"},
        {"{\"__key__\":\"\",\"a\":\"x\"}", "the key is empty"},
        {"{\"__key__\":\"/abs\",\"a\":\"x\"}", "starts with '/'"},
        {"{\"__key__\":\"a/../b\",\"a\":\"x\"}", "'..' path component"},
        {"{\"__key__\":\"a.b\",\"a\":\"x\"}", "'.' in its last path component"},
        {"{\"__key__\":\"a//b\",\"a\":\"x\"}", "empty path component"},
        {"{\"__key__\":\"a\\u0000b\",\"a\":\"x\"}", "NUL"},
        {"{\"__key__\":5,\"a\":\"x\"}", "not a string"},
        {"{\"__key__\":\"k\",\"a\":{\"$base64\":\"abc\"}}", "does not decode"},
        {"{\"__key__\":\"k\",\"a\":{\"$base64\":\"ab=c\"}}", "does not decode"},
        {"{\"__key__\":\"k\",\"a\":{\"$base64\":\"a b=\"}}", "does not decode"},
        {"{\"__key__\":\"k\",\"a\":{\"$base64\":7}}", "not a string"},
        {"{\"__key__\":\"k\",\"a/b\":\"x\"}", "contains '/'"},
        {"{\"__key__\":\"k\",\"\":\"x\"}", "empty field name"},
        {"{\"__key__\":\"k\",\"a\":\"x\",\"a\":\"y\"}", "given twice"},
        {"{\"__key__\":\"k\",\"_m\":1}", "no fields"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *err = parse(cases[i].line, 0);
        CHECK(err && strstr(err, cases[i].want), "%s -> %s (%s)", cases[i].line, cases[i].want, err ? err : "accepted");
    }
    CHECK(tb_key_invalid("a.b/c", 5) == NULL, "a dot in a directory component is fine");
    CHECK(tb_key_invalid("日本/ü", strlen("日本/ü")) == NULL, "unicode keys are fine");
}

static void helpers(void)
{
    char out[64];
    size_t n = tb_json_compact(" { \"a b\" : [ 1 , \"\\\" x\" ] } ", 29, out);
    out[n] = 0;
    CHECK_STR(out, "{\"a b\":[1,\"\\\" x\"]}", "compact keeps strings and escapes");
    CHECK_INT(tb_member_split("d.x/k.seg.png", 13), 5, "split at the first dot of the basename");
    CHECK_INT(tb_member_split("dir/noext", 9), -1, "no dot");
    CHECK(tb_text_ext("txt", 3) && tb_text_ext("seg.txt", 7) && tb_text_ext("json", 4) && tb_text_ext("cls", 3), "text extensions");
    CHECK(!tb_text_ext("png", 3) && !tb_text_ext("txt.png", 7) && !tb_text_ext("bin", 3), "binary extensions");
}

static const char *line_of(const char *field, const void *data, size_t len)
{
    static struct tb_linebuf b;
    static struct tb_json j;
    tb_err e;
    tb_linebuf_begin(&b, "k", 1, &e);
    tb_linebuf_add(&b, field, strlen(field), data, len, &j, &e);
    tb_linebuf_end(&b, &e);
    return b.p;
}

/* The inverse must re-shard to the same bytes: check line -> member bytes for each case. */
static void inverse_case(const char *field, const char *data, size_t len, const char *want_line)
{
    const char *l = line_of(field, data, len);
    CHECK_STR(l, want_line, "inverse of a %zu-byte %s member", len, field);
    const char *err = parse(l, 0);
    CHECK(err == NULL && S.n == 1 && S.m[0].len == len && memcmp(S.m[0].data, data, len) == 0,
          "re-sharding '%s' gives the same bytes", l);
}

static void inverse(void)
{
    static const struct { const char *field, *data; size_t len; const char *line; } cases[] = {
        {"json", "{\"a\":1}", 7, "{\"__key__\":\"k\",\"json\":{\"a\":1}}"},
        {"json", "{\"a\": 1}", 8, "{\"__key__\":\"k\",\"json\":\"{\\\"a\\\": 1}\"}"},
        {"json", "\"str\"", 5, "{\"__key__\":\"k\",\"json\":\"\\\"str\\\"\"}"},
        /* the scanner takes no bare top-level number: it stays a string, which re-shards the same */
        {"json", "12345678901234567890", 20, "{\"__key__\":\"k\",\"json\":\"12345678901234567890\"}"},
        {"json", "[1,2.50]", 8, "{\"__key__\":\"k\",\"json\":[1,2.50]}"},
        {"json", "not json", 8, "{\"__key__\":\"k\",\"json\":\"not json\"}"},
        {"json", "", 0, "{\"__key__\":\"k\",\"json\":\"\"}"},
        {"txt", "a\tb\n\"\\ \xc3\xa9", 9, "{\"__key__\":\"k\",\"txt\":\"a\\tb\\n\\\"\\\\ \xc3\xa9\"}"},
        {"txt", "\xff", 1, "{\"__key__\":\"k\",\"txt\":{\"$base64\":\"/w==\"}}"},
        {"txt", "a\0b", 3, "{\"__key__\":\"k\",\"txt\":\"a\\u0000b\"}"},
        {"png", "abc", 3, "{\"__key__\":\"k\",\"png\":{\"$base64\":\"YWJj\"}}"},
        {"cls", "7", 1, "{\"__key__\":\"k\",\"cls\":\"7\"}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        inverse_case(cases[i].field, cases[i].data, cases[i].len, cases[i].line);
    /* a tar member's name in another encoding (found by tests/fuzz/fuzz_sample): no JSON line can
     * hold it, so it is refused instead of written as bytes every reader refuses */
    struct tb_linebuf b = {0};
    struct tb_json j;
    tb_json_init(&j);
    tb_err e = {0};
    CHECK(tb_linebuf_begin(&b, "caf\xe9", 4, &e) == TB_EDATA && strstr(e.msg, "key 'caf?' is not valid UTF-8"),
          "latin-1 key refused: %s", e.msg);
    CHECK(tb_linebuf_begin(&b, "k", 1, &e) == 0 && tb_linebuf_add(&b, "t\x96xt", 4, (const unsigned char *)"x", 1, &j, &e) == TB_EDATA &&
          strstr(e.msg, "field 't?xt'"), "latin-1 field refused: %s", e.msg);
    CHECK(tb_linebuf_begin(&b, "caf\xc3\xa9", 5, &e) == 0 && tb_linebuf_add(&b, "\xc3\xa9.txt", 6, (const unsigned char *)"x", 1, &j, &e) == 0,
          "UTF-8 key and field taken");
    tb_linebuf_free(&b);
    tb_json_free(&j);
}

static void tar_header(void)
{
    unsigned char h[512];
    tb_tar_header(h, "k.txt", 5, 10, 0, '0');
    CHECK(memcmp(h + 257, "ustar\0" "00", 8) == 0, "ustar magic and version");
    CHECK(memcmp(h + 124, "00000000012", 12) == 0, "size in octal");
    CHECK(memcmp(h + 100, "0000644", 8) == 0, "mode 0644");
    unsigned sum = 0;
    for (int i = 0; i < 512; i++) sum += (i >= 148 && i < 156) ? ' ' : h[i];
    CHECK_INT(strtoul((char *)h + 148, NULL, 8), sum, "checksum");
    CHECK(h[265] == 0 && h[297] == 0, "empty uname and gname");
    CHECK_INT(tb_tar_member_size(100, 0), 512, "100-byte name: no pax header");
    CHECK_INT(tb_tar_member_size(101, 1), 512 + 512 + 512 + 512, "101-byte name: pax header");
    CHECK_INT(tb_tar_member_size(5, 513), 512 + 1024, "data rounded to blocks");
}

static void state(void)
{
    char dir[] = "/tmp/tb-unit-state.XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "temp dir");
    char path[256];
    snprintf(path, sizeof path, "%s/state", dir);
    struct tb_shardstate s, t;
    tb_shardstate_init(&s);
    strcpy(s.options, "abc");
    strcpy(s.first_line, "def");
    s.lines = 12345678901ull;
    s.samples = 7;
    s.next_shard = 3;
    s.last_line = 11;
    tb_err e;
    tb_shardstate_set_last_key(&s, "k\"ü", strlen("k\"ü"), &e);
    tb_shardstate_add_record(&s, "{\"path\":\"a\"}", &e);
    tb_shardstate_add_record(&s, "{\"path\":\"b\"}", &e);
    CHECK(tb_shardstate_save(path, &s, &e) == 0, "save");
    int found;
    CHECK(tb_shardstate_load(path, &t, &found, &e) == 0 && found, "load");
    CHECK(t.lines == s.lines && t.samples == 7 && t.next_shard == 3 && t.last_line == 11 && strcmp(t.options, "abc") == 0,
          "numbers and hashes survive");
    CHECK(t.nrec == 2 && strcmp(t.records[1], "{\"path\":\"b\"}") == 0 && strcmp(t.last_key, "k\"ü") == 0, "records and key survive");
    tb_shardstate_free(&t);
    tb_atomic_write(path, "{\"x\":1}", 7, &e);
    CHECK(tb_shardstate_load(path, &t, &found, &e) == TB_EDATA, "a foreign file is refused");
    unlink(path);
    CHECK(tb_shardstate_load(path, &t, &found, &e) == 0 && !found, "missing state: found = 0");
    tb_shardstate_free(&s);
    rmdir(dir);
}

static uint64_t tb_xorshift(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* decode each sequence to its code point and check the ranges (the reference for the fast one) */
static int ref_utf8_valid(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
        if (!len || i + len > n) return 0;
        unsigned cp = len == 1 ? c : len == 2 ? c & 0x1f : len == 3 ? c & 0x0f : c & 0x07;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80) return 0;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        static const unsigned min[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
        i += len;
    }
    return 1;
}

/* lib/json.c's UTF-8 check and unescape have word-at-a-time fast paths: check their edges here */
static void utf8_edges(void)
{
    struct { const char *s; int ok; } c[] = {
        {"plain ascii long enough for words", 1}, {"\xc3\xa9", 1}, {"\xe6\x97\xa5", 1}, {"\xf0\x9f\x98\x80", 1},
        {"\xc0\xaf", 0}, {"\xe0\x80\xaf", 0}, {"\xf0\x80\x80\xaf", 0}, {"\xed\xa0\x80", 0}, {"\xf4\x90\x80\x80", 0},
        {"\xf5\x80\x80\x80", 0}, {"abcdefgh\xc3", 0}, {"abcdefg\xe6\x97", 0}, {"\x80", 0}, {"abcdefghijklmno\xff", 0},
        {"\xef\xbf\xbf", 1}, {"\xf4\x8f\xbf\xbf", 1}, {"\xed\x9f\xbf", 1},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
        CHECK_INT(tb_utf8_valid((const unsigned char *)c[i].s, strlen(c[i].s)), c[i].ok, "utf8 case %zu", i);
    /* against a plain decoder, on random mixes of ASCII runs, valid sequences and stray bytes at
     * every offset and length the block fast paths meet */
    uint64_t rng = 12345;
    int agree = 1;
    for (int t = 0; t < 200000 && agree; t++) {
        unsigned char b[96];
        size_t n = 0, want_len = (size_t)(tb_xorshift(&rng) % 90);
        while (n < want_len) {
            static const char *piece[] = {"a", "bcdefghijklmnopqrstu", "\xc3\xa9", "\xe6\x97\xa5", "\xf0\x9f\x98\x80",
                                          "\xc0", "\x80", "\xed\xa0\x80", "\xe0\x80", "\xf4\x90\x80\x80", "\xff", "xy"};
            const char *p = piece[tb_xorshift(&rng) % 12];
            size_t l = strlen(p);
            if (n + l > sizeof b) break;
            memcpy(b + n, p, l);
            n += l;
        }
        if (tb_utf8_valid(b, n) != ref_utf8_valid(b, n)) agree = 0;
    }
    CHECK(agree, "the UTF-8 check agrees with a plain decoder on 200,000 random mixes");
    /* unescape across the 8-byte fast path: escapes at every offset */
    for (int off = 0; off < 17; off++) {
        char line[128], want[64];
        int n = snprintf(line, sizeof line, "{\"__key__\":\"k\",\"t\":\"%.*s\\n%.*s\\u00e9z\"}", off, "abcdefghijklmnopq", 17 - off, "ABCDEFGHIJKLMNOPQ");
        (void)n;
        int w = snprintf(want, sizeof want, "%.*s\n%.*s\xc3\xa9z", off, "abcdefghijklmnopq", 17 - off, "ABCDEFGHIJKLMNOPQ");
        const char *err = parse(line, 0);
        CHECK(err == NULL && S.n == 1 && S.m[0].len == (size_t)w && memcmp(S.m[0].data, want, (size_t)w) == 0, "unescape with the escape at offset %d", off);
    }
}

int main(void)
{
    tb_sample_init(&S);
    utf8_edges();
    forward();
    errors();
    helpers();
    inverse();
    tar_header();
    state();
    tb_sample_free(&S);
    return tap_done();
}
