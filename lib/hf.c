/* hf: hf:// locations, the Hub's listing and download URLs, its listing pages, Link and RateLimit
 * headers, and the rule for where the token may be sent (see hf.h for the Hub's API). */
#include "hf.h"
#include "alloc.h"
#include "http.h"
#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int truthy(const char *v)
{
    if (!v) return 0;
    return strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0 || strcasecmp(v, "on") == 0;
}

int tb_hf_env_from(struct tb_hf_env *env, const char *endpoint, const char *token, const char *old_token,
                   const char *offline, tb_err *e)
{
    memset(env, 0, sizeof *env);
    const char *ep = endpoint && *endpoint ? endpoint : TB_HF_DEFAULT_ENDPOINT;
    size_t n = strlen(ep);
    while (n > 0 && ep[n - 1] == '/') n--;
    if (!(strncasecmp(ep, "http://", 7) == 0 || strncasecmp(ep, "https://", 8) == 0) || n <= 8)
        return tb_fail(e, TB_EUSAGE, "HF_ENDPOINT must be an http(s):// URL: '%s'", ep);
    if (n >= sizeof env->endpoint) return tb_fail(e, TB_EUSAGE, "HF_ENDPOINT is longer than %zu bytes", sizeof env->endpoint - 1);
    memcpy(env->endpoint, ep, n);
    env->endpoint[n] = 0;
    env->token = token && *token ? token : old_token && *old_token ? old_token : NULL;
    env->offline = truthy(offline);
    return 0;
}

int tb_hf_env_read(struct tb_hf_env *env, tb_err *e)
{
    return tb_hf_env_from(env, getenv("HF_ENDPOINT"), getenv("HF_TOKEN"), getenv("HUGGING_FACE_HUB_TOKEN"),
                          getenv("HF_HUB_OFFLINE"), e);
}

/* ---- locations */

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int tb_hf_pct_decode(const char *s, char **out, tb_err *e)
{
    size_t n = strlen(s), j = 0;
    char *d = tb_xmalloc(n + 1);
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '%') { d[j++] = s[i]; continue; }
        /* a NUL after '%' is not a hex digit, so neither read goes past the string's end */
        int hi = hexval((unsigned char)s[i + 1]);
        int lo = hi >= 0 ? hexval((unsigned char)s[i + 2]) : -1;
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
            free(d);
            return tb_fail(e, TB_EUSAGE, "bad percent-escape in '%s'", s);
        }
        d[j++] = (char)(hi * 16 + lo);
        i += 2;
    }
    d[j] = 0;
    *out = d;
    return 0;
}

char *tb_hf_pct_encode(const char *s, int keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *d = tb_xmalloc(3 * n + 1), *q = d;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~' || (keep_slash && *p == '/'))
            *q++ = (char)*p;
        else { *q++ = '%'; *q++ = hex[*p >> 4]; *q++ = hex[*p & 15]; }
    }
    *q = 0;
    return d;
}

int tb_hf_loc_from_uri(const struct tb_uri *u, struct tb_hf_loc *l, tb_err *e)
{
    memset(l, 0, sizeof *l);
    if (u->scheme != TB_URI_HF) return tb_fail(e, TB_EUSAGE, "not an hf:// location");
    int rc = 0;
    l->type = tb_xstrdup(u->hf_type);
    l->repo = tb_xstrdup(u->hf_repo);
    l->path = tb_xstrdup(u->key ? u->key : "");
    if (u->hf_rev) { if ((rc = tb_hf_pct_decode(u->hf_rev, &l->rev, e))) goto bad; }
    else l->rev = tb_xstrdup("main");
    if (!l->rev[0]) { rc = tb_fail(e, TB_EUSAGE, "hf URI has an empty revision"); goto bad; }
    const char *p = l->path;
    const char *g = strpbrk(p, "*?[\\");
    if (g) {
        l->has_glob = 1;
        /* the directory: every whole component before the one holding the first glob character */
        const char *slash = NULL;
        for (const char *c = p; c < g; c++) if (*c == '/') slash = c;
        l->dir = tb_xstrndup(p, slash ? (size_t)(slash - p) : 0);
        char *pat = tb_xasprintf("/%s", p);
        rc = tb_glob_compile(&l->glob, pat, e);
        free(pat);
        if (rc) { tb_err_wrap(e, "hf path '%s'", p); goto bad; }
    } else {
        size_t n = strlen(p);
        int is_dir = n > 0 && p[n - 1] == '/';
        while (n > 0 && p[n - 1] == '/') n--;
        l->exact = tb_xstrndup(p, n);
        if (is_dir) l->dir = tb_xstrdup(l->exact);
        else {
            const char *slash = memrchr(l->exact, '/', n);
            l->dir = tb_xstrndup(l->exact, slash ? (size_t)(slash - l->exact) : 0);
        }
    }
    /* a leading '/' in PATH (hf://datasets/o/n//x) would make an empty component */
    while (l->dir[0] == '/') memmove(l->dir, l->dir + 1, strlen(l->dir));
    return 0;
bad:
    tb_hf_loc_free(l);
    return rc;
}

