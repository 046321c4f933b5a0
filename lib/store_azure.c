/* store_azure: the Azure Blob backend of lib/store (az://ACCOUNT/CONTAINER/KEY), as prepare/finish
 * callbacks on lib/http, which does the retries (503 ServerBusy, 500 OperationTimedOut, connection
 * errors), backoff and re-signing: prepare is called for every attempt and signs it afresh.
 *
 * Operations and the Blob REST calls they become (x-ms-version 2021-08-06):
 *   HEAD        Get Blob Properties (size, Content-MD5, x-ms-meta-sha256, ETag, Last-Modified)
 *   GET         Get Blob, x-ms-range for byte ranges and for resuming after a broken transfer
 *   PUT         Put Blob (BlockBlob) with Content-MD5 (checked by the service), x-ms-meta-sha256,
 *               If-None-Match: * for no-clobber (409 BlobAlreadyExists -> precond_failed, 65)
 *   DELETE      Delete Blob with its snapshots (a missing blob is not an error)
 *   LIST        List Blobs: prefix, delimiter, marker = token, maxresults = max_keys, include=metadata
 *   MP_CREATE   nothing to ask the service: completed locally. The upload id carries the object's
 *               sha256 and content type to MP_COMPLETE, where Azure takes them.
 *   MP_PART     Put Block (block id = tb_az_block_id(part_num - 1), returned as part_etag)
 *   MP_COMPLETE Put Block List of the parts' block ids, with x-ms-meta-sha256,
 *               x-ms-blob-content-type, x-ms-blob-content-md5 (r->content_md5: the whole object's)
 *   presign     a service SAS (sv 2020-02-10): sp=r for GET, sp=cw for PUT
 *   MP_ABORT    nothing: uncommitted blocks are invisible to readers and the service discards them
 *               after seven days, or at the next commit of that blob name. Completed locally.
 *   CREATE_ROOT Create Container (private, or x-ms-blob-public-access: blob for public_read);
 *               409 ContainerAlreadyExists is success
 * Error classes come from lib/http (403 AuthenticationFailed -> 77, 404 -> 66, 409/412 -> 65,
 * 5xx after the retries -> 69). Credentials: lib/azkey (connection string, account + key). */
#include "azkey.h"
#include "azxml.h"
#include "store.h"
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define AZ_VERSION "2021-08-06"
#define MAXH 12
#define UPLOAD_ID_PREFIX "azblocks:"

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

/* The headers of one attempt: kept as "Name: value" strings so the same list is signed and sent. */
struct hdrs {
    char *h[MAXH];
    int n, oom;
};

static void add(struct hdrs *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct hdrs *x, const char *fmt, ...)
{
    if (x->n >= MAXH) { x->oom = 1; return; }
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&x->h[x->n], fmt, ap) < 0) x->oom = 1;
    else x->n++;
    va_end(ap);
}

static void hdrs_free(struct hdrs *x)
{
    for (int i = 0; i < x->n; i++) free(x->h[i]);
    x->n = 0;
}

/* Per-request scratch: the Put Block List body, which must outlive the attempts. */
struct scratch {
    char *xml;
    size_t len;
};

static void az_free_scratch(struct tb_store_req *r)
{
    struct scratch *sc = r->be_scratch;
    if (sc) free(sc->xml);
    free(sc);
    r->be_scratch = NULL;
}

/* "azblocks:SHA256:CONTENT-TYPE" -> the two parts (either may be empty). */
static void parse_upload_id(const char *id, char sha[65], char *ctype, size_t ctcap)
{
    sha[0] = ctype[0] = 0;
    if (!id || strncmp(id, UPLOAD_ID_PREFIX, strlen(UPLOAD_ID_PREFIX)) != 0) return;
    const char *p = id + strlen(UPLOAD_ID_PREFIX), *c = strchr(p, ':');
    if (!c) return;
    size_t n = (size_t)(c - p);
    if (n <= 64) { memcpy(sha, p, n); sha[n] = 0; }
    snprintf(ctype, ctcap, "%s", c + 1);
}

