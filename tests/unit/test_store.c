/* Unit tests for the store layer's pure parts: XML helpers, error classes, backoff bounds, the
 * credential chain, opening S3 stores without a server, and the file backend through the
 * synchronous API (mtime metadata, server-side copy). */
#include "creds.h"
#include "http.h"
#include "mtime.h"
#include "store.h"
#include "tap.h"
#include "testutil.h"
#include "xml.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct acc { char keys[8][64]; int n; char token[64]; int truncated; };

static int on_el(void *ud, const char *path, const char *text, size_t len)
{
    struct acc *a = ud;
    (void)len;
    if (strcmp(path, "ListBucketResult/Contents/Key") == 0 && a->n < 8) snprintf(a->keys[a->n++], 64, "%s", text);
    if (strcmp(path, "ListBucketResult/NextContinuationToken") == 0) snprintf(a->token, 64, "%s", text);
    if (strcmp(path, "ListBucketResult/IsTruncated") == 0) a->truncated = strcmp(text, "true") == 0;
    return 0;
}

static void test_xml(void)
{
    const char *doc = "<?xml version=\"1.0\"?><ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                      "<IsTruncated>true</IsTruncated><Contents><Key>a &amp; b.tar</Key><Size>3</Size></Contents>"
                      "<Contents><Key>dir/\xc3\xa9.tar</Key></Contents><NextContinuationToken>tok/+=</NextContinuationToken>"
                      "</ListBucketResult>";
    struct acc a = {0};
    tb_err e = {0};
    CHECK_INT(tb_xml_parse(doc, strlen(doc), on_el, &a, &e), 0, "list document parses");
    CHECK_INT(a.n, 2, "two keys");
    CHECK_STR(a.keys[0], "a & b.tar", "entities decoded");
    CHECK_STR(a.keys[1], "dir/\xc3\xa9.tar", "UTF-8 kept");
    CHECK_STR(a.token, "tok/+=", "continuation token");
    CHECK(a.truncated, "IsTruncated");
    CHECK_INT(tb_xml_parse("<a><b></a>", 10, on_el, &a, &e), TB_EDATA, "malformed XML is TB_EDATA: %s", e.msg);
    char *esc = tb_xml_escape("<a&'\">");
    CHECK_STR(esc, "&lt;a&amp;&apos;&quot;&gt;", "escape");
    free(esc);
    char code[64], msg[128];
    const char *err = "<Error><Code>SlowDown</Code><Message>Please reduce\nyour rate</Message></Error>";
    tb_http_xml_error(err, strlen(err), code, sizeof code, msg, sizeof msg);
    CHECK_STR(code, "SlowDown", "error code");
    CHECK_STR(msg, "Please reduce your rate", "error message on one line");
}

static enum tb_http_class classify(long status, const char *body)
{
    struct tb_http_req r;
    memset(&r, 0, sizeof r);
    r.status = status;
    r.resp = (char *)body;
    r.resp_len = body ? strlen(body) : 0;
    return tb_http_classify_default(&r, NULL);
}

static void test_classes(void)
{
    CHECK_INT(classify(200, NULL), TB_HTTP_OK, "200 ok");
    CHECK_INT(classify(503, NULL), TB_HTTP_RETRY, "503 retried");
    CHECK_INT(classify(429, NULL), TB_HTTP_RETRY, "429 retried");
    CHECK_INT(classify(500, NULL), TB_HTTP_RETRY, "500 retried");
    CHECK_INT(classify(400, "<Error><Code>RequestTimeout</Code></Error>"), TB_HTTP_RETRY, "400 RequestTimeout retried");
    CHECK_INT(classify(403, "<Error><Code>SignatureDoesNotMatch</Code></Error>"), TB_HTTP_AUTH, "signature errors are AUTH");
    CHECK_INT(classify(400, "<Error><Code>InvalidAccessKeyId</Code></Error>"), TB_HTTP_AUTH, "bad key id is AUTH");
    CHECK_INT(classify(403, NULL), TB_HTTP_AUTH, "bare 403 is AUTH");
    CHECK_INT(classify(404, NULL), TB_HTTP_NOTFOUND, "404");
    CHECK_INT(classify(412, NULL), TB_HTTP_PRECOND, "412");
    CHECK_INT(classify(400, "<Error><Code>InvalidArgument</Code></Error>"), TB_HTTP_CLIENT, "other 400");
    CHECK_INT(tb_http_class_exit(TB_HTTP_AUTH), 77, "AUTH exits 77");
    CHECK_INT(tb_http_class_exit(TB_HTTP_RETRY), 69, "exhausted retries exit 69");
}

