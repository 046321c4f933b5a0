/* lib/sync_retain: --keep-last over step-* checkpoints, with and without markers, the one being
 * written, a pattern, names that are not checkpoints, and discover's order (step, then name). */
#include "sync_retain.h"
#include "tap.h"
#include <stdio.h>
#include <string.h>

static void render(const struct tb_retain_item *it, const size_t *del, size_t nd, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = 0;
    for (size_t i = 0; i < nd; i++) n += (size_t)snprintf(out + n, cap - n, "%s ", it[del[i]].name);
}

int main(void)
{
    static const struct tb_retain_item it[] = {
        {"step-000300/", 1}, {"step-000100/", 1}, {"logs/", 0}, {"step-000500/", 0}, {"step-000200/", 1},
        {"step-000400/", 1}, {"notes.txt", 0}, {"step-1000/", 1}, {"best-step-000050.ckpt", 1},
    };
    size_t n = sizeof it / sizeof *it, del[16], nd;
    char out[512];
    tb_err e = {0};

    CHECK_INT(tb_retain_plan(it, n, 3, 0, NULL, NULL, del, &nd, &e), 0, "keep 3, no marker");
    render(it, del, nd, out, sizeof out);
    CHECK_STR(out, "best-step-000050.ckpt step-000100/ step-000200/ step-000300/ ",
              "the oldest by step number go, oldest first; 1000 > 500 > 400 stay (not by name: step-1000 sorts first)");

    CHECK_INT(tb_retain_plan(it, n, 3, 1, NULL, NULL, del, &nd, &e), 0, "keep 3 with markers");
    render(it, del, nd, out, sizeof out);
    CHECK_STR(out, "best-step-000050.ckpt step-000100/ step-000200/ ",
              "the unmarked step-500 is neither counted nor deleted: 1000, 400, 300 stay");

    CHECK_INT(tb_retain_plan(it, n, 2, 0, "step-000300", NULL, del, &nd, &e), 0, "keep 2, writing step-300");
    render(it, del, nd, out, sizeof out);
    CHECK_STR(out, "best-step-000050.ckpt step-000100/ step-000200/ step-000400/ ", "the one being written is never deleted");

    struct tb_glob g;
    tb_glob_compile(&g, "/step-*", &e);
    CHECK_INT(tb_retain_plan(it, n, 1, 1, NULL, &g, del, &nd, &e), 0, "keep 1 of the pattern /step-*");
    render(it, del, nd, out, sizeof out);
    CHECK_STR(out, "step-000100/ step-000200/ step-000300/ step-000400/ ", "the pattern leaves best-step-*.ckpt alone");
    tb_glob_free(&g);

    CHECK_INT(tb_retain_plan(it, n, 100, 0, NULL, NULL, del, &nd, &e), 0, "keep more than there are");
    CHECK_INT(nd, 0, "nothing deleted");
    CHECK_INT(tb_retain_plan(it, n, 0, 0, NULL, NULL, del, &nd, &e), TB_EUSAGE, "keep 0 is a usage error");
    CHECK_INT(tb_retain_plan(NULL, 0, 1, 0, NULL, NULL, del, &nd, &e), 0, "an empty destination");
    CHECK_INT(nd, 0, "nothing to delete");

    static const struct tb_retain_item torn[] = {{"step-1/", 0}, {"step-2/", 0}, {"step-3/", 0}};
    CHECK_INT(tb_retain_plan(torn, 3, 1, 1, "step-3/", NULL, del, &nd, &e), 0, "no checkpoint has its marker");
    CHECK_INT(nd, 0, "none is deleted (in progress or torn: left for a human)");

    CHECK(tb_retain_cmp("step-9/", "step-10/") < 0, "step 9 is older than step 10");
    CHECK(tb_retain_cmp("epoch=2-step=1500.ckpt", "epoch=3-step=1000.ckpt") > 0, "step wins over epoch");
    CHECK(tb_retain_cmp("a-step-5", "b-step-5") < 0, "equal steps: by name, as discover");
    CHECK(tb_retain_cmp("step-5/", "step-5") > 0, "the trailing '/' is part of the name for ties");
    return tap_done();
}
