/* store_http: a plain http(s):// URL as a read-only store. HEAD and GET (byte ranges included) are
 * the only operations; anything else is a usage error (64) before any request. TLS is verified
 * (libcurl's default; --insecure is not offered).
 *
 * Keys: "" (what tb_store_key_of gives for an http URI) is the root URL itself; an absolute
 * http(s):// URL is used as is; any other key is appended to a root that ends in '/'.
 *
 * Redirects: without a credential libcurl follows them (nothing can leak). With cfg.bearer_token
 * (HF_TOKEN for a Hub store) they are followed here, hop by hop, so that each hop decides on its
 * own whether the token goes along: `Authorization: Bearer T` is sent only to a URL whose origin is
 * cfg.bearer_origin's (tb_hf_may_send_token: same scheme, host and port), never to the CDN a Hub
 * resolve URL redirects to. A 301/302/303/307/308 with a Location ends the exchange; finish
 * resolves the Location against the URL that answered (tb_http_location), keeps it in the
 * request's scratch and returns TB_STORE_AGAIN, so prepare runs again on the new URL; more than
 * TB_HTTP_MAX_HOPS hops is 69.
 *
 * Resumes: lib/http retries a GET that dropped mid-body from the byte it reached (h->delivered),
 * on the last URL reached (the CDN's, not the Hub's again). Such a resume carries If-Range with the
 * first response's validator (a strong ETag, else Last-Modified), so a file changed meanwhile comes
 * back whole with a 200, which lib/http and lib/src_remote turn into an error rather than a splice.
 * The validator is caught by a classifier hook, the one place that sees an attempt's response
 * headers before the retry is prepared. */
#include "alloc.h"
#include "hf.h"
#include "store.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TB_HTTP_MAX_HOPS 10
#define LOCATION_MAX 16384 /* a presigned CDN URL runs to 2 KB; a longer Location is refused */

struct http_ctx {
    char *token;  /* the bearer token (copied), or NULL */
    char *origin; /* where it may go: cfg.bearer_origin, else the root URL */
};

struct http_scratch {
    char validator[200]; /* the first response's strong ETag (quoted, as sent) or Last-Modified */
    char *url;           /* where the last redirect followed by hand led; NULL: the key's URL */
    int hops;            /* redirects followed by hand */
    char *key;           /* the key all this is about (a request struct reused for another key
                          * without tb_store_req_clear starts afresh) */
};

static const struct tb_store_backend http_backend;

int tb_store_http_open(struct tb_store *s, tb_err *e)
{
    if (s->root.scheme != TB_URI_HTTP && s->root.scheme != TB_URI_HTTPS)
        return tb_fail(e, TB_EUSAGE, "not an http(s) URL");
    s->be = &http_backend;
    s->be_ctx = NULL;
    if (s->cfg.bearer_token && *s->cfg.bearer_token) {
        struct http_ctx *c = tb_xcalloc(1, sizeof *c);
        c->token = tb_xstrdup(s->cfg.bearer_token);
        c->origin = tb_xstrdup(s->cfg.bearer_origin && *s->cfg.bearer_origin ? s->cfg.bearer_origin : s->root.url);
        s->be_ctx = c;
    }
    /* s->cfg holds the caller's pointers, which need not outlive the store: the backend keeps copies */
    s->cfg.bearer_token = NULL;
    s->cfg.bearer_origin = NULL;
    return 0;
}

static void http_close(struct tb_store *s)
{
    struct http_ctx *c = s->be_ctx;
    if (!c) return;
    /* the token does not outlive the store in freed memory */
    if (c->token) memset(c->token, 0, strlen(c->token));
    free(c->token);
    free(c->origin);
    free(c);
    s->be_ctx = NULL;
}