int tb_hf_loc_parse(const char *s, struct tb_hf_loc *l, tb_err *e)
{
    struct tb_uri u;
    memset(l, 0, sizeof *l);
    /* tb_uri_parse may have filled part of u before refusing: freed either way */
    int rc = tb_uri_parse(s, &u, e);
    if (!rc) rc = tb_hf_loc_from_uri(&u, l, e);
    tb_uri_free(&u);
    return rc;
}

void tb_hf_loc_free(struct tb_hf_loc *l)
{
    free(l->type); free(l->repo); free(l->rev); free(l->path); free(l->dir); free(l->exact);
    if (l->has_glob) tb_glob_free(&l->glob);
    memset(l, 0, sizeof *l);
}

int tb_hf_loc_wants(const struct tb_hf_loc *l, const char *path, size_t len)
{
    if (l->has_glob) return tb_glob_match(&l->glob, path, len);
    size_t n = strlen(l->exact);
    if (n == 0) return 1;
    if (len < n || memcmp(path, l->exact, n) != 0) return 0;
    return len == n || path[n] == '/';
}

/* ---- URLs */

char *tb_hf_tree_url(const char *endpoint, const struct tb_hf_loc *l)
{
    char *rev = tb_hf_pct_encode(l->rev, 0), *dir = tb_hf_pct_encode(l->dir, 0);
    char *url = tb_xasprintf("%s/api/%s/%s/tree/%s%s%s?recursive=true", endpoint, l->type, l->repo, rev,
                             dir[0] ? "/" : "", dir);
    free(rev);
    free(dir);
    return url;
}

char *tb_hf_resolve_url(const char *endpoint, const struct tb_hf_loc *l, const char *path)
{
    char *rev = tb_hf_pct_encode(l->rev, 0), *p = tb_hf_pct_encode(path, 1);
    /* models live at the root of the site, datasets and spaces under their type */
    const char *prefix = strcmp(l->type, "models") == 0 ? "" : strcmp(l->type, "spaces") == 0 ? "/spaces" : "/datasets";
    char *url = tb_xasprintf("%s%s/%s/resolve/%s/%s", endpoint, prefix, l->repo, rev, p);
    free(rev);
    free(p);
    return url;
}

/* ---- listing pages */

/* A JSON number that is an integer in [0, 2^53]. */
static int json_size(const cJSON *v, uint64_t *out)
{
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 9007199254740992.0 ||
        v->valuedouble != (double)(uint64_t)v->valuedouble)
        return -1;
    *out = (uint64_t)v->valuedouble;
    return 0;
}

static const char *json_str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

