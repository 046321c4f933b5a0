/* rankenv: rank and world size from options and the launcher's environment (see rankenv.h). */
#include "rankenv.h"
#include "opts.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct env {
    tb_getenv_fn get;
    void *ud;
};

/* name's value when set and non-empty. */
static const char *val(const struct env *v, const char *name)
{
    const char *s = v->get(v->ud, name);
    return s && *s ? s : NULL;
}

/* A set variable as a number below 2^32: 1 when set, 0 when not, TB_EUSAGE (negative: -64) on junk. */
static int num(const struct env *v, const char *name, uint32_t *out, tb_err *e)
{
    const char *s = val(v, name);
    unsigned long long x;
    if (!s) return 0;
    if (tb_parse_u64(s, &x) || x > UINT32_MAX) {
        tb_fail(e, TB_EUSAGE, "environment %s='%s' is not a non-negative integer", name, s);
        return -1;
    }
    *out = (uint32_t)x;
    return 1;
}

enum src { SRC_NONE, SRC_TORCH, SRC_K8S, SRC_ARRAY, SRC_SRUN };
static const char *const rank_vars[] = {NULL, "RANK", "JOB_COMPLETION_INDEX", "SLURM_ARRAY_TASK_ID", "SLURM_PROCID"};
static const char *const world_vars[] = {NULL, "WORLD_SIZE", "TRAINBOX_WORLD_SIZE", "SLURM_ARRAY_TASK_COUNT", "SLURM_NTASKS"};

/* The array task's rank, (ID - MIN) / STEP, after the grid checks. */
static int array_rank(const struct env *v, uint32_t *rank, char *desc, size_t dn, tb_err *e)
{
    uint32_t id = 0, min = 0, step = 1, max = 0, count = 0;
    int r, have_min, have_step, have_max, have_count;
    if ((r = num(v, "SLURM_ARRAY_TASK_ID", &id, e)) < 0 || (have_min = num(v, "SLURM_ARRAY_TASK_MIN", &min, e)) < 0 ||
        (have_step = num(v, "SLURM_ARRAY_TASK_STEP", &step, e)) < 0 || (have_max = num(v, "SLURM_ARRAY_TASK_MAX", &max, e)) < 0 ||
        (have_count = num(v, "SLURM_ARRAY_TASK_COUNT", &count, e)) < 0)
        return TB_EUSAGE;
    if (!have_step) step = 1;
    if (step == 0) return tb_fail(e, TB_EUSAGE, "environment SLURM_ARRAY_TASK_STEP=0: an array step is at least 1");
    if (id < min)
        return tb_fail(e, TB_EUSAGE, "environment SLURM_ARRAY_TASK_ID=%u is below SLURM_ARRAY_TASK_MIN=%u", id, min);
    if ((id - min) % step)
        return tb_fail(e, TB_EUSAGE, "environment SLURM_ARRAY_TASK_ID=%u is not on the grid of SLURM_ARRAY_TASK_MIN=%u and "
                       "SLURM_ARRAY_TASK_STEP=%u (MIN + k * STEP)", id, min, step);
    if (have_max && id > max)
        return tb_fail(e, TB_EUSAGE, "environment SLURM_ARRAY_TASK_ID=%u is above SLURM_ARRAY_TASK_MAX=%u", id, max);
    if (have_max && have_count && (max < min || (max - min) / step + 1 != count))
        return tb_fail(e, TB_EUSAGE, "environment SLURM_ARRAY_TASK_COUNT=%u disagrees with SLURM_ARRAY_TASK_MIN=%u, "
                       "SLURM_ARRAY_TASK_MAX=%u and SLURM_ARRAY_TASK_STEP=%u (%u tasks): an array without an even step "
                       "(such as --array=1,2,7) has no rank numbering; give --rank and --world-size",
                       count, min, have_max ? max : 0, step, max >= min ? (max - min) / step + 1 : 0);
    *rank = (id - min) / step;
    char m[48], st[48];
    if (have_min) snprintf(m, sizeof m, "SLURM_ARRAY_TASK_MIN=%u", min); else snprintf(m, sizeof m, "0");
    if (have_step) snprintf(st, sizeof st, "SLURM_ARRAY_TASK_STEP=%u", step); else snprintf(st, sizeof st, "1");
    snprintf(desc, dn, "(SLURM_ARRAY_TASK_ID=%u - %s) / %s", id, m, st);
    return 0;
}

