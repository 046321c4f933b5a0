/* gunzip: gzip members decoded by ISA-L or zlib behind one tb_src (see gunzip.h).
 *
 * Both decoders parse the member's header and check its trailer themselves (zlib with windowBits
 * 16+15, ISA-L with ISAL_GZIP: CRC32 and ISIZE compared), so the framing here is only what lies
 * between members: the next member's magic, zero padding, or the end. Output is decoded straight
 * into the caller's buffer; the input goes through one 256 KiB buffer. */
#include "gunzip.h"
#include "alloc.h"
#include "lazy.h"
#include <isa-l/igzip_lib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define IBUF (256u << 10)
#define MAXOUT (1u << 30) /* both decoders count in 32 bits */

struct gz {
    struct tb_src in;
    int impl;
    unsigned char *ibuf;
    size_t ipos, iend;
    int ieof;
    uint64_t consumed;   /* compressed bytes before ibuf[ipos] */
    uint64_t members;    /* members finished */
    int in_member, padding, done;
    z_stream z;
    int z_inited;
    struct inflate_state *st;
};

int tb_gunzip_choose(tb_err *e)
{
    const char *v = getenv("TRAINBOX_GUNZIP");
    if (!v || !*v) return tb_isal_available() ? TB_GUNZIP_ISAL : TB_GUNZIP_ZLIB;
    if (strcmp(v, "zlib") == 0) return TB_GUNZIP_ZLIB;
    if (strcmp(v, "isal") == 0) {
        if (tb_isal_available()) return TB_GUNZIP_ISAL;
        tb_fail(e, TB_EUNAVAIL, "TRAINBOX_GUNZIP=isal: cannot load libisal.so.2 (install libisal2)");
        return -1;
    }
    tb_fail(e, TB_EUSAGE, "TRAINBOX_GUNZIP must be zlib or isal, not '%.100s'", v);
    return -1;
}

/* Read more input. At least one more byte unless at the end. */
static int refill(struct gz *g, tb_err *e)
{
    if (g->ieof) return 0;
    if (g->ipos == g->iend) g->ipos = g->iend = 0;
    else if (g->ipos) {
        memmove(g->ibuf, g->ibuf + g->ipos, g->iend - g->ipos);
        g->iend -= g->ipos;
        g->ipos = 0;
    }
    ssize_t k = g->in.read(g->in.ctx, g->ibuf + g->iend, IBUF - g->iend, e);
    if (k < 0) return -1;
    if (k == 0) g->ieof = 1;
    g->iend += (size_t)k;
    return 0;
}

static void consume(struct gz *g, size_t k)
{
    g->ipos += k;
    g->consumed += k;
}

static void member_start(struct gz *g)
{
    if (g->impl == TB_GUNZIP_ISAL) {
        isal_inflate_reset(g->st);
        g->st->crc_flag = ISAL_GZIP;
    } else {
        inflateReset(&g->z);
    }
    g->in_member = 1;
}

/* One decoder call over the buffered input. 1: the member ended (trailer checked), 0: going on,
 * -1: corrupt (why set). */
static int step(struct gz *g, unsigned char *out, size_t n, size_t *made, const char **why)
{
    size_t avail = g->iend - g->ipos;
    if (g->impl == TB_GUNZIP_ISAL) {
        struct inflate_state *st = g->st;
        st->next_in = g->ibuf + g->ipos;
        st->avail_in = (uint32_t)avail;
        st->next_out = out;
        st->avail_out = (uint32_t)n;
        int rc = isal_inflate(st);
        consume(g, avail - st->avail_in);
        *made = n - st->avail_out;
        if (rc < 0) {
            *why = rc == ISAL_INCORRECT_CHECKSUM ? "CRC32 or length check failed"
                 : rc == ISAL_INVALID_WRAPPER || rc == ISAL_UNSUPPORTED_METHOD ? "bad gzip header"
                 : "invalid deflate data";
            return -1;
        }
        return st->block_state == ISAL_BLOCK_FINISH;
    }
    z_stream *z = &g->z;
    z->next_in = g->ibuf + g->ipos;
    z->avail_in = (uInt)avail;
    z->next_out = out;
    z->avail_out = (uInt)n;
    int rc = inflate(z, Z_NO_FLUSH);
    consume(g, avail - z->avail_in);
    *made = n - z->avail_out;
    if (rc == Z_STREAM_END) return 1;
    if (rc == Z_OK || rc == Z_BUF_ERROR) return 0; /* Z_BUF_ERROR: no progress possible, more input needed */
    if (rc == Z_MEM_ERROR) tb_oom(0);
    *why = z->msg ? z->msg : "invalid deflate data";
    return -1;
}

