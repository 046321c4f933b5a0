/* mapread: windows read through a map see the file's bytes; a file that shrinks under the map is an
 * error return, not a SIGBUS death; errors of the guarded function pass through. */
#include "split_mapread.h"
#include "tap.h"
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

struct sum { uint64_t n, x; };

static int add(void *ud, const char *p, size_t n)
{
    struct sum *s = ud;
    for (size_t i = 0; i < n; i++) s->x = s->x * 31 + (unsigned char)p[i];
    s->n += n;
    return 0;
}

struct windows {
    struct tb_map m;
    struct sum got;
};

static int read_windows(void *ud, tb_err *e)
{
    struct windows *w = ud;
    for (size_t p = 0; p < w->m.len;) {
        size_t n = w->m.len - p < 300000 ? w->m.len - p : 300000; /* not a multiple of a window */
        int r = tb_map_need(&w->m, p + n, e);
        if (r) return r;
        add(&w->got, w->m.p + p, n);
        p += n;
        tb_map_drop(&w->m, p);
    }
    return 0;
}

struct touch {
    struct tb_map m;
    size_t at;
    int fd;
    int truncate_first;
};

/* Reads one byte at `at` after (optionally) cutting the file to one page: past the new end, a plain
 * access would raise SIGBUS. */
static int touch(void *ud, tb_err *e)
{
    struct touch *t = ud;
    if (t->truncate_first && ftruncate(t->fd, 4096) != 0) return tb_fail(e, TB_EIO, "ftruncate");
    volatile char c = t->m.p[t->at];
    (void)c;
    return 0;
}

static int fails(void *ud, tb_err *e)
{
    (void)ud;
    return tb_fail(e, TB_ENOINPUT, "inner error");
}

int main(void)
{
    char path[] = "/tmp/tb-mapread-XXXXXX";
    int fd = mkstemp(path);
    size_t len = (10u << 20) + 12345; /* several windows and a ragged end */
    char *data = malloc(len);
    for (size_t i = 0; i < len; i++) data[i] = (char)(i * 2654435761u >> 13);
    CHECK(write(fd, data, len) == (ssize_t)len, "wrote the test file");

    /* windows from any starting offset: populated ahead, dropped behind, every byte as written */
    for (uint64_t off = 0; off < 9000; off += 4099) {
        struct windows w = {{0}, {0, 0}};
        struct sum want = {0, 0};
        tb_err e;
        int r = tb_map_open(&w.m, fd, off, len - off, path, &e);
        if (!r) r = tb_map_guarded(read_windows, &w, path, &e);
        tb_map_close(&w.m);
        add(&want, data + off, len - off);
        CHECK(r == 0 && w.got.n == want.n && w.got.x == want.x, "windows from offset %llu see the bytes", (unsigned long long)off);
    }

    /* usable: regular files from their current offset; not pipes */
    uint64_t o, l;
    lseek(fd, 100, SEEK_SET);
    CHECK(tb_map_usable(fd, &o, &l) && o == 100 && l == len - 100, "usable from the current offset");
    int p[2];
    CHECK(pipe(p) == 0 && !tb_map_usable(p[0], &o, &l), "a pipe is not mappable");
    close(p[0]);
    close(p[1]);

    /* a guarded error passes through */
    tb_err e;
    CHECK_INT(tb_map_guarded(fails, NULL, path, &e), TB_ENOINPUT, "the guarded function's error passes through");

    /* need: populating past a shrunken end is an error */
    struct touch t = {{0}, 0, fd, 0};
    CHECK(tb_map_open(&t.m, fd, 0, len, path, &e) == 0, "mapped");
    CHECK(ftruncate(fd, 8192) == 0, "file cut to two pages");
    CHECK_INT(tb_map_need(&t.m, len, &e), TB_EDATA, "populating past the new end fails cleanly");
    CHECK(strstr(e.msg, "changed size") != NULL, "and says the file changed size: %s", e.msg);

    /* SIGBUS inside the guard becomes an error, twice (the handler re-arms), and the guard is off after */
    t.at = 6u << 20;
    t.truncate_first = 1;
    CHECK_INT(tb_map_guarded(touch, &t, path, &e), TB_EDATA, "a SIGBUS under the guard is an error return");
    CHECK_INT(tb_map_guarded(touch, &t, path, &e), TB_EDATA, "and again");
    t.at = 100;
    CHECK_INT(tb_map_guarded(touch, &t, path, &e), 0, "a byte still in the file reads fine");
    tb_map_close(&t.m);
    close(fd);
    unlink(path);
    free(data);
    return tap_done();
}
