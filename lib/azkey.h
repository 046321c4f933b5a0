/* azkey: Azure Storage credentials and Shared Key authorization for the Blob service.
 * Owns: reading AZURE_STORAGE_CONNECTION_STRING / AZURE_STORAGE_ACCOUNT + AZURE_STORAGE_KEY into an
 * account, key and blob endpoint; the string-to-sign of the 2009-09-19+ Shared Key scheme (with the
 * 2015-02-21+ rule that a zero Content-Length is signed as an empty line); the HMAC-SHA256 signature
 * and the Authorization header value; the x-ms-date stamp; the percent-encoding of blob paths.
 * No I/O of its own besides getenv: store_azure builds requests, this only signs them. */
#ifndef TB_AZKEY_H
#define TB_AZKEY_H
#include "err.h"
#include <stddef.h>
#include <time.h>

/* Azurite's (and the old storage emulator's) published development account. */
#define TB_AZ_DEV_ACCOUNT "devstoreaccount1"
#define TB_AZ_DEV_KEY "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
#define TB_AZ_DEV_ENDPOINT "http://127.0.0.1:10000/devstoreaccount1"

struct tb_azcred {
    char account[64];        /* storage account names are 3-24 characters; emulators use longer */
    unsigned char key[128];  /* base64-decoded account key (64 bytes for real accounts) */
    size_t keylen;           /* 0: anonymous (public containers only; requests go unsigned) */
    char endpoint[512];      /* blob endpoint without trailing '/', e.g. https://acct.blob.core.windows.net
                              * or http://127.0.0.1:10000/devstoreaccount1 (path-style) */
};

/* Parse a connection string ("Key=Value;..."; keys case-insensitive, values may hold '='):
 * AccountName, AccountKey, DefaultEndpointsProtocol (default https), EndpointSuffix (default
 * core.windows.net), BlobEndpoint, UseDevelopmentStorage=true (optionally DevelopmentStorageProxyUri).
 * A SharedAccessSignature is refused (not supported). Errors: TB_EUSAGE naming the bad part
 * (never the key itself). */
int tb_azcred_parse_connstr(const char *s, struct tb_azcred *c, tb_err *e);

/* Credentials for `account` (the account of an az:// URI; may be NULL to take whatever the environment
 * names) from AZURE_STORAGE_CONNECTION_STRING, else AZURE_STORAGE_ACCOUNT / AZURE_STORAGE_KEY (endpoint
 * https://ACCOUNT.blob.core.windows.net, or AZURE_STORAGE_BLOB_ENDPOINT when set), else anonymous
 * access to https://ACCOUNT.blob.core.windows.net. An account that differs from the credentials' is
 * TB_ENOPERM: signing for one account with another's key could only fail later, less clearly. */
int tb_azcred_from_env(const char *account, struct tb_azcred *c, tb_err *e);

/* Set the account key from its base64 text. TB_EUSAGE when it is not base64. */
int tb_azcred_set_key(struct tb_azcred *c, const char *b64, tb_err *e);

/* The Shared Key string-to-sign (malloc'd) for one request.
 *   verb     "GET", "PUT", ...
 *   headers  n request headers as "Name: value" (any case, as they will be sent; others are ignored)
 *   account  the storage account
 *   path     the request path exactly as sent, percent-encoded (for path-style endpoints it begins
 *            with "/ACCOUNT", so the account appears twice in the canonicalized resource)
 *   query    the raw query string without '?' (percent-encoded) or NULL/"" */
char *tb_azkey_string_to_sign(const char *verb, const char *const *headers, size_t n,
                              const char *account, const char *path, const char *query);

/* base64(HMAC-SHA256(key, sts)) into out (45 bytes incl. NUL suffice). */
void tb_azkey_signature(const unsigned char *key, size_t keylen, const char *sts, char out[64]);

/* Complete "Authorization: SharedKey ACCOUNT:SIGNATURE" header line (malloc'd), or NULL for an
 * anonymous credential. */
char *tb_azkey_authorization(const struct tb_azcred *c, const char *verb, const char *const *headers,
                             size_t n, const char *path, const char *query);

/* "Sun, 22 Nov 2026 23:43:00 GMT" (RFC 1123, locale-independent) into out[32]. */
void tb_az_http_date(time_t t, char out[32]);

/* Percent-encode a blob name or query value into out (malloc'd): every byte except unreserved
 * characters (A-Z a-z 0-9 - . _ ~), and '/' when keep_slash, becomes %XX (upper-case hex). */
char *tb_az_encode(const char *s, int keep_slash);

/* Container names: 3-63 lower-case letters, digits and single dashes, starting and ending with a
 * letter or digit ($root, $logs and $web are the service's own). Checked locally so the message can
 * name the rule, rather than after a round trip that answers "OutOfRangeInput". */
int tb_az_container_ok(const char *c);

/* Block id of block i (0-based): base64 of the fixed 12-byte text "blk-%08u", since every block id of
 * one blob must have the same length (and i < 50,000 blocks). Deterministic, so a retried upload of
 * the same blob simply replaces its uncommitted blocks. out: 17 bytes. */
void tb_az_block_id(unsigned i, char out[17]);

/* Parse an RFC 1123 date ("Sun, 22 Nov 2026 23:43:00 GMT") to seconds since the epoch; -1 if bad. */
long long tb_az_parse_http_date(const char *s);

/* A blob service SAS (signed version 2020-02-10, signed with the account key) for one blob: the
 * query string "sv=...&se=...&sr=b&sp=PERMS&sig=..." (malloc'd) to append after '?'. perms: "r" to
 * read, "cw" to create/write. expiry: absolute time. NULL for an anonymous credential. The
 * string-to-sign names the blob as /blob/ACCOUNT/CONTAINER/NAME (not encoded, the account once even
 * for path-style endpoints). */
char *tb_az_sas_blob(const struct tb_azcred *c, const char *container, const char *blob, const char *perms,
                     time_t expiry);
#endif
