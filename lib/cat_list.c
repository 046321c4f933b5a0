/* cat_list: the inputs cat reads, listed before anything is read (see cat_list.h). */
#include "cat_list.h"
#include "alloc.h"
#include "grow.h"
#include "hf.h"
#include "hf_fetch.h"
#include "manifest.h"
#include "blob.h"
#include "brace.h"
#include "pathglob.h"
#include "split.h"
#include "store.h"
#include "uri.h"
#include "walk.h"
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int ends(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

int tb_cat_kind_of(const char *name)
{
    size_t n = strlen(name);
    if (strncmp(name, "http://", 7) == 0 || strncmp(name, "https://", 8) == 0) n = strcspn(name, "?#");
    if (ends(name, n, ".tar") || ends(name, n, ".tar.gz") || ends(name, n, ".tgz") || ends(name, n, ".tar.zst") ||
        ends(name, n, ".tar.zstd"))
        return TB_CAT_TAR;
    if (ends(name, n, ".jsonl") || ends(name, n, ".ndjson")) return TB_CAT_NDJSON;
    if (ends(name, n, ".jsonl.gz") || ends(name, n, ".ndjson.gz") || ends(name, n, ".jsonl.zst") ||
        ends(name, n, ".ndjson.zst"))
        return TB_CAT_NDJSON_Z;
    if (ends(name, n, ".parquet")) return TB_CAT_PARQUET;
    return -1;
}

void tb_cat_list_init(struct tb_cat_list *l) { memset(l, 0, sizeof *l); }

void tb_cat_list_free(struct tb_cat_list *l)
{
    for (size_t i = 0; i < l->n; i++) { free(l->v[i].name); free(l->v[i].key); }
    for (size_t i = 0; i < l->nroots; i++) free(l->roots[i].uri);
    free(l->v);
    free(l->roots);
    memset(l, 0, sizeof *l);
}

int tb_cat_list_root(struct tb_cat_list *l, int type, const char *uri)
{
    for (size_t i = 0; i < l->nroots; i++)
        if (l->roots[i].type == type && strcmp(l->roots[i].uri, uri) == 0) return (int)i;
    tb_xgrow_n(&l->roots, &l->roots_cap, l->nroots + 1, sizeof *l->roots, 4);
    l->roots[l->nroots].type = type;
    l->roots[l->nroots].uri = tb_xstrdup(uri);
    return (int)l->nroots++;
}

size_t tb_cat_list_add(struct tb_cat_list *l, const char *name, int root, const char *key, int64_t size, const char *etag,
                       int kind)
{
    tb_xgrow_n(&l->v, &l->cap, l->n + 1, sizeof *l->v, 16);
    struct tb_cat_input *in = &l->v[l->n];
    memset(in, 0, sizeof *in);
    in->name = tb_xstrdup(name);
    in->root = root;
    in->key = tb_xstrdup(key);
    in->size = size;
    snprintf(in->etag, sizeof in->etag, "%s", etag ? etag : "");
    in->kind = kind;
    return l->n++;
}

void tb_cat_list_partition(struct tb_cat_list *l, uint32_t rank, uint32_t world, int shuffle, uint64_t seed,
                           uint64_t epoch)
{
    if (world == 0) return;
    size_t n = l->n;
    struct tb_cat_input *v = l->v;
    if (shuffle && n > 1) {
        uint32_t *idx = tb_xmalloc(n * sizeof *idx);
        for (size_t i = 0; i < n; i++) idx[i] = (uint32_t)i;
        tb_shuffle(idx, n, seed, epoch);
        struct tb_cat_input *w = tb_xmalloc(n * sizeof *w);
        for (size_t i = 0; i < n; i++) w[i] = v[idx[i]];
        memcpy(v, w, n * sizeof *w);
        free(w);
        free(idx);
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (i % world == rank) v[k++] = v[i];
        else { free(v[i].name); free(v[i].key); }
    }
    l->n = k;
}

/* ---- local paths */

static int keep_rel(const struct tb_cat_expand_cfg *cfg, const char *rel, size_t len)
{
    return !cfg->glob || tb_glob_match(cfg->glob, rel, len);
}

/* A directory: its inputs in the byte order of their paths (lib/walk), hidden names (".x") and
 * names of no known kind left out. A symlink to a file is read; one to a directory is not entered
 * (a walk never follows one: that could loop or leave the tree) and is said so, unless quiet. */
static int add_dir(struct tb_cat_list *l, const char *dir, const struct tb_cat_expand_cfg *cfg, tb_err *e)
{
    struct tb_walk w;
    struct tb_walk_ent ent;
    tb_err oe = {0};
    if (tb_walk_open(&w, dir, &oe)) return tb_fail_errno(e, 0, "cannot read directory %s", dir);
    int r = 0;
    while (!r && tb_walk_next(&w, &ent)) {
        if (ent.name[0] == '.') {
            if (ent.type == TB_WALK_DIR) tb_walk_prune(&w);
            continue;
        }
        struct stat st;
        if (ent.type == TB_WALK_ERROR) {
            if (ent.err == ENOENT) continue; /* removed since its directory was read */
            errno = ent.err;
            r = tb_fail_errno(e, 0, S_ISDIR(ent.mode) ? "cannot read directory %s" : "cannot stat %s", ent.full);
        } else if (ent.type == TB_WALK_SYMLINK && stat(ent.full, &st) == 0 && S_ISDIR(st.st_mode)) {
            if (!cfg->quiet) tb_warn("cat", "%s is a symlink to a directory: not followed", ent.full);
        } else if (ent.type != TB_WALK_DIR && tb_cat_kind_of(ent.name) >= 0 && keep_rel(cfg, ent.path, ent.len)) {
            /* a file, a link to one (a dangling link fails to open), a fifo */
            tb_cat_list_add(l, ent.full, -1, ent.full, ent.type == TB_WALK_FILE ? (int64_t)ent.size : -1, NULL,
                            tb_cat_kind_of(ent.name));
        }
    }
    tb_walk_close(&w);
    return r;
}

static int kind_or_ndjson(const char *name)
{
    int k = tb_cat_kind_of(name);
    return k < 0 ? TB_CAT_NDJSON : k;
}

static int add_path(struct tb_cat_list *l, const char *path, const struct tb_cat_expand_cfg *cfg, tb_err *e)
{
    struct stat st;
    if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode)) return add_dir(l, path, cfg, e);
        tb_cat_list_add(l, path, -1, path, S_ISREG(st.st_mode) ? (int64_t)st.st_size : -1, NULL, kind_or_ndjson(path));
        return 0;
    }
    if (strpbrk(path, "*?[")) {
        glob_t g;
        int gr = glob(path, 0, NULL, &g);
        if (gr == GLOB_NOMATCH) return tb_fail(e, TB_ENOINPUT, "no file matches %s", path);
        if (gr != 0) return tb_fail(e, TB_EIO, "cannot expand %s", path);
        int r = 0;
        for (size_t i = 0; !r && i < g.gl_pathc; i++) {
            const char *p = g.gl_pathv[i];
            if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) r = add_dir(l, p, cfg, e);
            else tb_cat_list_add(l, p, -1, p, stat(p, &st) == 0 && S_ISREG(st.st_mode) ? (int64_t)st.st_size : -1, NULL,
                                 kind_or_ndjson(p));
        }
        globfree(&g);
        return r;
    }
    return tb_fail_errno(e, 0, "cannot open %s", path);
}

