/* Unit tests for lib/azkey: Shared Key strings-to-sign derived by hand from the documented algorithm
 * (the reference's canonicalized-resource examples among them), signatures checked against Python's
 * hmac/base64 over the same strings, connection-string and environment parsing. */
#include "tap.h"
#include "azkey.h"
#include <stdlib.h>

#define DATE "x-ms-date: Sun, 22 Nov 2026 23:43:00 GMT"
#define VER "x-ms-version: 2021-08-06"
#define EMPTY11 "\n\n\n\n\n\n\n\n\n\n\n"

static void sts_case(const char *name, const char *verb, const char *const *h, size_t n, const char *acct,
                     const char *path, const char *query, const char *want)
{
    char *got = tb_azkey_string_to_sign(verb, h, n, acct, path, query);
    CHECK_STR(got, want, "string-to-sign: %s", name);
    free(got);
}

static void conn_ok(const char *s, const char *acct, const char *endpoint, size_t keylen)
{
    struct tb_azcred c;
    tb_err e = {0};
    int r = tb_azcred_parse_connstr(s, &c, &e);
    CHECK(r == 0, "connection string parses: %s (%s)", s, r ? e.msg : "ok");
    if (r) return;
    CHECK_STR(c.account, acct, "account of %s", s);
    CHECK_STR(c.endpoint, endpoint, "endpoint of %s", s);
    CHECK_INT(c.keylen, keylen, "key length of %s", s);
}

static void conn_bad(const char *s, const char *why)
{
    struct tb_azcred c;
    tb_err e = {0};
    int r = tb_azcred_parse_connstr(s, &c, &e);
    CHECK(r == TB_EUSAGE && strstr(e.msg, why) && !strstr(e.msg, "c2VjcmV0"), "refused: %s (%s)", s, e.msg);
}

