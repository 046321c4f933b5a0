/* store_file: plain directories and file:// URIs as a store. Keys are file paths. Every write goes
 * to a temp beside the target, is fsynced and renamed (or linked, for --no-clobber, so an existing
 * file is never replaced), so a reader never sees half a file. The whole file's sha256 is kept in the
 * extended attribute user.trainbox.sha256 when the file system supports it. Multipart uploads are a
 * temp file "<key>.tb-mp-<id>" written at each part's offset and renamed on completion.
 * The mtime metadata (meta_mtime, rclone's form) is the file's own mtime: set when a write with one
 * is published, reported by HEAD and LIST. COPY is a byte copy through a temp (lib/atomic) renamed
 * into place, keeping the source's sha256 and mtime unless new ones are given.
 * All work happens inside prepare() (returns TB_STORE_LOCAL): no HTTP, same request lifecycle. */
#include "alloc.h"
#include "hash.h"
#include "mtime.h"
#include "store.h"
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>
#include "alloc.h"
#include "atomic.h"
#include "walk.h"

#define XATTR "user.trainbox.sha256"

static const struct tb_store_backend file_backend;

int tb_store_file_open(struct tb_store *s, tb_err *e)
{
    (void)e;
    s->be = &file_backend;
    s->be_ctx = NULL;
    return 0;
}

static int mkparent(const char *path, tb_err *e)
{
    char *d = tb_xstrdup(path);
    char *dir = dirname(d);
    int rc = 0;
    if (strcmp(dir, ".") && strcmp(dir, "/")) rc = tb_mkdirs(dir, e);
    free(d);
    return rc;
}

static int copy_body(int fd, const struct tb_body *b, uint64_t at, tb_err *e, const char *what)
{
    char buf[1 << 16];
    uint64_t done = 0;
    while (done < b->len) {
        size_t want = b->len - done < sizeof buf ? (size_t)(b->len - done) : sizeof buf;
        const char *src;
        if (b->fd >= 0) {
            ssize_t n = pread(b->fd, buf, want, (off_t)(b->off + done));
            if (n < 0) return tb_fail_errno(e, TB_EIO, "reading the source of %s", what);
            if (n == 0) return tb_fail(e, TB_EDATA, "the source of %s shrank while being copied", what);
            want = (size_t)n;
            src = buf;
        } else {
            src = (const char *)b->mem + b->off + done;
        }
        for (size_t w = 0; w < want;) {
            ssize_t n = pwrite(fd, src + w, want - w, (off_t)(at + done + w));
            if (n < 0) return tb_fail_errno(e, TB_FROM_ERRNO_OUT, "writing %s", what);
            w += (size_t)n;
        }
        done += want;
    }
    return 0;
}

static void fill_info(const char *path, const struct stat *st, struct tb_obj_info *info)
{
    info->exists = 1;
    info->size = (uint64_t)st->st_size;
    info->mtime = st->st_mtime;
    tb_mtime_format(&st->st_mtim, info->meta_mtime);
    ssize_t n = getxattr(path, XATTR, info->sha256, 64);
    if (n == 64) info->sha256[64] = 0;
    else info->sha256[0] = 0;
}

/* The file's mtime from meta_mtime (NULL or "": left as it is). */
static int set_mtime(int fd, const char *meta_mtime, const char *what, tb_err *e)
{
    if (!meta_mtime || !*meta_mtime) return 0;
    struct timespec ts[2];
    if (tb_mtime_parse(meta_mtime, &ts[1]) != 0) return tb_fail(e, TB_EUSAGE, "%s: '%s' is not an mtime", what, meta_mtime);
    ts[0].tv_sec = 0;
    ts[0].tv_nsec = UTIME_OMIT; /* the access time stays */
    if (futimens(fd, ts) != 0) return tb_fail_errno(e, TB_FROM_ERRNO_OUT, "set the mtime of %s", what);
    return 0;
}

/* sha256 (NULL: none) and mtime metadata onto fd, then fsync + rename (or link when no-clobber)
 * tmp into final. fd is closed and tmp is gone whatever happens. */
