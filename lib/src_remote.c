/* src_remote: a store GET as a streamed, bounded, resume-checked tb_src (see src_remote.h). */
#include "src_remote.h"
#include "alloc.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUF_CAP (1u << 20) /* what read() may hold before the GET pauses */

struct remote {
    struct tb_store *s;
    int own_store;
    int local;            /* a file store: its GET cannot pause */
    struct tb_store_req r;
    int submitted, finished;
    char *buf;
    size_t cap, head, tail; /* unread bytes are buf[head, tail) */
    int paused;
    uint64_t pos;         /* object bytes accepted so far (what a resume starts from) */
    int response_seen;    /* the number of the response last checked: r.attempts (the attempts of
                           * the request's earlier exchanges, e.g. a redirect followed by hand)
                           * plus r.h.attempt, so every response has its own */
    struct tb_resp_meta first; /* the response the first bytes came with */
};

/* ---- the checks */

void tb_resp_meta_parse(const char *hdrs, struct tb_resp_meta *m)
{
    memset(m, 0, sizeof *m);
    m->total = -1;
    if (!hdrs) return;
    const char *sp = strchr(hdrs, ' ');
    const char *eol = strchr(hdrs, '\n');
    if (strncmp(hdrs, "HTTP/", 5) == 0 && sp && (!eol || sp < eol)) m->status = atoi(sp + 1);
    /* tb_http_resp_header reads the block of a request: lend it this one */
    struct tb_http_req h;
    memset(&h, 0, sizeof h);
    h.resp_hdrs = (char *)hdrs;
    tb_http_resp_header(&h, "ETag", m->etag, sizeof m->etag);
    tb_http_resp_header(&h, "Last-Modified", m->last_modified, sizeof m->last_modified);
    char v[128];
    unsigned long long a, b;
    if (tb_http_resp_header(&h, "Content-Range", v, sizeof v) == 0 && sscanf(v, "bytes %llu-%llu", &a, &b) == 2) {
        m->ranged = 1;
        m->range_start = a;
        const char *sl = strchr(v, '/');
        if (sl && sl[1] >= '0' && sl[1] <= '9') m->total = (int64_t)strtoull(sl + 1, NULL, 10);
    } else if (m->status == 200 && tb_http_resp_header(&h, "Content-Length", v, sizeof v) == 0 && v[0] >= '0' && v[0] <= '9') {
        m->total = (int64_t)strtoull(v, NULL, 10);
    }
}

/* A strong ETag identifies the bytes; a weak one ("W/...") only the meaning: not enough to splice. */
static int strong(const char *etag) { return etag[0] && strncmp(etag, "W/", 2) != 0; }

int tb_resp_meta_resume_ok(const struct tb_resp_meta *first, const struct tb_resp_meta *now, uint64_t pos, tb_err *e)
{
    unsigned long long at = (unsigned long long)pos;
    if (strong(first->etag)) {
        if (strcmp(first->etag, now->etag) != 0)
            return tb_fail(e, TB_EDATA, "the object changed while being read (ETag %s, after %llu bytes: %s); not spliced",
                           first->etag, at, now->etag[0] ? now->etag : "none");
    } else if (first->last_modified[0]) {
        if (strcmp(first->last_modified, now->last_modified) != 0)
            return tb_fail(e, TB_EDATA, "the object changed while being read (Last-Modified %s, after %llu bytes: %s); not spliced",
                           first->last_modified, at, now->last_modified[0] ? now->last_modified : "none");
    } else {
        return tb_fail(e, TB_EUNAVAIL, "the connection dropped after %llu bytes and the server sent no ETag or Last-Modified "
                       "to resume it safely", at);
    }
    if (first->total >= 0 && now->total >= 0 && first->total != now->total)
        return tb_fail(e, TB_EDATA, "the object changed while being read (%lld bytes, after %llu: %lld); not spliced",
                       (long long)first->total, at, (long long)now->total);
    if (now->status == 206 && (!now->ranged || now->range_start != pos))
        return tb_fail(e, TB_EDATA, "the resume from byte %llu was answered from byte %llu", at,
                       (unsigned long long)now->range_start);
    return 0;
}

/* ---- the source */

static void unpause_if_room(struct remote *c)
{
    if (!c->paused || c->tail - c->head > c->cap / 2) return;
    c->paused = 0;
    tb_http_unpause(&c->r.h); /* may hand the refused bytes to sink() before it returns */
}

