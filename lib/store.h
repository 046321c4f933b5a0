/* store: one interface over every object store (file://, s3/r2/gs via SigV4, az via Shared Key).
 *
 * Shape: a `struct tb_store` is opened on a root URI (a bucket, container or directory) and owns a
 * backend plus a `struct tb_http` (one libcurl multi handle, possibly shared). Work is expressed as
 * `struct tb_store_req` values, one per store operation, that run asynchronously:
 *
 *     tb_store_submit(s, &r);              // r.op, r.key, inputs, r.done/r.ud set; returns at once
 *     while (tb_store_perform(s, 100) > 0) // drives all transfers; calls r.done() when r finishes
 *         ;
 *
 * so `upload --jobs N` keeps N PUTs/parts in flight on one multi handle. Synchronous convenience
 * calls (tb_store_head, tb_store_put_mem, tb_store_get_file, tb_store_list_all, ...) are submit +
 * perform-until-done on the same machinery, for commands that need one answer at a time.
 *
 * HOW A BACKEND PLUGS IN
 * A backend is a `struct tb_store_backend` (a vtable) plus a context in s->be_ctx. Its open function,
 * tb_store_<name>_open(s, e), is called by tb_store_open with s->root and s->cfg already set; it
 * reads credentials, sets s->be and s->be_ctx, and returns 0 or an error (missing credentials: 77;
 * bad URI: 64). For every attempt of every request the core calls
 *
 *     be->prepare(s, r, h, e)
 *
 * which either fills the HTTP request h (h->method, tb_http_set_url, tb_http_header, h->body = the
 * request body) and signs it, returning 0; or completes r without HTTP (the file backend, Azure's
 * MP_CREATE which needs no round trip) by filling r's outputs and returning TB_STORE_LOCAL; or fails
 * with an exit code and e filled. When the HTTP exchange is over (2xx, or a failure that will not be
 * retried), the core calls
 *
 *     be->finish(s, r, h, e)
 *
 * to fill r's outputs from the response (headers, XML body). On an error response, finish may just
 * return tb_store_http_error(s, r, h, e), which maps the class to an exit code and puts the store's
 * <Code>/<Message> in e. An operation that takes two exchanges keeps its step in r->be_scratch
 * and has finish return TB_STORE_AGAIN after the first: the core submits r again. Retries, backoff, Retry-After, rewinding bodies and re-signing happen in
 * lib/http.c, driven by prepare being called again (h->attempt > 1, h->delivered for GET resumes).
 * The dispatch by scheme lives in store.c; an `az://` root calls tb_store_azure_open (lib/store_azure.c).
 *
 * Keys: r->key is the full object key inside the root's bucket/container (callers join a prefix and
 * a name with tb_uri_join, then take tb_store_key_of); bytes are literal, backends percent-encode
 * them as their store expects. For file stores the key is the file's path (as given: relative to
 * the cwd, or absolute for file:// URIs).
 * Errors: r->status is 0 or an exit code (enum tb_exit); r->err says what failed, with the store's
 * message; secrets never appear in it (tb_report redacts anyway). */
#ifndef TB_STORE_H
#define TB_STORE_H
#include "err.h"
#include "http.h"
#include "uri.h"
#include <stddef.h>
#include <stdint.h>

#define TB_STORE_LOCAL 1000 /* prepare(): "completed without HTTP" (not an error) */
#define TB_STORE_AGAIN 1001 /* finish(): "one more exchange": prepare is called again (S3's COPY reads
                             * the source's metadata before copying), the request is not done yet */

