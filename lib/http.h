/* http: libcurl easy handles driven by one multi handle, with the retry policy every store shares.
 *
 * One `struct tb_http` = one CURLM plus a pool of reusable easy handles (keep-alive connections are
 * kept by the multi's connection cache). A `struct tb_http_req` is one logical request: the layer
 * makes up to cfg.max_attempts attempts, waiting between them with exponential backoff and full
 * jitter (delay = uniform(0, min(cap, base * 2^attempt))), or for what the server asked when that
 * is longer (Retry-After; on a 429 or 503 also the RateLimit header's reset time, as the Hugging
 * Face Hub sends it) plus a jitter of up to a tenth of it, and calls req->done exactly once with
 * the final outcome.
 *
 * Before EVERY attempt the layer clears the method/URL/headers it built last time and calls
 * req->prepare, so a signer (SigV4, Shared Key) signs each attempt with a fresh date, and a GET that
 * already delivered N bytes to its sink can ask for the rest only (req->delivered).
 *
 * Bodies are (fd, offset, length) regions or memory, never a stream: that is what makes a retry
 * possible without buffering (the read callback re-reads the region from its start with pread).
 *
 * Error classes: the layer classifies each attempt (transport error, HTTP status, and the store's
 * <Code> in an XML error body) and decides whether to retry; req->classify can override.
 * No global state: libcurl's global init is done once by tb_http_new under pthread_once. */
#ifndef TB_HTTP_H
#define TB_HTTP_H
#include "err.h"
#include <curl/curl.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

enum tb_http_class {
    TB_HTTP_OK = 0,       /* 2xx (and 304 for conditional GETs) */
    TB_HTTP_RETRY,        /* transient: connection reset/refused, timeout, 429, 500, 502, 503, 504,
                           * SlowDown, RequestTimeout, InternalError, ServerBusy, OperationTimedOut */
    TB_HTTP_AUTH,         /* 401/403 or a signature/credential <Code>: never retried -> exit 77 */
    TB_HTTP_NOTFOUND,     /* 404 -> exit 66 (HEAD of a missing object is an answer, not a failure) */
    TB_HTTP_PRECOND,      /* 409 (Azure blob exists) / 412 (If-None-Match / If-Match failed) */
    TB_HTTP_CLIENT,       /* other 4xx: a request the store will never accept -> exit 65/70 */
    TB_HTTP_LOCAL,        /* our side: a body file could not be read, prepare failed -> its own code */
};

/* What a request sends. fd >= 0: bytes [off, off+len) of fd (read with pread, the fd is not owned).
 * fd < 0 and mem != NULL: len bytes at mem (not copied; must outlive the request). len == 0 and
 * both empty: no body. */
struct tb_body {
    int fd;
    const void *mem;
    uint64_t off, len;
};
#define TB_BODY_NONE ((struct tb_body){-1, NULL, 0, 0})

struct tb_http_cfg {
    int max_attempts;     /* total tries per request (default 10; 1 = no retry) */
    int base_ms, cap_ms;  /* backoff base and cap (defaults 200, 20000) */
    int max_conns;        /* parallel transfers (CURLMOPT_MAX_TOTAL_CONNECTIONS; default 8) */
    long connect_timeout_ms; /* default 10000 */
    long low_speed_secs;  /* abort an attempt that moves < low_speed_bytes/s for this long, waiting for
                           * the first byte included (default 30: --timeout) */
    long low_speed_bytes; /* default 1024 */
    int insecure;         /* skip TLS verification: only when the user asked (never a default) */
    int verbose;          /* one line per attempt on stderr: "trainbox CMD: METHOD URL -> STATUS (attempt
                           * i/n, elapsed)", and the retry delay; the URL goes through tb_redact and no
                           * header is printed, so no secret appears */
    const char *log_cmd;  /* CMD in those lines (default "http") */
    uint64_t seed;        /* jitter PRNG seed; 0 = from time and pid */
};
void tb_http_cfg_defaults(struct tb_http_cfg *c);