static int publish(struct tb_store_req *r, int fd, const char *tmp, const char *final, const char *sha256,
                   const char *meta_mtime, tb_err *e)
{
    if (sha256 && strlen(sha256) == 64) fsetxattr(fd, XATTR, sha256, 64, 0); /* best effort */
    int mrc = set_mtime(fd, meta_mtime, final, e);
    if (mrc) { close(fd); unlink(tmp); return mrc; }
    if (fsync(fd) != 0) { int rc = tb_fail_errno(e, TB_FROM_ERRNO_OUT, "fsync %s", tmp); close(fd); unlink(tmp); return rc; }
    if (close(fd) != 0) { int rc = tb_fail_errno(e, TB_FROM_ERRNO_OUT, "close %s", tmp); unlink(tmp); return rc; }
    if (r->if_none_match) {
        if (link(tmp, final) != 0) {
            int err = errno;
            unlink(tmp);
            if (err == EEXIST) {
                r->precond_failed = 1;
                return tb_fail(e, TB_EDATA, "%s exists and --no-clobber refuses to replace it", final);
            }
            errno = err;
            return tb_fail_errno(e, TB_FROM_ERRNO_OUT, "link %s", final);
        }
        unlink(tmp);
    } else if (rename(tmp, final) != 0) {
        int rc = tb_fail_errno(e, TB_FROM_ERRNO_OUT, "rename %s", final);
        unlink(tmp);
        return rc;
    }
    return tb_fsync_dir_of(final, e);
}

static int do_put(struct tb_store_req *r, tb_err *e)
{
    const char *key = r->key;
    int rc = mkparent(key, e);
    if (rc) return rc;
    size_t n = strlen(key) + 32;
    char *tmp = tb_xmalloc(n);
    snprintf(tmp, n, "%s.tmp.%d.%lx", key, (int)getpid(), (unsigned long)random());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) { rc = tb_fail_errno(e, TB_FROM_ERRNO_OUT, "create %s", tmp); free(tmp); return rc; }
    rc = copy_body(fd, &r->body, 0, e, key);
    if (rc) { close(fd); unlink(tmp); free(tmp); return rc; }
    rc = publish(r, fd, tmp, key, r->sha256, r->meta_mtime, e);
    free(tmp);
    if (rc) return rc;
    r->info.exists = 1;
    r->info.size = r->body.len;
    if (r->sha256) snprintf(r->info.sha256, sizeof r->info.sha256, "%s", r->sha256);
    if (r->meta_mtime) snprintf(r->info.meta_mtime, sizeof r->info.meta_mtime, "%s", r->meta_mtime);
    return 0;
}

static char *mp_path(const char *key, const char *id)
{
    size_t n = strlen(key) + strlen(id) + 16;
    char *p = tb_xmalloc(n);
    snprintf(p, n, "%s.tb-mp-%s", key, id);
    return p;
}

