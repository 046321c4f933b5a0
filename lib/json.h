/* json: a validating, non-allocating scan of one JSON text into token spans (jsmn, strict mode,
 * plus the checks jsmn leaves out: number grammar, literals, control bytes in strings, trailing
 * bytes, and invalid UTF-8). Spans let callers copy a value's text exactly as written (a 64-bit id is
 * never rounded through a double) and find a field without building a tree: the sample hot path
 * allocates nothing per line once the token array has grown to fit. */
#ifndef TB_JSON_H
#define TB_JSON_H
#include "err.h"
#include <stddef.h>

enum tb_json_type { TB_JSON_OBJECT = 1, TB_JSON_ARRAY = 2, TB_JSON_STRING = 3, TB_JSON_PRIMITIVE = 4 };

struct tb_jtok {
    int type;     /* enum tb_json_type */
    int start;    /* byte offset; for strings, just inside the quotes */
    int end;      /* one past the last byte; for strings, the closing quote */
    int size;     /* children: fields of an object, items of an array, 1 for a key */
};

struct tb_json {
    void *toks;   /* jsmntok_t array, grown as needed and reused */
    unsigned cap;
    int n;
    const char *text;
    size_t len;
};

/* Deepest nesting of arrays and objects a scan accepts (cJSON's limit too); deeper is TB_EDATA. */
#define TB_JSON_MAX_DEPTH 1000

void tb_json_init(struct tb_json *j);
void tb_json_free(struct tb_json *j);
/* Scan text; on success the root is token 0. Fails with TB_EDATA and a reason. */
int tb_json_scan(struct tb_json *j, const char *text, size_t len, tb_err *e);
/* Same, and the root must be an object. */
int tb_json_scan_object(struct tb_json *j, const char *text, size_t len, tb_err *e);
/* tb_json_scan_object's answer (0, or TB_EDATA and its message) for a caller that needs no tokens:
 * a valid line is recognized by one pass over its bytes (tb_json_fast_object), about four times
 * the scan's speed, and j is left as it was; anything else goes to tb_json_scan_object. */
int tb_json_check_object(struct tb_json *j, const char *text, size_t len, tb_err *e);
/* 1 when text is certainly one JSON object tb_json_scan_object accepts; 0 when not, or not sure
 * (nesting deeper than 255). Never 1 where the scan would refuse. */
int tb_json_fast_object(const char *text, size_t len);
struct tb_jtok tb_json_tok(const struct tb_json *j, int i);
/* Index of the token after i's whole subtree. */
int tb_json_skip(const struct tb_json *j, int i);
/* Index of the value of top-level field name in the root object, or -1. */
int tb_json_field(const struct tb_json *j, const char *name);
/* Does key token k (a string) equal name, compared after unescaping? */
int tb_json_key_eq(const struct tb_json *j, int k, const char *name);
/* Decode string token i into out (UTF-8, escapes resolved). Returns the decoded length, or -1 when
 * out (cap bytes) is too small. Never writes past cap; NUL-terminates when room remains. */
long tb_json_unescape(const struct tb_json *j, int i, char *out, size_t cap);
/* Validate UTF-8 (no overlongs, no surrogates). */
int tb_utf8_valid(const unsigned char *s, size_t n);
/* Append s as a JSON string literal (with quotes) to buf. Returns bytes needed (like snprintf). */
size_t tb_json_quote(const char *s, size_t n, char *buf, size_t cap);
#endif
