/* lib/json's one-pass check (tb_json_fast_object, tb_json_check_object) against the scan
 * (tb_json_scan_object) it stands in for: on random JSON objects (nesting, escapes, UTF-8 of every
 * length, numbers of every form, whitespace) and on every one-byte replacement, insertion and cut of
 * them, the fast check never accepts what the scan refuses, accepts nearly every valid line (or it
 * would save nothing), and tb_json_check_object answers exactly as the scan does, message included. */
#include "json.h"
#include "tap.h"
#include "testutil.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct gen { char *p; size_t n, cap; uint64_t seed; };

static void put(struct gen *g, const char *s, size_t n)
{
    if (g->n + n + 1 > g->cap) {
        g->cap = (g->n + n + 1) * 2;
        g->p = realloc(g->p, g->cap);
    }
    memcpy(g->p + g->n, s, n);
    g->n += n;
    g->p[g->n] = 0;
}
static void puts_(struct gen *g, const char *s) { put(g, s, strlen(s)); }
static unsigned rnd(struct gen *g, unsigned k) { return (unsigned)(tu_xorshift(&g->seed) % k); }

static void ws(struct gen *g)
{
    static const char *w[] = {"", "", "", "", " ", "\t", "\n", "\r\n ", "  "};
    puts_(g, w[rnd(g, 9)]);
}

static void string(struct gen *g)
{
    static const char *parts[] = {"a", "key", " ", "\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t", "\\u00e9", "\\uD83D\\uDE00",
                                  "\xc3\xa9", "\xe6\x97\xa5\xe6\x9c\xac", "\xf0\x9f\x98\x80", "\x7f", "0123456789abcdef0123", "{}[],:"};
    puts_(g, "\"");
    unsigned k = rnd(g, 12);
    for (unsigned i = 0; i < k; i++) puts_(g, parts[rnd(g, 19)]);
    puts_(g, "\"");
}

static void number(struct gen *g)
{
    static const char *nums[] = {"0", "-0", "7", "12345", "9007199254740993", "-1", "1.5", "0.000", "-12.25e10", "1E+2", "3e-7", "2.5E0"};
    puts_(g, nums[rnd(g, 12)]);
}

static void value(struct gen *g, int depth);

static void object(struct gen *g, int depth)
{
    puts_(g, "{");
    unsigned k = depth > 4 ? 0 : rnd(g, 5);
    for (unsigned i = 0; i < k; i++) {
        if (i) { ws(g); puts_(g, ","); }
        ws(g);
        string(g);
        ws(g);
        puts_(g, ":");
        ws(g);
        value(g, depth + 1);
    }
    ws(g);
    puts_(g, "}");
}

static void value(struct gen *g, int depth)
{
    switch (rnd(g, depth > 4 ? 4 : 7)) {
    case 0: string(g); break;
    case 1: number(g); break;
    case 2: puts_(g, rnd(g, 2) ? "true" : "false"); break;
    case 3: puts_(g, "null"); break;
    case 4: case 5: object(g, depth); break;
    default: {
        puts_(g, "[");
        unsigned k = rnd(g, 4);
        for (unsigned i = 0; i < k; i++) {
            if (i) { ws(g); puts_(g, ","); }
            ws(g);
            value(g, depth + 1);
        }
        ws(g);
        puts_(g, "]");
    }
    }
}

static struct tb_json J;
static long n_texts, n_valid, n_fast, n_wrong, n_diff;

static void judge(const char *t, size_t n)
{
    tb_err e1 = {0}, e2 = {0};
    int scan = tb_json_scan_object(&J, t, n, &e1);
    int fast = tb_json_fast_object(t, n);
    int chk = tb_json_check_object(&J, t, n, &e2);
    n_texts++;
    if (scan == 0) n_valid++;
    if (scan == 0 && fast) n_fast++;
    if (fast && scan != 0) {
        if (n_wrong++ < 5) printf("# fast accepted what the scan refuses (%s): '%.*s'\n", e1.msg, (int)(n > 200 ? 200 : n), t);
    }
    if (chk != scan || strcmp(e1.msg, e2.msg) != 0) {
        if (n_diff++ < 5) printf("# check %d '%s' vs scan %d '%s'\n", chk, e2.msg, scan, e1.msg);
    }
}

