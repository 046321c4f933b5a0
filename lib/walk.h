/* walk: the one directory walker. It streams what lies under a root, as paths relative to it, in
 * the BYTE ORDER OF THE FULL RELATIVE PATH, the order an object store lists keys in, so a local tree
 * and a bucket listing merge in one pass: "a-b" and "a.b" come before "a/x" ('-' 0x2D and '.' 0x2E
 * are below '/' 0x2F), and "a/x" before "a0". That is not "sort each directory by name and recurse":
 * each directory's entries are sorted with directory names compared as if they ended in '/'.
 *
 *     struct tb_walk w;
 *     struct tb_walk_ent ent;
 *     if (tb_walk_open(&w, root, e)) return e->code;
 *     while (tb_walk_next(&w, &ent)) {
 *         if (ent.type == TB_WALK_ERROR) ...      // a directory that cannot be read, a vanished entry
 *         else if (ent.type == TB_WALK_FILE) ...  // open ent.full
 *         else if (ent.type == TB_WALK_DIR && skip_it) tb_walk_prune(&w);
 *     }
 *     tb_walk_close(&w);
 *
 * Entries: every regular file, symlink and other non-directory (fifo, socket, device) once, and
 * every directory once, just before what is under it (at the place "DIR/" sorts). Type, mode,
 * size, mtime and ctime are lstat's: symlinks are NEVER followed (a symlink to a directory is
 * reported as TB_WALK_SYMLINK and not entered), so a walk cannot leave the root; callers refuse or
 * skip them.
 * The root itself is followed if it is a symlink (it is what the user named).
 *
 * Errors do not stop the walk and are never silent: a directory that cannot be read is reported
 * (after its TB_WALK_DIR entry) as a TB_WALK_ERROR entry with its path and errno, and the walk goes
 * on with its next sibling; so is an entry that vanished or cannot be stat'ed. The caller decides
 * whether that fails its work.
 *
 * Memory: one sorted level per directory on the current path (the names and lstat data of that
 * directory), so depth times the largest directory, never the whole tree; one open directory
 * at a time (each is read whole, then closed), so depth costs no file descriptors. Out of memory
 * exits (lib/alloc). A type that changes between the read of a directory and its use (a race with
 * a writer) is reported as it was read. */
#ifndef TB_WALK_H
#define TB_WALK_H
#include "err.h"
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

enum tb_walk_type {
    TB_WALK_FILE,    /* a regular file */
    TB_WALK_DIR,     /* a directory (entered next unless pruned) */
    TB_WALK_SYMLINK, /* a symlink, not followed: size is the length of its target text */
    TB_WALK_OTHER,   /* fifo, socket, device */
    TB_WALK_ERROR,   /* path could not be read (a directory) or stat'ed: err says why */
};

struct tb_walk_ent {
    enum tb_walk_type type;
    const char *path;        /* relative to the root ("a/b.txt"), NUL-terminated; valid until the next call */
    size_t len;              /* strlen(path) */
    const char *name;        /* the last component of path */
    const char *full;        /* the root joined with path: what to open (root "" gives path itself) */
    mode_t mode;             /* lstat's st_mode; TB_WALK_ERROR: a directory's (S_ISDIR: it could not be
                              * read), 0 when lstat itself failed */
    uint64_t size;           /* lstat's st_size */
    struct timespec mtime;   /* lstat's st_mtim */
    struct timespec ctime;   /* lstat's st_ctim (any change, even one that set mtime back) */
    int err;                 /* TB_WALK_ERROR: the errno */
};

struct tb_walk_level; /* private */
struct tb_walk {
    char *buf;                     /* the full path of the current entry */
    size_t cap, len, rel;          /* buf's capacity and length; where the relative part starts */
    size_t nlen;                   /* the length of the current entry's name */
    struct tb_walk_level *levels;  /* the directories on the current path, root first */
    size_t depth, nlevels;         /* levels in use; levels allocated (kept for reuse) */
    int descend;                   /* the last entry was a directory still to be entered */
};

/* Start at root ("" is the current directory, with paths and full paths both relative). Returns 0,
 * or an exit code with e filled ("cannot list ROOT: strerror", from errno as an input: a missing
 * root is 66, a root that is not a directory is 66 with ENOTDIR) and errno left as the failure's. */
int tb_walk_open(struct tb_walk *w, const char *root, tb_err *e);
/* The next entry: 1 with *ent filled, 0 when the walk is over. */
int tb_walk_next(struct tb_walk *w, struct tb_walk_ent *ent);
/* Right after a TB_WALK_DIR entry: do not enter it. */
void tb_walk_prune(struct tb_walk *w);
void tb_walk_close(struct tb_walk *w);
#endif
