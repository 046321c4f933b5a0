/* discover: shard groups and checkpoints from a listing (see discover.h). */
#include "discover.h"
#include "alloc.h"
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

struct gk {               /* one object's place in a potential group */
    const char *key;
    size_t head, width;   /* key[0..head) then width digits then the tail */
    uint64_t num, size;
};

/* The last run of digits in the last path component, if it is at most 18 digits. */
static int split_number(const char *key, size_t *head, size_t *width, uint64_t *num)
{
    const char *base = strrchr(key, '/');
    base = base ? base + 1 : key;
    const char *p = key + strlen(key);
    while (p > base && !isdigit((unsigned char)p[-1])) p--;
    if (p == base) return 0;
    const char *q = p;
    while (q > base && isdigit((unsigned char)q[-1])) q--;
    if (p - q > 18 || p - q < 1) return 0;
    /* the group rule wants a zero-padded counter, not a bare number such as a year inside a word */
    *head = (size_t)(q - key);
    *width = (size_t)(p - q);
    uint64_t v = 0;
    for (const char *c = q; c < p; c++) v = v * 10 + (uint64_t)(*c - '0');
    *num = v;
    return 1;
}

static int gk_cmp(const void *a, const void *b)
{
    const struct gk *x = a, *y = b;
    size_t n = x->head < y->head ? x->head : y->head;
    int r = memcmp(x->key, y->key, n);
    if (r) return r;
    if (x->head != y->head) return x->head < y->head ? -1 : 1;
    if (x->width != y->width) return x->width < y->width ? -1 : 1;
    r = strcmp(x->key + x->head + x->width, y->key + y->head + y->width);
    if (r) return r;
    return x->num < y->num ? -1 : x->num > y->num;
}

static int same_group(const struct gk *x, const struct gk *y)
{
    return x->head == y->head && x->width == y->width && memcmp(x->key, y->key, x->head) == 0 &&
           strcmp(x->key + x->head + x->width, y->key + y->head + y->width) == 0;
}

static int u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

void tb_groups_free(struct tb_group *g, size_t n)
{
    for (size_t i = 0; i < n; i++) { free(g[i].head); free(g[i].tail); free(g[i].missing); }
    free(g);
}

int tb_find_groups(const struct tb_obj *objs, size_t n, size_t min_count, uint64_t min_size,
                   struct tb_group **out, size_t *nout, struct tb_group_stats *st, tb_err *e)
{
    *out = NULL;
    *nout = 0;
    struct tb_group_stats dummy;
    if (!st) st = &dummy;
    memset(st, 0, sizeof *st);
    (void)e; /* no error is possible: out of memory is lib/alloc's */
    struct gk *v = tb_xmalloc(sizeof *v * n);
    uint64_t *sizes = tb_xmalloc(sizeof *sizes * n);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        struct gk g = {objs[i].key, 0, 0, 0, objs[i].size};
        if (split_number(objs[i].key, &g.head, &g.width, &g.num)) v[m++] = g;
    }
    st->numbered = m;
    qsort(v, m, sizeof *v, gk_cmp);
    size_t cap = 0;
    for (size_t i = 0; i < m;) {
        size_t j = i + 1;
        while (j < m && same_group(&v[i], &v[j])) j++;
        size_t cnt = j - i;
        if (cnt > st->largest) st->largest = cnt;
        if (cnt >= min_count && cnt > 0) {
            for (size_t k = i; k < j; k++) sizes[k - i] = v[k].size;
            qsort(sizes, cnt, sizeof *sizes, u64_cmp);
            uint64_t median = cnt % 2 ? sizes[cnt / 2] : (sizes[cnt / 2 - 1] + sizes[cnt / 2]) / 2;
            if (median < min_size) {
                st->light++;
                if (median > st->light_median) st->light_median = median;
            } else {
                tb_xgrow_n(out, &cap, *nout + 1, sizeof **out, 8);
                struct tb_group *g = &(*out)[(*nout)++];
                memset(g, 0, sizeof *g);
                g->head = tb_xstrndup(v[i].key, v[i].head);
                g->tail = tb_xstrdup(v[i].key + v[i].head + v[i].width);
                g->width = (int)v[i].width;
                g->first = v[i].num;
                g->last = v[j - 1].num;
                g->count = cnt;
                g->median = median;
                for (size_t k = i; k < j; k++) g->bytes += v[k].size;
                uint64_t span = g->last - g->first + 1;
                if (span > cnt) {
                    size_t want = span - cnt > 10000 ? 10000 : (size_t)(span - cnt);
                    g->missing = tb_xmalloc(sizeof *g->missing * want);
                    uint64_t expect = g->first;
                    for (size_t k = i; k < j && g->nmissing < want; k++) {
                        while (expect < v[k].num && g->nmissing < want) g->missing[g->nmissing++] = expect++;
                        expect = v[k].num + 1;
                    }
                }
            }
        }
        i = j;
    }
    free(v);
    free(sizes);
    return 0;
}

static int word_at(const char *s, size_t len, size_t i, const char *w)
{
    size_t n = strlen(w);
    if (i + n > len || strncasecmp(s + i, w, n) != 0) return 0;
    return i == 0 || !isalpha((unsigned char)s[i - 1]) || s[i - 1] == '_' || (w[0] == 's' && i >= 7 && strncasecmp(s + i - 7, "global_", 7) == 0);
}

