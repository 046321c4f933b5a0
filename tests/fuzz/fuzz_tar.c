/* fuzz_tar: lib/shard_io's shard reader (tb_src_decompress, then tb_tarr_open and tb_tarr_next over
 * libarchive) on a memory source read in pieces: every member name it gives is safe (no '..'
 * component, no leading '/'), offsets grow, and each regular member maps through
 * tb_member_split as cat does. The first byte picks the read size. */
/* -max_len for `make fuzz` (scripts/run-fuzz.sh reads this line) */
#define FUZZ_MAX_LEN 65536
#include "fuzz.h"
#include "shard_io.h"
#include "shard_sample.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned b0 = fz_byte(&data, &size);
    struct tb_src raw, src;
    fz_mem_src(&raw, data, size, fz_chunk(b0));
    tb_err e = {0};
    if (tb_src_decompress(&src, &raw, &e)) {
        tb_src_close(&raw);
        return 0;
    }
    struct tb_tarr r;
    if (tb_tarr_open(&r, &src, &e) == 0) {
        const char *name;
        const unsigned char *d;
        size_t len;
        uint64_t off, last = 0;
        int first = 1, rc;
        while ((rc = tb_tarr_next(&r, &name, &d, &len, &off, &e)) == 1) {
            size_t n = strlen(name);
            FZ_CHECK(name[0] != '/');
            FZ_CHECK(strcmp(name, "..") != 0 && strncmp(name, "../", 3) != 0 && !strstr(name, "/../"));
            FZ_CHECK(n < 3 || strcmp(name + n - 3, "/..") != 0);
            FZ_CHECK(first || off > last);
            first = 0;
            last = off;
            long k = tb_member_split(name, n);
            FZ_CHECK(k < (long)n);
            if (len) { /* the bytes are readable (ASan checks) */
                FZ_CHECK(d != NULL);
                volatile unsigned char x = d[0];
                x = d[len - 1];
                (void)x;
            }
        }
        FZ_CHECK(rc == 0 || rc == -1);
        if (rc == -1) FZ_CHECK(e.code != 0);
        tb_tarr_close(&r);
    }
    tb_src_close(&src);
    return 0;
}
