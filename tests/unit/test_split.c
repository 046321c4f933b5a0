/* Property tests for lib/split over many random inputs and sizes: partitions across ranks are disjoint
 * and complete, ratio splits stay within statistical tolerance, results are deterministic, and the
 * shuffle is a per-epoch permutation. */
#include "hash.h"
#include "split.h"
#include "tap.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static void ratio_cases(void)
{
    struct tb_ratio r;
    tb_err e = {0};
    CHECK(tb_ratio_parse("train=98,val=1,test=1", &r, &e) == 0 && r.n == 3 && r.total == 100000000ull, "parse 98/1/1");
    CHECK_STR(r.names[2], "test", "third name");
    CHECK(tb_ratio_parse("a=0.5,b=0.25,c=.25", &r, &e) == 0 && r.w[0] == 500000 && r.w[2] == 250000, "decimal weights exact");
    CHECK(tb_ratio_parse("a=1,b=0", &r, &e) == 0 && r.w[1] == 0, "zero weight allowed");
    const char *bad[] = {"", "train", "train=", "=1", "a=1,a=2", "a=0,b=0", "a=x", "a=1,", "a/b=1", "a=-1", "a=1.1234567", "..=1", NULL};
    for (int i = 0; bad[i]; i++) CHECK(tb_ratio_parse(bad[i], &r, &e) == TB_EUSAGE, "ratio '%s' refused: %s", bad[i], e.msg);
}

static void ratio_tolerance(void)
{
    struct tb_ratio r;
    tb_err e = {0};
    tb_ratio_parse("train=98,val=1,test=1", &r, &e);
    const int n = 200000;
    long cnt[3] = {0};
    char key[32];
    for (int i = 0; i < n; i++) {
        int k = snprintf(key, sizeof key, "sample%08d", i);
        cnt[tb_ratio_pick(&r, tb_split_hash(7, TB_HASH_SPLIT, key, (size_t)k))]++;
    }
    double p[3] = {0.98, 0.01, 0.01};
    int ok = 1;
    for (int s = 0; s < 3; s++) {
        double mean = n * p[s], sd = sqrt(n * p[s] * (1 - p[s]));
        if (fabs(cnt[s] - mean) > 5 * sd) ok = 0;
    }
    CHECK(ok, "98/1/1 over %d keys within 5 sigma: %ld %ld %ld", n, cnt[0], cnt[1], cnt[2]);
    /* a key's split does not depend on anything but the key and seed */
    int same = 1;
    for (int i = 0; i < 1000; i++) {
        int k = snprintf(key, sizeof key, "k%d", i);
        uint64_t h = tb_split_hash(7, TB_HASH_SPLIT, key, (size_t)k);
        if (tb_ratio_pick(&r, h) != tb_ratio_pick(&r, tb_split_hash(7, TB_HASH_SPLIT, key, (size_t)k))) same = 0;
    }
    CHECK(same, "same key, same split");
    CHECK(tb_split_hash(1, TB_HASH_SPLIT, "x", 1) != tb_split_hash(2, TB_HASH_SPLIT, "x", 1), "seed changes the hash");
    CHECK(tb_split_hash(1, TB_HASH_SPLIT, "x", 1) != tb_split_hash(1, TB_HASH_RANK, "x", 1), "split and rank hashes differ");
    /* pinned value: the assignment must never change across versions or machines */
    CHECK(tb_split_hash(0, TB_HASH_SPLIT, "sample00000000", 14) == 0xe3223f0b47d7a448ULL, "split hash pinned");
}

static void rank_partitions(void)
{
    struct tb_rng rng;
    tb_rng_seed(&rng, 12345);
    int disjoint_complete = 1, balanced = 1, det = 1;
    for (int trial = 0; trial < 200; trial++) {
        size_t n = (size_t)tb_rng_below(&rng, 3000);
        uint32_t world = 1 + (uint32_t)tb_rng_below(&rng, 17);
        uint64_t *bytes = malloc(sizeof *bytes * (n + 1));
        uint32_t *owner = malloc(sizeof *owner * (n + 1));
        uint32_t *owner2 = malloc(sizeof *owner2 * (n + 1));
        uint64_t seed = tb_rng_next(&rng);
        for (size_t i = 0; i < n; i++) bytes[i] = tb_rng_below(&rng, 1u << 20);
        for (int mode = 0; mode < 3; mode++) {
            /* each rank picks its items independently, as separate processes would */
            int *seen = calloc(n + 1, sizeof *seen);
            for (uint32_t r = 0; r < world; r++) {
                if (mode == 2) tb_balance(bytes, n, world, owner);
                for (size_t i = 0; i < n; i++) {
                    char key[32];
                    int k = snprintf(key, sizeof key, "item-%zu", i);
                    uint32_t o = mode == 0 ? (uint32_t)(i % world)
                               : mode == 1 ? tb_hash_below(tb_split_hash(seed, TB_HASH_RANK, key, (size_t)k), world)
                                           : owner[i];
                    if (o == r) seen[i]++;
                }
            }
            for (size_t i = 0; i < n; i++) if (seen[i] != 1) disjoint_complete = 0;
            free(seen);
        }
        /* greedy balance: max - min load is at most the largest item */
        tb_balance(bytes, n, world, owner);
        tb_balance(bytes, n, world, owner2);
        uint64_t *load = calloc(world, sizeof *load), maxitem = 0;
        for (size_t i = 0; i < n; i++) { load[owner[i]] += bytes[i]; if (bytes[i] > maxitem) maxitem = bytes[i]; if (owner[i] != owner2[i]) det = 0; }
        uint64_t lo = UINT64_MAX, hi = 0;
        for (uint32_t r = 0; r < world; r++) { if (load[r] < lo) lo = load[r]; if (load[r] > hi) hi = load[r]; }
        if (n >= world && hi - lo > maxitem) balanced = 0;
        free(load);
        free(bytes);
        free(owner);
        free(owner2);
    }
    CHECK(disjoint_complete, "index, hash and balance partitions are disjoint and complete (200 random inputs)");
    CHECK(balanced, "balance: rank loads differ by at most the largest item");
    CHECK(det, "balance is deterministic");
}

