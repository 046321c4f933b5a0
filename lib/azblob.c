/* azblob: Azure Blob requests over libcurl, signed by azkey (see azblob.h).
 * One request = one struct azreq, re-signed on every attempt (x-ms-date must be fresh). Single requests
 * run on one reused easy handle; the blocks of a large upload run on the multi handle, `parallel` at a
 * time, each from its own reused buffer so a retry resends the same bytes. */
#include "azblob.h"
#include "azxml.h"
#include "hash.h"
#include "uri.h"
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define AZ_VERSION "2021-08-06"
#define MAX_HDRS 16
#define ERRBODY_CAP (64u << 10)
#define LISTBODY_CAP (64u << 20)

struct tb_az {
    struct tb_azcred cred;
    const char *ep_path;        /* path part of the endpoint ("" or "/devstoreaccount1"), into cred.endpoint */
    struct tb_az_opts o;
    CURLM *multi;
    int own_multi;
    CURL *easy;                 /* single requests; keeps its connection between them */
    CURL **pool;                /* o.parallel handles for blocks */
    unsigned char **bufs;       /* o.parallel block buffers, allocated on the first large upload */
    struct tb_rng rng;          /* backoff jitter */
    unsigned retried;
};

struct azreq {
    const char *verb;
    char *url, *path, *query, *what; /* what: "PUT az://acct/cont/key" for messages */
    char *hdr[MAX_HDRS];
    int nh, nfixed;
    struct curl_slist *sl;
    /* upload body: memory, or fd at an offset */
    const unsigned char *mem;
    int fd;
    uint64_t off, len, pos;
    int upload;
    /* download */
    tb_az_sink sink;
    void *sinkctx;
    uint64_t delivered;
    int sink_rc;
    /* response */
    long status;
    char *body;
    size_t nbody, bodycap;
    char errcode[64], md5b64[48], sha256[80], etag[80], lastmod[40], cl[24];
    char curlerr[CURL_ERROR_SIZE];
    int attempts;
};

static void req_free(struct azreq *r)
{
    free(r->url);
    free(r->path);
    free(r->query);
    free(r->what);
    for (int i = 0; i < r->nh; i++) free(r->hdr[i]);
    curl_slist_free_all(r->sl);
    free(r->body);
    memset(r, 0, sizeof *r);
    r->fd = -1;
}

static int req_hdr(struct azreq *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int req_hdr(struct azreq *r, const char *fmt, ...)
{
    if (r->nh >= MAX_HDRS) return -1;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&r->hdr[r->nh], fmt, ap);
    va_end(ap);
    if (n < 0) return -1;
    r->nh++;
    return 0;
}

/* The request for CONTAINER[/KEY][?query] (query already encoded). */
static int req_init(struct tb_az *az, struct azreq *r, const char *verb, const char *container, const char *key,
                    const char *query, tb_err *e)
{
    memset(r, 0, sizeof *r);
    r->fd = -1;
    r->verb = verb;
    if (!tb_az_container_ok(container))
        return tb_fail(e, TB_EUSAGE, "az://%s/%s: a container name has 3 to 63 lower-case letters, digits or single dashes",
                       az->cred.account, container);
    if (key && strlen(key) > 1024)
        return tb_fail(e, TB_EUSAGE, "az://%s/%s: a blob name has at most 1024 characters", az->cred.account, container);
    char *ek = key && *key ? tb_az_encode(key, 1) : NULL;
    char *ec = tb_az_encode(container, 0);
    int ok = ec && (!key || !*key || ek);
    if (ok) {
        ok = asprintf(&r->path, "%s/%s%s%s", az->ep_path, ec, ek ? "/" : "", ek ? ek : "") >= 0;
        if (!ok) r->path = NULL;
    }
    if (ok) {
        const char *host_end = az->cred.endpoint + strlen(az->cred.endpoint) - strlen(az->ep_path);
        ok = asprintf(&r->url, "%.*s%s%s%s", (int)(host_end - az->cred.endpoint), az->cred.endpoint, r->path,
                      query && *query ? "?" : "", query ? query : "") >= 0;
        if (!ok) r->url = NULL;
    }
    if (ok) {
        ok = asprintf(&r->what, "%s az://%s/%s%s%s", verb, az->cred.account, container, key && *key ? "/" : "",
                      key ? key : "") >= 0;
        if (!ok) r->what = NULL;
    }
    if (ok && query) ok = (r->query = strdup(query)) != NULL;
    free(ek);
    free(ec);
    if (!ok) {
        req_free(r);
        return tb_fail(e, TB_ESOFTWARE, "%s: out of memory", verb);
    }
    return 0;
}

