/* sigv4: AWS Signature Version 4 (header form and query form, for presigned URLs), as S3, R2 and
 * GCS's XML API accept it. Pure functions of their inputs (the time is a parameter), so the AWS test
 * suite in shared/vectors/sigv4 checks every intermediate (canonical request, string to sign,
 * signature). */
#ifndef TB_SIGV4_H
#define TB_SIGV4_H
#include <stddef.h>
#include <time.h>

struct tb_sigv4_key {
    const char *access_key, *secret_key;
    const char *token;   /* session token or NULL */
    const char *region;  /* "us-east-1", "auto" (R2) */
    const char *service; /* "s3" */
    int normalize;       /* resolve "." / ".." and collapse "//" in the path: every service but S3 */
    int omit_token;      /* sign without the token (it is added to the request afterwards) */
};

struct tb_sigv4_hdr { const char *name, *value; };

/* The request to sign. path is the raw, unencoded path (literal bytes; the signer percent-encodes
 * each byte but unreserved ones and '/', as S3 expects); query is the query string as it will be
 * sent (pairs are decoded and re-encoded canonically), "" or NULL for none. headers are the headers
 * to sign (Host included; names any case, values raw). */
struct tb_sigv4_req {
    const char *method, *path, *query;
    const struct tb_sigv4_hdr *headers;
    size_t nheaders;
    const char *payload_hash; /* hex SHA-256 of the body or "UNSIGNED-PAYLOAD" */
    time_t when;
};

struct tb_sigv4_out {
    char amz_date[17];        /* 20150830T123600Z: send as X-Amz-Date (header form) */
    char signature[65];
    char *canonical_request;  /* malloc'd (for tests and --verbose debugging) */
    char *string_to_sign;     /* malloc'd */
    char *authorization;      /* header form: the Authorization header value (malloc'd) */
    char *query;              /* query form: the full query string to send, signature last (malloc'd) */
    char *path;               /* the encoded path to send (malloc'd) */
};

/* Header form: signs the given headers plus x-amz-date and (unless omit_token) x-amz-security-token.
 * The caller sends X-Amz-Date: out->amz_date, the token header, and Authorization. Returns 0. */
int tb_sigv4_sign(const struct tb_sigv4_key *k, const struct tb_sigv4_req *r, struct tb_sigv4_out *out);
/* Query form (presigned URL) valid for `expires` seconds. */
int tb_sigv4_presign(const struct tb_sigv4_key *k, const struct tb_sigv4_req *r, long expires, struct tb_sigv4_out *out);
void tb_sigv4_out_free(struct tb_sigv4_out *out);

/* Percent-encode bytes as SigV4 wants (unreserved A-Z a-z 0-9 - _ . ~ stay; with keep_slash, '/'
 * stays too). Returns a malloc'd string. */
char *tb_sigv4_encode(const char *s, size_t n, int keep_slash);
#endif
