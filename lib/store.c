/* store: dispatch by scheme, the async request core over lib/http, and the synchronous
 * conveniences (see store.h). */
#include "store.h"
#include "alloc.h"
#include "atomic.h"
#include "mtime.h"
#include "sigv4.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void tb_store_cfg_defaults(struct tb_store_cfg *c)
{
    memset(c, 0, sizeof *c);
    tb_http_cfg_defaults(&c->http);
}

const char *tb_store_op_name(enum tb_store_op op)
{
    switch (op) {
    case TB_OP_HEAD: return "HEAD";
    case TB_OP_GET: return "GET";
    case TB_OP_PUT: return "PUT";
    case TB_OP_DELETE: return "DELETE";
    case TB_OP_LIST: return "LIST";
    case TB_OP_MP_CREATE: return "create multipart upload";
    case TB_OP_MP_PART: return "upload part";
    case TB_OP_MP_COMPLETE: return "complete multipart upload";
    case TB_OP_MP_ABORT: return "abort multipart upload";
    case TB_OP_CREATE_ROOT: return "create";
    case TB_OP_COPY: return "COPY";
    }
    return "?";
}

char *tb_pct_encode(const char *s, size_t n, int keep_slash) { return tb_sigv4_encode(s, n, keep_slash); }

const char *tb_store_key_of(const struct tb_uri *u)
{
    if (u->scheme == TB_URI_FILE) return u->path;
    return u->key ? u->key : "";
}

char *tb_store_uri(const struct tb_store *s, const char *key)
{
    struct tb_uri u = s->root;
    if (u.scheme == TB_URI_FILE) {
        if (!u.explicit_file) return tb_xstrdup(key);
        u.path = (char *)key;
    } else if (u.scheme == TB_URI_HTTP || u.scheme == TB_URI_HTTPS) {
        /* the store_http backend's keys: an absolute URL, or a name under a root ending in '/' */
        if (strncmp(key, "http://", 7) == 0 || strncmp(key, "https://", 8) == 0) return tb_xstrdup(key);
        size_t n = strlen(u.url);
        if (*key && n && u.url[n - 1] == '/') return tb_xasprintf("%s%s", u.url, key);
    } else {
        u.key = (char *)key;
    }
    return tb_uri_format(&u);
}

static int copy_uri(const struct tb_uri *in, struct tb_uri *out, tb_err *e)
{
    char *s = tb_uri_format(in);
    if (!s) tb_oom(0); /* tb_uri_format fails only when out of memory */
    int rc = tb_uri_parse(s, out, e);
    free(s);
    return rc;
}

