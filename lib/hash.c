/* hash: SipHash-2-4, SplitMix64/xoshiro256**, EVP digests and the one-pass transfer digests. */
#include "hash.h"
#include "alloc.h"
#include "base64.h"
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

static inline uint64_t rotl(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }
static inline uint64_t le64(const uint8_t *p)
{
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
           (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
}

#define SIPROUND                                                                  \
    do {                                                                          \
        v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32);                 \
        v2 += v3; v3 = rotl(v3, 16); v3 ^= v2;                                    \
        v0 += v3; v3 = rotl(v3, 21); v3 ^= v0;                                    \
        v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32);                 \
    } while (0)

uint64_t tb_siphash24(const uint8_t key[16], const void *data, size_t len)
{
    const uint8_t *in = data;
    uint64_t k0 = le64(key), k1 = le64(key + 8);
    uint64_t v0 = 0x736f6d6570736575ULL ^ k0, v1 = 0x646f72616e646f6dULL ^ k1;
    uint64_t v2 = 0x6c7967656e657261ULL ^ k0, v3 = 0x7465646279746573ULL ^ k1;
    const uint8_t *end = in + len - (len % 8);
    for (; in != end; in += 8) {
        uint64_t m = le64(in);
        v3 ^= m;
        SIPROUND; SIPROUND;
        v0 ^= m;
    }
    uint64_t b = (uint64_t)len << 56;
    switch (len & 7) {
    case 7: b |= (uint64_t)in[6] << 48; /* fall through */
    case 6: b |= (uint64_t)in[5] << 40; /* fall through */
    case 5: b |= (uint64_t)in[4] << 32; /* fall through */
    case 4: b |= (uint64_t)in[3] << 24; /* fall through */
    case 3: b |= (uint64_t)in[2] << 16; /* fall through */
    case 2: b |= (uint64_t)in[1] << 8;  /* fall through */
    case 1: b |= (uint64_t)in[0]; break;
    case 0: break;
    }
    v3 ^= b;
    SIPROUND; SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    SIPROUND; SIPROUND; SIPROUND; SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

void tb_seed_key(uint64_t seed, uint8_t key[16])
{
    uint64_t k1 = ~seed;
    for (int i = 0; i < 8; i++) { key[i] = (uint8_t)(seed >> (8 * i)); key[8 + i] = (uint8_t)(k1 >> (8 * i)); }
}

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void tb_rng_seed(struct tb_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&seed);
}

