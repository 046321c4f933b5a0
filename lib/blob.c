/* blob: whole-object operations, dispatched by location scheme. Local paths and file:// are served
 * here; object stores go through the store layer. */
#include "blob.h"
#include "atomic.h"
#include "store.h"
#include "uri.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Object stores (s3, r2, gs, az) go through the store layer; local paths are served here. */
static int is_remote(const char *uri)
{
    return strncmp(uri, "s3://", 5) == 0 || strncmp(uri, "r2://", 5) == 0 || strncmp(uri, "gs://", 5) == 0 ||
           strncmp(uri, "az://", 5) == 0;
}

static int open_store(const char *uri, const struct tb_store_cfg *cfg, struct tb_uri *u, struct tb_store **s, tb_err *e)
{
    int r = tb_uri_parse(uri, u, e);
    if (r) return r;
    r = tb_store_open(s, u, cfg, e);
    if (r) tb_uri_free(u);
    return r;
}

static int remote_read(const struct tb_store_cfg *cfg, const char *uri, char **data, size_t *len, tb_err *e)
{
    struct tb_uri u;
    struct tb_store *s;
    int r = open_store(uri, cfg, &u, &s, e);
    if (r) return r;
    r = tb_store_get_mem(s, u.key, data, len, e);
    tb_store_close(s);
    tb_uri_free(&u);
    return r;
}

static int remote_write(const struct tb_store_cfg *cfg, const char *uri, const void *data, size_t len, const char *ct, tb_err *e)
{
    struct tb_uri u;
    struct tb_store *s;
    int r = open_store(uri, cfg, &u, &s, e);
    if (r) return r;
    r = tb_store_put_mem(s, u.key, data, len, ct, e);
    tb_store_close(s);
    tb_uri_free(&u);
    return r;
}

static int remote_head(const struct tb_store_cfg *cfg, const char *uri, uint64_t *size, int *exists, tb_err *e)
{
    struct tb_uri u;
    struct tb_store *s;
    int r = open_store(uri, cfg, &u, &s, e);
    if (r) return r;
    struct tb_obj_info info;
    memset(&info, 0, sizeof info);
    r = tb_store_head(s, u.key, &info, e);
    *exists = !r && info.exists;
    *size = info.size;
    tb_store_close(s);
    tb_uri_free(&u);
    return r;
}

struct sink_ctx { int (*cb)(void *, const void *, size_t); void *arg; int rc; };
static size_t stream_sink(void *ud, const void *p, size_t n)
{
    struct sink_ctx *c = ud;
    c->rc = c->cb(c->arg, p, n);
    return c->rc ? 0 : n;
}

static int remote_stream(const struct tb_store_cfg *cfg, const char *uri, int (*cb)(void *, const void *, size_t), void *arg, tb_err *e)
{
    struct tb_uri u;
    struct tb_store *s;
    int r = open_store(uri, cfg, &u, &s, e);
    if (r) return r;
    struct sink_ctx c = {cb, arg, 0};
    r = tb_store_get_cb(s, u.key, 0, 0, stream_sink, &c, e);
    if (c.rc) r = c.rc;
    tb_store_close(s);
    tb_uri_free(&u);
    return r;
}

struct list_ctx { struct tb_listing *l; size_t skip; };
static int list_cb(void *ud, const struct tb_obj_info *info, int is_prefix)
{
    struct list_ctx *c = ud;
    if (is_prefix || !info->key) return 0;
    size_t n = strlen(info->key);
    if (n <= c->skip) return 0; /* the prefix itself (a "directory marker" object) */
    return tb_listing_add(c->l, info->key + c->skip, n - c->skip, info->size) ? TB_ESOFTWARE : 0;
}

