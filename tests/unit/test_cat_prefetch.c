/* lib/cat_prefetch against a file:// "bucket" (a temp directory): inputs come back in the reading
 * order with their bytes; the window is respected (depth+1 before the first take, then depth ahead,
 * and no download ever starts further ahead); errors (missing object 66, wrong size 65, an ETag
 * other than the listing's 65) come at their own position and nowhere else; local inputs and files
 * too big for the cache are left to the reader; with a cache a second pass downloads nothing;
 * skipping ahead works and going back is refused; stop joins with downloads in flight and leaves no
 * temp and no fd behind. The store is the file backend wrapped (through the open hook) to count
 * HEADs and to answer ETags like a bucket. */
#include "cat_prefetch.h"
#include "alloc.h"
#include "tap.h"
#include <dirent.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define N 10
static char bucket[200], tmpdir[256], cachedir[256];

/* ---- the wrapped file backend */
static const struct tb_store_backend *real;
static struct tb_store_backend fake;
static atomic_int heads, taken, depth_now, over_window, etags_on;

static int fake_prepare(struct tb_store *s, struct tb_store_req *r, struct tb_http_req *h, tb_err *e)
{
    if (r->op == TB_OP_HEAD) {
        int k = atomic_fetch_add(&heads, 1) + 1;
        /* a download starts only within the window: at most depth+1 beyond what was taken */
        if (k > atomic_load(&taken) + atomic_load(&depth_now) + 1) atomic_fetch_add(&over_window, 1);
    }
    int rc = real->prepare(s, r, h, e);
    if (rc == TB_STORE_LOCAL && r->op == TB_OP_HEAD && r->info.exists && atomic_load(&etags_on)) {
        const char *b = strrchr(r->key, '/');
        snprintf(r->info.etag, sizeof r->info.etag, "etag-%s", b ? b + 1 : r->key);
    }
    return rc;
}

static int opens;
static int open_fake(void *ud, const struct tb_cat_root *root, const struct tb_store_cfg *cfg, struct tb_store **out, tb_err *e)
{
    (void)ud;
    struct tb_uri u;
    int rc = tb_uri_parse(root->uri, &u, e);
    if (rc) return rc;
    rc = tb_store_open(out, &u, cfg, e);
    tb_uri_free(&u);
    if (rc) return rc;
    real = (*out)->be;
    fake = *real;
    fake.prepare = fake_prepare;
    (*out)->be = &fake;
    opens++;
    return 0;
}

/* ---- the list */
static struct tb_cat_list L;
static struct tb_cat_root root0;

static size_t fsize(int i) { return 1000 + 37 * (size_t)i; }

static void make_list(void)
{
    memset(&L, 0, sizeof L);
    root0.type = TB_CAT_ROOT_STORE;
    root0.uri = tb_xasprintf("file://%s/", bucket);
    L.roots = &root0;
    L.nroots = 1;
    L.v = tb_xcalloc(N, sizeof *L.v);
    L.n = N;
    for (int i = 0; i < N; i++) {
        struct tb_cat_input *in = &L.v[i];
        in->key = tb_xasprintf("%s/f%d.jsonl", bucket, i);
        in->name = tb_xasprintf("file://%s", in->key);
        in->root = 0;
        in->size = (int64_t)fsize(i);
        in->etag[0] = 0;
        FILE *f = fopen(in->key, "w");
        for (size_t k = 0; f && k < fsize(i); k++) fputc('a' + i, f);
        if (f) fclose(f);
    }
}

static void free_list(void)
{
    for (size_t i = 0; i < L.n; i++) {
        free(L.v[i].key);
        free(L.v[i].name);
    }
    free(L.v);
    free(root0.uri);
}

/* fd holds input i's bytes, read from offset 0 */
static int holds(int fd, int i)
{
    char buf[4096];
    size_t got = 0;
    ssize_t r;
    while ((r = read(fd, buf, sizeof buf)) > 0) {
        for (ssize_t k = 0; k < r; k++)
            if (buf[k] != 'a' + i) return 0;
        got += (size_t)r;
    }
    return r == 0 && got == fsize(i);
}

/* Wait (no time limit worth asserting: a safety bound only) for the thread to have nothing to do. */
static struct tb_cat_prefetch_stats settle(struct tb_cat_prefetch *p)
{
    struct tb_cat_prefetch_stats st;
    for (int i = 0; i < 20000; i++) {
        tb_cat_prefetch_stats(p, &st);
        if (st.idle) return st;
        usleep(1000);
    }
    printf("# the thread never settled\n");
    return st;
}

static int dir_entries(const char *d)
{
    DIR *dd = opendir(d);
    if (!dd) return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(dd)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) n++;
    closedir(dd);
    return n;
}

static int open_fds(void) { return dir_entries("/proc/self/fd"); }

