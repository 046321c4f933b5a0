/* mtime: modification times in rclone's metadata forms (see mtime.h). Pure functions. */
#include "mtime.h"
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define NS 1000000000L

size_t tb_mtime_format(const struct timespec *t, char out[TB_MTIME_MAX])
{
    /* rclone writes the sign, then the magnitude of the nanosecond count: -1.5 s is "-1.5", so a
     * negative second with a positive tv_nsec is turned around first */
    unsigned long long sec;
    long nsec = t->tv_nsec;
    const char *sign = "";
    if (t->tv_sec < 0) {
        sign = "-";
        sec = 0ULL - (unsigned long long)t->tv_sec;
        if (nsec > 0) { sec -= 1; nsec = NS - nsec; }
    } else {
        sec = (unsigned long long)t->tv_sec;
    }
    int n = snprintf(out, TB_MTIME_MAX, "%s%llu", sign, sec);
    if (nsec > 0) {
        char frac[16];
        int fl = snprintf(frac, sizeof frac, "%09ld", nsec);
        while (fl > 0 && frac[fl - 1] == '0') fl--;
        n += snprintf(out + n, TB_MTIME_MAX - (size_t)n, ".%.*s", fl, frac);
    }
    return (size_t)n;
}

int tb_mtime_parse(const char *s, struct timespec *t)
{
    const char *p = s;
    int neg = 0, digits = 0, frac = -1; /* frac: fraction digits kept so far, -1 before the point */
    if (*p == '+' || *p == '-') neg = *p++ == '-';
    /* the value as a nanosecond count, which must fit in an int64 (rclone's limit) */
    const uint64_t lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    uint64_t ns = 0;
    for (; *p; p++) {
        if (*p == '.') {
            if (frac >= 0) return -1;
            frac = 0;
            continue;
        }
        if (*p < '0' || *p > '9') return -1;
        digits++;
        if (frac >= 9) continue; /* past nanoseconds: dropped, as rclone does */
        if (frac >= 0) frac++;
        unsigned d = (unsigned)(*p - '0');
        if (ns > (lim - d) / 10) return -1;
        ns = ns * 10 + d;
    }
    if (!digits) return -1;
    for (int pad = frac < 0 ? 9 : 9 - frac; pad > 0; pad--) {
        if (ns > lim / 10) return -1;
        ns *= 10;
    }
    long long sec = (long long)(ns / NS);
    long nsec = (long)(ns % NS);
    if (neg) {
        sec = -sec;
        if (nsec) { sec -= 1; nsec = NS - nsec; }
    }
    t->tv_sec = (time_t)sec;
    t->tv_nsec = nsec;
    return 0;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian), and back. */
static long long days_from_civil(long long y, unsigned m, unsigned d)
{
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long long)doe - 719468;
}

static void civil_from_days(long long z, long long *y, unsigned *m, unsigned *d)
{
    z += 719468;
    long long era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (long long)yoe + era * 400 + (*m <= 2);
}

size_t tb_mtime_format_rfc3339(const struct timespec *t, char out[TB_MTIME_MAX])
{
    long long days = (long long)t->tv_sec / 86400, rem = (long long)t->tv_sec % 86400;
    if (rem < 0) { rem += 86400; days--; }
    long long y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    if (y < 0 || y > 9999) { out[0] = 0; return 0; }
    int n = snprintf(out, TB_MTIME_MAX, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%09ldZ", y, m, d, rem / 3600,
                     rem / 60 % 60, rem % 60, (long)t->tv_nsec);
    return (size_t)n;
}

/* n decimal digits at *p into *v (advancing p); -1 when one is not a digit. */
static int digits(const char **p, int n, int *v)
{
    *v = 0;
    for (int i = 0; i < n; i++, (*p)++) {
        if (**p < '0' || **p > '9') return -1;
        *v = *v * 10 + (**p - '0');
    }
    return 0;
}

int tb_mtime_parse_rfc3339(const char *s, struct timespec *t)
{
    static const unsigned char mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const char *p = s;
    int y, mo, d, h, mi, se;
    if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' || digits(&p, 2, &d) || *p++ != 'T' ||
        digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi) || *p++ != ':' || digits(&p, 2, &se))
        return -1;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] + (mo == 2 && leap) || h > 23 || mi > 59 || se > 59) return -1;
    long nsec = 0;
    if (*p == '.') {
        p++;
        int nd = 0;
        for (; *p >= '0' && *p <= '9'; p++, nd++)
            if (nd < 9) nsec = nsec * 10 + (*p - '0');
        if (!nd) return -1;
        for (; nd < 9; nd++) nsec *= 10;
    }
    long long off = 0;
    if (*p == 'Z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1, oh, om;
        if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om) || oh > 23 || om > 59) return -1;
        off = sign * (oh * 3600LL + om * 60LL);
    } else {
        return -1;
    }
    if (*p) return -1;
    t->tv_sec = (time_t)(days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600LL + mi * 60LL + se - off);
    t->tv_nsec = nsec;
    return 0;
}
