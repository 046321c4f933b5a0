/* store_s3: the S3 REST API signed with SigV4, for AWS S3, any S3-compatible endpoint, Cloudflare R2
 * and Google Cloud Storage's XML API (HMAC keys).
 * Addressing: path-style (ENDPOINT/bucket/key) whenever an endpoint is given (R2 and GCS always have
 * one), virtual-host (bucket.s3.REGION.amazonaws.com) on AWS unless the bucket name has dots.
 * Bodies are signed with their SHA-256 (x-amz-content-sha256 = req->body_sha256, which upload computes
 * in the same pass as the file's sha256 metadata), so the store itself rejects a body that changed
 * on the way; with no body_sha256 a body goes as UNSIGNED-PAYLOAD (plus Content-MD5 when given). */
#include "base64.h"
#include "alloc.h"
#include "creds.h"
#include "hash.h"
#include "mtime.h"
#include "shard_sample.h"
#include "sigv4.h"
#include "store.h"
#include "xml.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const struct tb_store_backend s3_backend;

#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

struct s3 {
    struct tb_creds cr;
    char *scheme_host; /* "https://host[:port]" */
    char *host;        /* Host header value (host[:port]) */
    char *base;        /* path prefix of the endpoint ("" or "/base") */
    int path_style;
    int checksums;     /* S3 flexible checksums: SHA-256 per request, stored with the object */
};

static void s3_close(struct tb_store *s)
{
    struct s3 *c = s->be_ctx;
    if (!c) return;
    tb_creds_free(&c->cr);
    free(c->scheme_host);
    free(c->host);
    free(c->base);
    free(c);
    s->be_ctx = NULL;
}

/* COPY with new metadata carries the source's other metadata across (REPLACE drops what is not
 * sent): this many of its headers at most (S3 allows 2 KB of user metadata in all). */

/* Per-request state that outlives the attempts. */
struct scratch {
    char *body;             /* MP_COMPLETE's part list, CREATE_ROOT's location: the request body */
    char *src_type;         /* COPY: the source's Content-Type */
    struct tb_store_copysrc src; /* COPY: the source's x-amz-meta-* headers */
};

static struct scratch *scratch_of(struct tb_store_req *r)
{
    if (!r->be_scratch) r->be_scratch = tb_xcalloc(1, sizeof(struct scratch));
    return r->be_scratch;
}

static void s3_free_scratch(struct tb_store_req *r)
{
    struct scratch *sc = r->be_scratch;
    if (!sc) return;
    free(sc->body);
    free(sc->src_type);
    tb_store_copysrc_free(&sc->src);
    free(sc);
    r->be_scratch = NULL;
}

/* "http(s)://host[:port][/base]" into its parts. */
static int split_endpoint(struct s3 *c, const char *ep, tb_err *e)
{
    const char *p = strstr(ep, "://");
    if (!p || (strncmp(ep, "http://", 7) && strncmp(ep, "https://", 8)))
        return tb_fail(e, TB_EUSAGE, "endpoint '%s' must start with http:// or https://", ep);
    p += 3;
    const char *slash = strchr(p, '/');
    size_t hl = slash ? (size_t)(slash - p) : strlen(p);
    if (!hl) return tb_fail(e, TB_EUSAGE, "endpoint '%s' has no host", ep);
    c->host = tb_xstrndup(p, hl);
    c->scheme_host = tb_xstrndup(ep, (size_t)(p - ep) + hl);
    const char *b = slash ? slash : "";
    size_t bl = strlen(b);
    while (bl && b[bl - 1] == '/') bl--;
    c->base = tb_xstrndup(b, bl);
    return 0;
}

