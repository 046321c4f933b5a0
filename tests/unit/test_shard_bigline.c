/* lib/shard_bigline: a line fed in pieces of every size (split inside escapes, tokens and base64 quads)
 * gives the very members the whole-line parse gives, for every shape of sample. */
#include "base64.h"
#include "shard_bigline.h"
#include "shard_sample.h"
#include "tap.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *b64of(size_t n, unsigned seed, int escape_slash)
{
    unsigned char *raw = malloc(n + 1);
    for (size_t i = 0; i < n; i++) { seed = seed * 1103515245u + 12345u; raw[i] = (unsigned char)(seed >> 16); }
    char *enc = malloc(4 * ((n + 2) / 3) + 1);
    size_t el = tb_base64_encode(raw, n, enc);
    free(raw);
    if (!escape_slash) return enc;
    char *out = malloc(2 * el + 1), *o = out;
    for (size_t i = 0; i < el; i++) { if (enc[i] == '/') *o++ = '\\'; *o++ = enc[i]; }
    *o = 0;
    free(enc);
    return out;
}

static int same_members(const struct tb_sample *a, const struct tb_sample *b)
{
    if (a->key_len != b->key_len || memcmp(a->key, b->key, a->key_len) || a->n != b->n) return 0;
    for (int i = 0; i < a->n; i++)
        if (a->m[i].field_len != b->m[i].field_len || memcmp(a->m[i].field, b->m[i].field, a->m[i].field_len) ||
            a->m[i].len != b->m[i].len || memcmp(a->m[i].data, b->m[i].data, a->m[i].len))
            return 0;
    return 1;
}

int main(void)
{
    char *x = b64of(3000, 1, 0), *y = b64of(2001, 2, 1), *z = b64of(10, 3, 0), *w = b64of(5000, 4, 1);
    size_t cap = 64000;
    char *lines[8];
    for (int i = 0; i < 8; i++) lines[i] = malloc(cap);
    snprintf(lines[0], cap, "{\"__key__\":\"a\",\"bin\":{\"$base64\":\"%s\"}}", x);
    snprintf(lines[1], cap, " { \"__key__\" : \"b/c\" ,\t\"a.jpg\" :  {  \"$base64\"  :  \"%s\"  }  , \"b\":{\"$base64\":\"%s\"} , \"txt\": \"h\\u00e9llo \\\"q\\\" \\u2713\" } ", y, z);
    snprintf(lines[2], cap, "{\"json\":{\"nested\":{\"$base64\":\"%s\"},\"arr\":[1, 2.50, {\"x\" : \"y\"}]},\"cls\":12345678901234567890,\"__key__\":\"d\"}", z);
    snprintf(lines[3], cap, "{\"__key__\":\"e\",\"meta\":{\"$base64\": \"%s\", \"other\": [1]},\"bin\":{\"$base64\":\"\"},\"_m\":{\"$base64\":\"%s\"}}", z, x);
    snprintf(lines[4], cap, "{\"__key__\":\"f\",\"bin\":{\"\\u0024base64\":\"%s\"},\"u\":{\"$base64\":\"\\u0051UJD\"}}", x);
    snprintf(lines[5], cap, "{\"__key__\":\"g\",\"x\":{\"$base64\":\"%s\"},\"y\":{\"$base64\":\"%s\"},\"n\":null,\"t\":true,\"s\":\"%s\"}", w, y, x);
    snprintf(lines[6], cap, "{\"__key__\":\"h\",\"bin\":{\"$base64\":\"%s@\"}}", z);      /* does not decode */
    snprintf(lines[7], cap, "{\"__key__\":\"i\",\"bin\":{\"$base64\":\"QQ==QUJD\"}}");     /* padding inside */
    struct tb_sample whole, part;
    struct tb_bigline bl;
    tb_sample_init(&whole);
    tb_sample_init(&part);
    tb_bigline_init(&bl);
    static const size_t maxpiece[] = {1, 2, 3, 5, 7, 64, 4099, 1u << 20};
    unsigned seed = 7;
    for (int i = 0; i < 8; i++) {
        size_t len = strlen(lines[i]);
        tb_err e1 = {0}, e2 = {0};
        int r1 = tb_sample_parse(&whole, lines[i], len, 5, &e1);
        int ok = 1;
        for (size_t k = 0; k < sizeof maxpiece / sizeof *maxpiece && ok; k++) {
            tb_bigline_reset(&bl);
            for (size_t off = 0; off < len;) {
                seed = seed * 1103515245u + 12345u;
                size_t n = 1 + (seed >> 8) % maxpiece[k];
                if (n > len - off) n = len - off;
                tb_bigline_feed(&bl, lines[i] + off, n);
                off += n;
            }
            if (!ok || tb_bigline_end(&bl, &e2)) { ok = 0; break; }
            tb_bigline_attach(&bl, &part);
            int r2 = tb_sample_parse(&part, bl.line, bl.len, 5, &e2);
            tb_bigline_attach(NULL, &part);
            if (r1 != r2 || (r1 == 0 && !same_members(&whole, &part)) || (r1 && strcmp(e1.msg, e2.msg))) {
                ok = 0;
                printf("# line %d, pieces up to %zu: %d '%s' vs %d '%s'\n", i, maxpiece[k], r1, e1.msg, r2, e2.msg);
            }
            if (i == 0 && k == 0) CHECK(bl.len < 100, "a $base64 value is not kept in the compact line (%zu bytes)", bl.len);
        }
        CHECK(ok, "line %d: pieces of any size give the whole line's members (or its error: %s)", i, r1 ? e1.msg : "none");
    }
    tb_bigline_free(&bl);
    tb_sample_free(&whole);
    tb_sample_free(&part);
    for (int i = 0; i < 8; i++) free(lines[i]);
    free(x); free(y); free(z); free(w);
    return tap_done();
}
