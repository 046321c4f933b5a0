/* sample: NDJSON line <-> tar members (DESIGN.md "Samples"). */
#include "shard_sample.h"
#include "alloc.h"
#include "base64.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tb_sample_init(struct tb_sample *s)
{
    memset(s, 0, sizeof *s);
    tb_json_init(&s->j);
}

void tb_sample_free(struct tb_sample *s)
{
    tb_json_free(&s->j);
    free(s->m);
    free(s->arena);
    memset(s, 0, sizeof *s);
}

const char *tb_key_invalid(const char *key, size_t n)
{
    if (n == 0) return "the key is empty";
    if (memchr(key, 0, n)) return "the key contains a NUL byte";
    if (key[0] == '/') return "the key starts with '/'";
    size_t c = 0; /* start of the current component */
    for (size_t i = 0; i <= n; i++) {
        if (i < n && key[i] != '/') continue;
        size_t cl = i - c;
        if (cl == 0) return "the key has an empty path component";
        if (cl == 1 && key[c] == '.') return "the key has a '.' path component";
        if (cl == 2 && key[c] == '.' && key[c + 1] == '.') return "the key has a '..' path component";
        if (i == n && memchr(key + c, '.', cl)) return "the key has a '.' in its last path component";
        c = i + 1;
    }
    return NULL;
}

const char *tb_field_invalid(const char *f, size_t n)
{
    if (n == 0) return "empty field name";
    if (memchr(f, 0, n)) return "field name contains a NUL byte";
    if (memchr(f, '/', n)) return "field name contains '/'";
    return NULL;
}

long tb_member_split(const char *name, size_t n)
{
    const char *base = name;
    for (size_t i = n; i > 0; i--)
        if (name[i - 1] == '/') { base = name + i; break; }
    const char *dot = memchr(base, '.', n - (size_t)(base - name));
    return dot ? (long)(dot - name) : -1;
}

static inline int is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

size_t tb_json_compact(const char *in, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = in[i];
        if (c == '"') {
            /* copy the whole string, escapes included, up to its closing quote */
            out[o++] = c;
            for (i++; i < n; i++) {
                out[o++] = in[i];
                if (in[i] == '\\' && i + 1 < n) out[o++] = in[++i];
                else if (in[i] == '"') break;
            }
        } else if (!is_ws(c)) {
            out[o++] = c;
        }
    }
    return o;
}

/* Is a valid JSON text already compact (nothing to remove outside strings)? */
static int json_is_compact(const char *in, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (in[i] == '"') {
            for (i++; i < n && in[i] != '"'; i++)
                if (in[i] == '\\') i++;
        } else if (is_ws(in[i])) {
            return 0;
        }
    }
    return 1;
}

/* The extensions WebDataset's default decoders read as text (plus common text formats). */
static const char *const text_exts[] = {
    "txt", "text", "transcript", "caption", "cls", "cls2", "class", "count", "index", "inx", "id", "key",
    "json", "jsn", "jsonl", "ndjson", "html", "htm", "xml", "csv", "tsv", "md", "yaml", "yml", NULL,
};

static const char *last_ext(const char *f, size_t n, size_t *len)
{
    const char *e = f;
    for (size_t i = n; i > 0; i--)
        if (f[i - 1] == '.') { e = f + i; break; }
    *len = n - (size_t)(e - f);
    return e;
}

int tb_text_ext(const char *field, size_t n)
{
    size_t el;
    const char *e = last_ext(field, n, &el);
    for (int i = 0; text_exts[i]; i++)
        if (strlen(text_exts[i]) == el && memcmp(text_exts[i], e, el) == 0) return 1;
    return 0;
}

static int is_json_ext(const char *field, size_t n)
{
    size_t el;
    const char *e = last_ext(field, n, &el);
    return (el == 4 && memcmp(e, "json", 4) == 0) || (el == 3 && memcmp(e, "jsn", 3) == 0);
}

/* ---- forward: line -> members ---- */

static int fieldcmp(const struct tb_member *a, const struct tb_member *b)
{
    size_t n = a->field_len < b->field_len ? a->field_len : b->field_len;
    int c = memcmp(a->field, b->field, n);
    if (c) return c;
    return a->field_len < b->field_len ? -1 : a->field_len > b->field_len;
}

