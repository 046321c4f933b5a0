/* lib/cat_cache: hits and misses, identities, files too big to cache, eviction in LRU order under
 * a tiny limit, entries in use (in this process and in another) never evicted, two processes
 * committing the same entry at once (one kept, both read it whole), two processes evicting at once
 * (nothing over-deleted, the newest kept), stale temps removed and fresh ones kept. */
#include "cat_cache.h"
#include "tap.h"
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char dir[256];

/* A download: begin, write n bytes of ch to the temp, commit. Returns the fd commit gave (-1 on failure). */
static int put(struct tb_cat_cache *c, const char *ident, size_t n, int ch)
{
    tb_err e = {0};
    char *tmp = NULL;
    if (tb_cat_cache_begin(c, ident, -1, &tmp, &e) || !tmp) return -1;
    FILE *f = fopen(tmp, "w");
    if (!f) { tb_cat_cache_abort(c, tmp); return -1; }
    for (size_t i = 0; i < n; i++) fputc(ch, f);
    fclose(f);
    int fd = -1;
    if (tb_cat_cache_commit(c, ident, tmp, &fd, &e)) { printf("# commit: %s\n", e.msg); return -1; }
    return fd;
}

/* The fd holds exactly n bytes of ch. */
static int holds(int fd, size_t n, int ch)
{
    char buf[4096];
    size_t got = 0;
    ssize_t r;
    while ((r = pread(fd, buf, sizeof buf, (off_t)got)) > 0) {
        for (ssize_t i = 0; i < r; i++)
            if (buf[i] != (char)ch) return 0;
        got += (size_t)r;
    }
    return r == 0 && got == n;
}

static int present(struct tb_cat_cache *c, const char *ident)
{
    char *p = tb_cat_cache_path(c, ident);
    int ok = access(p, F_OK) == 0;
    free(p);
    return ok;
}

static void set_mtime(struct tb_cat_cache *c, const char *ident, time_t t)
{
    char *p = tb_cat_cache_path(c, ident);
    struct timespec ts[2] = {{t, 0}, {t, 0}};
    utimensat(AT_FDCWD, p, ts, 0);
    free(p);
}

static struct tb_cat_cache_usage usage(struct tb_cat_cache *c)
{
    struct tb_cat_cache_usage u;
    tb_err e = {0};
    if (tb_cat_cache_usage(c, &u, &e)) memset(&u, 0xff, sizeof u);
    return u;
}

static void rm_rf(const char *path)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    if (system(cmd) != 0) printf("# could not remove %s\n", path);
}

/* Fork a child running fn(arg) after the barrier (a pipe the parent closes) opens. */
static pid_t spawn(const int bar[2], int (*fn)(int), int arg)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        char b;
        close(bar[1]);
        if (read(bar[0], &b, 1) < 0) _exit(3);
        _exit(fn(arg));
    }
    return pid;
}

