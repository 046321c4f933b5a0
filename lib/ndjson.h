/* ndjson: a bounded line reader over a tb_src. Lines are returned as spans into one reused buffer
 * (no per-line allocation), NUL-terminated in place, with CRLF tolerated and empty lines skipped. */
#ifndef TB_NDJSON_H
#define TB_NDJSON_H
#include "src.h"
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define TB_MAX_LINE_DEFAULT (64ull << 20)

struct tb_lines {
    struct tb_src *src;
    char *buf;
    size_t cap, start, end;
    size_t max_line;
    size_t fast_max;   /* longest line the inline path returns: max_line, or big when set */
    size_t big;        /* 0, or lines longer than this are returned as TB_LINE_BIG (see below) */
    int in_big;        /* 1 while a big line is being read in pieces, 2 when its end was given */
    uint64_t big_len;  /* raw bytes of the big line given so far */
    uint64_t lineno;   /* physical line number of the line last returned (1-based) */
    uint64_t consumed; /* physical lines consumed so far, empty ones included */
    uint64_t bytes;    /* bytes consumed so far, newlines included */
    int eof;
    int keep_empty;    /* return empty lines instead of skipping them */
    int skip_long;     /* return TB_LINE_LONG for a line over max_line instead of failing */
    uint64_t long_len; /* with TB_LINE_LONG: the skipped line's length (without its newline) */
};

/* tb_lines_next's answer, with skip_long set, for a line longer than max_line: the line was read
 * through to its newline without being held (lineno and bytes count it) and is not returned. */
#define TB_LINE_LONG 2
/* tb_lines_next's answer, with big set, for a line longer than big (and not over max_line so far):
 * nothing is consumed yet; read the line with tb_lines_big_next. */
#define TB_LINE_BIG 3

/* Returns 0 (out of memory exits: lib/alloc). */
int tb_lines_init(struct tb_lines *r, struct tb_src *src, size_t max_line);
/* Returns 1 with line and len set, 0 at end of input, TB_LINE_LONG (see above), -1 on error (*e
 * filled: line too long is TB_EDATA naming the line number; read errors TB_EIO). The span is valid
 * until the next call. */
int tb_lines_next_slow(struct tb_lines *r, char **line, size_t *len, tb_err *e);
static inline int tb_lines_next(struct tb_lines *r, char **line, size_t *len, tb_err *e)
{
    /* the common case inline (a whole, non-empty, LF-terminated line in the buffer): the call and
     * the rare-case branches were a fifth of a plain line filter's time */
    if (r->end > r->start) {
        char *s = r->buf + r->start;
        char *nl = memchr(s, '\n', r->end - r->start);
        size_t n = nl ? (size_t)(nl - s) : 0;
        if (n && n <= r->fast_max && s[n - 1] != '\r') {
            r->start += n + 1;
            r->bytes += n + 1;
            r->lineno = ++r->consumed;
            s[n] = 0;
            *line = s;
            *len = n;
            return 1;
        }
    }
    return tb_lines_next_slow(r, line, len, e);
}
void tb_lines_free(struct tb_lines *r);
/* Give lines longer than big bytes (0: none) as TB_LINE_BIG: for readers that can take a line in
 * pieces and so never hold it whole (shard, for samples of hundreds of MB). */
void tb_lines_set_big(struct tb_lines *r, size_t big);
/* The next piece of the big line: 1 with p/n set (valid until the next call; a '\r' before the
 * newline is left out), 0 at the line's end (lineno and bytes now count it), TB_LINE_LONG when it
 * turned out longer than max_line and skip_long is set (read through to its newline; long_len set),
 * -1 on error (over max_line without skip_long: TB_EDATA naming the line). */
int tb_lines_big_next(struct tb_lines *r, const char **p, size_t *n, tb_err *e);

/* The --rejects entry for an over-long line (it is named, not copied), without a newline:
 * {"__rejected__":{"file":F,"line":N,"bytes":LEN,"reason":"longer than --max-line (M bytes)"}}.
 * Returns the length it needs, like snprintf (buf holds strlen(file) * 6 + 160 bytes for sure). */
size_t tb_reject_long(char *buf, size_t cap, const char *file, uint64_t lineno, uint64_t bytes, uint64_t max_line);
/* The same entry with another reason (for a line too long to copy that is bad for another reason). */
size_t tb_reject_entry(char *buf, size_t cap, const char *file, uint64_t lineno, uint64_t bytes, const char *reason);
/* The error for an over-long line (TB_EDATA). */
int tb_fail_long(tb_err *e, uint64_t lineno, uint64_t max_line);

/* Buffered writer over a FILE: write a line (adds '\n'). Returns 0 or TB_EIO (EPIPE included). Uses the
 * unlocked stdio calls: never call it on a stream another thread writes at the same time. */
int tb_write_line(FILE *f, const char *s, size_t n, tb_err *e);
#endif
