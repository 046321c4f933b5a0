/* brace: brace expansion of shard-list patterns (braceexpand's rules, see brace.h).
 * The pattern is parsed into a tree (literal runs, concatenations, comma lists, ranges), the tree
 * counts its expansions (saturating), and only a count within the caller's limit is expanded. */
#include "brace.h"
#include "alloc.h"
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 64
#define MAX_DIGITS 18

enum { N_LIT, N_CAT, N_ALT, N_INT, N_CHR };

struct node {
    int type;
    char *lit;              /* N_LIT: unescaped text */
    struct node *kid;       /* N_CAT: the parts in order; N_ALT: the comma items */
    size_t nkid, capkid;
    int64_t a, b, step;     /* N_INT: the ends and the step (> 0); N_CHR: alphabet indices */
    int width;              /* N_INT: zero padding width (0: none) */
    uint64_t count;         /* expansions (UINT64_MAX: at least that many) */
};

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

struct parser {
    const char *pattern;
    tb_err *e;
};

/* A concatenation being built: its node and the literal text not yet flushed into it. */
struct cat {
    struct node *node;
    char *lit;
    size_t litn, litcap;
};

static void node_free(struct node *n)
{
    free(n->lit);
    for (size_t i = 0; i < n->nkid; i++) node_free(&n->kid[i]);
    free(n->kid);
}

static void push_kid(struct node *parent, const struct node *kid)
{
    tb_xgrow_n(&parent->kid, &parent->capkid, parent->nkid + 1, sizeof *parent->kid, 4);
    parent->kid[parent->nkid++] = *kid;
}

static void lit_add(struct cat *c, char ch)
{
    tb_xgrow(&c->lit, &c->litcap, c->litn + 2);
    c->lit[c->litn++] = ch;
}

static void lit_flush(struct cat *c)
{
    if (!c->litn) return;
    struct node n = {.type = N_LIT, .lit = tb_xstrndup(c->lit, c->litn)};
    push_kid(c->node, &n);
    c->litn = 0;
}

static int unbalanced(struct parser *P)
{
    return tb_fail(P->e, TB_EUSAGE, "unbalanced braces in '%.300s' (a literal brace is written \\{ or \\})",
                   P->pattern);
}

/* The index of the '}' closing the '{' at s[open], or len when there is none. */
static size_t find_close(const char *s, size_t len, size_t open)
{
    int depth = 0;
    for (size_t i = open; i < len; i++) {
        if (s[i] == '\\') { i++; continue; }
        if (s[i] == '{') depth++;
        else if (s[i] == '}' && --depth == 0) return i;
    }
    return len;
}

/* "-?[0-9]+" at s[*i]: 1 and *i moved past it, else 0. */
static int span_int(const char *s, size_t len, size_t *i)
{
    size_t p = *i + (*i < len && s[*i] == '-');
    size_t d0 = p;
    while (p < len && s[p] >= '0' && s[p] <= '9') p++;
    if (p == d0) return 0;
    *i = p;
    return 1;
}

/* The value of a span_int span; -1 when it has more than MAX_DIGITS digits. */
static int int_value(const char *s, size_t len, int64_t *v)
{
    int neg = s[0] == '-';
    if (len - (size_t)neg > MAX_DIGITS) return -1;
    int64_t x = 0;
    for (size_t i = (size_t)neg; i < len; i++) x = x * 10 + (s[i] - '0');
    *v = neg ? -x : x;
    return 0;
}

static int is_dots(const char *s, size_t len, size_t i)
{
    return i + 1 < len && s[i] == '.' && s[i + 1] == '.';
}

/* The optional "..STEP" ending a range at s[i], then the end of s: 1 when so (the step's span in
 * *s0, *s1, equal when there is none), else 0. */
static int span_step(const char *s, size_t len, size_t i, size_t *s0, size_t *s1)
{
    *s0 = *s1 = i;
    if (i == len) return 1;
    if (!is_dots(s, len, i)) return 0;
    i += 2;
    *s0 = i;
    if (!span_int(s, len, &i)) return 0;
    *s1 = i;
    return i == len;
}

/* The step of a range (its sign ignored, 0 means 1); -1 when too long. */
static int step_value(const char *s, size_t s0, size_t s1, int64_t *step)
{
    *step = 1;
    if (s0 == s1) return 0;
    if (int_value(s + s0, s1 - s0, step)) return -1;
    if (*step < 0) *step = -*step;
    if (*step == 0) *step = 1;
    return 0;
}

static int too_long(struct parser *P, const char *s, size_t len)
{
    return tb_fail(P->e, TB_EUSAGE, "brace range '{%.*s}' in '%.300s': a number of more than %d digits",
                   (int)(len < 200 ? len : 200), s, P->pattern, MAX_DIGITS);
}