/* A string token's text: the span itself when it has no escapes, else unescaped into the arena. */
static const char *str_of(struct tb_sample *s, int tok, size_t *ap, size_t *len)
{
    struct tb_jtok t = tb_json_tok(&s->j, tok);
    const char *p = s->j.text + t.start;
    size_t n = (size_t)(t.end - t.start);
    if (!memchr(p, '\\', n)) { *len = n; return p; }
    char *o = s->arena + *ap;
    long d = tb_json_unescape(&s->j, tok, o, n); /* unescaped text is never longer */
    *len = (size_t)d;
    *ap += (size_t)d;
    return o;
}

#define FIELD_FMT "field '%.*s': "
#define FIELD_ARG(m) (int)((m).field_len > 64 ? 64 : (m).field_len), (m).field

int tb_sample_parse(struct tb_sample *s, const char *line, size_t len, uint64_t index, tb_err *e)
{
    int r = tb_json_scan_object(&s->j, line, len, e);
    if (r) return r;
    /* every output (unescaped names and strings, decoded base64, compact JSON, a base64 text
     * unescaped then decoded) fits in twice the line: size the arena once, pointers stay stable */
    size_t need = 2 * len + 64;
    if (s->arena_cap < need) {
        s->arena = tb_xrealloc(s->arena, need);
        s->arena_cap = need;
    }
    struct tb_jtok root = tb_json_tok(&s->j, 0);
    if (s->cap < root.size) {
        s->m = tb_xrealloc(s->m, sizeof *s->m * (size_t)root.size);
        s->cap = root.size;
    }
    s->n = 0;
    s->has_key = 0;
    size_t ap = 0;
    int i = 1;
    for (int f = 0; f < root.size; f++) {
        int k = i, v = i + 1;
        i = tb_json_skip(&s->j, v);
        struct tb_member m;
        m.field = str_of(s, k, &ap, &m.field_len);
        struct tb_jtok vt = tb_json_tok(&s->j, v);
        if (m.field_len && m.field[0] == '_') {
            if (m.field_len == 7 && memcmp(m.field, "__key__", 7) == 0) {
                if (s->has_key) return tb_fail(e, TB_EDATA, "bad key: __key__ given twice");
                if (vt.type != TB_JSON_STRING) return tb_fail(e, TB_EDATA, "bad key: __key__ is not a string");
                s->key = str_of(s, v, &ap, &s->key_len);
                s->has_key = 1;
            }
            continue; /* metadata, not written */
        }
        const char *why = tb_field_invalid(m.field, m.field_len);
        if (why) return tb_fail(e, TB_EDATA, "bad field name '%.*s': %s", FIELD_ARG(m), why);
        const char *vp = line + vt.start;
        size_t vn = (size_t)(vt.end - vt.start);
        if (vt.type == TB_JSON_STRING) {
            size_t n;
            m.data = (const unsigned char *)str_of(s, v, &ap, &n);
            m.len = n;
        } else if (vt.type == TB_JSON_OBJECT && vt.size == 1 && tb_json_key_eq(&s->j, v + 1, "$base64")) {
            struct tb_jtok bt = tb_json_tok(&s->j, v + 2);
            if (bt.type == TB_JSON_PRIMITIVE && s->blobs) {
                long idx = strtol(line + bt.start, NULL, 10);
                if (idx < 0 || idx >= s->nblobs)
                    return tb_fail(e, TB_EDATA, FIELD_FMT "$base64 value does not decode", FIELD_ARG(m));
                m.data = s->blob + s->blobs[idx].off;
                m.len = s->blobs[idx].len;
                s->m[s->n++] = m;
                continue;
            }
            if (bt.type != TB_JSON_STRING)
                return tb_fail(e, TB_EDATA, FIELD_FMT "$base64 value is not a string", FIELD_ARG(m));
            size_t bn;
            const char *b = str_of(s, v + 2, &ap, &bn);
            unsigned char *o = (unsigned char *)s->arena + ap;
            long d = tb_base64_decode(b, bn, o);
            if (d < 0) return tb_fail(e, TB_EDATA, FIELD_FMT "$base64 value does not decode", FIELD_ARG(m));
            m.data = o;
            m.len = (size_t)d;
            ap += (size_t)d;
        } else if (vt.type == TB_JSON_PRIMITIVE) {
            m.data = (const unsigned char *)vp;
            m.len = vn;
        } else {
            char *o = s->arena + ap;
            m.len = tb_json_compact(vp, vn, o);
            m.data = (const unsigned char *)o;
            ap += m.len;
        }
        s->m[s->n++] = m;
    }
    if (s->has_key) {
        const char *why = tb_key_invalid(s->key, s->key_len);
        if (why) return tb_fail(e, TB_EDATA, "bad key '%.*s': %s", (int)(s->key_len > 200 ? 200 : s->key_len), s->key, why);
    } else {
        char *o = s->arena + ap;
        int w = snprintf(o, 32, "%0*llu", TB_KEY_DIGITS, (unsigned long long)index);
        s->key = o;
        s->key_len = (size_t)w;
        ap += (size_t)w;
    }
    if (s->n == 0) return tb_fail(e, TB_EDATA, "sample has no fields to write (only __key__ or _-prefixed fields)");
    /* insertion sort: samples have a handful of fields, usually already in order */
    for (int a = 1; a < s->n; a++) {
        struct tb_member t = s->m[a];
        int b = a;
        while (b > 0 && fieldcmp(&s->m[b - 1], &t) > 0) { s->m[b] = s->m[b - 1]; b--; }
        s->m[b] = t;
    }
    for (int a = 1; a < s->n; a++)
        if (fieldcmp(&s->m[a - 1], &s->m[a]) == 0)
            return tb_fail(e, TB_EDATA, "field '%.*s' given twice", FIELD_ARG(s->m[a]));
    return 0;
}

