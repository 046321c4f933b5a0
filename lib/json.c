/* json: strict jsmn scan plus the validation jsmn does not do. */
#include "json.h"
#include "alloc.h"
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#define JSMN_STATIC
#define JSMN_STRICT
#define JSMN_PARENT_LINKS
#include <jsmn.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

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

/* The length of the multi-byte UTF-8 sequence at s[i] (its lead byte >= 0x80), or 0 when it is not
 * one: one branch per length; the second byte's range rules out overlongs, surrogates and code
 * points past U+10FFFF. */
static inline size_t utf8_seq(const unsigned char *s, size_t n, size_t i)
{
    unsigned char c = s[i];
    if (c >= 0xc2 && c <= 0xdf) return i + 1 < n && (s[i + 1] & 0xc0) == 0x80 ? 2 : 0;
    if (c >= 0xe0 && c <= 0xef) {
        if (i + 2 >= n) return 0;
        unsigned char b1 = s[i + 1], b2 = s[i + 2];
        if ((b1 & 0xc0) != 0x80 || (b2 & 0xc0) != 0x80) return 0;
        if ((c == 0xe0 && b1 < 0xa0) || (c == 0xed && b1 >= 0xa0)) return 0;
        return 3;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        if (i + 3 >= n) return 0;
        unsigned char b1 = s[i + 1], b2 = s[i + 2], b3 = s[i + 3];
        if ((b1 & 0xc0) != 0x80 || (b2 & 0xc0) != 0x80 || (b3 & 0xc0) != 0x80) return 0;
        if ((c == 0xf0 && b1 < 0x90) || (c == 0xf4 && b1 >= 0x90)) return 0;
        return 4;
    }
    return 0;
}

int tb_utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        /* skip ASCII straight to the next byte >= 0x80, sixteen or eight bytes at a time (text
         * mixing scripts has one every few bytes: re-testing whole blocks byte by byte was slow) */
#ifdef __SSE2__
        if (i + 16 <= n) {
            int m = _mm_movemask_epi8(_mm_loadu_si128((const __m128i *)(const void *)(s + i)));
            if (!m) { i += 16; continue; }
            i += (size_t)__builtin_ctz((unsigned)m);
        } else
#endif
        if (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            w &= 0x8080808080808080ull;
            if (!w) { i += 8; continue; }
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            i += (size_t)__builtin_ctzll(w) / 8; /* the first byte is the lowest */
#endif
        }
        unsigned char c = s[i];
        if (c < 0x80) { i++; continue; }
        size_t k = utf8_seq(s, n, i);
        if (!k) return 0;
        i += k;
    }
    return 1;
}

/* A string's bytes in one pass: 0 when fine, 1 at a control byte (< 0x20), 2 at invalid UTF-8.
 * Sixteen printable ASCII bytes at a time; a block with anything else is walked byte by byte up to
 * its last multi-byte sequence. (Two passes, one for control bytes and one for UTF-8, each walked
 * the text of every string on lines with any non-ASCII byte: 2/3 of a mixed-script dataset.) */
