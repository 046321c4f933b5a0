/* cat_cache: the on-disk LRU cache of whole files cat reads from stores (locking rules: cat_cache.h). */
#include "cat_cache.h"
#include "alloc.h"
#include "atomic.h"
#include "hash.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct tb_cat_cache {
    char *dir, *tmpdir;
    uint64_t max;
    int lockfd;               /* DIR/.lock: flock'ed by evictors */
    pthread_mutex_t mu;       /* the threads of this process share lockfd's one open file: flock
                               * does not exclude them from each other, this does */
    unsigned long seq;        /* temp names (under mu) */
};

/* One file a scan found. */
struct cent {
    char name[128];           /* entries: the 64-hex name; temps: the name in DIR/tmp */
    struct timespec mtime;
    uint64_t size;
};

struct scan {
    struct cent *ents, *temps;
    size_t nents, cents, ntemps, ctemps;
};

static int is_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return 0;
    return s[n] == 0;
}

static int flock_retry(int fd, int op)
{
    int r;
    while ((r = flock(fd, op)) != 0 && errno == EINTR)
        ;
    return r;
}

int tb_cat_cache_open(struct tb_cat_cache **out, const char *dir, uint64_t max_bytes, tb_err *e)
{
    *out = NULL;
    int rc = 0;
    if (mkdir(dir, 0700) != 0 && errno == ENOENT) { /* its parents first (as mkdir -p makes them) */
        char *parent = tb_xstrdup(dir);
        char *slash = strrchr(parent, '/');
        if (slash && slash != parent) *slash = 0;
        rc = tb_mkdirs(parent, e);
        free(parent);
        if (rc) return tb_err_wrap(e, "cache directory %s", dir);
        mkdir(dir, 0700);
    }
    char *tmpdir = tb_xasprintf("%s/tmp", dir);
    if (mkdir(tmpdir, 0700) != 0 && errno != EEXIST) { /* (also when dir could not be made) */
        rc = tb_fail_errno(e, TB_FROM_ERRNO_OUT, "cannot create cache directory %s", tmpdir);
        free(tmpdir);
        return rc;
    }
    char *lock = tb_xasprintf("%s/.lock", dir);
    int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) rc = tb_fail_errno(e, TB_FROM_ERRNO_OUT, "cannot open the cache's lock %s", lock);
    free(lock);
    if (rc) { free(tmpdir); return rc; }
    struct tb_cat_cache *c = tb_xcalloc(1, sizeof *c);
    c->dir = tb_xstrdup(dir);
    c->tmpdir = tmpdir;
    c->max = max_bytes;
    c->lockfd = fd;
    pthread_mutex_init(&c->mu, NULL);
    tb_err ee = {0};
    tb_cat_cache_evict(c, 0, &ee); /* the limit holds from the start (it may be smaller than last time) */
    *out = c;
    return 0;
}

void tb_cat_cache_close(struct tb_cat_cache *c)
{
    if (!c) return;
    close(c->lockfd);
    pthread_mutex_destroy(&c->mu);
    free(c->dir);
    free(c->tmpdir);
    free(c);
}

uint64_t tb_cat_cache_max(const struct tb_cat_cache *c) { return c->max; }

char *tb_cat_cache_ident(const struct tb_cat_input *in)
{
    if (in->size < 0 && !in->etag[0]) return NULL;
    return tb_xasprintf("%s\n%lld\n%s", in->name, (long long)in->size, in->etag);
}

static void hash_of(const char *ident, char hex[65]) { tb_sha256_hex(ident, strlen(ident), hex); }

char *tb_cat_cache_path(const struct tb_cat_cache *c, const char *ident)
{
    char h[65];
    hash_of(ident, h);
    return tb_xasprintf("%s/%.2s/%s", c->dir, h, h);
}

int tb_cat_cache_lookup(struct tb_cat_cache *c, const char *ident, int *fd_out)
{
    *fd_out = -1;
    char *path = tb_cat_cache_path(c, ident);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    free(path);
    if (fd < 0) return 0;
    /* an evictor holds LOCK_EX only while it deletes: waiting for it is short, and what we then
     * hold is the whole file even if it was unlinked meanwhile */
    struct stat st;
    if (flock_retry(fd, LOCK_SH) != 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return 0;
    }
    futimens(fd, NULL); /* the LRU clock; a failure only makes the entry look older */
    *fd_out = fd;
    return 1;
}

/* ---- scanning and eviction */

static void add_cent(struct cent **v, size_t *n, size_t *cap, const char *name, const struct stat *st)
{
    tb_xgrow_n(v, cap, *n + 1, sizeof **v, 64);
    struct cent *x = &(*v)[(*n)++];
    snprintf(x->name, sizeof x->name, "%s", name);
    x->mtime = st->st_mtim;
    x->size = (uint64_t)st->st_size;
}

