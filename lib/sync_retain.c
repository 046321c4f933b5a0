/* retain: --keep-last's choice of checkpoints to delete, and of those to copy at all (see
 * sync_retain.h for the rules). */
#include "sync_retain.h"
#include "alloc.h"
#include "discover.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static size_t bare_len(const char *name)
{
    size_t l = strlen(name);
    while (l && name[l - 1] == '/') l--;
    return l;
}

/* discover.c picks the latest checkpoint with this comparison written inline in
 * tb_latest_checkpoint (step, then name): it has no function of its own to call, so this is its
 * minimal twin over tb_ckpt_step, which discover.h does export. */
int tb_retain_cmp(const char *a, const char *b)
{
    uint64_t sa = 0, sb = 0;
    tb_ckpt_step(a, bare_len(a), &sa);
    tb_ckpt_step(b, bare_len(b), &sb);
    if (sa != sb) return sa < sb ? -1 : 1;
    return strcmp(a, b);
}

struct cand { const char *name; size_t idx; };

/* A file checkpoint's JSON sidecar (discover's rule: NAME.json beside NAME.EXT is part of it):
 * is name a .json file? */
static int is_json_file(const char *name)
{
    size_t l = strlen(name);
    return l > 5 && memcmp(name + l - 5, ".json", 5) == 0;
}

/* The index of the checkpoint file that the sidecar names[i] belongs to (a name NAME.EXT, EXT not
 * json and without '/', beside NAME.json), or (size_t)-1. */
static size_t weights_of(const char *const *names, size_t n, size_t i)
{
    const char *sc = names[i];
    size_t stem = strlen(sc) - 5;
    for (size_t j = 0; j < n; j++) {
        const char *w = names[j];
        if (j == i || strncmp(w, sc, stem) != 0 || w[stem] != '.') continue;
        const char *ext = w + stem + 1;
        if (*ext && !strchr(ext, '/') && strcmp(ext, "json") != 0) return j;
    }
    return (size_t)-1;
}

static int newest_first(const void *x, const void *y)
{
    const struct cand *a = x, *b = y;
    return tb_retain_cmp(b->name, a->name);
}

static int oldest_first(const void *x, const void *y)
{
    const struct cand *a = x, *b = y;
    return tb_retain_cmp(a->name, b->name);
}

int tb_retain_plan(const struct tb_retain_item *items, size_t n, size_t keep, int use_marker,
                   const char *writing, const struct tb_glob *pattern, size_t *del, size_t *ndel, tb_err *e)
{
    *ndel = 0;
    if (keep < 1) return tb_fail(e, TB_EUSAGE, "--keep-last must be at least 1");
    size_t wlen = writing ? bare_len(writing) : 0;
    struct cand *c = tb_xmalloc((n ? n : 1) * sizeof *c);
    size_t nc = 0;
    for (size_t i = 0; i < n; i++) {
        size_t l = bare_len(items[i].name);
        uint64_t step;
        if (is_json_file(items[i].name)) continue; /* a sidecar, or alone: never a checkpoint */
        if (!tb_ckpt_step(items[i].name, l, &step)) continue;
        if (pattern && !tb_glob_match(pattern, items[i].name, l)) continue;
        if (use_marker && !items[i].marked) continue;
        c[nc++] = (struct cand){items[i].name, i};
    }
    if (nc) qsort(c, nc, sizeof *c, newest_first);
    size_t m = 0;
    for (size_t k = keep; k < nc; k++) {
        size_t l = bare_len(c[k].name);
        if (writing && l == wlen && memcmp(c[k].name, writing, l) == 0) continue;
        c[m++] = c[k];
    }
    if (m) qsort(c, m, sizeof *c, oldest_first);
    /* a deleted checkpoint file takes its sidecar along, right after it */
    const char **names = tb_xmalloc((n ? n : 1) * sizeof *names);
    size_t *side = tb_xmalloc((n ? n : 1) * sizeof *side);
    for (size_t i = 0; i < n; i++) { names[i] = items[i].name; side[i] = (size_t)-1; }
    for (size_t i = 0; i < n; i++) {
        if (!is_json_file(names[i])) continue;
        size_t w = weights_of(names, n, i);
        if (w != (size_t)-1) side[w] = i;
    }
    size_t nd = 0;
    for (size_t k = 0; k < m; k++) {
        del[nd++] = c[k].idx;
        if (side[c[k].idx] != (size_t)-1) del[nd++] = side[c[k].idx];
    }
    *ndel = nd;
    free(side);
    free(names);
    free(c);
    return 0;
}

