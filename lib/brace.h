/* brace: brace expansion of shard-list patterns as WebDataset and tarp write them, with the rules of
 * Python's braceexpand 0.1.7 (what webdataset calls on every url). Pure: no I/O.
 *   {000000..000127}  integers, zero padded to the longer end's width when either end (other than
 *                     "0") has a leading zero; {-05..3} pads with the sign ("-05" .. "003")
 *   {0..10..2}        a step (its sign ignored, 0 means 1); {10..0..3} descends: 10 7 4 1
 *   {a..e} {e..a}     letters, in the alphabet A..Z a..z ({Z..a} is "Z" "a"), with a step too
 *   {train,val}       a comma list, empty items allowed ({,x} is "" and "x"); items may nest braces
 *   a{b,c}d{e,f}      several braces: their product, the leftmost varying slowest (abde abdf acde acdf)
 *   {x}, {}           a brace with neither a range nor a comma stays literal (its inside still expands)
 *   \{ \} \, \\       a backslash makes the next character literal and is dropped (as braceexpand
 *                     drops it before any character); a lone backslash at the end is kept
 * Refused with TB_EUSAGE, where braceexpand would raise or leave the text literal: unbalanced braces
 * (also a stray '}', and "}{", which braceexpand happens to pass through), a malformed range (a
 * brace with ".." and no comma that is no range: {1..}, {a..9}, {1...3}, {1..{2,3}}), an integer
 * of more than 18 digits, braces nested deeper than 64. */
#ifndef TB_BRACE_H
#define TB_BRACE_H
#include "err.h"
#include <stddef.h>

/* Every expansion of pattern, in braceexpand's order: *out a malloc'd array of *n malloc'd strings
 * (free with tb_brace_free). A pattern with no braces gives itself (unescaped). More than max_out
 * results is TB_EUSAGE naming the count, found before anything is expanded. On error *out is NULL
 * and *n is 0. */
int tb_brace_expand(const char *pattern, size_t max_out, char ***out, size_t *n, tb_err *e);
void tb_brace_free(char **v, size_t n);
/* Does s hold pattern syntax: 1 when tb_brace_expand(s) would give anything but s itself (it expands,
 * drops a backslash, or refuses s), 0 when s is its own one expansion and may be used as it is. */
int tb_brace_has(const char *s);
#endif
