/* linepick: keep every N-th item of a regular file (split's --by index), on one or two threads.
 *
 * An item is a non-empty line: a line that is empty or a lone "\r" is no item, as with the line
 * reader. Item i (counted over all inputs) is kept when i mod world == rank, minus the first `skip`
 * kept ones. The kept lines are written to `out` in input order, without a trailing '\r'.
 *
 * The work is one pass over every byte, so it is bound by memory. The file is read with pread in
 * chunks small enough to stay in the core's L2 cache (256 KiB): the copy out of the page cache
 * brings each chunk in once, and the pass over it then runs from cache. (A map of the file costs
 * no copy but a page-table entry per 4 KiB page, set up and torn down; measured here, that was
 * 1.6 times slower than the copy.) Two threads take alternate chunks, so the copies of two chunks
 * run at once. Each thread lists its chunk's items (the lines that start in it, found through
 * 64-byte newline masks), takes the running item and line counts from the chunk before, publishes
 * its own, copies the kept items into a buffer, and writes that buffer when the chunk before has
 * been written. A line belongs to the chunk it starts in; its thread reads on past the chunk's end
 * to the line's newline.
 *
 * Errors (a line longer than max_line, a read error, a file that shrank) are reported as the
 * single-threaded reader would: after every kept line before the bad one has been written. With
 * skip_long, an over-long line is read through to its newline (in pieces, not held) to learn its
 * length, and handed to reject() when its chunk's turn to write comes. */
#ifndef TB_LINEPICK_H
#define TB_LINEPICK_H
#include "err.h"
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct tb_pick {
    /* in */
    uint32_t world, rank;                /* rank < world */
    uint64_t max_line;                   /* a longer line is an error naming its line number, */
    int skip_long;                       /* or, when set, no item: reject() is told, in input order */
    int (*reject)(void *ud, uint64_t lineno, uint64_t bytes, tb_err *e); /* called under the write turn */
    void *reject_ud;
    size_t chunk;                        /* bytes per chunk; 0 for the default (256 KiB) */
    int threads;                         /* 1 or 2 */
    /* progress, called on the calling thread now and then: items and bytes so far in this input */
    void (*tick)(void *ud, uint64_t items, uint64_t bytes);
    void *tick_ud;
    /* in, and updated on success */
    uint64_t index;                      /* items before this input (from earlier inputs) */
    uint64_t skip;                       /* kept items still to skip */
    /* out */
    uint64_t emitted;                    /* lines written */
};

/* Filter bytes [off, off + len) of the regular file fd into out. 0, or an error code with e set. */
int tb_pick_lines(int fd, uint64_t off, uint64_t len, const char *name, struct tb_pick *pk, FILE *out, tb_err *e);

#endif
