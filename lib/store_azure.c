/* store_azure: the Azure Blob backend of lib/store (az://ACCOUNT/CONTAINER/KEY), as prepare/finish
 * callbacks on lib/http, which does the retries (503 ServerBusy, 500 OperationTimedOut, connection
 * errors), backoff and re-signing: prepare is called for every attempt and signs it afresh.
 *
 * Operations and the Blob REST calls they become (x-ms-version 2021-08-06):
 *   HEAD        Get Blob Properties (size, Content-MD5, x-ms-meta-sha256, ETag, Last-Modified)
 *   GET         Get Blob, x-ms-range for byte ranges and for resuming after a broken transfer
 *   PUT         Put Blob (BlockBlob) with Content-MD5 (checked by the service), x-ms-meta-sha256,
 *               x-ms-meta-mtime (meta_mtime in rclone's azureblob form, RFC 3339: lib/mtime),
 *               If-None-Match: * for no-clobber (409 BlobAlreadyExists -> precond_failed, 65)
 *   DELETE      Delete Blob with its snapshots (a missing blob is not an error)
 *   LIST        List Blobs: prefix, delimiter, marker = token, maxresults = max_keys, include=metadata
 *   MP_CREATE   nothing to ask the service: completed locally. The upload id carries the object's
 *               sha256, mtime and content type to MP_COMPLETE, where Azure takes them.
 *   MP_PART     Put Block (block id = tb_az_block_id(part_num - 1), returned as part_etag)
 *   MP_COMPLETE Put Block List of the parts' block ids, with x-ms-meta-sha256, x-ms-meta-mtime,
 *               x-ms-blob-content-type, x-ms-blob-content-md5 (r->content_md5: the whole object's)
 *   COPY        Copy Blob From URL (x-ms-requires-sync: the copy is done when it answers; up to 256 MiB)
 *               from a read SAS of the source, in the same account. Azurite does not implement Put
 *               Blob From URL (5000 MiB), so that one is not used. New metadata replaces all of the
 *               source's, so then Get Blob Properties of the source comes first and its other
 *               metadata is sent along (two exchanges, TB_STORE_AGAIN).
 *   presign     a service SAS (sv 2020-02-10): sp=r for GET, sp=cw for PUT
 *   MP_ABORT    nothing: uncommitted blocks are invisible to readers and the service discards them
 *               after seven days, or at the next commit of that blob name. Completed locally.
 *   CREATE_ROOT Create Container (private, or x-ms-blob-public-access: blob for public_read);
 *               409 ContainerAlreadyExists is success
 * Error classes come from lib/http (403 AuthenticationFailed -> 77, 404 -> 66, 409/412 -> 65,
 * 5xx after the retries -> 69). Credentials: lib/azkey (connection string, account + key). */
#include "alloc.h"
#include "azkey.h"
#include "azxml.h"
#include "mtime.h"
#include "store.h"
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define AZ_VERSION "2021-08-06"
#define MAXH (12 + TB_STORE_COPY_META_MAX) /* COPY with new metadata sends the source's headers too */
#define UPLOAD_ID_PREFIX "azblocks:"
#define COPY_SAS_SECONDS 3600 /* how long the service may read the copy's source */

struct azbe {
    struct tb_azcred cred;
    const char *ep_path; /* path part of cred.endpoint ("" or "/devstoreaccount1") */
    size_t host_len;     /* length of the scheme://host[:port] part */
};

/* Secrets (the key, the Authorization line) are wiped before their memory goes back. */
static void wipe_free(void *p, size_t n)
{
    if (!p) return;
    OPENSSL_cleanse(p, n);
    free(p);
}

static char *xvasprintf(const char *fmt, va_list ap)
{
    char *p;
    if (vasprintf(&p, fmt, ap) < 0) tb_oom(strlen(fmt));
    return p;
}

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *p = xvasprintf(fmt, ap);
    va_end(ap);
    return p;
}

