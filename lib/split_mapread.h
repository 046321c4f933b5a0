/* mapread: a regular file read through a memory map instead of read() into a buffer.
 *
 * For work that only looks at the bytes (finding lines and passing a few on, as split does), the
 * read() copy out of the page cache was a third of the time. A map costs no copy: its pages are
 * populated ahead in one call per window (not a fault per page) and dropped behind, so resident
 * memory stays at a few windows whatever the file's size.
 *
 * A file truncated while mapped raises SIGBUS where a read() would have returned short. Windows are
 * populated before use (MADV_POPULATE_READ fails cleanly past the end), and tb_map_guarded turns a
 * SIGBUS that still happens inside it into an error return (TB_EDATA, "changed size while being
 * read") instead of a crash; temp files registered with cleanup are then aborted by the caller as
 * on any error. */
#ifndef TB_MAPREAD_H
#define TB_MAPREAD_H
#include "err.h"
#include <stddef.h>
#include <stdint.h>

#define TB_MAP_WINDOW (1u << 20)

struct tb_map {
    const char *p;       /* the mapped range, read-only */
    size_t len;
    void *base;          /* the mapping (page-aligned, at or before p) */
    size_t maplen;
    size_t populated;    /* [0, populated) has been populated */
    size_t dropped;      /* [0, dropped) has been dropped again */
    const char *name;
};

/* Is fd a regular file with bytes left past its current offset? Sets *off and *len to them. */
int tb_map_usable(int fd, uint64_t *off, uint64_t *len);
/* Map [off, off + len) of fd. TB_EIO on failure (the caller may fall back to read()). */
int tb_map_open(struct tb_map *m, int fd, uint64_t off, size_t len, const char *name, tb_err *e);
/* Make [0, upto) (plus one window ahead) resident before it is touched; TB_EDATA if the file has
 * shrunk below it. Cheap when already done. */
int tb_map_need(struct tb_map *m, size_t upto, tb_err *e);
/* Release the pages wholly below upto (they stay in the page cache). */
void tb_map_drop(struct tb_map *m, size_t upto);
void tb_map_close(struct tb_map *m);

/* Run fn(ud, e) so that a SIGBUS raised by touching a mapped file inside it makes it return
 * TB_EDATA naming `name` instead of killing the process. One guard per thread; nests not. */
int tb_map_guarded(int (*fn)(void *ud, tb_err *e), void *ud, const char *name, tb_err *e);

#endif
