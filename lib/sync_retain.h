/* retain: which checkpoints `sync --keep-last N [--pattern GLOB]` deletes from the destination.
 * Input: the destination's checkpoint names (top-level entries such as "step-000100/" for a
 * directory or "epoch=2-step=1500.ckpt" for a file, as lib/discover names them), whether each
 * holds the marker, and the one this pass is writing. Output: the indices to delete. No I/O.
 *
 * Rules:
 *   - Only names with a step number (tb_ckpt_step: step-123, global_step123, ckpt_7, ...) that
 *     match the pattern (lib/pathglob, against the name without its trailing '/') are candidates:
 *     anything else in the destination is not a checkpoint of this series and is never touched.
 *   - Newest first in the order `discover --latest-checkpoint` uses: by step number, then by
 *     name (byte order) for equal steps; the first N candidates are kept, the rest deleted.
 *   - The one being written (sync passes the source's newest complete checkpoint, see
 *     tb_retain_copy_plan) is never deleted, whatever its rank.
 *   - With a marker (use_marker), a checkpoint without its marker is neither counted nor
 *     deleted. It is either in progress (another writer, or this pass's next one) or torn by a
 *     crash; deleting the first breaks a live writer, and counting either would let an unusable
 *     checkpoint push a complete one out of the N kept, so a reader trusting the marker (as
 *     discover does) could be left with fewer than N, or none. Torn ones are left for a human:
 *     they are reported by the caller, never guessed away.
 *   - A JSON sidecar (NAME.json beside a checkpoint file NAME.EXT, discover's rule) is part of
 *     that checkpoint: never a candidate of its own, deleted right after its checkpoint file, and
 *     copied when it is (tb_retain_copy_plan). A .json file alone is never a checkpoint.
 *   - Without a marker every candidate counts, the one being written included (it is normally
 *     the newest, so it takes one of the N places as it will once complete). */
#ifndef TB_RETAIN_H
#define TB_RETAIN_H
#include "err.h"
#include "pathglob.h"
#include <stddef.h>

struct tb_retain_item {
    const char *name;  /* "step-000100/" or "x-step=5.ckpt" */
    int marked;        /* holds the marker (only read when use_marker) */
};

/* Fill del (room for n) with the indices of items to delete, oldest first; *ndel their count.
 * pattern may be NULL (every numbered name), writing may be NULL. keep < 1 is TB_EUSAGE. */
int tb_retain_plan(const struct tb_retain_item *items, size_t n, size_t keep, int use_marker,
                   const char *writing, const struct tb_glob *pattern, size_t *del, size_t *ndel, tb_err *e);
/* Which source checkpoints a pass with --keep-last copies: only those retention would keep, so a
 * checkpoint is never sent just to be deleted after the pass (and sent again by the next one, when
 * the trainer keeps its old checkpoints locally). Input: the checkpoint names of both sides merged
 * (each once, with in_src and in_dst), the same K, marker use and pattern as tb_retain_plan.
 * Counted (as tb_retain_plan counts what it keeps): without a marker every checkpoint; with one, a
 * source checkpoint that is complete (it will be marked in the destination by this pass) or a
 * destination one that holds its marker. Rules, newest first in tb_retain_cmp's order:
 *   - the newest complete source checkpoint (what a resume on the source would use) and the
 *     source checkpoints newer than it (in progress: copied, they get no marker yet) are copied
 *     whatever the destination holds, so a run resumed from an older step (a rollback) is still
 *     backed up; the caller passes the newest complete one to tb_retain_plan as the one being
 *     written, which retention never deletes;
 *   - any other source checkpoint is copied only while fewer than K counted checkpoints (either
 *     side) are newer than it: with K newer ones it is skipped (copy[i] = 0), never uploaded;
 *   - names that are not checkpoints (no step number, or not matching the pattern) are copied as
 *     usual (copy[i] = 1) and are not counted.
 * Completeness (with a marker only) is asked lazily of complete(ctx, i, side, &yes, e) (side 0: is
 * the source's checkpoint complete; 1: does the destination's hold its marker), newest first and
 * only as far as the rules need, since each answer may cost a HEAD request or a directory walk; it
 * returns 0, or an exit code with e filled, which stops the plan. *newest_src is the index of the
 * newest complete source checkpoint, or (size_t)-1 when there is none. */
struct tb_retain_cand {
    const char *name;  /* "step-000100/" or "x-step=5.ckpt" */
    int in_src, in_dst;
};
typedef int (*tb_retain_complete_fn)(void *ctx, size_t idx, int side, int *yes, tb_err *e);
int tb_retain_copy_plan(const struct tb_retain_cand *items, size_t n, size_t keep, int use_marker,
                        const struct tb_glob *pattern, tb_retain_complete_fn complete, void *ctx,
                        unsigned char *copy, size_t *newest_src, tb_err *e);
/* The checkpoint order of discover --latest-checkpoint: <0 when a is older than b. */
int tb_retain_cmp(const char *a, const char *b);
#endif