int tb_store_s3_open(struct tb_store *s, tb_err *e)
{
    struct s3 *c = tb_xcalloc(1, sizeof *c);
    s->be = &s3_backend;
    s->be_ctx = c;
    if (!s->root.bucket || !*s->root.bucket) return tb_fail(e, TB_EUSAGE, "no bucket in the location");
    int rc = tb_creds_load_profile(s->root.scheme, s->cfg.profile, &c->cr, e);
    if (rc) return rc;
    if (s->cfg.region && *s->cfg.region) { free(c->cr.region); c->cr.region = tb_xstrdup(s->cfg.region); }
    /* SHA-256 flexible checksums on s3:// (AWS and S3-compatible servers); R2 and GCS's XML API
     * get the signed payload hash only. TRAINBOX_S3_CHECKSUMS=0 or 1 overrides. */
    c->checksums = s->root.scheme == TB_URI_S3;
    const char *cv = getenv("TRAINBOX_S3_CHECKSUMS");
    if (cv && *cv) c->checksums = strcmp(cv, "0") != 0;
    const char *ep = s->cfg.endpoint;
    char buf[512];
    if (!ep || !*ep) {
        if (s->root.scheme == TB_URI_R2) {
            const char *acct = getenv("R2_ACCOUNT_ID");
            if (!acct || !*acct) return tb_fail(e, TB_EUSAGE, "r2:// needs R2_ACCOUNT_ID (or --endpoint)");
            snprintf(buf, sizeof buf, "https://%s.r2.cloudflarestorage.com", acct);
            ep = buf;
        } else if (s->root.scheme == TB_URI_GS) {
            ep = "https://storage.googleapis.com";
        } else {
            ep = getenv("TRAINBOX_S3_ENDPOINT");
            if (!ep || !*ep) ep = getenv("AWS_ENDPOINT_URL_S3");
            if (!ep || !*ep) ep = getenv("AWS_ENDPOINT_URL");
        }
    }
    if (ep && *ep) {
        c->path_style = 1;
        return split_endpoint(c, ep, e);
    }
    /* AWS itself */
    if (strchr(s->root.bucket, '.')) {
        c->path_style = 1;
        snprintf(buf, sizeof buf, "https://s3.%s.amazonaws.com", c->cr.region);
    } else {
        snprintf(buf, sizeof buf, "https://%s.s3.%s.amazonaws.com", s->root.bucket, c->cr.region);
    }
    return split_endpoint(c, buf, e);
}

/* The raw (unencoded) request path for key; "" key gives the bucket itself. */
static char *raw_path(struct s3 *c, const char *bucket, const char *key)
{
    size_t n = strlen(c->base) + strlen(bucket) + strlen(key) + 4;
    char *p = tb_xmalloc(n);
    if (c->path_style) snprintf(p, n, "%s/%s/%s", c->base, bucket, key);
    else snprintf(p, n, "%s/%s", c->base, key);
    return p;
}

struct qbuf { char s[2048]; size_t n; };

static void qadd(struct qbuf *q, const char *k, const char *v)
{
    char *ev = v ? tb_sigv4_encode(v, strlen(v), 0) : NULL;
    q->n += (size_t)snprintf(q->s + q->n, sizeof q->s - q->n, "%s%s%s%s", q->n ? "&" : "", k, ev ? "=" : "", ev ? ev : "");
    if (q->n >= sizeof q->s) q->n = sizeof q->s - 1;
    free(ev);
}

/* A hex SHA-256 as S3's checksum header wants it (base64 of the 32 bytes). 0 if hex is not one. */
static int sha256_b64(const char *hex, char out[48])
{
    unsigned char d[32];
    if (!hex || strlen(hex) != 64 || tb_unhex(hex, 32, d)) return 0;
    out[tb_base64_encode(d, 32, out)] = 0;
    return 1;
}

