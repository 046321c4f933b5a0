/* keyset: a set of byte-string keys, each with a small payload (two numbers and a string), for
 * finding repeats such as two inputs of upload that map to one object key. Keys and payload strings
 * are copied into one growing arena and the table holds offsets, so memory grows with the distinct
 * keys (not per lookup) and there is no allocation per key beyond the amortized doubling. */
#ifndef TB_KEYSET_H
#define TB_KEYSET_H
#include <stddef.h>
#include <stdint.h>

struct tb_keyset {
    struct tb_keyent { uint64_t hash, a, b; size_t key, val; uint32_t klen, used; } *t;
    size_t cap, n;     /* table slots (a power of two), keys held */
    char *arena;
    size_t alen, acap;
};

void tb_keyset_init(struct tb_keyset *s);
void tb_keyset_free(struct tb_keyset *s);
/* Add key with payload (a, b, val). Returns 0 when the key was new (stored), 1 when it was there
 * already (nothing stored; *pa, *pb, *pval, when not NULL, get the first payload: *pval stays valid
 * until the set changes), -1 for a key over 4 GiB. Out of memory exits (lib/alloc). */
int tb_keyset_add(struct tb_keyset *s, const char *key, size_t klen, uint64_t a, uint64_t b, const char *val,
                  uint64_t *pa, uint64_t *pb, const char **pval);
#endif
