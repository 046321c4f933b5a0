/* test_http: lib/http's pure decisions: the wait before a retry (the server's hint against the
 * backoff, with its jitter) and where a redirect's Location leads. */
#include "http.h"
#include "tap.h"
#include <stdlib.h>
#include <string.h>

static void test_hint(void)
{
    time_t now = 1700000000; /* Tue, 14 Nov 2023 22:13:20 GMT */
    CHECK_INT(tb_http_retry_hint_ms(NULL, "\"api\";r=0;t=1", now, TB_HTTP_HINT_CAP_MS), 1000, "hint: the Hub's RateLimit");
    CHECK_INT(tb_http_retry_hint_ms("3", "\"api\";r=0;t=1", now, TB_HTTP_HINT_CAP_MS), 3000, "hint: the larger of the two");
    CHECK_INT(tb_http_retry_hint_ms("Tue, 14 Nov 2023 22:13:50 GMT", NULL, now, TB_HTTP_HINT_CAP_MS), 30000,
              "hint: Retry-After as a date");
    CHECK_INT(tb_http_retry_hint_ms(NULL, "\"api\";r=0;t=86400", now, TB_HTTP_HINT_CAP_MS), TB_HTTP_HINT_CAP_MS,
              "hint: capped at two minutes");
    CHECK_INT(tb_http_retry_hint_ms(NULL, NULL, now, TB_HTTP_HINT_CAP_MS), -1, "hint: none");
}

static void test_delay(void)
{
    uint64_t rng = 42;
    CHECK_INT(tb_http_retry_delay_ms(350, -1, &rng), 350, "delay: no hint: the backoff");
    long lo = 1L << 40, hi = -1;
    int ok = 1;
    for (int i = 0; i < 2000; i++) {
        long d = tb_http_retry_delay_ms(150, 1000, &rng);
        ok &= d >= 1000 && d <= 1100;
        if (d < lo) lo = d;
        if (d > hi) hi = d;
    }
    CHECK(ok, "delay: a 1 s hint waits 1.0 to 1.1 s");
    CHECK(lo < 1020 && hi > 1080, "delay: the jitter spreads over the tenth (min %ld, max %ld)", lo, hi);
    ok = 1;
    for (int i = 0; i < 200; i++) {
        long d = tb_http_retry_delay_ms(5000, 1000, &rng);
        ok &= d >= 5000 && d <= 5100;
    }
    CHECK(ok, "delay: a longer backoff wins, still jittered by the hint's tenth");
    ok = 1;
    for (int i = 0; i < 200; i++) ok &= tb_http_retry_delay_ms(0, 0, &rng) == 0;
    CHECK(ok, "delay: a zero hint is no wait");
    ok = 1;
    for (int i = 0; i < 200; i++) {
        long d = tb_http_retry_delay_ms(20000, TB_HTTP_HINT_CAP_MS, &rng);
        ok &= d >= TB_HTTP_HINT_CAP_MS && d <= TB_HTTP_HINT_CAP_MS + TB_HTTP_HINT_CAP_MS / 10;
    }
    CHECK(ok, "delay: bounded by the cap plus its tenth");
    /* two ranks told the same t (different seeds) do not come back at the same millisecond */
    uint64_t a = 1, b = 2;
    int same = 0;
    for (int i = 0; i < 100; i++) same += tb_http_retry_delay_ms(0, 55000, &a) == tb_http_retry_delay_ms(0, 55000, &b);
    CHECK(same < 10, "delay: ranks with the same hint are spread (%d of 100 equal)", same);
}

static void loc_is(const char *base, const char *loc, const char *want, const char *what)
{
    char *out = NULL;
    tb_err e = {0};
    int rc = tb_http_location(base, loc, &out, &e);
    CHECK(rc == 0 && out && strcmp(out, want) == 0, "location: %s (%s)", what, out ? out : e.msg);
    free(out);
}

static void test_location(void)
{
    const char *base = "http://127.0.0.1:8080/datasets/org/ds/resolve/main/data/a.gz";
    loc_is(base, "http://localhost:9090/cdn/x?X-Amz-Signature=abc&Expires=1", "http://localhost:9090/cdn/x?X-Amz-Signature=abc&Expires=1",
           "absolute, query kept");
    loc_is(base, "//cdn.example/y", "http://cdn.example/y", "scheme-relative");
    loc_is(base, "/api/resolve-cache/z", "http://127.0.0.1:8080/api/resolve-cache/z", "absolute path");
    loc_is(base, "b.gz", "http://127.0.0.1:8080/datasets/org/ds/resolve/main/data/b.gz", "relative path");
    loc_is(base, "../other/c.txt", "http://127.0.0.1:8080/datasets/org/ds/resolve/main/other/c.txt", "dot segments");
    loc_is(base, "?x=1", "http://127.0.0.1:8080/datasets/org/ds/resolve/main/data/a.gz?x=1", "query only");
    loc_is(base, "HTTPS://Cdn.Example:443/p", "https://Cdn.Example:443/p", "an upper-case scheme");
    loc_is(base, "/a b", "http://127.0.0.1:8080/a%20b", "a space encoded");
    loc_is("https://huggingface.co/datasets/o/n/resolve/main/f", "/api/resolve-cache/datasets/o/n/abc/f",
           "https://huggingface.co/api/resolve-cache/datasets/o/n/abc/f", "https base");
    char *out = NULL;
    tb_err e = {0};
    CHECK(tb_http_location(base, "ftp://x/y", &out, &e) == TB_EUNAVAIL && !out && strstr(e.msg, "ftp"), "location: ftp refused");
    CHECK(tb_http_location(base, "file:///etc/passwd", &out, &e) == TB_EUNAVAIL && !out, "location: file refused");
    CHECK(tb_http_location(base, "", &out, &e) == TB_EUNAVAIL && strstr(e.msg, "Location"), "location: empty");
    CHECK(tb_http_location(base, NULL, &out, &e) == TB_EUNAVAIL, "location: none");
}

int main(void)
{
    test_hint();
    test_delay();
    test_location();
    return tap_done();
}
