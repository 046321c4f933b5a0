/* tap: a minimal TAP producer for the C unit tests. Each test binary prints "ok N - name" lines and a
 * closing "N passed, N failed" line; it exits non-zero when any check failed. */
#ifndef TB_TAP_H
#define TB_TAP_H
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

#define CHECK(cond, ...)                                                              \
    do {                                                                              \
        tap_n++;                                                                      \
        if (cond) printf("ok %d - ", tap_n);                                          \
        else { tap_failed++; printf("not ok %d - %s:%d: ", tap_n, __FILE__, __LINE__); } \
        printf(__VA_ARGS__);                                                          \
        printf("\n");                                                                 \
    } while (0)

#define CHECK_STR(got, want, ...)                                                     \
    do {                                                                              \
        const char *g_ = (got), *w_ = (want);                                         \
        int ok_ = (g_ && w_ && strcmp(g_, w_) == 0) || (!g_ && !w_);                  \
        CHECK(ok_, __VA_ARGS__);                                                      \
        if (!ok_) printf("#   got:  '%s'\n#   want: '%s'\n", g_ ? g_ : "(null)", w_ ? w_ : "(null)"); \
    } while (0)

#define CHECK_INT(got, want, ...)                                                     \
    do {                                                                              \
        long long g_ = (long long)(got), w_ = (long long)(want);                      \
        CHECK(g_ == w_, __VA_ARGS__);                                                 \
        if (g_ != w_) printf("#   got:  %lld\n#   want: %lld\n", g_, w_);            \
    } while (0)

static inline int tap_done(void)
{
    printf("1..%d\n%d passed, %d failed\n", tap_n, tap_n - tap_failed, tap_failed);
    return tap_failed ? 1 : 0;
}
#endif