/* ---- remote locations */

/* The URI of the store a bucket location lives in: the same location with an empty key. */
static char *bucket_root_uri(const struct tb_uri *u)
{
    struct tb_uri r = *u;
    r.key = "";
    return tb_uri_format(&r);
}

/* http(s): one root per origin (scheme://host[:port]/), the key the absolute URL. */
static char *http_origin(const char *url)
{
    const char *p = strstr(url, "://");
    p = p ? p + 3 : url;
    size_t n = (size_t)(p - url) + strcspn(p, "/?#");
    return tb_xasprintf("%.*s/", (int)n, url);
}

struct list_ctx {
    struct tb_cat_list *l;
    const struct tb_cat_expand_cfg *cfg;
    const struct tb_glob *keyglob; /* a glob in the URI's key, anchored at the listed prefix */
    const char *prefix;
    size_t plen;
    const struct tb_uri *u;
    int root;
    size_t added;
};

static int list_cb(void *ud, const struct tb_obj_info *info, int is_prefix)
{
    struct list_ctx *c = ud;
    if (is_prefix || !info->key) return 0;
    const char *key = info->key;
    size_t klen = strlen(key);
    if (klen < c->plen || memcmp(key, c->prefix, c->plen) != 0) return 0;
    const char *rel = key + c->plen;
    size_t rlen = klen - c->plen;
    if (rlen == 0 || key[klen - 1] == '/') return 0; /* a directory marker */
    const char *base = strrchr(key, '/');
    base = base ? base + 1 : key;
    if (base[0] == '.') return 0;
    if (c->keyglob) {
        if (!tb_glob_match(c->keyglob, rel, rlen)) return 0;
    } else if (tb_cat_kind_of(base) < 0 || !keep_rel(c->cfg, rel, rlen)) {
        return 0;
    }
    struct tb_uri ou = *c->u;
    ou.key = (char *)key;
    char *name = tb_uri_format(&ou);
    tb_cat_list_add(c->l, name, c->root, key, (int64_t)info->size, info->etag, kind_or_ndjson(base));
    free(name);
    c->added++;
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct tb_cat_input *)a)->key, ((const struct tb_cat_input *)b)->key);
}

