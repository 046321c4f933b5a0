/* fuzz_azxml: the Azure Blob answers trainbox reads: a List Blobs page (tb_azxml_list: entries,
 * Encoded="true" names decoded, NextMarker), stopped early by the callback too, and an error body
 * (tb_http_xml_error). */
/* -max_len for `make fuzz` (scripts/run-fuzz.sh reads this line) */
#define FUZZ_MAX_LEN 8192
#include "azxml.h"
#include "fuzz.h"
#include "http.h"

struct seen { size_t n, stop_at; };

static int cb(void *ctx, const struct tb_azxml_entry *x)
{
    struct seen *s = ctx;
    FZ_CHECK(x->name != NULL);
    (void)strlen(x->name);
    FZ_CHECK(strlen(x->md5_b64) < sizeof x->md5_b64 && strlen(x->sha256) < sizeof x->sha256);
    FZ_CHECK(strlen(x->mtime) < sizeof x->mtime && strlen(x->etag) < sizeof x->etag);
    FZ_CHECK(strlen(x->last_modified) < sizeof x->last_modified);
    s->n++;
    return s->stop_at && s->n == s->stop_at ? 42 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *body = fz_str(data, size);
    tb_err e = {0};
    struct seen s = {0, 0};
    char *next = NULL;
    int rc = tb_azxml_list(body, size, cb, &s, &next, &e);
    FZ_CHECK(rc == 0 || rc == TB_EUNAVAIL);
    if (rc) FZ_CHECK(e.code == TB_EUNAVAIL);
    free(next);
    if (s.n > 1) {
        struct seen t = {0, 1};
        next = NULL;
        FZ_CHECK(tb_azxml_list(body, size, cb, &t, &next, &e) == 42 && t.n == 1);
        free(next);
    }
    char code[64], msg[512];
    tb_http_xml_error(body, size, code, sizeof code, msg, sizeof msg);
    free(body);
    return 0;
}
