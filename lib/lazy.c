/* lazy: the dlopen/dlsym half shared by the lazily loaded library shims. */
#include "lazy.h"
#include "err.h"
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

void *tb_lazy_open(const char *soname, const char *package)
{
    void *lib = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        fprintf(stderr, "trainbox: cannot load %s: %s (install %s)\n", soname, dlerror(), package);
        exit(TB_EUNAVAIL);
    }
    return lib;
}

void *tb_lazy_sym(void *lib, const char *soname, const char *name)
{
    void *p = dlsym(lib, name);
    if (!p) {
        fprintf(stderr, "trainbox: %s has no %s (too old a version)\n", soname, name);
        exit(TB_EUNAVAIL);
    }
    return p;
}

void *tb_lazy_try(const char *soname)
{
    return dlopen(soname, RTLD_NOW | RTLD_LOCAL);
}
