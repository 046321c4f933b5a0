/* hf_fetch: the network side of an hf:// source. A store opened on HF_ENDPOINT (the "hub" store,
 * lib/store_http with the token: it follows redirects hop by hop and sends HF_TOKEN to the Hub's
 * origin only), the Hub's tree listing fetched through it page by page (Link rel="next"), parsed
 * and sorted by lib/hf, and kept in an on-disk listing cache that many ranks starting at once
 * share (the usual cause of the Hub's 429s) and that HF_HUB_OFFLINE=1 reads alone.
 *
 * Downloads need nothing more: open the hub store once, then read each file with
 *     tb_src_open_store(&src, hub, key = tb_hf_resolve_url(env->endpoint, l, path), 0, e)
 * (lib/src_remote): the resolve URL's 302 to the CDN is followed without the token, a dropped body
 * is resumed on the CDN URL with If-Range, a changed file is 65.
 *
 * Listing cache: DIR/<sha256 of endpoint, type, repo, revision, directory>.json, a JSON list of the
 * directory's file entries in the Hub's own shape (every file under the directory, whatever the
 * path or glob asked, so one entry serves every pattern over that directory), written atomically
 * (temp + rename: a reader sees an old listing or a new one, never half of one). DIR: cache_dir,
 * else $XDG_CACHE_HOME/trainbox/hf, else $HOME/.cache/trainbox/hf (no cache when neither is set).
 * An entry is used
 *   - always when the revision is a 40-hex commit id (what it lists cannot change);
 *   - when younger than TRAINBOX_HF_LISTING_TTL seconds (default 600; 0: never) for a branch or tag;
 *   - as the only source with HF_HUB_OFFLINE=1 (env->offline), whatever its age.
 * A cache that cannot be written is no error: the listing is still right, the next run lists again. */
#ifndef TB_HF_FETCH_H
#define TB_HF_FETCH_H
#include "err.h"
#include "hf.h"
#include "store.h"

#define TB_HF_LISTING_TTL_DEFAULT 600 /* seconds */

/* Open the store every request to the Hub goes through: rooted at env->endpoint, with base's
 * settings (NULL: defaults; retries, timeouts, -v, a shared multi handle) and env->token as its
 * bearer token for env->endpoint's origin. env need not outlive the store (the backend copies the
 * token and the origin). Errors: an endpoint that is not a URL (64). */
int tb_hf_open_hub(struct tb_store **out, const struct tb_hf_env *env, const struct tb_store_cfg *base, tb_err *e);

/* The files l names, sorted by path (tb_hf_list_sort), into out (zeroed first; free with
 * tb_hf_list_free): from the cache (see above) or from the Hub through hub, following every page.
 * cache_dir NULL: the default directory. Errors:
 *   66  no file matches ("no file in ORG/NAME@REV matches PATH"), or the Hub has no such
 *       repository, revision or directory (404)
 *   77  the Hub refused access (401/403): a hint to set HF_TOKEN, or that HF_TOKEN was refused
 *   69  offline (HF_HUB_OFFLINE=1) and the listing is not cached; the Hub unreachable after retries
 *   65  a listing page that is not the Hub's JSON */
int tb_hf_fetch_list(struct tb_store *hub, const struct tb_hf_env *env, const struct tb_hf_loc *l, const char *cache_dir,
                     struct tb_hf_list *out, tb_err *e);

/* ---- pure parts (for tests) */

/* The cache file name for l under dir: DIR/<hex sha256>.json (malloc'd). */
char *tb_hf_cache_path(const char *dir, const char *endpoint, const struct tb_hf_loc *l);
/* The default cache directory (malloc'd), or NULL when neither XDG_CACHE_HOME nor HOME is set. */
char *tb_hf_cache_dir_default(void);
/* Is rev a commit id (40 hex digits)? */
int tb_hf_rev_is_commit(const char *rev);
/* TRAINBOX_HF_LISTING_TTL's value (NULL or empty: the default; not a non-negative integer: -1). */
long tb_hf_listing_ttl(const char *v);
#endif