static size_t on_read(char *buf, size_t size, size_t nmemb, void *ud)
{
    struct azreq *r = ud;
    size_t want = size * nmemb;
    if (r->pos >= r->len) return 0;
    if (want > r->len - r->pos) want = (size_t)(r->len - r->pos);
    if (r->mem) {
        memcpy(buf, r->mem + r->pos, want);
    } else {
        ssize_t got = pread(r->fd, buf, want, (off_t)(r->off + r->pos));
        if (got <= 0) return CURL_READFUNC_ABORT; /* the file shrank or failed under us */
        want = (size_t)got;
    }
    r->pos += want;
    return want;
}

static int on_seek(void *ud, curl_off_t off, int origin)
{
    struct azreq *r = ud;
    if (origin != SEEK_SET || off < 0 || (uint64_t)off > r->len) return CURL_SEEKFUNC_CANTSEEK;
    r->pos = (uint64_t)off;
    return CURL_SEEKFUNC_OK;
}

static void keep(char *dst, size_t cap, const char *v, size_t n)
{
    if (n >= cap) n = cap - 1;
    memcpy(dst, v, n);
    dst[n] = 0;
}

static size_t on_header(char *buf, size_t size, size_t nmemb, void *ud)
{
    struct azreq *r = ud;
    size_t n = size * nmemb, l = n;
    while (l && (buf[l - 1] == '\r' || buf[l - 1] == '\n')) l--;
    if (l >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
        /* a new response (after 100 Continue, say): forget the previous one's headers */
        r->errcode[0] = r->md5b64[0] = r->sha256[0] = r->etag[0] = r->lastmod[0] = r->cl[0] = 0;
        return n;
    }
    const char *colon = memchr(buf, ':', l);
    if (!colon) return n;
    size_t kl = (size_t)(colon - buf);
    const char *v = colon + 1;
    while (v < buf + l && (*v == ' ' || *v == '\t')) v++;
    size_t vl = (size_t)(buf + l - v);
#define H(name, dst) if (kl == strlen(name) && strncasecmp(buf, name, kl) == 0) keep(dst, sizeof dst, v, vl)
    H("x-ms-error-code", r->errcode);
    else H("Content-MD5", r->md5b64);
    else H("x-ms-meta-sha256", r->sha256);
    else H("ETag", r->etag);
    else H("Last-Modified", r->lastmod);
    else H("Content-Length", r->cl);
#undef H
    return n;
}

static int body_add(struct azreq *r, const char *p, size_t n, size_t cap)
{
    if (r->nbody + n + 1 > cap) return -1;
    if (r->nbody + n + 1 > r->bodycap) {
        size_t c = r->bodycap ? r->bodycap : 4096;
        while (c < r->nbody + n + 1) c *= 2;
        char *q = realloc(r->body, c);
        if (!q) return -1;
        r->body = q;
        r->bodycap = c;
    }
    memcpy(r->body + r->nbody, p, n);
    r->nbody += n;
    r->body[r->nbody] = 0;
    return 0;
}

/* The write callback needs the status to route bytes; libcurl knows it once headers are in. */
struct wctx {
    struct azreq *r;
    CURL *h;
};

static size_t on_write_routed(char *buf, size_t size, size_t nmemb, void *ud)
{
    struct wctx *w = ud;
    struct azreq *r = w->r;
    size_t n = size * nmemb;
    long st = 0;
    curl_easy_getinfo(w->h, CURLINFO_RESPONSE_CODE, &st);
    if (st >= 200 && st < 300 && r->sink) {
        int rc = r->sink(r->sinkctx, buf, n);
        if (rc) { r->sink_rc = rc; return 0; }
        r->delivered += n;
        return n;
    }
    if (st >= 200 && st < 300) return body_add(r, buf, n, LISTBODY_CAP) ? 0 : n;
    body_add(r, buf, n, ERRBODY_CAP); /* error bodies only explain; a truncated one is fine */
    return n;
}

