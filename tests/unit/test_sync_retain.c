/* lib/sync_retain: --keep-last over step-* checkpoints, with and without markers, the one being
 * written, a pattern, names that are not checkpoints, and discover's order (step, then name); and
 * which source checkpoints a --keep-last pass copies at all (tb_retain_copy_plan): the newest K of
 * both sides, the newest complete source one always, completeness asked lazily. */
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

/* The completeness oracle of the copy plan's tests: a string per side, one char per item
 * ('1' complete or marked, '0' not), and a count of the questions asked. */
struct oracle { const char *src, *dst; int asked, fail_at; };
static int oracle_fn(void *ctx, size_t idx, int side, int *yes, tb_err *e)
{
    struct oracle *o = ctx;
    if (++o->asked == o->fail_at) return tb_fail(e, TB_ETEMPFAIL, "store unreachable");
    *yes = (side ? o->dst : o->src)[idx] == '1';
    return 0;
}

/* The copy flags of the source's items as a string: "step-1/:0 step-2/:1 ". */
static void render_copy(const struct tb_retain_cand *it, size_t n, const unsigned char *copy, char *out, size_t cap)
{
    size_t k = 0;
    out[0] = 0;
    for (size_t i = 0; i < n; i++)
        if (it[i].in_src) k += (size_t)snprintf(out + k, cap - k, "%s:%d ", it[i].name, copy[i]);
}