int main(void)
{
    /* Get Container Metadata, the reference's first canonicalized-resource example, with a timeout */
    {
        const char *h[] = {DATE, "x-ms-version: 2009-09-19"};
        sts_case("container metadata, account once (host-style)", "GET", h, 2, "myaccount", "/mycontainer",
                 "restype=container&comp=metadata&timeout=20",
                 "GET\n" EMPTY11 "x-ms-date:Sun, 22 Nov 2026 23:43:00 GMT\nx-ms-version:2009-09-19\n"
                 "/myaccount/mycontainer\ncomp:metadata\nrestype:container\ntimeout:20");
    }
    /* List Blobs with a repeated parameter: values sorted and joined by ',' */
    {
        const char *h[] = {DATE, VER};
        sts_case("repeated query parameter", "GET", h, 2, "myaccount", "/mycontainer",
                 "restype=container&comp=list&include=snapshots&include=metadata&include=uncommittedblobs",
                 "GET\n" EMPTY11 "x-ms-date:Sun, 22 Nov 2026 23:43:00 GMT\nx-ms-version:2021-08-06\n"
                 "/myaccount/mycontainer\ncomp:list\ninclude:metadata,snapshots,uncommittedblobs\nrestype:container");
        char *sts = tb_azkey_string_to_sign("GET", h, 2, "myaccount", "/mycontainer",
                                            "restype=container&comp=list&include=snapshots&include=metadata&include=uncommittedblobs");
        struct tb_azcred c = {0};
        tb_err e = {0};
        CHECK(tb_azcred_set_key(&c, TB_AZ_DEV_KEY, &e) == 0 && c.keylen == 64, "dev key decodes to 64 bytes");
        char sig[64];
        tb_azkey_signature(c.key, c.keylen, sts, sig);
        CHECK_STR(sig, "gd5o5nX+50lsCaXsdE6vpA4CHkKvOA3g+DltwREk2/w=", "signature matches Python hmac (list)");
        free(sts);
    }
    /* Put Blob on a path-style endpoint: the account twice, standard headers in their slots, zero
     * content length empty, x-ms-* sorted and lower-cased whatever their order and case */
    {
        const char *h[] = {"X-MS-Version: 2021-08-06", "Content-Length: 11", "If-None-Match: *",
                           "x-ms-meta-sha256:   abc  ", "x-ms-blob-type: BlockBlob", DATE,
                           "Expect:", "User-Agent: trainbox"};
        const char *want = "PUT\n\n\n11\n\n\n\n\n\n*\n\n\n"
                           "x-ms-blob-type:BlockBlob\nx-ms-date:Sun, 22 Nov 2026 23:43:00 GMT\n"
                           "x-ms-meta-sha256:abc\nx-ms-version:2021-08-06\n"
                           "/devstoreaccount1/devstoreaccount1/cont/dir/a%20b.txt";
        sts_case("put blob, path-style", "PUT", h, 8, "devstoreaccount1", "/devstoreaccount1/cont/dir/a%20b.txt", NULL, want);
        struct tb_azcred c = {0};
        tb_err e = {0};
        strcpy(c.account, "devstoreaccount1");
        tb_azcred_set_key(&c, TB_AZ_DEV_KEY, &e);
        char *auth = tb_azkey_authorization(&c, "PUT", h, 8, "/devstoreaccount1/cont/dir/a%20b.txt", "");
        CHECK_STR(auth, "Authorization: SharedKey devstoreaccount1:3aXRMk2lRN2ktfnlBxyDMpHx5yMSUCNjCwTkyVjzQVg=",
                  "authorization header matches Python hmac (put)");
        free(auth);
        c.keylen = 0;
        CHECK(tb_azkey_authorization(&c, "PUT", h, 8, "/x", "") == NULL, "anonymous credential: no header");
    }
    /* zero length signs as empty, every standard slot in its place, header values unfolded */
    {
        const char *h[] = {"Content-Length: 0", "Content-Encoding: gzip", "Content-Language: en",
                           "Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==", "Content-Type: text/plain",
                           "If-Modified-Since: a", "If-Match: \"e1\"", "If-Unmodified-Since: b",
                           "Range: bytes=0-9", "x-ms-client-request-id:  x \t y   z ", DATE};
        sts_case("all standard headers, zero length", "PUT", h, 11, "a", "/c/b", "comp=block&blockid=QUFB%3D%3D",
                 "PUT\ngzip\nen\n\nQ2hlY2sgSW50ZWdyaXR5IQ==\ntext/plain\n\na\n\"e1\"\n\nb\nbytes=0-9\n"
                 "x-ms-client-request-id:x y z\nx-ms-date:Sun, 22 Nov 2026 23:43:00 GMT\n"
                 "/a/c/b\nblockid:QUFB==\ncomp:block");
    }
    /* query names lower-cased and decoded, values decoded (the listing prefix with '/' and space) */
    {
        const char *h[] = {DATE};
        sts_case("query decoding and case", "GET", h, 1, "acct", "/cont", "restype=container&comp=list&Prefix=a%2Fb%20c&delimiter=%2F&marker=",
                 "GET\n" EMPTY11 "x-ms-date:Sun, 22 Nov 2026 23:43:00 GMT\n"
                 "/acct/cont\ncomp:list\ndelimiter:/\nmarker:\nprefix:a/b c\nrestype:container");
        sts_case("root path", "GET", h, 1, "acct", "", "comp=list",
                 "GET\n" EMPTY11 "x-ms-date:Sun, 22 Nov 2026 23:43:00 GMT\n/acct/\ncomp:list");
    }

    /* service SAS for one blob (checked against Python's hmac over the same string-to-sign) */
    {
        struct tb_azcred c = {0};
        tb_err e = {0};
        strcpy(c.account, "devstoreaccount1");
        tb_azcred_set_key(&c, TB_AZ_DEV_KEY, &e);
        char *q = tb_az_sas_blob(&c, "cont", "dir/a b.txt", "r", 1795394600);
        CHECK_STR(q, "sv=2020-02-10&se=2026-11-23T00%3A43%3A20Z&sr=b&sp=r&sig=pnmj1O%2B4WW710ZsT4FMADqimMOQm1GDmYOjIBfinVpk%3D",
                  "blob SAS query");
        free(q);
        c.keylen = 0;
        CHECK(tb_az_sas_blob(&c, "cont", "x", "r", 0) == NULL, "no SAS without a key");
    }

    /* encoding of blob names: unreserved kept, '/' kept for paths, everything else %XX */
    {
        char *s = tb_az_encode("dir/a b+c?d#e%f~g_h.i-ü", 1);
        CHECK_STR(s, "dir/a%20b%2Bc%3Fd%23e%25f~g_h.i-%C3%BC", "path encoding");
        free(s);
        s = tb_az_encode("a/b", 0);
        CHECK_STR(s, "a%2Fb", "query value encoding encodes '/'");
        free(s);
    }
    {
        char d[32];
        tb_az_http_date(1795391000, d);
        CHECK_STR(d, "Sun, 22 Nov 2026 23:43:20 GMT", "RFC 1123 date");
        tb_az_http_date(0, d);
        CHECK_STR(d, "Thu, 01 Jan 1970 00:00:00 GMT", "epoch date");
    }
    {
        struct tb_azcred c;
        memset(&c, 0, sizeof c);
        tb_err e = {0};
        CHECK(tb_azcred_set_key(&c, "Q!==", &e) == TB_EUSAGE && c.keylen == 0, "a key that is not base64 is refused");
        char big[200];
        memset(big, 'A', 196);
        big[196] = 0;
        CHECK(tb_azcred_set_key(&c, big, &e) == TB_EUSAGE, "a key longer than 128 bytes is refused");
        CHECK(tb_azcred_set_key(&c, "QUE=", &e) == 0 && c.keylen == 2, "a short key decodes");
    }

    /* connection strings */
    conn_ok("UseDevelopmentStorage=true", "devstoreaccount1", "http://127.0.0.1:10000/devstoreaccount1", 64);
    conn_ok("UseDevelopmentStorage=true;DevelopmentStorageProxyUri=http://10.0.0.1/", "devstoreaccount1",
            "http://10.0.0.1:10000/devstoreaccount1", 64);
    conn_ok("DefaultEndpointsProtocol=https;AccountName=myacct;AccountKey=c2VjcmV0;EndpointSuffix=core.windows.net",
            "myacct", "https://myacct.blob.core.windows.net", 6);
    conn_ok("accountname=myacct;accountkey=c2VjcmV0", "myacct", "https://myacct.blob.core.windows.net", 6);
    conn_ok("DefaultEndpointsProtocol=http;AccountName=x1;AccountKey=c2VjcmV0;EndpointSuffix=core.chinacloudapi.cn;",
            "x1", "http://x1.blob.core.chinacloudapi.cn", 6);
    conn_ok("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" TB_AZ_DEV_KEY
            ";BlobEndpoint=http://127.0.0.1:41234/devstoreaccount1/;QueueEndpoint=http://127.0.0.1:1/x;",
            "devstoreaccount1", "http://127.0.0.1:41234/devstoreaccount1", 64);
    conn_ok(" AccountName=pub ; BlobEndpoint=https://cdn.example/ ", "pub", "https://cdn.example", 0);
    conn_bad("AccountKey=c2VjcmV0", "no AccountName");
    conn_bad("AccountName=a;AccountKey=not*base64", "not valid base64");
    conn_bad("AccountName=a;garbage;AccountKey=c2VjcmV0", "has no '='");
    conn_bad("AccountName=a;SharedAccessSignature=sv=2020&sig=x", "not supported");
    conn_bad("DefaultEndpointsProtocol=ftp;AccountName=a", "http or https");
    conn_bad("AccountName=a;BlobEndpoint=ftp://x", "http(s) URL");

    /* environment */
    {
        struct tb_azcred c;
        tb_err e = {0};
        unsetenv("AZURE_STORAGE_CONNECTION_STRING");
        unsetenv("AZURE_STORAGE_BLOB_ENDPOINT");
        setenv("AZURE_STORAGE_ACCOUNT", "envacct", 1);
        setenv("AZURE_STORAGE_KEY", "c2VjcmV0", 1);
        CHECK(tb_azcred_from_env("envacct", &c, &e) == 0 && strcmp(c.account, "envacct") == 0 && c.keylen == 6 &&
                  strcmp(c.endpoint, "https://envacct.blob.core.windows.net") == 0, "account + key from env");
        CHECK(tb_azcred_from_env("other", &c, &e) == TB_ENOPERM && strstr(e.msg, "other") && !strstr(e.msg, "c2VjcmV0"),
              "URI account differing from the credentials refused (%s)", e.msg);
        unsetenv("AZURE_STORAGE_ACCOUNT");
        CHECK(tb_azcred_from_env("uriacct", &c, &e) == 0 && strcmp(c.account, "uriacct") == 0 && c.keylen == 6,
              "key alone: account from the URI");
        unsetenv("AZURE_STORAGE_KEY");
        CHECK(tb_azcred_from_env("pubacct", &c, &e) == 0 && c.keylen == 0, "no key: anonymous");
        CHECK(tb_azcred_from_env(NULL, &c, &e) == TB_EUSAGE, "no account anywhere: usage error");
        setenv("AZURE_STORAGE_CONNECTION_STRING", "UseDevelopmentStorage=true", 1);
        CHECK(tb_azcred_from_env("devstoreaccount1", &c, &e) == 0 && c.keylen == 64, "connection string wins");
        setenv("AZURE_STORAGE_CONNECTION_STRING", "AccountName=a;AccountKey=!!!!", 1);
        CHECK(tb_azcred_from_env("a", &c, &e) == TB_EUSAGE, "bad connection string in env: usage error (%s)", e.msg);
        unsetenv("AZURE_STORAGE_CONNECTION_STRING");
    }
    return tap_done();
}
