/* The S3 backend's reads through the synchronous API, for tests/upload.bats (no command reads
 * objects yet): with TB_TEST_S3_URI=s3://bucket/key (and the usual endpoint/credentials variables)
 * it GETs the object through a callback and prints "SIZE SHA256", then a range. Without it (as a plain
 * unit test) it checks what needs no server: opening stores, URIs and missing-credential errors. */
#include "hash.h"
#include "store.h"
#include "tap.h"
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct acc { EVP_MD_CTX *sha; uint64_t n; };

static size_t sink(void *ud, const void *p, size_t n)
{
    struct acc *a = ud;
    EVP_DigestUpdate(a->sha, p, n);
    a->n += n;
    return n;
}

static int fetch(const char *uri_s)
{
    struct tb_uri u;
    tb_err e = {0};
    if (tb_uri_parse(uri_s, &u, &e)) { fprintf(stderr, "%s\n", e.msg); return 64; }
    struct tb_store_cfg cfg;
    tb_store_cfg_defaults(&cfg);
    cfg.http.max_attempts = 20;
    cfg.http.base_ms = 10;
    struct tb_store *s;
    if (tb_store_open(&s, &u, &cfg, &e)) { fprintf(stderr, "%s\n", e.msg); return e.code; }
    struct acc a = {EVP_MD_CTX_new(), 0};
    EVP_DigestInit_ex(a.sha, EVP_sha256(), NULL);
    int rc = tb_store_get_cb(s, u.key, 0, 0, sink, &a, &e);
    if (!rc) {
        unsigned char d[32];
        unsigned int dl = 32;
        char hex[65];
        EVP_DigestFinal_ex(a.sha, d, &dl);
        tb_hex(d, 32, hex);
        printf("%llu %s\n", (unsigned long long)a.n, hex);
        /* a range: bytes 1000..1999 */
        char *data = NULL;
        struct tb_store_req r = {0};
        r.op = TB_OP_GET;
        r.key = u.key;
        r.range_off = 1000;
        r.range_len = 1000;
        rc = tb_store_run(s, &r, &e);
        if (!rc) {
            data = r.data;
            tb_sha256_hex(data, r.data_len, hex);
            printf("%zu %s\n", r.data_len, hex);
        }
        tb_store_req_clear(&r);
    }
    if (rc) fprintf(stderr, "%s\n", e.msg);
    EVP_MD_CTX_free(a.sha);
    tb_store_close(s);
    tb_uri_free(&u);
    return rc;
}

int main(void)
{
    const char *uri = getenv("TB_TEST_S3_URI");
    if (uri) return fetch(uri);
    /* no server: store opening and naming only */
    setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "secret", 1);
    unsetenv("AWS_ENDPOINT_URL");
    unsetenv("TRAINBOX_S3_ENDPOINT");
    unsetenv("AWS_ENDPOINT_URL_S3");
    struct tb_uri u;
    tb_err e = {0};
    tb_uri_parse("s3://bkt/some/key with space", &u, &e);
    struct tb_store *s;
    CHECK_INT(tb_store_open(&s, &u, NULL, &e), 0, "open s3://bkt");
    char *x = tb_store_uri(s, "a/b c.tar");
    CHECK_STR(x, "s3://bkt/a/b c.tar", "object URIs keep keys literal");
    free(x);
    tb_store_close(s);
    tb_uri_free(&u);
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null", 1);
    unsetenv("AWS_PROFILE");
    tb_uri_parse("s3://bkt/k", &u, &e);
    CHECK_INT(tb_store_open(&s, &u, NULL, &e), TB_ENOPERM, "no credentials: 77 (%s)", e.msg);
    tb_uri_free(&u);
    tb_uri_parse("r2://bkt/k", &u, &e);
    setenv("R2_ACCESS_KEY_ID", "k", 1);
    setenv("R2_SECRET_ACCESS_KEY", "s", 1);
    unsetenv("R2_ACCOUNT_ID");
    CHECK_INT(tb_store_open(&s, &u, NULL, &e), TB_EUSAGE, "r2:// without R2_ACCOUNT_ID: 64 (%s)", e.msg);
    tb_uri_free(&u);
    return tap_done();
}
