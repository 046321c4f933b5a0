/* safepath: whether a key a remote names may be written under a local destination directory.
 * A listing is untrusted input: a bucket can hold "../evil", "/etc/passwd" or "a/../../b", and a
 * tool that joins such a key to its destination writes outside it. The check is purely lexical:
 * it accepts only plain relative paths of non-empty, non-"."/".." components, so that joining the
 * key to the destination can only name something inside it. Symlinks already in the destination
 * are the writer's concern (open each component with O_NOFOLLOW, or openat from the destination's
 * directory fd); this check makes that the only remaining way out. */
#ifndef TB_SAFEPATH_H
#define TB_SAFEPATH_H
#include <stddef.h>

/* Linux's NAME_MAX and a path budget that leaves PATH_MAX (4096) room for the destination. */
#define TB_SAFEPATH_NAME_MAX 255
#define TB_SAFEPATH_KEY_MAX 3072

/* NULL when key (len bytes, may hold NUL) is safe; else why not, a static string such as
 * "a '..' component". Refused: empty keys, an absolute path ("/a"), a backslash anywhere (a path
 * separator on Windows and in zip/tar tools that normalize it; never written as a name), a NUL
 * byte, empty components ("a//b", a trailing '/', which on a store is a directory marker object),
 * "." and ".." components, a component over TB_SAFEPATH_NAME_MAX bytes, a key over
 * TB_SAFEPATH_KEY_MAX bytes. */
const char *tb_safepath_check(const char *key, size_t len);
#endif
