/* synclist: the two kinds of listing `sync` merges (lib/sync_plan), as tb_sync_stream sources:
 *   - a local directory, through lib/walk (full-path byte order, symlinks never followed);
 *   - a store prefix, through paged LIST requests, each page enriched with the metadata a listing
 *     lacks: S3 lists size, ETag and Last-Modified but not x-amz-meta-mtime or -sha256, so for a
 *     page's objects whose listing holds no mtime metadata the stream sends one HEAD each, all of
 *     the page's at once on the store's multi handle (cfg.http.max_conns in flight), and hands the
 *     entries out once their answers are in. An object without mtime metadata (stored by a tool
 *     that writes none) gets its Last-Modified as its mtime, as rclone does. With a cache
 *     (lib/sync_cache), an object whose size and ETag are those remembered needs no HEAD.
 * Memory: a local walk holds one sorted level per directory on the current path; a store listing
 * one page (1,000 keys) and its HEAD answers. Both skip what sync never copies: directory marker
 * objects (keys ending in '/'), our own in-progress downloads ("*.partial"), and the names
 * given in skip_name (the completion marker, which sync writes itself), and count what they
 * refuse: symlinks and special files (reported on stderr unless quiet), unreadable directories (a
 * listing that is then incomplete, so no deletion may follow it). */
#ifndef TB_SYNCLIST_H
#define TB_SYNCLIST_H
#include "err.h"
#include "store.h"
#include "sync_cache.h"
#include "sync_plan.h"
#include "walk.h"
#include <stdint.h>

struct tb_synclist {
    /* ---- set by the caller before tb_synclist_open_* */
    const char *cmd;          /* names warnings: "sync" */
    int quiet;
    int want_meta;            /* HEAD objects whose listing lacks mtime metadata (not for --size-only) */
    const char *skip_name;    /* a basename never listed (the marker), or NULL */
    int missing_code;         /* the exit code for a missing bucket or container (0: 66, an input missing) */
    struct tb_sync_cache *cache; /* store listings: metadata remembered from earlier passes (lib/sync_cache),
                               * consulted before a HEAD and given every entry served; or NULL */
    /* ---- counters, valid at any time */
    uint64_t listed, skipped_links, skipped_other, errors, heads, cached;
    int incomplete;           /* something could not be listed: deletions must be withheld */
    /* ---- private */
    int local;
    struct tb_walk walk;
    struct tb_store *store;
    char *prefix;             /* key prefix, "" or ending in '/' */
    size_t plen;
    struct tb_store_req page;
    struct tb_store_req *heads_r;
    size_t heads_cap;
    size_t idx;
    int have_page, last_page;
    char *token;
    char shabuf[65];
};

/* A local directory (root "" is the cwd). A missing root: 66 with e filled. Setting l->local to -1
 * instead of opening anything gives an empty listing (a destination directory not made yet). */
int tb_synclist_open_dir(struct tb_synclist *l, const char *root, tb_err *e);
/* Keys under prefix ("" or ending in '/') in store s (not owned). Nothing is requested yet. */
void tb_synclist_open_store(struct tb_synclist *l, struct tb_store *s, const char *prefix);
struct tb_sync_stream tb_synclist_stream(struct tb_synclist *l);
void tb_synclist_close(struct tb_synclist *l);
#endif