static void test_backoff(void)
{
    uint64_t rng = 42;
    int ok = 1, spread = 0;
    for (int attempt = 1; attempt <= 12; attempt++) {
        long ceil = 200L << (attempt - 1);
        if (ceil > 20000) ceil = 20000;
        long lo = ceil, hi = 0;
        for (int i = 0; i < 200; i++) {
            long d = tb_backoff_ms(attempt, 200, 20000, &rng);
            if (d < 0 || d > ceil) ok = 0;
            if (d < lo) lo = d;
            if (d > hi) hi = d;
        }
        if (hi - lo > ceil / 2) spread++;
    }
    CHECK(ok, "full jitter stays within [0, min(cap, base*2^n)]");
    CHECK_INT(spread, 12, "delays are spread (jittered) at every attempt");
}

/* One step of the credential chain: set env's NAME=VALUE pairs, load for scheme, compare what is
 * wanted (a NULL token or region is not compared). */
struct creds_step {
    const char *env[3][2];
    enum tb_scheme scheme;
    const char *key, *token, *region, *what;
};

static void test_creds(void)
{
    char dir[] = "/tmp/tb-creds-XXXXXX";
    struct tu_aws_files af;
    CHECK(tu_aws_files_make(dir,
                            "[default]\naws_access_key_id = DEFKEY\naws_secret_access_key = defsecret\n\n"
                            "[p2]\naws_access_key_id=P2KEY\naws_secret_access_key=p2secret\naws_session_token = tok2\n",
                            "[profile p2]\nregion = eu-west-3\n", &af),
          "temp dir");
    static const char *const unset[] = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION",
                                        "AWS_DEFAULT_REGION", "R2_ACCESS_KEY_ID", "R2_SECRET_ACCESS_KEY", NULL};
    tu_unsetenv(unset);
    /* in order: each step keeps what the ones before it set */
    static const struct creds_step steps[] = {
        {{{"AWS_PROFILE", "p2"}}, TB_URI_S3, "P2KEY", "tok2", "eu-west-3", "profile p2 (key, session token, region from [profile p2])"},
        {{{"AWS_ACCESS_KEY_ID", "ENVKEY"}, {"AWS_SECRET_ACCESS_KEY", "envsecret"}, {"AWS_SESSION_TOKEN", "envtok"}},
         TB_URI_S3, "ENVKEY", "envtok", NULL, "environment keys win over AWS_PROFILE (as botocore), AWS_SESSION_TOKEN"},
        {{{"R2_ACCESS_KEY_ID", "R2KEY"}, {"R2_SECRET_ACCESS_KEY", "r2secret"}}, TB_URI_R2, "R2KEY", NULL, "auto",
         "R2_* for r2://, region auto"},
    };
    struct tb_creds c;
    tb_err e = {0};
    for (size_t i = 0; i < sizeof steps / sizeof *steps; i++) {
        const struct creds_step *st = &steps[i];
        for (int k = 0; k < 3 && st->env[k][0]; k++) setenv(st->env[k][0], st->env[k][1], 1);
        CHECK_INT(tb_creds_load(st->scheme, &c, &e), 0, "%s: loads", st->what);
        CHECK_STR(c.access_key, st->key, "%s: key", st->what);
        if (st->token) CHECK_STR(c.token, st->token, "%s: token", st->what);
        if (st->region) CHECK_STR(c.region, st->region, "%s: region", st->what);
        tb_creds_free(&c);
    }
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    setenv("AWS_PROFILE", "nope", 1);
    CHECK_INT(tb_creds_load(TB_URI_S3, &c, &e), TB_ENOPERM, "unknown profile: 77 (%s)", e.msg);
    unsetenv("AWS_PROFILE");
    tu_aws_files_remove(dir, &af);
}

static int count_cb(void *ud, const struct tb_obj_info *info, int is_prefix)
{
    int *n = ud;
    (void)info;
    if (!is_prefix) (*n)++;
    return 0;
}

static int first_mtime(void *ud, const struct tb_obj_info *info, int is_prefix)
{
    char **found = ud;
    if (!is_prefix && !*found) *found = strdup(info->meta_mtime);
    return 0;
}