static int string_bytes_bad(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
#ifdef __SSE2__
        if (i + 16 <= n) {
            int m = _mm_movemask_epi8(_mm_cmplt_epi8(_mm_loadu_si128((const __m128i *)(const void *)(s + i)), _mm_set1_epi8(0x20)));
            if (!m) { i += 16; continue; }
            i += (size_t)__builtin_ctz((unsigned)m);
        }
#endif
        unsigned char c = s[i];
        if (c < 0x20) return 1;
        if (c < 0x80) { i++; continue; }
        size_t k;
        if (c >= 0xc2 && c <= 0xdf) {
            if (i + 1 >= n || (s[i + 1] & 0xc0) != 0x80) return 2;
            k = 2;
        } else if (c >= 0xe0 && c <= 0xef) {
            if (i + 2 >= n) return 2;
            unsigned char b1 = s[i + 1], b2 = s[i + 2];
            if ((b1 & 0xc0) != 0x80 || (b2 & 0xc0) != 0x80) return 2;
            if ((c == 0xe0 && b1 < 0xa0) || (c == 0xed && b1 >= 0xa0)) return 2;
            k = 3;
        } else if (c >= 0xf0 && c <= 0xf4) {
            if (i + 3 >= n) return 2;
            unsigned char b1 = s[i + 1], b2 = s[i + 2], b3 = s[i + 3];
            if ((b1 & 0xc0) != 0x80 || (b2 & 0xc0) != 0x80 || (b3 & 0xc0) != 0x80) return 2;
            if ((c == 0xf0 && b1 < 0x90) || (c == 0xf4 && b1 >= 0x90)) return 2;
            k = 4;
        } else {
            return 2;
        }
        i += k;
    }
    return 0;
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
    /* the common case first: a small non-negative integer */
    if (n < 16 && s[0] >= '1' && s[0] <= '9') {
        size_t i = 1;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
        if (i == n) return 1;
    }
    if (n == 4 && (memcmp(s, "true", 4) == 0 || memcmp(s, "null", 4) == 0)) return 1;
    if (n == 5 && memcmp(s, "false", 5) == 0) return 1;
    return number_ok(s, n);
}


/* Is every byte printable ASCII (0x20..0x7f)? Signed bytes below 0x20 are exactly the control
 * bytes and the bytes >= 0x80, so one signed compare per 16 bytes answers both. */
static int printable_ascii(const char *s, size_t n)
{
    size_t k = 0;
#ifdef __SSE2__
    const __m128i lim = _mm_set1_epi8(0x20);
    for (; k + 16 <= n; k += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + k));
        if (_mm_movemask_epi8(_mm_cmplt_epi8(v, lim))) return 0;
    }
#endif
    for (; k + 8 <= n; k += 8) {
        uint64_t w;
        memcpy(&w, s + k, 8);
        /* exact as an existence test: a borrow only starts at a byte below 0x20 */
        if (((w - 0x2020202020202020ull) | w) & 0x8080808080808080ull) return 0;
    }
    for (; k < n; k++)
        if ((unsigned char)s[k] < 0x20 || (unsigned char)s[k] >= 0x80) return 0;
    return 1;
}

/* The bytes [a, b) are whitespace around at most one separator: sep 0 = whitespace only. */
static inline int gap_ok(const char *text, size_t a, size_t b, char sep)
{
    /* compact JSON: no gap, or just the separator */
    if (b - a == (sep != 0) && (!sep || text[a] == sep)) return 1;
    size_t k = a;
    while (k < b && is_ws(text[k])) k++;
    if (sep) {
        if (k >= b || text[k] != sep) return 0;
        k++;
        while (k < b && is_ws(text[k])) k++;
    }
    return k == b;
}

/* The container a token sits in: jsmn makes a key the parent of its value. */
static inline int container_of(const jsmntok_t *t, int i)
{
    int p = t[i].parent;
    if (p >= 0 && t[p].type == JSMN_STRING) p = t[p].parent;
    return p;
}

/* What sits between the last member and a closing bracket at byte end - 1 that should not. */
static int bad_close(const char *text, size_t pos, int end, tb_err *e)
{
    if (memchr(text + pos, ',', (size_t)end - 1 - pos))
        return tb_fail(e, TB_EDATA, "not valid JSON (comma before '%c' at byte %d)", text[end - 1], end);
    return tb_fail(e, TB_EDATA, "not valid JSON (unexpected bytes before '%c' at byte %d)", text[end - 1], end);
}

