/* lib/brace: every form braceexpand 0.1.7 expands, in its order (the expected lists are what
 * braceexpand gives for the same patterns), the refusals, the limit, tb_brace_has, and the round trip
 * of lib/manifest's shardlist brace form. */
#include "brace.h"
#include "manifest.h"
#include "alloc.h"
#include "tap.h"
#include <stdio.h>
#include <stdlib.h>

#define MAXW 12

/* Expand p and compare with want (NULL-terminated). */
static void expect(const char *p, const char *const want[MAXW])
{
    char **v = NULL;
    size_t n = 0, nw = 0;
    tb_err e = {0};
    int rc = tb_brace_expand(p, 1000, &v, &n, &e);
    while (want[nw]) nw++;
    int ok = rc == 0 && n == nw;
    for (size_t i = 0; ok && i < n; i++) ok = strcmp(v[i], want[i]) == 0;
    CHECK(ok, "'%s' expands as braceexpand does (%zu names)", p, nw);
    if (!ok) {
        printf("#   rc %d %s\n#   got:", rc, e.msg);
        for (size_t i = 0; i < n; i++) printf(" '%s'", v[i]);
        printf("\n#   want:");
        for (size_t i = 0; i < nw; i++) printf(" '%s'", want[i]);
        printf("\n");
    }
    tb_brace_free(v, n);
}

static void forms(void)
{
    static const struct { const char *p; const char *w[MAXW]; } t[] = {
        /* no braces */
        {"s3://b/ds/a.tar", {"s3://b/ds/a.tar"}},
        {"", {""}},
        /* integer ranges, padding, steps, descending, negative */
        {"shard-{0..9}.tar", {"shard-0.tar", "shard-1.tar", "shard-2.tar", "shard-3.tar", "shard-4.tar", "shard-5.tar",
                              "shard-6.tar", "shard-7.tar", "shard-8.tar", "shard-9.tar"}},
        {"{9..11}", {"9", "10", "11"}},
        {"{09..11}", {"09", "10", "11"}},
        {"{7..010}", {"007", "008", "009", "010"}},
        {"{0..00}", {"00"}},
        {"{00..0}", {"00"}},
        {"{-0..2}", {"0", "1", "2"}},
        {"{0..10..2}", {"0", "2", "4", "6", "8", "10"}},
        {"{10..0..3}", {"10", "7", "4", "1"}},
        {"{1..5..0}", {"1", "2", "3", "4", "5"}},
        {"{1..5..-2}", {"1", "3", "5"}},
        {"{4..1}", {"4", "3", "2", "1"}},
        {"{2..-1}", {"2", "1", "0", "-1"}},
        {"{-05..3}", {"-05", "-04", "-03", "-02", "-01", "000", "001", "002", "003"}},
        {"{-10..-07}", {"-10", "-09", "-08", "-07"}},
        {"{05..-3..2}", {"05", "03", "01", "-1", "-3"}},
        {"{1..1}", {"1"}},
        /* letters */
        {"{a..e}", {"a", "b", "c", "d", "e"}},
        {"{e..a}", {"e", "d", "c", "b", "a"}},
        {"{a..e..2}", {"a", "c", "e"}},
        {"{e..a..2}", {"e", "c", "a"}},
        {"{Z..a}", {"Z", "a"}},
        {"{b..A..9}", {"b", "S", "J", "A"}},
        {"{a..a}", {"a"}},
        /* comma lists */
        {"index.html{,.backup}", {"index.html", "index.html.backup"}},
        {"{,}", {"", ""}},
        {"{1234567890123456789,x}", {"1234567890123456789", "x"}},
        /* several braces: the product, the leftmost varying slowest */
        {"a{b,c}d{e,f}", {"abde", "abdf", "acde", "acdf"}},
        {"{a..c}{1..2}", {"a1", "a2", "b1", "b2", "c1", "c2"}},
        {"{train,val}/part-{00..01}.jsonl.gz", {"train/part-00.jsonl.gz", "train/part-01.jsonl.gz",
                                                "val/part-00.jsonl.gz", "val/part-01.jsonl.gz"}},
        /* nesting */
        {"a{b,c{d,e,}}", {"ab", "acd", "ace", "ac"}},
        {"{{a,b},{c,d}}", {"a", "b", "c", "d"}},
        {"python{2.{5..7},3.{2,3}}", {"python2.5", "python2.6", "python2.7", "python3.2", "python3.3"}},
        {"x{a{1,2}}y", {"x{a1}y", "x{a2}y"}},
        /* literal braces */
        {"{1}", {"{1}"}},
        {"{}", {"{}"}},
        {"{x}{1,2}", {"{x}1", "{x}2"}},
        {"{a.b}", {"{a.b}"}},
        /* escapes */
        {"\\{1,2\\}", {"{1,2}"}},
        {"{1\\,2}", {"{1,2}"}},
        {"{a,b\\}c}", {"a", "b}c"}},
        {"{1\\{2,3}", {"1{2", "3"}},
        {"{1\\..3}", {"{1..3}"}},
        {"a\\\\{1,2}", {"a\\1", "a\\2"}},
        {"a\\b", {"ab"}},
        {"a\\", {"a\\"}},
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) expect(t[i].p, t[i].w);
}

