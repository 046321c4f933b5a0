/* split: ratio parsing, keyed assignment, balancing and shuffling (see split.h for the rules). */
#include "split.h"
#include "alloc.h"
#include "hash.h"
#include "opts.h"
#include <stdlib.h>
#include <string.h>

int tb_ratio_parse(const char *spec, struct tb_ratio *r, tb_err *e)
{
    memset(r, 0, sizeof *r);
    const char *s = spec;
    if (!s || !*s) return tb_fail(e, TB_EUSAGE, "empty --ratio (want e.g. train=98,val=1,test=1)");
    while (*s) {
        size_t n = strcspn(s, "=,");
        if (s[n] != '=') return tb_fail(e, TB_EUSAGE, "bad --ratio '%s': '%.*s' has no '=WEIGHT'", spec, (int)n, s);
        if (n == 0 || n >= TB_RATIO_NAME) return tb_fail(e, TB_EUSAGE, "bad --ratio '%s': split names are 1 to %d characters", spec, TB_RATIO_NAME - 1);
        for (size_t i = 0; i < n; i++) {
            char c = s[i];
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'))
                return tb_fail(e, TB_EUSAGE, "bad --ratio '%s': split name '%.*s' may hold only letters, digits, '_', '-', '.'", spec, (int)n, s);
        }
        if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
            return tb_fail(e, TB_EUSAGE, "bad --ratio '%s': '%.*s' is not a split name", spec, (int)n, s);
        if (r->n == TB_RATIO_MAX) return tb_fail(e, TB_EUSAGE, "bad --ratio '%s': at most %d splits", spec, TB_RATIO_MAX);
        for (int k = 0; k < r->n; k++)
            if (strlen(r->names[k]) == n && memcmp(r->names[k], s, n) == 0)
                return tb_fail(e, TB_EUSAGE, "bad --ratio '%s': split '%.*s' named twice", spec, (int)n, s);
        memcpy(r->names[r->n], s, n);
        r->names[r->n][n] = 0;
        s += n + 1;
        /* decimal weight, exactly, in millionths */
        uint64_t whole = 0, frac = 0;
        int digits = 0, fdigits = 0;
        while (*s >= '0' && *s <= '9') {
            if (whole > 1000000000ull) return tb_fail(e, TB_EUSAGE, "bad --ratio '%s': weight too large", spec);
            whole = whole * 10 + (uint64_t)(*s++ - '0');
            digits++;
        }
        if (*s == '.') {
            s++;
            while (*s >= '0' && *s <= '9') {
                if (fdigits == 6) return tb_fail(e, TB_EUSAGE, "bad --ratio '%s': at most 6 decimals in a weight", spec);
                frac = frac * 10 + (uint64_t)(*s++ - '0');
                fdigits++;
            }
        }
        if (digits + fdigits == 0 || (*s && *s != ','))
            return tb_fail(e, TB_EUSAGE, "bad --ratio '%s': weight of '%s' is not a non-negative number", spec, r->names[r->n]);
        for (int k = fdigits; k < 6; k++) frac *= 10;
        r->w[r->n] = whole * 1000000ull + frac;
        r->total += r->w[r->n];
        r->n++;
        if (*s == ',') {
            s++;
            if (!*s) return tb_fail(e, TB_EUSAGE, "bad --ratio '%s': trailing comma", spec);
        }
    }
    if (r->total == 0) return tb_fail(e, TB_EUSAGE, "bad --ratio '%s': weights sum to 0", spec);
    return 0;
}

int tb_ratio_pick(const struct tb_ratio *r, uint64_t h)
{
    uint64_t x = (uint64_t)(((unsigned __int128)h * r->total) >> 64);
    uint64_t cum = 0;
    for (int i = 0; i < r->n; i++) {
        cum += r->w[i];
        if (x < cum) return i;
    }
    return r->n - 1; /* unreachable: x < total */
}

void tb_split_key(uint64_t seed, enum tb_hash_purpose purpose, uint8_t out[16])
{
    /* purpose constants are ASCII "split" and "rank" read little-endian, so the two keys differ */
    tb_seed_key(seed ^ (purpose == TB_HASH_SPLIT ? 0x74696c7073ull : 0x6b6e6172ull), out);
}

uint64_t tb_split_hash(uint64_t seed, enum tb_hash_purpose purpose, const void *key, size_t n)
{
    uint8_t k[16];
    tb_split_key(seed, purpose, k);
    return tb_siphash24(k, key, n);
}

