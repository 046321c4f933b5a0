/* Unit tests for lib/xfer (the transfer engine) and lib/hash's one-pass tb_digests. The store is a
 * file store in a temp directory whose backend table is wrapped by a fake that fails on command: the
 * Nth request of an op answers an error, a 412, a wrong sha256 or a missing object, and the wrapper
 * checks what the engine sends (each part's SHA-256 and Content-MD5, which it claims to want). */
#include "hash.h"
#include "store.h"
#include "tap.h"
#include "xfer.h"
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { NOPS = TB_OP_COPY + 1 }; /* TB_OP_COPY is the last op */
enum fault_kind { F_NONE, F_ERROR, F_PRECOND, F_WRONG_SHA, F_MISSING, F_HEAD_SHA };

/* The fake's state: per-op request counts, one armed fault, and what it checked. */
static struct {
    const struct tb_store_backend *real;
    struct tb_store_backend be;
    int count[NOPS];
    int op, nth;               /* the fault fires at the nth request of op */
    enum fault_kind kind;
    int code;                  /* F_ERROR's exit code */
    char sha[65];              /* F_HEAD_SHA: every HEAD answers this sha256 metadata */
    int bad_part_digest;       /* a part went out with a body_sha256/content_md5 not its bytes' */
    int put_etag;              /* PUT and complete answer an ETag, as S3 does */
    int parts_checked;
} F;

static void reset_fault(void)
{
    memset(F.count, 0, sizeof F.count);
    F.kind = F_NONE;
    F.sha[0] = 0;
    F.bad_part_digest = F.parts_checked = 0;
}

static void arm(int op, int nth, enum fault_kind kind, int code)
{
    reset_fault();
    F.op = op, F.nth = nth, F.kind = kind, F.code = code;
}

static void part_digests(const struct tb_body *b, char sha[65], char md5[25])
{
    unsigned char *buf = malloc(b->len ? b->len : 1), d[32];
    unsigned int n = 0;
    if (pread(b->fd, buf, b->len, (off_t)b->off) != (ssize_t)b->len) memset(buf, 0, b->len);
    tb_sha256_hex(buf, b->len, sha);
    EVP_Digest(buf, b->len, d, &n, EVP_md5(), NULL);
    EVP_EncodeBlock((unsigned char *)md5, d, (int)n);
    free(buf);
}

static int fake_prepare(struct tb_store *s, struct tb_store_req *r, struct tb_http_req *h, tb_err *e)
{
    int nth = ++F.count[r->op];
    if (r->op == TB_OP_MP_PART) {
        char sha[65], md5[25];
        part_digests(&r->body, sha, md5);
        F.parts_checked++;
        if (!r->body_sha256 || strcmp(r->body_sha256, sha) || !r->content_md5 || strcmp(r->content_md5, md5)) F.bad_part_digest++;
    }
    int fire = F.kind != F_NONE && (int)r->op == F.op && nth == F.nth;
    if (fire && F.kind == F_ERROR) return tb_fail(e, F.code, "injected failure of %s", tb_store_op_name(r->op));
    if (fire && F.kind == F_MISSING) { r->info.exists = 0; return TB_STORE_LOCAL; }
    int rc = F.real->prepare(s, r, h, e);
    if (rc != TB_STORE_LOCAL) return rc;
    if (r->op == TB_OP_HEAD && r->info.exists && F.sha[0]) snprintf(r->info.sha256, sizeof r->info.sha256, "%s", F.sha);
    if (F.put_etag && (r->op == TB_OP_PUT || r->op == TB_OP_MP_COMPLETE)) snprintf(r->info.etag, sizeof r->info.etag, "e-%d", nth);
    if (fire && F.kind == F_WRONG_SHA) memset(r->info.sha256, 'f', 64), r->info.sha256[64] = 0;
    if (fire && F.kind == F_PRECOND) { /* the request landed, yet its answer was lost: a retry saw 412 */
        r->precond_failed = 1;
        return tb_fail(e, TB_EDATA, "HTTP 412 PreconditionFailed (injected)");
    }
    return rc;
}

static char dir[64];

static char *path_of(const char *name)
{
    static char p[8][256];
    static int i;
    i = (i + 1) % 8;
    snprintf(p[i], sizeof p[i], "%s/%s", dir, name);
    return p[i];
}

static void write_file(const char *path, size_t n, unsigned seed)
{
    FILE *f = fopen(path, "wb");
    for (size_t i = 0; i < n; i++) fputc((int)((i * 2654435761u + seed) >> 13 & 0xff), f);
    fclose(f);
}

