/* cat_cache: cat's on-disk LRU cache of whole downloaded files (--cache-dir, --cache-size), safe
 * for every process pointed at the same directory at once (the ranks of a job on one machine, the
 * epochs of several jobs).
 *
 * Layout: DIR/<h[0..1]>/<h>, h the hex SHA-256 of the entry's identity: a string the caller gives
 * (tb_cat_cache_ident: the input's name, size and ETag), so an object rewritten since it was cached
 * (a new size or ETag) is another entry and the old one just ages out. Downloads in progress are
 * DIR/tmp/<h>.<pid>.<n> (and lib/xfer's "<that>.partial"); DIR/.lock is the evictors' lock.
 * Entries never change once committed, which is what lets readers go without other coordination.
 *
 * LRU clock: an entry's mtime, set when it is committed and bumped by every hit.
 * Locks (flock: they belong to the open file, die with their process, and exclude across processes
 * and between the threads of one alike):
 *   - whoever reads an entry holds LOCK_SH on its fd for as long as it keeps the fd open (lookup and
 *     commit hand out fds so locked); an evictor tries LOCK_EX|LOCK_NB on each candidate and skips
 *     one it cannot get, so an entry being read is never deleted. (A reader that opens an entry in
 *     the instant an evictor deletes it still reads it whole: the bytes of an unlinked file stay
 *     readable through an open fd.)
 *   - evictors hold LOCK_EX on DIR/.lock, one at a time, each rescanning: two never act on one
 *     stale scan, so together they delete no more than the limit asks.
 *   - commit renames without replacing (RENAME_NOREPLACE, or link(2) where the file system lacks
 *     it): when another process committed the same entry first, that file stays, this one is
 *     dropped, and the caller gets an fd on the one that stays.
 * Size: the bytes of the entries plus the temps in progress. Eviction runs before a download whose
 * size is known (to make room for it) and after each commit: least recently used first (oldest
 * mtime, ties by name), until the total is under max_bytes; temps untouched for an hour (left by a
 * process that died) go too. Entries in use can hold the total over the limit while they are read.
 * A file larger than max_bytes is never cached: begin says so when the size is known (the caller
 * streams it instead), and commit of one that turned out larger returns its fd without keeping it.
 * Thread-safe: one struct may be shared by threads (cat's prefetch thread and its reader). */
#ifndef TB_CAT_CACHE_H
#define TB_CAT_CACHE_H
#include "cat_list.h"
#include "err.h"
#include <stdint.h>

#define TB_CAT_CACHE_STALE_SECONDS 3600 /* a temp untouched this long belongs to a dead process */

struct tb_cat_cache;

/* Open (make: mode 0700, parents as needed) the cache in dir, holding at most max_bytes (evicted
 * down to it at once: the limit may be smaller than the last user's). */
int tb_cat_cache_open(struct tb_cat_cache **out, const char *dir, uint64_t max_bytes, tb_err *e);
void tb_cat_cache_close(struct tb_cat_cache *c); /* NULL is fine; fds handed out stay valid */
uint64_t tb_cat_cache_max(const struct tb_cat_cache *c);

/* The identity of an input's entry (malloc'd): "NAME\nSIZE\nETAG". NULL when neither its size nor
 * its ETag is known: its name alone cannot tell a rewritten object from the one cached, so such an
 * input is not cached. */
char *tb_cat_cache_ident(const struct tb_cat_input *in);

/* 1 and *fd_out a read fd (O_CLOEXEC, LOCK_SH held until it is closed, mtime bumped) when the entry
 * is there; 0 and *fd_out = -1 when not (anything that keeps it from being opened is a miss). */
int tb_cat_cache_lookup(struct tb_cat_cache *c, const char *ident, int *fd_out);

/* Where to download an entry: *tmp_path (malloc'd; owned by the caller until it passes it to
 * commit or abort) inside the cache, no file created yet. size is the expected size, or -1 when
 * unknown: when known, room is made for it first, and when it exceeds max_bytes nothing is cached:
 * returns 0 with *tmp_path NULL (stream the file instead). */
int tb_cat_cache_begin(struct tb_cat_cache *c, const char *ident, int64_t size, char **tmp_path, tb_err *e);
/* The download at tmp_path is complete and verified: fsync it, move it into place (keeping the
 * entry another process committed first, if one did) and evict down to the limit. *fd_out is a
 * read fd on the entry as lookup gives it; for a file larger than max_bytes, on the unlinked temp
 * (not cached). tmp_path is freed (also on failure, when the temp is removed). A failed eviction
 * does not fail the commit (the next commit's eviction tries again). */
int tb_cat_cache_commit(struct tb_cat_cache *c, const char *ident, char *tmp_path, int *fd_out, tb_err *e);
/* Drop a download: remove tmp_path and its ".partial", free it. NULL is fine. */
void tb_cat_cache_abort(struct tb_cat_cache *c, char *tmp_path);

/* Under DIR/.lock: delete least recently used entries that no one reads until entries + temps +
 * keep_free fit in max_bytes, and stale temps. Stops early (total still over) when only entries in
 * use are left. */
int tb_cat_cache_evict(struct tb_cat_cache *c, uint64_t keep_free, tb_err *e);

/* What a scan finds now, for tests and -v. */
struct tb_cat_cache_usage {
    uint64_t entries, entry_bytes; /* committed entries */
    uint64_t temps, temp_bytes;    /* downloads in progress (or stale) */
};
int tb_cat_cache_usage(struct tb_cat_cache *c, struct tb_cat_cache_usage *u, tb_err *e);
/* The path an identity's entry has (malloc'd), for tests and messages. */
char *tb_cat_cache_path(const struct tb_cat_cache *c, const char *ident);
#endif
