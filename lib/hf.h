/* hf: the Hugging Face Hub's side of an hf:// source, without the network: what to list, the URLs to
 * ask, what a listing page says, when to wait, and where the token may go.
 *
 *   hf://datasets/ORG/NAME[@REVISION]/PATH  (also models/ and spaces/; lib/uri parses the form)
 * REVISION defaults to "main"; one holding '/' is written percent-encoded in the URI
 * ("@refs%2Fconvert%2Fparquet"), as huggingface_hub's HfFileSystem takes it. PATH may hold globs
 * (lib/pathglob's syntax: *, ?, **, [...], \c; braces are refused, exit 64); it is matched against
 * the whole repo path. Without a glob character PATH names a file, or every file under it when it
 * is a directory ("data" and "data/" both take every file under data; "" the whole repository).
 *
 * The Hub's API, as huggingface_hub uses it:
 *   listing  GET {HF_ENDPOINT}/api/{type}/{ORG/NAME}/tree/{REV}[/{DIR}]?recursive=true, a JSON list
 *            of {"type": "file"|"directory", "oid", "size", "path", "lfs": {"oid", "size", ...}}
 *            a page, the next page named by the Link header's rel="next" URL
 *   download GET {HF_ENDPOINT}[/datasets|/spaces]/{ORG/NAME}/resolve/{REV}/{PATH}, usually a 302
 *            to a CDN on another host
 *   REV and DIR percent-encoded with '/' too (%2F, as huggingface_hub's quote(safe="")); the
 *   resolve PATH keeps its '/'.
 *   429 carries `RateLimit: "api";r=0;t=SECONDS` (the seconds until the window resets) and
 *   usually no Retry-After.
 *   HF_TOKEN is sent as `Authorization: Bearer T` to HF_ENDPOINT's own origin only, never to a
 *   redirect target elsewhere (tb_hf_may_send_token).
 * Nothing here reads the network; tb_hf_env_read is the only function that reads the environment.
 * Listed paths are the Hub's: a caller that makes local names of them checks them (lib/safepath). */
#ifndef TB_HF_H
#define TB_HF_H
#include "err.h"
#include "pathglob.h"
#include "uri.h"
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define TB_HF_DEFAULT_ENDPOINT "https://huggingface.co"

/* The environment huggingface_hub reads. */
struct tb_hf_env {
    char endpoint[1024];  /* HF_ENDPOINT without trailing '/', else TB_HF_DEFAULT_ENDPOINT */
    const char *token;    /* HF_TOKEN (then the older HUGGING_FACE_HUB_TOKEN), NULL when unset or
                           * empty; points into the environment (or the caller's string) */
    int offline;          /* HF_HUB_OFFLINE is 1/true/yes/on (any case): the caller reads only its cache */
};
/* From the environment. 64 when HF_ENDPOINT is not an http(s):// URL or is too long. */
int tb_hf_env_read(struct tb_hf_env *env, tb_err *e);
/* The same decision on given values (NULL = unset), for tests and callers with their own lookup. */
int tb_hf_env_from(struct tb_hf_env *env, const char *endpoint, const char *token, const char *old_token,
                   const char *offline, tb_err *e);

/* What an hf:// URI asks for. */
struct tb_hf_loc {
    char *type;     /* "datasets", "models" or "spaces" */
    char *repo;     /* "ORG/NAME" */
    char *rev;      /* the revision, percent-decoded ("main" when none was given) */
    char *path;     /* PATH as given */
    char *dir;      /* the directory to list, no leading or trailing '/' ("" = the repository's root):
                     * with a glob, PATH's components before the first one holding a glob character;
                     * without, PATH itself when it ends in '/', else its parent (PATH may be a file
                     * or a directory, and the parent's listing tells which) */
    int has_glob;   /* PATH holds *, ?, [ or \ */
    struct tb_glob glob;  /* has_glob: "/" PATH, anchored at the repository's root */
    char *exact;    /* !has_glob: PATH without trailing '/' (the file, or the directory's files) */
};
/* From a parsed hf URI (lib/uri). Errors: not hf (64), a bad glob (64), a bad %-escape in REV (64). */
int tb_hf_loc_from_uri(const struct tb_uri *u, struct tb_hf_loc *l, tb_err *e);
/* Parse the text form and fill l (tb_uri_parse then tb_hf_loc_from_uri). */
int tb_hf_loc_parse(const char *s, struct tb_hf_loc *l, tb_err *e);
void tb_hf_loc_free(struct tb_hf_loc *l);
/* Does the repo path (path, len bytes) belong to the location: matches the glob, is the file, or
 * lies under the directory? */