struct tb_http_req;
typedef int (*tb_http_prepare_fn)(struct tb_http_req *h, void *ud, tb_err *e);
typedef void (*tb_http_done_fn)(struct tb_http_req *h, void *ud);
typedef enum tb_http_class (*tb_http_classify_fn)(struct tb_http_req *h, void *ud);
/* Response body sink (GET): return n to continue, CURL_WRITEFUNC_PAUSE to refuse the bytes for now
 * (tb_http_unpause hands them over again), anything else aborts the transfer (not retried). A
 * resumed GET (delivered > 0) that the server answers with 200 instead of 206 gets only the bytes
 * after the delivered ones: the sink sees the object continue, never a second copy of its start. */
typedef size_t (*tb_http_sink_fn)(void *ud, const void *p, size_t n);

struct tb_http_req {
    /* ---- set by prepare() on each attempt (use the helpers below; freed/reset between attempts) */
    const char *method;       /* "GET", "PUT", "POST", "HEAD", "DELETE" (static string) */
    char *url;                /* tb_http_set_url */
    struct curl_slist *headers; /* tb_http_header */
    struct tb_body body;      /* sent with Content-Length = body.len for PUT/POST */
    /* ---- set once by the caller */
    tb_http_prepare_fn prepare;   /* required */
    tb_http_done_fn done;         /* required; called once, from tb_http_perform */
    tb_http_classify_fn classify; /* optional; NULL = tb_http_classify_default */
    tb_http_sink_fn sink;         /* optional; NULL = capture the body into resp (up to resp_max) */
    void *ud;                     /* passed to the callbacks above */
    size_t resp_max;              /* capture limit (default 8 MiB); more is a TB_HTTP_LOCAL error */
    int max_attempts;             /* 0 = the tb_http's cfg value */
    int follow_redirects;         /* follow 3xx Location (up to 10): only for requests that carry no
                                   * credential, since every header goes along to the new host.
                                   * Without it a 3xx is the answer: the default classifier calls it
                                   * TB_HTTP_CLIENT (never retried); a caller that follows by hand
                                   * classifies it itself and resolves Location with tb_http_location */
    int fresh_connect;            /* every attempt on a new connection, closed after it: libcurl
                                   * silently sends a request again when a reused connection closes
                                   * before any answer, which a request that must never be sent twice
                                   * (a Vast.ai create) cannot allow */
    /* ---- results, valid in done() (and in classify()) */
    int attempt;              /* attempts made so far (1-based once started) */
    int retries;              /* attempts that were retried */
    enum tb_http_class cls;   /* outcome class of the last attempt */
    long status;              /* HTTP status of the last attempt, 0 if none */
    CURLcode curl_rc;         /* transport result of the last attempt */
    char curl_msg[CURL_ERROR_SIZE];
    char *resp;               /* captured body (NUL-terminated), when sink == NULL */
    size_t resp_len;
    char *resp_hdrs;          /* raw response header block of the last attempt ("Name: v\r\n"...) */
    size_t resp_hdrs_len;
    uint64_t delivered;       /* body bytes handed to sink over all attempts (for ranged resumes) */
    uint64_t sent;            /* body bytes sent in the current attempt (progress) */
    tb_err err;               /* filled when cls != OK: a readable "HTTP 503 SlowDown: msg" etc. */
    /* ---- private to http.c */
    struct tb_http *owner;
    CURL *easy;
    double due;               /* when the next attempt may start (backoff) */
    double started;           /* when the current attempt started (for the -v log) */
    struct tb_http_req *next; /* waiting / done lists */
    uint64_t body_pos;
    uint64_t skip;            /* body bytes of this attempt to drop: a resumed GET answered 200 */
    int state;
};

struct tb_http;
int tb_http_new(struct tb_http **out, const struct tb_http_cfg *cfg, tb_err *e);
void tb_http_free(struct tb_http *h); /* cancels whatever is still in flight (done() not called) */

/* Queue a request (zero the struct, set prepare/done/ud, then submit). Its first attempt starts
 * at once if a connection slot is free. Returns 0, or an error if the request is malformed. */