static int remote_list(const struct tb_store_cfg *cfg, const char *uri, struct tb_listing *out, tb_err *e)
{
    memset(out, 0, sizeof *out);
    struct tb_uri u;
    struct tb_store *s;
    int r = open_store(uri, cfg, &u, &s, e);
    if (r) return r;
    /* a prefix names a directory: list "key/" so "data" does not match "data2/..." */
    size_t kl = strlen(u.key);
    char *prefix = malloc(kl + 2);
    if (!prefix) r = tb_fail(e, TB_ESOFTWARE, "out of memory");
    else {
        memcpy(prefix, u.key, kl);
        if (kl && u.key[kl - 1] != '/') prefix[kl++] = '/';
        prefix[kl] = 0;
        struct list_ctx c = {out, kl};
        r = tb_store_list_all(s, prefix, NULL, list_cb, &c, e);
        if (r == TB_ESOFTWARE && !e->code) tb_fail(e, r, "out of memory");
    }
    free(prefix);
    tb_store_close(s);
    tb_uri_free(&u);
    if (r) { tb_listing_free(out); return r; }
    tb_listing_finish(out);
    return 0;
}

static int local_path(const char *uri, struct tb_uri *u, tb_err *e)
{
    int r = tb_uri_parse(uri, u, e);
    if (r) return r;
    if (u->scheme != TB_URI_FILE) {
        r = tb_fail(e, TB_EUNAVAIL, "%s: %s:// locations are not supported by this build yet", uri, tb_scheme_name(u->scheme));
        tb_uri_free(u);
        return r;
    }
    return 0;
}

int tb_blob_read(const struct tb_store_cfg *cfg, const char *uri, char **data, size_t *len, tb_err *e)
{
    if (is_remote(uri)) return remote_read(cfg, uri, data, len, e);
    struct tb_uri u;
    int r = local_path(uri, &u, e);
    if (r) return r;
    r = tb_read_file(u.path, data, len, e);
    tb_uri_free(&u);
    return r;
}

int tb_blob_write(const struct tb_store_cfg *cfg, const char *uri, const void *data, size_t len, const char *content_type, tb_err *e)
{
    if (is_remote(uri)) return remote_write(cfg, uri, data, len, content_type, e);
    (void)content_type;
    struct tb_uri u;
    int r = local_path(uri, &u, e);
    if (r) return r;
    char *dir = strdup(u.path);
    char *sl = dir ? strrchr(dir, '/') : NULL;
    if (sl && sl != dir) { *sl = 0; r = tb_mkdirs(dir, e); }
    free(dir);
    if (!r) r = tb_atomic_write(u.path, data, len, e);
    tb_uri_free(&u);
    return r;
}

int tb_blob_head(const struct tb_store_cfg *cfg, const char *uri, uint64_t *size, int *exists, tb_err *e)
{
    if (is_remote(uri)) return remote_head(cfg, uri, size, exists, e);
    struct tb_uri u;
    int r = local_path(uri, &u, e);
    if (r) return r;
    struct stat st;
    *exists = 0;
    *size = 0;
    if (stat(u.path, &st) == 0 && S_ISREG(st.st_mode)) { *exists = 1; *size = (uint64_t)st.st_size; }
    else if (errno != ENOENT && errno != ENOTDIR && errno != 0) r = tb_fail_errno(e, TB_EIO, "cannot stat %s", u.path);
    tb_uri_free(&u);
    return r;
}

int tb_blob_stream(const struct tb_store_cfg *cfg, const char *uri, int (*cb)(void *, const void *, size_t), void *arg, tb_err *e)
{
    if (is_remote(uri)) return remote_stream(cfg, uri, cb, arg, e);
    struct tb_uri u;
    int r = local_path(uri, &u, e);
    if (r) return r;
    int fd = open(u.path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) { r = tb_fail_errno(e, 0, "cannot open %s", u.path); tb_uri_free(&u); return r; }
    static const size_t bufsz = 1 << 20;
    char *buf = malloc(bufsz);
    if (!buf) r = tb_fail(e, TB_ESOFTWARE, "out of memory");
    while (!r) {
        ssize_t n = read(fd, buf, bufsz);
        if (n < 0) { if (errno == EINTR) continue; r = tb_fail_errno(e, TB_EIO, "read of %s failed", u.path); break; }
        if (n == 0) break;
        r = cb(arg, buf, (size_t)n);
    }
    free(buf);
    close(fd);
    tb_uri_free(&u);
    return r;
}

