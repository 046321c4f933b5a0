/* shquote: see shquote.h. */
#include "shquote.h"
#include "alloc.h"
#include <string.h>

char *tb_shquote(const char *s)
{
    size_t n = 2;
    for (const char *p = s; *p; p++) n += *p == '\'' ? 4 : 1;
    char *o = tb_xmalloc(n + 1), *q = o;
    *q++ = '\'';
    for (const char *p = s; *p; p++) {
        if (*p == '\'') { memcpy(q, "'\\''", 4); q += 4; }
        else *q++ = *p;
    }
    *q++ = '\'';
    *q = 0;
    return o;
}