static int do_get(struct tb_store_req *r, tb_err *e)
{
    int fd = open(r->key, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return tb_fail_errno(e, 0, "open %s", r->key);
    struct stat st;
    fstat(fd, &st);
    fill_info(r->key, &st, &r->info);
    uint64_t off = r->range_off, end = (uint64_t)st.st_size;
    if (r->range_len && off + r->range_len < end) end = off + r->range_len;
    char buf[1 << 16];
    size_t cap = 0;
    int rc = 0;
    while (off < end) {
        size_t want = end - off < sizeof buf ? (size_t)(end - off) : sizeof buf;
        ssize_t n = pread(fd, buf, want, (off_t)off);
        if (n < 0) { rc = tb_fail_errno(e, 0, "read %s", r->key); break; }
        if (n == 0) break;
        if (r->sink) {
            if (r->sink(r->sink_ud, buf, (size_t)n) != (size_t)n) { rc = tb_fail(e, TB_EIO, "writing what was read from %s failed", r->key); break; }
        } else {
            tb_xgrow(&r->data, &cap, r->data_len + (size_t)n + 1);
            memcpy(r->data + r->data_len, buf, (size_t)n);
            r->data_len += (size_t)n;
            r->data[r->data_len] = 0;
        }
        off += (uint64_t)n;
    }
    if (!r->sink && !r->data) r->data = tb_xcalloc(1, 1);
    close(fd);
    return rc;
}

/* LIST: every regular file whose path starts with the prefix, in the byte order of the path (an
 * object store's order: lib/walk); with a delimiter, a directory right after the prefix is the
 * common prefix "DIR/" instead of being entered. Symlinks (never followed: a listing stays under
 * its prefix), other non-regular files and in-progress writes (.tb-mp-, .partial) are not objects.
 * A missing start directory is an empty listing, as a bucket without such keys; a directory that
 * cannot be read fails the listing (a file not seen is not a file that is not there). */
struct lister { struct tb_store_req *r; const char *prefix; size_t plen, cap, pcap; int delim; };

static void add_item(struct lister *l, const struct tb_walk_ent *ent)
{
    struct tb_store_req *r = l->r;
    tb_xgrow_n(&r->items, &l->cap, r->nitems + 1, sizeof *r->items, 64);
    struct tb_obj_info *it = &r->items[r->nitems++];
    memset(it, 0, sizeof *it);
    struct stat st;
    memset(&st, 0, sizeof st);
    st.st_size = (off_t)ent->size;
    st.st_mtim = ent->mtime;
    fill_info(ent->full, &st, it);
    it->key = tb_xstrdup(ent->full);
}

static void add_prefix(struct lister *l, const struct tb_walk_ent *ent)
{
    struct tb_store_req *r = l->r;
    tb_xgrow_n(&r->prefixes, &l->pcap, r->nprefixes + 1, sizeof *r->prefixes, 16);
    char *p = tb_xmalloc(strlen(ent->full) + 2);
    strcpy(stpcpy(p, ent->full), "/");
    r->prefixes[r->nprefixes++] = p;
}

/* One walk entry: 0, or an exit code for an error that fails the listing. */
static int list_entry(struct lister *l, struct tb_walk *w, const struct tb_walk_ent *ent, tb_err *e)
{
    const char *p = ent->full;
    size_t len = strlen(p);
    int under = len >= l->plen && memcmp(p, l->prefix, l->plen) == 0;
    switch (ent->type) {
    case TB_WALK_DIR:
        /* enter only what can hold keys under the prefix: a directory inside it, or one the
         * prefix goes on into ("a/b" for the prefix "a/b/c") */
        if (under && l->delim) { add_prefix(l, ent); tb_walk_prune(w); }
        else if (!under && !(memcmp(p, l->prefix, len) == 0 && l->prefix[len] == '/')) tb_walk_prune(w);
        return 0;
    case TB_WALK_FILE:
        if (under && !strstr(p, ".tb-mp-") && !strstr(p, ".partial")) add_item(l, ent);
        return 0;
    case TB_WALK_ERROR:
        if (ent->err == ENOENT) return 0; /* gone since its directory was read */
        errno = ent->err;
        return S_ISDIR(ent->mode) ? tb_fail_errno(e, 0, "cannot list %s", p) : tb_fail_errno(e, 0, "cannot stat %s", p);
    default:
        return 0;
    }
}

static int do_list(struct tb_store_req *r, tb_err *e)
{
    const char *prefix = r->prefix ? r->prefix : "";
    struct lister l = {r, prefix, strlen(prefix), 0, 0, r->delimiter && *r->delimiter};
    /* start at the deepest directory the prefix names ("" is the current directory) */
    char *d = tb_xstrdup(prefix);
    char *slash = strrchr(d, '/');
    if (slash) { if (slash == d) slash[1] = 0; else *slash = 0; }
    else d[0] = 0;
    struct tb_walk w;
    tb_err oe = {0};
    int rc = tb_walk_open(&w, d, &oe);
    free(d);
    if (rc) {
        if (errno == ENOENT || errno == ENOTDIR) return 0; /* no such keys */
        if (e) *e = oe;
        return rc;
    }
    struct tb_walk_ent ent;
    while (!rc && tb_walk_next(&w, &ent)) rc = list_entry(&l, &w, &ent, e);
    tb_walk_close(&w);
    return rc;
}

static int do_head(struct tb_store_req *r, tb_err *e)
{
    struct stat st;
    errno = 0;
    if (stat(r->key, &st) == 0 && S_ISREG(st.st_mode)) fill_info(r->key, &st, &r->info);
    else if (errno == ENOENT || errno == ENOTDIR || errno == 0) r->info.exists = 0;
    else return tb_fail_errno(e, 0, "stat %s", r->key);
    return 0;
}

/* The upload id is "PID-RANDOM", then "@MTIME" when MP_CREATE was given a meta_mtime (COMPLETE
 * sets it: the temp's own mtime changes with every part written). */
static int do_mp_create(struct tb_store_req *r, tb_err *e)
{
    int n = snprintf(r->upload_id_out, sizeof r->upload_id_out, "%d-%lx%lx", (int)getpid(), (unsigned long)time(NULL),
                     (unsigned long)random());
    if (r->meta_mtime && *r->meta_mtime) {
        struct timespec ts;
        if (tb_mtime_parse(r->meta_mtime, &ts) != 0) return tb_fail(e, TB_EUSAGE, "%s: '%s' is not an mtime", r->key, r->meta_mtime);
        snprintf(r->upload_id_out + n, sizeof r->upload_id_out - (size_t)n, "@%s", r->meta_mtime);
    }
    int rc = mkparent(r->key, e);
    if (rc) return rc;
    char *p = mp_path(r->key, r->upload_id_out);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) rc = tb_fail_errno(e, TB_FROM_ERRNO_OUT, "create %s", p);
    else {
        if (r->total_size && ftruncate(fd, (off_t)r->total_size) != 0) rc = tb_fail_errno(e, TB_FROM_ERRNO_OUT, "size %s", p);
        if (r->sha256 && strlen(r->sha256) == 64) fsetxattr(fd, XATTR, r->sha256, 64, 0);
        close(fd);
    }
    free(p);
    return rc;
}

