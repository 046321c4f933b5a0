/* pathglob: compiling and matching sync's include/exclude patterns, and the first-match rule list
 * (see pathglob.h for the syntax and why it follows rclone). */
#include "pathglob.h"
#include "alloc.h"
#include <stdlib.h>
#include <string.h>

enum { G_END, G_LIT, G_ANY, G_STAR, G_DSTAR, G_DSTAR_SLASH, G_CLASS };

/* One UTF-8 sequence at s (n bytes left): its code point and length. A malformed byte stands for
 * itself (its value), so a class still sees every byte of a non-UTF-8 name exactly once. */
static uint32_t utf8_at(const unsigned char *s, size_t n, size_t *len)
{
    unsigned c = s[0];
    size_t need = c >= 0xf0 && c < 0xf8 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
    if (c < 0x80 || need > n) { *len = 1; return c; }
    uint32_t cp = c & (0x3f >> (need - 1));
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xc0) != 0x80) { *len = 1; return c; }
        cp = cp << 6 | (s[i] & 0x3f);
    }
    *len = need;
    return cp;
}

static void add_range(struct tb_glob *g, size_t *nr, size_t *cap, uint32_t lo, uint32_t hi)
{
    tb_xgrow_n(&g->range, cap, *nr + 1, sizeof *g->range, 8);
    g->range[*nr][0] = lo;
    g->range[*nr][1] = hi;
    (*nr)++;
}

/* One class member at p (after an optional backslash): its code point, p advanced. */
static int class_char(const char **p, const char *pat, uint32_t *cp, tb_err *e)
{
    if (**p == '\\') {
        (*p)++;
        if (!**p) return tb_fail(e, TB_EUSAGE, "bad pattern '%s': unterminated class", pat);
    }
    size_t l;
    *cp = utf8_at((const unsigned char *)*p, strlen(*p), &l);
    *p += l;
    return 0;
}

int tb_glob_compile(struct tb_glob *g, const char *pat, tb_err *e)
{
    memset(g, 0, sizeof *g);
    size_t plen = strlen(pat);
    if (!plen) return tb_fail(e, TB_EUSAGE, "empty pattern");
    if (plen > 4096) return tb_fail(e, TB_EUSAGE, "pattern longer than 4096 bytes");
    const char *p = pat;
    if (*p == '/') { g->anchored = 1; p++; }
    /* at most one token per pattern byte, plus the "**" a trailing slash adds and the end */
    g->tok = tb_xmalloc((plen + 3) * sizeof *g->tok);
    size_t nt = 0, nr = 0, rcap = 0, ncls = 0, ccap = 0;
    int rc = 0;
    while (*p && !rc) {
        int comp_start = p == pat || p[-1] == '/';
        struct tb_gtok t = {G_LIT, 0, 0};
        if (p[0] == '*' && p[1] == '*') {
            p += 2;
            while (*p == '*') p++;
            if (comp_start && *p == '/') { t.kind = G_DSTAR_SLASH; p++; }
            else t.kind = G_DSTAR;
        } else if (*p == '*') {
            p++;
            t.kind = G_STAR;
        } else if (*p == '?') {
            p++;
            t.kind = G_ANY;
        } else if (*p == '{' || *p == '}') {
            rc = tb_fail(e, TB_EUSAGE, "bad pattern '%s': alternatives {a,b} are not supported "
                         "(give the option once per alternative; a literal brace is \\{)", pat);
        } else if (*p == '\\') {
            if (!p[1]) { rc = tb_fail(e, TB_EUSAGE, "bad pattern '%s': ends with a backslash", pat); break; }
            t.c = (uint8_t)p[1];
            p += 2;
        } else if (*p == '[') {
            p++;
            struct tb_gcls c = {(uint32_t)nr, 0, 0};
            if (*p == '!' || *p == '^') { c.neg = 1; p++; }
            int first = 1;
            while (!rc) {
                if (!*p) { rc = tb_fail(e, TB_EUSAGE, "bad pattern '%s': unterminated class", pat); break; }
                if (*p == ']' && !first) { p++; break; }
                first = 0;
                uint32_t lo, hi;
                if ((rc = class_char(&p, pat, &lo, e))) break;
                hi = lo;
                if (p[0] == '-' && p[1] && p[1] != ']') {
                    p++;
                    if ((rc = class_char(&p, pat, &hi, e))) break;
                    if (hi < lo) { rc = tb_fail(e, TB_EUSAGE, "bad pattern '%s': range out of order", pat); break; }
                }
                add_range(g, &nr, &rcap, lo, hi);
            }
            if (rc) break;
            c.n = (uint32_t)nr - c.first;
            if (ncls == UINT16_MAX) { rc = tb_fail(e, TB_EUSAGE, "bad pattern '%s': too many classes", pat); break; }
            tb_xgrow_n(&g->cls, &ccap, ncls + 1, sizeof *g->cls, 4);
            g->cls[ncls] = c;
            t.kind = G_CLASS;
            t.cls = (uint16_t)ncls++;
        } else {
            t.c = (uint8_t)*p++;
        }
        if (!rc) g->tok[nt++] = t;
    }
    if (rc) { tb_glob_free(g); return rc; }
    /* "logs/" means everything under logs (see glob.h) */
    if (nt && g->tok[nt - 1].kind == G_LIT && g->tok[nt - 1].c == '/')
        g->tok[nt++] = (struct tb_gtok){G_DSTAR, 0, 0};
    if (!nt) { tb_glob_free(g); return tb_fail(e, TB_EUSAGE, "bad pattern '%s': matches nothing", pat); }
    g->tok[nt] = (struct tb_gtok){G_END, 0, 0};
    return 0;
}

