/* lib/rankenv: the order of the launchers' variables, options over the environment, the Slurm array
 * arithmetic, and every conflict a usage error naming its variables. The environment is a table
 * (no setenv): tb_rank_resolve_from reads it through a getenv-like function. */
#include "rankenv.h"
#include "tap.h"
#include <string.h>

/* "NAME=VALUE" strings, NULL-terminated */
static const char *tab_get(void *ud, const char *name)
{
    const char *const *t = ud;
    size_t n = strlen(name);
    for (; *t; t++)
        if (strncmp(*t, name, n) == 0 && (*t)[n] == '=') return *t + n + 1;
    return NULL;
}

static int res(const char *const *env, int rg, uint32_t r, int wg, uint32_t w, struct tb_rank *out, tb_err *e)
{
    memset(e, 0, sizeof *e);
    return tb_rank_resolve_from(tab_get, (void *)env, rg, r, wg, w, out, e);
}

static void order(void)
{
    struct tb_rank k;
    tb_err e;
    const char *none[] = {NULL};
    CHECK(res(none, 0, 0, 0, 0, &k, &e) == 0 && !k.have_rank && !k.have_world && !k.how[0], "nothing set: nothing given");
    const char *torch[] = {"RANK=3", "WORLD_SIZE=8", "JOB_COMPLETION_INDEX=1", "TRAINBOX_WORLD_SIZE=4", "SLURM_PROCID=0",
                           "SLURM_NTASKS=2", NULL};
    CHECK(res(torch, 0, 0, 0, 0, &k, &e) == 0 && k.rank == 3 && k.world == 8, "RANK/WORLD_SIZE first: %u/%u", k.rank, k.world);
    CHECK_STR(k.rank_var, "RANK", "rank var");
    CHECK_STR(k.world_var, "WORLD_SIZE", "world var");
    CHECK_STR(k.how, "rank 3 from RANK=3, world size 8 from WORLD_SIZE=8", "-v text");
    const char *k8s[] = {"JOB_COMPLETION_INDEX=2", "TRAINBOX_WORLD_SIZE=4", "SLURM_ARRAY_TASK_ID=9", "SLURM_PROCID=0",
                         "SLURM_NTASKS=2", "RANK=", NULL};
    CHECK(res(k8s, 0, 0, 0, 0, &k, &e) == 0 && k.rank == 2 && k.world == 4, "an empty RANK is unset; Indexed Job next");
    CHECK_STR(k.world_var, "TRAINBOX_WORLD_SIZE", "its world size from TRAINBOX_WORLD_SIZE");
    const char *arr[] = {"SLURM_ARRAY_TASK_ID=30", "SLURM_ARRAY_TASK_MIN=0", "SLURM_ARRAY_TASK_MAX=30",
                         "SLURM_ARRAY_TASK_STEP=2", "SLURM_ARRAY_TASK_COUNT=16", "SLURM_PROCID=0", "SLURM_NTASKS=1", NULL};
    CHECK(res(arr, 0, 0, 0, 0, &k, &e) == 0 && k.rank == 15 && k.world == 16, "array 0-30:2, task 30: rank 15 of 16 (%u/%u) %s",
          k.rank, k.world, e.msg);
    CHECK_STR(k.rank_var, "SLURM_ARRAY_TASK_ID", "array rank var");
    CHECK(strstr(k.how, "SLURM_ARRAY_TASK_ID=30") && strstr(k.how, "SLURM_ARRAY_TASK_COUNT=16"), "-v names them: %s", k.how);
    const char *arr1[] = {"SLURM_ARRAY_TASK_ID=7", "SLURM_ARRAY_TASK_MIN=1", "SLURM_ARRAY_TASK_STEP=2",
                          "SLURM_ARRAY_TASK_COUNT=4", NULL};
    CHECK(res(arr1, 0, 0, 0, 0, &k, &e) == 0 && k.rank == 3 && k.world == 4, "array 1-7:2, task 7: rank 3 of 4");
    const char *srun[] = {"SLURM_PROCID=5", "SLURM_NTASKS=6", "WORLD_SIZE=", NULL};
    CHECK(res(srun, 0, 0, 0, 0, &k, &e) == 0 && k.rank == 5 && k.world == 6, "srun last");
    CHECK_STR(k.world_var, "SLURM_NTASKS", "srun's world var");
    /* a rank source's world size is its own: WORLD_SIZE does not pair with SLURM_PROCID */
    const char *mixed[] = {"SLURM_PROCID=1", "SLURM_NTASKS=2", "WORLD_SIZE=8", NULL};
    CHECK(res(mixed, 0, 0, 0, 0, &k, &e) == 0 && k.world == 2, "world size from the rank's own source");
}

static void options(void)
{
    struct tb_rank k;
    tb_err e;
    const char *torch[] = {"RANK=3", "WORLD_SIZE=8", NULL};
    CHECK(res(torch, 1, 1, 1, 2, &k, &e) == 0 && k.rank == 1 && k.world == 2, "options win");
    CHECK_STR(k.rank_var, "--rank", "option named");
    CHECK(res(torch, 0, 0, 1, 4, &k, &e) == 0 && k.rank == 3 && k.world == 4, "--world-size with RANK");
    CHECK(res(torch, 1, 7, 0, 0, &k, &e) == 0 && k.rank == 7 && k.world == 8, "--rank with WORLD_SIZE");
    const char *junk[] = {"RANK=abc", NULL};
    CHECK(res(junk, 1, 0, 1, 2, &k, &e) == 0, "both options given: the environment is not read");
    const char *alone[] = {"SLURM_NTASKS=4", NULL};
    CHECK(res(alone, 1, 2, 0, 0, &k, &e) == 0 && k.world == 4 && k.have_rank, "--rank with a world size alone");
    CHECK(res(alone, 0, 0, 0, 0, &k, &e) == 0 && !k.have_rank && k.have_world && k.world == 4, "a world size alone");
    const char *tw[] = {"TRAINBOX_WORLD_SIZE=4", "SLURM_NTASKS=2", NULL};
    CHECK(res(tw, 1, 3, 0, 0, &k, &e) == 0 && k.world == 4, "TRAINBOX_WORLD_SIZE before SLURM_NTASKS for a world size alone");
    const char *idx[] = {"JOB_COMPLETION_INDEX=3", NULL};
    CHECK(res(idx, 0, 0, 1, 4, &k, &e) == 0 && k.rank == 3 && k.world == 4, "Indexed Job with --world-size");
}

