/* lib/duration: accepted forms and their values, garbage and overflow refused. */
#include "duration.h"
#include "tap.h"

#define S 1000000000ull

int main(void)
{
    static const struct { const char *s; uint64_t ns; } ok[] = {
        {"90", 90 * S}, {"0", 0}, {"30s", 30 * S}, {"5m", 300 * S}, {"1h30m", 5400 * S}, {"2d", 172800 * S},
        {"500ms", 500000000ull}, {"1us", 1000}, {"7ns", 7}, {"1m1s", 61 * S}, {"1s1m", 61 * S},
        {"1d2h3m4s5ms", ((26 * 60 + 3) * 60 + 4) * S + 5000000}, {"0005s", 5 * S},
        {"18446744073709551615ns", UINT64_MAX}, {"18446744073", 18446744073ull * S},
    };
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        uint64_t v = 1;
        tb_err e = {0};
        int rc = tb_duration_parse(ok[i].s, &v, &e);
        CHECK(rc == 0 && v == ok[i].ns, "'%s' is %llu ns (%s)", ok[i].s, (unsigned long long)ok[i].ns, rc ? e.msg : "ok");
    }
    static const char *const bad[] = {"", "s", "-5s", "+5s", "1.5h", "5 m", " 5m", "5m ", "1h30", "5x", "5sec",
                                      "5mss", "h1", "1w", "18446744073709551616ns", "18446744074", "213504d",
                                      "99999999999999999999999s", "1d18446744073709551615ns", "5M", "0x10"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        uint64_t v = 42;
        tb_err e = {0};
        int rc = tb_duration_parse(bad[i], &v, &e);
        CHECK(rc == TB_EUSAGE && v == 42 && e.msg[0], "'%s' is refused (%s)", bad[i], e.msg);
    }
    return tap_done();
}
