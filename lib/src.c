/* src: file and fd byte sources. */
#include "src.h"
#include "alloc.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct fd_ctx { int fd; int own; };

static ssize_t fd_read(void *ctx, void *buf, size_t n, tb_err *e)
{
    struct fd_ctx *c = ctx;
    for (;;) {
        ssize_t r = read(c->fd, buf, n);
        if (r >= 0) return r;
        if (errno == EINTR) continue;
        tb_fail_errno(e, TB_EIO, "read failed");
        return -1;
    }
}

static void fd_close(void *ctx)
{
    struct fd_ctx *c = ctx;
    if (c->own) close(c->fd);
    free(c);
}

void tb_src_from_fd(struct tb_src *s, int fd, int own, const char *name)
{
    struct fd_ctx *c = tb_xmalloc(sizeof *c);
    c->fd = fd;
    c->own = own;
    s->ctx = c;
    s->read = fd_read;
    s->close = fd_close;
    snprintf(s->name, sizeof s->name, "%s", name);
}

int tb_src_open_file(struct tb_src *s, const char *path, tb_err *e)
{
    if (strcmp(path, "-") == 0) {
        tb_src_from_fd(s, 0, 0, "stdin");
        return 0;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return tb_fail_errno(e, 0, "cannot open %s", path);
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    tb_src_from_fd(s, fd, 1, path);
    return 0;
}

int tb_src_fd(const struct tb_src *s)
{
    return s->read == fd_read ? ((const struct fd_ctx *)s->ctx)->fd : -1;
}

ssize_t tb_src_read(struct tb_src *s, void *buf, size_t n, tb_err *e)
{
    ssize_t r = s->read(s->ctx, buf, n, e);
    if (r < 0 && e) tb_err_wrap(e, "%s", s->name);
    return r;
}

void tb_src_close(struct tb_src *s)
{
    if (s->close) s->close(s->ctx);
    s->ctx = NULL;
    s->close = NULL;
}
