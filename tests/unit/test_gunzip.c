/* lib/gunzip (and tb_src_decompress picking it): ISA-L and zlib give the same bytes for one
 * member, several members, empty members and zero padding, read in pieces from 1 byte up and fed
 * 1 byte at a time or all at once; a truncated stream, a bad CRC32 or ISIZE, corrupt deflate data
 * and bytes after the last member are TB_EDATA naming the source; TRAINBOX_GUNZIP picks or refuses. */
#include "gunzip.h"
#include "lazy.h"
#include "shard_io.h"
#include "tap.h"
#include "testutil.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* ---- a memory source handing out at most chunk bytes a read */
struct mem { const unsigned char *p; size_t n, off, chunk; };

static ssize_t mem_read(void *ctx, void *buf, size_t n, tb_err *e)
{
    (void)e;
    struct mem *m = ctx;
    size_t k = m->n - m->off;
    if (k > n) k = n;
    if (k > m->chunk) k = m->chunk;
    memcpy(buf, m->p + m->off, k);
    m->off += k;
    return (ssize_t)k;
}

static void mem_close(void *ctx) { free(ctx); }

static void mem_src(struct tb_src *s, const void *p, size_t n, size_t chunk)
{
    struct mem *m = calloc(1, sizeof *m);
    m->p = p;
    m->n = n;
    m->chunk = chunk;
    s->ctx = m;
    s->read = mem_read;
    s->close = mem_close;
    snprintf(s->name, sizeof s->name, "mem.jsonl.gz");
}

/* ---- gzip members made with zlib's deflate */
struct buf { unsigned char *p; size_t n, cap; };

static void buf_add(struct buf *b, const void *p, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, p, n);
    b->n += n;
}

static void gz_member(struct buf *out, const void *p, size_t n, int level)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    deflateInit2(&z, level, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY);
    size_t cap = deflateBound(&z, (uLong)n) + 64;
    unsigned char *tmp = malloc(cap);
    z.next_in = (unsigned char *)p;
    z.avail_in = (uInt)n;
    z.next_out = tmp;
    z.avail_out = (uInt)cap;
    deflate(&z, Z_FINISH);
    buf_add(out, tmp, cap - z.avail_out);
    deflateEnd(&z);
    free(tmp);
}

/* text lines, compressible but not trivially (n bytes) */
static unsigned char *text(size_t n, uint64_t seed)
{
    unsigned char *t = malloc(n);
    static const char *w[] = {"alpha", "beta", "gamma", "\xce\xb4", "{\"k\":", "12345", " ", "\n"};
    size_t i = 0;
    while (i < n) {
        const char *s = w[tu_xorshift(&seed) % 8];
        for (; *s && i < n; s++) t[i++] = (unsigned char)*s;
        if (tu_xorshift(&seed) % 16 == 0 && i < n) t[i++] = (unsigned char)(tu_xorshift(&seed) & 0xff);
    }
    return t;
}

/* Decode g with impl, chunk bytes per input read and rd bytes per output read. Returns the
 * code (0, or the error's) and the bytes in *out. */
static int decode(const struct buf *g, int impl, size_t chunk, size_t rd, struct buf *out, tb_err *e)
{
    struct tb_src in, s;
    mem_src(&in, g->p, g->n, chunk);
    out->n = 0;
    memset(e, 0, sizeof *e);
    int r = tb_gunzip_open(&s, &in, NULL, 0, impl, e);
    if (r) { tb_src_close(&in); return r; }
    unsigned char *tmp = malloc(rd);
    for (;;) {
        ssize_t k = tb_src_read(&s, tmp, rd, e);
        if (k < 0) { r = e->code; break; }
        if (k == 0) break;
        buf_add(out, tmp, (size_t)k);
    }
    free(tmp);
    tb_src_close(&s);
    return r;
}

static const char *iname(int impl) { return impl == TB_GUNZIP_ISAL ? "isal" : "zlib"; }

/* Both decoders, several read sizes: the bytes of want, exactly. */
static void same(const char *what, const struct buf *g, const unsigned char *want, size_t wn)
{
    static const size_t chunks[] = {1, 7, 4096, 1u << 30}, rds[] = {1, 3, 4096, 1u << 20};
    int impls[] = {TB_GUNZIP_ZLIB, TB_GUNZIP_ISAL};
    for (int m = 0; m < 2; m++) {
        int ok = 1, fails = 0;
        for (size_t c = 0; c < 4; c++)
            for (size_t r = 0; r < 4; r++) {
                /* byte-sized pieces on a big stream: once each side is enough (valgrind is slow) */
                if (wn > 50000 && ((chunks[c] == 1 && rds[r] != 4096) || (rds[r] == 1 && chunks[c] != 4096))) continue;
                struct buf out = {0};
                tb_err e;
                int rc = decode(g, impls[m], chunks[c], rds[r], &out, &e);
                if (rc || out.n != wn || (wn && memcmp(out.p, want, wn) != 0)) {
                    ok = 0;
                    if (!fails++) printf("# %s: chunk %zu read %zu: rc %d, %zu of %zu bytes (%s)\n", iname(impls[m]), chunks[c], rds[r], rc, out.n, wn, e.msg);
                }
                free(out.p);
            }
        CHECK(ok, "%s: %s, every input and output piece size", iname(impls[m]), what);
    }
}

