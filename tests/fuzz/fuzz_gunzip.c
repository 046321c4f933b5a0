/* fuzz_gunzip: lib/gunzip's gzip decoding (zlib and, when libisal loads, ISA-L, picked by the first
 * byte) of a memory source read in pieces: it ends (decoded bytes bounded by 1032x the input, the
 * deflate limit, plus padding) or fails with TB_EDATA; both decoders agree on the bytes. */
/* -max_len for `make fuzz` (scripts/run-fuzz.sh reads this line) */
#define FUZZ_MAX_LEN 16384
#include "fuzz.h"
#include "gunzip.h"
#include "hash.h"

/* Decode everything: 0 and the decoded length and a digest, or -1. */
static int decode(const uint8_t *data, size_t size, int impl, size_t chunk, uint64_t *out_n, uint64_t *out_h)
{
    struct tb_src raw, gz;
    fz_mem_src(&raw, data, size, chunk);
    tb_err e = {0};
    if (tb_gunzip_open(&gz, &raw, NULL, 0, impl, &e)) {
        tb_src_close(&raw);
        return -2;
    }
    static unsigned char buf[65536];
    uint64_t n = 0, h = 1469598103934665603ull;
    ssize_t k;
    while ((k = tb_src_read(&gz, buf, (size_t)(chunk < sizeof buf ? chunk * 3 + 1 : sizeof buf), &e)) > 0) {
        n += (uint64_t)k;
        FZ_CHECK(n <= (uint64_t)size * 1032 + 64);
        for (ssize_t i = 0; i < k; i++) h = (h ^ buf[i]) * 1099511628211ull;
    }
    tb_src_close(&gz);
    if (k < 0) { FZ_CHECK(e.code == TB_EDATA || e.code == TB_EIO); return -1; }
    *out_n = n;
    *out_h = h;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned b0 = fz_byte(&data, &size);
    size_t chunk = fz_chunk(b0);
    uint64_t n1 = 0, h1 = 0, n2 = 0, h2 = 0;
    int r1 = decode(data, size, TB_GUNZIP_ZLIB, chunk, &n1, &h1);
    int r2 = decode(data, size, TB_GUNZIP_ISAL, chunk, &n2, &h2);
    if (r2 == -2) return 0; /* ISA-L is not installed */
    FZ_CHECK(r1 == r2);
    if (r1 == 0) FZ_CHECK(n1 == n2 && h1 == h2);
    return 0;
}
