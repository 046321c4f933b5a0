/* walk: a depth-first walk in full-path byte order, one sorted level per directory (see walk.h). */
#include "walk.h"
#include "alloc.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct walk_item {
    const char *key;       /* the name, with a '/' appended for a directory: the sort key */
    size_t nlen;           /* the name's length (without that '/') */
    mode_t mode;
    int err;               /* fstatat failed with this errno */
    uint64_t size;
    struct timespec mtime, ctime;
};

struct tb_walk_level {
    struct walk_item *items;
    size_t n, cap, next;
    char *names;           /* the keys' bytes */
    size_t nlen, ncap;
    size_t dirlen;         /* length of the directory's full path in w->buf */
};

static int key_cmp(const void *a, const void *b)
{
    return strcmp(((const struct walk_item *)a)->key, ((const struct walk_item *)b)->key);
}

/* Read the directory named by w->buf[0..w->len) into a new level, sorted. 0 or errno. */
static int push_level(struct tb_walk *w)
{
    DIR *d = opendir(w->len ? w->buf : ".");
    if (!d) return errno;
    if (w->depth == w->nlevels) {
        tb_xgrow_n(&w->levels, &w->nlevels, w->depth + 1, sizeof *w->levels, 8);
        memset(w->levels + w->depth, 0, (w->nlevels - w->depth) * sizeof *w->levels);
    }
    struct tb_walk_level *L = &w->levels[w->depth];
    L->n = L->next = L->nlen = 0;
    L->dirlen = w->len;
    int fd = dirfd(d), rc = 0;
    struct dirent *de;
    for (;;) {
        errno = 0;
        if (!(de = readdir(d))) { rc = errno; break; }
        const char *nm = de->d_name;
        if (nm[0] == '.' && (!nm[1] || (nm[1] == '.' && !nm[2]))) continue;
        size_t nl = strlen(nm);
        tb_xgrow_n(&L->items, &L->cap, L->n + 1, sizeof *L->items, 64);
        tb_xgrow(&L->names, &L->ncap, L->nlen + nl + 2);
        struct walk_item *it = &L->items[L->n++];
        memset(it, 0, sizeof *it);
        it->nlen = nl;
        struct stat st;
        if (fstatat(fd, nm, &st, AT_SYMLINK_NOFOLLOW) != 0) it->err = errno;
        else {
            it->mode = st.st_mode;
            it->size = (uint64_t)st.st_size;
            it->mtime = st.st_mtim;
            it->ctime = st.st_ctim;
        }
        memcpy(L->names + L->nlen, nm, nl);
        if (!it->err && S_ISDIR(it->mode)) L->names[L->nlen + nl++] = '/';
        L->names[L->nlen + nl] = 0;
        it->key = (const char *)(uintptr_t)L->nlen; /* an offset until the names stop moving */
        L->nlen += nl + 1;
    }
    closedir(d);
    if (rc) return rc;
    for (size_t i = 0; i < L->n; i++) L->items[i].key = L->names + (uintptr_t)L->items[i].key;
    if (L->n) qsort(L->items, L->n, sizeof *L->items, key_cmp); /* (an empty directory has no array) */
    w->depth++;
    return 0;
}

/* w->buf = the directory's path + '/' + name (no '/' after "" or a path already ending in one). */
static void set_path(struct tb_walk *w, size_t dirlen, const char *name, size_t nlen)
{
    size_t at = dirlen;
    int sep = dirlen && w->buf[dirlen - 1] != '/';
    tb_xgrow(&w->buf, &w->cap, at + sep + nlen + 1);
    if (sep) w->buf[at++] = '/';
    memcpy(w->buf + at, name, nlen);
    w->len = at + nlen;
    w->buf[w->len] = 0;
}

static void fill(struct tb_walk *w, struct tb_walk_ent *ent, enum tb_walk_type type, size_t nlen)
{
    memset(ent, 0, sizeof *ent);
    ent->type = type;
    ent->full = w->buf;
    ent->path = w->buf + w->rel;
    ent->len = w->len - w->rel;
    ent->name = w->buf + w->len - nlen;
    w->nlen = nlen;
}

int tb_walk_open(struct tb_walk *w, const char *root, tb_err *e)
{
    memset(w, 0, sizeof *w);
    size_t n = strlen(root);
    tb_xgrow(&w->buf, &w->cap, n + 2);
    memcpy(w->buf, root, n + 1);
    w->len = n;
    w->rel = n && root[n - 1] != '/' ? n + 1 : n;
    int err = push_level(w);
    if (err) {
        errno = err;
        int rc = tb_fail_errno(e, 0, "cannot list %s", n ? root : ".");
        tb_walk_close(w);
        errno = err;
        return rc;
    }
    return 0;
}

void tb_walk_prune(struct tb_walk *w) { w->descend = 0; }

int tb_walk_next(struct tb_walk *w, struct tb_walk_ent *ent)
{
    if (w->descend) {
        w->descend = 0;
        int err = push_level(w);
        if (err) {
            /* w->buf still names the directory; its lstat data are still its item's */
            const struct tb_walk_level *P = &w->levels[w->depth - 1];
            const struct walk_item *it = &P->items[P->next - 1];
            fill(w, ent, TB_WALK_ERROR, w->nlen);
            ent->mode = it->mode;
            ent->size = it->size;
            ent->mtime = it->mtime;
        ent->ctime = it->ctime;
            ent->err = err;
            return 1;
        }
    }
    while (w->depth) {
        struct tb_walk_level *L = &w->levels[w->depth - 1];
        if (L->next == L->n) {
            w->depth--;
            continue;
        }
        const struct walk_item *it = &L->items[L->next++];
        set_path(w, L->dirlen, it->key, it->nlen);
        enum tb_walk_type t = it->err ? TB_WALK_ERROR
                            : S_ISREG(it->mode) ? TB_WALK_FILE
                            : S_ISDIR(it->mode) ? TB_WALK_DIR
                            : S_ISLNK(it->mode) ? TB_WALK_SYMLINK : TB_WALK_OTHER;
        fill(w, ent, t, it->nlen);
        ent->mode = it->mode;
        ent->size = it->size;
        ent->mtime = it->mtime;
        ent->ctime = it->ctime;
        ent->err = it->err;
        w->descend = t == TB_WALK_DIR;
        return 1;
    }
    return 0;
}

void tb_walk_close(struct tb_walk *w)
{
    for (size_t i = 0; i < w->nlevels; i++) {
        free(w->levels[i].items);
        free(w->levels[i].names);
    }
    free(w->levels);
    free(w->buf);
    memset(w, 0, sizeof *w);
}
