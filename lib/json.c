/* json: strict jsmn scan plus the validation jsmn does not do. */
#include "json.h"
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#define JSMN_STATIC
#define JSMN_STRICT
#define JSMN_PARENT_LINKS
#include <jsmn.h>

void tb_json_init(struct tb_json *j) { memset(j, 0, sizeof *j); }
void tb_json_free(struct tb_json *j) { free(j->toks); memset(j, 0, sizeof *j); }

struct tb_jtok tb_json_tok(const struct tb_json *j, int i)
{
    const jsmntok_t *t = (const jsmntok_t *)j->toks + i;
    struct tb_jtok r = {t->type, t->start, t->end, t->size};
    return r;
}

int tb_json_skip(const struct tb_json *j, int i)
{
    const jsmntok_t *t = j->toks;
    int end = t[i].end, k = i + 1;
    while (k < j->n && t[k].start < end) k++;
    return k;
}

int tb_utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c < 0x80) { i++; continue; }
        int len;
        unsigned cp;
        if (c >= 0xc2 && c <= 0xdf) { len = 2; cp = c & 0x1f; }
        else if (c >= 0xe0 && c <= 0xef) { len = 3; cp = c & 0x0f; }
        else if (c >= 0xf0 && c <= 0xf4) { len = 4; cp = c & 0x07; }
        else return 0;
        if (i + (size_t)len > n) return 0;
        for (int k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80) return 0;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
            return 0;
        i += (size_t)len;
    }
    return 1;
}

/* 0 when a string's raw bytes hold no control byte and are valid UTF-8; 1 for a control byte,
 * 2 for bad UTF-8. Eight bytes at a time while the text is plain ASCII (the common case). */
static int string_bytes_bad(const unsigned char *s, size_t n)
{
    size_t i = 0;
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    while (i + 8 <= n) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        if (w & highs) break;                              /* non-ASCII: slow path from here */
        if ((w - 0x20 * ones) & ~w & highs) return 1;      /* some byte < 0x20 */
        i += 8;
    }
    for (size_t k = i; k < n; k++) if (s[k] < 0x20) return 1;
    return tb_utf8_valid(s + i, n - i) ? 0 : 2;
}

static int is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

static int number_ok(const char *s, size_t n)
{
    size_t i = 0;
    if (i < n && s[i] == '-') i++;
    if (i >= n) return 0;
    if (s[i] == '0') i++;
    else if (s[i] >= '1' && s[i] <= '9') while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    else return 0;
    if (i < n && s[i] == '.') {
        i++;
        if (i >= n || s[i] < '0' || s[i] > '9') return 0;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) i++;
        if (i >= n || s[i] < '0' || s[i] > '9') return 0;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    }
    return i == n;
}

static int primitive_ok(const char *s, size_t n)
{
    if (n == 4 && (memcmp(s, "true", 4) == 0 || memcmp(s, "null", 4) == 0)) return 1;
    if (n == 5 && memcmp(s, "false", 5) == 0) return 1;
    return number_ok(s, n);
}


