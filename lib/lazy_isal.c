/* lazy_isal: ISA-L's igzip decoder (libisal.so.2), loaded on first use, and optional.
 *
 * isal_inflate decodes the gzip inputs cat reads about twice as fast as zlib's inflate on this
 * project's machines (bench/gunzip_speed.c), so lib/gunzip uses it when it is installed. Unlike the
 * other shims a missing library is no error: tb_isal_available() says 0 and lib/gunzip uses zlib,
 * which is always linked. The functions are defined with the header's prototypes (lib/lazy.h) and
 * must only be called after tb_isal_available() said 1. */
#include "lazy.h"
#include <dlfcn.h>
#include <isa-l/igzip_lib.h>

#define S struct inflate_state
#define TB_ISAL_FNS(X)                                   \
    X(isal_inflate_init, void, (S *state), (state))      \
    X(isal_inflate_reset, void, (S *state), (state))     \
    X(isal_inflate, int, (S *state), (state))

static struct {
    TB_ISAL_FNS(TB_LAZY_PTR)
    int ok;
} fn;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void load(void)
{
    void *lib = tb_lazy_try("libisal.so.2");
    if (!lib) return;
    int ok = 1;
#define LOAD(name, ...) ok = ok && (*(void **)&fn.name = dlsym(lib, #name)) != NULL;
    TB_ISAL_FNS(LOAD)
#undef LOAD
    if (!ok) { dlclose(lib); return; } /* too old to be used: zlib does the work */
    fn.ok = 1;
}

int tb_isal_available(void)
{
    pthread_once(&once, load);
    return fn.ok;
}

#define DEF(...) TB_LAZY_DEF(fn, once, load, __VA_ARGS__)
TB_ISAL_FNS(DEF)
#undef DEF
