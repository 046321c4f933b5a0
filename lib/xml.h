/* xml: the one way trainbox reads XML (S3 and Azure responses): expat underneath, reporting each
 * element's slash-joined path and its text when the element ends. No DOM, no allocation per node
 * beyond the text of the element being read. */
#ifndef TB_XML_H
#define TB_XML_H
#include "err.h"
#include <stddef.h>
#include <stdint.h>

/* Called at the end of every element: path like "ListBucketResult/Contents/Key" (no namespace
 * prefixes), text = the element's own character data (NUL-terminated, "" for containers).
 * Return nonzero to stop parsing (that value is returned by tb_xml_parse). */
typedef int (*tb_xml_fn)(void *ud, const char *path, const char *text, size_t len);

/* Parse a whole document. Returns 0, the callback's nonzero value, or TB_EDATA with e filled on
 * malformed XML. */
int tb_xml_parse(const char *doc, size_t len, tb_xml_fn cb, void *ud, tb_err *e);
/* Seconds since the epoch of an S3 timestamp "YYYY-MM-DDTHH:MM:SS[.fff]Z" (UTC); 0 when s is not
 * one. Fixed-format: strptime + timegm were a tenth of a 20,000-object listing's CPU. */
long long tb_xml_time(const char *s);
/* Escape text for an XML element body (& < > " '); malloc'd. */
char *tb_xml_escape(const char *s);
#endif
