/* test_hf: lib/hf without the network: locations and their globs, the Hub's URLs, listing pages as
 * the Hub writes them, Link and RateLimit headers, and where the token may go. */
#include "hf.h"
#include "tap.h"
#include <stdlib.h>
#include <string.h>

static void test_env(void)
{
    struct tb_hf_env env;
    tb_err e = {0};
    CHECK(tb_hf_env_from(&env, NULL, NULL, NULL, NULL, &e) == 0, "env: nothing set");
    CHECK_STR(env.endpoint, "https://huggingface.co", "env: the default endpoint");
    CHECK(env.token == NULL && env.offline == 0, "env: no token, online");
    tb_hf_env_from(&env, "http://127.0.0.1:8080//", "", "old", "TRUE", &e);
    CHECK_STR(env.endpoint, "http://127.0.0.1:8080", "env: trailing slashes trimmed");
    CHECK_STR(env.token, "old", "env: an empty HF_TOKEN falls back to HUGGING_FACE_HUB_TOKEN");
    CHECK(env.offline == 1, "env: HF_HUB_OFFLINE=TRUE");
    tb_hf_env_from(&env, "", "hf_abc", "old", "0", &e);
    CHECK_STR(env.endpoint, "https://huggingface.co", "env: an empty HF_ENDPOINT is the default");
    CHECK_STR(env.token, "hf_abc", "env: HF_TOKEN first");
    CHECK(env.offline == 0, "env: HF_HUB_OFFLINE=0 is online");
    const char *on[] = {"1", "yes", "On", "true"}, *off[] = {"", "2", "no", "off", "enabled"};
    int ok = 1;
    for (size_t i = 0; i < 4; i++) { tb_hf_env_from(&env, NULL, NULL, NULL, on[i], &e); ok &= env.offline == 1; }
    for (size_t i = 0; i < 5; i++) { tb_hf_env_from(&env, NULL, NULL, NULL, off[i], &e); ok &= env.offline == 0; }
    CHECK(ok, "env: offline truthy values as huggingface_hub's (1, yes, on, true in any case)");
    CHECK(tb_hf_env_from(&env, "huggingface.co", NULL, NULL, NULL, &e) == TB_EUSAGE && strstr(e.msg, "HF_ENDPOINT"),
          "env: an endpoint without a scheme is refused");
    CHECK(tb_hf_env_from(&env, "https://", NULL, NULL, NULL, &e) == TB_EUSAGE, "env: an endpoint without a host is refused");
    char big[1100];
    memset(big, 'a', sizeof big - 1);
    memcpy(big, "https://", 8);
    big[sizeof big - 1] = 0;
    CHECK(tb_hf_env_from(&env, big, NULL, NULL, NULL, &e) == TB_EUSAGE, "env: an overlong endpoint is refused");
}

static void test_pct(void)
{
    char *s = tb_hf_pct_encode("refs/convert/parquet", 0);
    CHECK_STR(s, "refs%2Fconvert%2Fparquet", "pct: '/' encoded when asked");
    free(s);
    s = tb_hf_pct_encode("data/a b+c%d~_.-é.jsonl", 1);
    CHECK_STR(s, "data/a%20b%2Bc%25d~_.-%C3%A9.jsonl", "pct: '/' kept, space, '+', %s and UTF-8 bytes encoded", "'%'");
    free(s);
    tb_err e = {0};
    char *d = NULL;
    CHECK(tb_hf_pct_decode("refs%2fconvert%2Fparquet", &d, &e) == 0, "pct: decode");
    CHECK_STR(d, "refs/convert/parquet", "pct: %s both decode", "%2f and %2F");
    free(d);
    CHECK(tb_hf_pct_decode("a%2", &d, &e) == TB_EUSAGE, "pct: a truncated escape");
    CHECK(tb_hf_pct_decode("a%zz", &d, &e) == TB_EUSAGE, "pct: a non-hex escape");
    CHECK(tb_hf_pct_decode("a%00b", &d, &e) == TB_EUSAGE, "pct: an encoded NUL");
    CHECK(tb_hf_pct_decode("v1.0+x", &d, &e) == 0 && strcmp(d, "v1.0+x") == 0, "pct: '+' stays");
    free(d);
}

