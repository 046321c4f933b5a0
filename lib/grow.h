/* grow: doubling growth of heap buffers and arrays (one copy for the parsers and filters). */
#ifndef TB_GROW_H
#define TB_GROW_H
#include <stdint.h>
#include <stdlib.h>

/* Make *buf (an array of elements of `size` bytes, *cap of them) hold at least need elements,
 * doubling from `first`. 0, or -1 when out of memory (then *buf and *cap are unchanged). */
static inline int tb_grow_n(void *buf, size_t *cap, size_t need, size_t size, size_t first)
{
    if (need <= *cap) return 0;
    size_t n = *cap ? *cap : first;
    while (n < need) {
        if (n > SIZE_MAX / 2 / size) return -1;
        n *= 2;
    }
    void *b = realloc(*(void **)buf, n * size);
    if (!b) return -1;
    *(void **)buf = b;
    *cap = n;
    return 0;
}

/* The same for a byte buffer, from 4 KiB. */
static inline int tb_grow(char **buf, size_t *cap, size_t need)
{
    return tb_grow_n(buf, cap, need, 1, 4096);
}

#endif