static int same_file(const char *a, const char *b)
{
    char *da = NULL, *db = NULL;
    size_t na = 0, nb = 0;
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int same = 0;
    if (fa && fb) {
        da = malloc(64 << 20), db = malloc(64 << 20);
        na = fread(da, 1, 64 << 20, fa);
        nb = fread(db, 1, 64 << 20, fb);
        same = na == nb && memcmp(da, db, na) == 0;
    }
    if (fa) fclose(fa);
    if (fb) fclose(fb);
    free(da);
    free(db);
    return same;
}

static int exists(const char *p) { return access(p, F_OK) == 0; }

/* Does any name in dir contain needle (a temp or multipart leftover)? */
static int leftover(const char *needle)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "find %s | grep -q -- '%s'", dir, needle);
    return system(cmd) == 0;
}

struct run { int done, last_status, interrupt_after_parts; };

static void on_done(void *ud, struct tb_xfer_job *j)
{
    struct run *r = ud;
    r->done++;
    r->last_status = j->status;
}

static struct tb_xfer *open_x(struct tb_store *s, struct run *rr, int jobs)
{
    struct tb_xfer_cfg c;
    tb_xfer_cfg_defaults(&c);
    c.jobs = jobs;
    c.part_size = 1 << 20;
    c.threshold = 1 << 20;
    c.done = on_done;
    c.ud = rr;
    c.quiet = 1;
    struct tb_xfer *x;
    tb_xfer_open(&x, s, &c);
    return x;
}

static void drive(struct tb_xfer *x, struct run *rr)
{
    int sent = 0;
    while (tb_xfer_step(x, 10) > 0) {
        if (rr->interrupt_after_parts && !sent && F.count[TB_OP_MP_PART] >= rr->interrupt_after_parts) {
            tb_xfer_interrupt(x, 2);
            sent = 1;
        }
    }
}

/* One job through a fresh engine. */
static void run1(struct tb_store *s, struct tb_xfer_job *j, int interrupt_after_parts)
{
    struct run rr = {0, -1, interrupt_after_parts};
    struct tb_xfer *x = open_x(s, &rr, 4);
    tb_xfer_add(x, j);
    drive(x, &rr);
    CHECK_INT(rr.done, 1, "  one done callback (status %d)", j->status);
    tb_xfer_close(x);
}

static struct tb_xfer_job up_job(const char *src, const char *key)
{
    struct tb_xfer_job j = {0};
    j.kind = TB_XFER_UPLOAD;
    j.path = src;
    j.key = key;
    j.fd = -1;
    j.want_bytes = -1;
    return j;
}

static void test_digests(void)
{
    size_t n = 3 * 1000 * 1000 + 17;
    unsigned char *buf = malloc(n);
    for (size_t i = 0; i < n; i++) buf[i] = (unsigned char)(i * 7 + (i >> 9));
    uint64_t ps = 1 << 20;
    int np = (int)((n + ps - 1) / ps);
    size_t slices[] = {1, 4096, 65537, 1 << 20, n};
    for (size_t k = 0; k < sizeof slices / sizeof *slices; k++) {
        struct tb_digests d;
        tb_digests_init(&d, n, ps, np, TB_DIG_MD5 | TB_DIG_PART_SHA256 | TB_DIG_PART_MD5);
        for (size_t off = 0; off < n;) {
            size_t m = n - off < slices[k] ? n - off : slices[k];
            tb_digests_update(&d, buf + off, m);
            off += m;
        }
        char want[65];
        tb_sha256_hex(buf, n, want);
        int parts_ok = 1;
        for (int i = 0; i < np; i++) {
            char ps_hex[65], pm[25];
            size_t off = (size_t)i * ps, len = n - off < ps ? n - off : ps;
            tb_sha256_hex(buf + off, len, ps_hex);
            unsigned char md[16];
            unsigned int ml = 0;
            EVP_Digest(buf + off, len, md, &ml, EVP_md5(), NULL);
            EVP_EncodeBlock((unsigned char *)pm, md, 16);
            if (strcmp(ps_hex, d.part_sha256[i]) || strcmp(pm, d.part_md5_b64[i])) parts_ok = 0;
        }
        unsigned char md[16];
        unsigned int ml = 0;
        char wm[25];
        EVP_Digest(buf, n, md, &ml, EVP_md5(), NULL);
        EVP_EncodeBlock((unsigned char *)wm, md, 16);
        CHECK(tb_digests_done(&d), "digests: done after %zu-byte slices", slices[k]);
        CHECK_STR(d.sha256, want, "digests: whole sha256 (%zu-byte slices)", slices[k]);
        CHECK_STR(d.md5_b64, wm, "digests: whole md5 (%zu-byte slices)", slices[k]);
        CHECK(parts_ok, "digests: every part's sha256 and md5 (%zu-byte slices)", slices[k]);
        tb_digests_free(&d);
    }
    struct tb_digests z;
    tb_digests_init(&z, 0, 0, 0, 0);
    CHECK(tb_digests_done(&z), "digests: an empty object is done at once");
    CHECK_STR(z.sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "digests: sha256 of nothing");
    CHECK(z.part_sha256 == NULL && z.md5_b64[0] == 0, "digests: nothing computed that was not asked for");
    tb_digests_free(&z);
    free(buf);
}