int tb_hf_loc_wants(const struct tb_hf_loc *l, const char *path, size_t len);

/* Percent-encode s for a URL path: unreserved characters (A-Z a-z 0-9 - . _ ~) stay, '/' stays when
 * keep_slash, every other byte becomes %XX. malloc'd. */
char *tb_hf_pct_encode(const char *s, int keep_slash);
/* Decode %XX escapes ("+" stays). malloc'd into *out; 64 on a bad escape or an encoded NUL. */
int tb_hf_pct_decode(const char *s, char **out, tb_err *e);

/* The first page of the listing: {endpoint}/api/{type}/{repo}/tree/{rev%}[/{dir%}]?recursive=true
 * (malloc'd). endpoint without trailing '/'. */
char *tb_hf_tree_url(const char *endpoint, const struct tb_hf_loc *l);
/* The download URL of one repo path: {endpoint}[/datasets|/spaces]/{repo}/resolve/{rev%}/{path%/}
 * (malloc'd). */
char *tb_hf_resolve_url(const char *endpoint, const struct tb_hf_loc *l, const char *path);

/* One listed file. */
struct tb_hf_file {
    char *path;      /* repo path */
    uint64_t size;   /* the file's size in bytes (lfs.size for LFS files) */
    char *oid;       /* git blob id */
    char *lfs_oid;   /* the sha256 of an LFS file, NULL for a regular one */
    const char *etag;/* what the Hub's X-Linked-Etag names: lfs_oid, else oid (not owned) */
};
struct tb_hf_list {
    struct tb_hf_file *f;
    size_t n, cap;
    uint64_t entries; /* listing entries seen (files and directories, wanted or not) */
    int pages;        /* listing pages fetched from the Hub (lib/hf_fetch; 0 when from its cache) */
    int from_cache;   /* lib/hf_fetch: the listing came from its cache */
};
/* Append the files of one listing page (the JSON text, len bytes) that l wants; directories and
 * unwanted files are skipped. A body that is not a JSON array of objects with a string "path" and
 * "type", or a file without a non-negative integer size, is TB_EDATA naming what is wrong. */
int tb_hf_tree_parse(const char *json, size_t len, const struct tb_hf_loc *l, struct tb_hf_list *out, tb_err *e);
/* Sort by path (byte order; the Hub lists a directory's subdirectories first, so pages are not in
 * order) and drop duplicates (a path listed on two pages). */
void tb_hf_list_sort(struct tb_hf_list *ls);
void tb_hf_list_free(struct tb_hf_list *ls);

/* The URL of a Link header's rel="next" entry (RFC 8288: "<url>; rel=next" or rel="next" or a
 * space-separated rel list holding next, several links comma-separated; the rel name compared
 * without case). A relative URL is resolved against base (the URL the header answered: "/path..."
 * takes base's origin, "?q" base's path). 1 and *out (malloc'd) when found, 0 when not. */
int tb_hf_link_next(const char *link, const char *base, char **out);

/* tb_http_retry_hint_ms (lib/http, which waits for it on every retried 429/503): what Retry-After
 * and the RateLimit header (`"api";r=0;t=55`) ask to wait, in ms, capped at cap_ms; -1 for nothing. */
long tb_hf_retry_hint_ms(const char *retry_after, const char *ratelimit, time_t now, long cap_ms);

/* May the Authorization header go to url? Only when url's scheme, host (compared without case) and
 * port (the scheme's default when absent) are the endpoint's: a redirect to a CDN on another host,
 * a downgrade to http, another port, or a URL that cannot be parsed gets no token. */
int tb_hf_may_send_token(const char *endpoint, const char *url);
#endif
