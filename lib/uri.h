/* uri: parse and print every location form of DESIGN.md.
 * Bucket keys are literal bytes (no percent-decoding: '?', '#', '%', '+', spaces and unicode are key
 * characters, as awscli treats them). Only http(s) URLs follow RFC 3986 and are kept verbatim. */
#ifndef TB_URI_H
#define TB_URI_H
#include "err.h"

enum tb_scheme { TB_URI_FILE, TB_URI_S3, TB_URI_R2, TB_URI_GS, TB_URI_AZ, TB_URI_HTTP, TB_URI_HTTPS, TB_URI_HF };

struct tb_uri {
    enum tb_scheme scheme;
    int explicit_file; /* written as file:// (else a plain path) */
    char *path;      /* file: the path as given (plain) or the absolute path (file://) */
    char *account;   /* az: storage account */
    char *bucket;    /* s3/r2/gs: bucket; az: container */
    char *key;       /* s3/r2/gs/az: object key ("" for the bucket root); hf: path inside the repo */
    char *url;       /* http(s): the URL verbatim */
    char *hf_type;   /* hf: "datasets", "models" or "spaces" */
    char *hf_repo;   /* hf: "ORG/NAME" */
    char *hf_rev;    /* hf: revision or NULL (means "main") */
};

/* Returns 0 or TB_EUSAGE with a message naming what is wrong. */
int tb_uri_parse(const char *s, struct tb_uri *u, tb_err *e);
/* Canonical text form (malloc'd): plain paths stay plain, everything else as scheme://... */
char *tb_uri_format(const struct tb_uri *u);
void tb_uri_free(struct tb_uri *u);
const char *tb_scheme_name(enum tb_scheme s);
/* Is this scheme an object store (s3, r2, gs, az)? */
int tb_uri_is_bucket(const struct tb_uri *u);
/* A new URI: prefix's key (or path) joined with name. A prefix ending in '/' (or a bucket root, or a
 * directory path) gets name appended; otherwise name is appended after a '/'. */
int tb_uri_join(const struct tb_uri *prefix, const char *name, struct tb_uri *out, tb_err *e);
/* A relative path that names from_dir/path, written relative to to_dir instead (both directories
 * absolute); lexical: "." and ".." are folded, symlinks are not followed. An absolute path is
 * returned as is. malloc'd. */
char *tb_path_rebase(const char *path, const char *from_dir, const char *to_dir);
#endif