/* Set up h for one attempt of r: fresh date, signature and options. */
static int req_setup(struct tb_az *az, struct azreq *r, CURL *h, struct wctx *w, tb_err *e)
{
    char date[32];
    tb_az_http_date(time(NULL), date);
    for (int i = r->nfixed; i < r->nh; i++) free(r->hdr[i]);
    r->nh = r->nfixed;
    curl_slist_free_all(r->sl);
    r->sl = NULL;
    r->status = 0;
    r->nbody = 0;
    r->pos = 0;
    r->errcode[0] = r->md5b64[0] = r->sha256[0] = r->etag[0] = r->lastmod[0] = r->cl[0] = 0;
    r->curlerr[0] = 0;
    if (req_hdr(r, "x-ms-date: %s", date) || req_hdr(r, "x-ms-version: %s", AZ_VERSION))
        return tb_fail(e, TB_ESOFTWARE, "%s: too many headers", r->what);
    /* a resumed download asks for the rest of its range */
    int nsign = r->nh;
    char clen[48];
    const char *signh[MAX_HDRS + 1];
    for (int i = 0; i < r->nh; i++) signh[i] = r->hdr[i];
    if (r->upload) {
        snprintf(clen, sizeof clen, "Content-Length: %llu", (unsigned long long)r->len);
        signh[nsign++] = clen; /* libcurl sends it from INFILESIZE; the signature must cover it */
    }
    char *auth = tb_azkey_authorization(&az->cred, r->verb, signh, (size_t)nsign, r->path, r->query);
    for (int i = 0; i < r->nh; i++) {
        struct curl_slist *s = curl_slist_append(r->sl, r->hdr[i]);
        if (!s) { free(auth); return tb_fail(e, TB_ESOFTWARE, "%s: out of memory", r->what); }
        r->sl = s;
    }
    const char *extra[] = {auth, "Expect:", "Accept:"};
    for (size_t i = 0; i < sizeof extra / sizeof *extra; i++) {
        if (!extra[i]) continue;
        struct curl_slist *s = curl_slist_append(r->sl, extra[i]);
        if (!s) { free(auth); return tb_fail(e, TB_ESOFTWARE, "%s: out of memory", r->what); }
        r->sl = s;
    }
    if (auth) {
        OPENSSL_cleanse(auth, strlen(auth));
        free(auth);
    }
    curl_easy_reset(h);
    w->r = r;
    w->h = h;
    curl_easy_setopt(h, CURLOPT_URL, r->url);
    curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, r->sl);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "trainbox/" TB_VERSION);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 15L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, az->o.timeout_s);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, r->curlerr);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write_routed);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, w);
    curl_easy_setopt(h, CURLOPT_PRIVATE, w);
    if (strcmp(r->verb, "PUT") == 0) {
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->len);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(h, CURLOPT_READDATA, r);
        curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, on_seek);
        curl_easy_setopt(h, CURLOPT_SEEKDATA, r);
    } else if (strcmp(r->verb, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (strcmp(r->verb, "GET") != 0) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->verb);
    }
    return 0;
}

/* "<Message>text</Message>" of an error body, first line only. */
static void error_message(const struct azreq *r, char *out, size_t cap)
{
    out[0] = 0;
    if (!r->body) return;
    const char *m = strstr(r->body, "<Message>");
    if (!m) return;
    m += 9;
    size_t n = strcspn(m, "<\r\n");
    keep(out, cap, m, n);
}

enum { DONE_OK, DONE_RETRY, DONE_FAIL };

/* Classify a finished attempt; on DONE_FAIL (or DONE_RETRY with no attempts left, via fail_final)
 * fill e with "WHAT: STATUS CODE: message". */
static int classify(struct tb_az *az, struct azreq *r, CURL *h, CURLcode cc, tb_err *e)
{
    if (r->sink_rc) return tb_fail(e, r->sink_rc, "%s: stopped by the reader", r->what), DONE_FAIL;
    if (cc != CURLE_OK) {
        if (cc == CURLE_ABORTED_BY_CALLBACK || cc == CURLE_READ_ERROR) {
            tb_fail(e, TB_EIO, "%s: reading the local file failed", r->what);
            return DONE_FAIL;
        }
        tb_fail(e, TB_EUNAVAIL, "%s: %s (%s)", r->what, r->curlerr[0] ? r->curlerr : curl_easy_strerror(cc),
                az->cred.endpoint);
        return DONE_RETRY;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    long st = r->status;
    if (st >= 200 && st < 300) return DONE_OK;
    char msg[256];
    error_message(r, msg, sizeof msg);
    const char *code = r->errcode[0] ? r->errcode : "";
    int ec;
    if (st == 408 || st == 429 || st >= 500) ec = TB_EUNAVAIL;
    else if (st == 401 || st == 403) ec = TB_ENOPERM;
    else if (st == 404) ec = TB_ENOINPUT;
    else if ((st == 409 && strstr(code, "AlreadyExists")) || st == 412) ec = TB_AZ_EXISTS;
    else if (st == 409) ec = TB_ETEMPFAIL; /* leases, a container being deleted: worth a later retry */
    else if (st == 400 || st == 416) ec = TB_EDATA;
    else ec = TB_EUNAVAIL;
    if (!*msg && st == 404) snprintf(msg, sizeof msg, "%s", "not found");
    tb_fail(e, ec, "%s: HTTP %ld%s%s%s%s", r->what, st, *code ? " " : "", code, *msg ? ": " : "", msg);
    return ec == TB_EUNAVAIL ? DONE_RETRY : DONE_FAIL;
}

static long backoff_ms(struct tb_az *az, int attempt)
{
    long ms = (long)az->o.backoff_ms << (attempt > 6 ? 6 : attempt);
    if (ms > 10000) ms = 10000;
    return ms / 2 + (long)tb_rng_below(&az->rng, (uint64_t)ms / 2 + 1);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) && errno == EINTR) {}
}