int tb_store_open(struct tb_store **out, const struct tb_uri *uri, const struct tb_store_cfg *cfg, tb_err *e)
{
    *out = NULL;
    struct tb_store *s = tb_xcalloc(1, sizeof *s);
    if (cfg) s->cfg = *cfg;
    else tb_store_cfg_defaults(&s->cfg);
    int rc = copy_uri(uri, &s->root, e);
    if (rc) { free(s); return rc; }
    switch (uri->scheme) {
    case TB_URI_FILE: rc = tb_store_file_open(s, e); break;
    case TB_URI_S3: case TB_URI_R2: case TB_URI_GS: rc = tb_store_s3_open(s, e); break;
    case TB_URI_AZ: rc = tb_store_azure_open(s, e); break;
    case TB_URI_HTTP: case TB_URI_HTTPS: rc = tb_store_http_open(s, e); break;
    default:
        rc = tb_fail(e, TB_EUSAGE, "%s:// is not a store trainbox can write to", tb_scheme_name(uri->scheme));
    }
    if (!rc) {
        if (s->cfg.shared_http) s->http = s->cfg.shared_http;
        else { rc = tb_http_new(&s->http, &s->cfg.http, e); s->own_http = 1; }
    }
    if (rc) {
        if (s->be && s->be->close) s->be->close(s);
        tb_uri_free(&s->root);
        free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void tb_store_close(struct tb_store *s)
{
    if (!s) return;
    if (s->be && s->be->close) s->be->close(s);
    if (s->own_http) tb_http_free(s->http);
    tb_uri_free(&s->root);
    free(s);
}

void tb_store_caps(const struct tb_store *s, struct tb_store_caps *caps)
{
    memset(caps, 0, sizeof *caps);
    caps->create_root = 1;
    caps->public_root = s->be->public_root;
    caps->presign = s->be->presign != NULL;
    caps->min_part = s->be->min_part;
    caps->max_part = s->be->max_part;
    caps->max_parts = s->be->max_parts;
    caps->etag_is_md5 = s->be->etag_is_md5;
    caps->wants_md5 = s->be->wants_md5;
    caps->signs_body = s->be->signs_body;
    caps->local = s->root.scheme == TB_URI_FILE;
    caps->copy_max = s->be->copy_max;
}

void tb_store_stats(const struct tb_store *s, struct tb_store_stats *st)
{
    st->bytes_sent = tb_http_bytes_sent(s->http);
    st->retries = tb_http_retries(s->http);
}

/* ---- async core */

/* What a request names, for its messages: the object, or the root it creates. */
static char *req_uri(const struct tb_store *s, const struct tb_store_req *r)
{
    if (r->op == TB_OP_CREATE_ROOT) return tb_uri_format(&s->root);
    return tb_store_uri(s, r->key ? r->key : "");
}

static int core_prepare(struct tb_http_req *h, void *ud, tb_err *e)
{
    struct tb_store_req *r = ud;
    struct tb_store *s = r->store;
    if (r->op == TB_OP_CREATE_ROOT && r->public_read && !s->be->public_root)
        return tb_fail(e, TB_EUSAGE, "public read access is not supported for %s:// locations", tb_scheme_name(s->root.scheme));
    struct timespec ts;
    if (r->meta_mtime && *r->meta_mtime && tb_mtime_parse(r->meta_mtime, &ts) != 0)
        return tb_fail(e, TB_EUSAGE, "'%s' is not an mtime (decimal seconds since the epoch)", r->meta_mtime);
    if (r->op == TB_OP_COPY && !s->be->copy_max)
        return tb_fail(e, TB_EUSAGE, "server-side copy is not supported for %s:// locations", tb_scheme_name(s->root.scheme));
    int rc = s->be->prepare(s, r, h, e);
    if (rc == TB_STORE_LOCAL && e) e->code = TB_STORE_LOCAL;
    return rc;
}

static size_t core_sink(void *ud, const void *p, size_t n)
{
    struct tb_store_req *r = ud;
    return r->sink(r->sink_ud, p, n);
}

static int submit_http(struct tb_store *s, struct tb_store_req *r);

static void core_done(struct tb_http_req *h, void *ud)
{
    struct tb_store_req *r = ud;
    struct tb_store *s = r->store;
    r->attempts += h->attempt;
    r->retries += h->retries;
    r->http_status = (int)h->status;
    if (h->cls == TB_HTTP_LOCAL) {
        if (h->err.code == TB_STORE_LOCAL) {
            r->status = 0;
        } else {
            r->err = h->err;
            r->status = h->err.code ? h->err.code : TB_ESOFTWARE;
            char *u = req_uri(s, r);
            tb_err_wrap(&r->err, "%s %s", tb_store_op_name(r->op), u ? u : "");
            free(u);
        }
    } else {
        r->status = s->be->finish(s, r, h, &r->err);
        if (r->status == TB_STORE_AGAIN) {
            /* the backend's next exchange for the same request (the status is not final yet); the
             * body bytes a GET delivered stay delivered (a redirect met on a resume continues from
             * there, and a 200 to it skips them) */
            uint64_t delivered = h->delivered;
            r->status = 0;
            tb_http_req_clear(h);
            submit_http(s, r);
            r->h.delivered = delivered;
            return;
        }
        if (r->status) r->err.code = r->status;
    }
    /* the HTTP exchange's buffers are not needed past finish() */
    tb_http_req_clear(h);
    if (r->done) r->done(r);
}

static int submit_http(struct tb_store *s, struct tb_store_req *r)
{
    memset(&r->h, 0, sizeof r->h);
    r->h.prepare = core_prepare;
    r->h.done = core_done;
    r->h.ud = r;
    r->h.body = TB_BODY_NONE;
    if (r->op == TB_OP_GET) {
        if (r->sink) r->h.sink = core_sink;
        else r->h.resp_max = (size_t)1 << 34;
    }
    if (r->op == TB_OP_LIST) r->h.resp_max = 64u << 20;
    return tb_http_submit(s->http, &r->h);
}

int tb_store_submit(struct tb_store *s, struct tb_store_req *r)
{
    r->store = s;
    r->status = 0;
    memset(&r->err, 0, sizeof r->err);
    r->precond_failed = 0;
    memset(&r->info, 0, sizeof r->info);
    r->upload_id_out[0] = 0;
    r->part_etag[0] = 0;
    r->attempts = r->retries = 0;
    return submit_http(s, r);
}

int tb_store_perform(struct tb_store *s, int timeout_ms) { return tb_http_perform(s->http, timeout_ms); }

void tb_store_cancel(struct tb_store *s, struct tb_store_req *r)
{
    tb_http_cancel(s->http, &r->h);
    tb_http_req_clear(&r->h);
}

static void sync_done(struct tb_store_req *r) { (void)r; }

int tb_store_run(struct tb_store *s, struct tb_store_req *r, tb_err *e)
{
    tb_store_done_fn saved = r->done;
    if (!r->done) r->done = sync_done;
    int rc = tb_store_submit(s, r);
    if (rc) { r->done = saved; return tb_fail(e, rc, "could not submit %s", tb_store_op_name(r->op)); }
    while (!tb_http_finished(&r->h)) tb_http_perform(s->http, 200);
    r->done = saved;
    if (r->status && e) *e = r->err;
    return r->status;
}

void tb_store_req_clear(struct tb_store_req *r)
{
    for (size_t i = 0; i < r->nitems; i++) free(r->items[i].key);
    free(r->items);
    r->items = NULL;
    r->nitems = 0;
    for (size_t i = 0; i < r->nprefixes; i++) free(r->prefixes[i]);
    free(r->prefixes);
    r->prefixes = NULL;
    r->nprefixes = 0;
    free(r->next_token);
    r->next_token = NULL;
    free(r->data);
    r->data = NULL;
    r->data_len = 0;
    free(r->resp_headers);
    r->resp_headers = NULL;
    if (r->be_scratch && r->store && r->store->be->free_scratch) r->store->be->free_scratch(r);
    tb_http_req_clear(&r->h);
}

/* A 404 to a request that creates an object means its bucket or container is missing: the output
 * cannot be created (73), not an input missing (66). A part or completion answered 404 for a vanished
 * upload id (NoSuchUpload) stays 66: the caller starts the upload again. */
static int missing_destination(const struct tb_store_req *r, const struct tb_http_req *h)
{
    if (h->cls != TB_HTTP_NOTFOUND) return 0;
    if (r->op == TB_OP_PUT || r->op == TB_OP_MP_CREATE) return 1;
    if (r->op != TB_OP_MP_PART && r->op != TB_OP_MP_COMPLETE) return 0;
    return strstr(h->err.msg, "NoSuchBucket") || strstr(h->err.msg, "ContainerNotFound");
}

int tb_store_http_error(struct tb_store *s, struct tb_store_req *r, struct tb_http_req *h, tb_err *e)
{
    int code = h->err.code ? h->err.code : tb_http_class_exit(h->cls);
    if (code == TB_ENOINPUT && missing_destination(r, h)) code = TB_ECANTCREAT;
    char *u = req_uri(s, r);
    tb_fail(e, code, "%s %s: %s", tb_store_op_name(r->op), u ? u : "", h->err.msg[0] ? h->err.msg : "failed");
    free(u);
    return code;
}

/* ---- synchronous conveniences */

/* Run r (built by the caller) to its end and release what it holds; returns its code. */
static int run_once(struct tb_store *s, struct tb_store_req *r, tb_err *e)
{
    int rc = tb_store_run(s, r, e);
    tb_store_req_clear(r);
    return rc;
}

int tb_store_head(struct tb_store *s, const char *key, struct tb_obj_info *info, tb_err *e)
{
    struct tb_store_req r = {.op = TB_OP_HEAD, .key = key};
    int rc = tb_store_run(s, &r, e);
    if (!rc) *info = r.info;
    tb_store_req_clear(&r);
    return rc;
}

int tb_store_put_mem(struct tb_store *s, const char *key, const void *p, size_t n, const char *content_type, tb_err *e)
{
    struct tb_store_req r = {.op = TB_OP_PUT, .key = key, .body = (struct tb_body){-1, p, 0, n}, .content_type = content_type};
    return run_once(s, &r, e);
}

int tb_store_get_cb(struct tb_store *s, const char *key, uint64_t off, uint64_t len, tb_http_sink_fn sink, void *ud, tb_err *e)
{
    struct tb_store_req r = {.op = TB_OP_GET, .key = key, .range_off = off, .range_len = len, .sink = sink, .sink_ud = ud};
    return run_once(s, &r, e);
}

static size_t file_sink(void *ud, const void *p, size_t n)
{
    struct tb_afile *f = ud;
    return fwrite(p, 1, n, f->fp);
}

int tb_store_get_file(struct tb_store *s, const char *key, const char *path, tb_err *e)
{
    struct tb_afile f;
    int rc = tb_afile_open(&f, path, ".partial", e);
    if (rc) return rc;
    rc = tb_store_get_cb(s, key, 0, 0, file_sink, &f, e);
    if (!rc) rc = tb_afile_commit(&f, e);
    else tb_afile_abort(&f);
    return rc;
}

int tb_store_get_mem(struct tb_store *s, const char *key, char **data, size_t *len, tb_err *e)
{
    struct tb_store_req r = {.op = TB_OP_GET, .key = key};
    int rc = tb_store_run(s, &r, e);
    if (!rc) {
        *data = r.data ? r.data : tb_xstrdup("");
        *len = r.data_len;
        r.data = NULL;
    }
    tb_store_req_clear(&r);
    return rc;
}

int tb_store_delete(struct tb_store *s, const char *key, tb_err *e)
{
    struct tb_store_req r = {.op = TB_OP_DELETE, .key = key};
    return run_once(s, &r, e);
}

int tb_store_create_root(struct tb_store *s, int public_read, tb_err *e)
{
    struct tb_store_req r = {.op = TB_OP_CREATE_ROOT, .public_read = public_read};
    return run_once(s, &r, e);
}

int tb_store_list_all(struct tb_store *s, const char *prefix, const char *delimiter, tb_store_list_fn cb, void *ud, tb_err *e)
{
    char *token = NULL;
    int rc = 0;
    do {
        struct tb_store_req r = {0};
        r.op = TB_OP_LIST;
        r.prefix = prefix;
        r.delimiter = delimiter;
        r.token = token;
        rc = tb_store_run(s, &r, e);
        free(token);
        token = NULL;
        if (!rc) {
            for (size_t i = 0; i < r.nitems && !rc; i++) rc = cb(ud, &r.items[i], 0);
            for (size_t i = 0; i < r.nprefixes && !rc; i++) {
                struct tb_obj_info pi = {0};
                pi.key = r.prefixes[i];
                rc = cb(ud, &pi, 1);
            }
            if (!rc && r.next_token) token = tb_xstrdup(r.next_token);
        }
        tb_store_req_clear(&r);
    } while (!rc && token);
    free(token);
    return rc;
}

int tb_store_presign(struct tb_store *s, const char *key, const char *method, long expires, char **url, tb_err *e)
{
    if (!s->be->presign)
        return tb_fail(e, TB_EUSAGE, "presigned URLs are not supported for %s:// locations", tb_scheme_name(s->root.scheme));
    return s->be->presign(s, key, method, expires, url, e);
}

int tb_store_resp_header(const struct tb_store_req *r, const char *name, char *out, size_t outsz)
{
    /* tb_http_resp_header reads the block of a request: lend it this one */
    struct tb_http_req h;
    memset(&h, 0, sizeof h);
    h.resp_hdrs = r->resp_headers;
    return tb_http_resp_header(&h, name, out, outsz);
}
