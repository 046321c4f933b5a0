/* mapread: regular files read through a memory map, populated ahead, dropped behind, SIGBUS-guarded. */
#include "split_mapread.h"
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif

static size_t page_size(void)
{
    static size_t ps;
    if (!ps) {
        long v = sysconf(_SC_PAGESIZE);
        ps = v > 0 ? (size_t)v : 4096;
    }
    return ps;
}

int tb_map_usable(int fd, uint64_t *off, uint64_t *len)
{
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return 0;
    off_t cur = lseek(fd, 0, SEEK_CUR);
    if (cur < 0 || st.st_size <= cur) return 0;
    if ((uint64_t)(st.st_size - cur) > (uint64_t)SIZE_MAX / 2) return 0;
    *off = (uint64_t)cur;
    *len = (uint64_t)(st.st_size - cur);
    return 1;
}

int tb_map_open(struct tb_map *m, int fd, uint64_t off, size_t len, const char *name, tb_err *e)
{
    memset(m, 0, sizeof *m);
    m->name = name;
    uint64_t base = off & ~(uint64_t)(page_size() - 1);
    size_t maplen = (size_t)(off - base) + len;
    void *p = mmap(NULL, maplen, PROT_READ, MAP_SHARED, fd, (off_t)base);
    if (p == MAP_FAILED) return tb_fail_errno(e, TB_EIO, "cannot map %s", name);
    madvise(p, maplen, MADV_SEQUENTIAL);
    m->base = p;
    m->maplen = maplen;
    m->p = (const char *)p + (off - base);
    m->len = len;
    return 0;
}

int tb_map_need(struct tb_map *m, size_t upto, tb_err *e)
{
    if (upto <= m->populated) return 0;
    size_t ps = page_size();
    size_t skew = (size_t)(m->p - (const char *)m->base);
    size_t a = (m->populated + skew) & ~(ps - 1); /* offsets in the mapping */
    size_t b = upto + TB_MAP_WINDOW;
    if (b > m->len) b = m->len;
    if (b + skew > a) {
        if (madvise((char *)m->base + a, b + skew - a, MADV_POPULATE_READ) != 0) {
            /* EINVAL: a kernel before 5.14, where pages simply fault in as touched */
            if (errno == EFAULT || errno == EIO)
                return tb_fail(e, TB_EDATA, "%s changed size while being read", m->name);
        }
    }
    m->populated = b;
    return 0;
}

void tb_map_drop(struct tb_map *m, size_t upto)
{
    size_t ps = page_size();
    size_t skew = (size_t)(m->p - (const char *)m->base);
    upto = (upto + skew) & ~(ps - 1); /* offsets in the mapping from here */
    /* in steps of a window: one call per few MiB, not per block */
    if (upto < m->dropped + TB_MAP_WINDOW) return;
    madvise((char *)m->base + m->dropped, upto - m->dropped, MADV_DONTNEED);
    m->dropped = upto;
}

void tb_map_close(struct tb_map *m)
{
    if (m->base) munmap(m->base, m->maplen);
    memset(m, 0, sizeof *m);
}

/* ---- SIGBUS guard ---- */

static _Thread_local sigjmp_buf *guard;
static pthread_once_t handler_once = PTHREAD_ONCE_INIT;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
    (void)si;
    (void)uc;
    if (guard) siglongjmp(*guard, 1);
    signal(sig, SIG_DFL); /* not ours: die of it as we would have */
    raise(sig);
}

static void install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGBUS, &sa, NULL);
}

int tb_map_guarded(int (*fn)(void *ud, tb_err *e), void *ud, const char *name, tb_err *e)
{
    pthread_once(&handler_once, install);
    sigjmp_buf jb;
    if (sigsetjmp(jb, 1)) {
        guard = NULL;
        return tb_fail(e, TB_EDATA, "%s changed size while being read", name);
    }
    guard = &jb;
    int r = fn(ud, e);
    guard = NULL;
    return r;
}