/* Run r on the single easy handle with retries. */
static int req_run(struct tb_az *az, struct azreq *r, tb_err *e)
{
    struct wctx w;
    for (int attempt = 0;; attempt++) {
        if (req_setup(az, r, az->easy, &w, e)) return e->code;
        CURLcode cc = curl_easy_perform(az->easy);
        int d = classify(az, r, az->easy, cc, e);
        if (d == DONE_OK) return 0;
        if (d == DONE_FAIL || attempt >= az->o.retries) return e->code;
        az->retried++;
        sleep_ms(backoff_ms(az, attempt));
    }
}

static void fill_info(const struct azreq *r, struct tb_az_info *info)
{
    memset(info, 0, sizeof *info);
    info->size = strtoull(r->cl, NULL, 10);
    unsigned char raw[32];
    if (r->md5b64[0] && tb_b64_decode(r->md5b64, raw, sizeof raw) == 16) tb_hex(raw, 16, info->md5);
    keep(info->sha256, sizeof info->sha256, r->sha256, strlen(r->sha256));
    keep(info->etag, sizeof info->etag, r->etag, strlen(r->etag));
    keep(info->last_modified, sizeof info->last_modified, r->lastmod, strlen(r->lastmod));
}

int tb_az_open_cred(struct tb_az **out, const struct tb_azcred *cred, const struct tb_az_opts *opts, void *multi,
                    tb_err *e)
{
    struct tb_az *az = calloc(1, sizeof *az);
    if (!az) return tb_fail(e, TB_ESOFTWARE, "out of memory");
    az->cred = *cred;
    if (opts) az->o = *opts;
    if (!az->o.block_size) az->o.block_size = 8u << 20;
    if (az->o.parallel <= 0) az->o.parallel = 4;
    if (az->o.retries < 0) az->o.retries = 0;
    if (!opts) az->o.retries = 4;
    if (az->o.backoff_ms <= 0) az->o.backoff_ms = 200;
    if (az->o.timeout_s <= 0) az->o.timeout_s = 60;
    /* Put Block List takes at most 50,000 blocks of at most 4000 MiB */
    if (az->o.block_size > 4000ull << 20) az->o.block_size = 4000ull << 20;
    const char *p = strstr(az->cred.endpoint, "://");
    p = p ? strchr(p + 3, '/') : NULL;
    az->ep_path = p ? p : az->cred.endpoint + strlen(az->cred.endpoint);
    az->easy = curl_easy_init();
    az->multi = multi ? multi : curl_multi_init();
    az->own_multi = !multi;
    az->pool = calloc((size_t)az->o.parallel, sizeof *az->pool);
    az->bufs = calloc((size_t)az->o.parallel, sizeof *az->bufs);
    int ok = az->easy && az->multi && az->pool && az->bufs;
    for (int i = 0; ok && i < az->o.parallel; i++) ok = (az->pool[i] = curl_easy_init()) != NULL;
    tb_rng_seed(&az->rng, (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32));
    if (!ok) {
        tb_az_close(az);
        return tb_fail(e, TB_ESOFTWARE, "libcurl initialisation failed");
    }
    *out = az;
    return 0;
}

int tb_az_open(struct tb_az **out, const char *account, const struct tb_az_opts *opts, void *multi, tb_err *e)
{
    struct tb_azcred c;
    int r = tb_azcred_from_env(account, &c, e);
    if (!r) r = tb_az_open_cred(out, &c, opts, multi, e);
    OPENSSL_cleanse(&c, sizeof c);
    return r;
}

void tb_az_close(struct tb_az *az)
{
    if (!az) return;
    for (int i = 0; az->pool && i < az->o.parallel; i++) curl_easy_cleanup(az->pool[i]);
    for (int i = 0; az->bufs && i < az->o.parallel; i++) free(az->bufs[i]);
    free(az->pool);
    free(az->bufs);
    curl_easy_cleanup(az->easy);
    if (az->own_multi && az->multi) curl_multi_cleanup(az->multi);
    OPENSSL_cleanse(&az->cred, sizeof az->cred);
    free(az);
}

const char *tb_az_account(const struct tb_az *az) { return az->cred.account; }
unsigned tb_az_retries(const struct tb_az *az) { return az->retried; }

/* ---- put ---- */

static int hex2b64(const char *hex, char *out, size_t want)
{
    unsigned char raw[32];
    if (strlen(hex) != want * 2) return -1;
    for (size_t i = 0; i < want; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1) return -1;
        raw[i] = (unsigned char)v;
    }
    tb_b64_encode(raw, want, out);
    return 0;
}