static int check_structure(const jsmntok_t *t, int n, const char *text, size_t len, tb_err *e)
{
    size_t pos = 0; /* end of the text accounted for so far */
    int cur = -1;   /* innermost open container */
    for (int i = 0; i < n; i++) {
        int a = container_of(t, i);
        if (i > 0 && a < 0) return tb_fail(e, TB_EDATA, "not valid JSON (trailing bytes after the JSON %s at byte %d)", t[0].type == JSMN_OBJECT ? "object" : "value", t[i].start + 1 - (t[i].type == JSMN_STRING));
        while (cur != a) {
            if (cur < 0) return tb_fail(e, TB_EDATA, "not valid JSON");
            if (!gap_ok(text, pos, (size_t)t[cur].end - 1, 0)) return bad_close(text, pos, t[cur].end, e);
            pos = (size_t)t[cur].end;
            cur = container_of(t, cur);
        }
        size_t first = (size_t)t[i].start - (t[i].type == JSMN_STRING);
        char sep = 0;
        int p = t[i].parent;
        if (p >= 0 && t[p].type == JSMN_STRING) {
            /* jsmn takes "s": inside an array as a key too */
            if (a < 0 || t[a].type != JSMN_OBJECT) return tb_fail(e, TB_EDATA, "not valid JSON (':' outside an object)");
            sep = ':';                            /* a key's value */
        } else if (a >= 0) {
            if (t[a].type == JSMN_OBJECT) {
                if (t[i].type != JSMN_STRING) return tb_fail(e, TB_EDATA, "not valid JSON (object key is not a string)");
                if (t[i].size != 1) return tb_fail(e, TB_EDATA, "not valid JSON (object key without a value)");
            }
            if (pos != (size_t)t[a].start + 1) sep = ','; /* not the first member */
        }
        if (!gap_ok(text, pos, first, sep)) {
            if (sep) return tb_fail(e, TB_EDATA, "not valid JSON (expected one '%c' before byte %zu)", sep, first + 1);
            return tb_fail(e, TB_EDATA, "not valid JSON (misplaced separator before byte %zu)", first + 1);
        }
        if (t[i].type == JSMN_OBJECT || t[i].type == JSMN_ARRAY) {
            pos = (size_t)t[i].start + 1;
            cur = i;
        } else {
            pos = (size_t)t[i].end + (t[i].type == JSMN_STRING);
        }
    }
    while (cur >= 0) {
        if (!gap_ok(text, pos, (size_t)t[cur].end - 1, 0)) return bad_close(text, pos, t[cur].end, e);
        pos = (size_t)t[cur].end;
        cur = container_of(t, cur);
    }
    if (!gap_ok(text, pos, len, 0)) {
        while (pos < len && is_ws(text[pos])) pos++;
        return tb_fail(e, TB_EDATA, "not valid JSON (trailing bytes after the JSON %s at byte %zu)", t[0].type == JSMN_OBJECT ? "object" : "value", pos + 1);
    }
    return 0;
}

/* Why jsmn gave up at byte stop (len for "the text ended early"): it also stops at a NUL byte, and
 * after a complete top-level value it reads on into whatever follows, so say which it was. Only
 * runs on bad lines. */
static int scan_failed(const jsmntok_t *t, unsigned ntok, const char *text, size_t len, size_t stop, tb_err *e)
{
    const char *nul = memchr(text, 0, len);
    if (nul && (size_t)(nul - text) <= stop) {
        size_t q = (size_t)(nul - text);
        int in = 0;
        for (size_t k = 0; k < q; k++) {
            if (text[k] == '"') in = !in;
            else if (in && text[k] == '\\') k++;
        }
        return tb_fail(e, TB_EDATA, "not valid JSON (raw NUL byte %sat byte %zu)", in ? "inside a string " : "", q + 1);
    }
    if (ntok > 0 && t[0].end >= 0) {
        size_t k = (size_t)t[0].end;
        while (k < len && is_ws(text[k])) k++;
        return tb_fail(e, TB_EDATA, "not valid JSON (trailing bytes after the JSON %s at byte %zu)",
                       t[0].type == JSMN_OBJECT ? "object" : "value", k + 1);
    }
    if (stop >= len) return tb_fail(e, TB_EDATA, "not valid JSON (truncated)");
    return tb_fail(e, TB_EDATA, "not valid JSON (at byte %zu)", stop + 1);
}