static int wants(const struct tb_hf_loc *l, const char *p) { return tb_hf_loc_wants(l, p, strlen(p)); }

static void test_loc(void)
{
    struct tb_hf_loc l;
    tb_err e = {0};
    CHECK(tb_hf_loc_parse("hf://datasets/HuggingFaceFW/fineweb@v1.2/data/CC-MAIN-2024-10/*.jsonl.gz", &l, &e) == 0, "loc: parses");
    CHECK_STR(l.type, "datasets", "loc: type");
    CHECK_STR(l.repo, "HuggingFaceFW/fineweb", "loc: repo");
    CHECK_STR(l.rev, "v1.2", "loc: revision");
    CHECK_STR(l.dir, "data/CC-MAIN-2024-10", "loc: the fixed directory before the glob");
    CHECK(l.has_glob, "loc: has a glob");
    CHECK(wants(&l, "data/CC-MAIN-2024-10/000_00000.jsonl.gz"), "loc: a file the glob takes");
    CHECK(!wants(&l, "data/CC-MAIN-2024-10/sub/000.jsonl.gz"), "loc: '*' does not cross '/'");
    CHECK(!wants(&l, "x/data/CC-MAIN-2024-10/000.jsonl.gz"), "loc: the glob is anchored at the root");
    CHECK(!wants(&l, "data/CC-MAIN-2024-10/000.parquet"), "loc: another suffix");
    tb_hf_loc_free(&l);

    CHECK(tb_hf_loc_parse("hf://datasets/org/name/**/*.jsonl", &l, &e) == 0, "loc: '**' first");
    CHECK_STR(l.rev, "main", "loc: no revision is main");
    CHECK_STR(l.dir, "", "loc: a glob in the first component lists the root");
    CHECK(wants(&l, "a.jsonl") && wants(&l, "x/y/a.jsonl") && !wants(&l, "a.jsonl.gz"), "loc: '**/' takes zero or more directories");
    tb_hf_loc_free(&l);

    CHECK(tb_hf_loc_parse("hf://datasets/org/name/data/train-0000[0-4]-of-?????.jsonl", &l, &e) == 0, "loc: class and '?'");
    CHECK_STR(l.dir, "data", "loc: dir before a class");
    CHECK(wants(&l, "data/train-00003-of-00010.jsonl") && !wants(&l, "data/train-00005-of-00010.jsonl"), "loc: class matches");
    tb_hf_loc_free(&l);

    CHECK(tb_hf_loc_parse("hf://datasets/org/name@refs%2Fconvert%2Fparquet/default/train/", &l, &e) == 0, "loc: encoded revision");
    CHECK_STR(l.rev, "refs/convert/parquet", "loc: the revision is decoded");
    CHECK(!l.has_glob, "loc: a directory without glob");
    CHECK_STR(l.dir, "default/train", "loc: a path ending in '/' is listed itself");
    CHECK(wants(&l, "default/train/0000.parquet") && wants(&l, "default/train/x/y.parquet"), "loc: every file under it");
    CHECK(!wants(&l, "default/train2/0000.parquet") && !wants(&l, "default/trai"), "loc: not a sibling with the same prefix");
    tb_hf_loc_free(&l);

    CHECK(tb_hf_loc_parse("hf://datasets/org/name/data/train.jsonl", &l, &e) == 0, "loc: one file");
    CHECK_STR(l.dir, "data", "loc: a file's parent is listed");
    CHECK(wants(&l, "data/train.jsonl") && !wants(&l, "data/train.jsonl.gz") && !wants(&l, "data/train.json"), "loc: only that file");
    CHECK(wants(&l, "data/train.jsonl/part-0.jsonl"), "loc: or the files under it if it is a directory");
    tb_hf_loc_free(&l);

    CHECK(tb_hf_loc_parse("hf://datasets/org/name", &l, &e) == 0, "loc: the whole repo");
    CHECK_STR(l.dir, "", "loc: root");
    CHECK(wants(&l, "README.md") && wants(&l, "a/b/c"), "loc: everything");
    tb_hf_loc_free(&l);

    CHECK(tb_hf_loc_parse("hf://datasets/org/name/train.jsonl", &l, &e) == 0, "loc: a file at the root");
    CHECK_STR(l.dir, "", "loc: its parent is the root");
    tb_hf_loc_free(&l);

    CHECK(tb_hf_loc_parse("hf://datasets/org/name/data/{a,b}.jsonl", &l, &e) == 0, "loc: braces without a glob are a name");
    CHECK(wants(&l, "data/{a,b}.jsonl"), "loc: matched literally");
    tb_hf_loc_free(&l);
    CHECK(tb_hf_loc_parse("hf://datasets/org/name/data/{a,b}*.jsonl", &l, &e) == TB_EUSAGE && strstr(e.msg, "hf path"),
          "loc: braces in a glob are refused (pathglob's rule)");
    CHECK(tb_hf_loc_parse("hf://datasets/org/name@bad%zz/x", &l, &e) == TB_EUSAGE, "loc: a bad escape in the revision");
    CHECK(tb_hf_loc_parse("s3://b/k", &l, &e) == TB_EUSAGE, "loc: not hf");
    CHECK(tb_hf_loc_parse("hf://datasets/org", &l, &e) == TB_EUSAGE, "loc: lib/uri's refusal");
}

