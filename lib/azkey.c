/* azkey: Azure Storage Shared Key authorization and credentials (see azkey.h). Written from the
 * "Authorize with Shared Key" reference: string-to-sign, canonicalized headers and resource. */
#include "azkey.h"
#include "alloc.h"
#include "base64.h"
#include "hash.h"
#include "uri.h"
#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct buf {
    char *p;
    size_t n, cap;
};

static void put(struct buf *b, const char *s, size_t n)
{
    tb_xgrow_n(&b->p, &b->cap, b->n + n + 1, 1, 256);
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}
static void puts_(struct buf *b, const char *s) { put(b, s, strlen(s)); }
static char *done(struct buf *b)
{
    return b->p ? b->p : tb_xstrdup("");
}

char *tb_az_encode(const char *s, int keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    struct buf b = {0};
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~' || (keep_slash && *p == '/')) {
            put(&b, (const char *)p, 1);
        } else {
            char t[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            put(&b, t, 3);
        }
    }
    return done(&b);
}

/* Percent-decode n bytes of s into a new string (bad escapes are kept literally). */
static char *decode(const char *s, size_t n)
{
    char *o = tb_xmalloc(n + 1), *q = o;
    for (size_t i = 0; i < n; i++) {
        int h, l;
        if (s[i] == '%' && i + 2 < n && (h = tb_hexval(s[i + 1])) >= 0 &&
            (l = tb_hexval(s[i + 2])) >= 0) {
            *q++ = (char)(h * 16 + l);
            i += 2;
        } else {
            *q++ = s[i];
        }
    }
    *q = 0;
    return o;
}

/* The value of header `name` (case-insensitive) in "Name: value" lines, trimmed, as a span. */
static const char *hdr(const char *const *h, size_t n, const char *name, size_t *len)
{
    size_t nl = strlen(name);
    for (size_t i = 0; i < n; i++) {
        if (strncasecmp(h[i], name, nl) == 0 && h[i][nl] == ':') {
            const char *v = h[i] + nl + 1;
            while (*v == ' ' || *v == '\t') v++;
            size_t l = strlen(v);
            while (l && (v[l - 1] == ' ' || v[l - 1] == '\t' || v[l - 1] == '\r' || v[l - 1] == '\n')) l--;
            *len = l;
            return v;
        }
    }
    return NULL;
}

struct kv {
    char *k, *v;
};

static int kv_cmp(const void *a, const void *b)
{
    const struct kv *x = a, *y = b;
    int c = strcmp(x->k, y->k);
    return c ? c : strcmp(x->v, y->v);
}

/* Canonicalized x-ms-* headers: names lower-cased, sorted, values with runs of whitespace folded into
 * one space and trimmed, each line ending in '\n'. */
static void canon_headers(struct buf *b, const char *const *h, size_t n)
{
    struct kv *a = tb_xcalloc(n ? n : 1, sizeof *a);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (strncasecmp(h[i], "x-ms-", 5) != 0) continue;
        const char *colon = strchr(h[i], ':');
        if (!colon) continue;
        size_t kl = (size_t)(colon - h[i]);
        while (kl && (h[i][kl - 1] == ' ' || h[i][kl - 1] == '\t')) kl--;
        char *k = tb_xstrndup(h[i], kl);
        char *v = tb_xmalloc(strlen(colon) + 1);
        for (char *p = k; *p; p++) *p = (char)tolower((unsigned char)*p);
        char *q = v;
        int space = 0;
        for (const char *p = colon + 1; *p; p++) {
            if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') { space = 1; continue; }
            if (space && q != v) *q++ = ' ';
            space = 0;
            *q++ = *p;
        }
        *q = 0;
        a[m].k = k;
        a[m].v = v;
        m++;
    }
    qsort(a, m, sizeof *a, kv_cmp);
    for (size_t i = 0; i < m; i++) {
        puts_(b, a[i].k);
        put(b, ":", 1);
        puts_(b, a[i].v);
        put(b, "\n", 1);
        free(a[i].k);
        free(a[i].v);
    }
    free(a);
}

/* Canonicalized resource: "/ACCOUNT" + encoded path, then one "\nname:v1,v2" line per query parameter
 * (names lower-cased and sorted, names and values URL-decoded, several values sorted and joined by ','). */
