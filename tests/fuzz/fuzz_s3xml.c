/* fuzz_s3xml: the S3 answers trainbox reads: a ListObjectsV2 page (tb_s3_list_parse, store_s3's
 * listing parser over lib/xml), the UploadId of CreateMultipartUpload and the ETag of
 * CompleteMultipartUpload and CopyObject (tb_s3_xml_field), an error body's Code and Message
 * (tb_http_xml_error, into short buffers too), timestamps (tb_xml_time) and tb_xml_escape. */
/* -max_len for `make fuzz` (scripts/run-fuzz.sh reads this line) */
#define FUZZ_MAX_LEN 8192
#include "fuzz.h"
#include "http.h"
#include "store.h"
#include "xml.h"

static int count_cb(void *ud, const char *path, const char *text, size_t len)
{
    FZ_CHECK(path != NULL && text != NULL && strlen(text) <= len);
    (*(size_t *)ud)++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *body = fz_str(data, size); /* answers are NUL-terminated as lib/http keeps them */
    tb_err e = {0};
    struct tb_store_req r;
    memset(&r, 0, sizeof r);
    int rc = tb_s3_list_parse(body, size, &r, &e);
    FZ_CHECK(rc == 0 || rc == TB_EDATA);
    for (size_t i = 0; i < r.nitems; i++) {
        FZ_CHECK(r.items[i].exists == 1 || rc);
        FZ_CHECK(strlen(r.items[i].etag) < sizeof r.items[i].etag);
    }
    for (size_t i = 0; i < r.nprefixes; i++) FZ_CHECK(r.prefixes[i] != NULL);
    tb_store_req_clear(&r);

    char up[256], et[200], tiny[2];
    FZ_CHECK(tb_s3_xml_field(body, size, "UploadId", up, sizeof up, &e) >= 0);
    FZ_CHECK(strlen(up) < sizeof up);
    (void)tb_s3_xml_field(body, size, "ETag", et, sizeof et, NULL);
    (void)tb_s3_xml_field(body, size, "Key", tiny, sizeof tiny, NULL);
    FZ_CHECK(strlen(tiny) < sizeof tiny);

    char code[64], msg[512], c1[1], m1[1];
    tb_http_xml_error(body, size, code, sizeof code, msg, sizeof msg);
    FZ_CHECK(strlen(code) < sizeof code && strlen(msg) < sizeof msg);
    tb_http_xml_error(body, size, c1, sizeof c1, m1, sizeof m1);
    FZ_CHECK(c1[0] == 0 && m1[0] == 0);

    size_t elements = 0;
    (void)tb_xml_parse(body, size, count_cb, &elements, NULL);
    (void)tb_xml_time(body);
    char *esc = tb_xml_escape(body);
    FZ_CHECK(strchr(esc, '<') == NULL && strchr(esc, '>') == NULL);
    free(esc);
    free(body);
    return 0;
}