/* Headers every blob write carries: its hashes, no-clobber, content type. md5hdr names the header
 * that carries the MD5 ("Content-MD5" for Put Blob, which the service also verifies, or
 * "x-ms-blob-content-md5" for Put Block List, which it stores). */
static int blob_headers(struct azreq *r, const char *md5hdr, const char *sha256, const char *md5,
                        const struct tb_az_put *p, tb_err *e)
{
    char b64[48];
    if (hex2b64(md5, b64, 16)) return tb_fail(e, TB_EDATA, "%s: bad md5 %s", r->what, md5);
    int bad = req_hdr(r, "%s: %s", md5hdr, b64) || req_hdr(r, "x-ms-meta-sha256: %s", sha256);
    if (!bad && p && p->no_clobber) bad = req_hdr(r, "If-None-Match: *");
    if (!bad && p && p->content_type) bad = req_hdr(r, "x-ms-blob-content-type: %s", p->content_type);
    if (bad) return tb_fail(e, TB_ESOFTWARE, "%s: too many headers", r->what);
    return 0;
}

static int hash_fd(int fd, const char *path, char sha[65], char md5[33], tb_err *e)
{
    struct tb_digest *d = tb_digest_new();
    unsigned char *buf = malloc(1u << 20);
    uint64_t off = 0;
    int rc = 0;
    if (!d || !buf) rc = tb_fail(e, TB_ESOFTWARE, "out of memory");
    while (!rc) {
        ssize_t n = pread(fd, buf, 1u << 20, (off_t)off);
        if (n < 0) rc = tb_fail_errno(e, TB_EIO, "reading %s", path);
        if (n <= 0) break;
        tb_digest_update(d, buf, (size_t)n);
        off += (uint64_t)n;
    }
    if (!rc) tb_digest_final(d, sha, md5);
    if (d) tb_digest_free(d);
    free(buf);
    return rc;
}

static int put_blob(struct tb_az *az, const char *container, const char *key, const unsigned char *mem, int fd,
                    uint64_t len, const char *sha, const char *md5, const struct tb_az_put *p,
                    struct tb_az_info *info, tb_err *e)
{
    struct azreq r;
    if (req_init(az, &r, "PUT", container, key, NULL, e)) return e->code;
    int rc = blob_headers(&r, "Content-MD5", sha, md5, p, e);
    if (!rc && req_hdr(&r, "x-ms-blob-type: BlockBlob")) rc = tb_fail(e, TB_ESOFTWARE, "too many headers");
    if (!rc) {
        r.nfixed = r.nh;
        r.upload = 1;
        r.mem = mem;
        r.fd = fd;
        r.len = len;
        rc = req_run(az, &r, e);
    }
    if (!rc && info) {
        memset(info, 0, sizeof *info);
        info->size = len;
        snprintf(info->md5, sizeof info->md5, "%s", md5);
        snprintf(info->sha256, sizeof info->sha256, "%s", sha);
        keep(info->etag, sizeof info->etag, r.etag, strlen(r.etag));
        keep(info->last_modified, sizeof info->last_modified, r.lastmod, strlen(r.lastmod));
    }
    req_free(&r);
    return rc;
}

int tb_az_put_mem(struct tb_az *az, const char *container, const char *key, const void *data, size_t n,
                  const struct tb_az_put *p, struct tb_az_info *info, tb_err *e)
{
    char sha[65], md5[33];
    if (p && p->sha256 && p->md5) {
        snprintf(sha, sizeof sha, "%s", p->sha256);
        snprintf(md5, sizeof md5, "%s", p->md5);
    } else {
        struct tb_digest *d = tb_digest_new();
        if (!d) return tb_fail(e, TB_ESOFTWARE, "out of memory");
        tb_digest_update(d, data, n);
        tb_digest_final(d, sha, md5);
        tb_digest_free(d);
    }
    static const unsigned char empty[1];
    return put_blob(az, container, key, n ? data : empty, -1, n, sha, md5, p, info, e);
}

struct slot {
    struct azreq r;
    struct wctx w;
    long blk;          /* block in flight, -1 when idle */
    long long wake_ms; /* a retried block waits until then */
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Load block i into the slot's buffer and set up its Put Block request (with the block's Content-MD5,
 * which the service checks). */
