/* duration: the DURATION arguments of `sync --every` and `--min-age`: "90" (seconds), "500ms",
 * "30s", "5m", "1h30m", "2d", units ns, us, ms, s, m, h, d (a day is 86400 s: these are intervals,
 * not calendar dates) summed in any order, each with a whole number (no fractions: "1h30m", not
 * "1.5h", so that no value is rounded). No sign, spaces or empty parts; a bare number is only
 * accepted as the whole argument ("1h30" is ambiguous and refused). Values up to UINT64_MAX ns
 * (about 584 years); anything larger is refused, never wrapped. */
#ifndef TB_DURATION_H
#define TB_DURATION_H
#include "err.h"
#include <stdint.h>

/* Parse s into nanoseconds. Errors: TB_EUSAGE, naming s. */
int tb_duration_parse(const char *s, uint64_t *ns, tb_err *e);
#endif
