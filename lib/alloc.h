/* alloc: the one out-of-memory policy. Every allocation in trainbox goes through these wrappers (or
 * tb_xgrow for growing arrays); when one fails the process prints one line,
 * "trainbox: out of memory (N bytes)", and exits 70 (TB_ESOFTWARE): there is no partial recovery
 * worth the code, and the exit code is one DESIGN.md's table and every man page list, unlike SIGABRT's 134.
 * Outputs in progress are temp files (lib/atomic, lib/cleanup), so nothing half-written is left
 * under a final name; lib/cleanup's temp paths are removed by the exit handler.
 *
 * tb_assert() is the one assertion helper: a broken invariant (a bug, never bad input) prints
 * "trainbox: internal error: EXPR (file:line)" and exits 70. Nothing else calls abort(). */
#ifndef TB_ALLOC_H
#define TB_ALLOC_H
#include <stddef.h>

_Noreturn void tb_oom(size_t bytes);
_Noreturn void tb_assert_fail(const char *expr, const char *file, int line);
#define tb_assert(c) ((c) ? (void)0 : tb_assert_fail(#c, __FILE__, __LINE__))

void *tb_xmalloc(size_t n);
void *tb_xcalloc(size_t count, size_t size);
void *tb_xrealloc(void *p, size_t n);
char *tb_xstrdup(const char *s);
char *tb_xstrndup(const char *s, size_t n); /* exactly n bytes of s (which may hold NULs), then a NUL */
/* asprintf into a new string. */
char *tb_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* *buf (an array of `size`-byte elements, *cap of them) holds at least need elements afterwards,
 * doubling from `first` (lib/grow.h's tb_grow_n, but out of memory is tb_oom). */
void tb_xgrow_n(void *buf, size_t *cap, size_t need, size_t size, size_t first);
/* The same for a byte buffer, from 4 KiB. */
void tb_xgrow(char **buf, size_t *cap, size_t need);
#endif
