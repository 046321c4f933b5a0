/* http: the libcurl multi driver, body read callbacks, response capture, classification and the
 * retry/backoff policy (see http.h). */
#include "http.h"
#include "alloc.h"
#include "hash.h"
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

enum { ST_IDLE, ST_WAITING, ST_ACTIVE, ST_DONE };

struct tb_http {
    CURLM *multi;
    struct tb_http_cfg cfg;
    struct tb_http_req *waiting, *waiting_tail; /* not started, or backing off */
    struct tb_http_req *done, *done_tail;       /* finished, done() not yet called */
    int active;
    CURL **pool;
    size_t npool, cappool;
    uint64_t rng;
    uint64_t retries, bytes_sent;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void tb_http_cfg_defaults(struct tb_http_cfg *c)
{
    memset(c, 0, sizeof *c);
    c->max_attempts = 10;
    c->base_ms = 200;
    c->cap_ms = 20000;
    c->max_conns = 8;
    c->connect_timeout_ms = 10000;
    c->low_speed_secs = 30;
    c->low_speed_bytes = 1024;
}

int tb_http_new(struct tb_http **out, const struct tb_http_cfg *cfg, tb_err *e)
{
    (void)e; /* nothing can fail here any more: libcurl is set up by the first request (open_multi) */
    struct tb_http *h = tb_xcalloc(1, sizeof *h);
    if (cfg) h->cfg = *cfg;
    else tb_http_cfg_defaults(&h->cfg);
    if (h->cfg.max_attempts < 1) h->cfg.max_attempts = 1;
    if (h->cfg.max_conns < 1) h->cfg.max_conns = 1;
    if (h->cfg.base_ms <= 0) h->cfg.base_ms = 200;
    if (h->cfg.cap_ms <= 0) h->cfg.cap_ms = 20000;
    h->rng = h->cfg.seed ? h->cfg.seed : ((uint64_t)time(NULL) << 20) ^ (uint64_t)getpid() ^ (uint64_t)(uintptr_t)h;
    *out = h;
    return 0;
}

/* libcurl is loaded and initialised by the first request that needs HTTP, not by tb_http_new: a
 * file store's requests complete in prepare() and must not pay for it (it is most of the start-up
 * time of a local `manifest show` or `discover`). 0, or -1 when curl cannot be set up. */
static int open_multi(struct tb_http *h)
{
    if (h->multi) return 0;
    pthread_once(&curl_once, curl_init_once);
    h->multi = curl_multi_init();
    if (!h->multi) return -1;
    curl_multi_setopt(h->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)h->cfg.max_conns);
    curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, (long)h->cfg.max_conns + 2);
    return 0;
}

static void list_remove(struct tb_http_req **head, struct tb_http_req **tail, struct tb_http_req *r)
{
    struct tb_http_req *prev = NULL;
    for (struct tb_http_req *p = *head; p; prev = p, p = p->next) {
        if (p != r) continue;
        if (prev) prev->next = p->next;
        else *head = p->next;
        if (*tail == p) *tail = prev;
        p->next = NULL;
        return;
    }
}

static void list_push(struct tb_http_req **head, struct tb_http_req **tail, struct tb_http_req *r)
{
    r->next = NULL;
    if (*tail) (*tail)->next = r;
    else *head = r;
    *tail = r;
}

static void release_easy(struct tb_http *h, struct tb_http_req *r)
{
    if (!r->easy) return;
    curl_multi_remove_handle(h->multi, r->easy);
    tb_xgrow_n(&h->pool, &h->cappool, h->npool + 1, sizeof *h->pool, 16);
    h->pool[h->npool++] = r->easy;
    r->easy = NULL;
}

void tb_http_free(struct tb_http *h)
{
    if (!h) return;
    /* requests still active belong to callers; detach their easy handles */
    for (size_t i = 0; i < h->npool; i++) curl_easy_cleanup(h->pool[i]);
    free(h->pool);
    if (h->multi) curl_multi_cleanup(h->multi);
    free(h);
}