int tb_json_scan(struct tb_json *j, const char *text, size_t len, tb_err *e)
{
    j->text = text;
    j->len = len;
    if (!j->toks) {
        j->cap = 64;
        j->toks = malloc(sizeof(jsmntok_t) * j->cap);
        if (!j->toks) return tb_fail(e, TB_ESOFTWARE, "out of memory");
    }
    for (;;) {
        jsmn_parser p;
        jsmn_init(&p);
        int r = jsmn_parse(&p, text, len, j->toks, j->cap);
        if (r == JSMN_ERROR_NOMEM) {
            void *nt = realloc(j->toks, sizeof(jsmntok_t) * j->cap * 2);
            if (!nt) return tb_fail(e, TB_ESOFTWARE, "out of memory");
            j->toks = nt;
            j->cap *= 2;
            continue;
        }
        if (r == JSMN_ERROR_PART) return tb_fail(e, TB_EDATA, "not valid JSON (truncated)");
        if (r < 0) return tb_fail(e, TB_EDATA, "not valid JSON (at byte %u)", p.pos + 1);
        if (r == 0) return tb_fail(e, TB_EDATA, "not valid JSON (empty)");
        j->n = r;
        break;
    }
    jsmntok_t *t = j->toks;
    /* jsmn accepts a comma before a closing bracket and doubled commas: check separators outside
     * strings in one pass (strings are skipped with memchr) */
    {
        char prev = 0;
        for (size_t k = 0; k < len; k++) {
            char c = text[k];
            if (c == '"') {
                const char *q = text + k;
                for (;;) {
                    q = memchr(q + 1, '"', (size_t)(text + len - q - 1));
                    if (!q) return tb_fail(e, TB_EDATA, "not valid JSON (unterminated string)");
                    size_t bs = 0;
                    while (q - 1 - (ptrdiff_t)bs > text + k && q[-1 - (ptrdiff_t)bs] == '\\') bs++;
                    if (bs % 2 == 0) break;
                }
                k = (size_t)(q - text);
                prev = '"';
                continue;
            }
            if (is_ws(c)) continue;
            if ((c == '}' || c == ']') && prev == ',') return tb_fail(e, TB_EDATA, "not valid JSON (comma before '%c')", c);
            if (c == ',' && (prev == ',' || prev == '{' || prev == '[' || prev == ':'))
                return tb_fail(e, TB_EDATA, "not valid JSON (misplaced comma at byte %zu)", k + 1);
            prev = c;
        }
    }
    /* one value, then only whitespace (this also rules out a second top-level value) */
    for (size_t k = (size_t)t[0].end + (t[0].type == JSMN_STRING); k < len; k++)
        if (!is_ws(text[k])) return tb_fail(e, TB_EDATA, "not valid JSON (trailing bytes at byte %zu)", k + 1);
    for (int i = 0; i < j->n; i++) {
        const char *s = text + t[i].start;
        size_t n = (size_t)(t[i].end - t[i].start);
        if (t[i].type == JSMN_PRIMITIVE) {
            if (!primitive_ok(s, n)) return tb_fail(e, TB_EDATA, "not valid JSON (bad literal '%.*s')", (int)(n > 20 ? 20 : n), s);
            /* a primitive cannot be an object key */
            if (t[i].parent >= 0 && t[t[i].parent].type == JSMN_OBJECT)
                return tb_fail(e, TB_EDATA, "not valid JSON (object key is not a string)");
        } else if (t[i].type == JSMN_STRING) {
            int bad = string_bytes_bad((const unsigned char *)s, n);
            if (bad == 1) return tb_fail(e, TB_EDATA, "not valid JSON (control byte in a string)");
            if (bad == 2) return tb_fail(e, TB_EDATA, "not valid JSON (invalid UTF-8 in a string)");
            /* keys must have exactly one value */
            if (t[i].parent >= 0 && t[t[i].parent].type == JSMN_OBJECT && t[i].size != 1)
                return tb_fail(e, TB_EDATA, "not valid JSON (object key without a value)");
        } else if (t[i].type == JSMN_OBJECT || t[i].type == JSMN_ARRAY) {
            if (t[i].parent >= 0 && t[t[i].parent].type == JSMN_OBJECT)
                return tb_fail(e, TB_EDATA, "not valid JSON (object key is not a string)");
        }
    }
    return 0;
}

