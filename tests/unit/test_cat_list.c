/* lib/cat_list and lib/cat_state: kinds by name, roots shared, rank partitions disjoint and complete
 * (shuffled alike for every rank), state documents round-tripped and bad ones refused. */
#include "cat_list.h"
#include "cat_state.h"
#include "tap.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fill(struct tb_cat_list *l, size_t n)
{
    tb_cat_list_init(l);
    char name[32];
    for (size_t i = 0; i < n; i++) {
        snprintf(name, sizeof name, "f%03zu.jsonl", i);
        tb_cat_list_add(l, name, -1, name, (int64_t)i, NULL, TB_CAT_NDJSON);
    }
}

static int idx_of(const struct tb_cat_input *in) { return atoi(in->name + 1); }

int main(void)
{
    static const struct { const char *n; int k; } kinds[] = {
        {"a.jsonl", TB_CAT_NDJSON}, {"a.ndjson", TB_CAT_NDJSON}, {"a.jsonl.gz", TB_CAT_NDJSON_Z},
        {"a.jsonl.zst", TB_CAT_NDJSON_Z}, {"a.ndjson.gz", TB_CAT_NDJSON_Z}, {"x.tar", TB_CAT_TAR},
        {"x.tar.gz", TB_CAT_TAR}, {"x.tgz", TB_CAT_TAR}, {"x.tar.zst", TB_CAT_TAR}, {"x.tar.zstd", TB_CAT_TAR},
        {"d/train-0.parquet", TB_CAT_PARQUET}, {"notes.txt", -1}, {"a.json", -1}, {"tar", -1},
        {"https://h/x.tar?sig=a.jsonl", TB_CAT_TAR}, {"http://h/a.jsonl.gz#frag", TB_CAT_NDJSON_Z},
        {"s3://b/k.jsonl?x", -1},
    };
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
        CHECK_INT(tb_cat_kind_of(kinds[i].n), kinds[i].k, "kind of %s", kinds[i].n);

    struct tb_cat_list l;
    tb_cat_list_init(&l);
    int a = tb_cat_list_root(&l, TB_CAT_ROOT_STORE, "s3://b/");
    int b = tb_cat_list_root(&l, TB_CAT_ROOT_HTTP, "https://h/");
    int c = tb_cat_list_root(&l, TB_CAT_ROOT_STORE, "s3://b/");
    int d = tb_cat_list_root(&l, TB_CAT_ROOT_HTTP, "s3://b/");
    CHECK(a == 0 && b == 1 && c == 0 && d == 2 && l.nroots == 3, "one root per type and URI (%d %d %d %d)", a, b, c, d);
    size_t k = tb_cat_list_add(&l, "s3://b/x.tar", a, "x.tar", 10, "\"e\"", TB_CAT_TAR);
    CHECK(k == 0 && l.v[0].size == 10 && strcmp(l.v[0].key, "x.tar") == 0 && l.v[0].root == 0, "an input is added");
    tb_cat_list_free(&l);

    /* partitions: disjoint, complete, i mod N in list order; shuffled alike on every rank */
    for (int shuffle = 0; shuffle < 2; shuffle++) {
        for (uint32_t world = 1; world <= 9; world++) {
            int seen[50] = {0}, ok = 1, order_ok = 1;
            for (uint32_t r = 0; r < world; r++) {
                fill(&l, 50);
                tb_cat_list_partition(&l, r, world, shuffle, 7, 3);
                for (size_t i = 0; i < l.n; i++) {
                    seen[idx_of(&l.v[i])]++;
                    if (!shuffle && (uint32_t)idx_of(&l.v[i]) % world != r) ok = 0;
                    if (!shuffle && i && idx_of(&l.v[i]) < idx_of(&l.v[i - 1])) order_ok = 0;
                }
                tb_cat_list_free(&l);
            }
            int all_once = 1;
            for (int i = 0; i < 50; i++) all_once &= seen[i] == 1;
            CHECK(all_once && ok && order_ok, "world %u shuffle %d: every file on exactly one rank, i mod N, in order",
                  world, shuffle);
        }
    }
    /* the shuffle depends on seed and epoch, and is a permutation */
    struct tb_cat_list x, y;
    fill(&x, 30);
    fill(&y, 30);
    tb_cat_list_partition(&x, 0, 1, 1, 7, 1);
    tb_cat_list_partition(&y, 0, 1, 1, 7, 2);
    int same = 1, moved = 0;
    for (size_t i = 0; i < 30; i++) {
        same &= idx_of(&x.v[i]) == idx_of(&y.v[i]);
        moved |= idx_of(&x.v[i]) != (int)i;
    }
    CHECK(!same && moved && x.n == 30, "another epoch, another order");
    tb_cat_list_free(&x);
    tb_cat_list_free(&y);

    /* state: round trip, identity, refusals */
    fill(&l, 3);
    struct tb_cat_state st = {.inputs = 3, .input = 1, .offset = 4096, .samples = 17, .seen = 40, .emitted = 30};
    tb_cat_state_list_id(&l, st.list);
    char id2[65];
    tb_cat_list_partition(&l, 0, 1, 1, 1, 1);
    tb_cat_state_list_id(&l, id2);
    CHECK(strlen(st.list) == 64 && strcmp(st.list, id2) != 0, "the list id changes with the order");
    tb_cat_list_free(&l);
    char *doc = tb_cat_state_format(&st);
    struct tb_cat_state back;
    tb_err e = {0};
    int rc = tb_cat_state_parse(doc, strlen(doc), &back, &e);
    CHECK(rc == 0 && memcmp(&back, &st, sizeof st) == 0, "a state round-trips (%s)", e.msg);
    free(doc);
    static const char *const bad[] = {
        "", "[]", "{\"version\":2,\"command\":\"cat\"}", "{\"version\":1,\"command\":\"shard\"}",
        "{\"version\":1,\"command\":\"cat\",\"list\":\"ab\",\"inputs\":1,\"input\":0,\"offset\":0,\"samples\":0,\"seen\":0,\"emitted\":0}",
        "{\"version\":1,\"command\":\"cat\",\"list\":\"" "0000000000000000000000000000000000000000000000000000000000000000"
        "\",\"inputs\":1,\"input\":2,\"offset\":0,\"samples\":0,\"seen\":0,\"emitted\":0}",
        "{\"version\":1,\"command\":\"cat\",\"list\":\"" "0000000000000000000000000000000000000000000000000000000000000000"
        "\",\"inputs\":1,\"input\":0,\"offset\":-1,\"samples\":0,\"seen\":0,\"emitted\":0}",
        "{\"version\":1,\"command\":\"cat\",\"list\":\"" "0000000000000000000000000000000000000000000000000000000000000000"
        "\",\"inputs\":1,\"input\":0,\"offset\":0,\"samples\":0.5,\"seen\":0,\"emitted\":0}",
        "{\"version\":1,\"command\":\"cat\",\"list\":\"" "0000000000000000000000000000000000000000000000000000000000000000"
        "\",\"inputs\":1,\"input\":0,\"offset\":0,\"samples\":0,\"seen\":1,\"emitted\":2}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        memset(&e, 0, sizeof e);
        rc = tb_cat_state_parse(bad[i], strlen(bad[i]), &back, &e);
        CHECK(rc == TB_EDATA && e.msg[0], "bad state %zu refused (%s)", i, e.msg);
    }
    return tap_done();
}