static void copy_plan_tests(void)
{
    unsigned char copy[128];
    size_t ns;
    char out[1024];
    tb_err e = {0};

    /* the helper's report: local step-1..3 complete, nothing in the store yet, --keep-last 2 */
    static const struct tb_retain_cand a[] = {{"step-1/", 1, 0}, {"step-2/", 1, 0}, {"step-3/", 1, 0}};
    struct oracle o = {"111", "000", 0, 0};
    CHECK_INT(tb_retain_copy_plan(a, 3, 2, 1, NULL, oracle_fn, &o, copy, &ns, &e), 0, "first pass");
    render_copy(a, 3, copy, out, sizeof out);
    CHECK_STR(out, "step-1/:0 step-2/:1 step-3/:1 ", "only the 2 newest are copied: step-1 would be deleted after the pass");
    CHECK_INT(ns, 2, "step-3 is the newest complete source checkpoint (protected)");
    /* the second pass: the store holds step-2 and step-3 with markers */
    static const struct tb_retain_cand b[] = {{"step-1/", 1, 0}, {"step-2/", 1, 1}, {"step-3/", 1, 1}};
    o = (struct oracle){"111", "011", 0, 0};
    CHECK_INT(tb_retain_copy_plan(b, 3, 2, 1, NULL, oracle_fn, &o, copy, &ns, &e), 0, "second pass");
    render_copy(b, 3, copy, out, sizeof out);
    CHECK_STR(out, "step-1/:0 step-2/:1 step-3/:1 ", "step-1 is still not sent again");
    CHECK_INT(o.asked, 2, "two questions (step-3's, step-2's source): the rest was not needed");

    /* the destination's newer, unmarked (torn) checkpoint does not push a complete one out */
    static const struct tb_retain_cand c[] = {{"step-1/", 1, 0}, {"step-2/", 1, 0}, {"step-3/", 1, 0}, {"step-9/", 0, 1}};
    o = (struct oracle){"1110", "0000", 0, 0};
    CHECK_INT(tb_retain_copy_plan(c, 4, 1, 1, NULL, oracle_fn, &o, copy, &ns, &e), 0, "a torn step-9 in the destination");
    render_copy(c, 4, copy, out, sizeof out);
    CHECK_STR(out, "step-1/:0 step-2/:0 step-3/:1 ", "step-3 is copied, the older ones not");

    /* a rollback: the store holds 300 and 400 from the abandoned run; the trainer resumed from 200,
     * wrote 250 and is writing 260 */
    static const struct tb_retain_cand d[] = {
        {"step-200/", 1, 0}, {"step-250/", 1, 0}, {"step-260/", 1, 0}, {"step-300/", 0, 1}, {"step-400/", 0, 1}};
    o = (struct oracle){"11000", "00011", 0, 0};
    CHECK_INT(tb_retain_copy_plan(d, 5, 2, 1, NULL, oracle_fn, &o, copy, &ns, &e), 0, "a rollback");
    render_copy(d, 5, copy, out, sizeof out);
    CHECK_STR(out, "step-200/:0 step-250/:1 step-260/:1 ",
              "the newest complete source checkpoint and the one in progress are copied whatever the store holds");
    CHECK_INT(ns, 1, "step-250 is protected (the newest complete one, not the one in progress)");

    /* a restore: the store holds 1..5, 5 torn; the directory is empty */
    static const struct tb_retain_cand r[] = {
        {"step-1/", 1, 0}, {"step-2/", 1, 0}, {"step-3/", 1, 0}, {"step-4/", 1, 0}, {"step-5/", 1, 0}};
    o = (struct oracle){"11110", "00000", 0, 0};
    CHECK_INT(tb_retain_copy_plan(r, 5, 2, 1, NULL, oracle_fn, &o, copy, &ns, &e), 0, "a restore");
    render_copy(r, 5, copy, out, sizeof out);
    CHECK_STR(out, "step-1/:0 step-2/:0 step-3/:1 step-4/:1 step-5/:1 ",
              "3 and 4 (complete) are restored; 5 is newer, so left to the marker rule, which refuses it");

    /* without a marker every checkpoint counts, nothing is asked; other names are copied as usual */
    static const struct tb_retain_cand f[] = {{"logs/", 1, 1}, {"step-1000/", 1, 0}, {"step-300/", 1, 1},
                                             {"step-40/", 1, 1}, {"step-5/", 1, 0}, {"best-step-50.ckpt", 1, 0}};
    o = (struct oracle){"", "", 0, 0};
    CHECK_INT(tb_retain_copy_plan(f, 6, 2, 0, NULL, oracle_fn, &o, copy, &ns, &e), 0, "no marker");
    render_copy(f, 6, copy, out, sizeof out);
    CHECK_STR(out, "logs/:1 step-1000/:1 step-300/:1 step-40/:0 step-5/:0 best-step-50.ckpt:0 ",
              "by step number: 1000 and 300; logs/ is not a checkpoint");
    CHECK_INT(o.asked, 0, "no question without a marker");
    CHECK_INT(ns, 1, "step-1000 is protected");
    struct tb_glob g;
    tb_glob_compile(&g, "/step-*", &e);
    CHECK_INT(tb_retain_copy_plan(f, 6, 1, 0, &g, oracle_fn, &o, copy, &ns, &e), 0, "a pattern");
    render_copy(f, 6, copy, out, sizeof out);
    CHECK_STR(out, "logs/:1 step-1000/:1 step-300/:0 step-40/:0 step-5/:0 best-step-50.ckpt:1 ",
              "best-step-50.ckpt is not of the pattern's series: copied as any file");
    tb_glob_free(&g);

    /* many complete checkpoints: only as many questions as the rules need */
    static struct tb_retain_cand many[100];
    static char names[100][16];
    char src[101];
    for (int i = 0; i < 100; i++) {
        snprintf(names[i], sizeof names[i], "step-%d/", i + 1);
        many[i] = (struct tb_retain_cand){names[i], 1, 0};
        src[i] = '1';
    }
    src[100] = 0;
    o = (struct oracle){src, src, 0, 0};
    CHECK_INT(tb_retain_copy_plan(many, 100, 3, 1, NULL, oracle_fn, &o, copy, &ns, &e), 0, "100 checkpoints, keep 3");
    int ncopy = 0;
    for (int i = 0; i < 100; i++) ncopy += copy[i];
    CHECK_INT(ncopy, 3, "3 copied");
    CHECK(copy[97] && copy[98] && copy[99], "the newest three");
    CHECK_INT(o.asked, 3, "3 questions, not 100 (each may be a HEAD request)");
    o = (struct oracle){src, src, 0, 2};
    CHECK_INT(tb_retain_copy_plan(many, 100, 3, 1, NULL, oracle_fn, &o, copy, &ns, &e), TB_ETEMPFAIL, "an oracle's error stops the plan");
    CHECK_INT(tb_retain_copy_plan(many, 100, 0, 1, NULL, oracle_fn, &o, copy, &ns, &e), TB_EUSAGE, "keep 0 is a usage error");
    CHECK_INT(tb_retain_copy_plan(NULL, 0, 1, 1, NULL, oracle_fn, &o, copy, &ns, &e), 0, "nothing on either side");
    CHECK(ns == (size_t)-1, "no newest source checkpoint");
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
    copy_plan_tests();
    /* sidecars: step-N.json beside step-N.pt is part of that checkpoint */
    {
        struct tb_retain_item sc[] = {{"step-100.pt", 0}, {"step-100.json", 0}, {"step-200.pt", 0},
                                      {"step-200.json", 0}, {"step-300.pt", 0}, {"step-300.json", 0},
                                      {"step-400.json", 0}, {"notes.txt", 0}};
        size_t scn = sizeof sc / sizeof *sc, sd[8], snd = 0;
        tb_err se = {0};
        CHECK_INT(tb_retain_plan(sc, scn, 2, 0, NULL, NULL, sd, &snd, &se), 0, "keep 2 of file checkpoints with sidecars");
        CHECK(snd == 2 && sd[0] == 0 && sd[1] == 1, "step-100.pt is deleted with its sidecar, nothing else (%zu: %zu %zu)",
              snd, snd > 0 ? sd[0] : 99, snd > 1 ? sd[1] : 99);
        CHECK_INT(tb_retain_plan(sc, scn, 1, 0, NULL, NULL, sd, &snd, &se), 0, "keep 1");
        CHECK(snd == 4 && sd[0] == 0 && sd[1] == 1 && sd[2] == 2 && sd[3] == 3,
              "a sidecar alone (step-400.json) is no checkpoint: it neither counts nor goes (%zu)", snd);
    }
    return tap_done();
}