static int block_start(struct tb_az *az, struct slot *s, int si, const char *container, const char *key, int fd,
                       const char *path, uint64_t size, long i, tb_err *e)
{
    uint64_t off = (uint64_t)i * az->o.block_size;
    uint64_t len = size - off < az->o.block_size ? size - off : az->o.block_size;
    if (!az->bufs[si] && !(az->bufs[si] = malloc(az->o.block_size)))
        return tb_fail(e, TB_ESOFTWARE, "out of memory for a %llu-byte block", (unsigned long long)az->o.block_size);
    for (uint64_t got = 0; got < len;) {
        ssize_t n = pread(fd, az->bufs[si] + got, (size_t)(len - got), (off_t)(off + got));
        if (n < 0) return tb_fail_errno(e, TB_EIO, "reading %s", path);
        if (n == 0) return tb_fail(e, TB_EIO, "reading %s: the file shrank during the upload", path);
        got += (uint64_t)n;
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned ml = 0;
    EVP_Digest(az->bufs[si], (size_t)len, md, &ml, EVP_md5(), NULL);
    char md5b64[32], id[17], q[96];
    tb_b64_encode(md, 16, md5b64);
    tb_az_block_id((unsigned)i, id);
    char *eid = tb_az_encode(id, 0);
    if (!eid) return tb_fail(e, TB_ESOFTWARE, "out of memory");
    snprintf(q, sizeof q, "comp=block&blockid=%s", eid);
    free(eid);
    req_free(&s->r);
    if (req_init(az, &s->r, "PUT", container, key, q, e)) return e->code;
    if (req_hdr(&s->r, "Content-MD5: %s", md5b64)) return tb_fail(e, TB_ESOFTWARE, "too many headers");
    s->r.nfixed = s->r.nh;
    s->r.upload = 1;
    s->r.mem = az->bufs[si];
    s->r.len = len;
    s->r.attempts = 0;
    s->blk = i;
    return 0;
}

static int put_blocks(struct tb_az *az, const char *container, const char *key, int fd, const char *path,
                      uint64_t size, const char *sha, const char *md5, const struct tb_az_put *p,
                      struct tb_az_info *info, tb_err *e)
{
    uint64_t nb = (size + az->o.block_size - 1) / az->o.block_size;
    if (nb > 50000)
        return tb_fail(e, TB_EUSAGE, "%s: %llu blocks of %llu bytes exceed Azure's 50,000 (use a larger block size)",
                       path, (unsigned long long)nb, (unsigned long long)az->o.block_size);
    int np = az->o.parallel;
    struct slot *slots = calloc((size_t)np, sizeof *slots);
    if (!slots) return tb_fail(e, TB_ESOFTWARE, "out of memory");
    for (int i = 0; i < np; i++) { slots[i].blk = -1; slots[i].r.fd = -1; }
    long next = 0, done = 0, active = 0;
    int rc = 0;
    tb_err ferr = {0};
    while (done < (long)nb && !rc) {
        long long now = now_ms(), wake = -1;
        for (int i = 0; i < np && !rc; i++) {
            struct slot *s = &slots[i];
            if (s->blk < 0 && next < (long)nb) {
                rc = block_start(az, s, i, container, key, fd, path, size, next, &ferr);
                if (rc) break;
                next++;
                s->wake_ms = 0;
            }
            if (s->blk >= 0 && s->wake_ms >= 0 && s->wake_ms <= now) {
                /* idle slot with a block ready (new or due for a retry): start it */
                if (req_setup(az, &s->r, az->pool[i], &s->w, &ferr)) { rc = ferr.code; break; }
                curl_multi_add_handle(az->multi, az->pool[i]);
                s->wake_ms = -1; /* in flight */
                active++;
            } else if (s->blk >= 0 && s->wake_ms > now && (wake < 0 || s->wake_ms < wake)) {
                wake = s->wake_ms;
            }
        }
        if (rc) break;
        int running = 0;
        curl_multi_perform(az->multi, &running);
        CURLMsg *m;
        int left;
        while ((m = curl_multi_info_read(az->multi, &left))) {
            if (m->msg != CURLMSG_DONE) continue;
            CURLcode cc = m->data.result;
            CURL *h = m->easy_handle;
            int ours = 0;
            for (int i = 0; i < np; i++) ours |= az->pool[i] == h;
            if (!ours) continue;
            curl_multi_remove_handle(az->multi, h);
            active--;
            struct slot *s = NULL;
            for (int i = 0; i < np; i++) if (az->pool[i] == h) s = &slots[i];
            if (!s) continue; /* a transfer of the multi handle's owner, not ours */
            int d = classify(az, &s->r, h, cc, &ferr);
            if (d == DONE_OK) {
                s->blk = -1;
                s->wake_ms = 0;
                done++;
            } else if (d == DONE_RETRY && s->r.attempts < az->o.retries) {
                az->retried++;
                s->wake_ms = now_ms() + backoff_ms(az, s->r.attempts++);
            } else if (!rc) {
                rc = ferr.code;
            }
        }
        if (rc || done >= (long)nb) break;
        int timeout = 100;
        if (wake >= 0) {
            long long dt = wake - now_ms();
            timeout = dt < 0 ? 0 : dt < 100 ? (int)dt : 100;
        }
        if (active > 0) curl_multi_poll(az->multi, NULL, 0, timeout, NULL);
        else if (timeout > 0) sleep_ms(timeout);
    }
    /* on failure: drop what is in flight; uncommitted blocks expire on their own (see the header) */
    for (int i = 0; i < np; i++) {
        if (slots[i].blk >= 0 && slots[i].wake_ms == -1) curl_multi_remove_handle(az->multi, az->pool[i]);
        req_free(&slots[i].r);
    }
    free(slots);
    if (rc) {
        if (e) *e = ferr;
        return rc;
    }

    /* commit: Put Block List, in block order */
    size_t cap = 128 + (size_t)nb * 40;
    char *xml = malloc(cap), *q = xml;
    if (!xml) return tb_fail(e, TB_ESOFTWARE, "out of memory");
    q += sprintf(q, "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>");
    for (uint64_t i = 0; i < nb; i++) {
        char id[17];
        tb_az_block_id((unsigned)i, id);
        q += sprintf(q, "<Latest>%s</Latest>", id);
    }
    q += sprintf(q, "</BlockList>");
    struct azreq r;
    if (req_init(az, &r, "PUT", container, key, "comp=blocklist", e)) { free(xml); return e->code; }
    rc = blob_headers(&r, "x-ms-blob-content-md5", sha, md5, p, e);
    if (!rc && req_hdr(&r, "Content-Type: application/xml")) rc = tb_fail(e, TB_ESOFTWARE, "too many headers");
    if (!rc) {
        r.nfixed = r.nh;
        r.upload = 1;
        r.mem = (const unsigned char *)xml;
        r.len = (uint64_t)(q - xml);
        rc = req_run(az, &r, e);
    }
    if (!rc && info) {
        memset(info, 0, sizeof *info);
        info->size = size;
        snprintf(info->md5, sizeof info->md5, "%s", md5);
        snprintf(info->sha256, sizeof info->sha256, "%s", sha);
        keep(info->etag, sizeof info->etag, r.etag, strlen(r.etag));
        keep(info->last_modified, sizeof info->last_modified, r.lastmod, strlen(r.lastmod));
    }
    req_free(&r);
    free(xml);
    return rc;
}

int tb_az_put_file(struct tb_az *az, const char *container, const char *key, const char *path,
                   const struct tb_az_put *p, struct tb_az_info *info, tb_err *e)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return tb_fail_errno(e, 0, "opening %s", path);
    struct stat st;
    if (fstat(fd, &st) < 0) {
        close(fd);
        return tb_fail_errno(e, TB_EIO, "stat %s", path);
    }
    uint64_t size = (uint64_t)st.st_size;
    char sha[65], md5[33];
    int rc = 0;
    if (p && p->sha256 && p->md5) {
        snprintf(sha, sizeof sha, "%s", p->sha256);
        snprintf(md5, sizeof md5, "%s", p->md5);
    } else {
        rc = hash_fd(fd, path, sha, md5, e);
    }
    if (!rc) {
        if (size <= az->o.block_size)
            rc = put_blob(az, container, key, NULL, fd, size, sha, md5, p, info, e);
        else
            rc = put_blocks(az, container, key, fd, path, size, sha, md5, p, info, e);
    }
    close(fd);
    return rc;
}