/* tb_az_encode fails only when out of memory. */
static char *enc(const char *s, int keep_slash)
{
    char *p = tb_az_encode(s, keep_slash);
    if (!p) tb_oom(strlen(s) * 3 + 1);
    return p;
}

/* The headers of one attempt: kept as "Name: value" strings so the same list is signed and sent. */
struct hdrs {
    char *h[MAXH];
    int n;
};

static void add(struct hdrs *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct hdrs *x, const char *fmt, ...)
{
    tb_assert(x->n < MAXH);
    va_list ap;
    va_start(ap, fmt);
    x->h[x->n++] = xvasprintf(fmt, ap);
    va_end(ap);
}

static void hdrs_free(struct hdrs *x)
{
    for (int i = 0; i < x->n; i++) free(x->h[i]);
    x->n = 0;
}

/* Per-request scratch that must outlive the attempts: the Put Block List body; COPY's step and
 * the source's metadata. */
struct scratch {
    char *xml;
    size_t len;
    struct tb_store_copysrc src; /* COPY: x-ms-meta-* of the source */
};

static struct scratch *scratch_of(struct tb_store_req *r)
{
    if (!r->be_scratch) r->be_scratch = tb_xcalloc(1, sizeof(struct scratch));
    return r->be_scratch;
}

static void az_free_scratch(struct tb_store_req *r)
{
    struct scratch *sc = r->be_scratch;
    if (sc) {
        free(sc->xml);
        tb_store_copysrc_free(&sc->src);
    }
    free(sc);
    r->be_scratch = NULL;
}

/* "azblocks:SHA256:MTIME:CONTENT-TYPE" -> its parts (any may be empty; mtime is rclone's decimal
 * form, which has no ':'). */
static void parse_upload_id(const char *id, char sha[65], char mtime[32], char *ctype, size_t ctcap)
{
    sha[0] = mtime[0] = ctype[0] = 0;
    if (!id || strncmp(id, UPLOAD_ID_PREFIX, strlen(UPLOAD_ID_PREFIX)) != 0) return;
    const char *p = id + strlen(UPLOAD_ID_PREFIX), *c = strchr(p, ':');
    if (!c) return;
    size_t n = (size_t)(c - p);
    if (n <= 64) { memcpy(sha, p, n); sha[n] = 0; }
    p = c + 1;
    if (!(c = strchr(p, ':'))) return;
    n = (size_t)(c - p);
    if (n < 32) { memcpy(mtime, p, n); mtime[n] = 0; }
    snprintf(ctype, ctcap, "%s", c + 1);
}

static void build_blocklist(struct tb_store_req *r)
{
    struct scratch *sc = scratch_of(r);
    if (sc->xml) return;
    size_t cap = 80 + (size_t)(r->nparts > 0 ? r->nparts : 0) * 40;
    sc->xml = tb_xmalloc(cap);
    char *q = sc->xml;
    q += sprintf(q, "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>");
    for (int i = 0; i < r->nparts; i++) {
        /* the part's etag is its block id; a missing one means the block of that part number */
        char id[17];
        const char *b = r->parts[i].etag;
        if (!b[0] || strlen(b) > 64) { tb_az_block_id((unsigned)(r->parts[i].num - 1), id); b = id; }
        q += sprintf(q, "<Latest>%s</Latest>", b);
    }
    q += sprintf(q, "</BlockList>");
    sc->len = (size_t)(q - sc->xml);
}

/* ---- building one attempt: az_prepare picks the operation's builder, then signs and sends */

struct msg {
    struct hdrs x;
    char query[512];
    int blob;        /* the path names a blob (else the container) */
    const char *key; /* the blob */
};

