/* cat_state: where `cat --state FILE` stopped, so a re-run resumes at the first sample not yet
 * written. Saved (temp, fsync, rename: lib/atomic) only right after stdout was flushed, so every
 * sample it counts has left the process:
 *   {"version":1,"command":"cat","list":"<sha256 of the inputs' names, in reading order>",
 *    "inputs":N,"input":I,"offset":B,"samples":K,"seen":S,"emitted":E}
 * I is the input being read (N when finished), K the samples of input I already written or skipped
 * by --offset, B the decoded bytes of input I those K samples end at (an uncompressed local NDJSON
 * file resumes there with a seek; any other input is read again and its first K samples skipped),
 * S and E the stream's totals (--offset and --limit go on counting where they stopped).
 * What cat wrote after the last save is written again after a crash: at-least-once for cat
 * itself; what a consumer had read but not finished is its own to keep (`cat | shard` with shard's
 * own resume is the exactly-once pipeline). */
#ifndef TB_CAT_STATE_H
#define TB_CAT_STATE_H
#include "cat_list.h"
#include "err.h"
#include <stdint.h>

struct tb_cat_state {
    char list[65];
    uint64_t inputs, input, offset, samples, seen, emitted;
};

/* The list's identity: sha256 over the inputs' names, each followed by a NUL. */
void tb_cat_state_list_id(const struct tb_cat_list *l, char out[65]);
/* Parse a state document. 65 naming what is wrong. */
int tb_cat_state_parse(const char *text, size_t len, struct tb_cat_state *st, tb_err *e);
/* The document (malloc'd, newline-terminated). */
char *tb_cat_state_format(const struct tb_cat_state *st);
/* Load path: 1 when it exists and was parsed, 0 when missing, else an error (65 unreadable or not a
 * state, 74 an I/O error). */
int tb_cat_state_load(const char *path, struct tb_cat_state *st, tb_err *e);
/* Save atomically and durably. */
int tb_cat_state_save(const char *path, const struct tb_cat_state *st, tb_err *e);
#endif