static void reset_attempt(struct tb_http_req *r)
{
    free(r->url);
    r->url = NULL;
    if (r->headers) curl_slist_free_all(r->headers); /* not for a local request: it would load libcurl */
    r->headers = NULL;
    r->method = NULL;
    r->body = TB_BODY_NONE;
    free(r->resp);
    r->resp = NULL;
    r->resp_len = 0;
    free(r->resp_hdrs);
    r->resp_hdrs = NULL;
    r->resp_hdrs_len = 0;
    r->status = 0;
    r->curl_rc = CURLE_OK;
    r->curl_msg[0] = 0;
    r->sent = 0;
    r->body_pos = 0;
    r->skip = 0;
}

void tb_http_req_clear(struct tb_http_req *r)
{
    reset_attempt(r);
}

void tb_http_set_url(struct tb_http_req *r, const char *url)
{
    free(r->url);
    r->url = tb_xstrdup(url);
}

void tb_http_header(struct tb_http_req *r, const char *fmt, ...)
{
    char buf[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    struct curl_slist *n = curl_slist_append(r->headers, buf);
    if (!n) tb_oom(strlen(buf)); /* curl_slist_append fails only when out of memory */
    r->headers = n;
}

int tb_http_resp_header(const struct tb_http_req *r, const char *name, char *out, size_t outsz)
{
    if (outsz) out[0] = 0;
    if (!r->resp_hdrs) return -1;
    size_t nl = strlen(name);
    const char *p = r->resp_hdrs;
    while (*p) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (len > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            const char *end = p + len;
            while (v < end && (*v == ' ' || *v == '\t')) v++;
            while (end > v && (end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t')) end--;
            size_t n = (size_t)(end - v);
            if (n >= outsz) n = outsz ? outsz - 1 : 0;
            if (outsz) { memcpy(out, v, n); out[n] = 0; }
            return 0;
        }
        if (!eol) break;
        p = eol + 1;
    }
    return -1;
}

/* ---- libcurl callbacks */

static size_t read_cb(char *buf, size_t size, size_t nitems, void *ud)
{
    struct tb_http_req *r = ud;
    size_t want = size * nitems;
    uint64_t left = r->body.len - r->body_pos;
    if (want > left) want = (size_t)left;
    if (want == 0) return 0;
    if (r->body.fd >= 0) {
        ssize_t n = pread(r->body.fd, buf, want, (off_t)(r->body.off + r->body_pos));
        if (n < 0) {
            snprintf(r->err.msg, sizeof r->err.msg, "reading the body: %s", strerror(errno));
            r->err.code = TB_EIO;
            return CURL_READFUNC_ABORT;
        }
        if (n == 0) {
            snprintf(r->err.msg, sizeof r->err.msg, "reading the body: file shrank while being sent");
            r->err.code = TB_EDATA;
            return CURL_READFUNC_ABORT;
        }
        want = (size_t)n;
    } else {
        memcpy(buf, (const char *)r->body.mem + r->body.off + r->body_pos, want);
    }
    r->body_pos += want;
    r->sent += want;
    r->owner->bytes_sent += want;
    return want;
}

static int seek_cb(void *ud, curl_off_t off, int origin)
{
    struct tb_http_req *r = ud;
    if (origin != SEEK_SET || off < 0 || (uint64_t)off > r->body.len) return CURL_SEEKFUNC_CANTSEEK;
    r->body_pos = (uint64_t)off;
    return CURL_SEEKFUNC_OK;
}

/* What a capture buffer holding len bytes (and a NUL) was grown to: tb_xgrow's doubling from 4 KiB
 * gives the same size for the same length, so the capacity need not be kept in the request. (A
 * header buffer restarted after a 1xx may be larger than that: growing it again only resizes.) */
static size_t buf_cap(const char *buf, size_t len)
{
    if (!buf) return 0;
    size_t c = 4096;
    while (c < len + 1) c *= 2;
    return c;
}

static int capture(struct tb_http_req *r, const char *p, size_t n, size_t limit)
{
    if (r->resp_len + n > limit) return -1;
    size_t cap = buf_cap(r->resp, r->resp_len);
    tb_xgrow(&r->resp, &cap, r->resp_len + n + 1);
    memcpy(r->resp + r->resp_len, p, n);
    r->resp_len += n;
    r->resp[r->resp_len] = 0;
    return 0;
}

static size_t write_cb(char *p, size_t size, size_t nmemb, void *ud)
{
    struct tb_http_req *r = ud;
    size_t n = size * nmemb;
    long status = 0;
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 300) { /* error bodies are always captured (bounded), never given to a sink */
        if (r->resp_len < 65536) capture(r, p, n < 65536 - r->resp_len ? n : 65536 - r->resp_len, 65536);
        return n;
    }
    if (r->sink) {
        size_t drop = r->skip < n ? (size_t)r->skip : n; /* already delivered by an earlier attempt */
        if (drop == n) { r->skip -= n; return n; }
        size_t k = r->sink(r->ud, p + drop, n - drop);
        if (k == CURL_WRITEFUNC_PAUSE) return k; /* curl hands the whole chunk over again */
        r->skip -= drop;
        if (k == n - drop) { r->delivered += k; return n; }
        if (!r->err.code) { r->err.code = TB_EIO; snprintf(r->err.msg, sizeof r->err.msg, "writing the response failed"); }
        return 0;
    }
    size_t limit = r->resp_max ? r->resp_max : (8u << 20);
    if (capture(r, p, n, limit) < 0) {
        r->err.code = TB_EDATA;
        snprintf(r->err.msg, sizeof r->err.msg, "response larger than %zu bytes", limit);
        return 0;
    }
    return n;
}

static size_t header_cb(char *p, size_t size, size_t nitems, void *ud)
{
    struct tb_http_req *r = ud;
    size_t n = size * nitems;
    if (n >= 5 && memcmp(p, "HTTP/", 5) == 0) { /* a new response (after 1xx or a redirect) */
        r->resp_hdrs_len = 0;
        /* a resume that got the whole object again (no Range support, or If-Range failed): its
         * start was delivered already (the sink's owner checks validators if it must) */
        const char *sp = memchr(p, ' ', n);
        int code = sp ? atoi(sp + 1) : 0;
        r->skip = code == 200 && r->delivered > 0 ? r->delivered : 0;
    }
    if (r->resp_hdrs_len + n > 65536) return n;
    size_t cap = buf_cap(r->resp_hdrs, r->resp_hdrs_len);
    tb_xgrow(&r->resp_hdrs, &cap, r->resp_hdrs_len + n + 1);
    memcpy(r->resp_hdrs + r->resp_hdrs_len, p, n);
    r->resp_hdrs_len += n;
    r->resp_hdrs[r->resp_hdrs_len] = 0;
    return n;
}

/* ---- attempts */

static void finish(struct tb_http *h, struct tb_http_req *r)
{
    r->state = ST_DONE;
    list_push(&h->done, &h->done_tail, r);
}

static int has_header(const struct curl_slist *l, const char *name)
{
    size_t n = strlen(name);
    for (; l; l = l->next)
        if (strncasecmp(l->data, name, n) == 0 && (l->data[n] == ':' || l->data[n] == ';')) return 1;
    return 0;
}

static void start_attempt(struct tb_http *h, struct tb_http_req *r)
{
    reset_attempt(r);
    r->err.code = 0;
    r->err.msg[0] = 0;
    r->attempt++;
    tb_err pe = {0};
    int rc = r->prepare(r, r->ud, &pe);
    if (rc) {
        r->cls = TB_HTTP_LOCAL;
        r->err = pe;
        r->err.code = rc;
        finish(h, r);
        return;
    }
    if (!r->method || !r->url) {
        r->cls = TB_HTTP_LOCAL;
        tb_fail(&r->err, TB_ESOFTWARE, "request prepared without a method or URL");
        finish(h, r);
        return;
    }
    CURL *c = open_multi(h) ? NULL : h->npool ? h->pool[--h->npool] : curl_easy_init();
    if (!c) {
        r->cls = TB_HTTP_LOCAL;
        tb_fail(&r->err, TB_ESOFTWARE, "curl_easy_init failed");
        finish(h, r);
        return;
    }
    curl_easy_reset(c);
    r->easy = c;
    curl_easy_setopt(c, CURLOPT_URL, r->url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PRIVATE, r);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, r->curl_msg);
    /* No total timeout: a 10 GB part may rightly take an hour. What bounds an attempt is the connect
     * timeout (never longer than --timeout) and the low-speed limit, which also covers a server that
     * accepts and never answers, or stalls halfway through a body. */
    long stall_s = h->cfg.low_speed_secs > 0 ? h->cfg.low_speed_secs : 30L;
    long connect_ms = h->cfg.connect_timeout_ms > 0 ? h->cfg.connect_timeout_ms : 10000L;
    if (connect_ms > stall_s * 1000) connect_ms = stall_s * 1000;
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, h->cfg.low_speed_bytes > 0 ? h->cfg.low_speed_bytes : 1024L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, stall_s);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L); /* keys like "a/../b" are literal: never squash them */
    if (r->follow_redirects) {
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
        curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    }
    if (r->fresh_connect) {
        curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L);
        curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
    }
    if (h->cfg.insecure) {
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    /* Expect: 100-continue costs a round trip per PUT; the bodies are re-readable anyway */
    if (!has_header(r->headers, "Expect")) tb_http_header(r, "Expect:");
    int has_body = r->body.len > 0 || r->body.mem || r->body.fd >= 0;
    if (strcmp(r->method, "HEAD") == 0) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (strcmp(r->method, "PUT") == 0) {
        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->body.len);
    } else if (strcmp(r->method, "POST") == 0) {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body.len);
        if (!has_header(r->headers, "Content-Type")) tb_http_header(r, "Content-Type:");
    } else if (strcmp(r->method, "GET") != 0) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r->method);
        if (has_body) {
            curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
            curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->body.len);
        }
    }
    if (has_body || strcmp(r->method, "PUT") == 0 || strcmp(r->method, "POST") == 0) {
        /* 512 KiB per read callback and send() instead of 64 KiB: an eighth of the calls */
        if (r->body.len > (64u << 10)) curl_easy_setopt(c, CURLOPT_UPLOAD_BUFFERSIZE, 512L << 10);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
        curl_easy_setopt(c, CURLOPT_READDATA, r);
        curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, seek_cb);
        curl_easy_setopt(c, CURLOPT_SEEKDATA, r);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, r->headers);
    r->state = ST_ACTIVE;
    r->started = now_s();
    h->active++;
    CURLMcode mc = curl_multi_add_handle(h->multi, c);
    if (mc != CURLM_OK) {
        h->active--;
        release_easy(h, r);
        r->cls = TB_HTTP_LOCAL;
        tb_fail(&r->err, TB_ESOFTWARE, "curl_multi_add_handle: %s", curl_multi_strerror(mc));
        finish(h, r);
    }
}

