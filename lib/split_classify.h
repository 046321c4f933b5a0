/* classify: the key of every line of a mapped file, and the split and hash rank it decides, on one
 * or two threads (split's --ratio and --by hash over a regular file).
 *
 * An item is a non-empty line, as with the line reader: a line that is empty or a lone "\r" is no
 * item, and a trailing '\r' is no part of the line. Each item is handed to exactly one of the three
 * callbacks, on the calling thread, in input order:
 * - line(): its key was found (lib/split's tb_keyer, with `keyfield` and `need_object`), so its split
 *   is tb_ratio_pick(ratio, SipHash(key_split, key)) (0 without a ratio) and, with by_hash, its rank
 *   tb_hash_below(SipHash(key_rank, key), world) (else 0);
 * - serial(): no key (not JSON, no such field, ...): the caller's per-line path takes it, with its
 *   line number, so errors, --skip-invalid and --rejects behave exactly as they do there;
 * - too_long(): longer than max_line (the '\r' counted), with its line number and length.
 * The line numbers count every line, empty ones too, from 1 at the start of the map.
 *
 * Why this shape: parsing every line is the work (a JSON scan, a field lookup, SipHash); handing the
 * lines out in order is not. So the file is cut into blocks of whole lines (1 MiB: two semaphore
 * hand-offs per pair of blocks cost nothing next to parsing one), a worker thread classifies every
 * other block into a list (offset, length, split, rank) while the calling thread classifies the
 * rest and hands out all of them, its own and the worker's, in input order: the output is that of
 * one thread. The worker gets its next block before the calling thread hands out the worker's last
 * one, so it is not idle while the callbacks write. The file is mapped, not read (lib/split_mapread).
 * Measured on bench/split.sh's 2M lines (238 MB, --by hash, this shared 2-CPU machine, best of 5):
 * two threads 0.36 s, one thread 0.64 s, the line reader (read() copies, one thread) 0.66 s.
 *
 * A file that shrinks under the map is an error (TB_EDATA, "changed size while being read") on
 * either thread, reported after the items of the blocks before it were handed out. A callback's
 * error stops the run and is returned. */
#ifndef TB_CLASSIFY_H
#define TB_CLASSIFY_H
#include "err.h"
#include "split_mapread.h"
#include "split.h"
#include <stddef.h>
#include <stdint.h>

struct tb_classify {
    /* in: what decides a line's key, split and rank */
    const char *keyfield;                /* tb_keyer's field: NULL for "__key__" */
    int need_object;                     /* a line that is not a JSON object goes to serial() */
    const struct tb_ratio *ratio;        /* NULL: every split is 0 */
    uint8_t key_split[16];               /* SipHash keys (lib/split's tb_split_key) */
    int by_hash;                         /* rank by key hash; else every rank is 0 */
    uint32_t world;
    uint8_t key_rank[16];
    uint64_t max_line;
    size_t block;                        /* bytes per block; 0 for the default (1 MiB) */
    int threads;                         /* 1 or 2 */
    /* out: each item once, in input order, on the calling thread; a non-zero return stops the run */
    int (*line)(void *ud, const char *line, size_t len, int split, uint32_t rank, tb_err *e);
    int (*serial)(void *ud, const char *line, size_t len, uint64_t lineno, tb_err *e);
    int (*too_long)(void *ud, uint64_t lineno, uint64_t bytes, tb_err *e);
    void *ud;
    /* progress, called with the item count at each multiple of 1024, and the offset of that item */
    void (*tick)(void *ud, uint64_t items, uint64_t bytes);
    /* in, and updated as items are handed out (also when the run fails): items so far */
    uint64_t items;
};

/* Classify and hand out every item of the mapped file m. 0, or an error code with e set. */
int tb_classify_map(struct tb_map *m, struct tb_classify *cl, tb_err *e);

#endif
