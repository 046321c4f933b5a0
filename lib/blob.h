/* blob: whole-object conveniences over any location (a path, file://, and the object stores):
 * read it all, write it in one piece (temp + rename locally, one PUT remotely), its size, stream
 * its bytes through a callback, and list everything under a prefix. Commands that treat objects as
 * documents (manifest, discover) use these instead of the transfer engine. cfg (the store option
 * group: endpoint, region, profile, retries, timeout, request log) applies to the object stores;
 * NULL means the defaults. */
#ifndef TB_BLOB_H
#define TB_BLOB_H
#include "discover.h"
#include "store.h"
#include "err.h"
#include <stddef.h>
#include <stdint.h>

int tb_blob_read(const struct tb_store_cfg *cfg, const char *uri, char **data, size_t *len, tb_err *e);
int tb_blob_write(const struct tb_store_cfg *cfg, const char *uri, const void *data, size_t len, const char *content_type, tb_err *e);
/* *exists = 0 (and 0 returned) when there is no such object. */
int tb_blob_head(const struct tb_store_cfg *cfg, const char *uri, uint64_t *size, int *exists, tb_err *e);
/* cb returns 0 to go on, non-zero to stop (that value is returned). */
int tb_blob_stream(const struct tb_store_cfg *cfg, const char *uri, int (*cb)(void *arg, const void *p, size_t n), void *arg, tb_err *e);

struct tb_listing {
    struct tb_obj *objs;   /* keys relative to the prefix, sorted */
    size_t n, cap;
    char *arena;           /* key storage */
    size_t arena_len, arena_cap;
};
/* Everything under prefix (recursively). A prefix not ending in '/' is treated as a directory; a
 * local one must be one (a missing one: 66, a file: 64). */
int tb_blob_list(const struct tb_store_cfg *cfg, const char *prefix_uri, struct tb_listing *out, tb_err *e);
void tb_listing_free(struct tb_listing *l);
/* Append one object. */
void tb_listing_add(struct tb_listing *l, const char *key, size_t klen, uint64_t size);
/* Make o->key pointers valid after all adds (arena may have moved) and sort. */
void tb_listing_finish(struct tb_listing *l);
#endif