static void scan_free(struct scan *s)
{
    free(s->ents);
    free(s->temps);
    memset(s, 0, sizeof *s);
}

/* Every entry (DIR/xx/<64 hex>, xx its first two digits) and every temp (DIR/tmp/ANY). Files gone
 * while the scan runs are left out; a subdirectory that cannot be read is skipped (its entries
 * are only not evictable). */
static int scan_dir(struct tb_cat_cache *c, struct scan *s, tb_err *e)
{
    memset(s, 0, sizeof *s);
    DIR *d = opendir(c->dir);
    if (!d) return tb_fail_errno(e, 0, "cannot read cache directory %s", c->dir);
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!is_hex(de->d_name, 2)) continue;
        int sfd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (sfd < 0) continue;
        DIR *sd = fdopendir(sfd);
        if (!sd) { close(sfd); continue; }
        struct dirent *fe;
        struct stat st;
        while ((fe = readdir(sd))) {
            if (!is_hex(fe->d_name, 64) || memcmp(fe->d_name, de->d_name, 2) != 0) continue;
            if (fstatat(sfd, fe->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) continue;
            add_cent(&s->ents, &s->nents, &s->cents, fe->d_name, &st);
        }
        closedir(sd);
    }
    closedir(d);
    d = opendir(c->tmpdir);
    if (!d) { scan_free(s); return tb_fail_errno(e, 0, "cannot read cache directory %s", c->tmpdir); }
    while ((de = readdir(d))) {
        struct stat st;
        if (de->d_name[0] == '.' || strlen(de->d_name) >= sizeof s->temps->name) continue;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) continue;
        add_cent(&s->temps, &s->ntemps, &s->ctemps, de->d_name, &st);
    }
    closedir(d);
    return 0;
}

static int lru_cmp(const void *pa, const void *pb)
{
    const struct cent *a = pa, *b = pb;
    if (a->mtime.tv_sec != b->mtime.tv_sec) return a->mtime.tv_sec < b->mtime.tv_sec ? -1 : 1;
    if (a->mtime.tv_nsec != b->mtime.tv_nsec) return a->mtime.tv_nsec < b->mtime.tv_nsec ? -1 : 1;
    return strcmp(a->name, b->name);
}

static int over(uint64_t total, uint64_t keep_free, uint64_t max)
{
    return total > max || keep_free > max - total;
}

/* Delete the entry x unless someone reads it: 1 deleted (or gone already), 0 in use. */
static int evict_one(struct tb_cat_cache *c, const struct cent *x)
{
    char *path = tb_xasprintf("%s/%.2s/%s", c->dir, x->name, x->name);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), gone = 0;
    if (fd < 0) {
        gone = errno == ENOENT;
    } else if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
        /* delete the file we locked, not one committed under the name since the scan */
        struct stat a, b;
        if (fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
            gone = unlink(path) == 0 || errno == ENOENT;
        else
            gone = 1; /* already replaced or removed: the old file is not there to count */
    }
    if (fd >= 0) close(fd);
    free(path);
    return gone;
}

int tb_cat_cache_evict(struct tb_cat_cache *c, uint64_t keep_free, tb_err *e)
{
    pthread_mutex_lock(&c->mu);
    int rc = 0;
    if (flock_retry(c->lockfd, LOCK_EX) != 0) {
        rc = tb_fail_errno(e, TB_EIO, "cannot lock cache directory %s", c->dir);
        pthread_mutex_unlock(&c->mu);
        return rc;
    }
    struct scan s;
    rc = scan_dir(c, &s, e);
    if (!rc) {
        uint64_t total = 0;
        time_t now = time(NULL);
        for (size_t i = 0; i < s.ntemps; i++) {
            struct cent *t = &s.temps[i];
            if (now - t->mtime.tv_sec > TB_CAT_CACHE_STALE_SECONDS) {
                char *p = tb_xasprintf("%s/%s", c->tmpdir, t->name);
                if (unlink(p) == 0 || errno == ENOENT) t->size = 0;
                free(p);
            }
            total += t->size;
        }
        for (size_t i = 0; i < s.nents; i++) total += s.ents[i].size;
        if (s.nents) qsort(s.ents, s.nents, sizeof *s.ents, lru_cmp);
        for (size_t i = 0; i < s.nents && over(total, keep_free, c->max); i++)
            if (evict_one(c, &s.ents[i])) total -= s.ents[i].size;
        scan_free(&s);
    }
    flock(c->lockfd, LOCK_UN);
    pthread_mutex_unlock(&c->mu);
    return rc;
}