static void canon_resource(struct buf *b, const char *account, const char *path, const char *query)
{
    put(b, "/", 1);
    puts_(b, account);
    puts_(b, path && *path ? path : "/");
    if (!query || !*query) return;
    size_t n = 1;
    for (const char *p = query; *p; p++) n += *p == '&';
    struct kv *a = tb_xcalloc(n, sizeof *a);
    size_t m = 0;
    for (const char *p = query; *p;) {
        const char *end = strchr(p, '&');
        if (!end) end = p + strlen(p);
        if (end > p) {
            const char *eq = memchr(p, '=', (size_t)(end - p));
            const char *ke = eq ? eq : end;
            a[m].k = decode(p, (size_t)(ke - p));
            a[m].v = eq ? decode(eq + 1, (size_t)(end - eq - 1)) : tb_xstrdup("");
            for (char *q = a[m].k; *q; q++) *q = (char)tolower((unsigned char)*q);
            m++;
        }
        p = *end ? end + 1 : end;
    }
    qsort(a, m, sizeof *a, kv_cmp);
    for (size_t i = 0; i < m; i++) {
        if (i == 0 || strcmp(a[i].k, a[i - 1].k) != 0) {
            put(b, "\n", 1);
            puts_(b, a[i].k);
            put(b, ":", 1);
        } else {
            put(b, ",", 1);
        }
        puts_(b, a[i].v);
    }
    for (size_t i = 0; i < m; i++) { free(a[i].k); free(a[i].v); }
    free(a);
}

char *tb_azkey_string_to_sign(const char *verb, const char *const *headers, size_t n,
                              const char *account, const char *path, const char *query)
{
    /* the standard headers, in the order the scheme signs them */
    static const char *const std[] = {"Content-Encoding", "Content-Language", "Content-Length",
                                      "Content-MD5", "Content-Type", "Date", "If-Modified-Since",
                                      "If-Match", "If-None-Match", "If-Unmodified-Since", "Range"};
    struct buf b = {0};
    puts_(&b, verb);
    put(&b, "\n", 1);
    for (size_t i = 0; i < sizeof std / sizeof *std; i++) {
        size_t l = 0;
        const char *v = hdr(headers, n, std[i], &l);
        /* since 2015-02-21 a zero length is signed as an empty line */
        if (v && !(i == 2 && l == 1 && v[0] == '0')) put(&b, v, l);
        put(&b, "\n", 1);
    }
    canon_headers(&b, headers, n);
    canon_resource(&b, account, path, query);
    return done(&b);
}

void tb_azkey_signature(const unsigned char *key, size_t keylen, const char *sts, char out[64])
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int ml = 0;
    HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)sts, strlen(sts), mac, &ml);
    tb_base64_encode(mac, ml, out);
}

char *tb_azkey_authorization(const struct tb_azcred *c, const char *verb, const char *const *headers,
                             size_t n, const char *path, const char *query)
{
    if (!c->keylen) return NULL;
    char *sts = tb_azkey_string_to_sign(verb, headers, n, c->account, path, query);
    char sig[64];
    tb_azkey_signature(c->key, c->keylen, sts, sig);
    free(sts);
    return tb_xasprintf("Authorization: SharedKey %s:%s", c->account, sig);
}