enum tb_store_op {
    TB_OP_HEAD,        /* in: key. out: info (exists=0 and status 0 when missing) */
    TB_OP_GET,         /* in: key, range_off/range_len, sink (or NULL: data/data_len). out: info */
    TB_OP_PUT,         /* in: key, body, content_md5, sha256, content_type, meta_mtime, if_none_match. out: info.etag */
    TB_OP_DELETE,      /* in: key. Missing object is not an error */
    TB_OP_LIST,        /* in: prefix, delimiter, token, max_keys. out: items, prefixes, next_token */
    TB_OP_MP_CREATE,   /* in: key, sha256, content_type, meta_mtime. out: upload_id */
    TB_OP_MP_PART,     /* in: key, upload_id, part_num (1-based), part_off, body, content_md5. out: part_etag */
    TB_OP_MP_COMPLETE, /* in: key, upload_id, parts/nparts, if_none_match. out: info.etag. The metadata is
                        * MP_CREATE's (Azure and file carry it in the upload id; there a sha256 or
                        * meta_mtime given here replaces it) */
    TB_OP_MP_ABORT,    /* in: key, upload_id. An upload already gone is not an error */
    TB_OP_CREATE_ROOT, /* in: public_read (key unused). Creates what the store is rooted at: the bucket
                        * (S3 CreateBucket, with the store's region as its location unless us-east-1
                        * or auto), the container (Azure Create Container), the directory and its
                        * parents (file). One that already exists and is the caller's is not an error
                        * (BucketAlreadyOwnedByYou, ContainerAlreadyExists, an existing directory) and
                        * is left as it is, access level included; whether it existed is not reported
                        * (S3 in us-east-1 answers 200 either way). public_read asks for anonymous read
                        * access to the objects: only where tb_store_caps() says public_root, else a
                        * usage error (64) before any request. */
    TB_OP_COPY,        /* in: key (the destination), copy_src (the source, same store), sha256 and
                        * meta_mtime (NULL: the source's are kept; given: they replace them, the
                        * source's other metadata and content type kept). Server-side, no bytes
                        * through trainbox: S3 CopyObject, Azure Copy Blob From URL, file: a temp copy
                        * renamed into place. Only objects up to be->copy_max bytes (0: no COPY);
                        * a missing source is 66. out: info (exists, etag; size where the store says) */
};

/* What a store says about one object. Strings are NUL-terminated; empty when unknown. */
struct tb_obj_info {
    int exists;
    char *key;            /* LIST items only (owned by the request) */
    uint64_t size;
    char etag[160];       /* without quotes; an MD5 hex for single PUTs on S3, "hex-N" for multipart */
    char sha256[65];      /* our x-amz-meta-sha256 / x-ms-meta-sha256, when stored */
    char content_md5[40]; /* Azure Content-MD5 (base64), when the store keeps it */
    int64_t mtime;        /* seconds since the epoch, 0 when unknown */
    char meta_mtime[32];  /* the object's stored mtime metadata (rclone's form), "" when none */
};

struct tb_store_part {
    int num;              /* 1-based */
    char etag[160];       /* S3: the part's ETag; Azure: the block id (base64) */
    char sha256[65];      /* hex SHA-256 of the part, or "": S3 lists it in CompleteMultipartUpload */
};

struct tb_store;
struct tb_store_req;
typedef void (*tb_store_done_fn)(struct tb_store_req *r);

struct tb_store_req {
    /* ---- inputs */
    enum tb_store_op op;
    const char *key;
    struct tb_body body;          /* PUT, MP_PART */
    const char *content_md5;      /* base64 MD5 of body (Content-MD5 header), or NULL */
    const char *body_sha256;      /* hex SHA-256 of body, or NULL: S3 signs it as the payload hash
                                   * (x-amz-content-sha256), so the store checks the bytes it got */
    const char *sha256;           /* hex SHA-256 of the whole object, stored as metadata; or NULL */
    const char *content_type;     /* or NULL (application/octet-stream) */
    const char *meta_mtime;       /* PUT, MP_CREATE, COPY: stored as the object's mtime metadata (rclone's X-Amz-Meta-Mtime form), or NULL */
    const char *copy_src;         /* COPY: the source object's key, in the same store */
    int if_none_match;            /* PUT/MP_COMPLETE: refuse to replace an existing object (412) */
    uint64_t range_off, range_len;/* GET: byte range; range_len 0 = to the end */
    const char *if_match;         /* GET: a strong ETag (quoted, as the store sent it) that a resumed
                                   * attempt (h->delivered > 0) sends as If-Match, so S3 and Azure
                                   * answer 412 for an object that changed instead of its new bytes
                                   * (the http backend sends If-Range instead); NULL: none */
    tb_http_sink_fn sink;         /* GET: body bytes go here (return n to continue) */
    void *sink_ud;
    const char *upload_id;        /* MP_PART, MP_COMPLETE, MP_ABORT */
    int part_num;                 /* MP_PART, 1-based */
    uint64_t part_off;            /* MP_PART: offset of this part in the object (file backend needs it) */
    uint64_t total_size;          /* MP_CREATE/MP_PART: object size when known (file backend preallocates) */
    const struct tb_store_part *parts; /* MP_COMPLETE: in part order */
    int nparts;
    const char *prefix, *delimiter, *token; /* LIST; token = previous next_token or NULL */
    int max_keys;                 /* LIST: 0 = store default (1000) */
    int public_read;              /* CREATE_ROOT: anonymous read access to the objects (caps.public_root) */
    tb_store_done_fn done;        /* async: called once from tb_store_perform */
    void *ud;
    /* ---- outputs (valid in done(); released by tb_store_req_clear) */
    int status;                   /* 0 or an exit code */
    tb_err err;
    int http_status;              /* last HTTP status (0 for local backends) */
    int precond_failed;           /* if_none_match and the object existed (status TB_EDATA) */
    int attempts, retries;
    struct tb_obj_info info;
    char upload_id_out[256];      /* MP_CREATE */
    char part_etag[160];          /* MP_PART */
    struct tb_obj_info *items;    /* LIST */
    size_t nitems;
    char **prefixes;              /* LIST with delimiter: common prefixes */
    size_t nprefixes;
    char *next_token;             /* LIST: NULL when this was the last page */
    char *data;                   /* GET without sink: the body (NUL-terminated) */
    size_t data_len;
    char *resp_headers;           /* http(s) stores' GET and HEAD: the final response's header block
                                   * ("HTTP/1.1 200 OK\r\nName: v\r\n..."), failures included; else
                                   * NULL. Read it with tb_store_resp_header */
    /* ---- private to the core */
    struct tb_store *store;
    struct tb_http_req h;
    struct tb_store_req *next;
    void *be_scratch;             /* backend's per-request state (freed by its finish/clear) */
};

