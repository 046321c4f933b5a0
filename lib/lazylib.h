/* lazylib: shared libraries loaded on first use instead of at program start (see curlshim.c and
 * archiveshim.c for why). A shim defines the library's functions it needs with the library's own
 * prototypes (so the compiler checks every signature against the real header) and forwards each
 * call through a table filled once, under pthread_once, with dlsym. */
#ifndef TB_LAZYLIB_H
#define TB_LAZYLIB_H
#include <pthread.h>

/* dlopen soname or exit 69 naming the package to install (as the loader would have refused to
 * start the program had it been linked). */
void *tb_lazy_open(const char *soname, const char *package);
/* dlsym or exit 69 (the library is too old). */
void *tb_lazy_sym(void *lib, const char *soname, const char *name);

/* X-macro helpers: entries are X(name, return type, (parameters), (arguments)). */
#define TB_LAZY_PTR(name, ret, params, args) ret (*name) params;
#define TB_LAZY_DEF(tbl, once, load, name, ret, params, args) \
    ret name params                                           \
    {                                                         \
        pthread_once(&once, load);                            \
        return tbl.name args;                                 \
    }
#endif