static int wait_ok(pid_t pid)
{
    int st;
    return waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* ---- children */

static uint64_t child_max;

static int child_commit_same(int round)
{
    struct tb_cat_cache *c;
    tb_err e = {0};
    if (tb_cat_cache_open(&c, dir, child_max, &e)) return 2;
    char ident[64];
    snprintf(ident, sizeof ident, "same-%d", round);
    int fd = put(c, ident, 65536, 'a' + round % 26);
    int ok = fd >= 0 && holds(fd, 65536, 'a' + round % 26);
    if (fd >= 0) close(fd);
    tb_cat_cache_close(c);
    return ok ? 0 : 1;
}

static int child_evict(int unused)
{
    (void)unused;
    struct tb_cat_cache *c;
    tb_err e = {0};
    if (tb_cat_cache_open(&c, dir, child_max, &e)) return 2;
    int rc = tb_cat_cache_evict(c, 0, &e);
    tb_cat_cache_close(c);
    return rc ? 1 : 0;
}

static int child_commit_many(int who)
{
    struct tb_cat_cache *c;
    tb_err e = {0};
    if (tb_cat_cache_open(&c, dir, child_max, &e)) return 2;
    int bad = 0;
    for (int i = 0; i < 20; i++) {
        char ident[64];
        snprintf(ident, sizeof ident, "many-%d-%d", who, i);
        int fd = put(c, ident, 1000, 'x');
        if (fd < 0 || !holds(fd, 1000, 'x')) bad++;
        if (fd >= 0) close(fd);
    }
    tb_cat_cache_close(c);
    return bad ? 1 : 0;
}

static int reader_pipe[2], release_pipe[2];
static int child_hold(int unused)
{
    (void)unused;
    close(release_pipe[1]);
    struct tb_cat_cache *c;
    tb_err e = {0};
    if (tb_cat_cache_open(&c, dir, child_max, &e)) return 2;
    int fd;
    int hit = tb_cat_cache_lookup(c, "held", &fd);
    if (write(reader_pipe[1], hit ? "1" : "0", 1) != 1) return 3;
    char b;
    if (read(release_pipe[0], &b, 1) < 0) return 3; /* until the parent is done evicting */
    int ok = hit && holds(fd, 100, 'h');
    if (hit) close(fd);
    tb_cat_cache_close(c);
    return ok ? 0 : 1;
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/tb-cat-cache-XXXXXX");
    if (!mkdtemp(dir)) return 1;
    char cdir[300];
    snprintf(cdir, sizeof cdir, "%s/c/d", dir);
    snprintf(dir, sizeof dir, "%.200s", cdir);
    struct tb_cat_cache *c;
    tb_err e = {0};
    int fd;

    /* ---- basics */
    CHECK_INT(tb_cat_cache_open(&c, dir, 300, &e), 0, "open makes the directory and its parents (%s)", e.msg);
    struct stat st;
    CHECK(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0700, "the cache directory is 0700");
    CHECK(tb_cat_cache_lookup(c, "nothing", &fd) == 0 && fd == -1, "miss: 0, fd -1");
    fd = put(c, "a", 100, 'a');
    CHECK(fd >= 0 && holds(fd, 100, 'a'), "commit gives a read fd on the bytes");
    close(fd);
    CHECK(present(c, "a"), "the entry is under its name");
    char *pa = tb_cat_cache_path(c, "a");
    CHECK(strncmp(pa, dir, strlen(dir)) == 0 && strlen(pa) == strlen(dir) + 1 + 2 + 1 + 64 &&
              memcmp(pa + strlen(dir) + 1, pa + strlen(dir) + 4, 2) == 0,
          "the path is DIR/<2 hex>/<64 hex>, the directory the name's first two digits: %s", pa);
    free(pa);
    set_mtime(c, "a", 1000);
    CHECK(tb_cat_cache_lookup(c, "a", &fd) == 1 && holds(fd, 100, 'a'), "hit: 1, the bytes");
    char *p = tb_cat_cache_path(c, "a");
    CHECK(stat(p, &st) == 0 && st.st_mtime > 1000, "a hit bumps the entry's mtime (the LRU clock)");
    free(p);
    close(fd);
    struct tb_cat_cache_usage u = usage(c);
    CHECK(u.entries == 1 && u.entry_bytes == 100 && u.temps == 0, "usage: one entry of 100 bytes, no temps");

    struct tb_cat_input in = {.name = "s3://b/k.tar", .size = 5, .etag = "e1"};
    char *id = tb_cat_cache_ident(&in);
    CHECK_STR(id, "s3://b/k.tar\n5\ne1", "the identity: name, size, etag");
    free(id);
    in.size = -1;
    in.etag[0] = 0;
    CHECK(tb_cat_cache_ident(&in) == NULL, "neither size nor etag known: not cacheable");

    /* ---- too big for the cache */
    char *tmp = (char *)1;
    CHECK(tb_cat_cache_begin(c, "big", 301, &tmp, &e) == 0 && tmp == NULL, "begin of a file larger than the cache: stream it");
    fd = put(c, "big2", 400, 'b'); /* size unknown at begin, 400 > 300 at commit */
    CHECK(fd >= 0 && holds(fd, 400, 'b'), "a download that turns out larger is still read");
    CHECK(!present(c, "big2") && usage(c).temps == 0, "... but not kept, and no temp left");
    if (fd >= 0) close(fd);
    CHECK(tb_cat_cache_begin(c, "x", 10, &tmp, &e) == 0 && tmp != NULL, "begin gives a temp path");
    CHECK(strstr(tmp, "/tmp/") != NULL, "inside the cache's tmp directory: %s", tmp);
    FILE *f = fopen(tmp, "w");
    if (f) fclose(f);
    tb_cat_cache_abort(c, tmp);
    CHECK(usage(c).temps == 0, "abort removes the temp");

    /* ---- LRU order under a 300-byte limit: a(1000) b(3000) c(2000), then d */
    fd = put(c, "b", 100, 'b'); close(fd);
    fd = put(c, "c", 100, 'c'); close(fd);
    set_mtime(c, "a", 1000);
    set_mtime(c, "b", 3000);
    set_mtime(c, "c", 2000);
    fd = put(c, "d", 100, 'd');
    close(fd);
    CHECK(!present(c, "a") && present(c, "b") && present(c, "c") && present(c, "d"), "the oldest (a) is evicted first");
    u = usage(c);
    CHECK(u.entries == 3 && u.entry_bytes == 300, "the total is back at the limit (%llu)", (unsigned long long)u.entry_bytes);
    if (tb_cat_cache_lookup(c, "c", &fd)) close(fd); /* c used now: b (3000) is the oldest */
    set_mtime(c, "d", 4000);
    fd = put(c, "e", 100, 'e');
    close(fd);
    CHECK(!present(c, "b") && present(c, "c") && present(c, "d") && present(c, "e"), "a hit moves an entry to the back: b goes, c stays");

    /* ---- an entry being read is not evicted (this process) */
    int held;
    CHECK(tb_cat_cache_lookup(c, "c", &held) == 1, "c open for reading");
    set_mtime(c, "c", 10);
    set_mtime(c, "d", 20);
    fd = put(c, "f", 100, 'f');
    close(fd);
    CHECK(present(c, "c") && !present(c, "d") && present(c, "e") && present(c, "f"), "the oldest entry is in use: the next oldest goes");
    CHECK_INT(tb_cat_cache_evict(c, 300, &e), 0, "evict to make room for 300 bytes");
    CHECK(present(c, "c") && !present(c, "e") && !present(c, "f"), "everything but the entry in use goes");
    CHECK(holds(held, 100, 'c'), "the reader still reads its bytes");
    close(held);
    CHECK_INT(tb_cat_cache_evict(c, 300, &e), 0, "evict again");
    CHECK(!present(c, "c"), "closed, it can go");

    /* ---- ... nor one another process reads */
    child_max = 300;
    fd = put(c, "held", 100, 'h'); close(fd);
    set_mtime(c, "held", 5);
    fd = put(c, "other", 100, 'o'); close(fd);
    if (pipe(reader_pipe) || pipe(release_pipe)) return 1;
    int bar[2];
    if (pipe(bar)) return 1;
    pid_t rd = spawn(bar, child_hold, 0);
    close(bar[1]);
    char b = 0;
    CHECK(read(reader_pipe[0], &b, 1) == 1 && b == '1', "the other process has the entry open");
    CHECK_INT(tb_cat_cache_evict(c, 300, &e), 0, "evict everything evictable");
    CHECK(present(c, "held") && !present(c, "other"), "the entry the other process reads stays");
    close(release_pipe[1]);
    CHECK(wait_ok(rd), "the other process read it whole");
    CHECK_INT(tb_cat_cache_evict(c, 300, &e), 0, "evict again");
    CHECK(!present(c, "held"), "once it exited, the entry goes");
    close(bar[0]);
    tb_cat_cache_close(c);

    /* ---- two processes commit the same entry at once: one file kept, both read it whole */
    child_max = 4 << 20;
    CHECK_INT(tb_cat_cache_open(&c, dir, child_max, &e), 0, "reopen with 4 MiB");
    int same_ok = 1;
    for (int round = 0; round < 20; round++) {
        if (pipe(bar)) return 1;
        pid_t p1 = spawn(bar, child_commit_same, round), p2 = spawn(bar, child_commit_same, round);
        close(bar[1]);
        int ok1 = wait_ok(p1), ok2 = wait_ok(p2);
        close(bar[0]);
        char ident[64];
        snprintf(ident, sizeof ident, "same-%d", round);
        u = usage(c);
        if (!ok1 || !ok2 || !present(c, ident) || u.temps != 0 || u.entries != (uint64_t)round + 1) {
            printf("# round %d: %d %d entries %llu temps %llu\n", round, ok1, ok2, (unsigned long long)u.entries,
                   (unsigned long long)u.temps);
            same_ok = 0;
        }
    }
    CHECK(same_ok, "20 rounds of two processes committing one entry: both read it whole, one file kept, no temp left");
    CHECK_INT(tb_cat_cache_evict(c, 4 << 20, &e), 0, "empty the cache");
    CHECK(usage(c).entries == 0, "empty");

    /* ---- two processes evict at once: exactly the limit's worth stays, the newest */
    child_max = 10 * 1000;
    int evict_ok = 1;
    for (int round = 0; round < 5; round++) {
        for (int i = 0; i < 40; i++) {
            char ident[32];
            snprintf(ident, sizeof ident, "ev-%d", i);
            fd = put(c, ident, 1000, 'v');
            if (fd >= 0) close(fd);
            set_mtime(c, ident, 100000 + i);
        }
        if (pipe(bar)) return 1;
        pid_t p1 = spawn(bar, child_evict, 0), p2 = spawn(bar, child_evict, 0);
        close(bar[1]);
        int ok = wait_ok(p1) & wait_ok(p2);
        close(bar[0]);
        u = usage(c);
        int newest = 1;
        for (int i = 0; i < 40; i++) {
            char ident[32];
            snprintf(ident, sizeof ident, "ev-%d", i);
            if (present(c, ident) != (i >= 30)) newest = 0;
        }
        if (!ok || u.entries != 10 || !newest) {
            printf("# round %d: ok %d entries %llu newest %d\n", round, ok, (unsigned long long)u.entries, newest);
            evict_ok = 0;
        }
        tb_cat_cache_evict(c, 4 << 20, &e);
    }
    CHECK(evict_ok, "5 rounds of two evictors at once over 40 entries, room for 10: the 10 newest stay, no more go");

    /* ---- two processes commit and evict at once */
    if (pipe(bar)) return 1;
    pid_t p1 = spawn(bar, child_commit_many, 1), p2 = spawn(bar, child_commit_many, 2);
    close(bar[1]);
    int ok = wait_ok(p1) & wait_ok(p2);
    close(bar[0]);
    u = usage(c);
    CHECK(ok && u.entries == 10 && u.entry_bytes == 10000 && u.temps == 0,
          "two processes each committing 20 entries with room for 10: each read its own, 10 stay (%llu), no temps",
          (unsigned long long)u.entries);

    /* ---- stale temps */
    char stale[1024], fresh[1024];
    snprintf(stale, sizeof stale, "%s/tmp/%064d.99999.1.partial", dir, 0);
    snprintf(fresh, sizeof fresh, "%s/tmp/%064d.99999.2", dir, 0);
    f = fopen(stale, "w");
    if (f) { fputs("old", f); fclose(f); }
    f = fopen(fresh, "w");
    if (f) { fputs("new", f); fclose(f); }
    struct timespec old[2] = {{time(NULL) - 2 * 3600, 0}, {time(NULL) - 2 * 3600, 0}};
    utimensat(AT_FDCWD, stale, old, 0);
    tb_cat_cache_close(c);
    CHECK_INT(tb_cat_cache_open(&c, dir, 10 * 1000, &e), 0, "reopen with room for 10 entries");
    CHECK_INT(tb_cat_cache_evict(c, 0, &e), 0, "evict");
    CHECK(access(stale, F_OK) != 0, "a temp untouched for two hours is removed");
    CHECK(access(fresh, F_OK) == 0, "a fresh temp (a download in progress) is kept");
    u = usage(c);
    CHECK(u.temps == 1 && u.temp_bytes == 3, "temps are counted in the total");
    CHECK(u.entries == 9, "... so an entry made room for the fresh temp (%llu left)", (unsigned long long)u.entries);
    unlink(fresh);

    tb_cat_cache_close(c);
    *strrchr(dir, '/') = 0;
    *strrchr(dir, '/') = 0;
    rm_rf(dir);
    return tap_done();
}