static void test_upload(struct tb_store *s)
{
    char src[256], big[256]; /* (path_of's buffers are reused) */
    snprintf(src, sizeof src, "%s", path_of("small.src"));
    snprintf(big, sizeof big, "%s", path_of("big.src"));
    write_file(src, 100000, 1);
    write_file(big, 3 * (1 << 20) + 12345, 2);

    reset_fault();
    struct tb_xfer_job j = up_job(src, path_of("obj/small"));
    run1(s, &j, 0);
    CHECK_INT(j.status, 0, "upload single: ok (%s)", j.err.msg);
    CHECK(!j.skipped && F.count[TB_OP_PUT] == 1 && F.count[TB_OP_HEAD] == 2, "upload single: HEAD, PUT, verifying HEAD");
    CHECK(same_file(src, path_of("obj/small")), "upload single: the object has the file's bytes");
    CHECK_INT(j.size, 100000, "upload single: size out");
    CHECK_INT(strlen(j.sha256), 64, "upload single: sha256 out");

    char sha[65];
    snprintf(sha, sizeof sha, "%s", j.sha256);
    reset_fault();
    snprintf(F.sha, sizeof F.sha, "%s", sha); /* the sha256 metadata (xattrs may be off where this runs) */
    j = up_job(src, path_of("obj/small"));
    run1(s, &j, 0);
    CHECK(j.status == 0 && j.skipped && F.count[TB_OP_PUT] == 0 && F.count[TB_OP_HEAD] == 1,
          "upload again: skipped as current, one HEAD, no PUT");

    reset_fault();
    j = up_job(src, path_of("obj/small"));
    j.flags = TB_XFER_FORCE;
    run1(s, &j, 0);
    CHECK(j.status == 0 && !j.skipped && F.count[TB_OP_PUT] == 1, "upload --force: sent again");

    reset_fault();
    j = up_job(src, path_of("obj/fresh"));
    j.flags = TB_XFER_KNOWN_ABSENT;
    run1(s, &j, 0);
    CHECK(j.status == 0 && F.count[TB_OP_HEAD] == 1 && F.count[TB_OP_PUT] == 1, "upload known absent: no HEAD before the PUT");

    /* a store that checks each body against its signed sha256: the 2xx is the verification */
    reset_fault();
    F.be.signs_body = 1;
    F.put_etag = 1;
    j = up_job(src, path_of("obj/trusted"));
    j.flags = TB_XFER_KNOWN_ABSENT | TB_XFER_TRUST_STORE;
    run1(s, &j, 0);
    CHECK(j.status == 0 && F.count[TB_OP_PUT] == 1 && F.count[TB_OP_HEAD] == 0 && strcmp(j.etag, "e-1") == 0,
          "upload trusting a store that checks bodies: no HEAD before or after the PUT (%d)", F.count[TB_OP_HEAD]);
    reset_fault();
    F.be.signs_body = 0;
    j = up_job(src, path_of("obj/trusted2"));
    j.flags = TB_XFER_KNOWN_ABSENT | TB_XFER_TRUST_STORE;
    run1(s, &j, 0);
    CHECK(j.status == 0 && F.count[TB_OP_HEAD] == 1, "a store that does not check bodies is verified anyway");
    F.put_etag = 0;

    reset_fault();
    j = up_job(src, path_of("obj/small"));
    j.want_sha256 = "0000000000000000000000000000000000000000000000000000000000000000";
    run1(s, &j, 0);
    CHECK(j.status == TB_EDATA && j.mismatch && F.count[TB_OP_PUT] == 0, "upload: a file not matching want_sha256 fails 65, nothing sent");

    arm(TB_OP_HEAD, 2, F_WRONG_SHA, 0);
    j = up_job(src, path_of("obj/verify"));
    run1(s, &j, 0);
    CHECK_INT(j.status, TB_EUNAVAIL, "upload: a verifying HEAD with another sha256 fails 69");
    CHECK(strstr(j.err.msg, "sha256 metadata differs") != NULL, "  says why: %s", j.err.msg);

    arm(TB_OP_HEAD, 2, F_MISSING, 0);
    j = up_job(src, path_of("obj/vanish"));
    run1(s, &j, 0);
    CHECK(j.status == TB_EUNAVAIL && strstr(j.err.msg, "missing"), "upload: a verifying HEAD finding nothing fails: %s", j.err.msg);

    arm(TB_OP_PUT, 1, F_PRECOND, 0);
    j = up_job(src, path_of("obj/precond"));
    run1(s, &j, 0);
    CHECK(j.status == 0 && F.count[TB_OP_HEAD] == 2, "upload: a 412 to a PUT that landed is settled by the verifying HEAD");

    arm(TB_OP_PUT, 1, F_ERROR, TB_EUNAVAIL);
    j = up_job(src, path_of("obj/err"));
    run1(s, &j, 0);
    CHECK(j.status == TB_EUNAVAIL && !exists(path_of("obj/err")), "upload: a failed PUT fails the job with its code");

    /* multipart */
    arm(0, 0, F_NONE, 0);
    F.be.signs_body = F.be.wants_md5 = 1; /* so the engine computes (and the fake checks) each part's digests */
    j = up_job(big, path_of("obj/big"));
    run1(s, &j, 0);
    CHECK_INT(j.status, 0, "upload multipart: ok (%s)", j.err.msg);
    CHECK(F.count[TB_OP_MP_CREATE] == 1 && F.count[TB_OP_MP_PART] == 4 && F.count[TB_OP_MP_COMPLETE] == 1,
          "upload multipart: create, 4 parts, complete");
    CHECK(F.parts_checked == 4 && F.bad_part_digest == 0, "upload multipart: each part carried its own sha256 and md5");
    CHECK(same_file(big, path_of("obj/big")), "upload multipart: the object has the file's bytes");

    arm(TB_OP_MP_PART, 3, F_ERROR, TB_EUNAVAIL);
    j = up_job(big, path_of("obj/bigfail"));
    run1(s, &j, 0);
    CHECK(j.status == TB_EUNAVAIL && F.count[TB_OP_MP_ABORT] == 1, "upload multipart: a failed part aborts the upload");
    CHECK(!exists(path_of("obj/bigfail")) && !leftover("bigfail.tb-mp-"), "  nothing left behind");

    arm(TB_OP_MP_PART, 1, F_ERROR, TB_ENOPERM);
    j = up_job(big, path_of("obj/bigperm"));
    run1(s, &j, 0);
    CHECK(j.status == TB_ENOPERM && F.count[TB_OP_MP_ABORT] == 1 && !leftover("bigperm.tb-mp-"),
          "upload multipart: credentials refused (77) stop it and abort the upload");

    reset_fault();
    j = up_job(big, path_of("obj/bigint"));
    run1(s, &j, 2);
    CHECK_INT(j.status, TB_ETEMPFAIL, "upload multipart: an interrupt fails it with 75");
    CHECK(strstr(j.err.msg, "interrupted by signal 2") != NULL, "  says so: %s", j.err.msg);
    CHECK(F.count[TB_OP_MP_ABORT] == 1 && !exists(path_of("obj/bigint")) && !leftover("bigint.tb-mp-"),
          "  the open multipart upload was aborted");
    F.be.signs_body = F.be.wants_md5 = 0;
}

