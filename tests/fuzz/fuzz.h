/* fuzz: what the libFuzzer targets of tests/fuzz/ share. Each fuzz_NAME.c defines one
 * LLVMFuzzerTestOneInput calling a pure parser of lib/ with the input bytes; `make fuzz` links it
 * with libFuzzer (clang, ASan + UBSan), and `make unit` links the same file with replay.c into
 * build/unit/test_fuzz_NAME, which runs every input of corpus/NAME/ and regress/NAME/ as a test.
 * Nothing here touches the network, and the disk only where an API takes a path (a temp). */
#ifndef TB_FUZZ_H
#define TB_FUZZ_H
#include "alloc.h"
#include "err.h"
#include "src.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A broken invariant: report it and abort, which libFuzzer (and the replay) count as a crash. */
#define FZ_CHECK(cond)                                                                        \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);     \
            abort();                                                                          \
        }                                                                                     \
    } while (0)

/* The input as a NUL-terminated string (embedded NULs stay: callers taking a C string see the
 * prefix). malloc'd. */
static inline char *fz_str(const uint8_t *d, size_t n)
{
    char *s = tb_xmalloc(n + 1);
    if (n) memcpy(s, d, n);
    s[n] = 0;
    return s;
}

/* Take the first byte of the input (0 when empty) to choose options. */
static inline unsigned fz_byte(const uint8_t **d, size_t *n)
{
    if (!*n) return 0;
    unsigned b = **d;
    (*d)++;
    (*n)--;
    return b;
}

/* A memory tb_src handing out at most chunk bytes a read (read boundaries matter to readers). */
struct fz_mem { const unsigned char *p; size_t n, off, chunk; };

static inline ssize_t fz_mem_read(void *ctx, void *buf, size_t n, tb_err *e)
{
    (void)e;
    struct fz_mem *m = ctx;
    size_t k = m->n - m->off;
    if (k > n) k = n;
    if (k > m->chunk) k = m->chunk;
    if (k) memcpy(buf, m->p + m->off, k);
    m->off += k;
    return (ssize_t)k;
}

static inline void fz_mem_close(void *ctx) { free(ctx); }

static inline void fz_mem_src(struct tb_src *s, const void *p, size_t n, size_t chunk)
{
    struct fz_mem *m = tb_xcalloc(1, sizeof *m);
    m->p = p;
    m->n = n;
    m->chunk = chunk ? chunk : 1;
    memset(s, 0, sizeof *s);
    s->ctx = m;
    s->read = fz_mem_read;
    s->close = fz_mem_close;
    snprintf(s->name, sizeof s->name, "fuzz-input");
}

/* A read size from one option byte: 1..7 bytes, or 64 KiB for most values (the common case). */
static inline size_t fz_chunk(unsigned b)
{
    return (b & 7) == 7 ? 65536 : (size_t)(b & 7) + 1 + ((b >> 3) & 31) * 61;
}
#endif
