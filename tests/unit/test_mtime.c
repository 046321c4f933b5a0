/* lib/mtime: rclone's mtime metadata forms. The decimal cases are what rclone's TimeToFloatString /
 * FloatStringToTime (ncw/swift) give for the same instants; the round trips run over random
 * instants; garbage is refused. */
#include "mtime.h"
#include "tap.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *fmt(long long sec, long nsec)
{
    static char b[TB_MTIME_MAX];
    struct timespec t = {(time_t)sec, nsec};
    tb_mtime_format(&t, b);
    return b;
}

static const char *fmt3339(long long sec, long nsec)
{
    static char b[TB_MTIME_MAX];
    struct timespec t = {(time_t)sec, nsec};
    tb_mtime_format_rfc3339(&t, b);
    return b;
}

static int parses_to(const char *s, long long sec, long nsec)
{
    struct timespec t = {-7, -7};
    return tb_mtime_parse(s, &t) == 0 && (long long)t.tv_sec == sec && t.tv_nsec == nsec;
}

static void test_format(void)
{
    CHECK_STR(fmt(1735776000, 0), "1735776000", "a whole second has no point");
    CHECK_STR(fmt(1735776000, 500000000), "1735776000.5", "trailing zeros trimmed");
    CHECK_STR(fmt(1354040105, 123456789), "1354040105.123456789", "nine digits");
    CHECK_STR(fmt(1354040105, 1000), "1354040105.000001", "leading zeros of the fraction kept");
    CHECK_STR(fmt(0, 0), "0", "the epoch");
    CHECK_STR(fmt(0, 5), "0.000000005", "one nanosecond digit");
    CHECK_STR(fmt(-1, 0), "-1", "before the epoch");
    CHECK_STR(fmt(-2, 500000000), "-1.5", "negative: sign then magnitude (-1.5 s)");
    CHECK_STR(fmt(-1, 500000000), "-0.5", "negative below one second");
    CHECK_STR(fmt(INT64_MAX / 1000000000, 854775807), "9223372036.854775807", "the largest rclone can hold");
}

static void test_parse(void)
{
    CHECK(parses_to("1735776000", 1735776000, 0), "whole seconds");
    CHECK(parses_to("1735776000.5", 1735776000, 500000000), "a fraction");
    CHECK(parses_to("1735776000.500", 1735776000, 500000000), "untrimmed zeros");
    CHECK(parses_to("1354040105.123456789", 1354040105, 123456789), "nanoseconds");
    CHECK(parses_to("1354040105.1234567899999", 1354040105, 123456789), "digits past nine are dropped (not rounded)");
    CHECK(parses_to("-1.5", -2, 500000000), "negative");
    CHECK(parses_to("+12", 12, 0), "a plus sign");
    CHECK(parses_to("12.", 12, 0), "a point with no fraction");
    CHECK(parses_to(".25", 0, 250000000), "a fraction with no seconds");
    CHECK(parses_to("9223372036.854775807", INT64_MAX / 1000000000, 854775807), "INT64_MAX ns");
    CHECK(parses_to("-9223372036.854775808", -9223372037LL, 145224192), "INT64_MIN ns");
    const char *bad[] = {"", "-", "+", ".", "1.2.3", "1e9", " 1", "1 ", "0x10", "12a", "1,5", "--1",
                         "9223372036.854775808", "99999999999", "1.5\n", "NaN", NULL};
    for (int i = 0; bad[i]; i++) {
        struct timespec t;
        CHECK(tb_mtime_parse(bad[i], &t) == -1, "garbage refused: '%s'", bad[i]);
    }
}

static void test_rfc3339(void)
{
    CHECK_STR(fmt3339(1735776000, 0), "2025-01-02T00:00:00.000000000Z", "Azure's form (rclone's timeFormatOut)");
    CHECK_STR(fmt3339(951782400, 123), "2000-02-29T00:00:00.000000123Z", "a leap day");
    CHECK_STR(fmt3339(-1, 0), "1969-12-31T23:59:59.000000000Z", "before the epoch");
    struct timespec t;
    CHECK(tb_mtime_parse_rfc3339("2025-01-02T00:00:00.000000000Z", &t) == 0 && t.tv_sec == 1735776000 && t.tv_nsec == 0, "parse");
    CHECK(tb_mtime_parse_rfc3339("2025-01-02T00:00:00Z", &t) == 0 && t.tv_sec == 1735776000, "no fraction");
    CHECK(tb_mtime_parse_rfc3339("2025-01-02T01:30:00.5+01:30", &t) == 0 && t.tv_sec == 1735776000 && t.tv_nsec == 500000000, "an offset");
    CHECK(tb_mtime_parse_rfc3339("1969-12-31T23:59:59.25Z", &t) == 0 && t.tv_sec == -1 && t.tv_nsec == 250000000, "pre-epoch");
    const char *bad[] = {"", "2025-01-02", "2025-01-02T00:00:00", "2025-13-02T00:00:00Z", "2025-02-29T00:00:00Z",
                         "2025-01-02T24:00:00Z", "2025-01-02T00:00:60Z", "2025-01-02T00:00:00.Z", "2025-01-02 00:00:00Z",
                         "2025-01-02T00:00:00Zx", "1735776000", NULL};
    for (int i = 0; bad[i]; i++) CHECK(tb_mtime_parse_rfc3339(bad[i], &t) == -1, "not RFC 3339: '%s'", bad[i]);
}

/* format -> parse is the identity, for both forms, over random instants 1900..2200 */
static void test_roundtrip(void)
{
    uint64_t x = 0x9e3779b97f4a7c15ull;
    int ok = 1, ok2 = 1;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        struct timespec t = {(time_t)((long long)(x % 9500000000ull) - 2208988800LL), (long)((x >> 20) % 1000000000)};
        if (i % 3 == 0) t.tv_nsec = 0;
        if (i % 3 == 1) t.tv_nsec -= t.tv_nsec % 1000;
        char b[TB_MTIME_MAX];
        struct timespec u;
        tb_mtime_format(&t, b);
        if (tb_mtime_parse(b, &u) || u.tv_sec != t.tv_sec || u.tv_nsec != t.tv_nsec) {
            if (ok) printf("# %s\n", b);
            ok = 0;
        }
        tb_mtime_format_rfc3339(&t, b);
        if (tb_mtime_parse_rfc3339(b, &u) || u.tv_sec != t.tv_sec || u.tv_nsec != t.tv_nsec) {
            if (ok2) printf("# %s\n", b);
            ok2 = 0;
        }
        /* and the calendar agrees with gmtime */
        if (i % 100 == 0) {
            struct tm tm;
            time_t s = t.tv_sec;
            gmtime_r(&s, &tm);
            char g[40];
            strftime(g, sizeof g, "%Y-%m-%dT%H:%M:%S", &tm);
            if (strncmp(g, b, 19)) { if (ok2) printf("# %s vs %s\n", g, b); ok2 = 0; }
        }
    }
    CHECK(ok, "decimal seconds round-trip over 200,000 instants");
    CHECK(ok2, "RFC 3339 round-trips and agrees with gmtime");
}

int main(void)
{
    test_format();
    test_parse();
    test_rfc3339();
    test_roundtrip();
    return tap_done();
}
