/* store_http: a plain http(s):// URL as a read-only store. HEAD and GET (byte ranges included) are
 * the only operations; anything else is a usage error (64) before any request. TLS is verified
 * (libcurl's default; --insecure is not offered). Redirects are followed: no request of this backend
 * carries a credential yet, so nothing can leak to the host a redirect names (when a token comes,
 * it must be dropped on a redirect to another host).
 *
 * Keys: "" (what tb_store_key_of gives for an http URI) is the root URL itself; an absolute
 * http(s):// URL is used as is; any other key is appended to a root that ends in '/'.
 *
 * Resumes: lib/http retries a GET that dropped mid-body from the byte it reached (h->delivered).
 * Such a resume here carries If-Range with the first response's validator (a strong ETag, else
 * Last-Modified), so a file changed meanwhile comes back whole with a 200, which lib/http and
 * lib/src_remote turn into an error rather than a splice. The validator is caught by a classifier
 * hook, the one place that sees an attempt's response headers before the retry is prepared. */
#include "alloc.h"
#include "store.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct http_scratch {
    char validator[200]; /* the first response's strong ETag (quoted, as sent) or Last-Modified */
};

static const struct tb_store_backend http_backend;

int tb_store_http_open(struct tb_store *s, tb_err *e)
{
    if (s->root.scheme != TB_URI_HTTP && s->root.scheme != TB_URI_HTTPS)
        return tb_fail(e, TB_EUSAGE, "not an http(s) URL");
    s->be = &http_backend;
    s->be_ctx = NULL;
    return 0;
}

static char *url_of(const struct tb_store *s, const char *key)
{
    if (!key || !*key) return tb_xstrdup(s->root.url);
    if (strncmp(key, "http://", 7) == 0 || strncmp(key, "https://", 8) == 0) return tb_xstrdup(key);
    size_t n = strlen(s->root.url);
    if (n && s->root.url[n - 1] == '/') return tb_xasprintf("%s%s", s->root.url, key);
    return NULL;
}

/* Every attempt's answer passes here first: keep the validator of the first one that has a body. */
static enum tb_http_class http_classify(struct tb_http_req *h, void *ud)
{
    struct tb_store_req *r = ud;
    struct http_scratch *sc = r->be_scratch;
    if (sc && !sc->validator[0] && (h->status == 200 || h->status == 206)) {
        char v[sizeof sc->validator];
        if (tb_http_resp_header(h, "ETag", v, sizeof v) == 0 && v[0] == '"') /* weak ETags ("W/...") may not */
            snprintf(sc->validator, sizeof sc->validator, "%s", v);
        else if (tb_http_resp_header(h, "Last-Modified", v, sizeof v) == 0 && v[0])
            snprintf(sc->validator, sizeof sc->validator, "%s", v);
    }
    return tb_http_classify_default(h, ud);
}

static int http_prepare(struct tb_store *s, struct tb_store_req *r, struct tb_http_req *h, tb_err *e)
{
    if (r->op != TB_OP_HEAD && r->op != TB_OP_GET)
        return tb_fail(e, TB_EUSAGE, "%s is not supported for %s:// locations (they are read-only)", tb_store_op_name(r->op),
                       tb_scheme_name(s->root.scheme));
    char *url = url_of(s, r->key);
    if (!url) return tb_fail(e, TB_EUSAGE, "%s: a key needs a root URL ending in '/' (%s)", r->key, s->root.url);
    tb_http_set_url(h, url);
    free(url);
    h->follow_redirects = 1;
    h->classify = http_classify;
    if (r->op == TB_OP_HEAD) { h->method = "HEAD"; return 0; }
    h->method = "GET";
    if (!r->be_scratch) r->be_scratch = tb_xcalloc(1, sizeof(struct http_scratch));
    struct http_scratch *sc = r->be_scratch;
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

static int http_finish(struct tb_store *s, struct tb_store_req *r, struct tb_http_req *h, tb_err *e)
{
    if (r->op == TB_OP_HEAD && h->cls == TB_HTTP_NOTFOUND) return 0; /* an answer: info.exists = 0 */
    if (h->cls != TB_HTTP_OK) return tb_store_http_error(s, r, h, e);
    info_from(h, &r->info);
    if (r->op == TB_OP_GET && !r->sink) tb_store_take_body(r, h);
    return 0;
}

static void http_free_scratch(struct tb_store_req *r)
{
    free(r->be_scratch);
    r->be_scratch = NULL;
}

static const struct tb_store_backend http_backend = {
    .name = "http",
    .prepare = http_prepare,
    .finish = http_finish,
    .free_scratch = http_free_scratch,
};