int tb_ckpt_step(const char *s, size_t len, uint64_t *step)
{
    /* "step" wins over "epoch" in names like epoch=2-step=1500; the other words are the fallbacks */
    static const char *const words[] = {"step", "checkpoint", "ckpt", "iteration", "iter", NULL};
    for (int w = 0; words[w]; w++) {
        for (size_t i = 0; i < len; i++) {
            if (!word_at(s, len, i, words[w])) continue;
            size_t k = i + strlen(words[w]);
            if (k < len && (s[k] == '-' || s[k] == '_' || s[k] == '=')) k++;
            if (k >= len || !isdigit((unsigned char)s[k])) continue;
            uint64_t v = 0;
            size_t d = 0;
            while (k < len && isdigit((unsigned char)s[k]) && d < 19) v = v * 10 + (uint64_t)(s[k++] - '0'), d++;
            if (k < len && isalnum((unsigned char)s[k])) continue; /* "step12abc" is not a step */
            *step = v;
            return 1;
        }
    }
    return 0;
}

static int is_marker(const char *base, const char *marker)
{
    if (marker) return strcmp(base, marker) == 0;
    return strcmp(base, ".complete") == 0 || strcmp(base, "COMPLETE") == 0;
}

/* A file checkpoint's name without its extension (the length), or 0 for a directory or no extension. */
static size_t stem_len(const char *path)
{
    size_t n = strlen(path);
    if (!n || path[n - 1] == '/') return 0;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    return dot && dot > base ? (size_t)(dot - path) : 0;
}

static int is_json_file(const char *path)
{
    size_t n = strlen(path);
    return n > 5 && strcmp(path + n - 5, ".json") == 0 && path[n - 6] != '/';
}

struct stem { const struct tb_ckpt *c; size_t i, len; int json; };

static int stem_cmp(const void *a, const void *b)
{
    const struct stem *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int r = memcmp(x->c->path, y->c->path, n);
    if (r) return r;
    if (x->len != y->len) return x->len < y->len ? -1 : 1;
    if (x->json != y->json) return x->json ? 1 : -1; /* the weights first, their sidecar after */
    return strcmp(x->c->path, y->c->path);
}

/* Fold each NAME.json into the file checkpoint NAME.EXT beside it (marked: complete); a .json with
 * no such file becomes an empty entry (objects 0), which is never a candidate. Either way, sidecars
 * are in use and mark completeness as markers do. */
static void pair_sidecars(struct tb_ckpt *c, size_t nc)
{
    struct stem *v = tb_xmalloc(sizeof *v * (nc ? nc : 1));
    size_t m = 0;
    for (size_t f = 0; f < nc; f++) {
        size_t len = stem_len(c[f].path);
        if (len) v[m++] = (struct stem){&c[f], f, len, is_json_file(c[f].path)};
    }
    qsort(v, m, sizeof *v, stem_cmp);
    for (size_t k = 0; k < m; k++) {
        if (!v[k].json) continue;
        struct tb_ckpt *j = &c[v[k].i];
        /* the weights: the last non-JSON entry before it with the same stem */
        struct tb_ckpt *w = NULL;
        for (size_t q = k; q-- > 0 && v[q].len == v[k].len && memcmp(v[q].c->path, j->path, v[k].len) == 0;)
            if (!v[q].json) { w = &c[v[q].i]; break; }
        if (w && !w->sidecar) {
            w->sidecar = j->path;
            j->path = NULL;
            w->bytes += j->bytes;
            w->objects += j->objects;
            w->marked = 1;
        }
        j->objects = 0;
        j->bytes = 0;
        j->marked = 1; /* sidecars are in use: unmarked files are not complete */
    }
    free(v);
}

int tb_latest_checkpoint(const struct tb_obj *objs, size_t n, const char *marker, struct tb_ckpt *out, tb_err *e)
{
    struct tb_ckpt *c = NULL;
    size_t nc = 0, cap = 0;
    for (size_t i = 0; i < n; i++) {
        const char *k = objs[i].key;
        /* the first path component that names a checkpoint */
        size_t start = 0, len = strlen(k);
        while (start < len) {
            size_t end = start;
            while (end < len && k[end] != '/') end++;
            uint64_t step;
            if (tb_ckpt_step(k + start, end - start, &step)) {
                int is_dir = end < len;
                size_t plen = end + (is_dir ? 1 : 0);
                size_t f;
                for (f = 0; f < nc; f++) if (strlen(c[f].path) == plen && strncmp(c[f].path, k, plen) == 0) break;
                if (f == nc) {
                    tb_xgrow_n(&c, &cap, nc + 1, sizeof *c, 16);
                    memset(&c[nc], 0, sizeof c[nc]);
                    c[nc].path = tb_xstrndup(k, plen);
                    c[nc].step = step;
                    nc++;
                }
                const char *base = strrchr(k, '/');
                base = base ? base + 1 : k;
                if (is_dir && is_marker(base, marker)) c[f].marked = 1;
                c[f].bytes += objs[i].size;
                c[f].objects++;
                break;
            }
            start = end + 1;
        }
    }
    pair_sidecars(c, nc);
    int any_marked = 0;
    for (size_t f = 0; f < nc; f++) any_marked |= c[f].marked;
    ssize_t best = -1;
    for (size_t f = 0; f < nc; f++) {
        if (c[f].objects == 0) continue; /* a sidecar, counted in its checkpoint or alone */
        if (any_marked ? !c[f].marked : c[f].bytes == 0) continue;
        if (best < 0 || c[f].step > c[best].step || (c[f].step == c[best].step && strcmp(c[f].path, c[best].path) > 0)) best = (ssize_t)f;
    }
    int rc = 0;
    if (best < 0) {
        rc = tb_fail(e, TB_ENOINPUT, any_marked || nc ? "no complete checkpoint" : "no checkpoint");
    } else {
        *out = c[best];
        c[best].path = NULL;
        c[best].sidecar = NULL;
    }
    for (size_t f = 0; f < nc; f++) { free(c[f].path); free(c[f].sidecar); }
    free(c);
    return rc;
}