static void test_fatal_stops_all(struct tb_store *s)
{
    char src[256];
    snprintf(src, sizeof src, "%s", path_of("small.src"));
    arm(TB_OP_PUT, 1, F_ERROR, TB_ENOPERM);
    struct run rr = {0, -1, 0};
    struct tb_xfer *x = open_x(s, &rr, 1);
    struct tb_xfer_job j[3];
    char keys[3][256];
    for (int i = 0; i < 3; i++) {
        snprintf(keys[i], sizeof keys[i], "%s/stop-%d", dir, i);
        j[i] = up_job(src, keys[i]);
        tb_xfer_add(x, &j[i]);
    }
    drive(x, &rr);
    CHECK_INT(rr.done, 3, "fatal: every job gets its done callback");
    CHECK(j[0].status == TB_ENOPERM && j[1].status == TB_ENOPERM && j[2].status == TB_ENOPERM, "fatal: 77 stops every job");
    CHECK_INT(F.count[TB_OP_PUT], 1, "fatal: nothing else is sent");
    CHECK_INT(tb_xfer_fatal(x)->code, TB_ENOPERM, "fatal: the engine says why it stopped");
    struct tb_xfer_stats st;
    tb_xfer_stats(x, &st);
    CHECK(st.failed == 3 && st.ok == 0, "fatal: stats count the failures");
    tb_xfer_close(x);
}

