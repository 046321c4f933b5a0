/* duration: parsing "1h30m"-style intervals into nanoseconds (see duration.h). */
#include "duration.h"
#include <string.h>

static const struct { const char *unit; uint64_t ns; } units[] = {
    /* two-letter units first, so "ms" is not read as "m" followed by garbage */
    {"ns", 1}, {"us", 1000}, {"ms", 1000000}, {"s", 1000000000ull}, {"m", 60000000000ull},
    {"h", 3600000000000ull}, {"d", 86400000000000ull},
};

int tb_duration_parse(const char *s, uint64_t *ns, tb_err *e)
{
    const char *p = s;
    uint64_t total = 0;
    if (!*p) return tb_fail(e, TB_EUSAGE, "empty duration");
    while (*p) {
        if (*p < '0' || *p > '9')
            return tb_fail(e, TB_EUSAGE, "bad duration '%s': expected a number at '%s' (e.g. 90, 30s, 5m, 1h30m, 2d)", s, p);
        uint64_t v = 0;
        for (; *p >= '0' && *p <= '9'; p++) {
            if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10) return tb_fail(e, TB_EUSAGE, "duration '%s' is too large", s);
            v = v * 10 + (uint64_t)(*p - '0');
        }
        uint64_t mult = 0;
        if (!*p && p == s + strspn(s, "0123456789")) mult = 1000000000ull; /* the whole argument: seconds */
        for (size_t i = 0; i < sizeof units / sizeof *units && !mult; i++) {
            size_t l = strlen(units[i].unit);
            if (strncmp(p, units[i].unit, l) == 0 && !(p[l] >= 'a' && p[l] <= 'z')) { mult = units[i].ns; p += l; }
        }
        if (!mult) return tb_fail(e, TB_EUSAGE, "bad duration '%s': unknown or missing unit at '%s' (ns, us, ms, s, m, h, d)", s, p);
        if (v > UINT64_MAX / mult || v * mult > UINT64_MAX - total) return tb_fail(e, TB_EUSAGE, "duration '%s' is too large", s);
        total += v * mult;
    }
    *ns = total;
    return 0;
}