/* ---- inverse: members -> line ---- */

void tb_linebuf_free(struct tb_linebuf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

static void reserve(struct tb_linebuf *b, size_t more)
{
    tb_xgrow(&b->p, &b->cap, b->n + more + 1);
}

static void put_quoted(struct tb_linebuf *b, const char *s, size_t n)
{
    reserve(b, 6 * n + 2);
    b->n += tb_json_quote(s, n, b->p + b->n, b->cap - b->n);
}

static int put(struct tb_linebuf *b, const char *s, size_t n)
{
    reserve(b, n);
    memcpy(b->p + b->n, s, n);
    b->n += n;
    return 0;
}

/* A tar member's key or field that is not UTF-8 (a shard made elsewhere): JSON cannot hold it, and
 * a line with the raw bytes would be refused by every reader (tests/fuzz/regress/sample). */
static int not_utf8(tb_err *e, const char *what, const char *s, size_t n)
{
    char shown[201];
    size_t k = n < 200 ? n : 200;
    for (size_t i = 0; i < k; i++) shown[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
    shown[k] = 0;
    return tb_fail(e, TB_EDATA, "%s '%s' is not valid UTF-8 (no JSON line can hold it)", what, shown);
}

int tb_linebuf_begin(struct tb_linebuf *b, const char *key, size_t klen, tb_err *e)
{
    b->n = 0;
    if (!tb_utf8_valid((const unsigned char *)key, klen))
        return not_utf8(e, "sample key", key, klen);
    put(b, "{\"__key__\":", 11);
    put_quoted(b, key, klen);
    return 0;
}

int tb_linebuf_add(struct tb_linebuf *b, const char *field, size_t flen, const unsigned char *data, size_t len,
                struct tb_json *scratch, tb_err *e)
{
    if (!tb_utf8_valid((const unsigned char *)field, flen))
        return not_utf8(e, "member field", field, flen);
    put(b, ",", 1);
    put_quoted(b, field, flen);
    put(b, ":", 1);
    const char *d = (const char *)data;
    if (is_json_ext(field, flen) && len > 0) {
        tb_err ignore;
        /* embed only what re-shards to the same bytes: compact, and not a bare string (a string
         * value is written unquoted) */
        if (tb_json_scan(scratch, d, len, &ignore) == 0 && tb_json_tok(scratch, 0).type != TB_JSON_STRING &&
            json_is_compact(d, len))
            return put(b, d, len);
    }
    if (tb_text_ext(field, flen) && tb_utf8_valid(data, len)) {
        put_quoted(b, d, len);
        return 0;
    }
    reserve(b, TB_BASE64_ENCODED_SIZE(len) + 16);
    memcpy(b->p + b->n, "{\"$base64\":\"", 12);
    b->n += 12;
    b->n += tb_base64_encode(data, len, b->p + b->n);
    return put(b, "\"}", 2);
}

int tb_linebuf_end(struct tb_linebuf *b, tb_err *e)
{
    (void)e;
    put(b, "}", 1);
    b->p[b->n] = 0;
    return 0;
}
