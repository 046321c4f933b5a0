/* Unit tests for lib/azxml (List Blobs pages) and azkey's protocol helpers (container names, block
 * ids, HTTP dates). */
#include "tap.h"
#include "azkey.h"
#include "azxml.h"
#include <stdlib.h>

struct seen {
    char names[16][128];
    int prefix[16];
    struct tb_azxml_entry last;
    int n, stop_at;
};

static int cb(void *ctx, const struct tb_azxml_entry *x)
{
    struct seen *s = ctx;
    if (s->n < 16) {
        snprintf(s->names[s->n], sizeof s->names[0], "%s", x->name);
        s->prefix[s->n] = x->is_prefix;
    }
    s->last = *x;
    s->n++;
    return s->stop_at && s->n == s->stop_at ? 42 : 0;
}

static const char page[] =
    "\xef\xbb\xbf<?xml version=\"1.0\" encoding=\"utf-8\"?>"
    "<EnumerationResults ServiceEndpoint=\"http://127.0.0.1:10000/devstoreaccount1\" ContainerName=\"c\">"
    "<Prefix>p/</Prefix><Marker /><MaxResults>3</MaxResults><Delimiter>/</Delimiter><Blobs>"
    "<Blob><Name>p/a &amp; b.tar</Name><Properties><Creation-Time>Sun, 22 Nov 2026 23:00:00 GMT</Creation-Time>"
    "<Last-Modified>Sun, 22 Nov 2026 23:43:00 GMT</Last-Modified><Etag>0x8DCABC</Etag>"
    "<Content-Length>1000003</Content-Length><Content-Type>application/octet-stream</Content-Type>"
    "<Content-MD5>XrY7u+Ae7tCTyyK7j1rNww==</Content-MD5><BlobType>BlockBlob</BlobType></Properties>"
    "<Metadata><sha256>b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9</sha256></Metadata></Blob>"
    "<BlobPrefix><Name>p/sub/</Name></BlobPrefix>"
    "<Blob><Name Encoded=\"true\">p/%EF%BF%BEodd%01</Name><Properties><Content-Length>0</Content-Length></Properties>"
    "<Metadata /></Blob>"
    "</Blobs><NextMarker>2!88!MDAwMDE=</NextMarker></EnumerationResults>";

int main(void)
{
    struct seen s = {0};
    char *marker = NULL;
    tb_err e = {0};
    CHECK_INT(tb_azxml_list(page, sizeof page - 1, cb, &s, &marker, &e), 0, "page parses");
    CHECK_INT(s.n, 3, "two blobs and a prefix");
    CHECK_STR(s.names[0], "p/a & b.tar", "entity decoded in a name");
    CHECK_STR(s.names[1], "p/sub/", "common prefix");
    CHECK(s.prefix[1] == 1 && s.prefix[0] == 0, "prefix flagged");
    CHECK_STR(s.names[2], "p/\xef\xbf\xbeodd\x01", "Encoded=true name percent-decoded");
    CHECK_STR(marker, "2!88!MDAwMDE=", "NextMarker");
    free(marker);

    memset(&s, 0, sizeof s);
    s.stop_at = 1;
    CHECK_INT(tb_azxml_list(page, sizeof page - 1, cb, &s, &marker, &e), 42, "callback value stops the parse");
    CHECK(marker == NULL, "no marker after a stop");
    CHECK_INT(s.last.size, 1000003, "Content-Length");
    CHECK_STR(s.last.md5_b64, "XrY7u+Ae7tCTyyK7j1rNww==", "Content-MD5");
    CHECK_STR(s.last.etag, "0x8DCABC", "Etag");
    CHECK_STR(s.last.sha256, "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9", "metadata sha256");
    CHECK_STR(s.last.last_modified, "Sun, 22 Nov 2026 23:43:00 GMT", "Last-Modified");

    const char last[] = "<EnumerationResults><Blobs/><NextMarker/></EnumerationResults>";
    memset(&s, 0, sizeof s);
    CHECK(tb_azxml_list(last, sizeof last - 1, cb, &s, &marker, &e) == 0 && marker == NULL && s.n == 0,
          "empty last page: no entries, no marker");
    const char bad[] = "<EnumerationResults><Blobs><Blob><Name>x</Blobs>";
    CHECK(tb_azxml_list(bad, sizeof bad - 1, cb, &s, &marker, &e) == TB_EUNAVAIL && strstr(e.msg, "bad List Blobs XML"),
          "malformed XML refused: %s", e.msg);
    CHECK(tb_azxml_list("", 0, cb, &s, &marker, &e) == TB_EUNAVAIL, "empty body refused");

    CHECK(tb_az_container_ok("abc") && tb_az_container_ok("a-b-0") && tb_az_container_ok("$root"), "valid container names");
    CHECK(!tb_az_container_ok("ab") && !tb_az_container_ok("Abc") && !tb_az_container_ok("a--b") &&
              !tb_az_container_ok("-ab") && !tb_az_container_ok("ab-") && !tb_az_container_ok("a_b"),
          "invalid container names");
    char id[17], id2[17];
    tb_az_block_id(0, id);
    tb_az_block_id(49999, id2);
    CHECK_STR(id, "YmxrLTAwMDAwMDAw", "block id 0 = base64(\"blk-00000000\")");
    CHECK(strlen(id2) == 16 && strcmp(id, id2) != 0, "block ids have one length");
    CHECK_INT(tb_az_parse_http_date("Sun, 22 Nov 2026 23:43:20 GMT"), 1795391000, "RFC 1123 date");
    CHECK_INT(tb_az_parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), 0, "epoch");
    CHECK_INT(tb_az_parse_http_date("Tue, 29 Feb 2028 12:00:00 GMT"), 1835438400, "leap day");
    CHECK_INT(tb_az_parse_http_date("yesterday"), -1, "garbage date");
    return tap_done();
}
