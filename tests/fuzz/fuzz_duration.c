/* fuzz_duration: lib/duration's DURATION arguments (tb_duration_parse): refused with 64, or a value
 * that a canonical re-spelling ("<N>ns") parses to again; never wrapped past UINT64_MAX. */
/* -max_len for `make fuzz` (scripts/run-fuzz.sh reads this line) */
#define FUZZ_MAX_LEN 64
#include "duration.h"
#include "fuzz.h"
#include <inttypes.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 256) return 0;
    char *s = fz_str(data, size);
    uint64_t ns = 0, back = 0;
    tb_err e = {0};
    if (tb_duration_parse(s, &ns, &e) == 0) {
        char t[32];
        snprintf(t, sizeof t, "%" PRIu64 "ns", ns);
        FZ_CHECK(tb_duration_parse(t, &back, &e) == 0 && back == ns);
    } else {
        FZ_CHECK(e.code == TB_EUSAGE);
    }
    free(s);
    return 0;
}