/* The length of the gzip member header at p (RFC 1952: 10 bytes, then FEXTRA's 2-byte length and
 * data, FNAME and FCOMMENT each up to a NUL, FHCRC's 2 bytes), or 0 when n bytes do not hold it all. */
static size_t header_len(const unsigned char *p, size_t n)
{
    if (n < 10) return 0;
    unsigned flg = p[3];
    size_t k = 10;
    if (flg & 4) {
        if (n < k + 2) return 0;
        k += 2 + (size_t)(p[k] | p[k + 1] << 8);
    }
    for (unsigned bit = 8; bit <= 16; bit <<= 1) {
        if (!(flg & bit)) continue;
        const unsigned char *z = k < n ? memchr(p + k, 0, n - k) : NULL;
        if (!z) return 0;
        k = (size_t)(z - p) + 1;
    }
    if (flg & 2) k += 2;
    return k <= n ? k : 0;
}

/* A member starts at ibuf[ipos]: its header, read whole into the buffer, is checked here for both
 * decoders, which do not agree on it (found by tests/fuzz/fuzz_gunzip): ISA-L decodes a member with
 * a reserved FLG bit set (zlib and gzip refuse it) and skips the FHCRC header checksum when the
 * header reaches it across calls (zlib always checks it). Whole, the header also reaches ISA-L in
 * one call. A header that does not fit the input buffer (256 KiB of name or extra field) is refused;
 * one cut short by the end of the input is left to the decoder (a truncated member). */
static int check_header(struct gz *g, tb_err *e)
{
    size_t h;
    while ((h = header_len(g->ibuf + g->ipos, g->iend - g->ipos)) == 0 && !g->ieof) {
        if (g->iend - g->ipos == IBUF)
            return tb_fail(e, TB_EDATA, "corrupt gzip stream: member %llu's header is longer than %u KiB (byte %llu)",
                           (unsigned long long)g->members + 1, IBUF >> 10, (unsigned long long)g->consumed);
        if (refill(g, e)) return -1;
    }
    const unsigned char *p = g->ibuf + g->ipos;
    size_t avail = g->iend - g->ipos;
    if (avail >= 4 && (p[3] & 0xe0))
        return tb_fail(e, TB_EDATA, "corrupt gzip stream: unknown header flags set (member %llu, byte %llu)",
                       (unsigned long long)g->members + 1, (unsigned long long)g->consumed);
    if (h && (p[3] & 2) && (crc32(0, p, (uInt)(h - 2)) & 0xffff) != (unsigned long)(p[h - 2] | p[h - 1] << 8))
        return tb_fail(e, TB_EDATA, "corrupt gzip stream: header crc mismatch (member %llu, byte %llu)",
                       (unsigned long long)g->members + 1, (unsigned long long)g->consumed);
    return 0;
}