static void long_ranges(void)
{
    char **v;
    size_t n;
    tb_err e = {0};
    int rc = tb_brace_expand("s3://b/ds/train-{000000..000127}.tar", 1000000, &v, &n, &e);
    int ok = rc == 0 && n == 128;
    for (size_t i = 0; ok && i < n; i++) {
        char want[64];
        snprintf(want, sizeof want, "s3://b/ds/train-%06zu.tar", i);
        ok = strcmp(v[i], want) == 0;
    }
    CHECK(ok, "train-{000000..000127}.tar: 128 names, six digits, in order");
    tb_brace_free(v, n);

    rc = tb_brace_expand("{train,val}/part-{00..03}.jsonl.gz", 1000000, &v, &n, &e);
    ok = rc == 0 && n == 8;
    for (size_t i = 0; ok && i < n; i++) {
        char want[64];
        snprintf(want, sizeof want, "%s/part-%02zu.jsonl.gz", i < 4 ? "train" : "val", i % 4);
        ok = strcmp(v[i], want) == 0;
    }
    CHECK(ok, "{train,val}/part-{00..03}.jsonl.gz: the split varies slowest");
    tb_brace_free(v, n);

    rc = tb_brace_expand("{-999999999999999999..999999999999999999..999999999999999999}", 10, &v, &n, &e);
    CHECK(rc == 0 && n == 3 && !strcmp(v[0], "-999999999999999999") && !strcmp(v[1], "0") &&
              !strcmp(v[2], "999999999999999999"), "18-digit ends and step");
    tb_brace_free(v, n);
}