/* sha256 and the mtime metadata (decimal seconds in, rclone's RFC 3339 on the wire). */
static int meta_headers(struct msg *m, const char *sha256, const char *meta_mtime, const char *key, tb_err *e)
{
    if (sha256 && *sha256) add(&m->x, "x-ms-meta-sha256: %s", sha256);
    if (meta_mtime && *meta_mtime) {
        struct timespec ts;
        char v[TB_MTIME_MAX];
        if (tb_mtime_parse(meta_mtime, &ts) != 0 || !tb_mtime_format_rfc3339(&ts, v))
            return tb_fail(e, TB_EUSAGE, "%s: '%s' is not an mtime", key, meta_mtime);
        add(&m->x, "x-ms-meta-mtime: %s", v);
    }
    return 0;
}

static void build_get(const struct tb_store_req *r, const struct tb_http_req *h, struct msg *m)
{
    /* resuming after h->delivered bytes: ask for the rest only */
    uint64_t start = r->range_off + h->delivered;
    if (r->range_len && h->delivered >= r->range_len) start = r->range_off + r->range_len - 1; /* done; harmless */
    if (r->range_len)
        add(&m->x, "x-ms-range: bytes=%llu-%llu", (unsigned long long)start, (unsigned long long)(r->range_off + r->range_len - 1));
    else if (start > 0)
        add(&m->x, "x-ms-range: bytes=%llu-", (unsigned long long)start);
    if (h->delivered && r->if_match && r->if_match[0]) add(&m->x, "If-Match: %s", r->if_match);
}

static int build_put(const struct tb_store_req *r, struct tb_http_req *h, struct msg *m, tb_err *e)
{
    h->method = "PUT";
    h->body = r->body;
    add(&m->x, "x-ms-blob-type: BlockBlob");
    if (r->content_md5) add(&m->x, "Content-MD5: %s", r->content_md5);
    if (meta_headers(m, r->sha256, r->meta_mtime, m->key, e)) return e->code;
    if (r->content_type) add(&m->x, "x-ms-blob-content-type: %s", r->content_type);
    if (r->if_none_match) add(&m->x, "If-None-Match: *");
    return 0;
}

static int build_list(struct tb_store *s, const struct tb_store_req *r, struct msg *m, tb_err *e)
{
    struct azbe *be = s->be_ctx;
    m->blob = 0;
    char *ep = enc(r->prefix ? r->prefix : "", 0), *ed = enc(r->delimiter ? r->delimiter : "", 0);
    char *em = enc(r->token ? r->token : "", 0);
    int n = snprintf(m->query, sizeof m->query, "restype=container&comp=list&include=metadata%s%s%s%s%s%s",
                     *ep ? "&prefix=" : "", ep, *ed ? "&delimiter=" : "", ed, *em ? "&marker=" : "", em);
    if (r->max_keys > 0 && n > 0 && (size_t)n < sizeof m->query)
        n += snprintf(m->query + n, sizeof m->query - (size_t)n, "&maxresults=%d", r->max_keys);
    free(ep);
    free(ed);
    free(em);
    if (n < 0 || (size_t)n >= sizeof m->query)
        return tb_fail(e, TB_EUSAGE, "az://%s/%s: listing prefix too long", be->cred.account, s->root.bucket);
    return 0;
}

static int build_mp_part(struct tb_store_req *r, struct tb_http_req *h, struct msg *m, tb_err *e)
{
    h->method = "PUT";
    h->body = r->body;
    if (r->part_num < 1 || r->part_num > 50000)
        return tb_fail(e, TB_EUSAGE, "%s: block %d out of Azure's 1..50000", m->key, r->part_num);
    char id[17];
    tb_az_block_id((unsigned)(r->part_num - 1), id);
    snprintf(r->part_etag, sizeof r->part_etag, "%s", id);
    char *eid = enc(id, 0);
    snprintf(m->query, sizeof m->query, "comp=block&blockid=%s", eid);
    free(eid);
    if (r->content_md5) add(&m->x, "Content-MD5: %s", r->content_md5);
    return 0;
}

