/* keyset: open addressing (linear probing) over SipHash of the key; load at most 1/2. */
#include "keyset.h"
#include "alloc.h"
#include "hash.h"
#include <stdlib.h>
#include <string.h>

static const uint8_t set_key[16] = "trainbox keyset";

void tb_keyset_init(struct tb_keyset *s) { memset(s, 0, sizeof *s); }

void tb_keyset_free(struct tb_keyset *s)
{
    free(s->t);
    free(s->arena);
    memset(s, 0, sizeof *s);
}

static void rehash(struct tb_keyset *s, size_t ncap)
{
    struct tb_keyent *nt = tb_xcalloc(ncap, sizeof *nt);
    for (size_t i = 0; i < s->cap; i++) {
        if (!s->t[i].used) continue;
        size_t j = (size_t)s->t[i].hash & (ncap - 1);
        while (nt[j].used) j = (j + 1) & (ncap - 1);
        nt[j] = s->t[i];
    }
    free(s->t);
    s->t = nt;
    s->cap = ncap;
}

int tb_keyset_add(struct tb_keyset *s, const char *key, size_t klen, uint64_t a, uint64_t b, const char *val,
                  uint64_t *pa, uint64_t *pb, const char **pval)
{
    if (klen > UINT32_MAX) return -1;
    if ((s->n + 1) * 2 > s->cap) rehash(s, s->cap ? s->cap * 2 : 64);
    uint64_t h = tb_siphash24(set_key, key, klen);
    size_t j = (size_t)h & (s->cap - 1);
    for (; s->t[j].used; j = (j + 1) & (s->cap - 1)) {
        const struct tb_keyent *t = &s->t[j];
        if (t->hash == h && t->klen == klen && memcmp(s->arena + t->key, key, klen) == 0) {
            if (pa) *pa = t->a;
            if (pb) *pb = t->b;
            if (pval) *pval = s->arena + t->val;
            return 1;
        }
    }
    size_t vlen = strlen(val);
    tb_xgrow(&s->arena, &s->acap, s->alen + klen + vlen + 1);
    struct tb_keyent *t = &s->t[j];
    t->hash = h;
    t->a = a;
    t->b = b;
    t->klen = (uint32_t)klen;
    t->key = s->alen;
    memcpy(s->arena + s->alen, key, klen);
    s->alen += klen;
    t->val = s->alen;
    memcpy(s->arena + s->alen, val, vlen + 1);
    s->alen += vlen + 1;
    t->used = 1;
    s->n++;
    return 0;
}