static void test_download(struct tb_store *s)
{
    char obj[256], dst[256], bad[256];
    snprintf(obj, sizeof obj, "%s", path_of("dl/obj"));
    snprintf(dst, sizeof dst, "%s", path_of("dl-out.bin"));
    snprintf(bad, sizeof bad, "%s", path_of("dl-bad.bin"));
    write_file(obj, 2 * (1 << 20) + 3, 3);
    char sha[65];
    {
        FILE *f = fopen(obj, "rb");
        unsigned char *b = malloc(3 << 20);
        size_t n = fread(b, 1, 3 << 20, f);
        fclose(f);
        tb_sha256_hex(b, n, sha);
        free(b);
    }
    reset_fault();
    snprintf(F.sha, sizeof F.sha, "%s", sha); /* the store reports the right sha256 metadata */
    struct timespec mt = {1600000000, 123456789};
    struct tb_xfer_job j = {0};
    j.kind = TB_XFER_DOWNLOAD;
    j.key = obj;
    j.path = dst;
    j.want_bytes = -1;
    j.mtime = &mt;
    run1(s, &j, 0);
    CHECK_INT(j.status, 0, "download: ok (%s)", j.err.msg);
    CHECK(same_file(obj, dst), "download: the file has the object's bytes");
    CHECK_STR(j.sha256, sha, "download: sha256 out");
    struct stat st;
    CHECK(stat(dst, &st) == 0 && st.st_mtim.tv_sec == mt.tv_sec && st.st_mtim.tv_nsec == mt.tv_nsec, "download: mtime set");
    CHECK(!leftover("dl-out.bin.partial"), "download: the temp was renamed into place");

    reset_fault();
    memset(F.sha, 'a', 64), F.sha[64] = 0; /* the store's sha256 metadata disagrees with the bytes */
    j.path = bad;
    run1(s, &j, 0);
    CHECK(j.status != 0 && strstr(j.err.msg, "sha256 metadata"), "download: a sha256 mismatch fails: %s", j.err.msg);
    CHECK(!exists(bad) && !leftover("dl-bad.bin.partial"), "download: nothing under the final name, no temp left");

    reset_fault();
    j.path = bad;
    j.want_sha256 = "0000000000000000000000000000000000000000000000000000000000000000";
    run1(s, &j, 0);
    CHECK(j.status == TB_EDATA && j.mismatch && !exists(bad), "download: not the expected sha256: 65, nothing kept");
    j.want_sha256 = NULL;

    reset_fault();
    char none[256];
    snprintf(none, sizeof none, "%s", path_of("dl/none"));
    j.key = none;
    run1(s, &j, 0);
    CHECK(j.status == TB_ENOINPUT && !exists(bad), "download: a missing object is 66");

    arm(TB_OP_GET, 1, F_ERROR, TB_EUNAVAIL);
    j.key = obj;
    run1(s, &j, 0);
    CHECK(j.status == TB_EUNAVAIL && !exists(bad) && !leftover("dl-bad.bin.partial"), "download: a failed GET leaves nothing");
}

