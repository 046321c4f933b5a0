/* retain: --keep-last's choice of checkpoints to delete (see sync_retain.h for the rules). */
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
        if (!tb_ckpt_step(items[i].name, l, &step)) continue;
        if (pattern && !tb_glob_match(pattern, items[i].name, l)) continue;
        if (use_marker && !items[i].marked) continue;
        c[nc++] = (struct cand){items[i].name, i};
    }
    qsort(c, nc, sizeof *c, newest_first);
    size_t m = 0;
    for (size_t k = keep; k < nc; k++) {
        size_t l = bare_len(c[k].name);
        if (writing && l == wlen && memcmp(c[k].name, writing, l) == 0) continue;
        c[m++] = c[k];
    }
    qsort(c, m, sizeof *c, oldest_first);
    for (size_t k = 0; k < m; k++) del[k] = c[k].idx;
    *ndel = m;
    free(c);
    return 0;
}