void tb_az_http_date(time_t t, char out[32])
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char mons[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, 32, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday % 7], tm.tm_mday,
             mons[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

int tb_azcred_set_key(struct tb_azcred *c, const char *b64, tb_err *e)
{
    size_t len = strlen(b64);
    long n = len / 4 * 3 <= sizeof c->key ? tb_base64_decode(b64, len, c->key) : -1;
    if (n <= 0) {
        c->keylen = 0;
        return tb_fail(e, TB_EUSAGE, "Azure account key is not valid base64");
    }
    c->keylen = (size_t)n;
    return 0;
}

static int copy(char *dst, size_t cap, const char *s, size_t n, const char *what, tb_err *e)
{
    if (n >= cap) return tb_fail(e, TB_EUSAGE, "Azure connection string: %s too long", what);
    memcpy(dst, s, n);
    dst[n] = 0;
    return 0;
}

static void strip_slash(char *s)
{
    size_t n = strlen(s);
    while (n && s[n - 1] == '/') s[--n] = 0;
}

/* Is s an http:// or https:// URL with a host (tb_uri_parse decides, as everywhere)? */
static int is_http_url(const char *s)
{
    struct tb_uri u;
    if (tb_uri_parse(s, &u, NULL)) return 0;
    int ok = u.scheme == TB_URI_HTTP || u.scheme == TB_URI_HTTPS;
    tb_uri_free(&u);
    return ok;
}

int tb_azcred_parse_connstr(const char *s, struct tb_azcred *c, tb_err *e)
{
    char proto[16] = "https", suffix[128] = "core.windows.net", key[256] = "", proxy[256] = "";
    int dev = 0, have_key = 0;
    memset(c, 0, sizeof *c);
    for (const char *p = s; *p;) {
        const char *end = strchr(p, ';');
        if (!end) end = p + strlen(p);
        const char *next = *end ? end + 1 : end;
        while (p < end && isspace((unsigned char)*p)) p++;
        while (end > p && isspace((unsigned char)end[-1])) end--;
        if (p < end) {
            const char *eq = memchr(p, '=', (size_t)(end - p));
            if (!eq) return tb_fail(e, TB_EUSAGE, "Azure connection string: part %.*s has no '='",
                                    (int)((end - p) > 40 ? 40 : (end - p)), p);
            size_t kl = (size_t)(eq - p), vl = (size_t)(end - eq - 1);
            const char *v = eq + 1;
            int r = 0;
#define IS(name) (kl == strlen(name) && strncasecmp(p, name, kl) == 0)
            if (IS("AccountName")) r = copy(c->account, sizeof c->account, v, vl, "AccountName", e);
            else if (IS("AccountKey")) { r = copy(key, sizeof key, v, vl, "AccountKey", e); have_key = 1; }
            else if (IS("DefaultEndpointsProtocol")) {
                r = copy(proto, sizeof proto, v, vl, "DefaultEndpointsProtocol", e);
                if (!r && strcmp(proto, "http") && strcmp(proto, "https"))
                    r = tb_fail(e, TB_EUSAGE, "Azure connection string: DefaultEndpointsProtocol must be http or https");
            } else if (IS("EndpointSuffix")) r = copy(suffix, sizeof suffix, v, vl, "EndpointSuffix", e);
            else if (IS("BlobEndpoint")) r = copy(c->endpoint, sizeof c->endpoint, v, vl, "BlobEndpoint", e);
            else if (IS("UseDevelopmentStorage")) dev = vl == 4 && strncasecmp(v, "true", 4) == 0;
            else if (IS("DevelopmentStorageProxyUri")) r = copy(proxy, sizeof proxy, v, vl, "DevelopmentStorageProxyUri", e);
            else if (IS("SharedAccessSignature"))
                r = tb_fail(e, TB_EUSAGE, "Azure connection string: SharedAccessSignature is not supported (use an account key)");
            /* other services' endpoints (Queue, Table, File) are not ours to care about */
#undef IS
            if (r) return r;
        }
        p = next;
    }
    if (dev) {
        /* the emulator's fixed account unless the string names another one explicitly */
        if (!*c->account) strcpy(c->account, TB_AZ_DEV_ACCOUNT);
        if (!have_key) { strcpy(key, TB_AZ_DEV_KEY); have_key = 1; }
        if (!*c->endpoint) {
            if (*proxy) {
                strip_slash(proxy);
                snprintf(c->endpoint, sizeof c->endpoint, "%s:10000/%s", proxy, c->account);
            } else {
                snprintf(c->endpoint, sizeof c->endpoint, "http://127.0.0.1:10000/%s", c->account);
            }
        }
    }
    if (!*c->account) return tb_fail(e, TB_EUSAGE, "Azure connection string: no AccountName");
    if (have_key && tb_azcred_set_key(c, key, e)) return tb_err_wrap(e, "Azure connection string");
    if (!*c->endpoint) {
        int n = snprintf(c->endpoint, sizeof c->endpoint, "%s://%s.blob.%s", proto, c->account, suffix);
        if (n < 0 || (size_t)n >= sizeof c->endpoint) return tb_fail(e, TB_EUSAGE, "Azure connection string: endpoint too long");
    }
    strip_slash(c->endpoint);
    if (!is_http_url(c->endpoint))
        return tb_fail(e, TB_EUSAGE, "Azure connection string: BlobEndpoint must be an http(s) URL");
    return 0;
}

int tb_azcred_from_env(const char *account, struct tb_azcred *c, tb_err *e)
{
    const char *cs = getenv("AZURE_STORAGE_CONNECTION_STRING");
    if (cs && *cs) {
        if (tb_azcred_parse_connstr(cs, c, e)) return e ? e->code : TB_EUSAGE;
    } else {
        const char *acct = getenv("AZURE_STORAGE_ACCOUNT"), *key = getenv("AZURE_STORAGE_KEY");
        const char *ep = getenv("AZURE_STORAGE_BLOB_ENDPOINT");
        memset(c, 0, sizeof *c);
        if (!acct || !*acct) acct = account;
        if (!acct || !*acct) return tb_fail(e, TB_EUSAGE, "no Azure account: set AZURE_STORAGE_CONNECTION_STRING or AZURE_STORAGE_ACCOUNT");
        if (strlen(acct) >= sizeof c->account) return tb_fail(e, TB_EUSAGE, "Azure account name too long");
        strcpy(c->account, acct);
        if (key && *key && tb_azcred_set_key(c, key, e)) return tb_err_wrap(e, "AZURE_STORAGE_KEY");
        if (ep && *ep) {
            if (strlen(ep) >= sizeof c->endpoint) return tb_fail(e, TB_EUSAGE, "AZURE_STORAGE_BLOB_ENDPOINT too long");
            strcpy(c->endpoint, ep);
            strip_slash(c->endpoint);
        } else {
            snprintf(c->endpoint, sizeof c->endpoint, "https://%s.blob.core.windows.net", c->account);
        }
    }
    if (account && *account && strcmp(account, c->account) != 0)
        return tb_fail(e, TB_ENOPERM, "az://%s: the Azure credentials are for account %s", account, c->account);
    return 0;
}

int tb_az_container_ok(const char *c)
{
    size_t n = strlen(c);
    if (strcmp(c, "$root") == 0 || strcmp(c, "$logs") == 0 || strcmp(c, "$web") == 0) return 1;
    if (n < 3 || n > 63 || c[0] == '-' || c[n - 1] == '-') return 0;
    for (size_t i = 0; i < n; i++) {
        if (!((c[i] >= 'a' && c[i] <= 'z') || (c[i] >= '0' && c[i] <= '9') || c[i] == '-')) return 0;
        if (c[i] == '-' && c[i + 1] == '-') return 0;
    }
    return 1;
}

void tb_az_block_id(unsigned i, char out[17])
{
    char raw[13];
    snprintf(raw, sizeof raw, "blk-%08u", i % 100000000u);
    tb_base64_encode((const unsigned char *)raw, 12, out);
}

long long tb_az_parse_http_date(const char *s)
{
    static const char mons[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    char mon[4];
    int d, y, hh, mm, ss;
    if (!s || sscanf(s, "%*3s, %d %3s %d %d:%d:%d GMT", &d, mon, &y, &hh, &mm, &ss) != 6) return -1;
    const char *m = strstr(mons, mon);
    if (!m || strlen(mon) != 3 || (m - mons) % 3) return -1;
    int mo = (int)(m - mons) / 3 + 1;
    if (d < 1 || d > 31 || y < 1970 || hh > 23 || mm > 59 || ss > 60) return -1;
    /* days from civil (Howard Hinnant's algorithm), so no timegm and no TZ involved */
    int yy = y - (mo <= 2);
    int era = yy / 400;
    unsigned yoe = (unsigned)(yy - era * 400);
    unsigned doy = (unsigned)((153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1);
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    long long days = (long long)era * 146097 + doe - 719468;
    return days * 86400 + hh * 3600 + mm * 60 + ss;
}

char *tb_az_sas_blob(const struct tb_azcred *c, const char *container, const char *blob, const char *perms,
                     time_t expiry)
{
    if (!c->keylen) return NULL;
    static const char sv[] = "2020-02-10";
    char se[80];
    struct tm tm;
    gmtime_r(&expiry, &tm);
    snprintf(se, sizeof se, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec);
    /* sp, st, se, resource, si, sip, spr, sv, sr, snapshot time, rscc, rscd, rsce, rscl, rsct */
    char *sts = tb_xasprintf("%s\n\n%s\n/blob/%s/%s/%s\n\n\n\n%s\nb\n\n\n\n\n\n", perms, se, c->account, container, blob, sv);
    char sig[64];
    tb_azkey_signature(c->key, c->keylen, sts, sig);
    free(sts);
    char *esig = tb_az_encode(sig, 0), *ese = tb_az_encode(se, 0);
    char *out = tb_xasprintf("sv=%s&se=%s&sr=b&sp=%s&sig=%s", sv, ese, perms, esig);
    free(esig);
    free(ese);
    return out;
}