int tb_json_scan_object(struct tb_json *j, const char *text, size_t len, tb_err *e)
{
    int r = tb_json_scan(j, text, len, e);
    if (r) return r;
    if (((jsmntok_t *)j->toks)[0].type != JSMN_OBJECT) return tb_fail(e, TB_EDATA, "not a JSON object");
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static unsigned hex4(const char *s)
{
    return (unsigned)(hexval(s[0]) << 12 | hexval(s[1]) << 8 | hexval(s[2]) << 4 | hexval(s[3]));
}

long tb_json_unescape(const struct tb_json *j, int i, char *out, size_t cap)
{
    const jsmntok_t *t = (const jsmntok_t *)j->toks + i;
    const char *s = j->text + t->start, *end = j->text + t->end;
    size_t o = 0;
#define PUT(c) do { if (o >= cap) return -1; out[o++] = (char)(c); } while (0)
    while (s < end) {
        const char *bs = memchr(s, '\\', (size_t)(end - s));
        size_t run = bs ? (size_t)(bs - s) : (size_t)(end - s);
        if (o + run > cap) return -1;
        memcpy(out + o, s, run);
        o += run;
        s += run;
        if (!bs) break;
        s++;
        char c = *s++;
        switch (c) {
        case 'n': PUT('\n'); break;
        case 't': PUT('\t'); break;
        case 'r': PUT('\r'); break;
        case 'b': PUT('\b'); break;
        case 'f': PUT('\f'); break;
        case 'u': {
            unsigned cp = hex4(s);
            s += 4;
            if (cp >= 0xd800 && cp <= 0xdbff && s + 6 <= end && s[0] == '\\' && s[1] == 'u') {
                unsigned lo = hex4(s + 2);
                if (lo >= 0xdc00 && lo <= 0xdfff) {
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                    s += 6;
                }
            }
            if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd; /* lone surrogate */
            if (cp < 0x80) PUT(cp);
            else if (cp < 0x800) { PUT(0xc0 | cp >> 6); PUT(0x80 | (cp & 0x3f)); }
            else if (cp < 0x10000) { PUT(0xe0 | cp >> 12); PUT(0x80 | ((cp >> 6) & 0x3f)); PUT(0x80 | (cp & 0x3f)); }
            else { PUT(0xf0 | cp >> 18); PUT(0x80 | ((cp >> 12) & 0x3f)); PUT(0x80 | ((cp >> 6) & 0x3f)); PUT(0x80 | (cp & 0x3f)); }
            break;
        }
        default: PUT(c); break; /* \" \\ \/ */
        }
    }
#undef PUT
    if (o < cap) out[o] = 0;
    return (long)o;
}

int tb_json_key_eq(const struct tb_json *j, int k, const char *name)
{
    const jsmntok_t *t = (const jsmntok_t *)j->toks + k;
    size_t n = (size_t)(t->end - t->start), nl = strlen(name);
    const char *s = j->text + t->start;
    if (!memchr(s, '\\', n)) return n == nl && memcmp(s, name, n) == 0;
    char buf[256];
    long d = tb_json_unescape(j, k, buf, sizeof buf);
    return d >= 0 && (size_t)d == nl && memcmp(buf, name, nl) == 0;
}

int tb_json_field(const struct tb_json *j, const char *name)
{
    const jsmntok_t *t = j->toks;
    if (j->n == 0 || t[0].type != JSMN_OBJECT) return -1;
    int i = 1;
    for (int f = 0; f < t[0].size; f++) {
        if (tb_json_key_eq(j, i, name)) return i + 1;
        i = tb_json_skip(j, i + 1);
    }
    return -1;
}

size_t tb_json_quote(const char *s, size_t n, char *buf, size_t cap)
{
    size_t o = 0;
#define OUT(c) do { if (o < cap) buf[o] = (char)(c); o++; } while (0)
    OUT('"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') { OUT('\\'); OUT(c); }
        else if (c == '\n') { OUT('\\'); OUT('n'); }
        else if (c == '\t') { OUT('\\'); OUT('t'); }
        else if (c == '\r') { OUT('\\'); OUT('r'); }
        else if (c < 0x20) {
            static const char hx[] = "0123456789abcdef";
            OUT('\\'); OUT('u'); OUT('0'); OUT('0'); OUT(hx[c >> 4]); OUT(hx[c & 15]);
        } else OUT(c);
    }
    OUT('"');
    if (o < cap) buf[o] = 0;
#undef OUT
    return o;
}
