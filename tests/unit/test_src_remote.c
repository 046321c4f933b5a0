/* lib/src_remote: what a response's headers say about the object, whether a resumed response
 * continues the object the first bytes came from (same ETag or Last-Modified, the right offset, the
 * same size), a streamed read of a store object against its bytes, and store_http's refusal of
 * every operation but HEAD and GET (no request made). The HTTP streaming itself, drops and resumes
 * included, is tested against tests/http_server.py in tests/cat_remote.bats. */
#include "src_remote.h"
#include "tap.h"
#include "testutil.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_parse(void)
{
    struct tb_resp_meta m;
    tb_resp_meta_parse("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\nETag: \"abc\"\r\nLast-Modified: Tue, 01 Dec 2026 10:00:00 GMT\r\n\r\n", &m);
    CHECK_INT(m.status, 200, "status of a 200");
    CHECK_STR(m.etag, "\"abc\"", "ETag kept as sent, quotes included");
    CHECK_STR(m.last_modified, "Tue, 01 Dec 2026 10:00:00 GMT", "Last-Modified");
    CHECK_INT(m.total, 1234, "a 200's size is its Content-Length");
    CHECK_INT(m.ranged, 0, "no Content-Range");
    tb_resp_meta_parse("HTTP/2 206 \r\ncontent-range: bytes 100-199/5000\r\ncontent-length: 100\r\n\r\n", &m);
    CHECK_INT(m.status, 206, "HTTP/2 status");
    CHECK(m.ranged && m.range_start == 100, "Content-Range start");
    CHECK_INT(m.total, 5000, "a 206's size is Content-Range's total, not its Content-Length");
    CHECK_STR(m.etag, "", "no ETag");
    tb_resp_meta_parse("HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-9/*\r\n\r\n", &m);
    CHECK_INT(m.total, -1, "an unknown total stays unknown");
    tb_resp_meta_parse(NULL, &m);
    CHECK(m.status == 0 && m.total == -1, "no headers: nothing known");
}

static void test_resume(void)
{
    const char *lm = "Tue, 01 Dec 2026 10:00:00 GMT", *lm2 = "Tue, 01 Dec 2026 10:00:01 GMT";
    struct { const char *name; struct tb_resp_meta first, now; uint64_t pos; int want; } cases[] = {
        {"206 from the byte reached, same ETag", {200, "\"e1\"", "", 0, 0, 500}, {206, "\"e1\"", "", 1, 100, 500}, 100, 0},
        {"200, same ETag (lib/http skips what was delivered)", {200, "\"e1\"", "", 0, 0, 500}, {200, "\"e1\"", "", 0, 0, 500}, 100, 0},
        {"another ETag: changed", {200, "\"e1\"", "", 0, 0, 500}, {200, "\"e2\"", "", 0, 0, 500}, 100, TB_EDATA},
        {"the ETag gone: changed", {200, "\"e1\"", "Tue, 01 Dec 2026 10:00:00 GMT", 0, 0, 500}, {206, "", "Tue, 01 Dec 2026 10:00:00 GMT", 1, 100, 500}, 100, TB_EDATA},
        {"neither ETag nor Last-Modified: cannot be checked", {200, "", "", 0, 0, 500}, {206, "", "", 1, 100, 500}, 100, TB_EUNAVAIL},
        {"a weak ETag alone cannot be checked", {200, "W/\"w\"", "", 0, 0, 500}, {206, "W/\"w\"", "", 1, 100, 500}, 100, TB_EUNAVAIL},
        {"206 at another byte", {200, "\"e1\"", "", 0, 0, 500}, {206, "\"e1\"", "", 1, 0, 500}, 100, TB_EDATA},
        {"206 without Content-Range", {200, "\"e1\"", "", 0, 0, 500}, {206, "\"e1\"", "", 0, 0, -1}, 100, TB_EDATA},
        {"same ETag, another size", {200, "\"e1\"", "", 0, 0, 500}, {206, "\"e1\"", "", 1, 100, 600}, 100, TB_EDATA},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tb_err e = {0};
        CHECK_INT(tb_resp_meta_resume_ok(&cases[i].first, &cases[i].now, cases[i].pos, &e), cases[i].want, "%s", cases[i].name);
    }
    /* Last-Modified as the validator */
    struct tb_resp_meta a = {200, "", "", 0, 0, 500}, b = {206, "", "", 1, 100, 500};
    snprintf(a.last_modified, sizeof a.last_modified, "%s", lm);
    snprintf(b.last_modified, sizeof b.last_modified, "%s", lm);
    tb_err e = {0};
    CHECK_INT(tb_resp_meta_resume_ok(&a, &b, 100, &e), 0, "no ETag, same Last-Modified: resumed");
    snprintf(b.last_modified, sizeof b.last_modified, "%s", lm2);
    CHECK_INT(tb_resp_meta_resume_ok(&a, &b, 100, &e), TB_EDATA, "another Last-Modified: changed");
    CHECK(strstr(e.msg, "changed") != NULL, "the message says changed: %s", e.msg);
    snprintf(a.etag, sizeof a.etag, "W/\"w\"");
    snprintf(b.etag, sizeof b.etag, "W/\"w\"");
    snprintf(b.last_modified, sizeof b.last_modified, "%s", lm);
    CHECK_INT(tb_resp_meta_resume_ok(&a, &b, 100, &e), 0, "weak ETag: Last-Modified decides");
}