static void test_urls(void)
{
    struct tb_hf_loc l;
    tb_err e = {0};
    tb_hf_loc_parse("hf://datasets/org/name@refs%2Fconvert%2Fparquet/default/train sets/*.parquet", &l, &e);
    char *u = tb_hf_tree_url("https://huggingface.co", &l);
    CHECK_STR(u, "https://huggingface.co/api/datasets/org/name/tree/refs%2Fconvert%2Fparquet/default%2Ftrain%20sets?recursive=true",
              "url: tree with an encoded revision and directory");
    free(u);
    u = tb_hf_resolve_url("http://127.0.0.1:8080", &l, "default/train sets/0000.parquet");
    CHECK_STR(u, "http://127.0.0.1:8080/datasets/org/name/resolve/refs%2Fconvert%2Fparquet/default/train%20sets/0000.parquet",
              "url: resolve keeps the path's '/'");
    free(u);
    tb_hf_loc_free(&l);
    tb_hf_loc_parse("hf://datasets/org/name/**", &l, &e);
    u = tb_hf_tree_url("https://hub.example", &l);
    CHECK_STR(u, "https://hub.example/api/datasets/org/name/tree/main?recursive=true", "url: tree of the root");
    free(u);
    tb_hf_loc_free(&l);
    tb_hf_loc_parse("hf://models/openai-community/gpt2@main/config.json", &l, &e);
    u = tb_hf_resolve_url("https://huggingface.co", &l, "config.json");
    CHECK_STR(u, "https://huggingface.co/openai-community/gpt2/resolve/main/config.json", "url: models at the site's root");
    free(u);
    u = tb_hf_tree_url("https://huggingface.co", &l);
    CHECK_STR(u, "https://huggingface.co/api/models/openai-community/gpt2/tree/main?recursive=true", "url: models' tree");
    free(u);
    tb_hf_loc_free(&l);
    tb_hf_loc_parse("hf://spaces/org/app/app.py", &l, &e);
    u = tb_hf_resolve_url("https://huggingface.co", &l, "app.py");
    CHECK_STR(u, "https://huggingface.co/spaces/org/app/resolve/main/app.py", "url: spaces");
    free(u);
    tb_hf_loc_free(&l);
}

/* A page as the Hub writes it: a directory first, LFS and regular files, a nested path. */
static const char PAGE1[] =
    "[{\"type\":\"directory\",\"oid\":\"7f4eb4072e5f034c19b6232f29c040431a8561be\",\"size\":0,\"path\":\"data/sub\"},"
    "{\"type\":\"file\",\"oid\":\"c2a8c3e1b8f1b2c9ee6a8d7c0b1e2f3a4b5c6d7e\",\"size\":2097152,"
    "\"lfs\":{\"oid\":\"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\",\"size\":2097152,\"pointerSize\":134},"
    "\"path\":\"data/train-00001.jsonl.gz\"},"
    "{\"type\":\"file\",\"oid\":\"4286f428e3b19fe84de503916ce0e7dc8deefea1\",\"size\":812,\"path\":\"data/README.md\"},"
    "{\"type\":\"file\",\"oid\":\"aa\",\"size\":10,\"lfs\":{\"oid\":\"bb\",\"size\":1234567890123,\"pointerSize\":136},"
    "\"path\":\"data/train-00000.jsonl.gz\"}]";