int tb_http_submit(struct tb_http *h, struct tb_http_req *r)
{
    if (!r->prepare) return TB_ESOFTWARE;
    r->owner = h;
    r->attempt = 0;
    r->retries = 0;
    r->delivered = 0;
    r->due = 0;
    r->easy = NULL;
    r->url = NULL;
    r->headers = NULL;
    r->resp = NULL;
    r->resp_hdrs = NULL;
    r->cls = TB_HTTP_OK;
    memset(&r->err, 0, sizeof r->err);
    r->state = ST_WAITING;
    list_push(&h->waiting, &h->waiting_tail, r);
    return 0;
}

void tb_http_cancel(struct tb_http *h, struct tb_http_req *r)
{
    if (r->state == ST_WAITING) list_remove(&h->waiting, &h->waiting_tail, r);
    else if (r->state == ST_ACTIVE) { release_easy(h, r); h->active--; }
    else if (r->state == ST_DONE) list_remove(&h->done, &h->done_tail, r);
    r->state = ST_IDLE;
}

/* ---- classification */

void tb_http_xml_error(const char *body, size_t len, char *code, size_t codesz, char *msg, size_t msgsz)
{
    if (codesz) code[0] = 0;
    if (msgsz) msg[0] = 0;
    if (!body || !len) return;
    struct { const char *open, *close; char *out; size_t sz; } f[] = {
        {"<Code>", "</Code>", code, codesz}, {"<Message>", "</Message>", msg, msgsz},
    };
    for (int i = 0; i < 2; i++) {
        const char *a = memmem(body, len, f[i].open, strlen(f[i].open));
        if (!a || !f[i].sz) continue;
        a += strlen(f[i].open);
        const char *b = memmem(a, len - (size_t)(a - body), f[i].close, strlen(f[i].close));
        if (!b) continue;
        size_t n = (size_t)(b - a);
        if (n >= f[i].sz) n = f[i].sz - 1;
        memcpy(f[i].out, a, n);
        f[i].out[n] = 0;
        for (char *c = f[i].out; *c; c++) if (*c == '\n' || *c == '\r') *c = ' ';
    }
}

