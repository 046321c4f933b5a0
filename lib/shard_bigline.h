/* bigline: one NDJSON sample line too long to hold (a video as {"$base64": ...}), taken in pieces
 * as lib/ndjson reads it. Each top-level field value of the form {"$base64": "..."} is decoded on
 * the fly into one blob buffer, and the rest of the line (small) is copied into a compact line with
 * {"$base64": N} in its place, which lib/shard_sample parses with the blobs attached. So the memory a
 * sample takes is about its decoded size, not its line's. Plain strings are copied as they are
 * (their text is about their size). The member bytes are those the whole-line path gives; the one
 * shape it cannot map is an object with a $base64 string of over 4 KiB and other fields beside it
 * (an error naming the line). */
#ifndef TB_BIGLINE_H
#define TB_BIGLINE_H
#include "err.h"
#include "shard_sample.h"
#include <stddef.h>
#include <stdint.h>

#define TB_BIGLINE_QCAP 65536 /* base64 characters decoded at a time (a multiple of 4) */

struct tb_bigline {
    char *line;                 /* the compact line, NUL-terminated after tb_bigline_end */
    size_t len, cap;
    unsigned char *blob;        /* decoded $base64 values */
    size_t blen, bcap;
    struct tb_blob *spans;
    int nspans, spcap;
    uint64_t raw;               /* bytes fed */
    int unsupported;            /* a {"$base64": ...} object with other fields and a long string */
    /* scanner */
    int st, in_str, esc, depth, valpos, key_next, step;
    char pend[256];
    size_t npend;
    char q[TB_BIGLINE_QCAP];
    size_t nq;
    int padded, bad;
    char ue[6];
    int nue;
    char rawtxt[4096];          /* the base64 string's text while it is short: kept in case the */
    size_t nraw;                /* object turns out to have other fields (then it is copied) */
    int rawover;
};

void tb_bigline_init(struct tb_bigline *b);
void tb_bigline_free(struct tb_bigline *b);
void tb_bigline_reset(struct tb_bigline *b);
/* Take the next piece of the line. */
void tb_bigline_feed(struct tb_bigline *b, const char *p, size_t n);
/* The line ended: finish the compact line. 0, or TB_EDATA for a $base64 object with other fields
 * (its text was not kept). */
int tb_bigline_end(struct tb_bigline *b, tb_err *e);
/* Point s at the blobs (for the tb_sample_parse of b->line), or detach them (b NULL). */
void tb_bigline_attach(const struct tb_bigline *b, struct tb_sample *s);
#endif