static int build_mp_complete(struct tb_store_req *r, struct tb_http_req *h, struct msg *m, tb_err *e)
{
    h->method = "PUT";
    build_blocklist(r);
    struct scratch *sc = r->be_scratch;
    h->body = (struct tb_body){-1, sc->xml, 0, sc->len};
    snprintf(m->query, sizeof m->query, "comp=blocklist");
    char sha[65], mt[32], ctype[200];
    parse_upload_id(r->upload_id, sha, mt, ctype, sizeof ctype);
    if (meta_headers(m, r->sha256 ? r->sha256 : sha, r->meta_mtime ? r->meta_mtime : mt, m->key, e)) return e->code;
    const char *ct = r->content_type ? r->content_type : ctype;
    if (*ct) add(&m->x, "x-ms-blob-content-type: %s", ct);
    if (r->content_md5) add(&m->x, "x-ms-blob-content-md5: %s", r->content_md5);
    if (r->if_none_match) add(&m->x, "If-None-Match: *");
    return 0;
}

/* COPY: Get Blob Properties of the source first when the metadata changes, then Copy Blob From
 * URL with a read SAS of the source. */
static int build_copy(struct tb_store *s, struct tb_store_req *r, struct tb_http_req *h, struct msg *m, tb_err *e)
{
    struct azbe *be = s->be_ctx;
    if (!r->copy_src || !*r->copy_src) return tb_fail(e, TB_EUSAGE, "COPY %s: no source key", m->key);
    if (!be->cred.keylen)
        return tb_fail(e, TB_ENOPERM, "a server-side copy in az://%s needs the account key (AZURE_STORAGE_KEY or a connection string)",
                       be->cred.account);
    struct scratch *sc = scratch_of(r);
    if (tb_store_copysrc_head_first(&sc->src, r)) {
        h->method = "HEAD";
        m->key = r->copy_src;
        return 0;
    }
    h->method = "PUT";
    char *sas = tb_az_sas_blob(&be->cred, s->root.bucket, r->copy_src, "r", time(NULL) + COPY_SAS_SECONDS);
    if (!sas) tb_oom(256);
    char *ec = enc(s->root.bucket, 0), *ek = enc(r->copy_src, 1);
    add(&m->x, "x-ms-copy-source: %s/%s/%s?%s", be->cred.endpoint, ec, ek, sas);
    wipe_free(sas, strlen(sas));
    free(ec);
    free(ek);
    add(&m->x, "x-ms-requires-sync: true");
    if (!tb_store_copy_replaces(r)) return 0;
    for (int i = 0; i < sc->src.nmeta; i++)
        if (!tb_store_copysrc_resent(&sc->src, r, i, "x-ms-meta-")) /* else replaced */
            add(&m->x, "%s: %s", sc->src.meta[i][0], sc->src.meta[i][1]);
    return meta_headers(m, r->sha256, r->meta_mtime, r->key, e);
}

/* Shared Key over the headers built (plus x-ms-date, x-ms-version and Content-Length), then the URL
 * and every header onto h. */
