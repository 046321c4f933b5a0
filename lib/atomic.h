/* atomic: files that appear under their final name only when complete and durable
 * (write a temp beside the target, fsync, rename, fsync the directory). Temps are registered with
 * cleanup so an interrupted run leaves nothing half-written behind. */
#ifndef TB_ATOMIC_H
#define TB_ATOMIC_H
#include "err.h"
#include <stddef.h>
#include <stdio.h>

struct tb_afile {
    int fd;
    FILE *fp;       /* buffered stream on fd, when opened with tb_afile_open */
    char *buf;      /* fp's 1 MiB buffer (glibc ignores setvbuf's size without one: 4 KiB writes) */
    char *final;
    char *tmp;
};

/* Create "<final><suffix>" (suffix NULL: ".tmp.<pid>") truncated, mode 0644. */
int tb_afile_open(struct tb_afile *f, const char *final, const char *suffix, tb_err *e);
/* Start writing back what has been written so far without waiting for it, so the final fsync of a
 * large file finds little left to do (writeback overlaps with producing the rest). */
void tb_afile_writeback(struct tb_afile *f);
/* Flush, fsync, rename into place, fsync the directory. */
int tb_afile_commit(struct tb_afile *f, tb_err *e);
/* Remove the temp (safe to call after commit: then it does nothing). */
void tb_afile_abort(struct tb_afile *f);
/* Whole-file convenience. */
int tb_atomic_write(const char *path, const void *data, size_t len, tb_err *e);
/* Read a whole file (NUL-terminated). Missing: TB_ENOINPUT. */
int tb_read_file(const char *path, char **data, size_t *len, tb_err *e);
/* fsync the directory holding path. */
int tb_fsync_dir_of(const char *path, tb_err *e);
/* mkdir -p. */
int tb_mkdirs(const char *dir, tb_err *e);
#endif