int tb_http_submit(struct tb_http *h, struct tb_http_req *r);
/* Drive transfers for at most timeout_ms (0: don't block); calls done() of finished requests.
 * Returns the number of requests still queued, waiting or in flight. */
int tb_http_perform(struct tb_http *h, int timeout_ms);
/* Submit one request and drive until it is done (done() may be NULL for this call). Returns 0 when
 * the class is OK, else the exit code in r->err. Other in-flight requests progress meanwhile. */
int tb_http_run(struct tb_http *h, struct tb_http_req *r, tb_err *e);
/* Has r reached its final outcome (done() called or about to be)? */
int tb_http_finished(const struct tb_http_req *r);
/* Cancel one request (queued, waiting or in flight); done() is not called. */
void tb_http_cancel(struct tb_http *h, struct tb_http_req *r);
/* Let a GET whose sink returned CURL_WRITEFUNC_PAUSE (its buffer is full) receive again; the
 * bytes it refused are handed to it again, possibly before this returns. */
void tb_http_unpause(struct tb_http_req *r);
/* Release what a finished request holds (url, headers, resp, resp_hdrs); the struct may be reused. */
void tb_http_req_clear(struct tb_http_req *r);

/* Helpers for prepare(). */
void tb_http_set_url(struct tb_http_req *r, const char *url);
void tb_http_header(struct tb_http_req *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Value of a response header (case-insensitive name), copied into out (trimmed); 0 if found. */
int tb_http_resp_header(const struct tb_http_req *r, const char *name, char *out, size_t outsz);

/* The default classifier and the exit code each class means (AUTH 77, NOTFOUND 66, RETRY after
 * the last attempt 69, CLIENT 65, LOCAL: err.code). */
enum tb_http_class tb_http_classify_default(struct tb_http_req *r, void *ud);
int tb_http_class_exit(enum tb_http_class c);
/* Extract <Code> and <Message> from an S3/GCS/Azure XML error body (either may be left empty). */
void tb_http_xml_error(const char *body, size_t len, char *code, size_t codesz, char *msg, size_t msgsz);
/* Full-jitter delay in ms for the given attempt number (1 = first retry). */
long tb_backoff_ms(int attempt, int base_ms, int cap_ms, uint64_t *rng);

/* The longest wait a server's hint may impose on one retry (the Hub sends t=55 and more). */
#define TB_HTTP_HINT_CAP_MS 120000L
/* Milliseconds the server asked to wait before retrying, from the Retry-After header (delta
 * seconds or an HTTP date, against now) and the RateLimit header (the IETF draft's structured form
 * `"api";r=0;t=55`, several policies comma-separated: the largest t of a policy with r=0, else the
 * largest t; also the older `limit=100, remaining=0, reset=55`); the larger of the two, capped at
 * cap_ms. -1 when neither says anything. Either header may be NULL. Pure. */
long tb_http_retry_hint_ms(const char *retry_after, const char *ratelimit, time_t now, long cap_ms);
/* The wait before a retry, given the backoff drawn for it and the server's hint (-1: none): the
 * backoff when there is no hint, else max(backoff, hint) plus a jitter drawn uniformly from
 * [0, hint / 10], so that many clients told the same reset time do not all come back in the same
 * instant. At most hint_cap + hint_cap / 10 with a hint of at most hint_cap. Pure but for rng. */
long tb_http_retry_delay_ms(long backoff_ms, long hint_ms, uint64_t *rng);
/* A redirect's Location resolved against the URL that answered it (RFC 3986 reference resolution,
 * as libcurl does when it follows: absolute, "//host/p", "/p", "p", "?q", dot segments removed;
 * spaces and bytes above 0x7f percent-encoded). *out malloc'd. 0, or TB_EUNAVAIL with e filled when
 * it cannot be resolved or names a scheme other than http(s). */
int tb_http_location(const char *base, const char *location, char **out, tb_err *e);

/* Totals over the handle's life, for progress lines: retries made, body bytes sent. */
uint64_t tb_http_retries(const struct tb_http *h);
uint64_t tb_http_bytes_sent(const struct tb_http *h);
#endif