static void sign_and_set(struct tb_store *s, struct tb_http_req *h, struct msg *m)
{
    struct azbe *be = s->be_ctx;
    char date[32];
    tb_az_http_date(time(NULL), date);
    add(&m->x, "x-ms-date: %s", date);
    add(&m->x, "x-ms-version: " AZ_VERSION);
    char *ec = enc(s->root.bucket, 0), *ek = m->blob && *m->key ? enc(m->key, 1) : NULL;
    char *path = xasprintf("%s/%s%s%s", be->ep_path, ec, ek ? "/" : "", ek ? ek : "");
    free(ec);
    free(ek);
    char *url = xasprintf("%.*s%s%s%s", (int)be->host_len, be->cred.endpoint, path, *m->query ? "?" : "", m->query);
    /* Content-Length is signed (empty when 0) though libcurl writes it from the body length */
    char clen[48];
    const char *sign[MAXH + 1];
    int ns = 0;
    for (int i = 0; i < m->x.n; i++) sign[ns++] = m->x.h[i];
    if (h->body.len > 0) {
        snprintf(clen, sizeof clen, "Content-Length: %llu", (unsigned long long)h->body.len);
        sign[ns++] = clen;
    }
    char *auth = tb_azkey_authorization(&be->cred, h->method, sign, (size_t)ns, path, m->query);
    if (be->cred.keylen && !auth) tb_oom(256);
    free(path);
    tb_http_set_url(h, url);
    free(url);
    for (int i = 0; i < m->x.n; i++) tb_http_header(h, "%s", m->x.h[i]);
    if (auth) {
        tb_http_header(h, "%s", auth);
        wipe_free(auth, strlen(auth));
    }
}

static int az_prepare(struct tb_store *s, struct tb_store_req *r, struct tb_http_req *h, tb_err *e)
{
    struct msg m = {.blob = 1, .key = r->key ? r->key : ""};
    int rc = 0;
    h->body = TB_BODY_NONE;
    switch (r->op) {
    case TB_OP_MP_CREATE:
        if (r->meta_mtime && *r->meta_mtime) {
            struct timespec ts;
            if (tb_mtime_parse(r->meta_mtime, &ts) != 0) return tb_fail(e, TB_EUSAGE, "%s: '%s' is not an mtime", m.key, r->meta_mtime);
        }
        snprintf(r->upload_id_out, sizeof r->upload_id_out, UPLOAD_ID_PREFIX "%s:%s:%s", r->sha256 ? r->sha256 : "",
                 r->meta_mtime ? r->meta_mtime : "", r->content_type ? r->content_type : "");
        return TB_STORE_LOCAL;
    case TB_OP_MP_ABORT:
        return TB_STORE_LOCAL;
    case TB_OP_CREATE_ROOT:
        h->method = "PUT";
        m.blob = 0;
        snprintf(m.query, sizeof m.query, "restype=container");
        if (r->public_read) add(&m.x, "x-ms-blob-public-access: blob");
        break;
    case TB_OP_HEAD: h->method = "HEAD"; break;
    case TB_OP_GET: h->method = "GET"; build_get(r, h, &m); break;
    case TB_OP_PUT: rc = build_put(r, h, &m, e); break;
    case TB_OP_DELETE:
        h->method = "DELETE";
        add(&m.x, "x-ms-delete-snapshots: include");
        break;
    case TB_OP_LIST: h->method = "GET"; rc = build_list(s, r, &m, e); break;
    case TB_OP_MP_PART: rc = build_mp_part(r, h, &m, e); break;
    case TB_OP_MP_COMPLETE: rc = build_mp_complete(r, h, &m, e); break;
    case TB_OP_COPY: rc = build_copy(s, r, h, &m, e); break;
    }
    if (!rc) sign_and_set(s, h, &m);
    hdrs_free(&m.x);
    return rc;
}

/* An ETag without its quotes. */
static void etag_copy(char *dst, size_t cap, const char *v)
{
    size_t n = strlen(v);
    if (n >= 2 && v[0] == '"' && v[n - 1] == '"') { v++; n -= 2; }
    if (n >= cap) n = cap - 1;
    memcpy(dst, v, n);
    dst[n] = 0;
}

/* A stored x-ms-meta-mtime (rclone's RFC 3339, or decimal seconds) as meta_mtime's decimal form;
 * "" when it is neither. */
static void meta_mtime_of(const char *v, char out[32])
{
    struct timespec ts;
    out[0] = 0;
    if (tb_mtime_parse_rfc3339(v, &ts) == 0 || tb_mtime_parse(v, &ts) == 0) tb_mtime_format(&ts, out);
}