/* ---- head, get, delete, container ---- */

int tb_az_head(struct tb_az *az, const char *container, const char *key, struct tb_az_info *info, tb_err *e)
{
    struct azreq r;
    if (req_init(az, &r, "HEAD", container, key, NULL, e)) return e->code;
    int rc = req_run(az, &r, e);
    if (!rc && info) fill_info(&r, info);
    req_free(&r);
    return rc;
}

int tb_az_get(struct tb_az *az, const char *container, const char *key, uint64_t off, uint64_t len,
              tb_az_sink sink, void *ctx, tb_err *e)
{
    struct azreq r;
    if (len == 0) return 0;
    if (req_init(az, &r, "GET", container, key, NULL, e)) return e->code;
    r.sink = sink;
    r.sinkctx = ctx;
    struct wctx w;
    int rc = 0;
    for (int attempt = 0;; attempt++) {
        /* ask only for what has not been delivered yet, so a retry never repeats bytes */
        for (int i = 0; i < r.nh; i++) free(r.hdr[i]);
        r.nh = r.nfixed = 0;
        uint64_t start = off + r.delivered;
        int ranged = off > 0 || len != UINT64_MAX || r.delivered > 0;
        if (len != UINT64_MAX && r.delivered >= len) break;
        if (ranged) {
            if (len == UINT64_MAX) req_hdr(&r, "x-ms-range: bytes=%llu-", (unsigned long long)start);
            else req_hdr(&r, "x-ms-range: bytes=%llu-%llu", (unsigned long long)start,
                         (unsigned long long)(off + len - 1));
        }
        r.nfixed = r.nh;
        if (req_setup(az, &r, az->easy, &w, e)) { rc = e->code; break; }
        CURLcode cc = curl_easy_perform(az->easy);
        int d = classify(az, &r, az->easy, cc, e);
        if (d == DONE_OK) { rc = 0; break; }
        /* a range starting at the end of a blob already fully delivered */
        if (r.status == 416 && r.delivered > 0) { rc = 0; break; }
        if (d == DONE_FAIL || attempt >= az->o.retries) { rc = e->code; break; }
        az->retried++;
        sleep_ms(backoff_ms(az, attempt));
    }
    req_free(&r);
    return rc;
}

