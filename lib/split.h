/* split: the pure logic of `trainbox split`: ratio specs, the key of a line, keyed assignment of items
 * to splits and ranks, byte balancing and the per-epoch shuffle. Everything here is a deterministic function of its
 * inputs, identical on every machine:
 * - hashes are SipHash-2-4 of the key bytes under a 128-bit key derived from --seed, with a different
 *   derivation per purpose so the split a key lands in is independent of its rank;
 * - a 64-bit hash h maps to [0, n) as the high word of h * n (no modulo bias worth speaking of);
 * - the shuffle is Fisher-Yates driven by xoshiro256** seeded from SipHash(seed, "shuffle", epoch). */
#ifndef TB_SPLIT_H
#define TB_SPLIT_H
#include "err.h"
#include "json.h"
#include <stddef.h>
#include <stdint.h>

#define TB_RATIO_MAX 64
#define TB_RATIO_NAME 64

struct tb_ratio {
    int n;
    char names[TB_RATIO_MAX][TB_RATIO_NAME];
    uint64_t w[TB_RATIO_MAX];   /* weights in millionths (so 0.5 and 98 both work exactly) */
    uint64_t total;
};

enum tb_hash_purpose { TB_HASH_SPLIT = 0, TB_HASH_RANK = 1 };

/* "train=98,val=1,test=1": names [A-Za-z0-9_.-]+ (unique), non-negative decimal weights with up to
 * 6 fractional digits, summing to more than 0. Errors are TB_EUSAGE. */
int tb_ratio_parse(const char *spec, struct tb_ratio *r, tb_err *e);
/* The split index for a hash. */
int tb_ratio_pick(const struct tb_ratio *r, uint64_t h);
uint64_t tb_split_hash(uint64_t seed, enum tb_hash_purpose purpose, const void *key, size_t n);
/* The SipHash key tb_split_hash uses, to derive once and hash many lines with tb_siphash24. */
void tb_split_key(uint64_t seed, enum tb_hash_purpose purpose, uint8_t out[16]);
static inline uint32_t tb_hash_below(uint64_t h, uint32_t n)
{
    return (uint32_t)(((unsigned __int128)h * n) >> 64);
}
/* Greedy longest-first assignment (LPT) of items with sizes to ranks: items in descending size (ties
 * by index) each go to the rank with the fewest bytes so far (ties: the lowest rank). out[i] = rank.
 * The heaviest rank exceeds the lightest by at most the last item it was given: with many small
 * items after a few large ones, by about one small item. O(n log n + n log world) time, 16 bytes per
 * item and 12 per rank besides out. */
void tb_balance(const uint64_t *bytes, size_t n, uint32_t world, uint32_t *out);
/* In-place deterministic shuffle of idx[0..n). */
void tb_shuffle(uint32_t *idx, size_t n, uint64_t seed, uint64_t epoch);

/* The key of a line, the bytes its hashes are taken of. A line that is a JSON object has the
 * string (unescaped) or number value of `field` as its key (NULL: "__key__"); without that field,
 * its key is the whole line when field is NULL, and the line is invalid when a field was named. A
 * line that is not an object is its own key, or invalid when need_object is set. One keyer per
 * thread: split's per-line path and lib/split_classify's block classifier both find keys through it. */
struct tb_keyer {
    const char *field;      /* in: --key, or NULL */
    int need_object;        /* in: only JSON objects are valid lines */
    struct tb_json json;    /* after tb_keyer_find: the line's scan when it was an object, else text NULL */
    char *scratch;          /* an unescaped key */
    size_t cap;
};
void tb_keyer_init(struct tb_keyer *k, const char *field, int need_object);
void tb_keyer_free(struct tb_keyer *k);
/* Set key/klen (pointing into line or into k's scratch); or TB_EDATA with the reason. */
int tb_keyer_find(struct tb_keyer *k, const char *line, size_t len, const char **key, size_t *klen, tb_err *e);
#endif