static int build_blocklist(struct tb_store_req *r, tb_err *e)
{
    if (r->be_scratch) return 0;
    struct scratch *sc = calloc(1, sizeof *sc);
    size_t cap = 80 + (size_t)(r->nparts > 0 ? r->nparts : 0) * 40;
    if (sc) sc->xml = malloc(cap);
    if (!sc || !sc->xml) {
        free(sc);
        return tb_fail(e, TB_ESOFTWARE, "out of memory for a block list of %d blocks", r->nparts);
    }
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
    r->be_scratch = sc;
    return 0;
}

static int az_prepare(struct tb_store *s, struct tb_store_req *r, struct tb_http_req *h, tb_err *e)
{
    struct azbe *be = s->be_ctx;
    const char *container = s->root.bucket;
    const char *key = r->key ? r->key : "";
    struct hdrs x = {0};
    char query[512] = "";
    int blob = 1; /* the path names a blob (else the container) */
    h->body = TB_BODY_NONE;

    switch (r->op) {
    case TB_OP_MP_CREATE:
        snprintf(r->upload_id_out, sizeof r->upload_id_out, UPLOAD_ID_PREFIX "%s:%s", r->sha256 ? r->sha256 : "",
                 r->content_type ? r->content_type : "");
        return TB_STORE_LOCAL;
    case TB_OP_MP_ABORT:
        return TB_STORE_LOCAL;
    case TB_OP_CREATE_ROOT:
        h->method = "PUT";
        blob = 0;
        snprintf(query, sizeof query, "restype=container");
        if (r->public_read) add(&x, "x-ms-blob-public-access: blob");
        break;
    case TB_OP_HEAD:
        h->method = "HEAD";
        break;
    case TB_OP_GET: {
        h->method = "GET";
        uint64_t start = r->range_off + h->delivered;
        if (r->range_len && h->delivered >= r->range_len) start = r->range_off + r->range_len - 1; /* done; harmless */
        if (r->range_len)
            add(&x, "x-ms-range: bytes=%llu-%llu", (unsigned long long)start,
                (unsigned long long)(r->range_off + r->range_len - 1));
        else if (start > 0)
            add(&x, "x-ms-range: bytes=%llu-", (unsigned long long)start);
        break;
    }
    case TB_OP_PUT:
        h->method = "PUT";
        h->body = r->body;
        add(&x, "x-ms-blob-type: BlockBlob");
        if (r->content_md5) add(&x, "Content-MD5: %s", r->content_md5);
        if (r->sha256) add(&x, "x-ms-meta-sha256: %s", r->sha256);
        if (r->content_type) add(&x, "x-ms-blob-content-type: %s", r->content_type);
        if (r->if_none_match) add(&x, "If-None-Match: *");
        break;
    case TB_OP_DELETE:
        h->method = "DELETE";
        add(&x, "x-ms-delete-snapshots: include");
        break;
    case TB_OP_LIST: {
        h->method = "GET";
        blob = 0;
        char *ep = tb_az_encode(r->prefix ? r->prefix : "", 0), *ed = tb_az_encode(r->delimiter ? r->delimiter : "", 0);
        char *em = tb_az_encode(r->token ? r->token : "", 0);
        if (!ep || !ed || !em) { free(ep); free(ed); free(em); return tb_fail(e, TB_ESOFTWARE, "out of memory"); }
        int n = snprintf(query, sizeof query, "restype=container&comp=list&include=metadata%s%s%s%s%s%s",
                         *ep ? "&prefix=" : "", ep, *ed ? "&delimiter=" : "", ed, *em ? "&marker=" : "", em);
        if (r->max_keys > 0 && n > 0 && (size_t)n < sizeof query)
            n += snprintf(query + n, sizeof query - (size_t)n, "&maxresults=%d", r->max_keys);
        free(ep); free(ed); free(em);
        if (n < 0 || (size_t)n >= sizeof query) return tb_fail(e, TB_EUSAGE, "az://%s/%s: listing prefix too long", be->cred.account, container);
        break;
    }
    case TB_OP_MP_PART: {
        h->method = "PUT";
        h->body = r->body;
        if (r->part_num < 1 || r->part_num > 50000)
            return tb_fail(e, TB_EUSAGE, "%s: block %d out of Azure's 1..50000", key, r->part_num);
        char id[17];
        tb_az_block_id((unsigned)(r->part_num - 1), id);
        snprintf(r->part_etag, sizeof r->part_etag, "%s", id);
        char *eid = tb_az_encode(id, 0);
        if (!eid) return tb_fail(e, TB_ESOFTWARE, "out of memory");
        snprintf(query, sizeof query, "comp=block&blockid=%s", eid);
        free(eid);
        if (r->content_md5) add(&x, "Content-MD5: %s", r->content_md5);
        break;
    }
    case TB_OP_MP_COMPLETE: {
        h->method = "PUT";
        if (build_blocklist(r, e)) return e->code;
        struct scratch *sc = r->be_scratch;
        h->body = (struct tb_body){-1, sc->xml, 0, sc->len};
        snprintf(query, sizeof query, "comp=blocklist");
        char sha[65], ctype[200];
        parse_upload_id(r->upload_id, sha, ctype, sizeof ctype);
        const char *sh = r->sha256 ? r->sha256 : sha;
        const char *ct = r->content_type ? r->content_type : ctype;
        if (*sh) add(&x, "x-ms-meta-sha256: %s", sh);
        if (*ct) add(&x, "x-ms-blob-content-type: %s", ct);
        if (r->content_md5) add(&x, "x-ms-blob-content-md5: %s", r->content_md5);
        if (r->if_none_match) add(&x, "If-None-Match: *");
        break;
    }
    }

    char date[32];
    tb_az_http_date(time(NULL), date);
    add(&x, "x-ms-date: %s", date);
    add(&x, "x-ms-version: " AZ_VERSION);
    char *ec = tb_az_encode(container, 0), *ek = blob && *key ? tb_az_encode(key, 1) : NULL;
    char *path = NULL;
    if (x.oom || !ec || (blob && *key && !ek) ||
        asprintf(&path, "%s/%s%s%s", be->ep_path, ec, ek ? "/" : "", ek ? ek : "") < 0) {
        free(ec); free(ek); hdrs_free(&x);
        return tb_fail(e, TB_ESOFTWARE, "out of memory");
    }
    free(ec);
    free(ek);
    char *url = NULL;
    if (asprintf(&url, "%.*s%s%s%s", (int)be->host_len, be->cred.endpoint, path, *query ? "?" : "", query) < 0) url = NULL;
    /* Content-Length is signed (empty when 0) though libcurl writes it from the body length */
    char clen[48];
    const char *sign[MAXH + 1];
    int ns = 0;
    for (int i = 0; i < x.n; i++) sign[ns++] = x.h[i];
    if (h->body.len > 0) {
        snprintf(clen, sizeof clen, "Content-Length: %llu", (unsigned long long)h->body.len);
        sign[ns++] = clen;
    }
    char *auth = tb_azkey_authorization(&be->cred, h->method, sign, (size_t)ns, path, query);
    free(path);
    if (!url || (be->cred.keylen && !auth)) {
        free(url); free(auth); hdrs_free(&x);
        return tb_fail(e, TB_ESOFTWARE, "out of memory");
    }
    tb_http_set_url(h, url);
    free(url);
    for (int i = 0; i < x.n; i++) tb_http_header(h, "%s", x.h[i]);
    if (auth) {
        tb_http_header(h, "%s", auth);
        wipe_free(auth, strlen(auth));
    }
    hdrs_free(&x);
    return 0;
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
        if (r->nprefixes == a->capp) {
            size_t c = a->capp ? a->capp * 2 : 16;
            char **p = realloc(r->prefixes, c * sizeof *p);
            if (!p) return TB_ESOFTWARE;
            r->prefixes = p;
            a->capp = c;
        }
        if (!(r->prefixes[r->nprefixes] = strdup(x->name))) return TB_ESOFTWARE;
        r->nprefixes++;
        return 0;
    }
    if (r->nitems == a->capi) {
        size_t c = a->capi ? a->capi * 2 : 64;
        struct tb_obj_info *p = realloc(r->items, c * sizeof *p);
        if (!p) return TB_ESOFTWARE;
        r->items = p;
        a->capi = c;
    }
    struct tb_obj_info *in = &r->items[r->nitems];
    memset(in, 0, sizeof *in);
    if (!(in->key = strdup(x->name))) return TB_ESOFTWARE;
    in->exists = 1;
    in->size = x->size;
    etag_copy(in->etag, sizeof in->etag, x->etag);
    snprintf(in->sha256, sizeof in->sha256, "%.64s", x->sha256);
    snprintf(in->content_md5, sizeof in->content_md5, "%.39s", x->md5_b64);
    long long t = tb_az_parse_http_date(x->last_modified);
    in->mtime = t > 0 ? t : 0;
    r->nitems++;
    return 0;
}