static int do_mp_part(struct tb_store_req *r, tb_err *e)
{
    char *p = mp_path(r->key, r->upload_id);
    int rc, fd = open(p, O_WRONLY | O_CLOEXEC);
    if (fd < 0) rc = tb_fail_errno(e, 0, "open %s", p);
    else {
        rc = copy_body(fd, &r->body, r->part_off, e, p);
        close(fd);
    }
    snprintf(r->part_etag, sizeof r->part_etag, "part-%d", r->part_num);
    free(p);
    return rc;
}

static int do_mp_complete(struct tb_store_req *r, tb_err *e)
{
    char *p = mp_path(r->key, r->upload_id);
    const char *at = strchr(r->upload_id, '@');
    const char *mt = r->meta_mtime && *r->meta_mtime ? r->meta_mtime : at ? at + 1 : NULL;
    int rc, fd = open(p, O_WRONLY | O_CLOEXEC);
    if (fd < 0) rc = tb_fail_errno(e, 0, "open %s", p);
    else rc = publish(r, fd, p, r->key, r->sha256, mt, e); /* the create's sha256 is on the temp already */
    free(p);
    struct stat st;
    if (!rc && stat(r->key, &st) == 0) fill_info(r->key, &st, &r->info);
    return rc;
}

static int do_mp_abort(struct tb_store_req *r, tb_err *e)
{
    char *p = mp_path(r->key, r->upload_id);
    int rc = 0;
    if (unlink(p) != 0 && errno != ENOENT) rc = tb_fail_errno(e, 0, "remove %s", p);
    free(p);
    return rc;
}

/* COPY: the source's bytes into a temp beside the destination, its sha256 and mtime kept unless
 * new ones are given, renamed into place (lib/atomic: fsynced, removed if interrupted). */