/* CompleteMultipartUpload's body (NULL when a part's checksum is missing though checksums are on). */
static char *complete_xml(const struct tb_store_req *r, int checksums)
{
    size_t cap = 128 + (size_t)r->nparts * 340, n = 0;
    char *b = tb_xmalloc(cap);
    n += (size_t)snprintf(b + n, cap - n, "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
    for (int i = 0; i < r->nparts; i++) {
        char cs[48] = "";
        if (checksums && !sha256_b64(r->parts[i].sha256, cs)) {
            free(b);
            return NULL;
        }
        n += (size_t)snprintf(b + n, cap - n, "<Part><PartNumber>%d</PartNumber><ETag>\"%s\"</ETag>%s%s%s</Part>", r->parts[i].num,
                              r->parts[i].etag, cs[0] ? "<ChecksumSHA256>" : "", cs, cs[0] ? "</ChecksumSHA256>" : "");
    }
    snprintf(b + n, cap - n, "</CompleteMultipartUpload>");
    return b;
}

/* ---- building one attempt: s3_prepare picks the operation's builder, adds the object headers,
 * then signs and sends (every attempt is signed afresh) */

#define MAXHDR (16 + TB_STORE_COPY_META_MAX)

/* One attempt's request as it is built: what is signed is exactly what is sent. */
struct msg {
    const char *method;
    const char *key;          /* the object the path names ("" for the bucket) */
    const char *payload;      /* x-amz-content-sha256 */
    struct qbuf q;
    struct tb_sigv4_hdr hd[MAXHDR];
    size_t nh;
    char payload_buf[65], range[80], num[32], cs[48];
    const char *content_type;
    char *copy_source;        /* malloc'd */
};

static void hdr(struct msg *m, const char *name, const char *value)
{
    tb_assert(m->nh < MAXHDR);
    m->hd[m->nh++] = (struct tb_sigv4_hdr){name, value};
}

/* A body in memory that outlives the attempts: sent and signed with its hash. */
static void mem_body(struct tb_http_req *h, struct msg *m, const char *body)
{
    size_t n = strlen(body);
    h->body = (struct tb_body){-1, body, 0, n};
    tb_sha256_hex(body, n, m->payload_buf);
    m->payload = m->payload_buf;
}

static void build_get(const struct tb_store_req *r, const struct tb_http_req *h, struct msg *m)
{
    /* resuming after h->delivered bytes: ask for the rest only */
    uint64_t off = r->range_off + h->delivered;
    if (r->range_len) {
        if (h->delivered >= r->range_len) off = r->range_off + r->range_len - 1; /* should not happen */
        snprintf(m->range, sizeof m->range, "bytes=%llu-%llu", (unsigned long long)off,
                 (unsigned long long)(r->range_off + r->range_len - 1));
    } else if (off) {
        snprintf(m->range, sizeof m->range, "bytes=%llu-", (unsigned long long)off);
    }
    if (m->range[0]) hdr(m, "range", m->range);
    if (h->delivered && r->if_match && r->if_match[0]) hdr(m, "if-match", r->if_match);
}

/* PUT and MP_PART: the body, signed with its SHA-256 when the caller has it (or it is in memory). */
static void build_put(const struct tb_store_req *r, struct tb_http_req *h, struct msg *m)
{
    m->method = "PUT";
    h->body = r->body;
    m->payload = "UNSIGNED-PAYLOAD";
    if (r->body_sha256 && strlen(r->body_sha256) == 64) m->payload = r->body_sha256;
    else if (r->body.fd < 0 && r->body.mem) {
        tb_sha256_hex((const char *)r->body.mem + r->body.off, r->body.len, m->payload_buf);
        m->payload = m->payload_buf;
    }
    if (r->op == TB_OP_MP_PART) {
        snprintf(m->num, sizeof m->num, "%d", r->part_num);
        qadd(&m->q, "partNumber", m->num);
        qadd(&m->q, "uploadId", r->upload_id);
    }
}

static void build_list(const struct tb_store_req *r, struct msg *m)
{
    m->key = "";
    qadd(&m->q, "list-type", "2");
    if (r->token) qadd(&m->q, "continuation-token", r->token);
    if (r->delimiter && *r->delimiter) qadd(&m->q, "delimiter", r->delimiter);
    if (r->max_keys > 0) { snprintf(m->num, sizeof m->num, "%d", r->max_keys); qadd(&m->q, "max-keys", m->num); }
    if (r->prefix && *r->prefix) qadd(&m->q, "prefix", r->prefix);
}

static int build_mp_complete(struct s3 *c, struct tb_store_req *r, struct tb_http_req *h, struct msg *m, tb_err *e)
{
    m->method = "POST";
    qadd(&m->q, "uploadId", r->upload_id);
    struct scratch *sc = scratch_of(r);
    if (!sc->body && !(sc->body = complete_xml(r, c->checksums)))
        return tb_fail(e, TB_ESOFTWARE, "a part of %s has no SHA-256 to list", r->key);
    mem_body(h, m, sc->body);
    m->content_type = "application/xml";
    return 0;
}

/* CreateBucket: outside us-east-1 AWS wants the region as the location, in the body. */
static void build_create_root(struct tb_store *s, struct s3 *c, struct tb_store_req *r, struct tb_http_req *h, struct msg *m)
{
    m->method = "PUT";
    m->key = "";
    if (s->root.scheme != TB_URI_S3 || !c->cr.region || !strcmp(c->cr.region, "us-east-1") || !strcmp(c->cr.region, "auto"))
        return;
    struct scratch *sc = scratch_of(r);
    if (!sc->body) {
        const char *fmt = "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                          "<LocationConstraint>%s</LocationConstraint></CreateBucketConfiguration>";
        size_t n = strlen(fmt) + strlen(c->cr.region);
        sc->body = tb_xmalloc(n);
        snprintf(sc->body, n, fmt, c->cr.region);
    }
    mem_body(h, m, sc->body);
}

/* COPY is CopyObject. Keeping the source's metadata needs no more (the COPY directive); new
 * metadata needs REPLACE, which drops everything not sent, so the source's metadata and content
 * type are read first (a HEAD of the source: one more exchange, see s3_finish). */
static int build_copy(struct tb_store *s, struct tb_store_req *r, struct msg *m, tb_err *e)
{
    if (!r->copy_src || !*r->copy_src) return tb_fail(e, TB_EUSAGE, "COPY %s: no source key", r->key);
    struct scratch *sc = scratch_of(r);
    if (tb_store_copysrc_head_first(&sc->src, r)) {
        m->method = "HEAD";
        m->key = r->copy_src;
        return 0;
    }
    m->method = "PUT";
    size_t bl = strlen(s->root.bucket), kl = strlen(r->copy_src);
    char *src = tb_xmalloc(bl + kl + 2);
    snprintf(src, bl + kl + 2, "%s/%s", s->root.bucket, r->copy_src);
    m->copy_source = tb_sigv4_encode(src, bl + kl + 1, 1);
    free(src);
    hdr(m, "x-amz-copy-source", m->copy_source);
    if (!tb_store_copy_replaces(r)) return 0;
    hdr(m, "x-amz-metadata-directive", "REPLACE");
    m->content_type = r->content_type ? r->content_type : sc->src_type;
    for (int i = 0; i < sc->src.nmeta; i++)
        if (!tb_store_copysrc_resent(&sc->src, r, i, "x-amz-meta-")) /* else replaced below */
            hdr(m, sc->src.meta[i][0], sc->src.meta[i][1]);
    return 0;
}

/* Headers that describe the object or guard the write, for the operations they apply to. */
static void object_headers(const struct s3 *c, const struct tb_store_req *r, struct msg *m)
{
    int body = r->op == TB_OP_PUT || r->op == TB_OP_MP_PART;
    int creates = r->op == TB_OP_PUT || r->op == TB_OP_MP_CREATE || r->op == TB_OP_COPY;
    if (r->op == TB_OP_COPY && !strcmp(m->method, "HEAD")) return;
    if (body && r->content_md5) hdr(m, "content-md5", r->content_md5);
    /* flexible checksums: the payload's SHA-256 (already computed to sign it) again as
     * x-amz-checksum-sha256, which S3 checks and keeps with the object; a multipart upload declares
     * the algorithm up front and lists each part's checksum when it completes */
    if (c->checksums && body && sha256_b64(r->body_sha256, m->cs)) {
        hdr(m, "x-amz-checksum-sha256", m->cs);
        hdr(m, "x-amz-sdk-checksum-algorithm", "SHA256"); /* as the SDKs send it */
    }
    if (c->checksums && r->op == TB_OP_MP_CREATE) hdr(m, "x-amz-checksum-algorithm", "SHA256");
    if (r->op == TB_OP_PUT || r->op == TB_OP_MP_CREATE)
        m->content_type = r->content_type ? r->content_type : "application/octet-stream";
    if (creates && (r->op != TB_OP_COPY || tb_store_copy_replaces(r))) {
        if (r->sha256 && *r->sha256) hdr(m, "x-amz-meta-sha256", r->sha256);
        if (r->meta_mtime && *r->meta_mtime) hdr(m, "x-amz-meta-mtime", r->meta_mtime);
    }
    if (m->content_type && *m->content_type) hdr(m, "content-type", m->content_type);
    if ((r->op == TB_OP_PUT || r->op == TB_OP_MP_COMPLETE) && r->if_none_match) hdr(m, "if-none-match", "*");
}

/* SigV4 over the headers built, then the URL and every header onto h. */
static void sign_and_set(struct tb_store *s, struct s3 *c, struct tb_http_req *h, struct msg *m)
{
    h->method = m->method;
    char *path = raw_path(c, s->root.bucket, m->key);
    struct tb_sigv4_key k = {c->cr.access_key, c->cr.secret_key, c->cr.token, c->cr.region, "s3", 0, 0};
    struct tb_sigv4_req sr = {m->method, path, m->q.s, m->hd, m->nh, m->payload, time(NULL)};
    struct tb_sigv4_out o;
    tb_sigv4_sign(&k, &sr, &o);
    free(path);
    size_t ul = strlen(c->scheme_host) + strlen(o.path) + m->q.n + 2;
    char *url = tb_xmalloc(ul);
    snprintf(url, ul, "%s%s%s%s", c->scheme_host, o.path, m->q.n ? "?" : "", m->q.s);
    tb_http_set_url(h, url);
    free(url);
    for (size_t i = 0; i < m->nh; i++) tb_http_header(h, "%s: %s", m->hd[i].name, m->hd[i].value);
    tb_http_header(h, "x-amz-date: %s", o.amz_date);
    if (c->cr.token && *c->cr.token) tb_http_header(h, "x-amz-security-token: %s", c->cr.token);
    tb_http_header(h, "Authorization: %s", o.authorization);
    tb_sigv4_out_free(&o);
}

static int s3_prepare(struct tb_store *s, struct tb_store_req *r, struct tb_http_req *h, tb_err *e)
{
    struct s3 *c = s->be_ctx;
    struct msg m = {.method = "GET", .key = r->key ? r->key : "", .payload = EMPTY_SHA256};
    int rc = 0;
    h->body = TB_BODY_NONE;
    hdr(&m, "host", c->host);
    hdr(&m, "x-amz-content-sha256", ""); /* the payload hash, filled in once the body is known */
    switch (r->op) {
    case TB_OP_HEAD: m.method = "HEAD"; break;
    case TB_OP_GET: build_get(r, h, &m); break;
    case TB_OP_PUT:
    case TB_OP_MP_PART: build_put(r, h, &m); break;
    case TB_OP_DELETE: m.method = "DELETE"; break;
    case TB_OP_LIST: build_list(r, &m); break;
    case TB_OP_MP_CREATE: m.method = "POST"; qadd(&m.q, "uploads", ""); break;
    case TB_OP_MP_COMPLETE: rc = build_mp_complete(c, r, h, &m, e); break;
    case TB_OP_MP_ABORT: m.method = "DELETE"; qadd(&m.q, "uploadId", r->upload_id); break;
    case TB_OP_CREATE_ROOT: build_create_root(s, c, r, h, &m); break;
    case TB_OP_COPY: rc = build_copy(s, r, &m, e); break;
    }
    if (!rc) {
        m.hd[1].value = m.payload;
        object_headers(c, r, &m);
        sign_and_set(s, c, h, &m);
    }
    free(m.copy_source);
    return rc;
}

static void strip_quotes(const char *in, char *out, size_t n)
{
    while (*in == '"' || *in == ' ') in++;
    size_t l = strlen(in);
    while (l && (in[l - 1] == '"' || in[l - 1] == ' ')) l--;
    if (l >= n) l = n - 1;
    memcpy(out, in, l);
    out[l] = 0;
}

static void head_info(struct tb_http_req *h, struct tb_obj_info *info)
{
    char v[256];
    info->exists = 1;
    if (tb_http_resp_header(h, "Content-Range", v, sizeof v) == 0 && strchr(v, '/'))
        info->size = strtoull(strchr(v, '/') + 1, NULL, 10);
    else if (tb_http_resp_header(h, "Content-Length", v, sizeof v) == 0) info->size = strtoull(v, NULL, 10);
    if (tb_http_resp_header(h, "ETag", v, sizeof v) == 0) strip_quotes(v, info->etag, sizeof info->etag);
    tb_http_resp_header(h, "x-amz-meta-sha256", info->sha256, sizeof info->sha256);
    /* rclone's X-Amz-Meta-Mtime, in its canonical form when it is one (garbage is no mtime) */
    struct timespec ts;
    if (tb_http_resp_header(h, "x-amz-meta-mtime", v, sizeof v) == 0 && tb_mtime_parse(v, &ts) == 0)
        tb_mtime_format(&ts, info->meta_mtime);
    if (tb_http_resp_header(h, "Last-Modified", v, sizeof v) == 0) {
        time_t t = curl_getdate(v, NULL);
        if (t > 0) info->mtime = t;
    }
}

struct listp {
    struct tb_store_req *r;
    size_t cap, pcap;
    int truncated;
    char *next;
};

static int list_cb(void *ud, const char *path, const char *text, size_t len)
{
    struct listp *l = ud;
    struct tb_store_req *r = l->r;
    (void)len;
    if (strncmp(path, "ListBucketResult/", 17)) return 0;
    path += 17;
    if (strncmp(path, "Contents/", 9) == 0) {
        /* an entry opens at its first field (exists 2) and closes at </Contents> (exists 1) */
        struct tb_obj_info *it;
        if (r->nitems == 0 || r->items[r->nitems - 1].exists == 1) {
            tb_xgrow_n(&r->items, &l->cap, r->nitems + 1, sizeof *r->items, 64);
            it = &r->items[r->nitems++];
            memset(it, 0, sizeof *it);
            it->exists = 2; /* open */
        }
        it = &r->items[r->nitems - 1];
        const char *f = path + 9;
        if (strcmp(f, "Key") == 0) { free(it->key); it->key = tb_xstrdup(text); }
        else if (strcmp(f, "Size") == 0) it->size = strtoull(text, NULL, 10);
        else if (strcmp(f, "ETag") == 0) strip_quotes(text, it->etag, sizeof it->etag);
        else if (strcmp(f, "LastModified") == 0) it->mtime = tb_xml_time(text);
    } else if (strcmp(path, "Contents") == 0) {
        if (r->nitems && r->items[r->nitems - 1].exists == 2) r->items[r->nitems - 1].exists = 1;
    } else if (strcmp(path, "CommonPrefixes/Prefix") == 0) {
        tb_xgrow_n(&r->prefixes, &l->pcap, r->nprefixes + 1, sizeof *r->prefixes, 16);
        r->prefixes[r->nprefixes++] = tb_xstrdup(text);
    } else if (strcmp(path, "IsTruncated") == 0) {
        l->truncated = strcmp(text, "true") == 0;
    } else if (strcmp(path, "NextContinuationToken") == 0) {
        free(l->next);
        l->next = tb_xstrdup(text);
    }
    return 0;
}

struct onefield { const char *want; char *out; size_t n; int found; };

static int field_cb(void *ud, const char *path, const char *text, size_t len)
{
    struct onefield *f = ud;
    (void)len;
    const char *slash = strrchr(path, '/');
    const char *leaf = slash ? slash + 1 : path;
    if (strcmp(leaf, f->want) == 0) {
        snprintf(f->out, f->n, "%s", text);
        f->found = 1;
    }
    return 0;
}

int tb_s3_list_parse(const char *body, size_t len, struct tb_store_req *r, tb_err *e)
{
    struct listp l = {r, 0, 0, 0, NULL};
    int rc = tb_xml_parse(body, len, list_cb, &l, e);
    if (!rc && r->nitems && r->items[r->nitems - 1].exists == 2) r->items[r->nitems - 1].exists = 1;
    if (!rc && l.truncated && l.next) { r->next_token = l.next; l.next = NULL; }
    free(l.next);
    return rc;
}

int tb_s3_xml_field(const char *body, size_t len, const char *leaf, char *out, size_t n, tb_err *e)
{
    struct onefield f = {leaf, out, n, 0};
    if (n) out[0] = 0;
    int rc = tb_xml_parse(body, len, field_cb, &f, e);
    return rc ? rc : f.found;
}

/* A 200 may still carry an <Error> (S3 sends it after keep-alive whitespace, for
 * CompleteMultipartUpload and CopyObject): that is a failure. */
static int error_in_200(struct tb_store *s, struct tb_store_req *r, struct tb_http_req *h, tb_err *e)
{
    char code[128], msg[512];
    tb_http_xml_error(h->resp, h->resp_len, code, sizeof code, msg, sizeof msg);
    if (!code[0] || !h->resp || !strstr(h->resp, "<Error>")) return 0;
    char *u = tb_store_uri(s, r->key);
    tb_fail(e, TB_EUNAVAIL, "%s %s: %s: %s", tb_store_op_name(r->op), u, code, msg);
    free(u);
    return TB_EUNAVAIL;
}

/* COPY's HEAD of the source: keep what REPLACE would drop, then go on to the copy itself. */
static int copy_source_read(struct tb_store *s, struct tb_store_req *r, struct tb_http_req *h, tb_err *e)
{
    struct scratch *sc = r->be_scratch;
    int rc = tb_store_copysrc_read(s, r, h, &sc->src, "x-amz-meta-", e);
    if (rc) return rc;
    struct tb_obj_info in = {0};
    head_info(h, &in);
    sc->src.size = in.size;
    char v[1024];
    if (tb_http_resp_header(h, "Content-Type", v, sizeof v) == 0) sc->src_type = tb_xstrdup(v);
    return TB_STORE_AGAIN;
}

static int copy_done(struct tb_store *s, struct tb_store_req *r, struct tb_http_req *h, tb_err *e)
{
    int rc = error_in_200(s, r, h, e);
    if (rc) return rc;
    struct scratch *sc = r->be_scratch;
    char et[200] = "";
    struct onefield f = {"ETag", et, sizeof et, 0};
    tb_xml_parse(h->resp, h->resp_len, field_cb, &f, NULL);
    strip_quotes(et, r->info.etag, sizeof r->info.etag);
    r->info.exists = 1;
    if (sc && sc->src.known) {
        r->info.size = sc->src.size;
        const char *sha = tb_store_copysrc_get(&sc->src, "x-amz-meta-sha256");
        const char *mt = tb_store_copysrc_get(&sc->src, "x-amz-meta-mtime");
        if (sha) snprintf(r->info.sha256, sizeof r->info.sha256, "%s", sha);
        if (mt) snprintf(r->info.meta_mtime, sizeof r->info.meta_mtime, "%s", mt);
    }
    if (r->sha256 && *r->sha256) snprintf(r->info.sha256, sizeof r->info.sha256, "%s", r->sha256);
    if (r->meta_mtime && *r->meta_mtime) snprintf(r->info.meta_mtime, sizeof r->info.meta_mtime, "%s", r->meta_mtime);
    return 0;
}

static int s3_finish(struct tb_store *s, struct tb_store_req *r, struct tb_http_req *h, tb_err *e)
{
    char v[256];
    if (r->op == TB_OP_COPY && r->be_scratch && ((struct scratch *)r->be_scratch)->src.head_sent) return copy_source_read(s, r, h, e);
    if (h->cls == TB_HTTP_NOTFOUND) {
        if (r->op == TB_OP_HEAD) { r->info.exists = 0; return 0; }
        if (r->op == TB_OP_DELETE || r->op == TB_OP_MP_ABORT) return 0;
    }
    if (h->cls == TB_HTTP_PRECOND && r->if_none_match && h->status == 412) {
        r->precond_failed = 1;
        char *u = tb_store_uri(s, r->key);
        tb_fail(e, TB_EDATA, "%s exists and --no-clobber refuses to replace it", u);
        free(u);
        return TB_EDATA;
    }
    if (h->cls != TB_HTTP_OK && r->op == TB_OP_CREATE_ROOT && h->status == 409) {
        char code[64], msg[8];
        tb_http_xml_error(h->resp, h->resp_len, code, sizeof code, msg, sizeof msg);
        if (strcmp(code, "BucketAlreadyOwnedByYou") == 0) return 0;
    }
    if (h->cls != TB_HTTP_OK) return tb_store_http_error(s, r, h, e);
    switch (r->op) {
    case TB_OP_HEAD:
        head_info(h, &r->info);
        break;
    case TB_OP_GET:
        head_info(h, &r->info);
        if (!r->sink) tb_store_take_body(r, h);
        break;
    case TB_OP_PUT:
        r->info.exists = 1;
        r->info.size = r->body.len;
        if (tb_http_resp_header(h, "ETag", v, sizeof v) == 0) strip_quotes(v, r->info.etag, sizeof r->info.etag);
        if (r->sha256) snprintf(r->info.sha256, sizeof r->info.sha256, "%s", r->sha256);
        if (r->meta_mtime) snprintf(r->info.meta_mtime, sizeof r->info.meta_mtime, "%s", r->meta_mtime);
        break;
    case TB_OP_MP_PART:
        if (tb_http_resp_header(h, "ETag", v, sizeof v) != 0)
            return tb_fail(e, TB_EUNAVAIL, "upload part %d of %s: no ETag in the answer", r->part_num, r->key);
        strip_quotes(v, r->part_etag, sizeof r->part_etag);
        break;
    case TB_OP_DELETE:
    case TB_OP_MP_ABORT:
    case TB_OP_CREATE_ROOT:
        break;
    case TB_OP_LIST: {
        int rc = tb_s3_list_parse(h->resp, h->resp_len, r, e);
        if (rc) return tb_err_wrap(e, "LIST %s", s->root.bucket);
        break;
    }
    case TB_OP_MP_CREATE: {
        int rc = tb_s3_xml_field(h->resp, h->resp_len, "UploadId", r->upload_id_out, sizeof r->upload_id_out, e);
        if (rc != 1 || !r->upload_id_out[0])
            return tb_fail(e, TB_EUNAVAIL, "create multipart upload of %s: no UploadId in the answer", r->key);
        break;
    }
    case TB_OP_COPY:
        return copy_done(s, r, h, e);
    case TB_OP_MP_COMPLETE: {
        int rc = error_in_200(s, r, h, e);
        if (rc) return rc;
        char et[200] = "";
        struct onefield f = {"ETag", et, sizeof et, 0};
        tb_xml_parse(h->resp, h->resp_len, field_cb, &f, NULL);
        strip_quotes(et, r->info.etag, sizeof r->info.etag);
        r->info.exists = 1;
        if (r->sha256) snprintf(r->info.sha256, sizeof r->info.sha256, "%s", r->sha256);
        break;
    }
    }
    return 0;
}

static int s3_presign(struct tb_store *s, const char *key, const char *method, long expires, char **url, tb_err *e)
{
    struct s3 *c = s->be_ctx;
    if (expires < 1 || expires > 604800) return tb_fail(e, TB_EUSAGE, "--expires must be between 1 and 604800 seconds (7 days)");
    char *path = raw_path(c, s->root.bucket, key);
    struct tb_sigv4_hdr hd[1] = {{"host", c->host}};
    struct tb_sigv4_key k = {c->cr.access_key, c->cr.secret_key, c->cr.token, c->cr.region, "s3", 0, 0};
    struct tb_sigv4_req sr = {method, path, "", hd, 1, "UNSIGNED-PAYLOAD", time(NULL)};
    struct tb_sigv4_out o;
    tb_sigv4_presign(&k, &sr, expires, &o);
    free(path);
    size_t n = strlen(c->scheme_host) + strlen(o.path) + strlen(o.query) + 2;
    *url = tb_xmalloc(n);
    snprintf(*url, n, "%s%s?%s", c->scheme_host, o.path, o.query);
    tb_sigv4_out_free(&o);
    return 0;
}

static const struct tb_store_backend s3_backend = {
    .name = "s3",
    .prepare = s3_prepare,
    .finish = s3_finish,
    .presign = s3_presign,
    .free_scratch = s3_free_scratch,
    .close = s3_close,
    .min_part = 5u << 20,
    .max_part = 5ull << 30,
    .max_parts = 10000,
    .etag_is_md5 = 1,
    .signs_body = 1, /* x-amz-content-sha256, and x-amz-checksum-sha256 where flexible checksums are on */
    .copy_max = 5ull << 30, /* CopyObject's limit; larger objects need UploadPartCopy */
};