static const char PAGE2[] =
    "[{\"type\":\"file\",\"oid\":\"dd\",\"size\":5,\"path\":\"data/sub/train-x.jsonl.gz\"},"
    "{\"type\":\"file\",\"oid\":\"aa\",\"size\":10,\"lfs\":{\"oid\":\"bb\",\"size\":1234567890123,\"pointerSize\":136},"
    "\"path\":\"data/train-00000.jsonl.gz\"}]";

static void test_tree(void)
{
    struct tb_hf_loc l;
    tb_err e = {0};
    tb_hf_loc_parse("hf://datasets/org/name/data/train-*.jsonl.gz", &l, &e);
    struct tb_hf_list ls = {0};
    CHECK(tb_hf_tree_parse(PAGE1, strlen(PAGE1), &l, &ls, &e) == 0, "tree: page 1 parses");
    CHECK(tb_hf_tree_parse(PAGE2, strlen(PAGE2), &l, &ls, &e) == 0, "tree: page 2 parses");
    CHECK_INT(ls.entries, 6, "tree: every entry counted");
    CHECK_INT(ls.n, 3, "tree: the directory, the README and the nested file are left out");
    tb_hf_list_sort(&ls);
    CHECK_INT(ls.n, 2, "tree: the path listed twice is kept once");
    CHECK_STR(ls.f[0].path, "data/train-00000.jsonl.gz", "tree: sorted");
    CHECK_INT(ls.f[0].size, 1234567890123ull, "tree: an LFS file's size is lfs.size");
    CHECK_STR(ls.f[0].etag, "bb", "tree: an LFS file's etag is its sha256");
    CHECK_STR(ls.f[1].path, "data/train-00001.jsonl.gz", "tree: second");
    CHECK_STR(ls.f[1].oid, "c2a8c3e1b8f1b2c9ee6a8d7c0b1e2f3a4b5c6d7e", "tree: oid");
    CHECK_STR(ls.f[1].lfs_oid, "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "tree: lfs oid");
    tb_hf_list_free(&ls);
    tb_hf_loc_free(&l);

    tb_hf_loc_parse("hf://datasets/org/name/data/README.md", &l, &e);
    tb_hf_tree_parse(PAGE1, strlen(PAGE1), &l, &ls, &e);
    CHECK(ls.n == 1 && ls.f[0].size == 812 && ls.f[0].lfs_oid == NULL, "tree: a regular file");
    CHECK_STR(ls.f[0].etag, "4286f428e3b19fe84de503916ce0e7dc8deefea1", "tree: a regular file's etag is its oid");
    tb_hf_list_free(&ls);
    CHECK(tb_hf_tree_parse("[]", 2, &l, &ls, &e) == 0 && ls.n == 0, "tree: an empty page");

    const char *bad[] = {"{\"error\":\"Invalid rev id\"}", "[1]", "[{\"type\":\"file\"}]",
                         "[{\"type\":\"file\",\"path\":\"data/README.md\",\"size\":-1}]",
                         "[{\"type\":\"file\",\"path\":\"data/README.md\",\"size\":1.5}]",
                         "[{\"type\":\"file\",\"path\":\"data/README.md\"}]", "[{\"type\":", "not json"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int rc = tb_hf_tree_parse(bad[i], strlen(bad[i]), &l, &ls, &e);
        CHECK(rc == TB_EDATA && strstr(e.msg, "tree listing"), "tree: refused: %s", bad[i]);
    }
    CHECK(ls.n == 0, "tree: nothing appended from refused pages");
    tb_hf_list_free(&ls);
    tb_hf_loc_free(&l);
    tb_hf_list_sort(&ls); /* empty: no qsort on a null array */
    CHECK(ls.n == 0, "tree: sorting an empty list");
}

static void link_case(const char *link, const char *base, const char *want, const char *name)
{
    char *got = NULL;
    int found = tb_hf_link_next(link, base, &got);
    if (want) CHECK(found == 1 && got && strcmp(got, want) == 0, "link: %s (got '%s')", name, got ? got : "(none)");
    else CHECK(found == 0 && got == NULL, "link: %s", name);
    free(got);
}

static void test_link(void)
{
    const char *base = "https://huggingface.co/api/datasets/org/name/tree/main?recursive=true";
    link_case("<https://huggingface.co/api/datasets/org/name/tree/main?recursive=true&cursor=ZXlKbWFXeGw%3D>; rel=\"next\"",
              base, "https://huggingface.co/api/datasets/org/name/tree/main?recursive=true&cursor=ZXlKbWFXeGw%3D", "the Hub's form");
    link_case("<https://x/p?page=1>; rel=\"prev\", <https://x/p?page=3>; rel=\"next\", <https://x/p?page=9>; rel=\"last\"",
              base, "https://x/p?page=3", "several rels, next in the middle");
    link_case("<https://x/a,b;c>; rel=first,<https://x/n>;rel=next", base, "https://x/n", "unquoted rel, ',' and ';' inside <>");
    link_case("<https://x/n>; title=\"a, b; rel=next\"; rel=\"prefetch NEXT\"", base, "https://x/n",
              "rel list, case, a quoted param holding separators");
    link_case("</api/datasets/org/name/tree/main?cursor=abc>; rel=\"next\"", base,
              "https://huggingface.co/api/datasets/org/name/tree/main?cursor=abc", "an absolute path takes base's origin");
    link_case("<?cursor=abc>; rel=next", base, "https://huggingface.co/api/datasets/org/name/tree/main?cursor=abc",
              "a query takes base's path");
    link_case("<//cdn.example/x>; rel=next", base, "https://cdn.example/x", "a network-path reference");
    link_case("<main?cursor=1>; rel=next", base, "https://huggingface.co/api/datasets/org/name/tree/main?cursor=1", "a relative path");
    link_case("<https://x/p>; rel=\"prev\"", base, NULL, "no next");
    link_case("<https://x/p>; rel=\"nextpage\"", base, NULL, "next only as a whole name");
    link_case("", base, NULL, "empty");
    link_case(NULL, base, NULL, "absent");
    link_case("https://x/p; rel=next", base, NULL, "no angle brackets");
    link_case("<https://x/p; rel=next", base, NULL, "unterminated <");
    link_case("<https://x/p>; rel=\"next", base, NULL, "unterminated quote");
    link_case("</p>; rel=next", NULL, NULL, "relative without a base");
}

static void test_wait(void)
{
    time_t now = 1700000000; /* Tue, 14 Nov 2023 22:13:20 GMT */
    CHECK_INT(tb_hf_retry_hint_ms(NULL, "\"api\";r=0;t=55", now, 600000), 55000, "wait: the Hub's RateLimit");
    CHECK_INT(tb_hf_retry_hint_ms(NULL, "\"api\";r=0;t=1", now, 600000), 1000, "wait: one second");
    CHECK_INT(tb_hf_retry_hint_ms(NULL, "\"resolvers\";r=3000;t=200, \"api\";r=0;t=12", now, 600000), 12000,
              "wait: the exhausted policy's t, not a larger one with room left");
    CHECK_INT(tb_hf_retry_hint_ms(NULL, "\"a\";r=5;t=20, \"b\";r=7;t=30", now, 600000), 30000, "wait: none exhausted: the largest t");
    CHECK_INT(tb_hf_retry_hint_ms(NULL, "\"a;b,c\";r=0;t=9", now, 600000), 9000, "wait: a quoted name holding separators");
    CHECK_INT(tb_hf_retry_hint_ms(NULL, "limit=100, remaining=0, reset=42", now, 600000), 42000, "wait: the older draft's reset");
    CHECK_INT(tb_hf_retry_hint_ms(NULL, "\"api\";r=0", now, 600000), -1, "wait: no t");
    CHECK_INT(tb_hf_retry_hint_ms(NULL, "\"api\";r=0;t=abc", now, 600000), -1, "wait: a t that is not a number");
    CHECK_INT(tb_hf_retry_hint_ms(NULL, NULL, now, 600000), -1, "wait: nothing said");
    CHECK_INT(tb_hf_retry_hint_ms("7", NULL, now, 600000), 7000, "wait: Retry-After seconds");
    CHECK_INT(tb_hf_retry_hint_ms(" 7 \r\n", NULL, now, 600000), 7000, "wait: Retry-After with white space");
    CHECK_INT(tb_hf_retry_hint_ms("Tue, 14 Nov 2023 22:13:50 GMT", NULL, now, 600000), 30000, "wait: Retry-After as a date");
    CHECK_INT(tb_hf_retry_hint_ms("Tue, 14 Nov 2023 22:00:00 GMT", NULL, now, 600000), 0, "wait: a date in the past");
    CHECK_INT(tb_hf_retry_hint_ms("soon", NULL, now, 600000), -1, "wait: an unreadable Retry-After");
    CHECK_INT(tb_hf_retry_hint_ms("5", "\"api\";r=0;t=20", now, 600000), 20000, "wait: the larger of the two");
    CHECK_INT(tb_hf_retry_hint_ms("90", "\"api\";r=0;t=20", now, 600000), 90000, "wait: the larger of the two (Retry-After)");
    CHECK_INT(tb_hf_retry_hint_ms(NULL, "\"api\";r=0;t=3600", now, 120000), 120000, "wait: capped");
    CHECK_INT(tb_hf_retry_hint_ms("999999999", NULL, now, 120000), 120000, "wait: a huge Retry-After capped");
}

static void test_token(void)
{
    const char *hub = "https://huggingface.co";
    CHECK(tb_hf_may_send_token(hub, "https://huggingface.co/api/datasets/o/n/tree/main"), "token: the Hub itself");
    CHECK(tb_hf_may_send_token(hub, "HTTPS://HuggingFace.CO:443/datasets/o/n/resolve/main/x"), "token: case and the default port");
    CHECK(!tb_hf_may_send_token(hub, "https://cdn-lfs.hf.co/repos/aa/bb?X-Amz-Signature=x"), "token: not to the CDN");
    CHECK(!tb_hf_may_send_token(hub, "https://huggingface.co.evil.example/x"), "token: not to a longer host");
    CHECK(!tb_hf_may_send_token(hub, "https://evil.example/?huggingface.co"), "token: not by a query naming the host");
    CHECK(!tb_hf_may_send_token(hub, "https://huggingface.co@evil.example/x"), "token: userinfo is not the host");
    CHECK(!tb_hf_may_send_token(hub, "http://huggingface.co/x"), "token: not on a downgrade to http");
    CHECK(!tb_hf_may_send_token(hub, "https://huggingface.co:8443/x"), "token: not to another port");
    const char *mock = "http://127.0.0.1:18801";
    CHECK(tb_hf_may_send_token(mock, "http://127.0.0.1:18801/datasets/o/n/resolve/main/x"), "token: a local endpoint");
    CHECK(!tb_hf_may_send_token(mock, "http://localhost:18802/cdn/o/n/main/x"), "token: not to localhost's other port");
    CHECK(!tb_hf_may_send_token(mock, "http://localhost:18801/x"), "token: not to another name of the same address");
    CHECK(!tb_hf_may_send_token(mock, "http://127.0.0.1/x"), "token: port 80 is another port");
    CHECK(tb_hf_may_send_token("http://[::1]:9000", "http://[::1]:9000/api"), "token: IPv6 with a port");
    CHECK(!tb_hf_may_send_token("http://[::1]:9000", "http://[::1]/api"), "token: IPv6, other port");
    CHECK(tb_hf_may_send_token("http://hub.local", "http://hub.local:80"), "token: explicit default port");
    CHECK(!tb_hf_may_send_token(hub, "ftp://huggingface.co/x"), "token: not another scheme");
    CHECK(!tb_hf_may_send_token(hub, "/relative/path"), "token: not an unparsed relative URL");
    CHECK(!tb_hf_may_send_token(hub, "https://huggingface.co:99999/x"), "token: not a bad port");
    CHECK(!tb_hf_may_send_token(hub, NULL) && !tb_hf_may_send_token(NULL, hub), "token: not without both");
}

int main(void)
{
    test_env();
    test_pct();
    test_loc();
    test_urls();
    test_tree();
    test_link();
    test_wait();
    test_token();
    return tap_done();
}