int tb_az_delete(struct tb_az *az, const char *container, const char *key, tb_err *e)
{
    struct azreq r;
    if (req_init(az, &r, "DELETE", container, key, NULL, e)) return e->code;
    int rc = req_hdr(&r, "x-ms-delete-snapshots: include") ? tb_fail(e, TB_ESOFTWARE, "headers") : 0;
    r.nfixed = r.nh;
    if (!rc) rc = req_run(az, &r, e);
    req_free(&r);
    return rc;
}

int tb_az_create_container(struct tb_az *az, const char *container, int public_blobs, tb_err *e)
{
    struct azreq r;
    if (req_init(az, &r, "PUT", container, NULL, "restype=container", e)) return e->code;
    if (public_blobs && req_hdr(&r, "x-ms-blob-public-access: blob")) {
        req_free(&r);
        return tb_fail(e, TB_ESOFTWARE, "out of memory");
    }
    r.nfixed = r.nh;
    r.upload = 1;
    r.len = 0;
    r.mem = (const unsigned char *)"";
    int rc = req_run(az, &r, e);
    if (rc && r.status == 409 && strcmp(r.errcode, "ContainerAlreadyExists") == 0) rc = 0;
    if (!rc && e) { e->code = 0; e->msg[0] = 0; }
    req_free(&r);
    return rc;
}

/* ---- list ---- */

struct listfwd {
    tb_az_list_cb cb;
    void *ctx;
    int rc; /* what the caller's callback stopped with */
};

static int list_fwd(void *ctx, const struct tb_azxml_entry *x)
{
    struct listfwd *f = ctx;
    struct tb_az_entry ent;
    memset(&ent, 0, sizeof ent);
    ent.name = x->name;
    ent.is_prefix = x->is_prefix;
    ent.info.size = x->size;
    unsigned char raw[32];
    if (x->md5_b64[0] && tb_b64_decode(x->md5_b64, raw, sizeof raw) == 16) tb_hex(raw, 16, ent.info.md5);
    keep(ent.info.sha256, sizeof ent.info.sha256, x->sha256, strlen(x->sha256));
    keep(ent.info.etag, sizeof ent.info.etag, x->etag, strlen(x->etag));
    keep(ent.info.last_modified, sizeof ent.info.last_modified, x->last_modified, strlen(x->last_modified));
    return f->rc = f->cb(f->ctx, &ent);
}

int tb_az_list(struct tb_az *az, const char *container, const char *prefix, const char *delimiter,
               tb_az_list_cb cb, void *ctx, tb_err *e)
{
    struct listfwd f = {cb, ctx, 0};
    char *marker = NULL;
    int rc = 0;
    do {
        char *ep = tb_az_encode(prefix ? prefix : "", 0), *ed = tb_az_encode(delimiter ? delimiter : "", 0);
        char *em = tb_az_encode(marker ? marker : "", 0), *q = NULL;
        char mr[32] = "";
        if (az->o.maxresults > 0) snprintf(mr, sizeof mr, "&maxresults=%d", az->o.maxresults);
        if (!ep || !ed || !em ||
            asprintf(&q, "restype=container&comp=list&include=metadata%s%s%s%s%s%s%s", *ep ? "&prefix=" : "", ep,
                     *ed ? "&delimiter=" : "", ed, *em ? "&marker=" : "", em, mr) < 0)
            q = NULL;
        free(ep);
        free(ed);
        free(em);
        free(marker);
        marker = NULL;
        if (!q) { rc = tb_fail(e, TB_ESOFTWARE, "out of memory"); break; }
        struct azreq r;
        rc = req_init(az, &r, "GET", container, NULL, q, e);
        free(q);
        if (rc) break;
        rc = req_run(az, &r, e);
        if (!rc) {
            rc = tb_azxml_list(r.body ? r.body : "", r.nbody, list_fwd, &f, &marker, e);
            if (f.rc) rc = tb_fail(e, f.rc, "listing az://%s/%s: stopped", az->cred.account, container);
            else if (rc) tb_err_wrap(e, "listing az://%s/%s", az->cred.account, container);
        }
        req_free(&r);
    } while (!rc && marker);
    free(marker);
    return rc;
}