/* A store object read through the source in odd-sized pieces gives its bytes (a file store: the
 * GET completes at once, so the buffer takes the whole object). */
static void test_stream_file_store(void)
{
    char dir[] = "/tmp/tb_src_remote_XXXXXX";
    if (!mkdtemp(dir)) { CHECK(0, "mkdtemp"); return; }
    char path[128];
    snprintf(path, sizeof path, "%s/obj.bin", dir);
    size_t n = (3u << 20) + 12345;
    unsigned char *want = malloc(n);
    uint64_t rng = 7;
    for (size_t i = 0; i < n; i++) want[i] = (unsigned char)tu_xorshift(&rng);
    FILE *f = fopen(path, "wb");
    fwrite(want, 1, n, f);
    fclose(f);
    tb_err e = {0};
    struct tb_store *s = tu_dir_store(dir, &e);
    CHECK(s != NULL, "file store opened");
    struct tb_src src;
    int rc = tb_src_open_store(&src, s, path, 0, &e);
    CHECK_INT(rc, 0, "opened %s", e.msg);
    unsigned char *got = malloc(n + 1);
    size_t have = 0, step = 1;
    ssize_t k = 0;
    while (!rc && have <= n && (k = tb_src_read(&src, got + have, (step * 7919) % 70000 + 1 < n + 1 - have ? (step * 7919) % 70000 + 1 : n + 1 - have, &e)) > 0) {
        have += (size_t)k;
        step++;
    }
    CHECK_INT(k, 0, "ends cleanly");
    CHECK(have == n && memcmp(got, want, n) == 0, "the object's bytes, in order");
    if (!rc) tb_src_close(&src);
    rc = tb_src_open_store(&src, s, "/nonexistent/nope.bin", 0, &e);
    CHECK_INT(rc, TB_ENOINPUT, "a missing object: 66 at open (%s)", e.msg);
    tb_store_close(s);
    unlink(path);
    rmdir(dir);
    free(want);
    free(got);
}

static void test_http_read_only(void)
{
    struct tb_uri u;
    tb_err e = {0};
    CHECK_INT(tb_uri_parse("http://127.0.0.1:1/x.jsonl", &u, &e), 0, "parsed");
    struct tb_store *s = NULL;
    CHECK_INT(tb_store_open(&s, &u, NULL, &e), 0, "an http store opens without a request");
    tb_uri_free(&u);
    if (!s) return;
    CHECK_INT(tb_store_put_mem(s, "", "x", 1, NULL, &e), TB_EUSAGE, "PUT refused: %s", e.msg);
    CHECK(strstr(e.msg, "read-only") != NULL, "says read-only");
    CHECK_INT(tb_store_delete(s, "", &e), TB_EUSAGE, "DELETE refused");
    CHECK_INT(tb_store_head(s, "relative/key", &(struct tb_obj_info){0}, &e), TB_EUSAGE, "a relative key needs a root ending in '/'");
    tb_store_close(s);
}

int main(void)
{
    test_parse();
    test_resume();
    test_stream_file_store();
    test_http_read_only();
    return tap_done();
}