/* Refuse nesting deeper than TB_JSON_MAX_DEPTH before jsmn sees it: jsmn (with parent links)
 * walks up from the last token at every closing bracket, so n nested brackets cost n^2/2 steps (a
 * 600 KB line nested 100,000 deep took 34 s). Strings are skipped with memchr, so a line of long
 * strings costs about nothing here. */
static int depth_ok(const char *text, size_t len, tb_err *e)
{
    int depth = 0;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (c == '"') {
            for (;;) {
                const char *q = memchr(text + i + 1, '"', len - i - 1);
                if (!q) return 0; /* unterminated: the scan says so */
                i = (size_t)(q - text);
                size_t b = 0;
                while (text[i - 1 - b] == '\\') b++;
                if (b % 2 == 0) break;
            }
        } else if (c == '[' || c == '{') {
            if (++depth > TB_JSON_MAX_DEPTH)
                return tb_fail(e, TB_EDATA, "not valid JSON (nested deeper than %d at byte %zu)", TB_JSON_MAX_DEPTH, i + 1);
        } else if (c == ']' || c == '}') {
            depth--;
        }
    }
    return 0;
}

int tb_json_scan(struct tb_json *j, const char *text, size_t len, tb_err *e)
{
    j->text = text;
    j->len = len;
    if (depth_ok(text, len, e)) return TB_EDATA;
    if (!j->toks) {
        j->cap = 64;
        j->toks = tb_xmalloc(sizeof(jsmntok_t) * j->cap);
    }
    for (;;) {
        jsmn_parser p;
        jsmn_init(&p);
        int r = jsmn_parse(&p, text, len, j->toks, j->cap);
        if (r == JSMN_ERROR_NOMEM) {
            j->toks = tb_xrealloc(j->toks, sizeof(jsmntok_t) * j->cap * 2);
            j->cap *= 2;
            continue;
        }
        if (r < 0) return scan_failed(j->toks, p.toknext, text, len, r == JSMN_ERROR_PART ? len : p.pos, e);
        if (r == 0) return tb_fail(e, TB_EDATA, "not valid JSON (empty)");
        j->n = r;
        break;
    }
    const jsmntok_t *t = j->toks;
    /* jsmn accepts trailing and doubled commas, a missing ':' or ',' in places, several top-level
     * values: walk the tokens in text order and check every gap between them holds exactly the
     * separator the grammar allows there. Gaps are a few bytes each, so this costs one pass over the
     * tokens, not over the text. */
    int r = check_structure(t, j->n, text, len, e);
    if (r) return r;
    /* strings: control bytes and UTF-8 only need checking when the line has a byte outside
     * printable ASCII at all, which one fast pass over the line tells */
    int plain = printable_ascii(text, len);
    for (int i = 0; i < j->n; i++) {
        const char *s = text + t[i].start;
        size_t n = (size_t)(t[i].end - t[i].start);
        if (t[i].type == JSMN_PRIMITIVE) {
            if (!primitive_ok(s, n)) return tb_fail(e, TB_EDATA, "not valid JSON (bad literal '%.*s')", (int)(n > 20 ? 20 : n), s);
        } else if (t[i].type == JSMN_STRING && !plain) {
            int bad = string_bytes_bad((const unsigned char *)s, n);
            if (bad == 1) return tb_fail(e, TB_EDATA, "not valid JSON (control byte in a string)");
            if (bad == 2) return tb_fail(e, TB_EDATA, "not valid JSON (invalid UTF-8 in a string)");
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

/* ---- the one-pass check (tb_json_fast_object): the grammar as a state machine over the bytes,
 * strings skipped sixteen bytes at a time up to a quote, a backslash, a control byte or a byte
 * >= 0x80 (one signed compare catches both). Containers are a stack of bytes ('{' or '['). */

static inline int is_hex(unsigned char c) { return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f'); }

/* s[*i] is just past an opening quote: the string up to and past its closing quote, or 0. */
static inline int fast_string(const unsigned char *s, size_t n, size_t *pi)
{
    size_t i = *pi;
    for (;;) {
#ifdef __SSE2__
        while (i + 16 <= n) {
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
            __m128i stop = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))),
                                        _mm_cmplt_epi8(v, _mm_set1_epi8(0x20)));
            int m = _mm_movemask_epi8(stop);
            if (m) { i += (size_t)__builtin_ctz((unsigned)m); break; }
            i += 16;
        }
#endif
        if (i >= n) return 0;
        unsigned char c = s[i];
        if (c == '"') { *pi = i + 1; return 1; }
        if (c == '\\') {
            if (i + 1 >= n) return 0;
            unsigned char d = s[i + 1];
            if (d == 'u') {
                if (i + 6 > n || !is_hex(s[i + 2]) || !is_hex(s[i + 3]) || !is_hex(s[i + 4]) || !is_hex(s[i + 5])) return 0;
                i += 6;
            } else if (d == '"' || d == '\\' || d == '/' || d == 'b' || d == 'f' || d == 'n' || d == 'r' || d == 't') {
                i += 2;
            } else {
                return 0;
            }
            continue;
        }
        if (c < 0x20) return 0;
        if (c < 0x80) { i++; continue; }
        size_t k = utf8_seq(s, n, i);
        if (!k) return 0;
        i += k;
    }
}