static void test_copy_delete(struct tb_store *s)
{
    char src[256], dst[256], none[256], dst2[256];
    snprintf(src, sizeof src, "%s", path_of("cp/src"));
    snprintf(dst, sizeof dst, "%s", path_of("cp/dst"));
    snprintf(none, sizeof none, "%s", path_of("cp/none"));
    snprintf(dst2, sizeof dst2, "%s", path_of("cp/dst2"));
    write_file(src, 1500000, 4); /* above the 1 MiB threshold: the upload half is multipart */
    reset_fault();
    uint64_t copy_max = F.be.copy_max;
    F.be.copy_max = 0; /* a store that cannot copy by itself */
    struct tb_xfer_job j = {0};
    j.kind = TB_XFER_COPY;
    j.src_key = src;
    j.key = dst;
    j.want_bytes = -1;
    run1(s, &j, 0);
    CHECK_INT(j.status, 0, "copy: ok (%s)", j.err.msg);
    CHECK(same_file(src, dst), "copy: the destination has the source's bytes");
    CHECK(F.count[TB_OP_GET] == 1 && F.count[TB_OP_MP_COMPLETE] == 1, "copy: streamed through (GET, then a multipart upload)");

    /* a store that copies: one COPY, then the verifying HEAD; no byte passes through */
    F.be.copy_max = copy_max;
    reset_fault();
    unlink(dst);
    run1(s, &j, 0);
    CHECK_INT(j.status, 0, "server-side copy: ok (%s)", j.err.msg);
    CHECK(same_file(src, dst), "server-side copy: the destination has the source's bytes");
    CHECK(F.count[TB_OP_COPY] == 1 && F.count[TB_OP_GET] == 0 && F.count[TB_OP_PUT] == 0 && F.count[TB_OP_MP_CREATE] == 0,
          "server-side copy: one COPY, no GET or upload");
    CHECK(F.count[TB_OP_HEAD] == 2, "server-side copy: the source's HEAD and the verifying HEAD (%d)", F.count[TB_OP_HEAD]);
    reset_fault();
    arm(TB_OP_COPY, 1, F_ERROR, TB_EUNAVAIL);
    unlink(dst);
    run1(s, &j, 0);
    CHECK(j.status == TB_EUNAVAIL && !exists(dst), "server-side copy: a failed COPY fails the job, nothing under the name");

    reset_fault();
    j.src_key = none;
    j.key = dst2;
    run1(s, &j, 0);
    CHECK(j.status == TB_ENOINPUT && !exists(dst2), "copy: a missing source is 66");

    reset_fault();
    struct tb_xfer_job d = {0};
    d.kind = TB_XFER_DELETE;
    d.key = dst;
    d.want_bytes = -1;
    run1(s, &d, 0);
    CHECK(d.status == 0 && !exists(dst), "delete: the object is gone");
    run1(s, &d, 0);
    CHECK_INT(d.status, 0, "delete: a missing object is not an error");
}

static void test_listing(struct tb_store *s)
{
    struct tb_xfer_listing l = {0};
    tb_err e = {0};
    char prefix[256];
    snprintf(prefix, sizeof prefix, "%s/obj/", dir);
    CHECK_INT(tb_xfer_list(s, prefix, &l, &e), 0, "listing: ok");
    CHECK(l.ok && l.complete && l.n > 0, "listing: complete, %zu keys", l.n);
    CHECK(!tb_xfer_absent(&l, path_of("obj/small")), "listing: a listed key is not absent");
    CHECK(tb_xfer_absent(&l, path_of("obj/zzz-not-there")), "listing: an unlisted key is absent");
    tb_xfer_listing_free(&l);
    struct tb_xfer_tally t = {0};
    tb_err a = {TB_ENOINPUT, "a"}, b = {TB_ENOINPUT, "b"}, c = {TB_EUNAVAIL, "c"};
    tb_xfer_tally_fail(&t, &a);
    tb_xfer_tally_fail(&t, &b);
    CHECK_INT(t.code, TB_ENOINPUT, "tally: failures that agree keep their code");
    tb_xfer_tally_fail(&t, &c);
    CHECK_INT(t.code, -1, "tally: failures that differ");
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/test_xfer.XXXXXX");
    if (!mkdtemp(dir)) { perror("mkdtemp"); return 1; }
    mkdir(path_of("dl"), 0755);
    mkdir(path_of("cp"), 0755);
    test_digests();
    struct tb_uri u;
    tb_err e = {0};
    struct tb_store *s = NULL;
    if (tb_uri_parse(dir, &u, &e) || tb_store_open(&s, &u, NULL, &e)) { printf("not ok - open store: %s\n", e.msg); return 1; }
    F.real = s->be;
    F.be = *s->be;
    F.be.prepare = fake_prepare;
    s->be = &F.be; /* the fake wraps the file backend (a test may; commands never touch ->be) */
    test_upload(s);
    test_fatal_stops_all(s);
    test_download(s);
    test_copy_delete(s);
    test_listing(s);
    tb_store_close(s);
    tb_uri_free(&u);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) printf("# could not remove %s\n", dir);
    return tap_done();
}
