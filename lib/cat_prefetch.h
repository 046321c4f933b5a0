/* cat_prefetch: a thread that downloads cat's next inputs while the current one is read (--prefetch N).
 *
 * The reader names its inputs by position in its reading order (order[pos], indices into the
 * list l: this rank's share, in the order it reads them) and takes them one by one:
 *
 *     tb_cat_prefetch_start(&p, l, order, n, cache, &store_cfg, depth, e);
 *     for (pos = 0; pos < n; pos++) {
 *         rc = tb_cat_prefetch_take(p, pos, &fd, e);   // blocks until order[pos] is here
 *         fd >= 0: read it (close it when done); fd == -1: read the input directly (streamed)
 *     }
 *     tb_cat_prefetch_stop(p);
 *
 * The window: the thread works on positions base .. base+depth, base being the position last
 * taken (0 before the first take), so while input pos is read the next depth ones download, and
 * at most depth+1 inputs are ever downloading or downloaded and not yet taken (their bytes on disk:
 * the cache's, or temps). Positions may be skipped (take a later one: what was started for those
 * skipped completes into the cache and is dropped), never taken twice or backwards (70).
 *
 * Where the bytes go: with a cache (lib/cat_cache), into it (an entry found there is not downloaded
 * again; an input whose identity is unknown, with neither size nor ETag, goes to a temp in the cache
 * directory and is not kept); without one, into temps in a private directory under $TMPDIR (else
 * /var/tmp, else /tmp), removed at stop; each temp is unlinked once open, the fd its one reference.
 * Read directly instead (take gives fd -1): local inputs (root -1, stdin among them), inputs larger
 * than the cache, and without a cache inputs known to exceed TB_CAT_PREFETCH_TMP_MAX.
 *
 * Each download is a lib/xfer DOWNLOAD (HEAD, GET into a temp, verified against the object's size
 * and sha256 metadata): a missing object is 66, refused credentials 77, unreachable 69; a size other
 * than the listing's (input->size, when known) is 65, and so is an ETag other than the listing's
 * (input->etag, when both are known: the object was rewritten since it was listed). The error is
 * given by the take of that position; the others are not affected (except that 77 or a missing
 * bucket stops every later download from the same root with the same error, as lib/xfer does).
 *
 * The thread opens stores of its own, one per root the inputs name (a tb_store is single-threaded),
 * on one tb_http of its own, with cfg's options; it never touches the caller's stores. l and order
 * must stay unchanged until stop. take and stop are for one thread (the reader). */
#ifndef TB_CAT_PREFETCH_H
#define TB_CAT_PREFETCH_H
#include "cat_cache.h"
#include "cat_list.h"
#include "err.h"
#include "store.h"
#include <stddef.h>
#include <stdint.h>

#define TB_CAT_PREFETCH_TMP_MAX (1ull << 30) /* without a cache, bigger inputs are streamed */

struct tb_cat_prefetch;

/* How the thread opens the store of a root (NULL: tb_store_open on root->uri with cfg). cfg
 * carries the thread's own shared_http, which the store must use. For tests, and for roots that
 * need more than a URI (the Hub's token). */
typedef int (*tb_cat_prefetch_open_fn)(void *ud, const struct tb_cat_root *root, const struct tb_store_cfg *cfg,
                                       struct tb_store **out, tb_err *e);

/* Start the thread. cache may be NULL (temps, see above); depth < 0 counts as 0 (each input
 * downloaded only once it is asked for: no overlap, but the cache still fills). */
int tb_cat_prefetch_start(struct tb_cat_prefetch **out, const struct tb_cat_list *l, const size_t *order, size_t n,
                          struct tb_cat_cache *cache, const struct tb_store_cfg *cfg, int depth, tb_err *e);
int tb_cat_prefetch_start_ex(struct tb_cat_prefetch **out, const struct tb_cat_list *l, const size_t *order, size_t n,
                             struct tb_cat_cache *cache, const struct tb_store_cfg *cfg, int depth,
                             tb_cat_prefetch_open_fn open, void *open_ud, tb_err *e);
/* Wait for input order[pos]: 0 with *fd_out a read fd at offset 0 (the caller closes it; with a
 * cache it holds the entry's shared lock, so keep it open while reading), or 0 with *fd_out -1:
 * read the input directly; or the download's error (e filled, *fd_out -1). */
int tb_cat_prefetch_take(struct tb_cat_prefetch *p, size_t pos, int *fd_out, tb_err *e);
/* Cancel the downloads in flight, join the thread, close what was not taken, remove temps. NULL is fine. */
void tb_cat_prefetch_stop(struct tb_cat_prefetch *p);

/* A snapshot, for tests and -v. */
struct tb_cat_prefetch_stats {
    size_t running;           /* downloads in flight */
    size_t ready;             /* inputs ready and not taken (direct ones included) */
    int idle;                 /* the thread waits: nothing it may start (window full, or list done) */
    uint64_t downloads;       /* downloads started */
    uint64_t hits;            /* inputs found in the cache */
};
void tb_cat_prefetch_stats(struct tb_cat_prefetch *p, struct tb_cat_prefetch_stats *st);
#endif