static void test_file_store(void)
{
    char dir[] = "/tmp/tb-store-XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "temp dir");
    tb_err e = {0};
    struct tb_store *s = tu_dir_store(dir, &e);
    CHECK(s != NULL, "open a directory store");
    char key[256];
    snprintf(key, sizeof key, "%s/sub/a.txt", dir);
    CHECK_INT(tb_store_put_mem(s, key, "hello", 5, NULL, &e), 0, "put (creates parent dirs)");
    struct tb_obj_info info;
    CHECK_INT(tb_store_head(s, key, &info, &e), 0, "head");
    CHECK(info.exists && info.size == 5, "head sees 5 bytes");
    char *data;
    size_t len;
    CHECK_INT(tb_store_get_mem(s, key, &data, &len, &e), 0, "get");
    CHECK(len == 5 && memcmp(data, "hello", 5) == 0, "get returns the bytes");
    free(data);
    int n = 0;
    char prefix[256];
    snprintf(prefix, sizeof prefix, "%s/", dir);
    CHECK_INT(tb_store_list_all(s, prefix, NULL, count_cb, &n, &e), 0, "list");
    CHECK_INT(n, 1, "one object listed");
    CHECK_INT(tb_store_delete(s, key, &e), 0, "delete");
    CHECK_INT(tb_store_head(s, key, &info, &e), 0, "head after delete");
    CHECK(!info.exists, "gone");
    CHECK_INT(tb_store_delete(s, key, &e), 0, "deleting a missing object is not an error");
    char *url = NULL;
    CHECK_INT(tb_store_presign(s, key, "GET", 60, &url, &e), TB_EUSAGE, "file stores cannot presign");
    tb_store_close(s);
    snprintf(key, sizeof key, "rm -rf '%s'", dir);
    CHECK_INT(system(key), 0, "cleanup");
}

/* S3 timestamps: against timegm over random instants, and malformed text gives 0 */
static void test_xml_time(void)
{
    uint64_t x = 88172645463325252ull;
    int agree = 1;
    for (int i = 0; i < 100000 && agree; i++) {
        tu_xorshift(&x);
        time_t t = (time_t)(x % 8000000000ull) - 1000000000; /* 1938 .. 2223 */
        struct tm tm;
        gmtime_r(&t, &tm);
        char buf[40];
        strftime(buf, sizeof buf, i % 2 ? "%Y-%m-%dT%H:%M:%S.000Z" : "%Y-%m-%dT%H:%M:%SZ", &tm);
        if (tb_xml_time(buf) != (long long)t) { agree = 0; printf("# %s -> %lld, want %lld\n", buf, tb_xml_time(buf), (long long)t); }
    }
    CHECK(agree, "S3 timestamps agree with gmtime over 100,000 random instants");
    CHECK(tb_xml_time("2024-02-29T23:59:59Z") == 1709251199LL, "a leap day");
    CHECK(tb_xml_time("1970-01-01T00:00:00.000Z") == 0, "the epoch");
    const char *bad[] = {"", "2024-13-01T00:00:00Z", "2024-01-01 00:00:00Z", "2024-1-01T00:00:00Z", "yesterday", "2024-01-01T24:00:00Z", NULL};
    for (int i = 0; bad[i]; i++) CHECK(tb_xml_time(bad[i]) == 0, "malformed timestamp '%s' gives 0", bad[i]);
}

/* CREATE_ROOT on a directory store: mkdir -p, again is fine, a file in the way is an error; public
 * read is answered "not supported" by the capabilities and refused before anything is made */