int tb_hf_tree_parse(const char *json, size_t len, const struct tb_hf_loc *l, struct tb_hf_list *out, tb_err *e)
{
    cJSON *root = cJSON_ParseWithLength(json, len);
    if (!root) return tb_fail(e, TB_EDATA, "the Hub's tree listing is not JSON");
    int rc = 0;
    if (!cJSON_IsArray(root)) { rc = tb_fail(e, TB_EDATA, "the Hub's tree listing is not a JSON list"); goto done; }
    size_t i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, root) {
        const char *type = json_str(it, "type"), *path = json_str(it, "path");
        if (!cJSON_IsObject(it) || !type || !path) {
            rc = tb_fail(e, TB_EDATA, "the Hub's tree listing: entry %zu lacks a string \"type\" or \"path\"", i);
            goto done;
        }
        i++;
        out->entries++;
        if (strcmp(type, "file") != 0) continue; /* "directory" (and whatever else may come) */
        uint64_t size;
        const cJSON *lfs = cJSON_GetObjectItemCaseSensitive(it, "lfs");
        const char *lfs_oid = cJSON_IsObject(lfs) ? json_str(lfs, "oid") : NULL;
        const cJSON *sz = lfs_oid && cJSON_GetObjectItemCaseSensitive(lfs, "size")
                              ? cJSON_GetObjectItemCaseSensitive(lfs, "size")
                              : cJSON_GetObjectItemCaseSensitive(it, "size");
        if (json_size(sz, &size)) {
            rc = tb_fail(e, TB_EDATA, "the Hub's tree listing: '%s' has no valid size", path);
            goto done;
        }
        if (!tb_hf_loc_wants(l, path, strlen(path))) continue;
        tb_xgrow_n(&out->f, &out->cap, out->n + 1, sizeof *out->f, 64);
        struct tb_hf_file *f = &out->f[out->n++];
        const char *oid = json_str(it, "oid");
        f->path = tb_xstrdup(path);
        f->size = size;
        f->oid = tb_xstrdup(oid ? oid : "");
        f->lfs_oid = lfs_oid ? tb_xstrdup(lfs_oid) : NULL;
        f->etag = f->lfs_oid ? f->lfs_oid : f->oid;
    }
done:
    cJSON_Delete(root);
    return rc;
}

static int by_path(const void *a, const void *b)
{
    return strcmp(((const struct tb_hf_file *)a)->path, ((const struct tb_hf_file *)b)->path);
}

static void file_free(struct tb_hf_file *f)
{
    free(f->path); free(f->oid); free(f->lfs_oid);
}

void tb_hf_list_sort(struct tb_hf_list *ls)
{
    if (ls->n < 2) return;
    qsort(ls->f, ls->n, sizeof *ls->f, by_path);
    size_t w = 1;
    for (size_t r = 1; r < ls->n; r++) {
        if (strcmp(ls->f[r].path, ls->f[w - 1].path) == 0) file_free(&ls->f[r]);
        else ls->f[w++] = ls->f[r];
    }
    ls->n = w;
}

void tb_hf_list_free(struct tb_hf_list *ls)
{
    for (size_t i = 0; i < ls->n; i++) file_free(&ls->f[i]);
    free(ls->f);
    memset(ls, 0, sizeof *ls);
}

/* ---- Link */

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t') p++;
    return p;
}

/* Does the rel value (n bytes, space-separated names) hold "next"? */
static int rel_has_next(const char *v, size_t n)
{
    size_t i = 0;
    while (i < n) {
        while (i < n && v[i] == ' ') i++;
        size_t s = i;
        while (i < n && v[i] != ' ') i++;
        if (i - s == 4 && strncasecmp(v + s, "next", 4) == 0) return 1;
    }
    return 0;
}

/* url resolved against base (see hf.h); NULL when it cannot be. */
static char *resolve_ref(const char *url, size_t n, const char *base)
{
    const char *colon = memchr(url, ':', n);
    const char *slash = memchr(url, '/', n);
    if (colon && (!slash || colon < slash) && colon + 2 < url + n && colon[1] == '/' && colon[2] == '/')
        return tb_xstrndup(url, n);
    if (!base) return NULL;
    const char *sep = strstr(base, "://");
    if (!sep) return NULL;
    const char *auth = sep + 3;
    const char *path = auth + strcspn(auth, "/?#");
    if (n >= 2 && url[0] == '/' && url[1] == '/') return tb_xasprintf("%.*s%.*s", (int)(sep + 1 - base), base, (int)n, url);
    if (n >= 1 && url[0] == '/') return tb_xasprintf("%.*s%.*s", (int)(path - base), base, (int)n, url);
    const char *q = path + strcspn(path, "?#");
    if (n >= 1 && url[0] == '?') return tb_xasprintf("%.*s%.*s", (int)(q - base), base, (int)n, url);
    /* a relative path: beside base's last component */
    const char *last = path;
    for (const char *c = path; c < q; c++) if (*c == '/') last = c + 1;
    if (last == path) return tb_xasprintf("%.*s/%.*s", (int)(path - base), base, (int)n, url);
    return tb_xasprintf("%.*s%.*s", (int)(last - base), base, (int)n, url);
}

