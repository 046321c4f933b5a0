/* blob: whole-object operations on any location, all through the store layer: a path or file://
 * is a file store (lib/store_file), like a bucket is an S3 or Azure store, so local files are read,
 * written and listed in one place. */
#include "blob.h"
#include "alloc.h"
#include "store.h"
#include "uri.h"
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Parse uri, refuse what is not a store (http, hf), open its store; *key is the key it names. */
static int open_store(const char *uri, const struct tb_store_cfg *cfg, struct tb_uri *u, struct tb_store **s,
                      const char **key, tb_err *e)
{
    int r = tb_uri_parse(uri, u, e);
    if (r) return r;
    if (u->scheme != TB_URI_FILE && !tb_uri_is_bucket(u)) {
        r = tb_fail(e, TB_EUNAVAIL, "%s: %s:// locations cannot be read or written as whole objects (use a path, file:// or a bucket)",
                    uri, tb_scheme_name(u->scheme));
        tb_uri_free(u);
        return r;
    }
    r = tb_store_open(s, u, cfg, e);
    if (r) { tb_uri_free(u); return r; }
    *key = tb_store_key_of(u);
    return 0;
}

static void close_store(struct tb_store *s, struct tb_uri *u)
{
    tb_store_close(s);
    tb_uri_free(u);
}

int tb_blob_read(const struct tb_store_cfg *cfg, const char *uri, char **data, size_t *len, tb_err *e)
{
    struct tb_uri u;
    struct tb_store *s;
    const char *key;
    int r = open_store(uri, cfg, &u, &s, &key, e);
    if (r) return r;
    r = tb_store_get_mem(s, key, data, len, e);
    close_store(s, &u);
    return r;
}

int tb_blob_write(const struct tb_store_cfg *cfg, const char *uri, const void *data, size_t len, const char *content_type, tb_err *e)
{
    struct tb_uri u;
    struct tb_store *s;
    const char *key;
    int r = open_store(uri, cfg, &u, &s, &key, e);
    if (r) return r;
    r = tb_store_put_mem(s, key, data, len, content_type, e);
    close_store(s, &u);
    return r;
}

int tb_blob_head(const struct tb_store_cfg *cfg, const char *uri, uint64_t *size, int *exists, tb_err *e)
{
    struct tb_uri u;
    struct tb_store *s;
    const char *key;
    *exists = 0;
    *size = 0;
    int r = open_store(uri, cfg, &u, &s, &key, e);
    if (r) return r;
    struct tb_obj_info info;
    memset(&info, 0, sizeof info);
    r = tb_store_head(s, key, &info, e);
    *exists = !r && info.exists;
    *size = info.size;
    close_store(s, &u);
    return r;
}

struct sink_ctx { int (*cb)(void *, const void *, size_t); void *arg; int rc; };
static size_t stream_sink(void *ud, const void *p, size_t n)
{
    struct sink_ctx *c = ud;
    c->rc = c->cb(c->arg, p, n);
    return c->rc ? 0 : n;
}

int tb_blob_stream(const struct tb_store_cfg *cfg, const char *uri, int (*cb)(void *, const void *, size_t), void *arg, tb_err *e)
{
    struct tb_uri u;
    struct tb_store *s;
    const char *key;
    int r = open_store(uri, cfg, &u, &s, &key, e);
    if (r) return r;
    struct sink_ctx c = {cb, arg, 0};
    r = tb_store_get_cb(s, key, 0, 0, stream_sink, &c, e);
    if (c.rc) r = c.rc; /* the callback stopped it: its code, not the store's "write failed" */
    close_store(s, &u);
    return r;
}

struct list_ctx { struct tb_listing *l; size_t skip; };
static int list_cb(void *ud, const struct tb_obj_info *info, int is_prefix)
{
    struct list_ctx *c = ud;
    if (is_prefix || !info->key) return 0;
    size_t n = strlen(info->key);
    if (n <= c->skip) return 0; /* the prefix itself (a "directory marker" object) */
    tb_listing_add(c->l, info->key + c->skip, n - c->skip, info->size);
    return 0;
}

/* A local prefix must name a directory (a bucket prefix need not name anything). */
static int local_dir(const char *path, tb_err *e)
{
    struct stat st;
    if (stat(path, &st) != 0) return tb_fail_errno(e, 0, "cannot list %s", path);
    if (!S_ISDIR(st.st_mode)) return tb_fail(e, TB_EUSAGE, "%s is not a directory", path);
    return 0;
}

int tb_blob_list(const struct tb_store_cfg *cfg, const char *prefix_uri, struct tb_listing *out, tb_err *e)
{
    memset(out, 0, sizeof *out);
    struct tb_uri u;
    struct tb_store *s;
    const char *key;
    int r = open_store(prefix_uri, cfg, &u, &s, &key, e);
    if (r) return r;
    /* a prefix names a directory: list "key/" so "data" does not match "data2/..." */
    size_t kl = strlen(key);
    while (u.scheme == TB_URI_FILE && kl > 1 && key[kl - 1] == '/') kl--; /* "dir//" is "dir" */
    char *prefix = tb_xmalloc(kl + 2);
    memcpy(prefix, key, kl);
    prefix[kl] = 0;
    if (u.scheme == TB_URI_FILE) r = local_dir(prefix, e);
    if (kl && prefix[kl - 1] != '/') prefix[kl++] = '/';
    prefix[kl] = 0;
    struct list_ctx c = {out, kl};
    if (!r) r = tb_store_list_all(s, prefix, NULL, list_cb, &c, e);
    free(prefix);
    close_store(s, &u);
    if (r) { tb_listing_free(out); return r; }
    tb_listing_finish(out);
    return 0;
}

void tb_listing_free(struct tb_listing *l)
{
    free(l->objs);
    free(l->arena);
    memset(l, 0, sizeof *l);
}

void tb_listing_add(struct tb_listing *l, const char *key, size_t klen, uint64_t size)
{
    tb_xgrow(&l->arena, &l->arena_cap, l->arena_len + klen + 1);
    tb_xgrow_n(&l->objs, &l->cap, l->n + 1, sizeof *l->objs, 256);
    memcpy(l->arena + l->arena_len, key, klen);
    l->arena[l->arena_len + klen] = 0;
    /* store the offset for now; tb_listing_finish turns it into a pointer */
    l->objs[l->n].key = (const char *)(uintptr_t)l->arena_len;
    l->objs[l->n].size = size;
    l->n++;
    l->arena_len += klen + 1;
}

static int obj_cmp(const void *a, const void *b)
{
    return strcmp(((const struct tb_obj *)a)->key, ((const struct tb_obj *)b)->key);
}

void tb_listing_finish(struct tb_listing *l)
{
    for (size_t i = 0; i < l->n; i++) l->objs[i].key = l->arena + (uintptr_t)l->objs[i].key;
    if (l->n) qsort(l->objs, l->n, sizeof *l->objs, obj_cmp);
}
