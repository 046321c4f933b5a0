/* lazy_curl: libcurl, loaded on first use instead of at program start.
 *
 * libcurl brings about forty shared libraries with it (TLS, Kerberos, LDAP, IDN, HTTP/2, ...), and
 * the dynamic loader spent ~7 ms of every start resolving them: more than `trainbox split` needs
 * for a 100 MB file, paid by every command in every pipeline stage and by every test, although
 * only the store layer ever talks HTTP. So the binary is not linked against libcurl; this file
 * defines the libcurl functions trainbox calls and forwards each to the real one, which it looks
 * up (lib/lazy) the first time any of them is called. */
#define CURL_DISABLE_TYPECHECK /* the type-checking macros would rename the definitions below */
#include "lazy.h"
#include <curl/curl.h>
#include <stdarg.h>

/* name, return type, parameters, arguments */
#define TB_CURL_FNS(X)                                                                                  \
    X(curl_global_init, CURLcode, (long flags), (flags))                                               \
    X(curl_global_cleanup, void, (void), ())                                                           \
    X(curl_version, char *, (void), ())                                                                \
    X(curl_free, void, (void *p), (p))                                                                 \
    X(curl_getdate, time_t, (const char *p, const time_t *unused), (p, unused))                        \
    X(curl_easy_init, CURL *, (void), ())                                                              \
    X(curl_easy_cleanup, void, (CURL *h), (h))                                                         \
    X(curl_easy_reset, void, (CURL *h), (h))                                                           \
    X(curl_easy_perform, CURLcode, (CURL *h), (h))                                                     \
    X(curl_easy_pause, CURLcode, (CURL *h, int bitmask), (h, bitmask))                                 \
    X(curl_easy_strerror, const char *, (CURLcode c), (c))                                             \
    X(curl_easy_escape, char *, (CURL *h, const char *s, int n), (h, s, n))                            \
    X(curl_url, CURLU *, (void), ())                                                                   \
    X(curl_url_cleanup, void, (CURLU *u), (u))                                                         \
    X(curl_url_set, CURLUcode, (CURLU *u, CURLUPart what, const char *part, unsigned int flags),       \
      (u, what, part, flags))                                                                          \
    X(curl_url_get, CURLUcode, (CURLU *u,       CURLUPart what, char **part, unsigned int flags),      \
      (u, what, part, flags))                                                                          \
    X(curl_slist_append, struct curl_slist *, (struct curl_slist *l, const char *s), (l, s))           \
    X(curl_slist_free_all, void, (struct curl_slist *l), (l))                                          \
    X(curl_multi_init, CURLM *, (void), ())                                                            \
    X(curl_multi_cleanup, CURLMcode, (CURLM *m), (m))                                                  \
    X(curl_multi_add_handle, CURLMcode, (CURLM *m, CURL *h), (m, h))                                   \
    X(curl_multi_remove_handle, CURLMcode, (CURLM *m, CURL *h), (m, h))                                \
    X(curl_multi_perform, CURLMcode, (CURLM *m, int *running), (m, running))                           \
    X(curl_multi_poll, CURLMcode, (CURLM *m, struct curl_waitfd *fds, unsigned nfds, int ms, int *ret), \
      (m, fds, nfds, ms, ret))                                                                         \
    X(curl_multi_wait, CURLMcode, (CURLM *m, struct curl_waitfd *fds, unsigned nfds, int ms, int *ret), \
      (m, fds, nfds, ms, ret))                                                                         \
    X(curl_multi_wakeup, CURLMcode, (CURLM *m), (m))                                                   \
    X(curl_multi_timeout, CURLMcode, (CURLM *m, long *ms), (m, ms))                                    \
    X(curl_multi_info_read, CURLMsg *, (CURLM *m, int *left), (m, left))                               \
    X(curl_multi_strerror, const char *, (CURLMcode c), (c))

/* the variadic ones: the option number says the argument's type */
#define TB_CURL_VFNS(X)                                                                                 \
    X(curl_easy_setopt, CURLcode, CURL *, CURLoption)                                                  \
    X(curl_easy_getinfo, CURLcode, CURL *, CURLINFO)                                                   \
    X(curl_multi_setopt, CURLMcode, CURLM *, CURLMoption)

static struct {
    TB_CURL_FNS(TB_LAZY_PTR)
#define VPTR(name, ret, handle, opt) ret (*name)(handle, opt, ...);
    TB_CURL_VFNS(VPTR)
#undef VPTR
} fn;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void load(void)
{
    void *lib = tb_lazy_open("libcurl.so.4", "libcurl4");
    /* dlsym returns an object pointer; POSIX guarantees it converts to a function pointer */
#define LOAD(name, ...) *(void **)&fn.name = tb_lazy_sym(lib, "libcurl.so.4", #name);
    TB_CURL_FNS(LOAD)
    TB_CURL_VFNS(LOAD)
#undef LOAD
}

#define DEF(...) TB_LAZY_DEF(fn, once, load, __VA_ARGS__)
TB_CURL_FNS(DEF)
#undef DEF

/* Option numbers are typed by range: below 10000 a long, below 30000 an object or function
 * pointer, below 40000 a curl_off_t, from 40000 a pointer (blob). Info numbers always take a
 * pointer to where the answer goes. */
#define FORWARD_OPT(name, ret, handle, opt)                                          \
    ret name(handle h, opt o, ...)                                                   \
    {                                                                                \
        pthread_once(&once, load);                                                   \
        va_list ap;                                                                  \
        va_start(ap, o);                                                             \
        ret r;                                                                       \
        if ((long)o < CURLOPTTYPE_OBJECTPOINT) r = fn.name(h, o, va_arg(ap, long));  \
        else if ((long)o >= CURLOPTTYPE_OFF_T && (long)o < CURLOPTTYPE_BLOB)         \
            r = fn.name(h, o, va_arg(ap, curl_off_t));                               \
        else r = fn.name(h, o, va_arg(ap, void *));                                  \
        va_end(ap);                                                                  \
        return r;                                                                    \
    }
FORWARD_OPT(curl_easy_setopt, CURLcode, CURL *, CURLoption)
FORWARD_OPT(curl_multi_setopt, CURLMcode, CURLM *, CURLMoption)
#undef FORWARD_OPT

CURLcode curl_easy_getinfo(CURL *h, CURLINFO i, ...)
{
    pthread_once(&once, load);
    va_list ap;
    va_start(ap, i);
    CURLcode r = fn.curl_easy_getinfo(h, i, va_arg(ap, void *));
    va_end(ap);
    return r;
}