/* A lazily asked completeness: -1 unknown, else 0 or 1. */
static int ask(tb_retain_complete_fn fn, void *ctx, size_t idx, int side, signed char *memo, int *yes, tb_err *e)
{
    if (*memo < 0) {
        int y = 0, rc = fn(ctx, idx, side, &y, e);
        if (rc) return rc;
        *memo = (signed char)(y != 0);
    }
    *yes = *memo;
    return 0;
}

int tb_retain_copy_plan(const struct tb_retain_cand *items, size_t n, size_t keep, int use_marker,
                        const struct tb_glob *pattern, tb_retain_complete_fn complete, void *ctx,
                        unsigned char *copy, size_t *newest_src, tb_err *e)
{
    *newest_src = (size_t)-1;
    if (keep < 1) return tb_fail(e, TB_EUSAGE, "--keep-last must be at least 1");
    struct cand *c = tb_xmalloc((n ? n : 1) * sizeof *c);
    signed char *memo = tb_xmalloc(2 * (n ? n : 1)); /* [0, n): the source's answers, [n, 2n): the destination's */
    memset(memo, -1, 2 * (n ? n : 1));
    size_t nc = 0;
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        copy[i] = 1;
        size_t l = bare_len(items[i].name);
        uint64_t step;
        if (is_json_file(items[i].name)) continue; /* follows its checkpoint file, below */
        if (!tb_ckpt_step(items[i].name, l, &step)) continue;
        if (pattern && !tb_glob_match(pattern, items[i].name, l)) continue;
        c[nc++] = (struct cand){items[i].name, i};
    }
    if (nc) qsort(c, nc, sizeof *c, newest_first);
    /* the newest complete source checkpoint: copied, and what retention protects */
    size_t ns = nc;
    for (size_t k = 0; k < nc && ns == nc; k++) {
        int yes = 1;
        if (!items[c[k].idx].in_src) continue;
        if (use_marker && (rc = ask(complete, ctx, c[k].idx, 0, &memo[c[k].idx], &yes, e))) goto out;
        if (yes) ns = k;
    }
    if (ns < nc) *newest_src = c[ns].idx;
    size_t counted = 0;
    for (size_t k = 0; k < nc; k++) {
        size_t i = c[k].idx;
        if (items[i].in_src) copy[i] = (ns < nc && k <= ns) || counted < keep;
        if (counted >= keep) continue; /* past the K-th: nothing older is copied, no more questions */
        int yes = 1;
        if (use_marker) {
            yes = 0;
            if (items[i].in_src && copy[i] && (rc = ask(complete, ctx, i, 0, &memo[i], &yes, e))) goto out;
            if (!yes && items[i].in_dst && (rc = ask(complete, ctx, i, 1, &memo[n + i], &yes, e))) goto out;
        }
        counted += (size_t)yes;
    }
    /* a sidecar is copied when its checkpoint file is */
    if (!rc) {
        const char **names = tb_xmalloc((n ? n : 1) * sizeof *names);
        for (size_t i = 0; i < n; i++) names[i] = items[i].name;
        for (size_t i = 0; i < n; i++) {
            if (!is_json_file(names[i])) continue;
            size_t w = weights_of(names, n, i);
            if (w != (size_t)-1) copy[i] = copy[w];
        }
        free(names);
    }
out:
    free(memo);
    free(c);
    return rc;
}