static size_t sink(void *ud, const void *p, size_t n)
{
    struct remote *c = ud;
    struct tb_http_req *h = &c->r.h;
    int response = c->r.attempts + h->attempt;
    if (response != c->response_seen) { /* the first bytes of this response: whose object are they? */
        c->response_seen = response;
        struct tb_resp_meta m;
        tb_resp_meta_parse(h->resp_hdrs, &m);
        if (c->pos == 0) {
            c->first = m;
            /* resumes ask S3 and Azure for this very object (If-Match): a changed one is a 412 */
            if (m.etag[0] == '"') c->r.if_match = c->first.etag;
        }
        else if (tb_resp_meta_resume_ok(&c->first, &m, c->pos, &h->err)) return 0; /* aborts: h->err says why */
    }
    if (c->tail + n > c->cap && c->head) {
        memmove(c->buf, c->buf + c->head, c->tail - c->head);
        c->tail -= c->head;
        c->head = 0;
    }
    if (c->tail + n > c->cap) {
        if (c->tail && !c->local) { c->paused = 1; return CURL_WRITEFUNC_PAUSE; }
        tb_xgrow(&c->buf, &c->cap, c->tail + n); /* empty: one chunk bigger than the buffer */
    }
    memcpy(c->buf + c->tail, p, n);
    c->tail += n;
    c->pos += n;
    return n;
}

static void on_done(struct tb_store_req *r)
{
    struct remote *c = r->ud;
    c->finished = 1;
}

/* Drive the GET until bytes are buffered or it is over. The first round does not wait: what the
 * socket holds already is read at once, and waiting after that would sleep the whole timeout, as a
 * transfer that filled the buffer and paused is not polled for (it held reads to 10 MB/s). */
static void fill(struct remote *c)
{
    int wait = 0;
    while (c->tail == c->head && !c->finished) {
        unpause_if_room(c);
        tb_store_perform(c->s, wait);
        wait = 100;
    }
}

static ssize_t remote_read(void *ctx, void *buf, size_t n, tb_err *e)
{
    struct remote *c = ctx;
    fill(c);
    size_t have = c->tail - c->head;
    if (have) {
        size_t k = have < n ? have : n;
        memcpy(buf, c->buf + c->head, k);
        c->head += k;
        if (c->head == c->tail) c->head = c->tail = 0;
        unpause_if_room(c);
        return (ssize_t)k;
    }
    if (c->r.status) {
        if (e) {
            /* tb_src_read names the source: drop the store's "GET URI: " so it is named once */
            *e = c->r.err;
            char *u = tb_store_uri(c->s, c->r.key);
            size_t k = u ? strlen(u) : 0;
            if (u && strncmp(e->msg, "GET ", 4) == 0 && strncmp(e->msg + 4, u, k) == 0 && strncmp(e->msg + 4 + k, ": ", 2) == 0)
                memmove(e->msg, e->msg + 6 + k, strlen(e->msg + 6 + k) + 1);
            free(u);
            if (c->r.http_status == 412 && c->pos)
                tb_fail(e, TB_EDATA, "the object changed after %llu bytes had been read (the store refused the resume: If-Match %s)",
                        (unsigned long long)c->pos, c->first.etag);
        }
        return -1;
    }
    if (c->first.total >= 0 && c->pos != (uint64_t)c->first.total) {
        tb_fail(e, TB_EDATA, "the object ended after %llu of its %lld bytes", (unsigned long long)c->pos, (long long)c->first.total);
        return -1;
    }
    return 0;
}

static void remote_close(void *ctx)
{
    struct remote *c = ctx;
    if (c->submitted && !c->finished) tb_store_cancel(c->s, &c->r);
    tb_store_req_clear(&c->r);
    if (c->own_store) tb_store_close(c->s);
    free(c->buf);
    free((char *)c->r.key);
    free(c);
}

int tb_src_open_store(struct tb_src *out, struct tb_store *s, const char *key, int own_store, tb_err *e)
{
    memset(out, 0, sizeof *out);
    struct remote *c = tb_xcalloc(1, sizeof *c);
    c->s = s;
    c->own_store = own_store;
    struct tb_store_caps caps;
    tb_store_caps(s, &caps);
    c->local = caps.local;
    c->cap = BUF_CAP;
    c->buf = tb_xmalloc(c->cap);
    c->first.total = -1;
    c->r.op = TB_OP_GET;
    c->r.key = tb_xstrdup(key);
    c->r.sink = sink;
    c->r.sink_ud = c;
    c->r.done = on_done;
    c->r.ud = c;
    char *name = tb_store_uri(s, key);
    snprintf(out->name, sizeof out->name, "%s", name ? name : key);
    free(name);
    int rc = tb_store_submit(s, &c->r);
    if (rc) {
        tb_fail(e, rc, "%s: could not start the GET", out->name);
        remote_close(c);
        return rc;
    }
    c->submitted = 1;
    fill(c);
    if (c->tail == c->head && c->r.status) { /* failed before a byte: missing, refused, unreachable */
        rc = c->r.status;
        if (e) *e = c->r.err;
        remote_close(c);
        return rc;
    }
    out->ctx = c;
    out->read = remote_read;
    out->close = remote_close;
    return 0;
}
