/* fuzz_size: lib/opts' SIZE arguments (tb_parse_size: "4k", "64MiB", "1G") and counts
 * (tb_parse_u64): refused, or a value whose decimal spelling parses to itself. */
/* -max_len for `make fuzz` (scripts/run-fuzz.sh reads this line) */
#define FUZZ_MAX_LEN 64
#include "fuzz.h"
#include "opts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 256) return 0;
    char *s = fz_str(data, size);
    unsigned long long v = 0, back = 0;
    char t[32];
    if (tb_parse_size(s, &v) == 0) {
        snprintf(t, sizeof t, "%llu", v);
        FZ_CHECK(tb_parse_size(t, &back) == 0 && back == v);
    }
    if (tb_parse_u64(s, &v) == 0) {
        snprintf(t, sizeof t, "%llu", v);
        FZ_CHECK(tb_parse_u64(t, &back) == 0 && back == v);
    }
    free(s);
    return 0;
}