static int in_class(const struct tb_glob *g, const struct tb_gcls *c, uint32_t cp)
{
    int hit = 0;
    for (uint32_t i = 0; i < c->n && !hit; i++) hit = cp >= g->range[c->first + i][0] && cp <= g->range[c->first + i][1];
    return hit != c->neg;
}

/* Matching backtracks at every star; without a memo a pattern with several stars took time
 * exponential in their number on a path that almost matches (found by tests/fuzz/fuzz_pathglob: a
 * pattern of a dozen '**' and '*' components ran for seconds on a 100-byte path, see
 * tests/fuzz/regress/pathglob). match_at(t, i) depends on nothing else,
 * so a failure is remembered in a bit per (token, offset): every state is tried once. */
struct mctx {
    const struct tb_glob *g;
    const char *s;
    size_t n;
    unsigned char *failed; /* NULL: no memo (fewer than two stars: no blow-up) */
};

static int match_at(struct mctx *m, const struct tb_gtok *t, size_t i);

static int match_here(struct mctx *m, const struct tb_gtok *t, size_t i)
{
    const char *s = m->s;
    size_t n = m->n;
    for (;; t++) {
        switch (t->kind) {
        case G_END:
            return i == n;
        case G_LIT:
            if (i >= n || (unsigned char)s[i] != t->c) return 0;
            i++;
            break;
        case G_ANY:
        case G_CLASS: {
            if (i >= n || s[i] == '/') return 0;
            size_t l;
            uint32_t cp = utf8_at((const unsigned char *)s + i, n - i, &l);
            if (t->kind == G_CLASS && !in_class(m->g, &m->g->cls[t->cls], cp)) return 0;
            i += l;
            break;
        }
        case G_STAR:
            /* the rest must match somewhere before the end of this component */
            for (size_t k = i;; k++) {
                if (match_at(m, t + 1, k)) return 1;
                if (k >= n || s[k] == '/') return 0;
            }
        case G_DSTAR:
            if (t[1].kind == G_END) return 1;
            for (size_t k = i; k <= n; k++)
                if (match_at(m, t + 1, k)) return 1;
            return 0;
        case G_DSTAR_SLASH:
            /* zero components, or any run that ends just after a '/' */
            if (match_at(m, t + 1, i)) return 1;
            for (size_t k = i + 1; k <= n; k++)
                if (s[k - 1] == '/' && match_at(m, t + 1, k)) return 1;
            return 0;
        }
    }
}

static int match_at(struct mctx *m, const struct tb_gtok *t, size_t i)
{
    if (!m->failed) return match_here(m, t, i);
    size_t bit = (size_t)(t - m->g->tok) * (m->n + 1) + i;
    if (m->failed[bit >> 3] & (1u << (bit & 7))) return 0;
    int r = match_here(m, t, i);
    if (!r) m->failed[bit >> 3] |= (unsigned char)(1u << (bit & 7));
    return r;
}

int tb_glob_match(const struct tb_glob *g, const char *path, size_t len)
{
    size_t ntok = 1, stars = 0;
    for (const struct tb_gtok *t = g->tok; t->kind != G_END; t++, ntok++)
        stars += t->kind == G_STAR || t->kind == G_DSTAR || t->kind == G_DSTAR_SLASH;
    struct mctx m = {g, path, len, NULL};
    unsigned char stack[1024], *heap = NULL;
    if (stars >= 2) {
        /* the usual pattern and path fit on the stack; only a long one allocates */
        size_t bytes = (ntok * (len + 1) + 7) / 8;
        m.failed = bytes <= sizeof stack ? stack : (heap = tb_xmalloc(bytes));
        memset(m.failed, 0, bytes);
    }
    int r = match_at(&m, g->tok, 0);
    if (!r && !g->anchored)
        for (size_t i = 0; i < len && !r; i++)
            if (path[i] == '/') r = match_at(&m, g->tok, i + 1);
    free(heap);
    return r;
}

void tb_glob_free(struct tb_glob *g)
{
    free(g->tok);
    free(g->range);
    free(g->cls);
    memset(g, 0, sizeof *g);
}

void tb_filter_init(struct tb_filter *f) { memset(f, 0, sizeof *f); }

int tb_filter_add(struct tb_filter *f, int include, const char *pat, tb_err *e)
{
    tb_xgrow_n(&f->rule, &f->cap, f->n + 1, sizeof *f->rule, 4);
    int rc = tb_glob_compile(&f->rule[f->n].g, pat, e);
    if (rc) {
        tb_err_wrap(e, "--%s", include ? "include" : "exclude");
        return rc;
    }
    f->rule[f->n++].include = include;
    f->any_include |= include;
    return 0;
}

int tb_filter_allows(const struct tb_filter *f, const char *path, size_t len)
{
    for (size_t i = 0; i < f->n; i++)
        if (tb_glob_match(&f->rule[i].g, path, len)) return f->rule[i].include;
    return !f->any_include;
}

void tb_filter_free(struct tb_filter *f)
{
    for (size_t i = 0; i < f->n; i++) tb_glob_free(&f->rule[i].g);
    free(f->rule);
    memset(f, 0, sizeof *f);
}