static int is_redirect(long status)
{
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

static char *url_of(const struct tb_store *s, const char *key)
{
    if (!key || !*key) return tb_xstrdup(s->root.url);
    if (strncmp(key, "http://", 7) == 0 || strncmp(key, "https://", 8) == 0) return tb_xstrdup(key);
    size_t n = strlen(s->root.url);
    if (n && s->root.url[n - 1] == '/') return tb_xasprintf("%s%s", s->root.url, key);
    return NULL;
}

/* Every attempt's answer passes here first: keep the validator of the first one that has a body;
 * a redirect with a Location, when followed by hand, is an answer for finish (not a client error). */
static enum tb_http_class http_classify(struct tb_http_req *h, void *ud)
{
    struct tb_store_req *r = ud;
    struct http_scratch *sc = r->be_scratch;
    if (!h->follow_redirects && h->curl_rc == CURLE_OK && is_redirect(h->status) &&
        tb_http_resp_header(h, "Location", NULL, 0) == 0)
        return TB_HTTP_OK;
    if (sc && !sc->validator[0] && (h->status == 200 || h->status == 206)) {
        char v[sizeof sc->validator];
        if (tb_http_resp_header(h, "ETag", v, sizeof v) == 0 && v[0] == '"') /* weak ETags ("W/...") may not */
            snprintf(sc->validator, sizeof sc->validator, "%s", v);
        else if (tb_http_resp_header(h, "Last-Modified", v, sizeof v) == 0 && v[0])
            snprintf(sc->validator, sizeof sc->validator, "%s", v);
    }
    return tb_http_classify_default(h, ud);
}

static void http_free_scratch(struct tb_store_req *r)
{
    struct http_scratch *sc = r->be_scratch;
    if (sc) { free(sc->url); free(sc->key); }
    free(sc);
    r->be_scratch = NULL;
}

static int http_prepare(struct tb_store *s, struct tb_store_req *r, struct tb_http_req *h, tb_err *e)
{
    if (r->op != TB_OP_HEAD && r->op != TB_OP_GET)
        return tb_fail(e, TB_EUSAGE, "%s is not supported for %s:// locations (they are read-only)", tb_store_op_name(r->op),
                       tb_scheme_name(s->root.scheme));
    struct http_scratch *sc = r->be_scratch;
    const char *key = r->key ? r->key : "";
    if (sc && strcmp(sc->key, key) != 0) {
        http_free_scratch(r);
        sc = NULL;
    }
    if (!sc) {
        sc = r->be_scratch = tb_xcalloc(1, sizeof *sc);
        sc->key = tb_xstrdup(key);
    }
    const struct http_ctx *c = s->be_ctx;
    if (sc->url) {
        tb_http_set_url(h, sc->url);
    } else {
        char *url = url_of(s, r->key);
        if (!url) return tb_fail(e, TB_EUSAGE, "%s: a key needs a root URL ending in '/' (%s)", r->key, s->root.url);
        tb_http_set_url(h, url);
        free(url);
    }
    /* a credential: every hop is ours to follow, and the token goes to its own origin only */
    h->follow_redirects = !(c && c->token);
    if (c && c->token && tb_hf_may_send_token(c->origin, h->url)) tb_http_header(h, "Authorization: Bearer %s", c->token);
    h->classify = http_classify;
    if (r->op == TB_OP_HEAD) { h->method = "HEAD"; return 0; }
    h->method = "GET";
    uint64_t off = r->range_off + h->delivered;
    if (r->range_len) {
        uint64_t last = r->range_off + r->range_len - 1;
        if (off > last) off = last; /* everything delivered: should not happen */
        tb_http_header(h, "Range: bytes=%llu-%llu", (unsigned long long)off, (unsigned long long)last);
    } else if (off) {
        tb_http_header(h, "Range: bytes=%llu-", (unsigned long long)off);
    }
    if (h->delivered && sc->validator[0]) tb_http_header(h, "If-Range: %s", sc->validator);
    return 0;
}

static void info_from(struct tb_http_req *h, struct tb_obj_info *in)
{
    char v[256];
    in->exists = 1;
    if (tb_http_resp_header(h, "Content-Range", v, sizeof v) == 0 && strchr(v, '/'))
        in->size = strtoull(strchr(v, '/') + 1, NULL, 10);
    else if (tb_http_resp_header(h, "Content-Length", v, sizeof v) == 0)
        in->size = strtoull(v, NULL, 10);
    if (tb_http_resp_header(h, "ETag", v, sizeof v) == 0) {
        const char *p = v;
        if (strncmp(p, "W/", 2) == 0) p += 2;
        while (*p == '"') p++;
        size_t n = strlen(p);
        while (n && p[n - 1] == '"') n--;
        snprintf(in->etag, sizeof in->etag, "%.*s", (int)n, p);
    }
    if (tb_http_resp_header(h, "Last-Modified", v, sizeof v) == 0) {
        time_t t = curl_getdate(v, NULL);
        in->mtime = t > 0 ? (int64_t)t : 0;
    }
}

/* A redirect followed by hand: the next hop's URL into the scratch, TB_STORE_AGAIN; or an error. */
static int next_hop(struct tb_store *s, struct tb_store_req *r, struct tb_http_req *h, tb_err *e)
{
    struct http_scratch *sc = r->be_scratch;
    char *u = tb_store_uri(s, r->key ? r->key : "");
    int rc = 0;
    char *loc = tb_xmalloc(LOCATION_MAX), *next = NULL;
    tb_http_resp_header(h, "Location", loc, LOCATION_MAX);
    if (strlen(loc) >= LOCATION_MAX - 1) {
        rc = tb_fail(e, TB_EUNAVAIL, "%s %s: HTTP %ld with a Location longer than %d bytes", tb_store_op_name(r->op), u, h->status,
                     LOCATION_MAX - 2);
    } else if (sc->hops >= TB_HTTP_MAX_HOPS) {
        rc = tb_fail(e, TB_EUNAVAIL, "%s %s: more than %d redirects", tb_store_op_name(r->op), u, TB_HTTP_MAX_HOPS);
    } else if ((rc = tb_http_location(h->url, loc, &next, e)) != 0) {
        tb_err_wrap(e, "%s %s: HTTP %ld", tb_store_op_name(r->op), u, h->status);
    } else {
        free(sc->url);
        sc->url = next;
        sc->hops++;
        rc = TB_STORE_AGAIN;
    }
    free(loc);
    free(u);
    return rc;
}

/* The final answer's headers are the caller's (a listing's Link, the Hub's X-Error-Code). */
static int keep_headers(struct tb_store_req *r, struct tb_http_req *h, int rc)
{
    free(r->resp_headers);
    r->resp_headers = h->resp_hdrs;
    h->resp_hdrs = NULL;
    h->resp_hdrs_len = 0;
    return rc;
}

static int http_finish(struct tb_store *s, struct tb_store_req *r, struct tb_http_req *h, tb_err *e)
{
    if (h->cls == TB_HTTP_OK && !h->follow_redirects && is_redirect(h->status)) return next_hop(s, r, h, e);
    if (r->op == TB_OP_HEAD && h->cls == TB_HTTP_NOTFOUND) return keep_headers(r, h, 0); /* an answer: info.exists = 0 */
    if (h->cls != TB_HTTP_OK) return keep_headers(r, h, tb_store_http_error(s, r, h, e));
    info_from(h, &r->info);
    if (r->op == TB_OP_GET && !r->sink) tb_store_take_body(r, h);
    return keep_headers(r, h, 0);
}

static const struct tb_store_backend http_backend = {
    .name = "http",
    .prepare = http_prepare,
    .finish = http_finish,
    .free_scratch = http_free_scratch,
    .close = http_close,
};
