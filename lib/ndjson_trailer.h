/* trailer: the last line of a record stream, `{"__end__": {"records": N, "ok": true}}` (DESIGN.md,
 * Records). A stage writes it only when it and its input finished successfully, so a reader can tell
 * a complete stream from one whose writer failed or was killed. Recognizing and writing it live here
 * so every stage agrees on one strict form. */
#ifndef TB_TRAILER_H
#define TB_TRAILER_H
#include "err.h"
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Is this line a trailer? 0: no (a record, a path, anything without a top-level "__end__" field);
 * 1: a valid trailer, *records set; -1: it claims to be one but is malformed (not JSON, fields beside
 * "__end__" or inside it, a count that is not a non-negative integer, "ok" not true), with *e filled
 * (TB_EDATA). Lines without the text "__end__" are answered without parsing (the common case). */
int tb_trailer_parse(const char *line, size_t len, uint64_t *records, tb_err *e);
/* Write the trailer line for `records` records and flush. 0 or TB_EIO. */
int tb_trailer_write(FILE *f, uint64_t records, tb_err *e);
#endif