static void info_from_headers(struct tb_http_req *h, struct tb_obj_info *in)
{
    char v[256];
    in->exists = 1;
    if (!tb_http_resp_header(h, "Content-Range", v, sizeof v)) {
        const char *sl = strrchr(v, '/'); /* "bytes 0-9/300000": the blob's size */
        if (sl) in->size = strtoull(sl + 1, NULL, 10);
    } else if (!tb_http_resp_header(h, "Content-Length", v, sizeof v)) {
        in->size = strtoull(v, NULL, 10);
    }
    if (!tb_http_resp_header(h, "ETag", v, sizeof v)) etag_copy(in->etag, sizeof in->etag, v);
    if (!tb_http_resp_header(h, "x-ms-meta-sha256", v, sizeof v)) snprintf(in->sha256, sizeof in->sha256, "%.64s", v);
    if (!tb_http_resp_header(h, "x-ms-meta-mtime", v, sizeof v)) meta_mtime_of(v, in->meta_mtime);
    /* a ranged Get Blob sends the blob's MD5 as x-ms-blob-content-md5, Content-MD5 only for the range */
    char cr[8];
    int ranged = tb_http_resp_header(h, "Content-Range", cr, sizeof cr) == 0;
    if (!tb_http_resp_header(h, "x-ms-blob-content-md5", v, sizeof v) ||
        (!ranged && !tb_http_resp_header(h, "Content-MD5", v, sizeof v)))
        snprintf(in->content_md5, sizeof in->content_md5, "%.39s", v);
    if (!tb_http_resp_header(h, "Last-Modified", v, sizeof v)) {
        long long t = tb_az_parse_http_date(v);
        in->mtime = t > 0 ? t : 0;
    }
}

struct listacc {
    struct tb_store_req *r;
    size_t capi, capp;
};

static int list_add(void *ud, const struct tb_azxml_entry *x)
{
    struct listacc *a = ud;
    struct tb_store_req *r = a->r;
    if (x->is_prefix) {
        tb_xgrow_n(&r->prefixes, &a->capp, r->nprefixes + 1, sizeof *r->prefixes, 16);
        r->prefixes[r->nprefixes++] = tb_xstrdup(x->name);
        return 0;
    }
    tb_xgrow_n(&r->items, &a->capi, r->nitems + 1, sizeof *r->items, 64);
    struct tb_obj_info *in = &r->items[r->nitems];
    memset(in, 0, sizeof *in);
    in->key = tb_xstrdup(x->name);
    in->exists = 1;
    in->size = x->size;
    etag_copy(in->etag, sizeof in->etag, x->etag);
    snprintf(in->sha256, sizeof in->sha256, "%.64s", x->sha256);
    snprintf(in->content_md5, sizeof in->content_md5, "%.39s", x->md5_b64);
    meta_mtime_of(x->mtime, in->meta_mtime); /* listed with include=metadata: no HEAD needed */
    long long t = tb_az_parse_http_date(x->last_modified);
    in->mtime = t > 0 ? t : 0;
    r->nitems++;
    return 0;
}

/* COPY's Get Blob Properties of the source: keep its metadata, then go on to the copy. */
static int copy_source_read(struct tb_store *s, struct tb_store_req *r, struct tb_http_req *h, tb_err *e)
{
    struct scratch *sc = r->be_scratch;
    int rc = tb_store_copysrc_read(s, r, h, &sc->src, "x-ms-meta-", e);
    if (rc) return rc;
    struct tb_obj_info in = {0};
    info_from_headers(h, &in);
    sc->src.size = in.size;
    return TB_STORE_AGAIN;
}

