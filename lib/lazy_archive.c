/* lazy_archive: libarchive, loaded on first use instead of at program start.
 *
 * libarchive brings libxml2, ICU (with its 30 MB data library) and libstdc++ with it, ~3 ms of
 * dynamic loading at every start, while only reading shards and compressed inputs and writing
 * compressed shards use it. So, as with libcurl (lazy_curl.c), the binary is not linked against it:
 * the functions trainbox calls are defined here and forwarded to the real ones (lib/lazy). */
#include "lazy.h"
#include <archive.h>
#include <archive_entry.h>
#include <stdarg.h>
#include <stdio.h>

#define A struct archive
#define E struct archive_entry
#define TB_ARCHIVE_FNS(X)                                                                               \
    X(archive_error_string, const char *, (A *a), (a))                                                 \
    X(archive_filter_bytes, la_int64_t, (A *a, int n), (a, n))                                         \
    X(archive_read_new, A *, (void), ())                                                               \
    X(archive_read_free, int, (A *a), (a))                                                             \
    X(archive_read_support_filter_gzip, int, (A *a), (a))                                              \
    X(archive_read_support_filter_zstd, int, (A *a), (a))                                              \
    X(archive_read_support_format_tar, int, (A *a), (a))                                               \
    X(archive_read_support_format_raw, int, (A *a), (a))                                               \
    X(archive_read_support_format_empty, int, (A *a), (a))                                             \
    X(archive_read_open, int,                                                                          \
      (A *a, void *ud, archive_open_callback *o, archive_read_callback *r, archive_close_callback *c), \
      (a, ud, o, r, c))                                                                                \
    X(archive_read_next_header, int, (A *a, E **e), (a, e))                                            \
    X(archive_read_header_position, la_int64_t, (A *a), (a))                                           \
    X(archive_read_data, la_ssize_t, (A *a, void *p, size_t n), (a, p, n))                             \
    X(archive_write_new, A *, (void), ())                                                              \
    X(archive_write_free, int, (A *a), (a))                                                            \
    X(archive_write_add_filter_gzip, int, (A *a), (a))                                                 \
    X(archive_write_add_filter_zstd, int, (A *a), (a))                                                 \
    X(archive_write_set_filter_option, int, (A *a, const char *m, const char *o, const char *v),       \
      (a, m, o, v))                                                                                    \
    X(archive_write_set_format_raw, int, (A *a), (a))                                                  \
    X(archive_write_set_bytes_per_block, int, (A *a, int n), (a, n))                                   \
    X(archive_write_set_bytes_in_last_block, int, (A *a, int n), (a, n))                               \
    X(archive_write_open2, int,                                                                        \
      (A *a, void *ud, archive_open_callback *o, archive_write_callback *w, archive_close_callback *c, \
       archive_free_callback *f),                                                                      \
      (a, ud, o, w, c, f))                                                                             \
    X(archive_write_header, int, (A *a, E *e), (a, e))                                                 \
    X(archive_write_data, la_ssize_t, (A *a, const void *p, size_t n), (a, p, n))                      \
    X(archive_write_close, int, (A *a), (a))                                                           \
    X(archive_entry_new, E *, (void), ())                                                              \
    X(archive_entry_free, void, (E *e), (e))                                                           \
    X(archive_entry_filetype, __LA_MODE_T, (E *e), (e))                                                \
    X(archive_entry_set_filetype, void, (E *e, unsigned int t), (e, t))                                \
    X(archive_entry_set_perm, void, (E *e, __LA_MODE_T m), (e, m))                                     \
    X(archive_entry_set_pathname, void, (E *e, const char *p), (e, p))                                 \
    X(archive_entry_pathname, const char *, (E *e), (e))                                               \
    X(archive_entry_pathname_utf8, const char *, (E *e), (e))                                          \
    X(archive_entry_hardlink, const char *, (E *e), (e))                                               \
    X(archive_entry_size, la_int64_t, (E *e), (e))                                                     \
    X(archive_entry_size_is_set, int, (E *e), (e))

static struct {
    TB_ARCHIVE_FNS(TB_LAZY_PTR)
    void (*archive_set_error)(A *a, int err, const char *fmt, ...);
} fn;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void load(void)
{
    void *lib = tb_lazy_open("libarchive.so.13", "libarchive13");
#define LOAD(name, ...) *(void **)&fn.name = tb_lazy_sym(lib, "libarchive.so.13", #name);
    TB_ARCHIVE_FNS(LOAD)
    LOAD(archive_set_error)
#undef LOAD
}

#define DEF(...) TB_LAZY_DEF(fn, once, load, __VA_ARGS__)
TB_ARCHIVE_FNS(DEF)
#undef DEF

/* variadic: format here, hand the text on */
void archive_set_error(A *a, int err, const char *fmt, ...)
{
    pthread_once(&once, load);
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fn.archive_set_error(a, err, "%s", msg);
}