struct bal_item { uint64_t bytes; size_t idx; };

static int by_size_desc(const void *a, const void *b)
{
    const struct bal_item *x = a, *y = b;
    if (x->bytes != y->bytes) return x->bytes > y->bytes ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* The ranks as a binary min-heap on (load, rank): the root is the lightest rank, ties to the lowest,
 * exactly the choice of a linear scan, in O(log world) instead of O(world) per item. */
struct bal_rank { uint64_t load; uint32_t rank; };

static int bal_less(const struct bal_rank *a, const struct bal_rank *b)
{
    return a->load < b->load || (a->load == b->load && a->rank < b->rank);
}

static void bal_sift_down(struct bal_rank *h, uint32_t n, uint32_t i)
{
    for (;;) {
        uint32_t l = 2 * i + 1, m = i;
        if (l < n && bal_less(&h[l], &h[m])) m = l;
        if (l + 1 < n && bal_less(&h[l + 1], &h[m])) m = l + 1;
        if (m == i) return;
        struct bal_rank t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

void tb_balance(const uint64_t *bytes, size_t n, uint32_t world, uint32_t *out)
{
    struct bal_item *it = tb_xcalloc(n ? n : 1, sizeof *it);
    struct bal_rank *h = tb_xcalloc(world, sizeof *h);
    for (size_t i = 0; i < n; i++) { it[i].bytes = bytes[i]; it[i].idx = i; }
    if (n) qsort(it, n, sizeof *it, by_size_desc);
    for (uint32_t r = 0; r < world; r++) h[r] = (struct bal_rank){0, r}; /* all 0 and ranks ascending: a heap */
    for (size_t i = 0; i < n; i++) {
        out[it[i].idx] = h[0].rank;
        h[0].load += it[i].bytes;
        bal_sift_down(h, world, 0);
    }
    free(it);
    free(h);
}

void tb_shuffle(uint32_t *idx, size_t n, uint64_t seed, uint64_t epoch)
{
    uint8_t k[16], msg[16];
    tb_seed_key(seed, k);
    memcpy(msg, "shuffle\0", 8);
    for (int i = 0; i < 8; i++) msg[8 + i] = (uint8_t)(epoch >> (8 * i));
    struct tb_rng rng;
    tb_rng_seed(&rng, tb_siphash24(k, msg, sizeof msg));
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)tb_rng_below(&rng, i);
        uint32_t t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
}

void tb_keyer_init(struct tb_keyer *k, const char *field, int need_object)
{
    memset(k, 0, sizeof *k);
    k->field = field;
    k->need_object = need_object;
    tb_json_init(&k->json);
}

void tb_keyer_free(struct tb_keyer *k)
{
    tb_json_free(&k->json);
    free(k->scratch);
    k->scratch = NULL;
    k->cap = 0;
}

int tb_keyer_find(struct tb_keyer *k, const char *line, size_t len, const char **key, size_t *klen, tb_err *e)
{
    size_t i = 0;
    k->json.text = NULL; /* the scanner holds no line until this one is scanned */
    while (i < len && (line[i] == ' ' || line[i] == '\t')) i++;
    if (i == len || line[i] != '{') {
        if (k->need_object) return tb_fail(e, TB_EDATA, "not a JSON object");
        *key = line;
        *klen = len;
        return 0;
    }
    if (tb_json_scan_object(&k->json, line, len, e)) return e->code;
    const char *field = k->field ? k->field : "__key__";
    int v = tb_json_field(&k->json, field);
    if (v < 0) {
        if (k->field) return tb_fail(e, TB_EDATA, "no field \"%s\" (--key)", k->field);
        *key = line;
        *klen = len;
        return 0;
    }
    struct tb_jtok t = tb_json_tok(&k->json, v);
    if (t.type == TB_JSON_STRING) {
        size_t raw = (size_t)(t.end - t.start);
        if (!memchr(line + t.start, '\\', raw)) { *key = line + t.start; *klen = raw; return 0; }
        tb_xgrow(&k->scratch, &k->cap, raw + 1);
        long n = tb_json_unescape(&k->json, v, k->scratch, k->cap);
        *key = k->scratch;
        *klen = (size_t)n;
        return 0;
    }
    if (t.type == TB_JSON_PRIMITIVE) { *key = line + t.start; *klen = (size_t)(t.end - t.start); return 0; }
    return tb_fail(e, TB_EDATA, "field \"%s\" is not a string or number", field);
}
