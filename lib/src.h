/* src: a byte source behind one interface, so readers (NDJSON lines, shards) never care whether
 * bytes come from a file, stdin, a decompressor, HTTP or a bucket. */
#ifndef TB_SRC_H
#define TB_SRC_H
#include "err.h"
#include <stddef.h>
#include <sys/types.h>

struct tb_src {
    void *ctx;
    /* Read up to n bytes; returns bytes read, 0 at end, -1 on error with *e filled. */
    ssize_t (*read)(void *ctx, void *buf, size_t n, tb_err *e);
    void (*close)(void *ctx);
    char name[512]; /* for messages: the path or URI */
};

/* Open a local file ("-" is stdin). Missing file: TB_ENOINPUT. */
int tb_src_open_file(struct tb_src *s, const char *path, tb_err *e);
/* Wrap an already-open fd (not closed by tb_src_close when own == 0). */
void tb_src_from_fd(struct tb_src *s, int fd, int own, const char *name);
/* The fd behind a plain file or fd source (for mapping a regular file), or -1. */
int tb_src_fd(const struct tb_src *s);
ssize_t tb_src_read(struct tb_src *s, void *buf, size_t n, tb_err *e);
void tb_src_close(struct tb_src *s);
#endif