static void conflicts(void)
{
    struct tb_rank k;
    tb_err e;
    struct {
        const char *env[8];
        int rg; uint32_t r; int wg; uint32_t w;
        const char *names[3]; /* what the message must name */
    } c[] = {
        {{"RANK=8", "WORLD_SIZE=8"}, 0, 0, 0, 0, {"RANK=8", "WORLD_SIZE=8"}},
        {{"RANK=x1", "WORLD_SIZE=8"}, 0, 0, 0, 0, {"RANK", "x1"}},
        {{"RANK=1", "WORLD_SIZE=-2"}, 0, 0, 0, 0, {"WORLD_SIZE"}},
        {{"RANK=0", "WORLD_SIZE=0"}, 0, 0, 0, 0, {"WORLD_SIZE=0"}},
        {{"RANK=0", "WORLD_SIZE=99999999"}, 0, 0, 0, 0, {"WORLD_SIZE"}},
        {{"RANK=1"}, 0, 0, 0, 0, {"RANK", "WORLD_SIZE"}},
        {{"JOB_COMPLETION_INDEX=2"}, 0, 0, 0, 0, {"JOB_COMPLETION_INDEX", "TRAINBOX_WORLD_SIZE"}},
        {{"JOB_COMPLETION_INDEX=4", "TRAINBOX_WORLD_SIZE=4"}, 0, 0, 0, 0, {"JOB_COMPLETION_INDEX=4", "TRAINBOX_WORLD_SIZE=4"}},
        {{"JOB_COMPLETION_INDEX=4"}, 0, 0, 1, 4, {"JOB_COMPLETION_INDEX=4", "--world-size"}},
        {{"SLURM_ARRAY_TASK_ID=3", "SLURM_ARRAY_TASK_MIN=0", "SLURM_ARRAY_TASK_STEP=2", "SLURM_ARRAY_TASK_COUNT=16"}, 0, 0, 0, 0,
         {"SLURM_ARRAY_TASK_ID=3", "SLURM_ARRAY_TASK_STEP=2", "grid"}},
        {{"SLURM_ARRAY_TASK_ID=0", "SLURM_ARRAY_TASK_MIN=1", "SLURM_ARRAY_TASK_COUNT=4"}, 0, 0, 0, 0, {"SLURM_ARRAY_TASK_MIN=1"}},
        {{"SLURM_ARRAY_TASK_ID=9", "SLURM_ARRAY_TASK_MIN=1", "SLURM_ARRAY_TASK_MAX=7", "SLURM_ARRAY_TASK_COUNT=7"}, 0, 0, 0, 0,
         {"SLURM_ARRAY_TASK_MAX=7"}},
        {{"SLURM_ARRAY_TASK_ID=1", "SLURM_ARRAY_TASK_STEP=0", "SLURM_ARRAY_TASK_COUNT=4"}, 0, 0, 0, 0, {"SLURM_ARRAY_TASK_STEP=0"}},
        {{"SLURM_ARRAY_TASK_ID=2", "SLURM_ARRAY_TASK_MIN=1", "SLURM_ARRAY_TASK_MAX=7", "SLURM_ARRAY_TASK_STEP=1",
          "SLURM_ARRAY_TASK_COUNT=3"}, 0, 0, 0, 0, {"SLURM_ARRAY_TASK_COUNT=3", "even step"}},
        {{"SLURM_ARRAY_TASK_ID=6", "SLURM_ARRAY_TASK_MIN=0", "SLURM_ARRAY_TASK_STEP=2", "SLURM_ARRAY_TASK_COUNT=3"}, 0, 0, 0, 0,
         {"rank 3", "SLURM_ARRAY_TASK_COUNT=3"}},
        {{"SLURM_ARRAY_TASK_ID=2"}, 0, 0, 0, 0, {"SLURM_ARRAY_TASK_COUNT"}},
        {{"SLURM_PROCID=2", "SLURM_NTASKS=2"}, 0, 0, 0, 0, {"SLURM_PROCID=2", "SLURM_NTASKS=2"}},
        {{0}, 1, 5, 1, 5, {"--rank", "--world-size"}},
        {{"WORLD_SIZE=4"}, 1, 4, 0, 0, {"--rank", "WORLD_SIZE=4"}},
        {{0}, 0, 0, 1, 0, {"--world-size"}},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        int r = res(c[i].env, c[i].rg, c[i].r, c[i].wg, c[i].w, &k, &e);
        int named = 1;
        for (int j = 0; j < 3 && c[i].names[j]; j++) named &= strstr(e.msg, c[i].names[j]) != NULL;
        CHECK(r == TB_EUSAGE && e.code == TB_EUSAGE && named, "conflict %zu: 64 naming %s: %s", i, c[i].names[0], e.msg);
    }
}

int main(void)
{
    order();
    options();
    conflicts();
    return tap_done();
}