/* Every object under a prefix (a key ending in '/', or empty), or every one a glob in the key
 * matches (the listing starts at the last '/' before the glob's first special character). */
static int add_listing(struct tb_cat_list *l, const struct tb_uri *u, const char *uri, int root,
                       const struct tb_cat_expand_cfg *cfg, tb_err *e)
{
    const char *key = u->key;
    size_t glob_at = strcspn(key, "*?[");
    int has_glob = key[glob_at] != 0;
    size_t plen = has_glob ? glob_at : strlen(key);
    while (has_glob && plen > 0 && key[plen - 1] != '/') plen--;
    char *prefix = tb_xstrndup(key, plen);
    struct tb_glob g;
    int have_g = 0;
    if (has_glob) {
        char *pat = tb_xasprintf("/%s", key + plen);
        int r = tb_glob_compile(&g, pat, e);
        free(pat);
        if (r) { free(prefix); return tb_fail(e, TB_EUSAGE, "bad glob in %s: %s", uri, e->msg); }
        have_g = 1;
    }
    struct tb_store *s;
    int r = tb_store_open(&s, u, cfg->store, e);
    if (r) { free(prefix); if (have_g) tb_glob_free(&g); return r; }
    size_t first = l->n;
    struct list_ctx c = {l, cfg, have_g ? &g : NULL, prefix, plen, u, root, 0};
    r = tb_store_list_all(s, prefix, NULL, list_cb, &c, e);
    tb_store_close(s);
    if (!r) {
        if (l->n > first) qsort(l->v + first, l->n - first, sizeof *l->v, by_name);
        if (c.added == 0)
            r = has_glob ? tb_fail(e, TB_ENOINPUT, "no object matches %s", uri)
                         : tb_fail(e, TB_ENOINPUT, "no object to read under %s%s", uri,
                                   cfg->glob ? " (with --glob)" : " (names of a known kind: .jsonl, .jsonl.gz, .tar, ...)");
    }
    free(prefix);
    if (have_g) tb_glob_free(&g);
    return r;
}

static int add_remote(struct tb_cat_list *l, const struct tb_uri *u, const char *uri, const struct tb_cat_expand_cfg *cfg,
                      tb_err *e)
{
    if (u->scheme == TB_URI_HTTP || u->scheme == TB_URI_HTTPS) {
        char *origin = http_origin(u->url);
        int root = tb_cat_list_root(l, TB_CAT_ROOT_HTTP, origin);
        free(origin);
        tb_cat_list_add(l, uri, root, u->url, -1, NULL, kind_or_ndjson(u->url));
        return 0;
    }
    char *ru = bucket_root_uri(u);
    int root = tb_cat_list_root(l, TB_CAT_ROOT_STORE, ru);
    free(ru);
    const char *key = u->key;
    size_t n = strlen(key);
    if (n == 0 || key[n - 1] == '/' || strpbrk(key, "*?[")) return add_listing(l, u, uri, root, cfg, e);
    tb_cat_list_add(l, uri, root, key, -1, NULL, kind_or_ndjson(key));
    return 0;
}