static int code_in(const char *code, const char *const *list)
{
    for (; *list; list++) if (strcmp(code, *list) == 0) return 1;
    return 0;
}

enum tb_http_class tb_http_classify_default(struct tb_http_req *r, void *ud)
{
    (void)ud;
    static const char *const retry_codes[] = {"SlowDown", "RequestTimeout", "InternalError", "ServiceUnavailable",
                                              "ServerBusy", "OperationTimedOut", "Throttling", "ThrottlingException",
                                              "TooManyRequests", "RequestTimeoutException", "InternalServerError", NULL};
    static const char *const auth_codes[] = {"SignatureDoesNotMatch", "InvalidAccessKeyId", "AccessDenied",
                                             "AuthorizationHeaderMalformed", "AuthenticationFailed", "ExpiredToken",
                                             "InvalidToken", "TokenRefreshRequired", "AuthorizationFailure",
                                             "InvalidSecurity", "MissingSecurityHeader", "RequestTimeTooSkewed", NULL};
    if (r->err.code && r->curl_rc != CURLE_OK) return TB_HTTP_LOCAL; /* our read/write side failed */
    switch (r->curl_rc) {
    case CURLE_OK: break;
    case CURLE_PEER_FAILED_VERIFICATION: case CURLE_SSL_CACERT_BADFILE: case CURLE_SSL_CERTPROBLEM:
    case CURLE_UNSUPPORTED_PROTOCOL: case CURLE_URL_MALFORMAT:
        tb_fail(&r->err, TB_EUNAVAIL, "%s", r->curl_msg[0] ? r->curl_msg : curl_easy_strerror(r->curl_rc));
        return TB_HTTP_LOCAL;
    default:
        return TB_HTTP_RETRY;
    }
    long s = r->status;
    if ((s >= 200 && s < 300) || s == 304) return TB_HTTP_OK;
    char code[128], msg[8];
    tb_http_xml_error(r->resp, r->resp_len, code, sizeof code, msg, sizeof msg);
    if (!code[0]) tb_http_resp_header(r, "x-ms-error-code", code, sizeof code);
    if (code[0] && code_in(code, retry_codes)) return TB_HTTP_RETRY;
    if (code[0] && code_in(code, auth_codes)) return TB_HTTP_AUTH;
    if (s == 408 || s == 429 || s == 500 || s == 502 || s == 503 || s == 504) return TB_HTTP_RETRY;
    if (s == 401 || s == 403) return TB_HTTP_AUTH;
    if (s == 404) return TB_HTTP_NOTFOUND;
    if (s == 409 || s == 412) return TB_HTTP_PRECOND;
    if (s >= 500) return TB_HTTP_RETRY;
    return TB_HTTP_CLIENT;
}

