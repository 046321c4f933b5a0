/* uri: parsing and printing of file, s3, r2, gs, az, http(s) and hf locations. */
#include "uri.h"
#include "alloc.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct { const char *prefix; enum tb_scheme s; } schemes[] = {
    {"s3://", TB_URI_S3}, {"r2://", TB_URI_R2}, {"gs://", TB_URI_GS}, {"az://", TB_URI_AZ},
    {"http://", TB_URI_HTTP}, {"https://", TB_URI_HTTPS}, {"hf://", TB_URI_HF}, {"file://", TB_URI_FILE},
};

const char *tb_scheme_name(enum tb_scheme s)
{
    switch (s) {
    case TB_URI_FILE: return "file";
    case TB_URI_S3: return "s3";
    case TB_URI_R2: return "r2";
    case TB_URI_GS: return "gs";
    case TB_URI_AZ: return "az";
    case TB_URI_HTTP: return "http";
    case TB_URI_HTTPS: return "https";
    case TB_URI_HF: return "hf";
    }
    return "?";
}

int tb_uri_is_bucket(const struct tb_uri *u)
{
    return u->scheme == TB_URI_S3 || u->scheme == TB_URI_R2 || u->scheme == TB_URI_GS || u->scheme == TB_URI_AZ;
}

void tb_uri_free(struct tb_uri *u)
{
    free(u->path); free(u->account); free(u->bucket); free(u->key);
    free(u->url); free(u->hf_type); free(u->hf_repo); free(u->hf_rev);
    memset(u, 0, sizeof *u);
}

static char *dupn(const char *s, size_t n) { return tb_xstrndup(s, n); }

/* S3 bucket names: 3-63 of [a-z0-9.-]; we also accept '_' and uppercase as legacy/GCS-style names
 * and leave the final judgement to the store. */
static int bucket_ok(const char *b, size_t n)
{
    if (n == 0 || n > 255) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = b[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_'))
            return 0;
    }
    return 1;
}

/* "BUCKET[/KEY]" at rest (what names the bucket: "bucket", "container"); s is the whole URI. */
static int bucket_and_key(struct tb_uri *u, const char *rest, const char *what, const char *s, tb_err *e)
{
    size_t n = strcspn(rest, "/");
    if (!bucket_ok(rest, n)) return tb_fail(e, TB_EUSAGE, "bad %s name in '%s'", what, s);
    u->bucket = dupn(rest, n);
    u->key = tb_xstrdup(rest[n] ? rest + n + 1 : "");
    return 0;
}

static int parse(const char *s, struct tb_uri *u, tb_err *e);

/* On failure nothing is left to free (a caller may still call tb_uri_free: u is zeroed). */
int tb_uri_parse(const char *s, struct tb_uri *u, tb_err *e)
{
    int r = parse(s, u, e);
    if (r) tb_uri_free(u);
    return r;
}

