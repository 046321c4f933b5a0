/* hf_fetch: the hub store, the Hub's tree listing over it, page by page, and the listing cache
 * (see hf_fetch.h). */
#include "hf_fetch.h"
#include "alloc.h"
#include "atomic.h"
#include "hash.h"
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define MAX_PAGES 1000000 /* a Link chain longer than this is a loop (1000 entries a page) */
#define HDR_MAX 16384

int tb_hf_open_hub(struct tb_store **out, const struct tb_hf_env *env, const struct tb_store_cfg *base, tb_err *e)
{
    *out = NULL;
    struct tb_store_cfg cfg;
    if (base) cfg = *base;
    else tb_store_cfg_defaults(&cfg);
    cfg.bearer_token = env->token;
    cfg.bearer_origin = env->endpoint;
    struct tb_uri u;
    int rc = tb_uri_parse(env->endpoint, &u, e);
    if (!rc && u.scheme != TB_URI_HTTP && u.scheme != TB_URI_HTTPS)
        rc = tb_fail(e, TB_EUSAGE, "HF_ENDPOINT must be an http(s):// URL: '%s'", env->endpoint);
    if (!rc) rc = tb_store_open(out, &u, &cfg, e);
    tb_uri_free(&u);
    return rc;
}

/* ---- pure parts */

char *tb_hf_cache_dir_default(void)
{
    const char *x = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (x && *x) return tb_xasprintf("%s/trainbox/hf", x);
    if (home && *home) return tb_xasprintf("%s/.cache/trainbox/hf", home);
    return NULL;
}

char *tb_hf_cache_path(const char *dir, const char *endpoint, const struct tb_hf_loc *l)
{
    /* NUL-separated: no field can run into the next */
    size_t n[5] = {strlen(endpoint), strlen(l->type), strlen(l->repo), strlen(l->rev), strlen(l->dir)};
    const char *f[5] = {endpoint, l->type, l->repo, l->rev, l->dir};
    size_t total = 0;
    for (int i = 0; i < 5; i++) total += n[i] + 1;
    char *id = tb_xmalloc(total), *p = id;
    for (int i = 0; i < 5; i++) {
        memcpy(p, f[i], n[i]);
        p += n[i];
        *p++ = 0;
    }
    char hex[65];
    tb_sha256_hex(id, total, hex);
    free(id);
    return tb_xasprintf("%s/%s.json", dir, hex);
}

int tb_hf_rev_is_commit(const char *rev)
{
    size_t n = 0;
    for (; rev[n]; n++)
        if (!((rev[n] >= '0' && rev[n] <= '9') || (rev[n] >= 'a' && rev[n] <= 'f') || (rev[n] >= 'A' && rev[n] <= 'F'))) return 0;
    return n == 40;
}

long tb_hf_listing_ttl(const char *v)
{
    if (!v || !*v) return TB_HF_LISTING_TTL_DEFAULT;
    long t = 0;
    for (const char *p = v; *p; p++) {
        if (*p < '0' || *p > '9' || t > 100000000L) return -1;
        t = t * 10 + (*p - '0');
    }
    return t;
}

/* ---- the cache */

/* The listing (every file of the directory) as the Hub's JSON list. malloc'd. */
static char *cache_json(const struct tb_hf_list *all)
{
    cJSON *arr = cJSON_CreateArray();
    if (!arr) tb_oom(0);
    for (size_t i = 0; i < all->n; i++) {
        const struct tb_hf_file *f = &all->f[i];
        cJSON *o = cJSON_CreateObject();
        if (!o) tb_oom(0);
        cJSON_AddItemToArray(arr, o);
        cJSON_AddStringToObject(o, "type", "file");
        cJSON_AddStringToObject(o, "oid", f->oid);
        cJSON_AddNumberToObject(o, "size", (double)f->size);
        cJSON_AddStringToObject(o, "path", f->path);
        if (f->lfs_oid) {
            cJSON *lfs = cJSON_AddObjectToObject(o, "lfs");
            if (!lfs) tb_oom(0);
            cJSON_AddStringToObject(lfs, "oid", f->lfs_oid);
            cJSON_AddNumberToObject(lfs, "size", (double)f->size);
        }
    }
    char *s = cJSON_PrintUnformatted(arr);
    cJSON_Delete(arr);
    if (!s) tb_oom(0);
    return s;
}