int main(void)
{
    tb_json_init(&J);
    static const char *hand[] = {
        "{}", " {} ", "{\"a\":1}", "{\"a\":[]}", "{\"a\":[1,2,[3,{}]]}", "{\"a\":{\"b\":{\"c\":null}}}",
        "{\"s\":\"\\u0000\\u001f\\\"\\\\/\"}", "{\"a\":1,}", "{\"a\" 1}", "{,}", "{\"a\":1 \"b\":2}", "[1]", "\"x\"", "1",
        "{\"a\":01}", "{\"a\":1.}", "{\"a\":.5}", "{\"a\":-}", "{\"a\":1e}", "{\"a\":tru}", "{\"a\":truex}", "{\"a\":nul}",
        "{\"a\":\"\\x\"}", "{\"a\":\"\\u12g4\"}", "{\"a\":\"\t\"}", "{\"a\":\"\xc0\xaf\"}", "{\"a\":\"\xed\xa0\x80\"}",
        "{\"a\":\"\xf4\x90\x80\x80\"}", "{\"a\":\"\xe0\x80\xaf\"}", "{}{}", "{} x", "{\"a\":1}}", "{\"a\":[1}", "{\"a\":[1]]}",
        "{\"a\":1]", "{1:2}", "{\"a\"}", "{\"a\":}", "{\"a\"::1}", "{\"a\":[,1]}", "{\"a\":[1,,2]}", "{\"a\":[1,]}", "",
        "   ", "{", "{\"", "{\"a\":\"", "{\"a\":\"\\", "{\"a\":\"\\u00", "{\"a\":[", "{\"a\":[1,",
    };
    for (size_t i = 0; i < sizeof hand / sizeof hand[0]; i++) judge(hand[i], strlen(hand[i]));
    /* a NUL inside and outside a string */
    judge("{\"a\":\"x\0y\"}", 11);
    judge("{\"a\":1}\0", 8);
    judge("{\"a\":\0}", 7);
    /* deep nesting: past the fast check's stack the scan decides */
    struct gen d = {0};
    puts_(&d, "{\"a\":");
    for (int i = 0; i < 300; i++) puts_(&d, "[");
    for (int i = 0; i < 300; i++) puts_(&d, "]");
    puts_(&d, "}");
    judge(d.p, d.n);
    CHECK(!tb_json_fast_object(d.p, d.n) && tb_json_check_object(&J, d.p, d.n, &(tb_err){0}) == 0, "300 levels: not sure, and the scan accepts");
    free(d.p);

    static const unsigned char subst[] = {'"', '\\', ',', ':', '{', '}', '[', ']', ' ', '0', '1', '-', '+', 'e', '.', 'u', 't', 'x',
                                          0x00, 0x09, 0x1f, 0x7f, 0x80, 0xbf, 0xc3, 0xe0, 0xed, 0xf0, 0xf4, 0xff};
    struct gen g = {.seed = 12345};
    long random_valid = 0, random_fast = 0;
    for (int k = 0; k < 600; k++) {
        g.n = 0;
        ws(&g);
        object(&g, 0);
        ws(&g);
        long v0 = n_valid, f0 = n_fast;
        judge(g.p, g.n);
        random_valid += n_valid - v0;
        random_fast += n_fast - f0;
        if (k % 3) continue; /* mutations of every third object: plenty */
        char *t = malloc(g.n + 2);
        for (size_t i = 0; i < g.n; i++) {
            for (size_t s = 0; s < sizeof subst; s++) { /* replace byte i */
                memcpy(t, g.p, g.n);
                t[i] = (char)subst[s];
                judge(t, g.n);
            }
            memcpy(t, g.p, i); /* insert a byte at i */
            t[i] = (char)subst[tu_xorshift(&g.seed) % sizeof subst];
            memcpy(t + i + 1, g.p + i, g.n - i);
            judge(t, g.n + 1);
            judge(g.p, i); /* cut at i */
        }
        free(t);
    }
    printf("# %ld texts, %ld valid, %ld of them recognized by the fast check\n", n_texts, n_valid, n_fast);
    CHECK(random_valid == 600, "every generated object is valid to the scan (%ld)", random_valid);
    CHECK(random_fast == random_valid, "... and the fast check recognizes every one (%ld)", random_fast);
    CHECK(n_wrong == 0, "the fast check never accepts a text the scan refuses (%ld did)", n_wrong);
    CHECK(n_diff == 0, "tb_json_check_object answers as tb_json_scan_object, message included (%ld differ)", n_diff);
    CHECK(n_texts > 100000 && n_valid > 1000 && n_valid < n_texts, "the mutations make both valid and invalid texts (%ld / %ld)", n_valid, n_texts);
    free(g.p);
    tb_json_free(&J);
    return tap_done();
}