static int do_copy(struct tb_store_req *r, tb_err *e)
{
    if (!r->copy_src || !*r->copy_src) return tb_fail(e, TB_EUSAGE, "COPY %s: no source", r->key);
    int in = open(r->copy_src, O_RDONLY | O_CLOEXEC);
    if (in < 0) return tb_fail_errno(e, 0, "open %s", r->copy_src);
    struct stat st;
    struct tb_obj_info src = {0};
    if (fstat(in, &st) != 0 || !S_ISREG(st.st_mode)) {
        int rc = S_ISDIR(st.st_mode) ? tb_fail(e, TB_ENOINPUT, "%s is a directory", r->copy_src)
                                     : tb_fail_errno(e, 0, "stat %s", r->copy_src);
        close(in);
        return rc;
    }
    fill_info(r->copy_src, &st, &src);
    const char *sha = r->sha256 && *r->sha256 ? r->sha256 : src.sha256;
    const char *mt = r->meta_mtime && *r->meta_mtime ? r->meta_mtime : src.meta_mtime;
    int rc = mkparent(r->key, e);
    struct tb_afile f;
    char sfx[64];
    snprintf(sfx, sizeof sfx, ".tmp.%d.%lx", (int)getpid(), (unsigned long)random());
    if (!rc) rc = tb_afile_open(&f, r->key, sfx, e);
    if (!rc) {
        struct tb_body b = {in, NULL, 0, (uint64_t)st.st_size};
        rc = copy_body(f.fd, &b, 0, e, r->key);
        if (!rc && strlen(sha) == 64) fsetxattr(f.fd, XATTR, sha, 64, 0); /* best effort, as publish */
        if (!rc) rc = set_mtime(f.fd, mt, r->key, e);
        if (!rc) rc = tb_afile_commit(&f, e);
        else tb_afile_abort(&f);
    }
    close(in);
    if (rc) return rc;
    r->info = src;
    r->info.key = NULL;
    snprintf(r->info.sha256, sizeof r->info.sha256, "%s", sha);
    snprintf(r->info.meta_mtime, sizeof r->info.meta_mtime, "%s", mt);
    return 0;
}

static int file_prepare(struct tb_store *s, struct tb_store_req *r, struct tb_http_req *h, tb_err *e)
{
    (void)h;
    int rc = 0;
    switch (r->op) {
    case TB_OP_HEAD: rc = do_head(r, e); break;
    case TB_OP_GET: rc = do_get(r, e); break;
    case TB_OP_PUT: rc = do_put(r, e); break;
    case TB_OP_DELETE:
        if (unlink(r->key) != 0 && errno != ENOENT) rc = tb_fail_errno(e, 0, "delete %s", r->key);
        break;
    case TB_OP_LIST: rc = do_list(r, e); break;
    case TB_OP_MP_CREATE: rc = do_mp_create(r, e); break;
    case TB_OP_MP_PART: rc = do_mp_part(r, e); break;
    case TB_OP_MP_COMPLETE: rc = do_mp_complete(r, e); break;
    case TB_OP_MP_ABORT: rc = do_mp_abort(r, e); break;
    case TB_OP_CREATE_ROOT:
        rc = tb_mkdirs(s->root.path && *s->root.path ? s->root.path : ".", e);
        break;
    case TB_OP_COPY: rc = do_copy(r, e); break;
    }
    return rc ? rc : TB_STORE_LOCAL;
}

static int file_finish(struct tb_store *s, struct tb_store_req *r, struct tb_http_req *h, tb_err *e)
{
    return tb_store_http_error(s, r, h, e); /* never reached: file requests complete in prepare */
}

static const struct tb_store_backend file_backend = {
    .name = "file",
    .prepare = file_prepare,
    .finish = file_finish,
    .min_part = 1,
    .max_part = ~0ull,
    .max_parts = 1 << 30,
    .etag_is_md5 = 0,
    .copy_max = ~0ull,
};