/* The cached listing at path into out (filtered by l) when it may be used: 1 used, 0 not there
 * (or too old, or unreadable: listed afresh), -1 with e filled for an unreadable one offline. */
static int cache_read(const char *path, const struct tb_hf_loc *l, long max_age, int offline, struct tb_hf_list *out, tb_err *e)
{
    struct stat st;
    if (stat(path, &st) != 0) return 0;
    if (max_age >= 0 && (long)(time(NULL) - st.st_mtime) >= max_age) return 0;
    char *data = NULL;
    size_t len = 0;
    tb_err re = {0};
    if (tb_read_file(path, &data, &len, &re)) {
        if (!offline) return 0;
        *e = re;
        return -1;
    }
    struct tb_hf_list tmp = {0};
    int rc = tb_hf_tree_parse(data, len, l, &tmp, &re);
    free(data);
    if (rc) {
        tb_hf_list_free(&tmp);
        if (!offline) return 0;
        tb_fail(e, TB_EUNAVAIL, "the cached listing %s is unreadable (%s) and offline mode is on (HF_HUB_OFFLINE=1)", path, re.msg);
        return -1;
    }
    *out = tmp;
    out->from_cache = 1;
    return 1;
}

/* Keep the listing for the next run (a failure is no error: see hf_fetch.h). */
static void cache_write(const char *dir, const char *path, const struct tb_hf_list *all)
{
    tb_err we = {0};
    if (tb_mkdirs(dir, &we)) return;
    char *s = cache_json(all);
    tb_atomic_write(path, s, strlen(s), &we);
    free(s);
}

/* ---- the Hub */

/* "ORG/NAME@REV" for messages (malloc'd). */
static char *repo_at(const struct tb_hf_loc *l)
{
    return tb_xasprintf("%s%s%s@%s", strcmp(l->type, "datasets") == 0 ? "" : l->type, strcmp(l->type, "datasets") == 0 ? "" : "/",
                        l->repo, l->rev);
}

/* A failed listing request as the message a user can act on. */
static int list_error(const struct tb_hf_env *env, const struct tb_hf_loc *l, struct tb_store_req *r, int rc, tb_err *e)
{
    char code[128] = "", *ra = repo_at(l);
    tb_store_resp_header(r, "X-Error-Code", code, sizeof code);
    if (rc == TB_ENOPERM) {
        if (env->token)
            tb_fail(e, TB_ENOPERM, "the Hub refused the token in HF_TOKEN for %s (HTTP %d): check that it may read this repository",
                    ra, r->http_status);
        else
            tb_fail(e, TB_ENOPERM, "the Hub refused access to %s (HTTP %d): set HF_TOKEN to a token that may read it "
                    "(a private or gated repository, or one that does not exist, answers so without one)", ra, r->http_status);
    } else if (rc == TB_ENOINPUT) {
        if (strcmp(code, "EntryNotFound") == 0)
            tb_fail(e, TB_ENOINPUT, "no file in %s matches %s", ra, l->path[0] ? l->path : "/");
        else if (strcmp(code, "RevisionNotFound") == 0)
            tb_fail(e, TB_ENOINPUT, "%s: the Hub has no revision '%s' of this repository", ra, l->rev);
        else
            tb_fail(e, TB_ENOINPUT, "%s: the Hub has no such repository or revision (HTTP 404%s%s)", ra, code[0] ? " " : "", code);
    } else {
        tb_err_wrap(e, "listing %s", ra);
    }
    free(ra);
    return e ? e->code : rc;
}

