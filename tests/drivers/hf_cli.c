/* hf_cli: a test driver for lib/hf_fetch (and lib/hf, lib/store_http, lib/src_remote under it)
 * against tests/hf_mock.py (or any Hub), until `cat` reads hf:// itself. Not a unit test (it needs
 * a server): `make unit` builds it (build/drivers/hf_cli), scripts/run-tests.sh does not run it.
 *   hf_cli list URI         the files the URI names (tb_hf_fetch_list: pages followed, 429s waited
 *                           out by lib/http, the listing cache used as hf_fetch.h says): "PATH SIZE
 *                           ETAG" lines in path order; stderr ends with "pages=N cached=0|1 retries=N"
 *   hf_cli get URI [PATH]   one file's bytes on stdout, streamed by tb_src_open_store from the
 *                           hub store: PATH (a repo path) of the URI's repository and revision, or
 *                           the URI's own path; stderr ends with "retries=N"
 * Environment as huggingface_hub's: HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE; the cache under
 * XDG_CACHE_HOME; TRAINBOX_HF_LISTING_TTL. HF_CLI_VERBOSE=1 turns on lib/http's request log. Exit
 * codes as trainbox's. */
#include "alloc.h"
#include "err.h"
#include "hf.h"
#include "hf_fetch.h"
#include "src_remote.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int list(struct tb_store *hub, const struct tb_hf_env *env, const struct tb_hf_loc *l, tb_err *e)
{
    struct tb_hf_list ls;
    int rc = tb_hf_fetch_list(hub, env, l, NULL, &ls, e);
    if (!rc)
        for (size_t i = 0; i < ls.n; i++) printf("%s %llu %s\n", ls.f[i].path, (unsigned long long)ls.f[i].size, ls.f[i].etag);
    struct tb_store_stats st;
    tb_store_stats(hub, &st);
    fprintf(stderr, "pages=%d cached=%d retries=%llu\n", ls.pages, ls.from_cache, (unsigned long long)st.retries);
    tb_hf_list_free(&ls);
    return rc;
}

static int get(struct tb_store *hub, const struct tb_hf_env *env, const struct tb_hf_loc *l, const char *path, tb_err *e)
{
    if (!path && (l->has_glob || !l->exact[0])) return tb_fail(e, TB_EUSAGE, "get needs one file, not a glob");
    char *key = tb_hf_resolve_url(env->endpoint, l, path ? path : l->exact);
    struct tb_src src;
    int rc = tb_src_open_store(&src, hub, key, 0, e);
    free(key);
    if (!rc) {
        char *buf = tb_xmalloc(1 << 16);
        ssize_t n;
        while ((n = tb_src_read(&src, buf, 1 << 16, e)) > 0)
            if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n) { rc = tb_fail(e, TB_EIO, "writing stdout failed"); break; }
        if (n < 0) rc = e->code ? e->code : TB_EIO;
        free(buf);
        tb_src_close(&src);
    }
    struct tb_store_stats st;
    tb_store_stats(hub, &st);
    fflush(stdout);
    fprintf(stderr, "retries=%llu\n", (unsigned long long)st.retries);
    return rc;
}

int main(int argc, char **argv)
{
    int is_list = argc == 3 && strcmp(argv[1], "list") == 0;
    int is_get = (argc == 3 || argc == 4) && strcmp(argv[1], "get") == 0;
    if (!is_list && !is_get) {
        fprintf(stderr, "usage: hf_cli list URI | get URI [PATH]   (URI: hf://datasets/ORG/NAME[@REV]/PATH)\n");
        return TB_EUSAGE;
    }
    tb_err e = {0};
    struct tb_hf_env env;
    struct tb_hf_loc l;
    memset(&l, 0, sizeof l);
    struct tb_store *hub = NULL;
    struct tb_store_cfg cfg;
    tb_store_cfg_defaults(&cfg);
    const char *v = getenv("HF_CLI_VERBOSE");
    cfg.http.verbose = v && strcmp(v, "1") == 0;
    cfg.http.log_cmd = "hf_cli";
    int rc = tb_hf_env_read(&env, &e);
    if (!rc) rc = tb_hf_loc_parse(argv[2], &l, &e);
    if (!rc) rc = tb_hf_open_hub(&hub, &env, &cfg, &e);
    if (!rc) rc = is_list ? list(hub, &env, &l, &e) : get(hub, &env, &l, argc == 4 ? argv[3] : NULL, &e);
    fflush(stdout);
    if (rc) tb_report("hf_cli", &e);
    if (hub) tb_store_close(hub);
    tb_hf_loc_free(&l);
    return rc;
}