static inline int digit(unsigned char c) { return c >= '0' && c <= '9'; }

/* A number from s[*i] (RFC 8259's grammar), or 0. */
static inline int fast_number(const unsigned char *s, size_t n, size_t *pi)
{
    size_t i = *pi;
    if (i < n && s[i] == '-') i++;
    if (i >= n) return 0;
    if (s[i] == '0') i++;
    else if (s[i] >= '1' && s[i] <= '9') while (i < n && digit(s[i])) i++;
    else return 0;
    if (i < n && s[i] == '.') {
        i++;
        if (i >= n || !digit(s[i])) return 0;
        while (i < n && digit(s[i])) i++;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) i++;
        if (i >= n || !digit(s[i])) return 0;
        while (i < n && digit(s[i])) i++;
    }
    *pi = i;
    return 1;
}

int tb_json_fast_object(const char *text, size_t len)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t n = len, i = 0;
    unsigned char stack[256];
    int depth = 0;
    /* VALUE: a value is due; FIRST_KEY: just after '{' (a key or '}'); KEY: after ',' in an object;
     * FIRST_ITEM: just after '[' (a value or ']'); AFTER: a value ended (',' or the closer) */
    enum { VALUE, FIRST_KEY, KEY, FIRST_ITEM, AFTER } st;
    while (i < n && is_ws((char)s[i])) i++;
    if (i >= n || s[i] != '{') return 0;
    stack[depth++] = '{';
    i++;
    st = FIRST_KEY;
    for (;;) {
        while (i < n && is_ws((char)s[i])) i++;
        if (i >= n) return 0;
        unsigned char c = s[i];
        switch (st) {
        case FIRST_KEY:
            if (c == '}') goto close;
            /* fall through */
        case KEY:
            if (c != '"') return 0;
            i++;
            if (!fast_string(s, n, &i)) return 0;
            while (i < n && is_ws((char)s[i])) i++;
            if (i >= n || s[i] != ':') return 0;
            i++;
            st = VALUE;
            continue;
        case FIRST_ITEM:
            if (c == ']') goto close;
            /* fall through */
        case VALUE:
            if (c == '"') {
                i++;
                if (!fast_string(s, n, &i)) return 0;
            } else if (c == '{' || c == '[') {
                if (depth == (int)sizeof stack) return 0; /* not sure: the scan decides */
                stack[depth++] = c;
                i++;
                st = c == '{' ? FIRST_KEY : FIRST_ITEM;
                continue;
            } else if (c == '-' || digit(c)) {
                if (!fast_number(s, n, &i)) return 0;
            } else if (c == 't' && i + 4 <= n && memcmp(s + i, "true", 4) == 0) {
                i += 4;
            } else if (c == 'f' && i + 5 <= n && memcmp(s + i, "false", 5) == 0) {
                i += 5;
            } else if (c == 'n' && i + 4 <= n && memcmp(s + i, "null", 4) == 0) {
                i += 4;
            } else {
                return 0;
            }
            st = AFTER;
            continue;
        case AFTER:
            if (c == ',') {
                i++;
                st = stack[depth - 1] == '{' ? KEY : VALUE;
                continue;
            }
            if ((c == '}' && stack[depth - 1] == '{') || (c == ']' && stack[depth - 1] == '[')) goto close;
            return 0;
        }
    close:
        if ((c == '}') != (stack[depth - 1] == '{')) return 0;
        i++;
        if (--depth == 0) {
            while (i < n && is_ws((char)s[i])) i++;
            return i == n;
        }
        st = AFTER;
    }
}