/* The linear-scan LPT that tb_balance's heap must reproduce exactly (its choices are pinned: the
 * same input gives every rank the same share as before). */
struct ref_item { uint64_t b; size_t i; };
static int ref_cmp(const void *a, const void *b)
{
    const struct ref_item *x = a, *y = b;
    if (x->b != y->b) return x->b > y->b ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}
static void ref_balance(const uint64_t *bytes, size_t n, uint32_t world, uint32_t *out)
{
    struct ref_item *it = malloc(sizeof *it * (n + 1));
    uint64_t *load = calloc(world, sizeof *load);
    for (size_t i = 0; i < n; i++) it[i] = (struct ref_item){bytes[i], i};
    qsort(it, n, sizeof *it, ref_cmp);
    for (size_t i = 0; i < n; i++) {
        uint32_t best = 0;
        for (uint32_t r = 1; r < world; r++) if (load[r] < load[best]) best = r;
        out[it[i].i] = best;
        load[best] += it[i].b;
    }
    free(it);
    free(load);
}

static void balance_skewed(void)
{
    struct tb_rng rng;
    tb_rng_seed(&rng, 99);
    int same = 1;
    for (int trial = 0; trial < 100; trial++) {
        size_t n = (size_t)tb_rng_below(&rng, 2000);
        uint32_t world = 1 + (uint32_t)tb_rng_below(&rng, 40);
        uint64_t *bytes = malloc(sizeof *bytes * (n + 1));
        uint32_t *a = malloc(sizeof *a * (n + 1)), *b = malloc(sizeof *b * (n + 1));
        /* few distinct sizes: many ties in sizes and in loads */
        for (size_t i = 0; i < n; i++) bytes[i] = trial % 2 ? tb_rng_below(&rng, 4) : tb_rng_below(&rng, 1u << 20);
        tb_balance(bytes, n, world, a);
        ref_balance(bytes, n, world, b);
        for (size_t i = 0; i < n; i++) if (a[i] != b[i]) same = 0;
        free(bytes);
        free(a);
        free(b);
    }
    CHECK(same, "the heap picks exactly the ranks the linear scan picks (100 inputs, with ties)");
    /* the shape: a few samples 100x larger than the rest, 16 ranks */
    size_t n = 20000;
    uint64_t *bytes = malloc(sizeof *bytes * n);
    uint32_t *o = malloc(sizeof *o * n);
    for (size_t i = 0; i < n; i++) bytes[i] = 500 + tb_rng_below(&rng, 1000) + (i % 500 == 3 ? 100000 : 0);
    double worst = 0;
    for (uint32_t world = 2; world <= 64; world *= 2) {
        tb_balance(bytes, n, world, o);
        uint64_t *load = calloc(world, sizeof *load), lo = UINT64_MAX, hi = 0;
        for (size_t i = 0; i < n; i++) load[o[i]] += bytes[i];
        for (uint32_t r = 0; r < world; r++) { if (load[r] < lo) lo = load[r]; if (load[r] > hi) hi = load[r]; }
        double spread = (double)(hi - lo) / (double)hi;
        if (spread > worst) worst = spread;
        free(load);
    }
    CHECK(worst < 0.05, "skewed input (40 of 20000 items 100x larger), 2 to 64 ranks: spread %.3f%% under 5%%", worst * 100);
    free(bytes);
    free(o);
}

static void shuffles(void)
{
    int perm_ok = 1, det = 1, differ = 0;
    for (size_t n = 0; n < 500; n += 37) {
        uint32_t *a = malloc(sizeof *a * (n + 1)), *b = malloc(sizeof *b * (n + 1)), *c = malloc(sizeof *c * (n + 1));
        for (size_t i = 0; i < n; i++) a[i] = b[i] = c[i] = (uint32_t)i;
        tb_shuffle(a, n, 9, 0);
        tb_shuffle(b, n, 9, 0);
        tb_shuffle(c, n, 9, 1);
        int *seen = calloc(n + 1, sizeof *seen);
        for (size_t i = 0; i < n; i++) { seen[a[i]]++; if (a[i] != b[i]) det = 0; if (a[i] != c[i]) differ = 1; }
        for (size_t i = 0; i < n; i++) if (seen[i] != 1) perm_ok = 0;
        free(a); free(b); free(c); free(seen);
    }
    CHECK(perm_ok, "shuffle is a permutation");
    CHECK(det, "shuffle is deterministic for a seed and epoch");
    CHECK(differ, "shuffle differs between epochs");
    /* position-uniformity: item 0 lands in each of 10 slots about equally over many seeds */
    int hist[10] = {0};
    for (uint64_t s = 0; s < 20000; s++) {
        uint32_t a[10];
        for (int i = 0; i < 10; i++) a[i] = (uint32_t)i;
        tb_shuffle(a, 10, s, 3);
        for (int i = 0; i < 10; i++) if (a[i] == 0) hist[i]++;
    }
    int uni = 1;
    for (int i = 0; i < 10; i++) if (hist[i] < 1700 || hist[i] > 2300) uni = 0;
    CHECK(uni, "shuffle positions uniform within 15%%");
}

int main(void)
{
    ratio_cases();
    ratio_tolerance();
    rank_partitions();
    balance_skewed();
    shuffles();
    return tap_done();
}
