/* atomic: temp + fsync + rename files, and small file helpers. */
#include "atomic.h"
#include "alloc.h"
#include "cleanup.h"
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int tb_afile_open(struct tb_afile *f, const char *final, const char *suffix, tb_err *e)
{
    memset(f, 0, sizeof *f);
    f->fd = -1;
    char sfx[64];
    if (!suffix) { snprintf(sfx, sizeof sfx, ".tmp.%ld", (long)getpid()); suffix = sfx; }
    f->final = tb_xstrdup(final);
    f->tmp = tb_xasprintf("%s%s", final, suffix);
    f->fd = open(f->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (f->fd < 0) {
        int r = tb_fail_errno(e, TB_FROM_ERRNO_OUT, "cannot create %s", f->tmp);
        free(f->tmp); f->tmp = NULL;
        tb_afile_abort(f);
        return r;
    }
    tb_cleanup_add(f->tmp);
    f->fp = fdopen(f->fd, "wb");
    if (!f->fp) { int r = tb_fail_errno(e, TB_EIO, "cannot open %s", f->tmp); tb_afile_abort(f); return r; }
    f->buf = tb_xmalloc(1 << 20);
    setvbuf(f->fp, f->buf, _IOFBF, 1 << 20);
    return 0;
}

void tb_afile_writeback(struct tb_afile *f)
{
    if (!f->fp || fflush(f->fp) != 0) return; /* a write error shows again at commit */
    sync_file_range(f->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
}

int tb_fsync_dir_of(const char *path, tb_err *e)
{
    char *copy = tb_xstrdup(path);
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(copy);
    if (fd < 0) return tb_fail_errno(e, TB_FROM_ERRNO_OUT, "cannot open directory of %s", path);
    int r = fsync(fd);
    close(fd);
    if (r != 0 && errno != EINVAL) return tb_fail_errno(e, TB_EIO, "fsync of directory of %s failed", path);
    return 0;
}

int tb_afile_commit(struct tb_afile *f, tb_err *e)
{
    int r = 0;
    if (f->fp) {
        if (fflush(f->fp) != 0) r = tb_fail_errno(e, TB_EIO, "write to %s failed", f->tmp);
    }
    if (!r && fsync(f->fd) != 0) r = tb_fail_errno(e, TB_EIO, "fsync of %s failed", f->tmp);
    if (f->fp) { if (fclose(f->fp) != 0 && !r) r = tb_fail_errno(e, TB_EIO, "close of %s failed", f->tmp); }
    else if (f->fd >= 0) close(f->fd);
    f->fp = NULL;
    f->fd = -1;
    free(f->buf);
    f->buf = NULL;
    if (!r && rename(f->tmp, f->final) != 0) r = tb_fail_errno(e, TB_FROM_ERRNO_OUT, "cannot rename %s to %s", f->tmp, f->final);
    if (!r) r = tb_fsync_dir_of(f->final, e);
    if (r) { tb_afile_abort(f); return r; }
    tb_cleanup_remove(f->tmp);
    free(f->tmp);
    free(f->final);
    f->tmp = f->final = NULL;
    return 0;
}

void tb_afile_abort(struct tb_afile *f)
{
    if (f->fp) fclose(f->fp);
    else if (f->fd >= 0) close(f->fd);
    f->fp = NULL;
    f->fd = -1;
    free(f->buf);
    f->buf = NULL;
    if (f->tmp) { unlink(f->tmp); tb_cleanup_remove(f->tmp); }
    free(f->tmp);
    free(f->final);
    f->tmp = f->final = NULL;
}

int tb_atomic_write(const char *path, const void *data, size_t len, tb_err *e)
{
    struct tb_afile f;
    int r = tb_afile_open(&f, path, NULL, e);
    if (r) return r;
    if (len && fwrite(data, 1, len, f.fp) != len) {
        r = tb_fail_errno(e, TB_EIO, "write to %s failed", f.tmp);
        tb_afile_abort(&f);
        return r;
    }
    return tb_afile_commit(&f, e);
}

int tb_read_file(const char *path, char **data, size_t *len, tb_err *e)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return tb_fail_errno(e, 0, "cannot open %s", path);
    size_t cap = 0, n = 0;
    char *buf = NULL;
    for (;;) {
        tb_xgrow(&buf, &cap, n + 2);
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r < 0) { if (errno == EINTR) continue; int c = tb_fail_errno(e, TB_EIO, "read of %s failed", path); free(buf); close(fd); return c; }
        if (r == 0) break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = 0;
    *data = buf;
    if (len) *len = n;
    return 0;
}

int tb_mkdirs(const char *dir, tb_err *e)
{
    char *p = tb_xstrdup(dir);
    for (char *s = p + 1; ; s++) {
        if (*s == '/' || *s == 0) {
            char c = *s;
            *s = 0;
            if (mkdir(p, 0755) != 0 && errno != EEXIST) {
                int r = tb_fail_errno(e, TB_FROM_ERRNO_OUT, "cannot create directory %s", p);
                free(p);
                return r;
            }
            *s = c;
            if (!c) break;
        }
    }
    free(p);
    struct stat st;
    if (stat(dir, &st) != 0) return tb_fail_errno(e, TB_FROM_ERRNO_OUT, "cannot create directory %s", dir);
    if (!S_ISDIR(st.st_mode)) return tb_fail(e, TB_ECANTCREAT, "cannot create directory %s: a file of that name exists", dir);
    return 0;
}