static ssize_t gz_read(void *ctx, void *buf, size_t n, tb_err *e)
{
    struct gz *g = ctx;
    if (n > MAXOUT) n = MAXOUT;
    while (!g->done && n) {
        if (g->padding) { /* zeros after the last member, as tape blocking leaves them: skipped */
            while (g->ipos < g->iend && g->ibuf[g->ipos] == 0) consume(g, 1);
            if (g->ipos < g->iend) {
                tb_fail(e, TB_EDATA, "corrupt gzip stream: bytes other than zeros after its %llu members (byte %llu)",
                        (unsigned long long)g->members, (unsigned long long)g->consumed);
                return -1;
            }
            if (g->ieof) { g->done = 1; break; }
            if (refill(g, e)) return -1;
            continue;
        }
        if (!g->in_member) { /* between members: another one, padding or the end */
            while (g->iend - g->ipos < 2 && !g->ieof)
                if (refill(g, e)) return -1;
            size_t avail = g->iend - g->ipos;
            const unsigned char *p = g->ibuf + g->ipos;
            if (avail == 0) { g->done = 1; break; }
            if (avail >= 2 && p[0] == 0x1f && p[1] == 0x8b) {
                if (check_header(g, e)) return -1;
                member_start(g);
                continue;
            }
            if (g->members && p[0] == 0) { g->padding = 1; continue; }
            if (avail == 1 && p[0] == 0x1f)
                tb_fail(e, TB_EDATA, "truncated gzip stream: it ends inside a member header (byte %llu)", (unsigned long long)g->consumed);
            else
                tb_fail(e, TB_EDATA, "corrupt gzip stream: no gzip member at byte %llu (after %llu members)",
                        (unsigned long long)g->consumed, (unsigned long long)g->members);
            return -1;
        }
        if (g->ipos == g->iend && !g->ieof && refill(g, e)) return -1;
        size_t made = 0;
        const char *why = NULL;
        int empty = g->ipos == g->iend;
        int rc = step(g, buf, n, &made, &why);
        if (rc < 0) {
            tb_fail(e, TB_EDATA, "corrupt gzip stream: %s (member %llu, near byte %llu)", why,
                    (unsigned long long)g->members + 1, (unsigned long long)g->consumed);
            return -1;
        }
        if (rc == 1) { g->members++; g->in_member = 0; }
        if (made) return (ssize_t)made;
        if (rc == 0 && empty && g->ieof) {
            tb_fail(e, TB_EDATA, "truncated gzip stream: it ends inside member %llu (after %llu bytes)",
                    (unsigned long long)g->members + 1, (unsigned long long)g->consumed);
            return -1;
        }
    }
    return 0;
}

static void gz_close(void *ctx)
{
    struct gz *g = ctx;
    if (g->z_inited) inflateEnd(&g->z);
    free(g->st);
    free(g->ibuf);
    tb_src_close(&g->in);
    free(g);
}

int tb_gunzip_open(struct tb_src *out, struct tb_src *in, const void *pre, size_t npre, int impl, tb_err *e)
{
    if (impl == TB_GUNZIP_AUTO && (impl = tb_gunzip_choose(e)) < 0) return e ? e->code : TB_EUSAGE;
    if (impl == TB_GUNZIP_ISAL && !tb_isal_available())
        return tb_fail(e, TB_EUNAVAIL, "cannot load libisal.so.2 (install libisal2)");
    tb_assert(npre <= IBUF);
    struct gz *g = tb_xcalloc(1, sizeof *g);
    g->impl = impl;
    g->ibuf = tb_xmalloc(IBUF);
    if (npre) memcpy(g->ibuf, pre, npre);
    g->iend = npre;
    if (impl == TB_GUNZIP_ISAL) {
        g->st = tb_xmalloc(sizeof *g->st);
        isal_inflate_init(g->st);
    } else {
        int rc = inflateInit2(&g->z, 16 + MAX_WBITS);
        if (rc == Z_MEM_ERROR) tb_oom(sizeof g->z);
        tb_assert(rc == Z_OK);
        g->z_inited = 1;
    }
    g->in = *in;
    in->ctx = NULL;
    in->close = NULL;
    out->ctx = g;
    out->read = gz_read;
    out->close = gz_close;
    snprintf(out->name, sizeof out->name, "%s", g->in.name);
    return 0;
}

int tb_gunzip_impl(const struct tb_src *s)
{
    return s->read == gz_read ? ((const struct gz *)s->ctx)->impl : 0;
}