int tb_rank_resolve_from(tb_getenv_fn get, void *ud, int opt_rank_given, uint32_t opt_rank, int opt_world_given,
                         uint32_t opt_world, struct tb_rank *out, tb_err *e)
{
    struct env v = {get, ud};
    char rdesc[160] = "", wdesc[80] = "";
    memset(out, 0, sizeof *out);
    if (opt_rank_given) {
        out->rank = opt_rank;
        out->have_rank = 1;
        out->rank_var = "--rank";
        snprintf(rdesc, sizeof rdesc, "--rank");
    }
    if (opt_world_given) {
        out->world = opt_world;
        out->have_world = 1;
        out->world_var = "--world-size";
        snprintf(wdesc, sizeof wdesc, "--world-size");
    }
    if (!opt_rank_given || !opt_world_given) {
        /* the first source whose rank variable is set */
        enum src s = SRC_NONE;
        for (int k = SRC_TORCH; k <= SRC_SRUN && s == SRC_NONE; k++)
            if (val(&v, rank_vars[k])) s = (enum src)k;
        if (s != SRC_NONE && !opt_rank_given) {
            int r;
            if (s == SRC_ARRAY) r = array_rank(&v, &out->rank, rdesc, sizeof rdesc, e);
            else if ((r = num(&v, rank_vars[s], &out->rank, e)) < 0) r = TB_EUSAGE;
            else r = 0, snprintf(rdesc, sizeof rdesc, "%s=%u", rank_vars[s], out->rank);
            if (r) return r;
            out->have_rank = 1;
            out->rank_var = rank_vars[s];
        }
        if (!opt_world_given) {
            static const char *const alone[] = {"WORLD_SIZE", "TRAINBOX_WORLD_SIZE", "SLURM_NTASKS", NULL};
            const char *wv = NULL;
            if (s != SRC_NONE) wv = world_vars[s];
            else for (int k = 0; alone[k] && !wv; k++) if (val(&v, alone[k])) wv = alone[k];
            int r = wv ? num(&v, wv, &out->world, e) : 0;
            if (r < 0) return TB_EUSAGE;
            if (r == 0 && s != SRC_NONE)
                return tb_fail(e, TB_EUSAGE, "environment %s is set but %s is not: give --world-size%s", rank_vars[s], wv,
                               s == SRC_K8S ? " or set TRAINBOX_WORLD_SIZE (Kubernetes exports no world size)" : "");
            if (r == 1) {
                out->have_world = 1;
                out->world_var = wv;
                snprintf(wdesc, sizeof wdesc, "%s=%u", wv, out->world);
            }
        }
    }
    if (out->have_world && (out->world == 0 || out->world > TB_WORLD_MAX))
        return tb_fail(e, TB_EUSAGE, "world size %u (%s) must be 1 to %u", out->world, wdesc, TB_WORLD_MAX);
    if (out->have_rank && out->have_world && out->rank >= out->world)
        return tb_fail(e, TB_EUSAGE, "rank %u (%s) is not below world size %u (%s)", out->rank, rdesc, out->world, wdesc);
    if (out->have_rank || out->have_world) {
        int n = 0;
        if (out->have_rank) n = snprintf(out->how, sizeof out->how, "rank %u from %s", out->rank, rdesc);
        if (out->have_world)
            snprintf(out->how + n, sizeof out->how - (size_t)n, "%sworld size %u from %s", n ? ", " : "", out->world, wdesc);
    }
    return 0;
}

static const char *real_getenv(void *ud, const char *name)
{
    (void)ud;
    return getenv(name);
}

int tb_rank_resolve(const char *cmd, int opt_rank_given, uint32_t opt_rank, int opt_world_given, uint32_t opt_world,
                    struct tb_rank *out)
{
    tb_err e = {0};
    int r = tb_rank_resolve_from(real_getenv, NULL, opt_rank_given, opt_rank, opt_world_given, opt_world, out, &e);
    if (r) return tb_usage(cmd, "%s", e.msg);
    return 0;
}