int tb_http_class_exit(enum tb_http_class c)
{
    switch (c) {
    case TB_HTTP_OK: return 0;
    case TB_HTTP_RETRY: return TB_EUNAVAIL;
    case TB_HTTP_AUTH: return TB_ENOPERM;
    case TB_HTTP_NOTFOUND: return TB_ENOINPUT;
    case TB_HTTP_PRECOND: return TB_EDATA;
    case TB_HTTP_CLIENT: return TB_EDATA;
    case TB_HTTP_LOCAL: return TB_EIO;
    }
    return TB_ESOFTWARE;
}

/* A uniform double in [0, 1) (xorshift64*: only jitter, no need for quality). */
static double rand01(uint64_t *rng)
{
    uint64_t x = *rng ? *rng : 0x9E3779B97F4A7C15ull;
    x ^= x >> 12; x ^= x << 25; x ^= x >> 27;
    *rng = x;
    return (double)((x * 2685821657736338717ull) >> 11) / (double)(1ull << 53);
}

long tb_backoff_ms(int attempt, int base_ms, int cap_ms, uint64_t *rng)
{
    double ceil = (double)base_ms;
    for (int i = 1; i < attempt && ceil < cap_ms; i++) ceil *= 2;
    if (ceil > cap_ms) ceil = cap_ms;
    return (long)(rand01(rng) * ceil);
}

/* A non-negative integer of at most 9 digits (n bytes at s), else -1. */
static long small_int(const char *s, size_t n)
{
    if (n == 0 || n > 9) return -1;
    long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t') p++;
    return p;
}