int tb_hf_link_next(const char *link, const char *base, char **out)
{
    *out = NULL;
    if (!link) return 0;
    const char *p = link;
    for (;;) {
        p = skip_ws(p);
        while (*p == ',' || *p == ' ' || *p == '\t') p++;
        if (*p != '<') return 0;
        const char *u = p + 1, *ue = strchr(u, '>');
        if (!ue) return 0;
        p = ue + 1;
        int next = 0;
        for (;;) {
            p = skip_ws(p);
            if (*p != ';') break;
            p = skip_ws(p + 1);
            const char *k = p;
            while (*p && *p != '=' && *p != ';' && *p != ',' && *p != ' ' && *p != '\t') p++;
            size_t kn = (size_t)(p - k);
            p = skip_ws(p);
            const char *v = "";
            size_t vn = 0;
            char *unq = NULL;
            if (*p == '=') {
                p = skip_ws(p + 1);
                if (*p == '"') {
                    /* quoted-string: backslash escapes a character */
                    size_t cap = strlen(p), j = 0;
                    unq = tb_xmalloc(cap + 1);
                    for (p++; *p && *p != '"'; p++) {
                        if (*p == '\\' && p[1]) p++;
                        unq[j++] = *p;
                    }
                    if (*p != '"') { free(unq); return 0; }
                    p++;
                    unq[j] = 0;
                    v = unq;
                    vn = j;
                } else {
                    v = p;
                    while (*p && *p != ';' && *p != ',' && *p != ' ' && *p != '\t') p++;
                    vn = (size_t)(p - v);
                }
            }
            if (kn == 3 && strncasecmp(k, "rel", 3) == 0 && rel_has_next(v, vn)) next = 1;
            free(unq);
        }
        if (next) {
            *out = resolve_ref(u, (size_t)(ue - u), base);
            return *out != NULL;
        }
        p = skip_ws(p);
        if (*p != ',') return 0;
    }
}

/* ---- waiting */

long tb_hf_retry_hint_ms(const char *retry_after, const char *ratelimit, time_t now, long cap_ms)
{
    return tb_http_retry_hint_ms(retry_after, ratelimit, now, cap_ms);
}

/* A non-negative integer of at most 9 digits (n bytes at s), else -1. */
static long small_int(const char *s, size_t n)
{
    if (n == 0 || n > 9) return -1;
    long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i])) return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* ---- the token */

struct origin { char scheme[8]; const char *host; size_t hostlen; long port; };

static int parse_origin(const char *url, struct origin *o)
{
    const char *sep = strstr(url, "://");
    if (!sep || sep - url > 5) return -1;
    size_t sn = (size_t)(sep - url);
    for (size_t i = 0; i < sn; i++) o->scheme[i] = (char)tolower((unsigned char)url[i]);
    o->scheme[sn] = 0;
    long defport = strcmp(o->scheme, "https") == 0 ? 443 : strcmp(o->scheme, "http") == 0 ? 80 : -1;
    if (defport < 0) return -1;
    const char *a = sep + 3;
    size_t an = strcspn(a, "/?#");
    const char *at = NULL;
    for (size_t i = 0; i < an; i++) if (a[i] == '@') at = a + i;
    if (at) { an -= (size_t)(at + 1 - a); a = at + 1; }
    const char *portp = NULL;
    if (an && a[0] == '[') {
        const char *rb = memchr(a, ']', an);
        if (!rb) return -1;
        o->host = a;
        o->hostlen = (size_t)(rb + 1 - a);
        if (rb + 1 < a + an) { if (rb[1] != ':') return -1; portp = rb + 2; }
    } else {
        const char *c = memchr(a, ':', an);
        o->host = a;
        o->hostlen = c ? (size_t)(c - a) : an;
        if (c) portp = c + 1;
    }
    if (o->hostlen == 0) return -1;
    o->port = defport;
    if (portp) {
        size_t pn = (size_t)(a + an - portp);
        if (pn) {
            long v = small_int(portp, pn);
            if (v < 0 || v > 65535) return -1;
            o->port = v;
        }
    }
    return 0;
}

int tb_hf_may_send_token(const char *endpoint, const char *url)
{
    struct origin a, b;
    if (!endpoint || !url || parse_origin(endpoint, &a) || parse_origin(url, &b)) return 0;
    return strcmp(a.scheme, b.scheme) == 0 && a.port == b.port && a.hostlen == b.hostlen &&
           strncasecmp(a.host, b.host, a.hostlen) == 0;
}
