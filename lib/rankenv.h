/* rankenv: this process's rank and the world size, from --rank/--world-size or, when they are absent,
 * from the environment a launcher or scheduler sets. Every command with --rank/--world-size resolves
 * them here, so all read the same variables in the same order (documented in trainbox(1), RANKS):
 *
 *   1. RANK, WORLD_SIZE                      torchrun, the Kubeflow Training Operator
 *   2. JOB_COMPLETION_INDEX, TRAINBOX_WORLD_SIZE
 *                                            a Kubernetes Indexed Job (Kubernetes exports no world
 *                                            size: --world-size or TRAINBOX_WORLD_SIZE must give it)
 *   3. SLURM_ARRAY_TASK_ID with SLURM_ARRAY_TASK_MIN, _STEP, _COUNT (and _MAX when set)
 *                                            a Slurm array: rank (ID - MIN) / STEP, world COUNT, so
 *                                            --array=0-30:2 gives ranks 0..15 of 16
 *   4. SLURM_PROCID, SLURM_NTASKS            srun
 *
 * The first source whose rank variable is set (non-empty) is used for whatever the options left
 * open; with no rank variable set, a world size alone comes from the first of WORLD_SIZE,
 * TRAINBOX_WORLD_SIZE, SLURM_NTASKS that is set. Options always win over the environment.
 * Usage errors (64), naming the variables: a value that is not a number, a world size of 0 or above
 * 2^24, a rank not below the world size, a rank source without its world size, an array task ID
 * below MIN, off the MIN/STEP grid or above MAX, a STEP of 0, a COUNT that disagrees with
 * MIN/MAX/STEP (an unevenly spaced array such as --array=1,2,7 has no rank numbering). */
#ifndef TB_RANKENV_H
#define TB_RANKENV_H
#include "err.h"
#include <stddef.h>
#include <stdint.h>

#define TB_WORLD_MAX (1u << 24)

struct tb_rank {
    uint32_t rank, world;
    int have_rank, have_world;   /* 0 when neither option nor environment gave it */
    const char *rank_var;        /* "--rank", "RANK", "JOB_COMPLETION_INDEX", ... or NULL */
    const char *world_var;       /* "--world-size", "WORLD_SIZE", ... or NULL */
    char how[256];               /* for -v: "rank 3 from SLURM_ARRAY_TASK_ID=7 (MIN=1, STEP=2), world
                                  * size 16 from SLURM_ARRAY_TASK_COUNT=16"; empty when nothing given */
};

/* A getenv: the value of name, or NULL. */
typedef const char *(*tb_getenv_fn)(void *ud, const char *name);

/* The pure core: resolve from options and get(ud, NAME). TB_EUSAGE in e (message without the
 * command's name) on a conflict. When both come out set, rank < world is checked. */
int tb_rank_resolve_from(tb_getenv_fn get, void *ud, int opt_rank_given, uint32_t opt_rank, int opt_world_given,
                         uint32_t opt_world, struct tb_rank *out, tb_err *e);

/* The same over the process environment; a usage error is printed for cmd (tb_usage) and 64
 * returned. */
int tb_rank_resolve(const char *cmd, int opt_rank_given, uint32_t opt_rank, int opt_world_given, uint32_t opt_world,
                    struct tb_rank *out);
#endif
