/* base64: the one standard (RFC 4648, padded, '+' '/') base64 of trainbox, over OpenSSL's
 * EVP_EncodeBlock/EVP_DecodeBlock. Decoding is strict: only the canonical padded form is accepted
 * (no whitespace, no '=' but at the end), so a text decodes one way or not at all. Samples'
 * {"$base64"} values (lib/shard_sample, lib/shard_bigline), Azure keys and block ids (lib/azkey) and S3's
 * checksum headers use it. */
#ifndef TB_BASE64_H
#define TB_BASE64_H
#include <stddef.h>

/* Room encoding n bytes needs, the terminating NUL included. */
#define TB_BASE64_ENCODED_SIZE(n) (4 * (((size_t)(n) + 2) / 3) + 1)
/* Room decoding n characters needs (at most). */
#define TB_BASE64_DECODED_MAX(n) ((size_t)(n) / 4 * 3)

/* Encode n bytes into out (TB_BASE64_ENCODED_SIZE(n) bytes), NUL-terminated. Returns the encoded
 * length (without the NUL). */
size_t tb_base64_encode(const unsigned char *in, size_t n, char *out);
/* Decode n characters into out, which must hold TB_BASE64_DECODED_MAX(n) bytes even when fewer come
 * out (OpenSSL writes the padding as zero bytes past the decoded length). Returns the decoded
 * length, or -1 when in is not strict padded base64 (a length not a multiple of 4 among it). */
long tb_base64_decode(const char *in, size_t n, unsigned char *out);
#endif