/* Both decoders refuse g with TB_EDATA, a message holding both the source's name and frag. */
static void refused(const char *what, const struct buf *g, const char *frag)
{
    int impls[] = {TB_GUNZIP_ZLIB, TB_GUNZIP_ISAL};
    for (int m = 0; m < 2; m++) {
        struct buf out = {0};
        tb_err e;
        int rc = decode(g, impls[m], 4096, 65536, &out, &e);
        CHECK_INT(rc, TB_EDATA, "%s: %s is TB_EDATA", iname(impls[m]), what);
        CHECK(strstr(e.msg, "mem.jsonl.gz") && strstr(e.msg, frag), "%s: %s names the source and says '%s': %s", iname(impls[m]), what, frag, e.msg);
        rc = decode(g, impls[m], 1, 1, &out, &e);
        CHECK_INT(rc, TB_EDATA, "%s: %s is TB_EDATA read a byte at a time", iname(impls[m]), what);
        free(out.p);
    }
}

int main(void)
{
    CHECK(tb_isal_available(), "ISA-L loads (libisal2, from libisal-dev: scripts/install-deps.sh)");
    if (!tb_isal_available()) return tap_done();

    size_t n1 = 150000, n2 = 5000;
    unsigned char *t1 = text(n1, 1), *t2 = text(n2, 2);
    struct buf g1 = {0};
    gz_member(&g1, t1, n1, 6);
    same("one member", &g1, t1, n1);

    struct buf want = {0}, gm = {0};
    gz_member(&gm, t2, n2, 1);
    buf_add(&want, t2, n2);
    gz_member(&gm, "", 0, 6);                  /* an empty member in the middle */
    gz_member(&gm, t1, 100000, 9);
    buf_add(&want, t1, 100000);
    gz_member(&gm, t2, n2, 0);                 /* stored blocks */
    buf_add(&want, t2, n2);
    gz_member(&gm, "", 0, 6);                  /* and one at the end */
    same("several members, empty ones among them", &gm, want.p, want.n);

    struct buf ge = {0};
    gz_member(&ge, "", 0, 6);
    same("one empty member", &ge, (const unsigned char *)"", 0);

    struct buf gp = {0};
    buf_add(&gp, gm.p, gm.n);
    buf_add(&gp, "\0\0\0\0\0\0\0\0\0\0", 10);
    same("zero padding after the last member", &gp, want.p, want.n);

    /* truncated: inside the first header, the deflate data, the trailer; inside a later header */
    size_t cuts[] = {5, g1.n / 2, g1.n - 3};
    const char *where[] = {"in the header", "in the data", "in the trailer"};
    for (int i = 0; i < 3; i++) {
        struct buf t = {0};
        buf_add(&t, g1.p, cuts[i]);
        char what[64];
        snprintf(what, sizeof what, "a stream cut %s", where[i]);
        refused(what, &t, "truncated");
        free(t.p);
    }
    struct buf t1b = {0};
    buf_add(&t1b, g1.p, g1.n);
    buf_add(&t1b, "\x1f", 1);
    refused("one byte of a second member", &t1b, "truncated");
    free(t1b.p);

    struct buf bad = {0};
    buf_add(&bad, g1.p, g1.n);
    bad.p[bad.n - 8] ^= 1; /* CRC32 */
    refused("a bad CRC32", &bad, "corrupt");
    bad.p[bad.n - 8] ^= 1;
    bad.p[bad.n - 4] ^= 1; /* ISIZE */
    refused("a bad ISIZE", &bad, "corrupt");
    bad.p[bad.n - 4] ^= 1;
    bad.p[10] = 0xff; bad.p[11] = 0xff; bad.p[12] = 0xff; /* the first block header: type 3 */
    refused("corrupt deflate data", &bad, "corrupt");
    free(bad.p);

    struct buf junk = {0};
    buf_add(&junk, gm.p, gm.n);
    buf_add(&junk, "junk", 4);
    refused("bytes after the last member", &junk, "corrupt");
    free(junk.p);

    /* Header fields (found by tests/fuzz/fuzz_gunzip, where the decoders disagreed): FEXTRA, FNAME,
     * FCOMMENT and a right FHCRC decode alike in pieces of every size; a wrong FHCRC (ISA-L missed it
     * when the header came in pieces) and a reserved FLG bit (ISA-L took it) are refused by both. */
    {
        struct buf plainm = {0}, hdr = {0}, full = {0};
        gz_member(&plainm, t2, n2, 6);
        static const unsigned char fixed[10] = {0x1f, 0x8b, 8, 2 | 4 | 8 | 16, 0, 0, 0, 0, 0, 3};
        buf_add(&hdr, fixed, 10);
        buf_add(&hdr, "\x03\x00xyz", 5);        /* FEXTRA: 3 bytes */
        buf_add(&hdr, "name.jsonl\0", 11);     /* FNAME */
        buf_add(&hdr, "a comment\0", 10);      /* FCOMMENT */
        unsigned long hc = crc32(0, hdr.p, (uInt)hdr.n) & 0xffff;
        unsigned char hcb[2] = {(unsigned char)(hc & 0xff), (unsigned char)(hc >> 8)};
        buf_add(&hdr, hcb, 2);                  /* FHCRC */
        buf_add(&full, hdr.p, hdr.n);
        buf_add(&full, plainm.p + 10, plainm.n - 10);
        same("a header with every optional field and a right FHCRC", &full, t2, n2);
        full.p[hdr.n - 1] ^= 0x40;
        refused("a wrong FHCRC", &full, "header crc mismatch");
        full.p[hdr.n - 1] ^= 0x40;
        full.p[3] |= 0x20;
        refused("a reserved FLG bit", &full, "unknown header flags");
        free(plainm.p);
        free(hdr.p);
        free(full.p);
    }

    /* tb_src_decompress: gzip goes to lib/gunzip; other bytes pass through libarchive unchanged */
    {
        struct tb_src in, s;
        tb_err e = {0};
        mem_src(&in, gm.p, gm.n, 3);
        CHECK_INT(tb_src_decompress(&s, &in, &e), 0, "tb_src_decompress opens a gzip stream read 3 bytes at a time");
        CHECK(tb_gunzip_impl(&s) == TB_GUNZIP_ISAL, "... with lib/gunzip, ISA-L by default");
        struct buf out = {0};
        unsigned char tmp[8192];
        ssize_t k;
        while ((k = tb_src_read(&s, tmp, sizeof tmp, &e)) > 0) buf_add(&out, tmp, (size_t)k);
        CHECK(k == 0 && out.n == want.n && memcmp(out.p, want.p, want.n) == 0, "... and gives the members' bytes");
        tb_src_close(&s);
        free(out.p);
        const char *plain[] = {"", "x", "\x1f", "{\"a\":1}\n{\"b\":2}\n"};
        for (int i = 0; i < 4; i++) {
            mem_src(&in, plain[i], strlen(plain[i]), 1);
            int rc = tb_src_decompress(&s, &in, &e);
            size_t got = 0;
            char ob[64];
            if (!rc) {
                while ((k = tb_src_read(&s, ob + got, sizeof ob - got, &e)) > 0) got += (size_t)k;
                CHECK(tb_gunzip_impl(&s) == 0 && k == 0 && got == strlen(plain[i]) && memcmp(ob, plain[i], got) == 0,
                      "%zu bytes that are not gzip pass through unchanged", strlen(plain[i]));
                tb_src_close(&s);
            } else {
                CHECK(0, "%zu bytes that are not gzip: %s", strlen(plain[i]), e.msg);
                tb_src_close(&in);
            }
        }
    }

    /* TRAINBOX_GUNZIP */
    tb_err e = {0};
    setenv("TRAINBOX_GUNZIP", "zlib", 1);
    CHECK_INT(tb_gunzip_choose(&e), TB_GUNZIP_ZLIB, "TRAINBOX_GUNZIP=zlib picks zlib");
    setenv("TRAINBOX_GUNZIP", "isal", 1);
    CHECK_INT(tb_gunzip_choose(&e), TB_GUNZIP_ISAL, "TRAINBOX_GUNZIP=isal picks ISA-L");
    setenv("TRAINBOX_GUNZIP", "lz4", 1);
    CHECK_INT(tb_gunzip_choose(&e), -1, "TRAINBOX_GUNZIP=lz4 is refused");
    CHECK_INT(e.code, TB_EUSAGE, "... as a usage error");
    {
        struct tb_src in, s;
        mem_src(&in, g1.p, g1.n, 4096);
        CHECK_INT(tb_gunzip_open(&s, &in, NULL, 0, TB_GUNZIP_AUTO, &e), TB_EUSAGE, "... and opening fails with it");
        tb_src_close(&in);
    }
    unsetenv("TRAINBOX_GUNZIP");
    CHECK_INT(tb_gunzip_choose(&e), TB_GUNZIP_ISAL, "unset: ISA-L, as it loads");

    free(t1); free(t2); free(g1.p); free(gm.p); free(want.p); free(ge.p); free(gp.p);
    return tap_done();
}