/* Every file of l's directory, from the Hub, all pages, into all (sorted). */
static int fetch_all(struct tb_store *hub, const struct tb_hf_env *env, const struct tb_hf_loc *l, struct tb_hf_list *all, tb_err *e)
{
    /* the same directory, every file wanted: what the cache keeps */
    struct tb_hf_loc every = *l;
    every.has_glob = 0;
    every.exact = (char *)"";
    char *url = tb_hf_tree_url(env->endpoint, l);
    char *link = tb_xmalloc(HDR_MAX);
    int rc = 0;
    while (url && !rc) {
        if (all->pages >= MAX_PAGES) { rc = tb_fail(e, TB_EDATA, "the Hub's listing goes on past %d pages", MAX_PAGES); break; }
        struct tb_store_req r = {.op = TB_OP_GET, .key = url};
        rc = tb_store_run(hub, &r, e);
        if (rc) {
            rc = list_error(env, l, &r, rc, e);
        } else {
            all->pages++;
            rc = tb_hf_tree_parse(r.data ? r.data : "", r.data_len, &every, all, e);
        }
        char *next = NULL;
        if (!rc && tb_store_resp_header(&r, "Link", link, HDR_MAX) == 0 && tb_hf_link_next(link, url, &next) &&
            strcmp(next, url) == 0) {
            rc = tb_fail(e, TB_EDATA, "the Hub's listing names the page it is on as the next one");
            free(next);
            next = NULL;
        }
        tb_store_req_clear(&r);
        free(url);
        url = next;
    }
    free(url);
    free(link);
    if (!rc) tb_hf_list_sort(all);
    return rc;
}

/* Move the files l wants from all to out. */
static void take_wanted(struct tb_hf_list *all, const struct tb_hf_loc *l, struct tb_hf_list *out)
{
    out->entries = all->entries;
    out->pages = all->pages;
    for (size_t i = 0; i < all->n; i++) {
        struct tb_hf_file *f = &all->f[i];
        if (tb_hf_loc_wants(l, f->path, strlen(f->path))) {
            tb_xgrow_n(&out->f, &out->cap, out->n + 1, sizeof *out->f, 64);
            out->f[out->n++] = *f;
        } else {
            free(f->path);
            free(f->oid);
            free(f->lfs_oid);
        }
    }
    free(all->f);
    memset(all, 0, sizeof *all);
}

int tb_hf_fetch_list(struct tb_store *hub, const struct tb_hf_env *env, const struct tb_hf_loc *l, const char *cache_dir,
                     struct tb_hf_list *out, tb_err *e)
{
    memset(out, 0, sizeof *out);
    long ttl = tb_hf_listing_ttl(getenv("TRAINBOX_HF_LISTING_TTL"));
    if (ttl < 0) return tb_fail(e, TB_EUSAGE, "TRAINBOX_HF_LISTING_TTL must be a number of seconds: '%s'", getenv("TRAINBOX_HF_LISTING_TTL"));
    char *dir = cache_dir ? tb_xstrdup(cache_dir) : tb_hf_cache_dir_default();
    char *path = dir ? tb_hf_cache_path(dir, env->endpoint, l) : NULL;
    char *ra = repo_at(l);
    int rc = 0;
    int used = 0;
    if (path) {
        /* -1: any age */
        long max_age = env->offline || tb_hf_rev_is_commit(l->rev) ? -1 : ttl;
        if (max_age != 0) used = cache_read(path, l, max_age, env->offline, out, e);
        if (used < 0) { rc = e ? e->code : TB_EUNAVAIL; goto done; }
    }
    if (!used && env->offline) {
        rc = tb_fail(e, TB_EUNAVAIL, "the listing of %s%s%s is not cached and offline mode is on (HF_HUB_OFFLINE=1)%s", ra,
                     l->dir[0] ? "/" : "", l->dir, path ? "" : "; no cache directory (XDG_CACHE_HOME or HOME)");
        goto done;
    }
    if (!used) {
        struct tb_hf_list all = {0};
        rc = fetch_all(hub, env, l, &all, e);
        if (!rc && path) cache_write(dir, path, &all);
        if (!rc) take_wanted(&all, l, out);
        tb_hf_list_free(&all);
        if (rc) goto done;
    }
    tb_hf_list_sort(out);
    if (out->n == 0) rc = tb_fail(e, TB_ENOINPUT, "no file in %s matches %s", ra, l->path[0] ? l->path : "/");
done:
    if (rc) tb_hf_list_free(out);
    free(ra);
    free(path);
    free(dir);
    return rc;
}