uint64_t tb_rng_next(struct tb_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint64_t tb_rng_below(struct tb_rng *r, uint64_t n)
{
    if (n <= 1) return 0;
    unsigned __int128 m = (unsigned __int128)tb_rng_next(r) * n;
    uint64_t l = (uint64_t)m;
    if (l < n) {
        uint64_t t = -n % n;
        while (l < t) {
            m = (unsigned __int128)tb_rng_next(r) * n;
            l = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

int tb_hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int tb_unhex(const char *hex, size_t n, unsigned char *out)
{
    for (size_t i = 0; i < n; i++) {
        int h = tb_hexval((unsigned char)hex[2 * i]), l = h < 0 ? -1 : tb_hexval((unsigned char)hex[2 * i + 1]);
        if (l < 0) return -1;
        out[i] = (unsigned char)(h << 4 | l);
    }
    return 0;
}

void tb_hex(const unsigned char *in, size_t n, char *out)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) { out[2 * i] = d[in[i] >> 4]; out[2 * i + 1] = d[in[i] & 15]; }
    out[2 * n] = 0;
}

struct tb_digest { EVP_MD_CTX *sha, *md5; };

struct tb_digest *tb_digest_new(void)
{
    struct tb_digest *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->sha = EVP_MD_CTX_new();
    d->md5 = EVP_MD_CTX_new();
    if (!d->sha || !d->md5) { tb_digest_free(d); return NULL; }
    EVP_DigestInit_ex(d->sha, EVP_sha256(), NULL);
    EVP_DigestInit_ex(d->md5, EVP_md5(), NULL);
    return d;
}

void tb_digest_update(struct tb_digest *d, const void *p, size_t n)
{
    EVP_DigestUpdate(d->sha, p, n);
    EVP_DigestUpdate(d->md5, p, n);
}

void tb_digest_final(struct tb_digest *d, char sha256_hex[65], char md5_hex[33])
{
    unsigned char b[EVP_MAX_MD_SIZE];
    unsigned int n;
    EVP_DigestFinal_ex(d->sha, b, &n);
    if (sha256_hex) tb_hex(b, n, sha256_hex);
    EVP_DigestFinal_ex(d->md5, b, &n);
    if (md5_hex) tb_hex(b, n, md5_hex);
    EVP_DigestInit_ex(d->sha, EVP_sha256(), NULL);
    EVP_DigestInit_ex(d->md5, EVP_md5(), NULL);
}

void tb_digest_free(struct tb_digest *d)
{
    if (!d) return;
    EVP_MD_CTX_free(d->sha);
    EVP_MD_CTX_free(d->md5);
    free(d);
}

void tb_sha256_hex(const void *p, size_t n, char out[65])
{
    unsigned char b[32];
    unsigned int bl = 32;
    EVP_Digest(p, n, b, &bl, EVP_sha256(), NULL);
    tb_hex(b, 32, out);
}

/* ---- tb_digests */

enum { W_SHA, W_MD5, P_SHA, P_MD5 };

static void *md_new(const EVP_MD *md)
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    if (!c) tb_oom(sizeof(void *) * 64);
    EVP_DigestInit_ex(c, md, NULL);
    return c;
}

/* Finish ctx into hex (sha) or base64 (md5) and start it again for the next part. */
static void md_final(void *ctx, int md5, char *out)
{
    unsigned char b[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_DigestFinal_ex(ctx, b, &n);
    if (md5) tb_base64_encode(b, n, out); /* 16 bytes -> 24 characters */
    else tb_hex(b, n, out);
    EVP_DigestInit_ex(ctx, md5 ? EVP_md5() : EVP_sha256(), NULL);
}

static void digests_finish_whole(struct tb_digests *d)
{
    md_final(d->ctx[W_SHA], 0, d->sha256);
    if (d->ctx[W_MD5]) md_final(d->ctx[W_MD5], 1, d->md5_b64);
}

void tb_digests_init(struct tb_digests *d, uint64_t size, uint64_t part_size, int nparts, unsigned flags)
{
    memset(d, 0, sizeof *d);
    d->size = size;
    d->ctx[W_SHA] = md_new(EVP_sha256());
    if (flags & TB_DIG_MD5) d->ctx[W_MD5] = md_new(EVP_md5());
    if ((flags & (TB_DIG_PART_SHA256 | TB_DIG_PART_MD5)) && part_size && nparts > 0) {
        d->part_size = part_size;
        d->nparts = nparts;
        if (flags & TB_DIG_PART_SHA256) {
            d->ctx[P_SHA] = md_new(EVP_sha256());
            d->part_sha256 = tb_xcalloc((size_t)nparts, sizeof *d->part_sha256);
        }
        if (flags & TB_DIG_PART_MD5) {
            d->ctx[P_MD5] = md_new(EVP_md5());
            d->part_md5_b64 = tb_xcalloc((size_t)nparts, sizeof *d->part_md5_b64);
        }
    }
    if (size == 0) digests_finish_whole(d);
}

void tb_digests_update(struct tb_digests *d, const void *p, size_t n)
{
    tb_assert(n <= d->size - d->pos);
    if (n == 0) return;
    EVP_DigestUpdate(d->ctx[W_SHA], p, n);
    if (d->ctx[W_MD5]) EVP_DigestUpdate(d->ctx[W_MD5], p, n);
    const unsigned char *b = p;
    size_t left = n;
    uint64_t pos = d->pos;
    while (d->part_size && left > 0) {
        /* split the slice at part boundaries: each part's digests cover exactly its bytes */
        uint64_t end = (uint64_t)(d->part + 1) * d->part_size;
        if (end > d->size || d->part == d->nparts - 1) end = d->size;
        size_t k = end - pos < left ? (size_t)(end - pos) : left;
        if (d->ctx[P_SHA]) EVP_DigestUpdate(d->ctx[P_SHA], b, k);
        if (d->ctx[P_MD5]) EVP_DigestUpdate(d->ctx[P_MD5], b, k);
        b += k;
        left -= k;
        pos += k;
        if (pos == end) {
            if (d->ctx[P_SHA]) md_final(d->ctx[P_SHA], 0, d->part_sha256[d->part]);
            if (d->ctx[P_MD5]) md_final(d->ctx[P_MD5], 1, d->part_md5_b64[d->part]);
            d->part++;
            if (d->part == d->nparts) break;
        }
    }
    d->pos += n;
    if (d->pos == d->size) digests_finish_whole(d);
}

int tb_digests_done(const struct tb_digests *d) { return d->pos == d->size; }

void tb_digests_free(struct tb_digests *d)
{
    for (int i = 0; i < 4; i++) EVP_MD_CTX_free(d->ctx[i]);
    free(d->part_sha256);
    free(d->part_md5_b64);
    memset(d, 0, sizeof *d);
}