static int az_finish(struct tb_store *s, struct tb_store_req *r, struct tb_http_req *h, tb_err *e)
{
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
        if (!r->sink) { /* the body was captured: hand it over before the core clears h */
            r->data = h->resp ? h->resp : strdup("");
            r->data_len = h->resp_len;
            h->resp = NULL;
            h->resp_len = 0;
            if (!r->data) return tb_fail(e, TB_ESOFTWARE, "out of memory");
        }
        break;
    case TB_OP_PUT:
    case TB_OP_MP_COMPLETE: {
        char v[200];
        r->info.exists = 1;
        r->info.size = r->op == TB_OP_PUT ? r->body.len : r->total_size;
        if (!tb_http_resp_header(h, "ETag", v, sizeof v)) etag_copy(r->info.etag, sizeof r->info.etag, v);
        if (r->sha256) snprintf(r->info.sha256, sizeof r->info.sha256, "%.64s", r->sha256);
        else if (r->op == TB_OP_MP_COMPLETE) parse_upload_id(r->upload_id, r->info.sha256, v, sizeof v);
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
        if (rc == TB_ESOFTWARE && (!e || !e->code)) rc = tb_fail(e, TB_ESOFTWARE, "out of memory");
        if (rc) return tb_err_wrap(e, "listing az://%s/%s", s->root.account, s->root.bucket);
        r->next_token = marker;
        break;
    }
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
    char *ec = tb_az_encode(s->root.bucket, 0), *ek = tb_az_encode(key, 1);
    int n = q && ec && ek ? asprintf(url, "%s/%s/%s?%s", be->cred.endpoint, ec, ek, q) : -1;
    free(q);
    free(ec);
    free(ek);
    if (n < 0) {
        *url = NULL;
        return tb_fail(e, TB_ESOFTWARE, "out of memory");
    }
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
};

int tb_store_azure_open(struct tb_store *s, tb_err *e)
{
    if (s->root.scheme != TB_URI_AZ || !s->root.account || !s->root.bucket || !*s->root.bucket)
        return tb_fail(e, TB_EUSAGE, "an Azure location is az://ACCOUNT/CONTAINER[/PREFIX]");
    if (!tb_az_container_ok(s->root.bucket))
        return tb_fail(e, TB_EUSAGE, "az://%s/%s: a container name has 3 to 63 lower-case letters, digits or single dashes",
                       s->root.account, s->root.bucket);
    struct azbe *be = calloc(1, sizeof *be);
    if (!be) return tb_fail(e, TB_ESOFTWARE, "out of memory");
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
