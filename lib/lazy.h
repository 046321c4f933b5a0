/* lazy: shared libraries loaded on first use instead of at program start. The family:
 * lazy.c (dlopen/dlsym), lazy_curl.c (libcurl), lazy_archive.c (libarchive), lazy_crypto.c
 * (libcrypto), lazy_isal.c (ISA-L's gzip decoder: optional, see tb_isal_available). Linked, those libraries and the ~45 they pull in cost every command ~8.5 ms at start,
 * more than split needs for 100 MB; so the binary is not linked against them.
 *
 * How a call reaches the real library: code calls e.g. curl_easy_init() as usual, with the
 * library's own header included. lazy_curl.c defines curl_easy_init itself, with the header's exact
 * prototype (so the compiler checks every signature against the real one): the definition runs
 * the shim's loader once under pthread_once (dlopen of the soname, then dlsym of every function in
 * the shim's X-macro list into a table of pointers), then calls through the table. A missing
 * library or symbol exits 69 naming the Debian package, as the dynamic loader would have refused
 * to start the program. Calls after the first cost one predictable indirect branch. */
#ifndef TB_LAZY_H
#define TB_LAZY_H
#include <pthread.h>

/* dlopen soname or exit 69 naming the package to install (as the loader would have refused to
 * start the program had it been linked). */
void *tb_lazy_open(const char *soname, const char *package);
/* dlsym or exit 69 (the library is too old). */
void *tb_lazy_sym(void *lib, const char *soname, const char *name);

/* dlopen soname, or NULL when it is not installed (for an optional library: lazy_isal.c). */
void *tb_lazy_try(const char *soname);

/* ISA-L (libisal.so.2) loaded and complete: 1, and then isal_inflate_init, isal_inflate_reset and
 * isal_inflate may be called; 0 when it is missing (lib/gunzip falls back to zlib). Thread-safe. */
int tb_isal_available(void);

/* X-macro helpers: entries are X(name, return type, (parameters), (arguments)). */
#define TB_LAZY_PTR(name, ret, params, args) ret (*name) params;
#define TB_LAZY_DEF(tbl, once, load, name, ret, params, args) \
    ret name params                                           \
    {                                                         \
        pthread_once(&once, load);                            \
        return tbl.name args;                                 \
    }
#endif
