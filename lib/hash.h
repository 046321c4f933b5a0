/* hash: keyed hashing and a deterministic PRNG, identical on every machine and endianness.
 * - SipHash-2-4 (Aumasson & Bernstein): the keyed hash behind split's assignment of keys to splits
 *   and ranks. OpenSSL offers SipHash only through EVP_MAC, whose per-call setup costs more than
 *   hashing a short key, so the 60-line reference algorithm lives here.
 * - SplitMix64 (Steele, Lea, Flood) seeds xoshiro256** (Blackman & Vigna), the PRNG of --shuffle.
 * - Hex, SHA-256 and MD5 helpers over OpenSSL's EVP. */
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
#endif
