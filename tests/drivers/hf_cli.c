/* hf_cli: a test driver for lib/hf through lib/http against tests/hf_mock.py (or any Hub), until
 * `cat` reads hf:// itself. Not a unit test (it needs a server): `make unit` builds it
 * (build/drivers/hf_cli), scripts/run-tests.sh does not run it.
 *   hf_cli list URI   the files the URI names: "PATH SIZE ETAG" lines in path order; the listing's
 *                     pages followed through Link rel="next", a 429 waited out for what Retry-After or
 *                     RateLimit say (plus a little jitter); stderr ends with "pages=N waits=N"
 *   hf_cli get URI    one file's bytes on stdout: the resolve URL, then its redirects followed by hand
 *                     so that HF_TOKEN goes to HF_ENDPOINT's origin only
 * Environment as huggingface_hub's: HF_ENDPOINT, HF_TOKEN. Exit codes as trainbox's (401 is 77). */
#include "alloc.h"
#include "err.h"
#include "hf.h"
#include "http.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct call {
    const char *url;
    const char *token; /* NULL: no Authorization */
};

static int prepare(struct tb_http_req *r, void *ud, tb_err *e)
{
    (void)e;
    struct call *c = ud;
    r->method = "GET";
    tb_http_set_url(r, c->url);
    if (c->token) tb_http_header(r, "Authorization: Bearer %s", c->token);
    return 0;
}

/* A redirect is an answer here (the caller follows it), not a client error. */
static enum tb_http_class classify(struct tb_http_req *r, void *ud)
{
    if (r->curl_rc == CURLE_OK && r->status >= 300 && r->status < 400) return TB_HTTP_OK;
    return tb_http_classify_default(r, ud);
}

static size_t to_stdout(void *ud, const void *p, size_t n)
{
    (void)ud;
    return fwrite(p, 1, n, stdout);
}

/* One GET of url (the token only where tb_hf_may_send_token allows), 429s waited out. r is left
 * holding the answer; 0 or the exit code in e. */
static int get(struct tb_http *h, const struct tb_hf_env *env, const char *url, tb_http_sink_fn sink,
               struct tb_http_req *r, int *waits, uint64_t *rng, tb_err *e)
{
    struct call c = {url, env->token && tb_hf_may_send_token(env->endpoint, url) ? env->token : NULL};
    for (int attempt = 1;; attempt++) {
        memset(r, 0, sizeof *r);
        r->prepare = prepare;
        r->classify = classify;
        r->sink = sink;
        r->ud = &c;
        r->max_attempts = 1;
        int rc = tb_http_run(h, r, e);
        if (rc == 0 || r->status != 429 || attempt >= 10) return rc;
        char ra[128] = "", rl[512] = "";
        tb_http_resp_header(r, "Retry-After", ra, sizeof ra);
        tb_http_resp_header(r, "RateLimit", rl, sizeof rl);
        long ms = tb_hf_retry_hint_ms(ra[0] ? ra : NULL, rl[0] ? rl : NULL, time(NULL), 120000);
        if (ms < 0) ms = 0;
        /* jitter on top of the server's wait: ranks told the same t must not return together */
        ms += tb_backoff_ms(attempt, 100, 500, rng);
        (*waits)++;
        tb_http_req_clear(r);
        usleep((useconds_t)ms * 1000);
    }
}

static int list(struct tb_http *h, const struct tb_hf_env *env, const struct tb_hf_loc *l, tb_err *e)
{
    struct tb_hf_list ls = {0};
    char *url = tb_hf_tree_url(env->endpoint, l);
    int rc = 0, pages = 0, waits = 0;
    uint64_t rng = (uint64_t)time(NULL) ^ (uint64_t)getpid();
    while (url && !rc) {
        struct tb_http_req r;
        rc = get(h, env, url, NULL, &r, &waits, &rng, e);
        if (!rc) rc = tb_hf_tree_parse(r.resp ? r.resp : "", r.resp_len, l, &ls, e);
        pages++;
        char link[8192] = "";
        char *next = NULL;
        if (!rc && tb_http_resp_header(&r, "Link", link, sizeof link) == 0) tb_hf_link_next(link, url, &next);
        tb_http_req_clear(&r);
        free(url);
        url = next;
    }
    free(url);
    if (!rc) {
        tb_hf_list_sort(&ls);
        for (size_t i = 0; i < ls.n; i++) printf("%s %llu %s\n", ls.f[i].path, (unsigned long long)ls.f[i].size, ls.f[i].etag);
    }
    fprintf(stderr, "pages=%d waits=%d\n", pages, waits);
    tb_hf_list_free(&ls);
    return rc;
}

static int fetch(struct tb_http *h, const struct tb_hf_env *env, const struct tb_hf_loc *l, tb_err *e)
{
    if (l->has_glob || !l->exact[0]) return tb_fail(e, TB_EUSAGE, "get needs one file, not a glob");
    char *url = tb_hf_resolve_url(env->endpoint, l, l->exact);
    int rc = 0, waits = 0;
    uint64_t rng = 1;
    for (int hops = 0; !rc; hops++) {
        struct tb_http_req r;
        rc = get(h, env, url, to_stdout, &r, &waits, &rng, e);
        if (!rc && r.status >= 300 && r.status < 400) {
            char loc[8192] = "";
            if (tb_http_resp_header(&r, "Location", loc, sizeof loc) != 0 || !strstr(loc, "://"))
                rc = tb_fail(e, TB_EUNAVAIL, "redirect without an absolute Location");
            else if (hops >= 5) rc = tb_fail(e, TB_EUNAVAIL, "more than 5 redirects");
            else { free(url); url = tb_xstrdup(loc); }
            tb_http_req_clear(&r);
            continue;
        }
        tb_http_req_clear(&r);
        break;
    }
    free(url);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[1], "list") != 0 && strcmp(argv[1], "get") != 0)) {
        fprintf(stderr, "usage: hf_cli list|get hf://datasets/ORG/NAME[@REV]/PATH\n");
        return TB_EUSAGE;
    }
    tb_err e = {0};
    struct tb_hf_env env;
    struct tb_hf_loc l;
    struct tb_http *h = NULL;
    struct tb_http_cfg cfg;
    tb_http_cfg_defaults(&cfg);
    int rc = tb_hf_env_read(&env, &e);
    if (!rc) rc = tb_hf_loc_parse(argv[2], &l, &e);
    else memset(&l, 0, sizeof l);
    if (!rc) rc = tb_http_new(&h, &cfg, &e);
    if (!rc) rc = strcmp(argv[1], "list") == 0 ? list(h, &env, &l, &e) : fetch(h, &env, &l, &e);
    fflush(stdout);
    if (rc) tb_report("hf_cli", &e);
    if (h) tb_http_free(h);
    tb_hf_loc_free(&l);
    return rc;
}
