/* fuzz_pathglob: lib/pathglob's --include/--exclude patterns: compile (tb_glob_compile) the input
 * up to its first NUL, and match the compiled pattern against the rest (split at further NULs) and
 * against a few fixed paths; the same pattern as a filter rule (tb_filter_add, tb_filter_allows). */
/* -max_len for `make fuzz` (scripts/run-fuzz.sh reads this line) */
#define FUZZ_MAX_LEN 512
#include "fuzz.h"
#include "pathglob.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096) return 0;
    char *s = fz_str(data, size);
    size_t pl = strlen(s);
    struct tb_glob g;
    memset(&g, 0, sizeof g);
    tb_err e = {0};
    if (tb_glob_compile(&g, s, &e) == 0) {
        static const char *const fixed[] = {"", "a", "dir/file.txt", "a/b/c/d.jsonl.gz", "\xc3\xa9t\xc3\xa9/x", "\xff\xfe/[x]"};
        for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++) (void)tb_glob_match(&g, fixed[i], strlen(fixed[i]));
        const char *p = s + pl + 1, *end = s + size;
        while (p <= end && pl < size) {
            size_t n = strnlen(p, (size_t)(end - p));
            /* an exact-size copy: ASan sees a read past the path's end */
            char *path = tb_xmalloc(n ? n : 1);
            memcpy(path, p, n);
            (void)tb_glob_match(&g, path, n);
            free(path);
            p += n + 1;
        }
        tb_glob_free(&g);
        struct tb_filter f;
        tb_filter_init(&f);
        FZ_CHECK(tb_filter_add(&f, 1, s, &e) == 0);
        FZ_CHECK(tb_filter_add(&f, 0, "**/*.tmp", &e) == 0);
        (void)tb_filter_allows(&f, "x/y.tmp", 7);
        tb_filter_free(&f);
    } else {
        FZ_CHECK(e.code == TB_EUSAGE);
    }
    free(s);
    return 0;
}
