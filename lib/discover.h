/* discover: the pure logic of `trainbox discover`: shard groups (objects in one directory whose
 * names differ only in one zero-padded number, same extension) and checkpoint detection. Keys are
 * relative to the listed prefix. No I/O. */
#ifndef TB_DISCOVER_H
#define TB_DISCOVER_H
#include "err.h"
#include <stddef.h>
#include <stdint.h>

struct tb_obj { const char *key; uint64_t size; };

struct tb_group {
    char *head;        /* everything before the number: "data/train-" */
    char *tail;        /* everything after it: ".tar" */
    int width;         /* digits of the number */
    uint64_t first, last;
    size_t count;
    uint64_t bytes, median;
    uint64_t *missing; /* numbers absent in [first, last] (at most 10000 listed) */
    size_t nmissing;
};

/* What the grouping saw, to say why nothing (or little) was reported. */
struct tb_group_stats {
    size_t numbered;        /* objects whose last path component holds a number */
    size_t largest;         /* members of the largest candidate group, whatever its size */
    size_t light;           /* candidates with enough members but a median size below min_size */
    uint64_t light_median;  /* the largest median among those */
};

/* Groups of at least min_count objects whose median size is at least min_size, sorted by head.
 * st (may be NULL) gets what was seen. */
int tb_find_groups(const struct tb_obj *objs, size_t n, size_t min_count, uint64_t min_size,
                   struct tb_group **out, size_t *nout, struct tb_group_stats *st, tb_err *e);
void tb_groups_free(struct tb_group *g, size_t n);

/* The training step a checkpoint name stands for: step-000123, step_123, global_step123,
 * checkpoint-123, ckpt_7, epoch=2-step=1500.ckpt, iter_0005. Returns 1 and sets *step, or 0. */
int tb_ckpt_step(const char *name, size_t len, uint64_t *step);

struct tb_ckpt {
    char *path;        /* relative path of the checkpoint: "step-100/" (a directory) or "x-step=5.ckpt" */
    char *sidecar;     /* a file checkpoint's JSON sidecar ("step-100.json" beside "step-100.pt"), or NULL */
    uint64_t step, bytes;  /* bytes and objects include the sidecar's */
    size_t objects;
    int marked;        /* a directory holding the marker, or a file with its sidecar */
};
/* The newest complete checkpoint. Shapes: a directory whose name holds the step (checkpoint-500/,
 * Hugging Face Trainer's; step-100/), a file (step-100.pt, epoch=2-step=1500.ckpt), and a file's
 * JSON sidecar: NAME.json beside NAME.EXT (step-100.json beside step-100.pt) is part of that
 * checkpoint, written after its weights, so it marks the file complete as a marker file marks a
 * directory. A .json checkpoint file is always a sidecar, never a checkpoint of its own: alone,
 * its weights are missing or still being uploaded (NAME.json sorts before NAME.pt).
 * With markers or sidecars anywhere, only marked ones count; else every non-empty one. Newest: the
 * highest step, then the greatest path in byte order. marker NULL means ".complete" or "COMPLETE".
 * Returns 0 (out->path and out->sidecar malloc'd), or TB_ENOINPUT when none. */
int tb_latest_checkpoint(const struct tb_obj *objs, size_t n, const char *marker, struct tb_ckpt *out, tb_err *e);
#endif
