/* hash: keyed hashing and a deterministic PRNG, identical on every machine and endianness.
 * - SipHash-2-4 (Aumasson & Bernstein): the keyed hash behind split's assignment of keys to splits
 *   and ranks. OpenSSL offers SipHash only through EVP_MAC, whose per-call setup costs more than
 *   hashing a short key, so the 60-line reference algorithm lives here.
 * - SplitMix64 (Steele, Lea, Flood) seeds xoshiro256** (Blackman & Vigna), the PRNG of --shuffle.
 * - Hex, SHA-256 and MD5 helpers over OpenSSL's EVP.
 * - tb_digests: every digest one transfer needs, from one pass over its bytes (lib/xfer). */
#ifndef TB_HASH_H
#define TB_HASH_H
#include <stddef.h>
#include <stdint.h>

uint64_t tb_siphash24(const uint8_t key[16], const void *data, size_t len);
/* The 128-bit key derived from a user-facing 64-bit seed (little-endian seed, then its complement). */
void tb_seed_key(uint64_t seed, uint8_t key[16]);

struct tb_rng { uint64_t s[4]; };
void tb_rng_seed(struct tb_rng *r, uint64_t seed);
uint64_t tb_rng_next(struct tb_rng *r);
/* Uniform in [0, n) without modulo bias (Lemire's method). */
uint64_t tb_rng_below(struct tb_rng *r, uint64_t n);

void tb_hex(const unsigned char *in, size_t n, char *out); /* out has 2n+1 bytes */
/* The value of one hex digit (either case), or -1. */
int tb_hexval(int c);
/* Decode 2n hex digits into n bytes; 0 on success, -1 on a non-hex digit. */
int tb_unhex(const char *hex, size_t n, unsigned char *out);

struct tb_digest; /* incremental SHA-256 + MD5 together (one pass over the bytes) */
struct tb_digest *tb_digest_new(void);
void tb_digest_update(struct tb_digest *d, const void *p, size_t n);
/* Hex strings: sha256 65 bytes, md5 33 bytes. Resets for reuse. */
void tb_digest_final(struct tb_digest *d, char sha256_hex[65], char md5_hex[33]);
void tb_digest_free(struct tb_digest *d);
void tb_sha256_hex(const void *p, size_t n, char out[65]);

/* The set of digests one transfer needs, computed in ONE pass over the object's bytes, fed in order
 * in slices of any size (lib/xfer feeds 1 MiB reads between libcurl polls, so hashing the next file
 * overlaps the transfers in flight). Only what is asked for is computed: a SHA-256 pass over
 * 256 MiB costs 0.13 s here, MD5 0.31 s. Contexts are made once by tb_digests_init and reset at each
 * part boundary: nothing is allocated per slice or per part.
 *   - always: the whole object's SHA-256 (hex; stored as sha256 metadata, checked against records);
 *   - TB_DIG_MD5: the whole object's MD5 (base64, a single PUT's Content-MD5 for Azure);
 *   - TB_DIG_PART_SHA256 / TB_DIG_PART_MD5: each part's (part_size bytes, the last one shorter), hex
 *     SHA-256 (S3's signed payload hash) / base64 MD5 (Azure's Put Block Content-MD5), each final
 *     as soon as the pass crosses its end. */
enum { TB_DIG_MD5 = 1, TB_DIG_PART_SHA256 = 2, TB_DIG_PART_MD5 = 4 };
struct tb_digests {
    /* ---- outputs (final once done() says so; per part once the pass passed the part's end) */
    char sha256[65];
    char md5_b64[25];                /* "" unless TB_DIG_MD5 */
    char (*part_sha256)[65];         /* nparts entries with TB_DIG_PART_SHA256, else NULL */
    char (*part_md5_b64)[25];        /* nparts entries with TB_DIG_PART_MD5, else NULL */
    /* ---- the plan (set by init) */
    uint64_t size, part_size;        /* part_size 0: no parts */
    int nparts;
    uint64_t pos;                    /* bytes hashed so far */
    int part;                        /* the part being hashed */
    void *ctx[4];                    /* EVP contexts: whole sha, whole md5, part sha, part md5 */
};
/* Plan a pass over size bytes; part_size/nparts only matter with a TB_DIG_PART_* flag. */
void tb_digests_init(struct tb_digests *d, uint64_t size, uint64_t part_size, int nparts, unsigned flags);
/* The next n bytes (pos .. pos+n; n must not run past size). */
void tb_digests_update(struct tb_digests *d, const void *p, size_t n);
/* All size bytes were fed (the whole-object digests are then final; a 0-byte object is at once). */
int tb_digests_done(const struct tb_digests *d);
void tb_digests_free(struct tb_digests *d);
#endif
