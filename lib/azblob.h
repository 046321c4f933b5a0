/* azblob: a self-contained Azure Blob client (az://ACCOUNT/CONTAINER/KEY) over libcurl with its own
 * retries, used by the test driver tests/unit/azure_cli (creating containers, damaging blobs behind
 * trainbox's back). trainbox itself reaches Azure through lib/store_azure, the same protocol as a
 * backend of lib/store; the two share azkey and azxml. Candidates for one client later.
 * Owns the Blob REST requests trainbox needs: Put Blob (small objects), Put Block + Put Block List
 * (large ones, blocks in parallel on one libcurl multi handle), Get Blob (byte ranges), Get Blob
 * Properties, List Blobs (prefix, delimiter, marker pagination, parsed by azxml), Delete Blob and
 * Create Container; the x-ms-meta-sha256 metadata; retries with backoff; and the mapping of Azure
 * errors to exit codes (403 -> 77, 404 -> 66, 409/412 "exists" -> TB_AZ_EXISTS, 5xx after retries -> 69).
 * Signing is lib/azkey's. Blob names are taken literally and percent-encoded on the wire.
 *
 * Aborting a block upload: blocks put but never committed by Put Block List are invisible, cost
 * nothing to readers, and are garbage-collected by the service after seven days (or replaced by the
 * next commit of that blob name). So an interrupted or failed large upload is abandoned simply by not
 * committing; there is no abort request, unlike S3's AbortMultipartUpload. */
#ifndef TB_AZBLOB_H
#define TB_AZBLOB_H
#include "azkey.h"
#include "err.h"
#include <stddef.h>
#include <stdint.h>

/* Returned (with a message) by a no-clobber put when the blob already exists. Not an exit code of
 * its own: callers decide whether that is an error (65) or a skip. */
#define TB_AZ_EXISTS 1000

struct tb_az_opts {
    uint64_t block_size; /* Put Block size; objects up to this size go in one Put Blob (default 8 MiB) */
    int parallel;        /* blocks in flight at once (default 4) */
    int retries;         /* extra attempts for connection errors, 408, 429 and 5xx (default 4) */
    int backoff_ms;      /* first retry delay, doubled each time, jittered (default 200) */
    int maxresults;      /* List Blobs page size (0: the service's default of 5000) */
    long timeout_s;      /* low-speed timeout: abort a transfer slower than 1 byte/s for this long (default 60) */
};

struct tb_az;

/* A client for `account` (NULL: whichever the environment names) with credentials from the
 * environment (azkey's tb_azcred_from_env). opts may be NULL for defaults. multi may be NULL (the
 * client makes its own) or a multi handle owned by the caller, used for parallel blocks. */
int tb_az_open(struct tb_az **out, const char *account, const struct tb_az_opts *opts, void *multi, tb_err *e);
/* Same with explicit credentials. */
int tb_az_open_cred(struct tb_az **out, const struct tb_azcred *cred, const struct tb_az_opts *opts, void *multi, tb_err *e);
void tb_az_close(struct tb_az *az);
const char *tb_az_account(const struct tb_az *az);

struct tb_az_info {
    uint64_t size;
    char md5[33];      /* hex of the blob's Content-MD5, "" when the blob has none */
    char sha256[65];   /* x-ms-meta-sha256, "" when absent */
    char etag[80];     /* as the service sent it, quotes included */
    char last_modified[40];
};

struct tb_az_put {
    const char *sha256;  /* hex; NULL: computed from the file first (one extra read) */
    const char *md5;     /* hex; NULL: computed together with sha256 */
    int no_clobber;      /* If-None-Match: * ; an existing blob gives TB_AZ_EXISTS */
    const char *content_type; /* NULL: the service default */
};

/* Upload a local file to CONTAINER/KEY: one Put Blob when it fits in a block, else Put Block in
 * parallel and Put Block List. The blob gets Content-MD5 and x-ms-meta-sha256. info (may be NULL)
 * receives size, md5, sha256 and etag of the stored blob. */
int tb_az_put_file(struct tb_az *az, const char *container, const char *key, const char *path,
                   const struct tb_az_put *p, struct tb_az_info *info, tb_err *e);
/* Upload bytes in memory with one Put Blob. */
int tb_az_put_mem(struct tb_az *az, const char *container, const char *key, const void *data, size_t n,
                  const struct tb_az_put *p, struct tb_az_info *info, tb_err *e);

/* Get Blob Properties. Missing blob: TB_ENOINPUT. */
int tb_az_head(struct tb_az *az, const char *container, const char *key, struct tb_az_info *info, tb_err *e);

/* Get Blob bytes [off, off+len) (len UINT64_MAX: to the end) into sink, which returns 0 to go on or
 * an exit code to stop. A transfer broken midway resumes where it stopped (nothing is repeated). */
typedef int (*tb_az_sink)(void *ctx, const void *p, size_t n);
int tb_az_get(struct tb_az *az, const char *container, const char *key, uint64_t off, uint64_t len,
              tb_az_sink sink, void *ctx, tb_err *e);

/* One List Blobs entry: a blob (is_prefix 0, info filled from Properties and Metadata) or, with a
 * delimiter, a common prefix (is_prefix 1, name only). Return 0 to go on, else an exit code. */
struct tb_az_entry {
    const char *name;
    int is_prefix;
    struct tb_az_info info;
};
typedef int (*tb_az_list_cb)(void *ctx, const struct tb_az_entry *ent);
/* Every blob under prefix (NULL/"" for all), following NextMarker across pages. delimiter may be NULL. */
int tb_az_list(struct tb_az *az, const char *container, const char *prefix, const char *delimiter,
               tb_az_list_cb cb, void *ctx, tb_err *e);

/* Delete Blob (and its snapshots). Missing blob: TB_ENOINPUT. */
int tb_az_delete(struct tb_az *az, const char *container, const char *key, tb_err *e);
/* Create Container, private or (public_blobs) with anonymous read access to its blobs; an existing
 * one is not an error. */
int tb_az_create_container(struct tb_az *az, const char *container, int public_blobs, tb_err *e);

/* How many requests were retried (for tests and progress). */
unsigned tb_az_retries(const struct tb_az *az);

#endif