/* hf://: the Hub's listing of the location (lib/hf_fetch: paged, cached, HF_HUB_OFFLINE), each
 * file read through its resolve URL. A glob keeps every file it matches; a directory only the
 * files of a known kind (a dataset's README.md and .gitattributes are not data), filtered by --glob. */
static int add_hf(struct tb_cat_list *l, const struct tb_uri *u, const char *arg, const struct tb_cat_expand_cfg *cfg,
                  tb_err *e)
{
    struct tb_hf_env env;
    struct tb_hf_loc loc;
    int r = tb_hf_env_read(&env, e);
    if (r) return r;
    if ((r = tb_hf_loc_from_uri(u, &loc, e))) return r;
    struct tb_store *hub;
    if ((r = tb_hf_open_hub(&hub, &env, cfg->store, e))) { tb_hf_loc_free(&loc); return r; }
    struct tb_hf_list ls;
    r = tb_hf_fetch_list(hub, &env, &loc, NULL, &ls, e);
    tb_store_close(hub);
    if (r) { tb_hf_loc_free(&loc); return r; }
    int root = tb_cat_list_root(l, TB_CAT_ROOT_HF, env.endpoint);
    size_t added = 0, dlen = strlen(loc.dir);
    /* the name messages, the state and the cache go by: the URI with this file's path */
    const char *at = strchr(arg + 5, '@');
    size_t repo_end = strlen("hf://") + strlen(loc.type) + 1 + strlen(loc.repo);
    char *base = tb_xstrndup(arg, at && (size_t)(at - arg) == repo_end ? (size_t)(at - arg) + strcspn(at, "/") : repo_end);
    for (size_t i = 0; i < ls.n; i++) {
        const struct tb_hf_file *f = &ls.f[i];
        const char *bn = strrchr(f->path, '/');
        bn = bn ? bn + 1 : f->path;
        int exact = !loc.has_glob && strcmp(f->path, loc.exact) == 0;
        if (!loc.has_glob && !exact) {
            const char *rel = f->path + (dlen && strncmp(f->path, loc.dir, dlen) == 0 ? dlen + 1 : 0);
            if (bn[0] == '.' || tb_cat_kind_of(bn) < 0 || !keep_rel(cfg, rel, strlen(rel))) continue;
        }
        char *name = tb_xasprintf("%s/%s", base, f->path);
        char *url = tb_hf_resolve_url(env.endpoint, &loc, f->path);
        tb_cat_list_add(l, name, root, url, (int64_t)f->size, f->etag, kind_or_ndjson(bn));
        free(name);
        free(url);
        added++;
    }
    if (!added && !r)
        r = tb_fail(e, TB_ENOINPUT, "no file to read in %s (names of a known kind: .jsonl, .jsonl.gz, .tar, ...%s)", arg,
                    cfg->glob ? "; with --glob" : "");
    free(base);
    tb_hf_list_free(&ls);
    tb_hf_loc_free(&loc);
    return r;
}

static int is_manifest_name(const char *s)
{
    size_t n = strlen(s);
    if (strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0) n = strcspn(s, "?#");
    return ends(s, n, "manifest.json");
}

/* The directory a manifest's relative paths are relative to: everything up to its last '/'. */
static char *dir_of(const char *uri)
{
    const char *sl = strrchr(uri, '/');
    return sl ? tb_xstrndup(uri, (size_t)(sl - uri + 1)) : tb_xstrdup("");
}

static int add_one(struct tb_cat_list *l, const char *arg, const struct tb_cat_expand_cfg *cfg, int in_manifest,
                   tb_err *e);

/* A trainbox manifest: its shards, in its order, each one object (a shard's "uri", else its "path"
 * relative to the manifest's own location). Sizes come from the records and are checked when read. */