/* {A..B[..S]} of integers: 1 and n filled, 0 not this form, -1 an error (in P->e). */
static int int_range(struct parser *P, const char *s, size_t len, struct node *n)
{
    size_t i = 0, st0, st1;
    if (!span_int(s, len, &i) || !is_dots(s, len, i)) return 0;
    size_t l1 = i, r0 = i + 2;
    i = r0;
    if (!span_int(s, len, &i)) return 0;
    size_t r1 = i;
    if (!span_step(s, len, i, &st0, &st1)) return 0;
    int64_t a, b, step;
    if (int_value(s, l1, &a) || int_value(s + r0, r1 - r0, &b) || step_value(s, st0, st1, &step))
        return too_long(P, s, len), -1;
    /* braceexpand pads when either end, other than "0" and "-0", starts with "0" or "-0" */
    int pad = 0;
    size_t ends[2][2] = {{0, l1}, {r0, r1}};
    for (int k = 0; k < 2; k++) {
        const char *t = s + ends[k][0];
        size_t tl = ends[k][1] - ends[k][0];
        int zero = (tl == 1 && t[0] == '0') || (tl == 2 && t[0] == '-' && t[1] == '0');
        if (!zero && (t[0] == '0' || (t[0] == '-' && t[1] == '0'))) pad = 1;
    }
    size_t wl = l1, wr = r1 - r0;
    *n = (struct node){.type = N_INT, .a = a, .b = b, .step = step, .width = pad ? (int)(wl > wr ? wl : wr) : 0};
    return 1;
}

static int alpha_index(char c)
{
    const char *p = c ? strchr(alphabet, c) : NULL;
    return p ? (int)(p - alphabet) : -1;
}

/* {x..y[..S]} of letters: 1 and n filled, 0 not this form, -1 an error. */
static int char_range(struct parser *P, const char *s, size_t len, struct node *n)
{
    if (len < 4 || !is_dots(s, len, 1)) return 0;
    int a = alpha_index(s[0]), b = alpha_index(s[3]);
    size_t st0, st1;
    if (a < 0 || b < 0 || !span_step(s, len, 4, &st0, &st1)) return 0;
    int64_t step;
    if (step_value(s, st0, st1, &step)) return too_long(P, s, len), -1;
    *n = (struct node){.type = N_CHR, .a = a, .b = b, .step = step};
    return 1;
}

static int parse_into(struct parser *P, const char *s, size_t len, int depth, struct cat *c);

/* A comma item as a concatenation of its own. */
static int parse_cat(struct parser *P, const char *s, size_t len, int depth, struct node *out)
{
    *out = (struct node){.type = N_CAT};
    struct cat c = {.node = out};
    int rc = parse_into(P, s, len, depth, &c);
    if (rc == 0) lit_flush(&c);
    free(c.lit);
    if (rc) node_free(out);
    return rc;
}

/* The inside of one brace pair, added to c: a range, a comma list, or a literal brace. */
static int parse_group(struct parser *P, const char *s, size_t len, int depth, struct cat *c)
{
    if (depth > MAX_DEPTH)
        return tb_fail(P->e, TB_EUSAGE, "braces nested deeper than %d in '%.300s'", MAX_DEPTH, P->pattern);
    struct node n;
    int r = int_range(P, s, len, &n);
    if (r == 0) r = char_range(P, s, len, &n);
    if (r < 0) return TB_EUSAGE;
    if (r > 0) {
        lit_flush(c);
        push_kid(c->node, &n);
        return 0;
    }
    /* the commas (and a "..") outside nested braces */
    int d = 0, dots = 0;
    size_t commas = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\\') { i++; continue; }
        if (s[i] == '{') d++;
        else if (s[i] == '}') d--;
        else if (d == 0 && s[i] == ',') commas++;
        else if (d == 0 && is_dots(s, len, i)) dots = 1;
    }
    if (commas) {
        struct node alt = {.type = N_ALT};
        size_t start = 0;
        d = 0;
        for (size_t i = 0; i <= len; i++) {
            if (i < len && s[i] == '\\') { i++; continue; }
            if (i < len && s[i] == '{') d++;
            else if (i < len && s[i] == '}') d--;
            else if (i == len || (d == 0 && s[i] == ',')) {
                struct node item;
                if (parse_cat(P, s + start, (i < len ? i : len) - start, depth, &item)) {
                    node_free(&alt);
                    return TB_EUSAGE;
                }
                push_kid(&alt, &item);
                start = i + 1;
            }
        }
        lit_flush(c);
        push_kid(c->node, &alt);
        return 0;
    }
    if (dots)
        return tb_fail(P->e, TB_EUSAGE,
                       "bad brace range '{%.*s}' in '%.300s': a range is {N..M} or {N..M..STEP} of integers, "
                       "or {x..y} of letters",
                       (int)(len < 200 ? len : 200), s, P->pattern);
    /* neither: the braces are literal, their inside still expands */
    lit_add(c, '{');
    if (parse_into(P, s, len, depth, c)) return TB_EUSAGE;
    lit_add(c, '}');
    return 0;
}

