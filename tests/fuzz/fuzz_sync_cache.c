/* fuzz_sync_cache: lib/sync_cache reading an old cache file it did not write (hand-edited, torn,
 * from another version): lookups in ascending key order over the keys it holds and others, a
 * note, and the merging commit; the file's malformed lines end the cache, never the process. The
 * file lives in a temp directory (the API takes a path; /dev/shm when there is one), removed at exit. */
/* -max_len for `make fuzz` (scripts/run-fuzz.sh reads this line) */
#define FUZZ_MAX_LEN 4096
#include "fuzz.h"
#include "sync_cache.h"
#include <unistd.h>

static char dir[64], path[96];

static void cleanup(void)
{
    char p[128];
    unlink(path);
    snprintf(p, sizeof p, "%s.tmp.%ld", path, (long)getpid());
    unlink(p);
    snprintf(p, sizeof p, "%s.tmp.%ld.new", path, (long)getpid());
    unlink(p);
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* memory when there is a tmpfs (the commit's fsync is then free), else the temp dir */
    const char *t = access("/dev/shm", W_OK) == 0 ? "/dev/shm"
                  : getenv("TMPDIR") && strlen(getenv("TMPDIR")) < 32 ? getenv("TMPDIR") : "/tmp";
    snprintf(dir, sizeof dir, "%s/tb-fuzz-XXXXXX", t);
    if (!mkdtemp(dir)) { perror("mkdtemp"); exit(1); }
    snprintf(path, sizeof path, "%s/cache", dir);
    atexit(cleanup);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dir[0]) LLVMFuzzerInitialize(NULL, NULL);
    FILE *f = fopen(path, "wb");
    if (!f) { perror(path); abort(); }
    if (size) fwrite(data, 1, size, f);
    fclose(f);
    struct tb_sync_cache c;
    tb_err e = {0};
    if (tb_sync_cache_open(&c, path, &e)) abort();
    /* the keys of the file's own lines (up to the first tab, unescaped ones), the API's ascending
     * order kept; each served again, as a pass does */
    char mt[32], sha[65];
    const char *p = (const char *)data, *end = p + size, *last = "";
    size_t lastn = 0;
    int any = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p)), *le = nl ? nl : end;
        const char *tab = memchr(p, '\t', (size_t)(le - p));
        size_t kn = tab ? (size_t)(tab - p) : 0;
        int cmp = kn && lastn ? memcmp(p, last, kn < lastn ? kn : lastn) : 0;
        if (tab && !memchr(p, '%', kn) && (!any || cmp > 0 || (cmp == 0 && kn > lastn))) {
            if (tb_sync_cache_lookup(&c, p, kn, 12, "etag", mt, sha)) FZ_CHECK(strlen(mt) < 32 && strlen(sha) < 65);
            else mt[0] = sha[0] = 0;
            tb_sync_cache_put(&c, p, kn, 12, "etag", mt, sha);
            last = p;
            lastn = kn;
            any = 1;
        }
        p = le + 1;
    }
    (void)tb_sync_cache_lookup(&c, "\xff\xff", 2, 0, "x", mt, sha);
    tb_sync_cache_note(&c, "k\tey\n", 5, 3, "e", "1700000000", "");
    tb_sync_cache_note(&c, "gone", 4, 0, NULL, NULL, NULL);
    FZ_CHECK(tb_sync_cache_commit(&c, &e) == 0);
    tb_sync_cache_close(&c);
    return 0;
}
