/* fanout: one child process per stream, each fed its own lines (split --filter).
 *
 * tb_fanout_run starts `/bin/sh -c CMD` once per stream, with ENV=NAME in its environment (split:
 * SPLIT=train) and pipes on its stdin and stdout, then calls produce(), which hands lines to streams
 * with tb_fanout_put. When produce() returns 0, every child gets the rest of its lines and EOF, its
 * output is read to the end, and it is waited for. When produce() (or anything else) fails, the
 * children are sent SIGTERM and waited for, and the error is returned.
 *
 * The children's stdout is relayed to `out` line by line as it comes (so a line is never interleaved
 * with another child's), on the one thread: a single poll loop writes to the children that can take
 * bytes and reads from those that have some. A stream's lines queue in memory, and put() waits in the
 * loop only while a child has more than 1 MiB queued, until it is below 64 KiB: a slow child holds up
 * the producer, a fast one runs ahead, and no child can deadlock the others by filling its stdout
 * pipe while we wait to write to it (we always read while we wait). A child that stops reading (its
 * stdin pipe breaks; SIGPIPE is ignored in this process from the start) gets no more lines: its exit
 * status says whether that was an error.
 *
 * Record streams (DESIGN.md, Records): a child's trailer line is not relayed but checked (its count
 * against the lines it printed, nothing after it). When any child ended with a trailer, the children's
 * output is a record stream: then every child must have, and `stream` and `records` (their sum) tell
 * the caller to write one trailer for all, once its own work has succeeded too. Children that print
 * no trailer at all (a filter writing files) make no record stream.
 *
 * Errors: a child that exits non-zero fails the run with its status as the exit code (a signal, or a
 * status above 125, is TB_ESOFTWARE), naming its stream ("filter for NOUN 'NAME' exited with status
 * N"); the first such child in stream order is the one reported. A bad or missing trailer is TB_EDATA. */
#ifndef TB_FANOUT_H
#define TB_FANOUT_H
#include "err.h"
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct tb_fanout {
    /* in */
    const char *cmd;                     /* run by /bin/sh -c, once per stream */
    int n;                               /* streams, at least 1 */
    const char *const *names;            /* n names: ENV's value, and named in errors */
    const char *env;                     /* "SPLIT" */
    const char *noun;                    /* in messages: "filter for NOUN 'NAME' ..." */
    FILE *out;                           /* where the children's lines go */
    int (*produce)(void *ud, struct tb_fanout *f, tb_err *e); /* calls tb_fanout_put; 0 or an error */
    void *ud;
    /* out, after a successful run */
    int stream;                          /* every child ended with a trailer: write one for all */
    uint64_t records;                    /* the sum of their counts */
    /* private to split_fanout.c */
    struct fanout_child *kids;
    int nkids;
    struct pollfd *pf;
};

/* Start the children, run produce(), finish them. 0, or an error code with e set. */
int tb_fanout_run(struct tb_fanout *f, tb_err *e);
/* From inside produce(): queue one line (len bytes, a newline is added) for stream i. */
int tb_fanout_put(struct tb_fanout *f, int i, const char *line, size_t len, tb_err *e);

#endif
