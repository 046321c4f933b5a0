/* syncplan: what `trainbox sync` must do, decided by merging two listings (source, destination),
 * each a stream of entries in byte order of their relative paths, as an object store lists keys
 * (and as lib/walk walks a directory). The planner pulls one entry at a time from each stream and
 * hands out one action at a time, so memory stays bounded whatever the number of entries (two
 * current entries, two copies of the previous paths, a buffered spool file): a listing of
 * millions of objects never becomes an array. No I/O except the delete spool.
 *
 * Actions: TRANSFER (source only, or changed: the caller names it upload, download or copy by
 * direction, tb_sync_op_name), SKIP (unchanged), CONFLICT (a file on one side, a directory of the
 * same name on the other: reported, never resolved by deleting either). Deletions (destination
 * only, with cfg.delete) are not actions: they go to the spool, and the caller reads them back
 * after the pass, through tb_syncplan_delete_gate() and tb_syncplan_next_delete(), only when
 * every transfer succeeded (a sync that deletes as it goes can delete the good copy of a file
 * whose new copy then fails to arrive). Entries the filter excludes are neither transferred nor
 * deleted (rclone's rule: a filter protects destination files as well). Directory entries
 * (is_dir) take part only in ordering and conflicts: a destination directory is never deleted by
 * the plan (the caller prunes directories that deletions left empty).
 *
 * Change detection (an entry present on both sides):
 *   sizes differ                      -> TRANSFER, in every mode
 *   SIZE_ONLY                          -> SKIP
 *   SIZE_MTIME (default), both mtimes  -> SKIP when |mtime difference| < window, else TRANSFER:
 *                                         a same-size change with a new mtime is a change
 *   SIZE_MTIME, an mtime unknown       -> both sha256 known: compare them; else SKIP, counted in
 *                                         st.size_fallback (the caller warns) and marked
 *                                         TB_WHY_SIZE_FALLBACK. Why not TRANSFER: a side without
 *                                         an mtime (an object stored by a tool that writes no
 *                                         mtime metadata, on a store whose listing gives none)
 *                                         stays without one after the copy, so every later pass
 *                                         would send the file again, forever; rclone falls back
 *                                         to size the same way. The caller should pass a store's
 *                                         Last-Modified as the mtime when no metadata exists, so
 *                                         this fallback is rare.
 *   CHECKSUM                           -> sha256 compared; a side whose sha256 is unknown ("")
 *                                         is asked of cfg.hash (the caller hashes a local file
 *                                         on demand, lazily: only files whose size matched);
 *                                         still unknown (an object without sha256 metadata) ->
 *                                         TRANSFER with TB_WHY_NOHASH: a checksum mode that
 *                                         guessed would defeat its purpose, and the copy stores
 *                                         the sha256, so the next pass converges.
 * The modify window defaults to 1 ns (exact), right for local files and for trainbox's own mtime
 * metadata; a caller comparing against a store that keeps coarser times passes its precision.
 *
 * Errors: a stream whose paths are not strictly increasing in byte order (a duplicate included)
 * is TB_EDATA, never merged silently wrong; a stream's own error is passed on. After an error the
 * plan is incomplete and tb_syncplan_delete_gate() refuses every deletion. */
#ifndef TB_SYNCPLAN_H
#define TB_SYNCPLAN_H
#include "err.h"
#include "pathglob.h"
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

struct tb_sync_entry {
    const char *path;        /* relative, '/' separated; need not be NUL-terminated */
    size_t len;
    uint64_t size;
    struct timespec mtime;
    int mtime_known;
    const char *sha256;      /* 64 lowercase hex digits, or NULL or "" when unknown */
    int is_dir;
};

/* A listing: fills *out with the next entry (its strings valid until the next call on the same
 * stream) and returns 0; at the end sets *eof = 1 and returns 0; on error returns its code. */
struct tb_sync_stream {
    int (*next)(void *ctx, struct tb_sync_entry *out, int *eof, tb_err *e);
    void *ctx;
};

enum tb_sync_side { TB_SYNC_SRC = 0, TB_SYNC_DST = 1 };
enum tb_sync_mode { TB_SYNC_SIZE_MTIME, TB_SYNC_CHECKSUM, TB_SYNC_SIZE_ONLY };

/* --checksum's lazy hash: fill hex (65 bytes) with the entry's sha256 and return 0, or leave hex
 * "" when it cannot be had without a transfer; an error code stops the plan. */
typedef int (*tb_sync_hash_fn)(void *ctx, enum tb_sync_side side, const struct tb_sync_entry *ent,
                               char hex[65], tb_err *e);