static void refusals(void)
{
    static const struct { const char *p, *msg; } bad[] = {
        {"x-{1..}.tar", "bad brace range '{1..}'"},
        {"{a..9}", "bad brace range '{a..9}'"},
        {"{..}", "bad brace range"},
        {"{1...3}", "bad brace range"},
        {"{1..2..}", "bad brace range"},
        {"{1..2..x}", "bad brace range"},
        {"{aa..b}", "bad brace range"},
        {"{1..{2,3}}", "bad brace range"},
        {"{a{1..}b,c}", "bad brace range '{1..}'"},
        {"{1234567890123456789..2}", "more than 18 digits"},
        {"{1..2..1234567890123456789}", "more than 18 digits"},
        {"{a..b..1234567890123456789}", "more than 18 digits"},
        {"{1,2", "unbalanced braces"},
        {"{{1,2}", "unbalanced braces"},
        {"{1,2}}", "unbalanced braces"},
        {"a}b", "unbalanced braces"},
        {"}{", "unbalanced braces"},
        {"\\{1,2}", "unbalanced braces"},
        {"{1,2\\}", "unbalanced braces"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char **v = (char **)1;
        size_t n = 7;
        tb_err e = {0};
        int rc = tb_brace_expand(bad[i].p, 1000, &v, &n, &e);
        CHECK(rc == TB_EUSAGE && e.code == TB_EUSAGE && v == NULL && n == 0 && strstr(e.msg, bad[i].msg),
              "'%s' refused, 64: %s", bad[i].p, e.msg);
    }
    /* 65 levels deep */
    char deep[200] = "";
    for (int i = 0; i < 65; i++) strcat(deep, "{");
    strcat(deep, "a,b");
    for (int i = 0; i < 65; i++) strcat(deep, "}");
    char **v;
    size_t n;
    tb_err e = {0};
    CHECK(tb_brace_expand(deep, 1000, &v, &n, &e) == TB_EUSAGE && strstr(e.msg, "nested deeper than 64"),
          "65 levels of braces refused: %.60s", e.msg);
    deep[0] = 0;
    for (int i = 0; i < 64; i++) strcat(deep, "{");
    strcat(deep, "a,b");
    for (int i = 0; i < 64; i++) strcat(deep, "}");
    char want[200] = "";
    for (int i = 0; i < 63; i++) strcat(want, "{");
    strcat(want, "b");
    for (int i = 0; i < 63; i++) strcat(want, "}");
    CHECK(tb_brace_expand(deep, 1000, &v, &n, &e) == 0 && n == 2 && !strcmp(v[1], want),
          "64 levels expand (the 63 outer braces are literal, as in braceexpand)");
    tb_brace_free(v, n);
}

static void limits(void)
{
    char **v;
    size_t n;
    tb_err e = {0};
    CHECK(tb_brace_expand("{1..1000}", 1000, &v, &n, &e) == 0 && n == 1000 && !strcmp(v[999], "1000"),
          "exactly the limit expands");
    tb_brace_free(v, n);
    int rc = tb_brace_expand("x-{1..1001}", 1000, &v, &n, &e);
    CHECK(rc == TB_EUSAGE && v == NULL && strstr(e.msg, "expands to 1001 names, more than the limit of 1000"),
          "one over the limit refused, naming the count: %s", e.msg);
    rc = tb_brace_expand("{0..999}{0..999}{0..999}{0..999}", 1000000, &v, &n, &e);
    CHECK(rc == TB_EUSAGE && strstr(e.msg, "expands to 1000000000000 names, more than the limit of 1000000"),
          "a product is counted before it is expanded: %s", e.msg);
    rc = tb_brace_expand("{a,b}{0..999}{0..999}{0..999}{0..999}{0..999}{0..999}{0..999}", 1000000, &v, &n, &e);
    CHECK(rc == TB_EUSAGE && strstr(e.msg, "more than 2^64 names"), "an overflowing count saturates: %s", e.msg);
    rc = tb_brace_expand("{0..999999999999999999}", 1000000, &v, &n, &e);
    CHECK(rc == TB_EUSAGE && strstr(e.msg, "expands to 1000000000000000000 names"), "a huge range: %s", e.msg);
    CHECK(tb_brace_expand("{a,b}", 1, &v, &n, &e) == TB_EUSAGE && tb_brace_expand("a", 1, &v, &n, &e) == 0 && n == 1,
          "limit 1: a list refused, a plain name passes");
    tb_brace_free(v, n);
}

static void has(void)
{
    static const struct { const char *s; int has; } t[] = {
        {"s3://b/ds/a.tar", 0}, {"", 0}, {"{1}", 0}, {"a{x}b", 0}, {"{}", 0},
        {"shard-{0..9}.tar", 1}, {"{a,b}", 1}, {"{a..c}", 1}, {"{1..1}", 1}, {"{x{1,2}}", 1},
        {"\\{x\\}", 1}, {"a\\b", 1}, {"{1..}", 1}, {"a}b", 1}, {"{a", 1},
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++)
        CHECK_INT(tb_brace_has(t[i].s), t[i].has, "tb_brace_has('%s') is %d", t[i].s, t[i].has);
}

/* What tb_brace_range (manifest's shardlist) writes expands back to the names it was given. */
static void round_trip(void)
{
    static const struct { const char *fmt; unsigned first, n; } runs[] = {
        {"s3://b/ds/train-%06u.tar", 0, 128}, {"shard-%u.tar", 0, 10}, {"a/x-%04u.tar", 9, 3},
        {"x-%02u.tar.gz", 0, 100}, {"x-%u.tar", 10, 90}, {"x-%02u.tar", 8, 3}, {"p/part-%02u.jsonl.gz", 0, 4},
        {"s3://b/a,b/x-%u.tar", 1, 5}, {"s3://b/a..b/x-%u..tar", 3, 4}, {"az://acct/c/d-%03u.tar", 997, 3},
        {"x%u", 0, 2}, {"x-%u.tar", 1000000, 2},
    };
    for (size_t r = 0; r < sizeof runs / sizeof *runs; r++) {
        unsigned cnt = runs[r].n;
        char **names = tb_xcalloc(cnt, sizeof *names);
        for (unsigned i = 0; i < cnt; i++) names[i] = tb_xasprintf(runs[r].fmt, runs[r].first + i);
        char *br = tb_brace_range((const char *const *)names, cnt);
        char **v = NULL;
        size_t n = 0;
        tb_err e = {0};
        int ok = br && tb_brace_expand(br, 1000000, &v, &n, &e) == 0 && n == cnt;
        for (size_t i = 0; ok && i < n; i++) ok = strcmp(v[i], names[i]) == 0;
        CHECK(ok, "shardlist '%s' expands back to its %u names", br ? br : "(none)", cnt);
        tb_brace_free(v, n);
        free(br);
        tb_brace_free(names, cnt);
    }
    /* names holding pattern syntax get no brace form (one url a line instead) */
    static const char *const odd[][2] = {
        {"s3://b/{v1,v2}/x-0.tar", "s3://b/{v1,v2}/x-1.tar"},
        {"s3://b/a\\b/x-0.tar", "s3://b/a\\b/x-1.tar"},
        {"s3://b/}/x-0.tar", "s3://b/}/x-1.tar"},
        {"s3://b/{x}/x-0.tar", "s3://b/{x}/x-1.tar"},
    };
    for (size_t i = 0; i < sizeof odd / sizeof *odd; i++)
        CHECK(tb_brace_range(odd[i], 2) == NULL, "'%s' and the next: no brace form", odd[i][0]);

    /* through a manifest, as `manifest --format shardlist` writes it */
    struct tb_manifest m;
    tb_manifest_init(&m);
    tb_err e = {0};
    int ok = 1;
    for (int i = 0; i < 128 && ok; i++) {
        char line[300];
        snprintf(line, sizeof line, "{\"uri\":\"s3://b/ds/train-%06d.tar\",\"bytes\":%d}", i, 100 + i);
        ok = tb_manifest_add_line(&m, line, strlen(line), 1, &e) == 0;
    }
    char *sl = tb_manifest_shardlist(&m);
    CHECK_STR(sl, "s3://b/ds/train-{000000..000127}.tar\n", "shardlist of 128 shards (%s)", ok ? "added" : e.msg);
    sl[strcspn(sl, "\n")] = 0;
    char **v = NULL;
    size_t n = 0;
    ok = tb_brace_expand(sl, 1000000, &v, &n, &e) == 0 && n == m.n;
    for (size_t i = 0; ok && i < n; i++) ok = strcmp(v[i], m.shards[i].uri) == 0;
    CHECK(ok, "the manifest's shardlist expands to its shards' uris, in order");
    tb_brace_free(v, n);
    free(sl);
    tb_manifest_free(&m);
}

int main(void)
{
    forms();
    long_ranges();
    refusals();
    limits();
    has();
    round_trip();
    return tap_done();
}
