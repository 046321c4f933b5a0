/* safepath: the lexical check of remote keys before they become local paths (see safepath.h). */
#include "safepath.h"
#include <string.h>

const char *tb_safepath_check(const char *key, size_t len)
{
    if (len == 0) return "an empty key";
    if (len > TB_SAFEPATH_KEY_MAX) return "a key longer than 3072 bytes";
    if (memchr(key, '\0', len)) return "a NUL byte";
    if (memchr(key, '\\', len)) return "a backslash";
    if (key[0] == '/') return "an absolute path";
    if (key[len - 1] == '/') return "a trailing '/' (a directory marker, not a file)";
    for (size_t i = 0; i < len;) {
        size_t j = i;
        while (j < len && key[j] != '/') j++;
        size_t n = j - i;
        if (n == 0) return "an empty component ('//')";
        if (n == 1 && key[i] == '.') return "a '.' component";
        if (n == 2 && key[i] == '.' && key[i + 1] == '.') return "a '..' component";
        if (n > TB_SAFEPATH_NAME_MAX) return "a component longer than 255 bytes";
        i = j + 1;
    }
    return NULL;
}
