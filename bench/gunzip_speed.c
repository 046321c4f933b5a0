/* gunzip_speed: decode throughput of one .gz file held in memory, by three decoders: libarchive's
 * gzip filter (raw format, what tb_src_decompress used), zlib's inflate (gzip wrapper, CRC and
 * ISIZE checked) and ISA-L's isal_inflate (ISAL_GZIP, the same checks). Output goes to a 1 MiB
 * buffer that is overwritten, as a line reader would consume it. Prints MB/s of uncompressed output
 * (and of compressed input) per decoder, best of R runs.
 *   cc -O2 -o gunzip_speed bench/gunzip_speed.c -larchive -lz -lisal
 *   ./gunzip_speed FILE.gz [RUNS] */
#include <archive.h>
#include <isa-l/igzip_lib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#define OUT (1u << 20)
static unsigned char out[OUT];

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static size_t dec_archive(const unsigned char *in, size_t n)
{
    struct archive *a = archive_read_new();
    archive_read_support_filter_gzip(a);
    archive_read_support_format_raw(a);
    struct archive_entry *ent;
    if (archive_read_open_memory(a, in, n) != ARCHIVE_OK || archive_read_next_header(a, &ent) != ARCHIVE_OK) {
        fprintf(stderr, "libarchive: %s\n", archive_error_string(a));
        exit(1);
    }
    size_t total = 0;
    la_ssize_t k;
    while ((k = archive_read_data(a, out, OUT)) > 0) total += (size_t)k;
    if (k < 0) { fprintf(stderr, "libarchive: %s\n", archive_error_string(a)); exit(1); }
    archive_read_free(a);
    return total;
}

static size_t dec_zlib(const unsigned char *in, size_t n)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 16 + 15) != Z_OK) exit(1);
    z.next_in = (unsigned char *)in;
    z.avail_in = (uInt)n; /* < 4 GiB here */
    size_t total = 0;
    for (;;) {
        z.next_out = out;
        z.avail_out = OUT;
        int rc = inflate(&z, Z_NO_FLUSH);
        total += OUT - z.avail_out;
        if (rc == Z_STREAM_END) {
            if (z.avail_in == 0) break;
            inflateReset(&z);
            continue;
        }
        if (rc != Z_OK) { fprintf(stderr, "zlib: %s\n", z.msg ? z.msg : "error"); exit(1); }
    }
    inflateEnd(&z);
    return total;
}

static struct inflate_state st;
static size_t dec_isal(const unsigned char *in, size_t n)
{
    isal_inflate_init(&st);
    st.crc_flag = ISAL_GZIP;
    st.next_in = (unsigned char *)in;
    st.avail_in = (uint32_t)n;
    size_t total = 0;
    for (;;) {
        st.next_out = out;
        st.avail_out = OUT;
        int rc = isal_inflate(&st);
        total += OUT - st.avail_out;
        if (rc != ISAL_DECOMP_OK) { fprintf(stderr, "isal: %d\n", rc); exit(1); }
        if (st.block_state == ISAL_BLOCK_FINISH) {
            if (st.avail_in == 0) break;
            unsigned char *ni = st.next_in;
            uint32_t ai = st.avail_in;
            isal_inflate_reset(&st);
            st.crc_flag = ISAL_GZIP;
            st.next_in = ni;
            st.avail_in = ai;
        }
    }
    return total;
}

int main(int argc, char **argv)
{
    if (argc < 2) { fprintf(stderr, "usage: gunzip_speed FILE.gz [RUNS]\n"); return 64; }
    int runs = argc > 2 ? atoi(argv[2]) : 3;
    FILE *f = fopen(argv[1], "rb");
    if (!f) { perror(argv[1]); return 66; }
    fseek(f, 0, SEEK_END);
    size_t n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *in = malloc(n);
    if (!in || fread(in, 1, n, f) != n) { perror("read"); return 74; }
    fclose(f);
    struct { const char *name; size_t (*fn)(const unsigned char *, size_t); } d[] = {
        {"libarchive gzip filter", dec_archive}, {"zlib inflate", dec_zlib}, {"isa-l isal_inflate", dec_isal}};
    for (size_t i = 0; i < sizeof d / sizeof d[0]; i++) {
        double best = 1e9;
        size_t total = 0;
        for (int r = 0; r < runs; r++) {
            double t0 = now();
            total = d[i].fn(in, n);
            double t = now() - t0;
            if (t < best) best = t;
        }
        printf("%-24s %7.3f s  %7.1f MB/s out  %6.1f MB/s in  (%zu -> %zu bytes)\n", d[i].name, best,
               total / best / 1e6, n / best / 1e6, n, total);
    }
    return 0;
}