static struct tb_cat_prefetch *start(const size_t *order, size_t n, struct tb_cat_cache *c, int depth)
{
    struct tb_cat_prefetch *p = NULL;
    tb_err e = {0};
    atomic_store(&heads, 0);
    atomic_store(&taken, 0);
    atomic_store(&depth_now, depth);
    if (tb_cat_prefetch_start_ex(&p, &L, order, n, c, NULL, depth, open_fake, NULL, &e)) printf("# start: %s\n", e.msg);
    return p;
}

static int take(struct tb_cat_prefetch *p, size_t pos, int *fd, tb_err *e)
{
    int rc = tb_cat_prefetch_take(p, pos, fd, e);
    atomic_fetch_add(&taken, 1);
    return rc;
}

int main(void)
{
    snprintf(bucket, sizeof bucket, "/tmp/tb-prefetch-XXXXXX");
    if (!mkdtemp(bucket)) return 1;
    snprintf(tmpdir, sizeof tmpdir, "%s-tmp", bucket);
    snprintf(cachedir, sizeof cachedir, "%s-cache", bucket);
    mkdir(tmpdir, 0700);
    setenv("TMPDIR", tmpdir, 1);
    make_list();
    const size_t order[N] = {3, 1, 4, 0, 5, 9, 2, 6, 8, 7};
    tb_err e = {0};
    int fd, fds0 = open_fds();

    /* ---- order, bytes, window; no cache (temps) */
    struct tb_cat_prefetch *p = start(order, N, NULL, 2);
    CHECK(p != NULL, "start");
    struct tb_cat_prefetch_stats st = settle(p);
    CHECK(st.ready == 3 && st.downloads == 3 && st.running == 0, "before the first take: depth+1 (3) downloaded, no more (%zu ready, %llu started)",
          st.ready, (unsigned long long)st.downloads);
    CHECK_INT(dir_entries(tmpdir), 1, "the temps live in one private directory under $TMPDIR");
    int ok = take(p, 0, &fd, &e) == 0 && fd >= 0 && holds(fd, 3);
    CHECK(ok, "position 0 is input 3, its bytes");
    st = settle(p);
    CHECK(st.ready == 2 && st.downloads == 3, "while it is read (fd open), the next 2 are there and nothing more starts");
    close(fd);
    int all = 1;
    for (size_t pos = 1; pos < N; pos++) {
        if (take(p, pos, &fd, &e) != 0 || fd < 0 || !holds(fd, (int)order[pos])) all = 0;
        if (fd >= 0) close(fd);
        st = settle(p);
        size_t ahead = N - 1 - pos < 2 ? N - 1 - pos : 2;
        if (st.ready != ahead) { printf("# pos %zu: %zu ready, want %zu\n", pos, st.ready, ahead); all = 0; }
    }
    CHECK(all, "every position in order, its bytes; after each take exactly min(depth, left) ready");
    CHECK_INT(atomic_load(&over_window), 0, "no download ever started beyond the window (HEADs counted)");
    CHECK_INT(atomic_load(&heads), N, "one HEAD per input");
    CHECK_INT(opens, 1, "one store for the one root");
    tb_cat_prefetch_stop(p);
    CHECK_INT(dir_entries(tmpdir), 0, "stop removes the temp directory");
    CHECK_INT(open_fds(), fds0, "no fd left open");

    /* ---- errors at their position, and only there */
    unlink(L.v[4].key);           /* position 2: missing -> 66 */
    L.v[5].size += 1;             /* position 4: not the listed size -> 65 */
    snprintf(L.v[9].etag, sizeof L.v[9].etag, "etag-old");   /* position 5: rewritten since listed -> 65 */
    snprintf(L.v[2].etag, sizeof L.v[2].etag, "etag-f2.jsonl"); /* position 6: the same ETag: fine */
    L.v[6].root = -1;             /* position 7: a local file: read directly */
    atomic_store(&etags_on, 1);
    int want[N] = {0, 0, 66, 0, 65, 65, 0, 0, 0, 0};
    p = start(order, N, NULL, 3);
    all = 1;
    for (size_t pos = 0; pos < N; pos++) {
        tb_err pe = {0};
        int rc = take(p, pos, &fd, &pe);
        int good = rc == want[pos];
        if (rc) good = good && fd == -1 && pe.code == rc && strstr(pe.msg, L.v[order[pos]].key);
        else if (pos == 7) good = good && fd == -1;
        else good = good && fd >= 0 && holds(fd, (int)order[pos]);
        if (!good) { printf("# pos %zu: rc %d fd %d: %s\n", pos, rc, fd, pe.msg); all = 0; }
        if (pos == 5) CHECK(strstr(pe.msg, "changed since it was listed") != NULL, "the ETag error says so: %s", pe.msg);
        if (pos == 4) CHECK(strstr(pe.msg, "were expected") != NULL, "the size error says so: %s", pe.msg);
        if (fd >= 0) close(fd);
    }
    CHECK(all, "66 at position 2, 65 at 4 and 5, a local input left to the reader at 7, every other input whole");
    tb_cat_prefetch_stop(p);
    CHECK(dir_entries(tmpdir) == 0 && open_fds() == fds0, "no temp, no fd left after errors");
    L.v[6].root = 0;
    L.v[5].size -= 1;
    L.v[9].etag[0] = 0;

    /* ---- skipping ahead, and going back refused */
    p = start(order, N, NULL, 1);
    CHECK(take(p, 0, &fd, &e) == 0 && holds(fd, 3), "take 0");
    close(fd);
    CHECK(take(p, 6, &fd, &e) == 0 && holds(fd, 2), "skip to 6: input 2");
    close(fd);
    CHECK_INT(take(p, 3, &fd, &e), TB_ESOFTWARE, "going back is refused (%s)", e.msg);
    CHECK_INT(take(p, 6, &fd, &e), TB_ESOFTWARE, "taking one twice is refused");
    CHECK(take(p, 8, &fd, &e) == 0 && holds(fd, 8), "then on: 8");
    close(fd);
    tb_cat_prefetch_stop(p);
    CHECK(dir_entries(tmpdir) == 0 && open_fds() == fds0, "no temp, no fd left after skipping");

    /* ---- early stop: nothing taken, downloads in flight or ready */
    p = start(order, N, NULL, 4);
    tb_cat_prefetch_stop(p);
    CHECK(dir_entries(tmpdir) == 0 && open_fds() == fds0, "stop at once joins, no temp, no fd left");
    p = start(order, N, NULL, 4);
    CHECK(take(p, 0, &fd, &e) == 0, "take 0");
    close(fd);
    settle(p);
    tb_cat_prefetch_stop(p);
    CHECK(dir_entries(tmpdir) == 0 && open_fds() == fds0, "stop with 4 ready and not taken: closed and removed");

    /* ---- with a cache: the second pass downloads nothing; too big is streamed */
    /* input 4 back, its ETag as the store answers it */
    FILE *f = fopen(L.v[4].key, "w");
    for (size_t k = 0; f && k < fsize(4); k++) fputc('a' + 4, f);
    if (f) fclose(f);
    struct tb_cat_cache *c;
    CHECK_INT(tb_cat_cache_open(&c, cachedir, 1 << 20, &e), 0, "cache open");
    for (int pass = 0; pass < 2; pass++) {
        p = start(order, N, c, 2);
        all = 1;
        for (size_t pos = 0; pos < N; pos++) {
            if (take(p, pos, &fd, &e) != 0 || fd < 0 || !holds(fd, (int)order[pos])) { all = 0; printf("# %zu: %s\n", pos, e.msg); }
            if (fd >= 0) close(fd);
        }
        st = settle(p);
        CHECK(all, "pass %d through the cache: every input whole", pass + 1);
        if (pass == 0) CHECK(st.downloads == N && st.hits == 0, "first pass: %llu downloads", (unsigned long long)st.downloads);
        else CHECK(st.downloads == 0 && st.hits == N, "second pass: %llu downloads, %llu hits", (unsigned long long)st.downloads,
                   (unsigned long long)st.hits);
        tb_cat_prefetch_stop(p);
    }
    struct tb_cat_cache_usage u;
    tb_cat_cache_usage(c, &u, &e);
    CHECK(u.entries == N && u.temps == 0, "the cache holds the %d inputs, no temps", N);
    CHECK(dir_entries(tmpdir) == 0, "with a cache, nothing in $TMPDIR");
    tb_cat_cache_close(c);

    CHECK_INT(tb_cat_cache_open(&c, cachedir, 1100, &e), 0, "a cache of 1100 bytes");
    p = start(order, N, c, 2);
    all = 1;
    for (size_t pos = 0; pos < N; pos++) {
        int rc = take(p, pos, &fd, &e);
        int direct = fsize((int)order[pos]) > 1100;
        if (rc || (direct ? fd != -1 : (fd < 0 || !holds(fd, (int)order[pos])))) all = 0;
        if (fd >= 0) close(fd);
    }
    CHECK(all, "inputs bigger than the cache are left to the reader (fd -1), the others read from it");
    st = settle(p);
    tb_cat_prefetch_stop(p);
    tb_cat_cache_usage(c, &u, &e);
    CHECK(u.entry_bytes <= 1100 && u.temps == 0, "the cache kept its limit (%llu bytes)", (unsigned long long)u.entry_bytes);

    /* an input with neither size nor ETag: downloaded, read, not kept */
    L.v[3].size = -1;
    L.v[3].etag[0] = 0;
    uint64_t before = u.entries;
    const size_t one[1] = {3};
    p = start(one, 1, c, 0);
    CHECK(take(p, 0, &fd, &e) == 0 && fd >= 0 && holds(fd, 3), "an input of unknown identity is read through a temp");
    if (fd >= 0) close(fd);
    tb_cat_prefetch_stop(p);
    tb_cat_cache_usage(c, &u, &e);
    CHECK(u.temps == 0 && u.entries <= before, "... and not kept in the cache");
    tb_cat_cache_close(c);
    CHECK_INT(open_fds(), fds0, "no fd left at the end");

    free_list();
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s' '%s'", bucket, tmpdir, cachedir);
    if (system(cmd) != 0) printf("# cleanup failed\n");
    return tap_done();
}