void tb_listing_free(struct tb_listing *l)
{
    free(l->objs);
    free(l->arena);
    memset(l, 0, sizeof *l);
}

int tb_listing_add(struct tb_listing *l, const char *key, size_t klen, uint64_t size)
{
    if (l->arena_len + klen + 1 > l->arena_cap) {
        size_t nc = l->arena_cap ? l->arena_cap * 2 : 1 << 16;
        while (nc < l->arena_len + klen + 1) nc *= 2;
        char *na = realloc(l->arena, nc);
        if (!na) return -1;
        l->arena = na;
        l->arena_cap = nc;
    }
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 256;
        struct tb_obj *no = realloc(l->objs, nc * sizeof *no);
        if (!no) return -1;
        l->objs = no;
        l->cap = nc;
    }
    memcpy(l->arena + l->arena_len, key, klen);
    l->arena[l->arena_len + klen] = 0;
    /* store the offset for now; tb_listing_finish turns it into a pointer */
    l->objs[l->n].key = (const char *)(uintptr_t)l->arena_len;
    l->objs[l->n].size = size;
    l->n++;
    l->arena_len += klen + 1;
    return 0;
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

/* Walk a directory tree; symlinks are not followed (a listing must not leave the prefix). */
static int walk(struct tb_listing *l, char *path, size_t base, size_t len, tb_err *e)
{
    DIR *d = opendir(path);
    if (!d) return tb_fail_errno(e, 0, "cannot list %s", path);
    struct dirent *de;
    int r = 0;
    while (!r && (de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
        size_t nl = strlen(de->d_name);
        if (len + 1 + nl >= 4096) { r = tb_fail(e, TB_EIO, "path too long under %s", path); break; }
        path[len] = '/';
        memcpy(path + len + 1, de->d_name, nl + 1);
        struct stat st;
        if (lstat(path, &st) != 0) { r = tb_fail_errno(e, TB_EIO, "cannot stat %s", path); break; }
        if (S_ISDIR(st.st_mode)) r = walk(l, path, base, len + 1 + nl, e);
        else if (S_ISREG(st.st_mode) && tb_listing_add(l, path + base, len + 1 + nl - base, (uint64_t)st.st_size))
            r = tb_fail(e, TB_ESOFTWARE, "out of memory");
        path[len] = 0;
    }
    closedir(d);
    return r;
}

int tb_blob_list(const struct tb_store_cfg *cfg, const char *prefix_uri, struct tb_listing *out, tb_err *e)
{
    if (is_remote(prefix_uri)) return remote_list(cfg, prefix_uri, out, e);
    memset(out, 0, sizeof *out);
    struct tb_uri u;
    int r = local_path(prefix_uri, &u, e);
    if (r) return r;
    char path[4096];
    size_t n = strlen(u.path);
    while (n > 1 && u.path[n - 1] == '/') n--;
    if (n >= sizeof path) { tb_uri_free(&u); return tb_fail(e, TB_EUSAGE, "path too long"); }
    memcpy(path, u.path, n);
    path[n] = 0;
    struct stat st;
    if (stat(path, &st) != 0) r = tb_fail_errno(e, 0, "cannot list %s", path);
    else if (!S_ISDIR(st.st_mode)) r = tb_fail(e, TB_EUSAGE, "%s is not a directory", path);
    else r = walk(out, path, n + 1, n, e);
    tb_uri_free(&u);
    if (r) { tb_listing_free(out); return r; }
    tb_listing_finish(out);
    return 0;
}