struct tb_store_cfg {
    const char *endpoint;         /* --endpoint; NULL: TRAINBOX_S3_ENDPOINT / AWS_ENDPOINT_URL / default */
    const char *region;           /* NULL: AWS_REGION / AWS_DEFAULT_REGION / profile / us-east-1 */
    const char *profile;          /* --profile; NULL: AWS_PROFILE / default (lib/creds.h) */
    const char *bearer_token;     /* http(s) stores: sent as `Authorization: Bearer T` (HF_TOKEN), only
                                   * to bearer_origin's origin; redirects are then followed hop by hop
                                   * so none carries it elsewhere (lib/store_http.c). Copied at open */
    const char *bearer_origin;    /* the origin the token is for (HF_ENDPOINT); NULL: the root URL's */
    struct tb_http_cfg http;      /* retries, backoff, connections */
    struct tb_http *shared_http;  /* use this multi handle instead of creating one */
};
void tb_store_cfg_defaults(struct tb_store_cfg *c);
/* The store option group (TB_COMMON_OPTS, TB_STORE_OPTS, TB_REQUEST_OPTS in lib/opts.h): for one of
 * their ids, check the value, fill co / cfg and return 1; a bad value prints a usage error and
 * returns TB_EUSAGE; any other id returns 0. -v also turns on cfg's request log. */
struct tb_optparse;
struct tb_common_cfg;
int tb_store_opt(const struct tb_optparse *p, int id, struct tb_common_cfg *co, struct tb_store_cfg *cfg);
/* Pure checks behind tb_store_opt (for tests): 0, or -1 when out of range. */
int tb_store_parse_retries(const char *s, int *attempts);   /* 1..100 */
int tb_store_parse_timeout(const char *s, long *seconds);   /* 1..86400 */

struct tb_store_backend {
    const char *name; /* "file", "s3", "azure" */
    int (*prepare)(struct tb_store *s, struct tb_store_req *r, struct tb_http_req *h, tb_err *e);
    int (*finish)(struct tb_store *s, struct tb_store_req *r, struct tb_http_req *h, tb_err *e);
    /* Optional: a URL anyone can use until `expires` seconds from now ("GET" or "PUT").
     * Return TB_EUSAGE with a message when the backend cannot presign. */
    int (*presign)(struct tb_store *s, const char *key, const char *method, long expires, char **url, tb_err *e);
    void (*free_scratch)(struct tb_store_req *r); /* optional: release r->be_scratch */
    void (*close)(struct tb_store *s);
    /* Capabilities the upload pipeline adapts to. */
    uint64_t min_part, max_part;  /* multipart part size limits (S3: 5 MiB, 5 GiB) */
    int max_parts;                /* S3: 10000; Azure: 50000 */
    int etag_is_md5;              /* single-PUT ETag is the body's MD5 hex (S3, GCS) */
    int wants_md5;                /* callers should send content_md5 with bodies (Azure: the only
                                   * integrity check it offers); S3 uses body_sha256 instead */
    int signs_body;               /* callers should send body_sha256 with bodies (S3 signs it as the
                                   * payload hash and checks the bytes against it) */
    int public_root;              /* CREATE_ROOT honours public_read (Azure: x-ms-blob-public-access) */
    uint64_t copy_max; /* TB_OP_COPY works for objects up to this many bytes (0: not at all) */
};