static int parse_into(struct parser *P, const char *s, size_t len, int depth, struct cat *c)
{
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\\') {
            if (i + 1 < len) i++;
            lit_add(c, s[i]);
        } else if (s[i] == '}') {
            return unbalanced(P);
        } else if (s[i] == '{') {
            size_t j = find_close(s, len, i);
            if (j == len) return unbalanced(P);
            if (parse_group(P, s + i + 1, j - i - 1, depth + 1, c)) return TB_EUSAGE;
            i = j;
        } else {
            lit_add(c, s[i]);
        }
    }
    return 0;
}

static uint64_t sat_mul(uint64_t a, uint64_t b)
{
    return b && a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t count(struct node *n)
{
    switch (n->type) {
    case N_LIT: n->count = 1; break;
    case N_INT:
    case N_CHR: {
        uint64_t diff = n->a < n->b ? (uint64_t)(n->b - n->a) : (uint64_t)(n->a - n->b);
        n->count = diff / (uint64_t)n->step + 1;
        break;
    }
    case N_CAT:
        n->count = 1;
        for (size_t i = 0; i < n->nkid; i++) n->count = sat_mul(n->count, count(&n->kid[i]));
        break;
    default: /* N_ALT */
        n->count = 0;
        for (size_t i = 0; i < n->nkid; i++) n->count = sat_add(n->count, count(&n->kid[i]));
        break;
    }
    return n->count;
}

struct strv {
    char **v;
    size_t n;
};

/* Every expansion of n (n->count of them, within the caller's limit). */
static struct strv gen(const struct node *n)
{
    struct strv r = {tb_xcalloc((size_t)n->count, sizeof(char *)), 0};
    switch (n->type) {
    case N_LIT: r.v[r.n++] = tb_xstrdup(n->lit); break;
    case N_INT:
    case N_CHR: {
        int64_t dir = n->a <= n->b ? 1 : -1;
        for (uint64_t k = 0; k < n->count; k++) {
            int64_t x = n->a + dir * (int64_t)k * n->step;
            r.v[r.n++] = n->type == N_INT ? tb_xasprintf("%0*" PRId64, n->width, x)
                                          : tb_xasprintf("%c", alphabet[x]);
        }
        break;
    }
    case N_ALT:
        for (size_t i = 0; i < n->nkid; i++) {
            struct strv k = gen(&n->kid[i]);
            memcpy(r.v + r.n, k.v, k.n * sizeof *k.v);
            r.n += k.n;
            free(k.v);
        }
        break;
    default: { /* N_CAT: the product, the leftmost part varying slowest */
        r.v[r.n++] = tb_xstrdup("");
        for (size_t i = 0; i < n->nkid; i++) {
            struct strv k = gen(&n->kid[i]);
            struct strv acc = {tb_xcalloc((size_t)n->count, sizeof(char *)), 0};
            for (size_t x = 0; x < r.n; x++) {
                size_t lx = strlen(r.v[x]);
                for (size_t y = 0; y < k.n; y++) {
                    size_t ly = strlen(k.v[y]);
                    char *s = tb_xmalloc(lx + ly + 1);
                    memcpy(s, r.v[x], lx);
                    memcpy(s + lx, k.v[y], ly + 1);
                    acc.v[acc.n++] = s;
                }
            }
            tb_brace_free(r.v, r.n);
            tb_brace_free(k.v, k.n);
            r = acc;
        }
        break;
    }
    }
    return r;
}

void tb_brace_free(char **v, size_t n)
{
    if (!v) return;
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
}

int tb_brace_expand(const char *pattern, size_t max_out, char ***out, size_t *n, tb_err *e)
{
    *out = NULL;
    *n = 0;
    struct parser P = {pattern, e};
    struct node root;
    if (parse_cat(&P, pattern, strlen(pattern), 0, &root)) return TB_EUSAGE;
    uint64_t c = count(&root);
    if (c > (uint64_t)max_out) {
        node_free(&root);
        if (c == UINT64_MAX)
            return tb_fail(e, TB_EUSAGE, "brace pattern '%.300s' expands to more than 2^64 names, "
                           "more than the limit of %zu", pattern, max_out);
        return tb_fail(e, TB_EUSAGE, "brace pattern '%.300s' expands to %" PRIu64
                       " names, more than the limit of %zu", pattern, c, max_out);
    }
    struct strv r = gen(&root);
    node_free(&root);
    *out = r.v;
    *n = r.n;
    return 0;
}

int tb_brace_has(const char *s)
{
    if (!strpbrk(s, "{}\\")) return 0;
    char **v;
    size_t n;
    tb_err e = {0};
    if (tb_brace_expand(s, 1, &v, &n, &e)) return 1;
    int same = n == 1 && strcmp(v[0], s) == 0;
    tb_brace_free(v, n);
    return !same;
}
