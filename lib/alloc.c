/* alloc: allocation wrappers that exit 70 with one line when memory runs out (see alloc.h). */
#include "alloc.h"
#include "err.h"
#include "grow.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Noreturn void tb_oom(size_t bytes)
{
    /* stdio may itself need memory: one write(2)-sized fprintf to an unbuffered stderr is the best try */
    fprintf(stderr, "trainbox: out of memory (%zu bytes)\n", bytes);
    exit(TB_ESOFTWARE);
}

_Noreturn void tb_assert_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "trainbox: internal error: %s (%s:%d)\n", expr, file, line);
    exit(TB_ESOFTWARE);
}

void *tb_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) tb_oom(n);
    return p;
}

void *tb_xcalloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) tb_oom(count * size);
    return p;
}

void *tb_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) tb_oom(n);
    return q;
}

char *tb_xstrdup(const char *s)
{
    return tb_xstrndup(s, strlen(s));
}

char *tb_xstrndup(const char *s, size_t n)
{
    char *p = tb_xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

char *tb_xasprintf(const char *fmt, ...)
{
    va_list ap, aq;
    va_start(ap, fmt);
    va_copy(aq, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    tb_assert(n >= 0);
    char *p = tb_xmalloc((size_t)n + 1);
    vsnprintf(p, (size_t)n + 1, fmt, aq);
    va_end(aq);
    return p;
}

void tb_xgrow_n(void *buf, size_t *cap, size_t need, size_t size, size_t first)
{
    if (tb_grow_n(buf, cap, need, size, first) != 0) tb_oom(need * size);
}

void tb_xgrow(char **buf, size_t *cap, size_t need)
{
    tb_xgrow_n(buf, cap, need, 1, 4096);
}
