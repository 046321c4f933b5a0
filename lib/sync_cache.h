/* sync_cache: what sync learned about a store prefix's objects, so a no-op pass needs no HEAD.
 * An S3 listing gives each object's size and ETag but not its mtime (x-amz-meta-mtime) or sha256
 * metadata, which cost one HEAD each (2,000 objects: 5 s on moto, most of a no-op pass). The cache
 * remembers, per key, the (size, ETag) an object had and the metadata it had then. The ETag is the
 * content's identity (the MD5 of a single PUT, the MD5 of the parts' MD5s for a multipart one), so
 * an entry is used only while the listing shows the same size and ETag: an object rewritten by
 * anyone gets a new ETag and is asked again; one whose metadata alone another tool rewrote (same
 * bytes) keeps our older view, which can only make sync send a file whose bytes are already there.
 *
 * The file: one line per key, in byte order of the key (the order of the listing it is read
 * beside), "KEY\tSIZE\tETAG\tMTIME\tSHA256\n", KEY with '%', tab, CR and LF percent-escaped.
 * A pass reads the old file as a stream beside the listing (tb_sync_cache_lookup, keys ascending),
 * writes what it served to a temp file in the same order (tb_sync_cache_put), notes the objects it
 * wrote or deleted (tb_sync_cache_note; kept in memory, about 100 bytes each), and at the end of a
 * complete pass merges the two into the new file, renamed into place (tb_sync_cache_commit). A pass
 * that stops short commits nothing: the old file stays, and stays valid through its ETags.
 * Memory: one line of the old file, plus the notes of the objects this pass changed. */
#ifndef TB_SYNC_CACHE_H
#define TB_SYNC_CACHE_H
#include "err.h"
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct tb_sync_cache_note;
struct tb_sync_cache {
    char *path, *tmp;
    FILE *in, *out;
    char *line;
    size_t cap;
    int in_eof, have;
    /* the old file's current entry */
    char *key;
    size_t klen, kcap;
    uint64_t size;
    char etag[160], mtime[32], sha[65];
    /* this pass's changes */
    struct tb_sync_cache_note *notes;
    size_t nnotes, cnotes;
    int failed;               /* a write failed: commit nothing */
};

/* The cache file for a store prefix: DIR/trainbox/sync/<sha256 of id>, DIR from
 * $XDG_CACHE_HOME or $HOME/.cache (malloc'd), or NULL when neither is set. */
char *tb_sync_cache_path(const char *id);
/* Open path's cache (a missing or unreadable file is an empty cache) and a temp beside it for
 * the new one (its directory made). Returns 0, or an error (no cache then: the caller goes on
 * without one). */
int tb_sync_cache_open(struct tb_sync_cache *c, const char *path, tb_err *e);
/* The entry for key if the old file has one with this size and etag: 1 with mtime (32 bytes) and
 * sha (65 bytes) filled ("" when it had none), else 0. Keys must come in ascending byte order. */
int tb_sync_cache_lookup(struct tb_sync_cache *c, const char *key, size_t klen, uint64_t size, const char *etag,
                         char *mtime, char *sha);
/* What the listing served for key, in ascending order (its metadata as now known). */
void tb_sync_cache_put(struct tb_sync_cache *c, const char *key, size_t klen, uint64_t size, const char *etag,
                       const char *mtime, const char *sha);
/* This pass changed key: stored with this size, etag and metadata (etag NULL: deleted, or its
 * state unknown after a failure; the entry is dropped). Any order. */
void tb_sync_cache_note(struct tb_sync_cache *c, const char *key, size_t klen, uint64_t size, const char *etag,
                        const char *mtime, const char *sha);
/* The pass was complete: write the merged file and rename it into place. */
int tb_sync_cache_commit(struct tb_sync_cache *c, tb_err *e);
void tb_sync_cache_close(struct tb_sync_cache *c); /* without a commit the temp is removed */
#endif
