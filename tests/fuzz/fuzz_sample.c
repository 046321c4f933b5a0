/* fuzz_sample: lib/shard_sample both ways. Mode 0 (first byte even): the rest is an NDJSON sample
 * line; tb_sample_parse maps it to members (what shard writes), and a line rebuilt from those
 * members with tb_linebuf_* (what cat writes) must parse to the same key and member bytes. Mode 1:
 * the rest is a tar sample's members, "key\0field\0bytes\0field\0bytes..." (bytes as read from an
 * untrusted shard): cat's line for them must parse back to exactly those members. */
/* -max_len for `make fuzz` (scripts/run-fuzz.sh reads this line) */
#define FUZZ_MAX_LEN 4096
#include "fuzz.h"
#include "shard_sample.h"

struct mem { const char *f; size_t fl; const unsigned char *d; size_t dl; };

static int by_field(const void *a, const void *b)
{
    const struct mem *x = a, *y = b;
    size_t n = x->fl < y->fl ? x->fl : y->fl;
    int r = memcmp(x->f, y->f, n);
    return r ? r : (x->fl > y->fl) - (x->fl < y->fl);
}

/* Parse line and compare with the expected members (sorted by field) and key. */
static void expect(const char *line, size_t len, const char *key, size_t klen, struct mem *m, int n)
{
    struct tb_sample s;
    tb_sample_init(&s);
    tb_err e = {0};
    int rc = tb_sample_parse(&s, line, len, 0, &e);
    if (rc) fprintf(stderr, "rebuilt line refused: %s\n%.*s\n", e.msg, (int)len, line);
    FZ_CHECK(rc == 0);
    FZ_CHECK(s.has_key && s.key_len == klen && memcmp(s.key, key, klen) == 0);
    FZ_CHECK(s.n == n);
    for (int i = 0; i < n; i++) {
        FZ_CHECK(s.m[i].field_len == m[i].fl && memcmp(s.m[i].field, m[i].f, m[i].fl) == 0);
        FZ_CHECK(s.m[i].len == m[i].dl && (!m[i].dl || memcmp(s.m[i].data, m[i].d, m[i].dl) == 0));
    }
    tb_sample_free(&s);
}

static void rebuild(const char *key, size_t klen, struct mem *m, int n)
{
    struct tb_linebuf b = {0};
    struct tb_json scratch;
    tb_json_init(&scratch);
    tb_err e = {0};
    /* a key or field name that is not UTF-8 cannot be in a JSON line: refused, never written */
    int utf8 = tb_utf8_valid((const unsigned char *)key, klen);
    for (int i = 0; i < n; i++) utf8 = utf8 && tb_utf8_valid((const unsigned char *)m[i].f, m[i].fl);
    int rc = tb_linebuf_begin(&b, key, klen, &e);
    for (int i = 0; i < n && !rc; i++) rc = tb_linebuf_add(&b, m[i].f, m[i].fl, m[i].d, m[i].dl, &scratch, &e);
    if (!rc) rc = tb_linebuf_end(&b, &e);
    FZ_CHECK(rc == (utf8 ? 0 : TB_EDATA));
    if (!rc) {
        /* fields starting with '_' are metadata shard does not write (DESIGN.md): a foreign shard's
         * KEY._x member is dropped by cat | shard; a sample of only those is refused there */
        int w = 0;
        for (int i = 0; i < n; i++)
            if (m[i].f[0] != '_') m[w++] = m[i];
        qsort(m, (size_t)w, sizeof *m, by_field);
        if (w) expect(b.p, b.n, key, klen, m, w);
    }
    tb_json_free(&scratch);
    tb_linebuf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned mode = fz_byte(&data, &size) & 1;
    if (mode == 0) {
        struct tb_sample s;
        tb_sample_init(&s);
        tb_err e = {0};
        char *line = fz_str(data, size);
        if (tb_sample_parse(&s, line, size, 7, &e) == 0) {
            FZ_CHECK(tb_key_invalid(s.key, s.key_len) == NULL);
            struct mem *m = tb_xcalloc((size_t)s.n + 1, sizeof *m);
            for (int i = 0; i < s.n; i++) {
                FZ_CHECK(tb_field_invalid(s.m[i].field, s.m[i].field_len) == NULL);
                if (i) FZ_CHECK(by_field(&(struct mem){s.m[i - 1].field, s.m[i - 1].field_len, 0, 0},
                                         &(struct mem){s.m[i].field, s.m[i].field_len, 0, 0}) < 0);
                m[i] = (struct mem){s.m[i].field, s.m[i].field_len, s.m[i].data, s.m[i].len};
            }
            /* the key and members are spans of s: copy them before s is reused */
            char *key = tb_xmalloc(s.key_len + 1);
            memcpy(key, s.key, s.key_len);
            size_t total = 0;
            for (int i = 0; i < s.n; i++) total += m[i].fl + m[i].dl;
            char *copy = tb_xmalloc(total + 1), *p = copy;
            for (int i = 0; i < s.n; i++) {
                memcpy(p, m[i].f, m[i].fl); m[i].f = p; p += m[i].fl;
                if (m[i].dl) memcpy(p, m[i].d, m[i].dl);
                m[i].d = (const unsigned char *)p; p += m[i].dl;
            }
            rebuild(key, s.key_len, m, s.n);
            free(copy);
            free(key);
            free(m);
        }
        free(line);
        tb_sample_free(&s);
        return 0;
    }
    /* mode 1: NUL-separated key, then field/bytes pairs */
    const char *p = (const char *)data, *end = p + size;
    const char *z = memchr(p, 0, size);
    if (!z) return 0;
    const char *key = p;
    size_t klen = (size_t)(z - p);
    if (tb_key_invalid(key, klen)) return 0;
    p = z + 1;
    struct mem m[16];
    int n = 0;
    while (p < end && n < 16) {
        const char *f = p, *fz = memchr(f, 0, (size_t)(end - f));
        if (!fz) break;
        const char *d = fz + 1, *dz = d < end ? memchr(d, 0, (size_t)(end - d)) : NULL;
        size_t dl = dz ? (size_t)(dz - d) : (size_t)(end - d);
        size_t fl = (size_t)(fz - f);
        if (tb_field_invalid(f, fl)) return 0;
        for (int i = 0; i < n; i++)
            if (m[i].fl == fl && memcmp(m[i].f, f, fl) == 0) return 0; /* one member per field */
        m[n++] = (struct mem){f, fl, (const unsigned char *)d, dl};
        p = dz ? dz + 1 : end;
    }
    if (n) rebuild(key, klen, m, n); /* cat writes a key only with a member */
    return 0;
}