struct tb_store {
    const struct tb_store_backend *be;
    void *be_ctx;
    struct tb_uri root;           /* a copy of the URI the store was opened on */
    struct tb_store_cfg cfg;
    struct tb_http *http;
    int own_http;
    struct tb_store_req *local_done; /* requests completed by prepare(), delivered by perform */
};

/* Open a store rooted at uri (file path, file://, s3://, r2://, gs://, az://). The root's key part
 * is only remembered (s->root.key); requests name full keys. */
int tb_store_open(struct tb_store **out, const struct tb_uri *uri, const struct tb_store_cfg *cfg, tb_err *e);
void tb_store_close(struct tb_store *s);

/* What a store can do, for callers that adapt to it (instead of reading s->be). */
struct tb_store_caps {
    int create_root;              /* TB_OP_CREATE_ROOT works (file, S3, Azure) */
    int public_root;              /* ... with public_read: a root anyone may read without credentials */
    int presign;                  /* tb_store_presign can make URLs */
    /* what transfers adapt to (lib/xfer): */
    uint64_t min_part, max_part;  /* multipart part size limits (S3: 5 MiB, 5 GiB) */
    int max_parts;                /* S3: 10000; Azure: 50000 */
    int etag_is_md5;              /* a single PUT's ETag is the body's MD5 hex (S3, GCS) */
    int wants_md5;                /* send content_md5 with bodies (Azure: the only check it makes) */
    int signs_body;               /* send body_sha256 with bodies (S3 signs it and checks the bytes) */
    int local;                    /* a local directory (file store): a directory that cannot be made is
                                   * one key's problem, not a missing bucket that stops everything */
    uint64_t copy_max;            /* TB_OP_COPY (server-side) works up to this many bytes; 0: never */
};
void tb_store_caps(const struct tb_store *s, struct tb_store_caps *caps);
/* Totals over the store's life, for progress lines (0 for local stores, which send no HTTP). */
struct tb_store_stats {
    uint64_t bytes_sent;          /* request body bytes sent */
    uint64_t retries;             /* attempts that were retried */
};
void tb_store_stats(const struct tb_store *s, struct tb_store_stats *st);

/* Async core. */
int tb_store_submit(struct tb_store *s, struct tb_store_req *r);
int tb_store_perform(struct tb_store *s, int timeout_ms); /* -> requests still pending in s->http */
void tb_store_cancel(struct tb_store *s, struct tb_store_req *r);
/* Submit and drive until r is done; returns r->status (e gets r->err). */
int tb_store_run(struct tb_store *s, struct tb_store_req *r, tb_err *e);
/* Release a finished request's outputs so the struct can be reused (inputs are left as they are). */
void tb_store_req_clear(struct tb_store_req *r);

/* Synchronous conveniences. */
int tb_store_head(struct tb_store *s, const char *key, struct tb_obj_info *info, tb_err *e);
int tb_store_put_mem(struct tb_store *s, const char *key, const void *p, size_t n, const char *content_type, tb_err *e);
/* Whole object (or range) into a callback / a local file (atomically: temp + fsync + rename). */
int tb_store_get_cb(struct tb_store *s, const char *key, uint64_t off, uint64_t len, tb_http_sink_fn sink, void *ud, tb_err *e);
int tb_store_get_file(struct tb_store *s, const char *key, const char *path, tb_err *e);
int tb_store_get_mem(struct tb_store *s, const char *key, char **data, size_t *len, tb_err *e);
int tb_store_delete(struct tb_store *s, const char *key, tb_err *e);
/* TB_OP_CREATE_ROOT: make the store's bucket, container or directory (public_read: see caps). */
int tb_store_create_root(struct tb_store *s, int public_read, tb_err *e);
/* Every object under prefix (all pages); cb returns nonzero to stop (that value is returned).
 * With a delimiter, common prefixes are reported with info->size == 0 and is_prefix = 1. */
