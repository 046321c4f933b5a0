/* sample: the sample <-> tar member mapping of DESIGN.md, both ways, with no per-sample allocation
 * once buffers have grown to fit.
 *   forward (shard):  one NDJSON line -> key + members in sorted field order, each member's bytes
 *                     (string text, decoded {"$base64"}, or compact JSON text of any other value);
 *   inverse (cat):    members of one key -> one NDJSON line, chosen so that re-sharding the line
 *                     writes the very same member bytes.
 * Also the key and field-name rules and JSON compaction ($base64 values: lib/base64). */
#ifndef TB_SAMPLE_H
#define TB_SAMPLE_H
#include "err.h"
#include "json.h"
#include <stddef.h>
#include <stdint.h>

struct tb_member {
    const char *field;          /* the extension, e.g. "txt", "seg.png" (not NUL-terminated) */
    size_t field_len;
    const unsigned char *data;  /* member bytes: a span of the line or of the sample's arena */
    size_t len;
};

/* A value decoded ahead of parsing (lib/shard_bigline): bytes [off, off + len) of a blob buffer. */
struct tb_blob { size_t off, len; };

struct tb_sample {
    struct tb_json j;
    const char *key;            /* not NUL-terminated */
    size_t key_len;
    int has_key;                /* __key__ was given (else key is the zero-padded index) */
    struct tb_member *m;        /* sorted by field name (bytewise) */
    int n, cap;
    char *arena;                /* unescaped strings, decoded base64, compacted JSON */
    size_t arena_cap;
    /* Set only for a line from lib/shard_bigline: there {"$base64": N} (a number) names blobs[N] of blob,
     * decoded already (N = -1: it did not decode). Anywhere else a non-string $base64 is an error. */
    const unsigned char *blob;
    const struct tb_blob *blobs;
    int nblobs;
};

void tb_sample_init(struct tb_sample *s);
void tb_sample_free(struct tb_sample *s);
/* Map one line to members. index names the sample when it has no __key__ (zero-padded, see
 * TB_KEY_DIGITS). The spans stay valid until the next call or until the line buffer changes.
 * Errors: TB_EDATA with the reason only (the caller adds file and line). */
int tb_sample_parse(struct tb_sample *s, const char *line, size_t len, uint64_t index, tb_err *e);

/* Width of the zero-padded key shard assigns to a sample without __key__. */
#define TB_KEY_DIGITS 9
/* Key rules: not empty, no NUL, no empty/"."/".." path component, no leading '/', no '.' in the
 * last component. Returns NULL when valid, else the reason. */
const char *tb_key_invalid(const char *key, size_t n);
/* Field rules: not empty, no '/', no NUL. Returns NULL when valid, else the reason. */
const char *tb_field_invalid(const char *f, size_t n);
/* Split a member name at the first '.' of its last path component. Returns the key length, or -1
 * when the basename has no '.' (not a sample member). */
long tb_member_split(const char *name, size_t n);

/* Copy a valid JSON text without the whitespace outside strings; out has room for n bytes.
 * Returns the output length. */
size_t tb_json_compact(const char *in, size_t n, char *out);

/* Is the field's last extension one WebDataset decodes as text (txt, text, json, cls, ...)? */
int tb_text_ext(const char *field, size_t n);

/* The inverse: build one NDJSON line from members, appended to a growable buffer. These return 0,
 * or TB_EDATA for a key or field name that is not valid UTF-8 (out of memory exits: lib/alloc). */
struct tb_linebuf {
    char *p;
    size_t n, cap;
};
void tb_linebuf_free(struct tb_linebuf *b);
/* Start a line {"__key__":KEY (b is reset). */
int tb_linebuf_begin(struct tb_linebuf *b, const char *key, size_t klen, tb_err *e);
/* Add ,"FIELD":VALUE. A json member that is valid compact JSON other than a string is embedded as
 * it is; a text-extension member (json included) that is valid UTF-8 becomes a string; anything
 * else becomes {"$base64":...}. scratch is a reused scanner. */
int tb_linebuf_add(struct tb_linebuf *b, const char *field, size_t flen, const unsigned char *data, size_t len,
                struct tb_json *scratch, tb_err *e);
/* Close the object (no newline). */
int tb_linebuf_end(struct tb_linebuf *b, tb_err *e);
#endif