static int copy_done(struct tb_store *s, struct tb_store_req *r, struct tb_http_req *h, tb_err *e)
{
    char v[200];
    if (tb_http_resp_header(h, "x-ms-copy-status", v, sizeof v) == 0 && strcmp(v, "success") != 0) {
        char *u = tb_store_uri(s, r->key);
        tb_fail(e, TB_EUNAVAIL, "COPY %s: the service answered copy status '%s'", u, v);
        free(u);
        return TB_EUNAVAIL;
    }
    r->info.exists = 1;
    if (!tb_http_resp_header(h, "ETag", v, sizeof v)) etag_copy(r->info.etag, sizeof r->info.etag, v);
    struct scratch *sc = r->be_scratch;
    if (sc && sc->src.known) {
        r->info.size = sc->src.size;
        const char *sha = tb_store_copysrc_get(&sc->src, "x-ms-meta-sha256");
        const char *mt = tb_store_copysrc_get(&sc->src, "x-ms-meta-mtime");
        if (sha) snprintf(r->info.sha256, sizeof r->info.sha256, "%.64s", sha);
        if (mt) meta_mtime_of(mt, r->info.meta_mtime);
    }
    if (r->sha256 && *r->sha256) snprintf(r->info.sha256, sizeof r->info.sha256, "%.64s", r->sha256);
    if (r->meta_mtime && *r->meta_mtime) snprintf(r->info.meta_mtime, sizeof r->info.meta_mtime, "%s", r->meta_mtime);
    return 0;
}

static int az_finish(struct tb_store *s, struct tb_store_req *r, struct tb_http_req *h, tb_err *e)
{
    if (r->op == TB_OP_COPY && r->be_scratch && ((struct scratch *)r->be_scratch)->src.head_sent) return copy_source_read(s, r, h, e);
    if (h->cls != TB_HTTP_OK) {
        if (h->cls == TB_HTTP_NOTFOUND && (r->op == TB_OP_HEAD || r->op == TB_OP_DELETE)) {
            memset(&r->info, 0, sizeof r->info);
            return 0; /* a missing object is an answer here */
        }
        if (h->cls == TB_HTTP_PRECOND && r->if_none_match && (r->op == TB_OP_PUT || r->op == TB_OP_MP_COMPLETE))
            r->precond_failed = 1;
        if (h->cls == TB_HTTP_PRECOND && r->op == TB_OP_CREATE_ROOT) {
            char code[64], msg[8];
            tb_http_xml_error(h->resp, h->resp_len, code, sizeof code, msg, sizeof msg);
            if (!code[0]) tb_http_resp_header(h, "x-ms-error-code", code, sizeof code);
            if (strcmp(code, "ContainerAlreadyExists") == 0) return 0; /* ours: left as it is */
        }
        return tb_store_http_error(s, r, h, e);
    }
    switch (r->op) {
    case TB_OP_HEAD:
        info_from_headers(h, &r->info);
        break;
    case TB_OP_GET:
        info_from_headers(h, &r->info);
        if (!r->sink) tb_store_take_body(r, h);
        break;
    case TB_OP_PUT:
    case TB_OP_MP_COMPLETE: {
        char v[200];
        r->info.exists = 1;
        r->info.size = r->op == TB_OP_PUT ? r->body.len : r->total_size;
        if (!tb_http_resp_header(h, "ETag", v, sizeof v)) etag_copy(r->info.etag, sizeof r->info.etag, v);
        if (r->op == TB_OP_MP_COMPLETE) parse_upload_id(r->upload_id, r->info.sha256, r->info.meta_mtime, v, sizeof v);
        if (r->sha256) snprintf(r->info.sha256, sizeof r->info.sha256, "%.64s", r->sha256);
        if (r->meta_mtime) snprintf(r->info.meta_mtime, sizeof r->info.meta_mtime, "%s", r->meta_mtime);
        if (r->content_md5) snprintf(r->info.content_md5, sizeof r->info.content_md5, "%.39s", r->content_md5);
        if (!tb_http_resp_header(h, "Last-Modified", v, sizeof v)) {
            long long t = tb_az_parse_http_date(v);
            r->info.mtime = t > 0 ? t : 0;
        }
        break;
    }
    case TB_OP_LIST: {
        struct listacc a = {r, 0, 0};
        char *marker = NULL;
        int rc = tb_azxml_list(h->resp ? h->resp : "", h->resp_len, list_add, &a, &marker, e);
        if (rc) return tb_err_wrap(e, "listing az://%s/%s", s->root.account, s->root.bucket);
        r->next_token = marker;
        break;
    }
    case TB_OP_COPY:
        return copy_done(s, r, h, e);
    default:
        break;
    }
    return 0;
}