int tb_cat_cache_usage(struct tb_cat_cache *c, struct tb_cat_cache_usage *u, tb_err *e)
{
    memset(u, 0, sizeof *u);
    struct scan s;
    int rc = scan_dir(c, &s, e);
    if (rc) return rc;
    u->entries = s.nents;
    u->temps = s.ntemps;
    for (size_t i = 0; i < s.nents; i++) u->entry_bytes += s.ents[i].size;
    for (size_t i = 0; i < s.ntemps; i++) u->temp_bytes += s.temps[i].size;
    scan_free(&s);
    return 0;
}

/* ---- downloads into the cache */

int tb_cat_cache_begin(struct tb_cat_cache *c, const char *ident, int64_t size, char **tmp_path, tb_err *e)
{
    *tmp_path = NULL;
    if (size >= 0 && (uint64_t)size > c->max) return 0;
    int rc = tb_cat_cache_evict(c, size > 0 ? (uint64_t)size : 0, e);
    if (rc) return rc;
    char h[65];
    hash_of(ident, h);
    pthread_mutex_lock(&c->mu);
    unsigned long n = ++c->seq;
    pthread_mutex_unlock(&c->mu);
    *tmp_path = tb_xasprintf("%s/%s.%ld.%lu", c->tmpdir, h, (long)getpid(), n);
    return 0;
}

void tb_cat_cache_abort(struct tb_cat_cache *c, char *tmp_path)
{
    (void)c;
    if (!tmp_path) return;
    unlink(tmp_path);
    char *partial = tb_xasprintf("%s.partial", tmp_path);
    unlink(partial);
    free(partial);
    free(tmp_path);
}

/* Put tmp (its fd locked) under final without replacing an entry there: 0 placed, 1 one was
 * there already, or an exit code. */
static int place(const char *tmp, const char *final, tb_err *e)
{
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, final, RENAME_NOREPLACE) == 0) return 0;
    if (errno == EEXIST) return 1;
    if (errno != EINVAL && errno != ENOSYS) return tb_fail_errno(e, TB_EIO, "cannot rename %s to %s", tmp, final);
    /* a file system without RENAME_NOREPLACE: a hard link fails the same way when taken */
    if (link(tmp, final) == 0) { unlink(tmp); return 0; }
    if (errno == EEXIST) return 1;
    /* nor hard links: replace (a reader of the file replaced keeps reading its own bytes) */
    if (rename(tmp, final) == 0) return 0;
    return tb_fail_errno(e, TB_EIO, "cannot rename %s to %s", tmp, final);
}

int tb_cat_cache_commit(struct tb_cat_cache *c, const char *ident, char *tmp_path, int *fd_out, tb_err *e)
{
    *fd_out = -1;
    int rc = 0;
    int fd = open(tmp_path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0) rc = tb_fail_errno(e, TB_EIO, "cannot open %s", tmp_path);
    else if (fstat(fd, &st) != 0 || fsync(fd) != 0) rc = tb_fail_errno(e, TB_EIO, "cannot sync %s", tmp_path);
    if (rc) {
        if (fd >= 0) close(fd);
        tb_cat_cache_abort(c, tmp_path);
        return rc;
    }
    if ((uint64_t)st.st_size > c->max) { /* too big to keep: read it once from the unlinked temp */
        unlink(tmp_path);
        free(tmp_path);
        *fd_out = fd;
        return 0;
    }
    flock_retry(fd, LOCK_SH); /* before it has its name, so no evictor ever sees it unlocked */
    char *final = tb_cat_cache_path(c, ident);
    char *sub = tb_xstrndup(final, strrchr(final, '/') - final);
    if (mkdir(sub, 0700) != 0 && errno != EEXIST) rc = tb_fail_errno(e, TB_FROM_ERRNO_OUT, "cannot create cache directory %s", sub);
    free(sub);
    int placed = 0;
    for (int tries = 0; !rc && !placed && tries < 8; tries++) {
        int p = place(tmp_path, final, e);
        if (p == 0) { placed = 1; break; }
        if (p != 1) { rc = p; break; }
        /* committed first by another process: read that one (unless evicted meanwhile: try again) */
        int other;
        if (tb_cat_cache_lookup(c, ident, &other)) {
            close(fd);
            unlink(tmp_path);
            fd = other;
            placed = 1;
        }
    }
    if (!rc && !placed) rc = tb_fail(e, TB_EIO, "cannot commit %s: the entry keeps changing", final);
    free(final);
    if (rc) {
        close(fd);
        tb_cat_cache_abort(c, tmp_path);
        return rc;
    }
    futimens(fd, NULL); /* used now (the download may have taken a while) */
    free(tmp_path);
    tb_err ee = {0};
    tb_cat_cache_evict(c, 0, &ee);
    *fd_out = fd;
    return 0;
}