struct tb_syncplan_cfg {
    enum tb_sync_mode mode;
    int64_t window_ns;               /* modify window; <= 0 means 1 ns */
    int delete;                      /* --delete: spool destination-only files */
    const struct tb_filter *filter;  /* NULL: everything in scope */
    tb_sync_hash_fn hash;            /* NULL: unknown hashes stay unknown */
    void *hash_ctx;
    const char *spool_dir;           /* NULL: $TMPDIR, else /tmp */
};

enum tb_sync_op { TB_SYNC_TRANSFER, TB_SYNC_SKIP, TB_SYNC_CONFLICT };
enum tb_sync_why {
    TB_WHY_NEW,            /* source only */
    TB_WHY_SIZE,           /* sizes differ */
    TB_WHY_MTIME,          /* same size, mtimes differ by the window or more */
    TB_WHY_HASH,           /* sha256 differ */
    TB_WHY_NOHASH,         /* --checksum without a sha256 for one side */
    TB_WHY_SAME,           /* unchanged by the mode's rule */
    TB_WHY_SIZE_FALLBACK,  /* same size, an mtime unknown, no hashes: skipped on size alone */
    TB_WHY_TYPE,           /* file on one side, directory on the other */
};

struct tb_sync_action {
    enum tb_sync_op op;
    enum tb_sync_why why;
    const struct tb_sync_entry *src;  /* always set */
    const struct tb_sync_entry *dst;  /* NULL when the path is new */
};

struct tb_syncplan_stats {
    uint64_t src_files, dst_files;    /* files in scope on each side (after the filter) */
    uint64_t excluded;                /* files the filter left out, both sides */
    uint64_t transfer, skip, conflict, size_fallback, deletes;
    uint64_t transfer_bytes, delete_bytes;
};

struct tb_syncplan {
    struct tb_syncplan_cfg cfg;
    struct tb_sync_stream in[2];
    struct tb_sync_entry cur[2];
    int have[2], eof[2], advance[2];
    char *prev[2];                    /* the previous path of each stream, for the order check */
    size_t prevlen[2], prevcap[2];
    int started[2], finished, failed;
    char hex[2][65];                  /* hashes got through cfg.hash for the current pair */
    FILE *spool;
    char *rbuf;                       /* tb_syncplan_next_delete's key buffer */
    size_t rcap;
    int reading;
    struct tb_syncplan_stats st;
};

/* Start a plan over src and dst. Opens the spool (an unlinked temp file) when cfg->delete. */
int tb_syncplan_init(struct tb_syncplan *p, const struct tb_syncplan_cfg *cfg, struct tb_sync_stream src,
                     struct tb_sync_stream dst, tb_err *e);
/* The next action: returns 0 and fills *act (valid until the next call), or sets *eof = 1 when
 * both listings are merged. On error the plan is failed (see above). */
int tb_syncplan_next(struct tb_syncplan *p, struct tb_sync_action *act, int *eof, tb_err *e);

/* --max-delete N or N% (of the destination's files in scope). */
struct tb_max_delete { uint64_t n; int percent; int set; };
int tb_max_delete_parse(const char *s, struct tb_max_delete *m, tb_err *e);

struct tb_sync_gate {
    int transfers_ok;           /* every TRANSFER of the pass succeeded (and was verified) */
    int allow_empty_source;     /* --allow-empty-source */
    struct tb_max_delete max;
};
/* 0 when the spooled deletions may run. Else nothing may be deleted: the plan is incomplete or
 * failed, or a transfer failed (TB_EPARTIAL: "deletions withheld"); the source had no file in
 * scope while the destination had some to delete, unless allowed (TB_ENOINPUT: an unmounted or
 * wrong source directory must not wipe a backup); more than --max-delete (TB_EPARTIAL: all of
 * them refused, not the first N, so a refused pass leaves the destination as it was). */
int tb_syncplan_delete_gate(const struct tb_syncplan *p, const struct tb_sync_gate *g, tb_err *e);
/* The spooled deletions in destination order: *path (len bytes, NUL-terminated, valid until the
 * next call) and its size; *eof = 1 after the last. Callable only after the plan finished. */
int tb_syncplan_next_delete(struct tb_syncplan *p, const char **path, size_t *len, uint64_t *size, int *eof,
                            tb_err *e);
void tb_syncplan_free(struct tb_syncplan *p);

enum tb_sync_dir { TB_SYNC_LOCAL_TO_STORE, TB_SYNC_STORE_TO_LOCAL, TB_SYNC_STORE_TO_STORE, TB_SYNC_LOCAL_TO_LOCAL };
/* The NDJSON "op" of an action: "upload", "download", "copy", "skip", "conflict". */
const char *tb_sync_op_name(const struct tb_sync_action *a, enum tb_sync_dir dir);
const char *tb_sync_why_name(enum tb_sync_why w);
#endif