int tb_json_check_object(struct tb_json *j, const char *text, size_t len, tb_err *e)
{
    if (tb_json_fast_object(text, len)) return 0;
    return tb_json_scan_object(j, text, len, e);
}

/* \uXXXX is everywhere in ensure_ascii output: a table instead of three range tests per digit */
static const unsigned char hexdig[256] = {
    ['0'] = 0, ['1'] = 1, ['2'] = 2, ['3'] = 3, ['4'] = 4, ['5'] = 5, ['6'] = 6, ['7'] = 7, ['8'] = 8, ['9'] = 9,
    ['a'] = 10, ['b'] = 11, ['c'] = 12, ['d'] = 13, ['e'] = 14, ['f'] = 15,
    ['A'] = 10, ['B'] = 11, ['C'] = 12, ['D'] = 13, ['E'] = 14, ['F'] = 15,
};

static unsigned hex4(const char *s)
{
    /* the scanner has already checked these are four hex digits */
    const unsigned char *u = (const unsigned char *)s;
    return (unsigned)hexdig[u[0]] << 12 | (unsigned)hexdig[u[1]] << 8 | (unsigned)hexdig[u[2]] << 4 | hexdig[u[3]];
}

long tb_json_unescape(const struct tb_json *j, int i, char *out, size_t cap)
{
    const jsmntok_t *t = (const jsmntok_t *)j->toks + i;
    const char *s = j->text + t->start, *end = j->text + t->end;
    size_t o = 0;
#define PUT(c) do { if (o >= cap) return -1; out[o++] = (char)(c); } while (0)
    while (s < end) {
        /* copy up to the next backslash sixteen (then eight) bytes at a time, storing whole blocks
         * and stepping only to the backslash; escapes come every few bytes in real text, where this
         * beats a memchr + memcpy call per run */
#ifdef __SSE2__
        while (end - s >= 16 && cap - o >= 16) {
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)s);
            _mm_storeu_si128((__m128i *)(void *)(out + o), v);
            int m = _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('\\')));
            if (m) {
                int k = __builtin_ctz((unsigned)m);
                s += k;
                o += (size_t)k;
                goto escape;
            }
            s += 16;
            o += 16;
        }
#endif
        while (end - s >= 8 && cap - o >= 8) {
            uint64_t w;
            memcpy(&w, s, 8);
            uint64_t x = w ^ 0x5c5c5c5c5c5c5c5cull; /* zero bytes where w has a backslash */
            if ((x - 0x0101010101010101ull) & ~x & 0x8080808080808080ull) break;
            memcpy(out + o, &w, 8);
            o += 8;
            s += 8;
        }
        while (s < end && *s != '\\') PUT(*s++);
        if (s == end) break;
#ifdef __SSE2__
    escape:
#endif
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
