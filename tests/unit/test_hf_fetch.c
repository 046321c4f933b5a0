/* test_hf_fetch: lib/hf_fetch's pure parts: where a listing is cached (one entry per endpoint,
 * type, repository, revision and directory), which revisions are commit ids, the TTL's value. */
#include "hf_fetch.h"
#include "tap.h"
#include <stdlib.h>
#include <string.h>

static char *path_of(const char *endpoint, const char *uri)
{
    struct tb_hf_loc l;
    tb_err e = {0};
    if (tb_hf_loc_parse(uri, &l, &e)) return NULL;
    char *p = tb_hf_cache_path("/c", endpoint, &l);
    tb_hf_loc_free(&l);
    return p;
}

static void test_cache_path(void)
{
    const char *ep = "https://huggingface.co";
    char *a = path_of(ep, "hf://datasets/org/ds/data/train-*.jsonl.gz");
    char *b = path_of(ep, "hf://datasets/org/ds/data/x.jsonl");
    char *c = path_of(ep, "hf://datasets/org/ds@main/data/");
    CHECK(a && strncmp(a, "/c/", 3) == 0 && strlen(a) == 3 + 64 + 5 && strcmp(a + 67, ".json") == 0, "cache: DIR/<sha256>.json (%s)", a);
    CHECK(a && b && c && strcmp(a, b) == 0 && strcmp(a, c) == 0, "cache: one entry for every pattern over one directory");
    const char *other[] = {"hf://datasets/org/ds/data/sub/*", "hf://datasets/org/ds@dev/data/*", "hf://datasets/org/ds2/data/*",
                           "hf://models/org/ds/data/*", "hf://datasets/org/ds/*"};
    int differ = 1;
    for (size_t i = 0; i < sizeof other / sizeof *other; i++) {
        char *o = path_of(ep, other[i]);
        differ &= o && strcmp(o, a) != 0;
        free(o);
    }
    CHECK(differ, "cache: another directory, revision, repository, type: another entry");
    char *d = path_of("http://127.0.0.1:9", "hf://datasets/org/ds/data/*");
    CHECK(d && strcmp(d, a) != 0, "cache: another endpoint: another entry");
    /* the fields are separated: "org/ds" + "a" is not "org/d" + "sa" */
    char *x = path_of(ep, "hf://datasets/o/ab@c/d/*"), *y = path_of(ep, "hf://datasets/o/a@bc/d/*");
    CHECK(x && y && strcmp(x, y) != 0, "cache: fields cannot run into each other");
    free(a); free(b); free(c); free(d); free(x); free(y);
}

static void test_commit(void)
{
    CHECK(tb_hf_rev_is_commit("0123456789abcdef0123456789abcdef01234567"), "commit: 40 hex digits");
    CHECK(tb_hf_rev_is_commit("0123456789ABCDEF0123456789ABCDEF01234567"), "commit: upper case too");
    CHECK(!tb_hf_rev_is_commit("main"), "commit: a branch is not");
    CHECK(!tb_hf_rev_is_commit("0123456789abcdef0123456789abcdef0123456"), "commit: 39 digits are not");
    CHECK(!tb_hf_rev_is_commit("0123456789abcdef0123456789abcdef012345678"), "commit: 41 digits are not");
    CHECK(!tb_hf_rev_is_commit("0123456789abcdef0123456789abcdef0123456g"), "commit: a non-hex digit");
    CHECK(!tb_hf_rev_is_commit(""), "commit: empty");
}

static void test_ttl(void)
{
    CHECK_INT(tb_hf_listing_ttl(NULL), TB_HF_LISTING_TTL_DEFAULT, "ttl: unset: 10 minutes");
    CHECK_INT(tb_hf_listing_ttl(""), TB_HF_LISTING_TTL_DEFAULT, "ttl: empty: the default");
    CHECK_INT(tb_hf_listing_ttl("0"), 0, "ttl: 0 disables");
    CHECK_INT(tb_hf_listing_ttl("3600"), 3600, "ttl: seconds");
    CHECK_INT(tb_hf_listing_ttl("-1"), -1, "ttl: negative refused");
    CHECK_INT(tb_hf_listing_ttl("10m"), -1, "ttl: a unit refused");
    CHECK_INT(tb_hf_listing_ttl("99999999999999999999"), -1, "ttl: overlong refused");
}

static void test_dir_default(void)
{
    setenv("XDG_CACHE_HOME", "/x/cache", 1);
    setenv("HOME", "/home/u", 1);
    char *d = tb_hf_cache_dir_default();
    CHECK_STR(d, "/x/cache/trainbox/hf", "dir: XDG_CACHE_HOME first");
    free(d);
    unsetenv("XDG_CACHE_HOME");
    d = tb_hf_cache_dir_default();
    CHECK_STR(d, "/home/u/.cache/trainbox/hf", "dir: else ~/.cache");
    free(d);
    unsetenv("HOME");
    CHECK(tb_hf_cache_dir_default() == NULL, "dir: neither: no cache");
}

int main(void)
{
    test_cache_path();
    test_commit();
    test_ttl();
    test_dir_default();
    return tap_done();
}