/* A service SAS URL: GET may read the blob, PUT may create or overwrite it (with the
 * x-ms-blob-type: BlockBlob header Put Blob always needs). */
static int az_presign(struct tb_store *s, const char *key, const char *method, long expires, char **url, tb_err *e)
{
    struct azbe *be = s->be_ctx;
    const char *perms = strcmp(method, "GET") == 0 ? "r" : strcmp(method, "PUT") == 0 ? "cw" : NULL;
    if (!perms) return tb_fail(e, TB_EUSAGE, "az:// URLs can be presigned for GET or PUT, not %s", method);
    if (!be->cred.keylen)
        return tb_fail(e, TB_ENOPERM, "presigning az://%s needs the account key (AZURE_STORAGE_KEY or a connection string)",
                       be->cred.account);
    if (expires <= 0) return tb_fail(e, TB_EUSAGE, "the expiry must be a positive number of seconds");
    char *q = tb_az_sas_blob(&be->cred, s->root.bucket, key, perms, time(NULL) + expires);
    char *ec = enc(s->root.bucket, 0), *ek = enc(key, 1);
    if (!q) tb_oom(256); /* with a key, a SAS fails only when out of memory */
    *url = xasprintf("%s/%s/%s?%s", be->cred.endpoint, ec, ek, q);
    free(q);
    free(ec);
    free(ek);
    return 0;
}

static void az_close(struct tb_store *s)
{
    struct azbe *be = s->be_ctx;
    if (be) wipe_free(be, sizeof *be);
    s->be_ctx = NULL;
}

static const struct tb_store_backend azure_backend = {
    .name = "azure",
    .prepare = az_prepare,
    .finish = az_finish,
    .presign = az_presign,
    .free_scratch = az_free_scratch,
    .close = az_close,
    .min_part = 1,
    .max_part = 4000ull << 20, /* Put Block's limit (x-ms-version 2019-12-12 and later) */
    .max_parts = 50000,
    .etag_is_md5 = 0,
    .wants_md5 = 1, /* Content-MD5 on Put Blob and Put Block is the check Azure makes of the bytes */
    .public_root = 1,
    .copy_max = 256ull << 20, /* Copy Blob From URL's limit */
};

int tb_store_azure_open(struct tb_store *s, tb_err *e)
{
    if (s->root.scheme != TB_URI_AZ || !s->root.account || !s->root.bucket || !*s->root.bucket)
        return tb_fail(e, TB_EUSAGE, "an Azure location is az://ACCOUNT/CONTAINER[/PREFIX]");
    if (!tb_az_container_ok(s->root.bucket))
        return tb_fail(e, TB_EUSAGE, "az://%s/%s: a container name has 3 to 63 lower-case letters, digits or single dashes",
                       s->root.account, s->root.bucket);
    struct azbe *be = tb_xcalloc(1, sizeof *be);
    int r = tb_azcred_from_env(s->root.account, &be->cred, e);
    if (r) {
        wipe_free(be, sizeof *be);
        return r;
    }
    const char *p = strstr(be->cred.endpoint, "://");
    p = p ? strchr(p + 3, '/') : NULL;
    be->ep_path = p ? p : be->cred.endpoint + strlen(be->cred.endpoint);
    be->host_len = (size_t)(be->ep_path - be->cred.endpoint);
    s->be = &azure_backend;
    s->be_ctx = be;
    return 0;
}