static long retry_after_s(const char *v, time_t now)
{
    if (!v) return -1;
    v = skip_ws(v);
    size_t n = strlen(v);
    while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\r' || v[n - 1] == '\n')) n--;
    if (n == 0) return -1;
    long s = small_int(v, n);
    if (s >= 0) return s;
    /* an HTTP date (IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT") */
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = strptime(v, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (!end) return -1;
    time_t t = timegm(&tm);
    if (t == (time_t)-1) return -1;
    return t > now ? (long)(t - now) : 0;
}

/* The RateLimit header's wait in seconds (see http.h), -1 when it names none. */
static long ratelimit_s(const char *h)
{
    if (!h) return -1;
    long best_r0 = -1, best_any = -1, reset = -1;
    const char *p = h;
    while (*p) {
        /* one comma-separated item; ';'-separated members; quotes may hold ',' and ';' */
        long r = -1, t = -1;
        for (;;) {
            p = skip_ws(p);
            const char *k = p;
            int inq = 0;
            while (*p && (inq || (*p != ';' && *p != ','))) {
                if (*p == '"') inq = !inq;
                p++;
            }
            const char *me = p;
            while (me > k && (me[-1] == ' ' || me[-1] == '\t')) me--;
            const char *eq = memchr(k, '=', (size_t)(me - k));
            if (eq && *k != '"') {
                size_t kn = (size_t)(eq - k);
                const char *v = eq + 1;
                while (v < me && (*v == ' ' || *v == '"')) v++;
                const char *ve = me;
                while (ve > v && ve[-1] == '"') ve--;
                long val = small_int(v, (size_t)(ve - v));
                if (val >= 0) {
                    if (kn == 1 && *k == 'r') r = val;
                    else if (kn == 1 && *k == 't') t = val;
                    else if (kn == 5 && strncasecmp(k, "reset", 5) == 0) reset = val > reset ? val : reset;
                }
            }
            if (*p != ';') break;
            p++;
        }
        if (t >= 0) {
            if (t > best_any) best_any = t;
            if (r == 0 && t > best_r0) best_r0 = t;
        }
        if (*p == ',') p++;
    }
    if (best_r0 >= 0) return best_r0;
    if (best_any >= 0) return best_any;
    return reset;
}

long tb_http_retry_hint_ms(const char *retry_after, const char *ratelimit, time_t now, long cap_ms)
{
    long a = retry_after_s(retry_after, now), b = ratelimit_s(ratelimit);
    long s = a > b ? a : b;
    if (s < 0) return -1;
    long ms = s > cap_ms / 1000 ? cap_ms : s * 1000;
    return ms > cap_ms ? cap_ms : ms;
}

long tb_http_retry_delay_ms(long backoff_ms, long hint_ms, uint64_t *rng)
{
    if (backoff_ms < 0) backoff_ms = 0;
    if (hint_ms < 0) return backoff_ms;
    long d = hint_ms > backoff_ms ? hint_ms : backoff_ms;
    return d + (long)(rand01(rng) * (double)(hint_ms / 10 + 1)); /* [0, hint/10] */
}

/* What the server of a retried attempt asked to wait: Retry-After always (429, 503, or any status
 * that carries it); the RateLimit header only on 429 and 503, where its reset time is the wait
 * (on other answers it describes a quota that is not exhausted). -1 when nothing was said. */
static long server_hint_ms(struct tb_http_req *r)
{
    char ra[128], rl[512];
    int has_ra = tb_http_resp_header(r, "Retry-After", ra, sizeof ra) == 0 && ra[0];
    int has_rl = (r->status == 429 || r->status == 503) && tb_http_resp_header(r, "RateLimit", rl, sizeof rl) == 0 && rl[0];
    if (!has_ra && !has_rl) return -1;
    return tb_http_retry_hint_ms(has_ra ? ra : NULL, has_rl ? rl : NULL, time(NULL), TB_HTTP_HINT_CAP_MS);
}

int tb_http_location(const char *base, const char *location, char **out, tb_err *e)
{
    *out = NULL;
    if (!location || !*location) return tb_fail(e, TB_EUNAVAIL, "a redirect without a Location");
    CURLU *u = curl_url();
    if (!u) tb_oom(0); /* curl_url fails only when out of memory */
    int rc = 0;
    char *scheme = NULL, *full = NULL;
    /* the flags libcurl's own redirect following uses: a relative reference resolves against the
     * URL already set; a space or a byte above 0x7f in the Location is percent-encoded */
    if (curl_url_set(u, CURLUPART_URL, base, 0) != CURLUE_OK ||
        curl_url_set(u, CURLUPART_URL, location, CURLU_URLENCODE | CURLU_ALLOW_SPACE) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK || curl_url_get(u, CURLUPART_URL, &full, 0) != CURLUE_OK) {
        rc = tb_fail(e, TB_EUNAVAIL, "a redirect to a Location that cannot be resolved");
    } else if (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0) {
        rc = tb_fail(e, TB_EUNAVAIL, "a redirect to a %s: URL (only http and https are followed)", scheme);
    } else {
        *out = tb_xstrdup(full);
    }
    if (scheme) curl_free(scheme);
    if (full) curl_free(full);
    curl_url_cleanup(u);
    return rc;
}

static void describe_failure(struct tb_http_req *r)
{
    if (r->cls == TB_HTTP_LOCAL && r->err.code) return;
    if (r->curl_rc != CURLE_OK) {
        tb_fail(&r->err, tb_http_class_exit(r->cls), "%s%s", r->curl_msg[0] ? r->curl_msg : curl_easy_strerror(r->curl_rc),
                r->attempt > 1 ? "" : "");
        if (r->attempt > 1) {
            size_t n = strlen(r->err.msg);
            snprintf(r->err.msg + n, sizeof r->err.msg - n, " (after %d attempts)", r->attempt);
        }
        return;
    }
    char code[128], msg[600];
    tb_http_xml_error(r->resp, r->resp_len, code, sizeof code, msg, sizeof msg);
    if (!code[0]) tb_http_resp_header(r, "x-ms-error-code", code, sizeof code);
    if (!code[0]) { /* HEAD answers carry no body: name the status at least */
        const char *reason = r->status == 400 ? "Bad Request" : r->status == 401 ? "Unauthorized" : r->status == 403 ? "Forbidden"
                           : r->status == 404 ? "Not Found" : r->status == 409 ? "Conflict" : r->status == 412 ? "Precondition Failed"
                           : r->status == 429 ? "Too Many Requests" : r->status == 500 ? "Internal Server Error"
                           : r->status == 503 ? "Service Unavailable" : "";
        snprintf(code, sizeof code, "%s", reason);
        if (r->cls == TB_HTTP_AUTH) snprintf(msg, sizeof msg, "credentials or permissions refused");
    }
    tb_fail(&r->err, tb_http_class_exit(r->cls), "HTTP %ld%s%s%s%s", r->status, code[0] ? " " : "", code,
            msg[0] ? ": " : "", msg);
    if (r->attempt > 1 && r->cls == TB_HTTP_RETRY) {
        size_t n = strlen(r->err.msg);
        snprintf(r->err.msg + n, sizeof r->err.msg - n, " (after %d attempts)", r->attempt);
    }
}

/* -v: one line per finished attempt. Only the method, the URL (through tb_redact, by tb_warn: query
 * signatures, credentials and tokens blanked) and the outcome: never a header. */
static void log_attempt(struct tb_http *h, struct tb_http_req *r, int max, long retry_ms)
{
    char outcome[320];
    if (r->curl_rc != CURLE_OK)
        snprintf(outcome, sizeof outcome, "error: %s", r->curl_msg[0] ? r->curl_msg : curl_easy_strerror(r->curl_rc));
    else
        snprintf(outcome, sizeof outcome, "%ld", r->status);
    char retry[64] = "";
    if (retry_ms >= 0) snprintf(retry, sizeof retry, "; retrying in %.3f s", retry_ms / 1000.0);
    tb_warn(h->cfg.log_cmd ? h->cfg.log_cmd : "http", "%s %s -> %s (attempt %d/%d, %.3f s)%s", r->method, r->url, outcome,
            r->attempt, max, now_s() - r->started, retry);
}

static void on_complete(struct tb_http *h, struct tb_http_req *r, CURLcode rc)
{
    r->curl_rc = rc;
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->status);
    release_easy(h, r);
    h->active--;
    if (rc != CURLE_OK && r->err.code) r->cls = TB_HTTP_LOCAL; /* our callback aborted */
    else r->cls = r->classify ? r->classify(r, r->ud) : tb_http_classify_default(r, r->ud);
    int max = r->max_attempts > 0 ? r->max_attempts : h->cfg.max_attempts;
    if (r->cls == TB_HTTP_RETRY && r->attempt < max) {
        long d = tb_http_retry_delay_ms(tb_backoff_ms(r->attempt, h->cfg.base_ms, h->cfg.cap_ms, &h->rng),
                                        server_hint_ms(r), &h->rng);
        if (h->cfg.verbose) log_attempt(h, r, max, d);
        r->due = now_s() + d / 1000.0;
        r->retries++;
        h->retries++;
        r->state = ST_WAITING;
        list_push(&h->waiting, &h->waiting_tail, r);
        return;
    }
    if (h->cfg.verbose) log_attempt(h, r, max, -1);
    if (r->cls != TB_HTTP_OK) describe_failure(r);
    finish(h, r);
}