typedef int (*tb_store_list_fn)(void *ud, const struct tb_obj_info *info, int is_prefix);
int tb_store_list_all(struct tb_store *s, const char *prefix, const char *delimiter, tb_store_list_fn cb, void *ud, tb_err *e);
int tb_store_presign(struct tb_store *s, const char *key, const char *method, long expires, char **url, tb_err *e);

/* The key a URI names inside its store: the object key for buckets, the path for files. */
const char *tb_store_key_of(const struct tb_uri *u);
/* The URI (malloc'd) users would write for key in this store: "s3://bucket/key", a path, ... */
char *tb_store_uri(const struct tb_store *s, const char *key);

/* For backends: map a failed HTTP exchange to r->status/e: class -> exit code, message
 * "OP KEY: HTTP 403 SignatureDoesNotMatch: <store message>". Returns the code. */
int tb_store_http_error(struct tb_store *s, struct tb_store_req *r, struct tb_http_req *h, tb_err *e);
const char *tb_store_op_name(enum tb_store_op op);

/* For backends: a GET whose body was captured (no sink) hands it to r->data before the core clears h. */
void tb_store_take_body(struct tb_store_req *r, struct tb_http_req *h);
/* A header of r->resp_headers (case-insensitive name), trimmed, into out; 0 if found (see
 * tb_http_resp_header). */
int tb_store_resp_header(const struct tb_store_req *r, const char *name, char *out, size_t outsz);

/* For the HTTP backends' COPY with new metadata (lib/store_copysrc.c): the source's metadata
 * headers are read by a HEAD first, since the copy drops what it does not send again. */
#define TB_STORE_COPY_META_MAX 24
struct tb_store_copysrc {
    int known;     /* the source's metadata has been read (HEAD done) */
    int head_sent; /* this exchange is the HEAD of the source */
    char *meta[TB_STORE_COPY_META_MAX][2]; /* the source's PREFIX* headers: lower-case name, value */
    int nmeta;
    uint64_t size; /* the source's size (the backend fills it from the HEAD's answer) */
};
/* 1 when r gives new metadata (sha256 or mtime): the copy replaces the source's. */
int tb_store_copy_replaces(const struct tb_store_req *r);
/* 1 (and head_sent set) when this exchange must be the HEAD of the source. */
int tb_store_copysrc_head_first(struct tb_store_copysrc *c, const struct tb_store_req *r);
/* The HEAD's answer: a missing source or a failure fills e; else keeps every PREFIX* header. */
int tb_store_copysrc_read(struct tb_store *s, struct tb_store_req *r, struct tb_http_req *h,
                          struct tb_store_copysrc *c, const char *prefix, tb_err *e);
/* The value kept for the lower-case header name, or NULL. */
const char *tb_store_copysrc_get(const struct tb_store_copysrc *c, const char *name);
/* 1 when kept header i is PREFIXsha256 or PREFIXmtime and r sends it anew (so it is not copied). */
int tb_store_copysrc_resent(const struct tb_store_copysrc *c, const struct tb_store_req *r, int i, const char *prefix);
void tb_store_copysrc_free(struct tb_store_copysrc *c);

/* Backends' open functions (dispatched by scheme in store.c). */
int tb_store_file_open(struct tb_store *s, tb_err *e);
int tb_store_s3_open(struct tb_store *s, tb_err *e);    /* s3, r2, gs */
/* store_s3's answer parsers, pure (tests/fuzz/fuzz_s3xml.c): a ListObjectsV2 page appended to r's
 * items and prefixes, r->next_token set when truncated (0, or TB_EDATA for malformed XML); the text
 * of the last element named leaf (UploadId, ETag) into out: 1 found, 0 not, or TB_EDATA. */
int tb_s3_list_parse(const char *body, size_t len, struct tb_store_req *r, tb_err *e);
int tb_s3_xml_field(const char *body, size_t len, const char *leaf, char *out, size_t n, tb_err *e);
int tb_store_azure_open(struct tb_store *s, tb_err *e); /* az (lib/store_azure.c) */
int tb_store_http_open(struct tb_store *s, tb_err *e);  /* http, https: read-only (lib/store_http.c) */

/* Percent-encoding shared by the signers: every byte but A-Z a-z 0-9 - _ . ~ becomes %XX;
 * keep_slash leaves '/' as is (object paths). Appends to a malloc'd string. */
char *tb_pct_encode(const char *s, size_t n, int keep_slash);
#endif