static int add_manifest(struct tb_cat_list *l, const char *uri, const struct tb_cat_expand_cfg *cfg, tb_err *e)
{
    char *text;
    size_t len;
    int r;
    if (strncmp(uri, "http://", 7) == 0 || strncmp(uri, "https://", 8) == 0) {
        /* lib/blob keeps to stores that can be written too; an http manifest is read here */
        struct tb_uri u;
        struct tb_store *s;
        if ((r = tb_uri_parse(uri, &u, e))) return r;
        r = tb_store_open(&s, &u, cfg->store, e);
        tb_uri_free(&u);
        if (r) return r;
        r = tb_store_get_mem(s, "", &text, &len, e);
        tb_store_close(s);
    } else {
        r = tb_blob_read(cfg->store, uri, &text, &len, e);
    }
    if (r) return r;
    struct tb_manifest m;
    tb_manifest_init(&m);
    r = tb_manifest_parse(text, len, &m, e);
    free(text);
    if (r) { tb_err_wrap(e, "%s", uri); tb_manifest_free(&m); return r; }
    if (m.n == 0) { tb_manifest_free(&m); return tb_fail(e, TB_ENOINPUT, "%s lists no shard", uri); }
    char *dir = dir_of(uri);
    for (size_t i = 0; !r && i < m.n; i++) {
        const struct tb_shard_rec *s = &m.shards[i];
        const char *ref = s->uri ? s->uri : s->path;
        if (!ref) { r = tb_fail(e, TB_EDATA, "%s: shard %zu has neither uri nor path", uri, i); break; }
        struct tb_uri su;
        int abs = strstr(ref, "://") != NULL || ref[0] == '/';
        char *full = abs ? tb_xstrdup(ref) : tb_xasprintf("%s%s", dir, ref);
        if ((r = tb_uri_parse(full, &su, e)) == 0) {
            tb_uri_free(&su);
            size_t before = l->n;
            r = add_one(l, full, cfg, 1, e);
            if (!r && l->n == before + 1 && s->bytes) l->v[before].size = (int64_t)s->bytes;
        }
        free(full);
    }
    free(dir);
    tb_manifest_free(&m);
    return r;
}

static int add_one(struct tb_cat_list *l, const char *arg, const struct tb_cat_expand_cfg *cfg, int in_manifest, tb_err *e)
{
    if (strcmp(arg, "-") == 0) { tb_cat_list_add(l, "-", -1, "-", -1, NULL, TB_CAT_NDJSON); return 0; }
    struct tb_uri u;
    int r = tb_uri_parse(arg, &u, e);
    if (r) return r;
    if (!in_manifest && u.scheme != TB_URI_HF && is_manifest_name(arg)) {
        tb_uri_free(&u);
        return add_manifest(l, arg, cfg, e);
    }
    if (in_manifest) {
        /* one shard: an object, never a listing */
        if (u.scheme == TB_URI_FILE) tb_cat_list_add(l, u.path, -1, u.path, -1, NULL, kind_or_ndjson(u.path));
        else if (u.scheme == TB_URI_HTTP || u.scheme == TB_URI_HTTPS || tb_uri_is_bucket(&u)) {
            const char *key = tb_store_key_of(&u);
            size_t n = strlen(key);
            if (u.scheme != TB_URI_HTTP && u.scheme != TB_URI_HTTPS && (n == 0 || key[n - 1] == '/'))
                r = tb_fail(e, TB_EDATA, "manifest shard %s is not an object", arg);
            else r = add_remote(l, &u, arg, cfg, e);
        } else r = tb_fail(e, TB_EDATA, "manifest shard %s: not a file or object location", arg);
        tb_uri_free(&u);
        return r;
    }
    if (u.scheme == TB_URI_FILE) r = add_path(l, u.path, cfg, e);
    else if (u.scheme == TB_URI_HF) r = add_hf(l, &u, arg, cfg, e);
    else r = add_remote(l, &u, arg, cfg, e);
    tb_uri_free(&u);
    return r;
}

/* WebDataset's brace notation expands to that many names at most */
#define MAX_BRACE 1000000

int tb_cat_expand(struct tb_cat_list *l, const char *arg, const struct tb_cat_expand_cfg *cfg, tb_err *e)
{
    struct stat st;
    /* a local name that exists as written is that file, braces or not */
    if (!tb_brace_has(arg) || (!strstr(arg, "://") && stat(arg, &st) == 0)) return add_one(l, arg, cfg, 0, e);
    char **v;
    size_t n;
    int r = tb_brace_expand(arg, MAX_BRACE, &v, &n, e);
    if (r) return r;
    for (size_t i = 0; !r && i < n; i++) r = add_one(l, v[i], cfg, 0, e);
    tb_brace_free(v, n);
    return r;
}
