/* azxml: the Azure Blob service's List Blobs answer (an EnumerationResults page) through expat.
 * Entries go to a callback as their elements close; only the current element's text is kept, and
 * names marked Encoded="true" (the service percent-encodes names holding XML-invalid characters) are
 * decoded. Used by store_azure. */
#ifndef TB_AZXML_H
#define TB_AZXML_H
#include "err.h"
#include <stddef.h>
#include <stdint.h>

struct tb_azxml_entry {
    const char *name;       /* the blob name or, for a common prefix, the prefix */
    int is_prefix;
    uint64_t size;          /* Content-Length */
    char md5_b64[48];       /* Content-MD5 as the service sent it (base64), "" when none */
    char sha256[80];        /* Metadata/sha256 (with include=metadata), "" when none */
    char mtime[48];         /* Metadata/mtime as stored (rclone's RFC 3339, see lib/mtime), "" when none */
    char etag[160];         /* Etag as sent (quotes or not) */
    char last_modified[48]; /* RFC 1123 */
};
/* Return 0 to go on; any other value stops the parse and is returned. */
typedef int (*tb_azxml_cb)(void *ctx, const struct tb_azxml_entry *ent);

/* Parse one page. *next_marker gets a malloc'd NextMarker, or NULL on the last page. Returns 0, the
 * callback's value, or TB_EUNAVAIL with e filled when the XML is malformed. */
int tb_azxml_list(const char *body, size_t len, tb_azxml_cb cb, void *ctx, char **next_marker, tb_err *e);
#endif