/* Start what may start; return ms until the earliest backoff ends (-1: nothing waiting on time). */
static long start_due(struct tb_http *h)
{
    double t = now_s();
    long wait = -1;
    struct tb_http_req *r = h->waiting;
    while (r && h->active < h->cfg.max_conns) {
        struct tb_http_req *next = r->next;
        if (r->due <= t) {
            list_remove(&h->waiting, &h->waiting_tail, r);
            start_attempt(h, r);
        } else {
            long ms = (long)((r->due - t) * 1000) + 1;
            if (wait < 0 || ms < wait) wait = ms;
        }
        r = next;
    }
    return wait;
}

static int deliver_done(struct tb_http *h)
{
    int n = 0;
    while (h->done) {
        struct tb_http_req *r = h->done;
        h->done = r->next;
        if (!h->done) h->done_tail = NULL;
        r->next = NULL;
        n++;
        if (r->done) r->done(r, r->ud);
    }
    return n;
}

static int pending(const struct tb_http *h)
{
    int n = h->active;
    for (const struct tb_http_req *r = h->waiting; r; r = r->next) n++;
    for (const struct tb_http_req *r = h->done; r; r = r->next) n++;
    return n;
}

int tb_http_perform(struct tb_http *h, int timeout_ms)
{
    long wait = start_due(h);
    if (h->done) { deliver_done(h); return pending(h); }
    int still = 0;
    if (h->multi) curl_multi_perform(h->multi, &still);
    int t = timeout_ms;
    if (wait >= 0 && wait < t) t = (int)wait;
    if (h->active > 0 && t > 0) {
        curl_multi_poll(h->multi, NULL, 0, t, NULL);
        curl_multi_perform(h->multi, &still);
    } else if (h->active == 0 && t > 0 && wait >= 0) {
        struct timespec ts = {t / 1000, (long)(t % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    CURLMsg *m;
    int left;
    while (h->multi && (m = curl_multi_info_read(h->multi, &left))) {
        if (m->msg != CURLMSG_DONE) continue;
        struct tb_http_req *r = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
        if (r) on_complete(h, r, m->data.result);
    }
    start_due(h);
    deliver_done(h);
    return pending(h);
}

static void run_done(struct tb_http_req *r, void *ud)
{
    (void)r;
    (void)ud;
}

int tb_http_run(struct tb_http *h, struct tb_http_req *r, tb_err *e)
{
    if (!r->done) r->done = run_done;
    int rc = tb_http_submit(h, r);
    if (rc) return tb_fail(e, rc, "bad request");
    while (r->state != ST_DONE) tb_http_perform(h, 200);
    if (r->cls == TB_HTTP_OK) return 0;
    if (e) *e = r->err;
    return r->err.code ? r->err.code : tb_http_class_exit(r->cls);
}

void tb_http_unpause(struct tb_http_req *r)
{
    if (r->easy && r->state == ST_ACTIVE) curl_easy_pause(r->easy, CURLPAUSE_CONT);
}

int tb_http_finished(const struct tb_http_req *r) { return r->state == ST_DONE; }

uint64_t tb_http_retries(const struct tb_http *h) { return h->retries; }
uint64_t tb_http_bytes_sent(const struct tb_http *h) { return h->bytes_sent; }