static void test_create_root(void)
{
    char dir[] = "/tmp/tb-root-XXXXXX", root[300];
    CHECK(mkdtemp(dir) != NULL, "temp dir");
    snprintf(root, sizeof root, "%s/a/b/c/", dir);
    tb_err e = {0};
    struct tb_store *s = tu_dir_store(root, &e);
    CHECK(s != NULL, "open a store on a directory that does not exist yet");
    struct tb_store_caps caps;
    tb_store_caps(s, &caps);
    CHECK(caps.create_root && !caps.public_root && !caps.presign, "file caps: create, no public root, no presign");
    CHECK_INT(tb_store_create_root(s, 1, &e), TB_EUSAGE, "public read is a usage error: %s", e.msg);
    CHECK(strstr(e.msg, "not supported") != NULL, "...saying it is not supported");
    struct stat st;
    CHECK(stat(root, &st) != 0, "and nothing was created");
    CHECK_INT(tb_store_create_root(s, 0, &e), 0, "create makes the directory and its parents");
    CHECK(stat(root, &st) == 0 && S_ISDIR(st.st_mode), "it is a directory");
    CHECK_INT(tb_store_create_root(s, 0, &e), 0, "creating it again is not an error");
    tb_store_close(s);
    snprintf(root, sizeof root, "%s/file", dir);
    FILE *f = fopen(root, "w");
    if (f) fclose(f);
    s = tu_dir_store(root, &e);
    CHECK(s != NULL, "open a store on a file's path");
    CHECK(tb_store_create_root(s, 0, &e) != 0, "a file in the way is an error: %s", e.msg);
    tb_store_close(s);
    snprintf(root, sizeof root, "rm -rf '%s'", dir);
    CHECK_INT(system(root), 0, "cleanup");
}

/* mtime metadata on a directory store: a write with meta_mtime sets the file's mtime, HEAD and
 * LIST report st_mtim in rclone's form; a multipart upload takes MP_CREATE's value */
static void test_file_mtime(void)
{
    char dir[] = "/tmp/tb-mtime-XXXXXX", key[300];
    CHECK(mkdtemp(dir) != NULL, "temp dir");
    tb_err e = {0};
    struct tb_store *s = tu_dir_store(dir, &e);
    snprintf(key, sizeof key, "%s/m/a.bin", dir);
    struct tb_store_req r = {0};
    r.op = TB_OP_PUT;
    r.key = key;
    r.body = (struct tb_body){-1, "abc", 0, 3};
    r.meta_mtime = "1735776000.25";
    CHECK_INT(tb_store_run(s, &r, &e), 0, "PUT with meta_mtime");
    CHECK_STR(r.info.meta_mtime, "1735776000.25", "PUT reports what it stored");
    tb_store_req_clear(&r);
    struct stat st;
    stat(key, &st);
    CHECK(st.st_mtim.tv_sec == 1735776000 && st.st_mtim.tv_nsec == 250000000, "the file's mtime is set");
    struct tb_obj_info info;
    tb_store_head(s, key, &info, &e);
    CHECK_STR(info.meta_mtime, "1735776000.25", "HEAD reports st_mtim in rclone's form");
    struct timespec ts[2] = {{0, UTIME_OMIT}, {1700000000, 0}};
    utimensat(AT_FDCWD, key, ts, 0);
    tb_store_head(s, key, &info, &e);
    CHECK_STR(info.meta_mtime, "1700000000", "a whole second has no fraction");
    char *found = NULL;
    char prefix[300];
    snprintf(prefix, sizeof prefix, "%s/m/", dir);
    CHECK_INT(tb_store_list_all(s, prefix, NULL, first_mtime, &found, &e), 0, "list");
    CHECK_STR(found, "1700000000", "LIST reports it too");
    free(found);
    memset(&r, 0, sizeof r);
    r.op = TB_OP_PUT;
    r.key = key;
    r.body = (struct tb_body){-1, "abc", 0, 3};
    r.meta_mtime = "yesterday";
    CHECK_INT(tb_store_run(s, &r, &e), TB_EUSAGE, "a meta_mtime that is not one is refused: %s", e.msg);
    tb_store_req_clear(&r);
    /* multipart: MP_CREATE's value, applied when the upload completes */
    snprintf(key, sizeof key, "%s/m/mp.bin", dir);
    struct tb_store_req c = {0}, p = {0}, done = {0};
    c.op = TB_OP_MP_CREATE;
    c.key = key;
    c.meta_mtime = "1600000000.5";
    CHECK_INT(tb_store_run(s, &c, &e), 0, "MP_CREATE with meta_mtime");
    p.op = TB_OP_MP_PART;
    p.key = key;
    p.upload_id = c.upload_id_out;
    p.part_num = 1;
    p.body = (struct tb_body){-1, "hello", 0, 5};
    CHECK_INT(tb_store_run(s, &p, &e), 0, "MP_PART");
    struct tb_store_part part = {1, "", ""};
    snprintf(part.etag, sizeof part.etag, "%s", p.part_etag);
    done.op = TB_OP_MP_COMPLETE;
    done.key = key;
    done.upload_id = c.upload_id_out;
    done.parts = &part;
    done.nparts = 1;
    CHECK_INT(tb_store_run(s, &done, &e), 0, "MP_COMPLETE");
    CHECK_STR(done.info.meta_mtime, "1600000000.5", "the completed file has MP_CREATE's mtime");
    tb_store_req_clear(&c);
    tb_store_req_clear(&p);
    tb_store_req_clear(&done);
    tb_store_close(s);
    snprintf(key, sizeof key, "rm -rf '%s'", dir);
    CHECK_INT(system(key), 0, "cleanup");
}

