/* replay: a main() for a fuzz target without libFuzzer (gcc, `make unit`): runs the target on every
 * file of tests/fuzz/corpus/NAME/ and tests/fuzz/regress/NAME/ (or of the directories or files
 * given as arguments), one TAP line each. A crash or a broken invariant aborts the binary, which
 * scripts/run-tests.sh counts as a failure. NAME comes from -DFUZZ_NAME. */
#include "fuzz.h"
#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>

#ifndef FUZZ_NAME
#error "build with -DFUZZ_NAME=\"name\""
#endif

int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int n_run;

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) { printf("not ok %d - %s: %s\n", ++n_run, path, strerror(errno)); return 1; }
    size_t cap = 4096, n = 0, k;
    uint8_t *buf = tb_xmalloc(cap);
    while ((k = fread(buf + n, 1, cap - n, f)) > 0) {
        n += k;
        if (n == cap) buf = tb_xrealloc(buf, cap *= 2);
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) { free(buf); printf("not ok %d - %s: read error\n", ++n_run, path); return 1; }
    /* an exact-size copy, so ASan sees a read past the input's end */
    uint8_t *exact = tb_xmalloc(n ? n : 1);
    if (n) memcpy(exact, buf, n);
    free(buf);
    fflush(stdout);
    LLVMFuzzerTestOneInput(exact, n);
    free(exact);
    printf("ok %d - %s (%zu bytes)\n", ++n_run, path, n);
    return 0;
}

/* Every regular file of dir in name order; a missing dir holds nothing. */
static int run_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    char **names = NULL;
    size_t nn = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        tb_xgrow_n(&names, &cap, nn + 1, sizeof *names, 16);
        names[nn++] = tb_xasprintf("%s/%s", dir, de->d_name);
    }
    closedir(d);
    qsort(names, nn, sizeof *names, by_name);
    int fails = 0;
    for (size_t i = 0; i < nn; i++) {
        struct stat st;
        if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) fails += run_file(names[i]);
        free(names[i]);
    }
    free(names);
    return fails;
}

int main(int argc, char **argv)
{
    if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
    int fails = 0;
    if (argc > 1) {
        for (int i = 1; i < argc; i++) {
            struct stat st;
            if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) fails += run_dir(argv[i]);
            else fails += run_file(argv[i]);
        }
    } else {
        const char *root = getenv("TB_FUZZ_DIR") ? getenv("TB_FUZZ_DIR") : "tests/fuzz";
        char *c = tb_xasprintf("%s/corpus/%s", root, FUZZ_NAME), *r = tb_xasprintf("%s/regress/%s", root, FUZZ_NAME);
        struct stat st;
        if (stat(c, &st) != 0) {
            printf("not ok 1 - no seed corpus %s (run from the repository's root or set TB_FUZZ_DIR)\n", c);
            fails = 1;
        } else {
            fails += run_dir(c);
            fails += run_dir(r);
        }
        free(c);
        free(r);
    }
    printf("1..%d\n", n_run);
    return fails ? 1 : 0;
}