static int parse(const char *s, struct tb_uri *u, tb_err *e)
{
    memset(u, 0, sizeof *u);
    if (!s || !*s) return tb_fail(e, TB_EUSAGE, "empty location");
    size_t i;
    for (i = 0; i < sizeof schemes / sizeof schemes[0]; i++)
        if (strncmp(s, schemes[i].prefix, strlen(schemes[i].prefix)) == 0) break;
    if (i == sizeof schemes / sizeof schemes[0]) {
        const char *colon = strstr(s, "://");
        if (colon) {
            const char *c = s;
            while (c < colon && ((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '+')) c++;
            if (c == colon) return tb_fail(e, TB_EUSAGE, "unsupported location scheme '%.*s://' in '%s'", (int)(colon - s), s, s);
        }
        u->scheme = TB_URI_FILE;
        u->path = tb_xstrdup(s);
        return 0;
    }
    u->scheme = schemes[i].s;
    const char *rest = s + strlen(schemes[i].prefix);
    switch (u->scheme) {
    case TB_URI_FILE:
        u->explicit_file = 1;
        if (strncmp(rest, "localhost/", 10) == 0) rest += 9;
        if (rest[0] != '/') return tb_fail(e, TB_EUSAGE, "file URI must be file:///absolute/path: '%s'", s);
        u->path = tb_xstrdup(rest);
        return 0;
    case TB_URI_HTTP: case TB_URI_HTTPS:
        if (!*rest || *rest == '/') return tb_fail(e, TB_EUSAGE, "URL has no host: '%s'", s);
        u->url = tb_xstrdup(s);
        return 0;
    case TB_URI_S3: case TB_URI_R2: case TB_URI_GS:
        return bucket_and_key(u, rest, "bucket", s, e);
    case TB_URI_AZ: {
        size_t n = strcspn(rest, "/");
        if (n == 0) return tb_fail(e, TB_EUSAGE, "az URI needs az://ACCOUNT/CONTAINER/KEY: '%s'", s);
        u->account = dupn(rest, n);
        rest += n;
        if (*rest != '/' || !rest[1]) return tb_fail(e, TB_EUSAGE, "az URI needs a container: '%s'", s);
        return bucket_and_key(u, rest + 1, "container", s, e);
    }
    case TB_URI_HF: {
        size_t n = strcspn(rest, "/");
        if (!((n == 8 && strncmp(rest, "datasets", 8) == 0) || (n == 6 && strncmp(rest, "models", 6) == 0) ||
              (n == 6 && strncmp(rest, "spaces", 6) == 0)))
            return tb_fail(e, TB_EUSAGE, "hf URI must be hf://datasets/ORG/NAME[@REV]/PATH: '%s'", s);
        u->hf_type = dupn(rest, n);
        rest += n;
        if (*rest != '/') return tb_fail(e, TB_EUSAGE, "hf URI lacks ORG/NAME: '%s'", s);
        rest++;
        size_t org = strcspn(rest, "/");
        if (org == 0 || rest[org] != '/') return tb_fail(e, TB_EUSAGE, "hf URI lacks ORG/NAME: '%s'", s);
        size_t name = strcspn(rest + org + 1, "/");
        if (name == 0) return tb_fail(e, TB_EUSAGE, "hf URI lacks NAME: '%s'", s);
        const char *nm = rest + org + 1;
        const char *at = memchr(nm, '@', name);
        size_t nlen = at ? (size_t)(at - nm) : name;
        if (nlen == 0) return tb_fail(e, TB_EUSAGE, "hf URI lacks NAME: '%s'", s);
        u->hf_repo = dupn(rest, org + 1 + nlen);
        if (at) {
            if ((size_t)(at - nm) + 1 == name) return tb_fail(e, TB_EUSAGE, "hf URI has an empty revision: '%s'", s);
            u->hf_rev = dupn(at + 1, name - nlen - 1);
        }
        const char *p = nm + name;
        u->key = tb_xstrdup(*p == '/' ? p + 1 : "");
        return 0;
    }
    }
    return tb_fail(e, TB_ESOFTWARE, "unreachable");
}

char *tb_uri_format(const struct tb_uri *u)
{
    switch (u->scheme) {
    case TB_URI_FILE:
        return u->explicit_file ? tb_xasprintf("file://%s", u->path) : tb_xstrdup(u->path);
    case TB_URI_HTTP: case TB_URI_HTTPS:
        return tb_xstrdup(u->url);
    case TB_URI_S3: case TB_URI_R2: case TB_URI_GS:
        return tb_xasprintf("%s://%s/%s", tb_scheme_name(u->scheme), u->bucket, u->key);
    case TB_URI_AZ:
        return tb_xasprintf("az://%s/%s/%s", u->account, u->bucket, u->key);
    case TB_URI_HF:
        return tb_xasprintf("hf://%s/%s%s%s/%s", u->hf_type, u->hf_repo, u->hf_rev ? "@" : "", u->hf_rev ? u->hf_rev : "", u->key);
    }
    tb_assert_fail("u->scheme is a known scheme", __FILE__, __LINE__);
}

static char *join(const char *base, const char *name)
{
    size_t n = strlen(base);
    return n == 0 || base[n - 1] == '/' ? tb_xasprintf("%s%s", base, name) : tb_xasprintf("%s/%s", base, name);
}

int tb_uri_join(const struct tb_uri *p, const char *name, struct tb_uri *o, tb_err *e)
{
    char *s = tb_uri_format(p);
    int r;
    if (p->scheme == TB_URI_HTTP || p->scheme == TB_URI_HTTPS) {
        char *j = join(s, name);
        r = tb_uri_parse(j, o, e);
        free(j);
    } else {
        memset(o, 0, sizeof *o);
        r = tb_uri_parse(s, o, e);
        if (!r) {
            char **field = o->scheme == TB_URI_FILE ? &o->path : &o->key;
            char *j = join(*field, name);
            free(*field);
            *field = j;
        }
    }
    free(s);
    return r;
}

/* Split an absolute path into components, folding "." and ".."; v holds pointers into buf. */
static size_t path_parts(char *buf, const char **v, size_t max)
{
    size_t n = 0;
    for (char *save = NULL, *t = strtok_r(buf, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
        if (strcmp(t, ".") == 0) continue;
        if (strcmp(t, "..") == 0) { if (n) n--; continue; }
        if (n < max) v[n++] = t;
    }
    return n;
}

char *tb_path_rebase(const char *path, const char *from_dir, const char *to_dir)
{
    if (path[0] == '/') return tb_xstrdup(path);
    size_t fl = strlen(from_dir), pl = strlen(path), tl = strlen(to_dir);
    char *full = tb_xmalloc(fl + pl + 2), *to = tb_xstrdup(to_dir);
    const char **fv = tb_xmalloc(sizeof *fv * (fl + pl + 2)), **tv = tb_xmalloc(sizeof *tv * (tl + 1));
    snprintf(full, fl + pl + 2, "%s/%s", from_dir, path);
    size_t fn = path_parts(full, fv, fl + pl + 2), tn = path_parts(to, tv, tl + 1), k = 0;
    while (k < fn && k < tn && strcmp(fv[k], tv[k]) == 0) k++;
    size_t cap = 3 * (tn - k) + fl + pl + 2;
    char *out = tb_xmalloc(cap);
    size_t o = 0;
    for (size_t i = k; i < tn; i++) o += (size_t)snprintf(out + o, cap - o, "../");
    for (size_t i = k; i < fn; i++) o += (size_t)snprintf(out + o, cap - o, "%s%s", fv[i], i + 1 < fn ? "/" : "");
    if (o == 0) snprintf(out, cap, ".");
    free(full);
    free(to);
    free(fv);
    free(tv);
    return out;
}
