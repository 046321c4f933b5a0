/* fuzz_brace: lib/brace's braceexpand (tb_brace_expand, limited to 1000 results, counted before
 * anything is expanded) and tb_brace_has, which must say 0 only for a pattern whose one expansion
 * is itself. */
/* -max_len for `make fuzz` (scripts/run-fuzz.sh reads this line) */
#define FUZZ_MAX_LEN 512
#include "brace.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 2048) return 0;
    char *s = fz_str(data, size);
    char **v = NULL;
    size_t n = 0;
    tb_err e = {0};
    int rc = tb_brace_expand(s, 1000, &v, &n, &e);
    if (rc == 0) {
        FZ_CHECK(n >= 1 && n <= 1000);
        for (size_t i = 0; i < n; i++) FZ_CHECK(v[i] != NULL);
    } else {
        FZ_CHECK(v == NULL && n == 0 && e.code == rc);
    }
    if (!tb_brace_has(s)) FZ_CHECK(rc == 0 && n == 1 && strcmp(v[0], s) == 0);
    tb_brace_free(v, n);
    free(s);
    return 0;
}