/* TB_OP_COPY on a directory store: bytes, sha256 and mtime kept; new ones replace them; a
 * missing source is 66 and leaves nothing behind */
static void test_file_copy(void)
{
    char dir[] = "/tmp/tb-copy-XXXXXX", src[300], dst[300], cmd[400];
    CHECK(mkdtemp(dir) != NULL, "temp dir");
    tb_err e = {0};
    struct tb_store *s = tu_dir_store(dir, &e);
    CHECK(s->be->copy_max == ~0ull, "file stores copy any size");
    snprintf(src, sizeof src, "%s/a.bin", dir);
    snprintf(dst, sizeof dst, "%s/deep/er/b.bin", dir);
    const char *sha = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"; /* sha256("abc") */
    struct tb_store_req r = {0};
    r.op = TB_OP_PUT;
    r.key = src;
    r.body = (struct tb_body){-1, "abc", 0, 3};
    r.sha256 = sha;
    r.meta_mtime = "1735776000.5";
    tb_store_run(s, &r, &e);
    tb_store_req_clear(&r);
    memset(&r, 0, sizeof r);
    r.op = TB_OP_COPY;
    r.key = dst;
    r.copy_src = src;
    CHECK_INT(tb_store_run(s, &r, &e), 0, "COPY (creates parent dirs)");
    CHECK(r.info.exists && r.info.size == 3, "COPY reports the object");
    tb_store_req_clear(&r);
    char *data = NULL;
    size_t len = 0;
    CHECK(tb_store_get_mem(s, dst, &data, &len, &e) == 0 && len == 3 && !memcmp(data, "abc", 3), "the bytes are copied");
    free(data);
    struct tb_obj_info info;
    tb_store_head(s, dst, &info, &e);
    CHECK_STR(info.meta_mtime, "1735776000.5", "the source's mtime is kept");
    int xattrs = info.sha256[0] != 0; /* tmpfs without user xattrs keeps no sha256 */
    if (xattrs) CHECK_STR(info.sha256, sha, "the source's sha256 is kept");
    memset(&r, 0, sizeof r);
    r.op = TB_OP_COPY;
    r.key = dst;
    r.copy_src = src;
    r.meta_mtime = "1000000000";
    CHECK_INT(tb_store_run(s, &r, &e), 0, "COPY over an existing object with a new mtime");
    tb_store_req_clear(&r);
    tb_store_head(s, dst, &info, &e);
    CHECK_STR(info.meta_mtime, "1000000000", "the new mtime replaces the source's");
    tb_store_head(s, src, &info, &e);
    CHECK_STR(info.meta_mtime, "1735776000.5", "the source is untouched");
    memset(&r, 0, sizeof r);
    snprintf(src, sizeof src, "%s/missing", dir);
    snprintf(dst, sizeof dst, "%s/c.bin", dir);
    r.op = TB_OP_COPY;
    r.key = dst;
    r.copy_src = src;
    CHECK_INT(tb_store_run(s, &r, &e), TB_ENOINPUT, "a missing source is 66: %s", e.msg);
    tb_store_req_clear(&r);
    tb_store_head(s, dst, &info, &e);
    CHECK(!info.exists, "and nothing is written");
    snprintf(cmd, sizeof cmd, "ls -A '%s' | grep -q tmp", dir);
    CHECK(system(cmd) != 0, "no temp is left behind");
    tb_store_close(s);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK_INT(system(cmd), 0, "cleanup");
}

/* What needs no server: opening S3 stores, their URIs, missing credentials; COPY's caps */
static void test_s3_open(void)
{
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
    CHECK(s->be->copy_max == 5ull << 30, "S3 copies up to 5 GiB (CopyObject)");
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
}

int main(void)
{
    test_xml_time();
    test_xml();
    test_classes();
    test_backoff();
    test_creds();
    test_file_store();
    test_create_root();
    test_file_mtime();
    test_file_copy();
    test_s3_open();
    return tap_done();
}
