/* sigv4: canonical request, string to sign, signing key and signature (see sigv4.h). */
#include "sigv4.h"
#include "alloc.h"
#include "hash.h"
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sb { char *p; size_t n, cap; };

static void sb_add(struct sb *b, const char *s, size_t n)
{
    tb_xgrow_n(&b->p, &b->cap, b->n + n + 1, 1, 256);
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}
static void sb_str(struct sb *b, const char *s) { sb_add(b, s, strlen(s)); }
static void sb_chr(struct sb *b, char c) { sb_add(b, &c, 1); }

static int unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           c == '.' || c == '~';
}

static void enc_into(struct sb *b, const char *s, size_t n, int keep_slash)
{
    static const char hx[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (unreserved(c) || (keep_slash && c == '/')) sb_chr(b, (char)c);
        else { char t[3] = {'%', hx[c >> 4], hx[c & 15]}; sb_add(b, t, 3); }
    }
}

char *tb_sigv4_encode(const char *s, size_t n, int keep_slash)
{
    struct sb b = {0};
    sb_add(&b, "", 0);
    enc_into(&b, s, n, keep_slash);
    return b.p;
}

/* Decode %XX (a '+' stays a '+': S3 query values are never form-encoded by us). */
static char *pct_decode(const char *s, size_t n, size_t *outn)
{
    char *o = tb_xmalloc(n + 1);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && tb_hexval(s[i + 1]) >= 0 && tb_hexval(s[i + 2]) >= 0) {
            o[k++] = (char)(tb_hexval(s[i + 1]) * 16 + tb_hexval(s[i + 2]));
            i += 2;
        } else o[k++] = s[i];
    }
    o[k] = 0;
    *outn = k;
    return o;
}

struct qp { char *k, *v; };

static int qp_cmp(const void *a, const void *b)
{
    const struct qp *x = a, *y = b;
    int c = strcmp(x->k, y->k);
    return c ? c : strcmp(x->v, y->v);
}

/* Canonical query: each pair decoded then strictly encoded, sorted by key then value. extra pairs
 * (already decoded) are added (the X-Amz-* of the query form). */
static char *canon_query(const char *q, const struct qp *extra, size_t nextra)
{
    size_t cap = nextra + 1, n = 0;
    for (const char *p = q; p && *p; p++) if (*p == '&') cap++;
    struct qp *v = tb_xcalloc(cap + 1, sizeof *v);
    for (const char *p = q; p && *p;) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        if (len) {
            const char *eq = memchr(p, '=', len);
            size_t kl = eq ? (size_t)(eq - p) : len, dl;
            char *dk = pct_decode(p, kl, &dl);
            v[n].k = tb_sigv4_encode(dk, dl, 0);
            free(dk);
            char *dv = eq ? pct_decode(eq + 1, len - kl - 1, &dl) : (dl = 0, tb_xstrdup(""));
            v[n].v = tb_sigv4_encode(dv, dl, 0);
            free(dv);
            n++;
        }
        if (!amp) break;
        p = amp + 1;
    }
    for (size_t i = 0; i < nextra; i++, n++) {
        v[n].k = tb_sigv4_encode(extra[i].k, strlen(extra[i].k), 0);
        v[n].v = tb_sigv4_encode(extra[i].v, strlen(extra[i].v), 0);
    }
    qsort(v, n, sizeof *v, qp_cmp);
    struct sb b = {0};
    sb_add(&b, "", 0);
    for (size_t i = 0; i < n; i++) {
        if (i) sb_chr(&b, '&');
        sb_str(&b, v[i].k);
        sb_chr(&b, '=');
        sb_str(&b, v[i].v);
        free(v[i].k);
        free(v[i].v);
    }
    free(v);
    return b.p;
}

/* RFC 3986 remove_dot_segments plus collapsing empty segments, keeping a trailing slash. */
static char *normalize_path(const char *p)
{
    size_t n = strlen(p);
    const char **seg = tb_xcalloc(n + 2, sizeof *seg);
    size_t *len = tb_xcalloc(n + 2, sizeof *len);
    size_t ns = 0;
    int trailing = n > 0 && p[n - 1] == '/';
    for (const char *s = p; *s;) {
        while (*s == '/') s++;
        if (!*s) break;
        const char *e = strchr(s, '/');
        size_t l = e ? (size_t)(e - s) : strlen(s);
        if (l == 1 && s[0] == '.') {
            if (!e) trailing = 1;
        } else if (l == 2 && s[0] == '.' && s[1] == '.') {
            if (ns) ns--;
            if (!e) trailing = 1;
        } else { seg[ns] = s; len[ns] = l; ns++; }
        s += l;
    }
    struct sb b = {0};
    sb_add(&b, "", 0);
    for (size_t i = 0; i < ns; i++) { sb_chr(&b, '/'); sb_add(&b, seg[i], len[i]); }
    if (ns == 0 || trailing) sb_chr(&b, '/');
    free(seg);
    free(len);
    return b.p;
}

struct ch { char *name; struct sb val; };

static int ch_cmp(const void *a, const void *b)
{
    return strcmp(((const struct ch *)a)->name, ((const struct ch *)b)->name);
}

/* Trim and collapse runs of whitespace (folded lines are joined by the caller). */
static void add_trimmed(struct sb *b, const char *v)
{
    while (*v == ' ' || *v == '\t' || *v == '\n' || *v == '\r') v++;
    int space = 0;
    size_t start = b->n;
    for (; *v; v++) {
        if (*v == ' ' || *v == '\t' || *v == '\n' || *v == '\r') { space = 1; continue; }
        if (space && b->n > start) sb_chr(b, ' ');
        space = 0;
        sb_chr(b, *v);
    }
}

/* Builds canonical headers and the signed header list. */
static void canon_headers(const struct tb_sigv4_hdr *h, size_t nh, struct sb *canon, struct sb *signed_list)
{
    struct ch *v = tb_xcalloc(nh + 1, sizeof *v);
    size_t n = 0;
    for (size_t i = 0; i < nh; i++) {
        char *lname = tb_xstrdup(h[i].name);
        for (char *c = lname; *c; c++) if (*c >= 'A' && *c <= 'Z') *c = (char)(*c + 32);
        size_t j;
        for (j = 0; j < n; j++) if (strcmp(v[j].name, lname) == 0) break;
        if (j < n) { free(lname); sb_chr(&v[j].val, ','); add_trimmed(&v[j].val, h[i].value); continue; }
        v[n].name = lname;
        sb_add(&v[n].val, "", 0);
        add_trimmed(&v[n].val, h[i].value);
        n++;
    }
    /* stable for equal names is not needed: names are unique now */
    qsort(v, n, sizeof *v, ch_cmp);
    for (size_t i = 0; i < n; i++) {
        sb_str(canon, v[i].name);
        sb_chr(canon, ':');
        sb_str(canon, v[i].val.p);
        sb_chr(canon, '\n');
        if (i) sb_chr(signed_list, ';');
        sb_str(signed_list, v[i].name);
        free(v[i].name);
        free(v[i].val.p);
    }
    free(v);
}

static void hmac(const void *key, size_t kl, const char *msg, unsigned char out[32])
{
    unsigned int ol = 32;
    HMAC(EVP_sha256(), key, (int)kl, (const unsigned char *)msg, strlen(msg), out, &ol);
}

static void fmt_date(time_t t, char amz[17], char day[9])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(amz, 17, "%Y%m%dT%H%M%SZ", &tm);
    memcpy(day, amz, 8);
    day[8] = 0;
}

/* Shared by both forms: builds canonical request, string to sign and signature. */
static void sign_common(const struct tb_sigv4_key *k, const struct tb_sigv4_req *r, const struct tb_sigv4_hdr *hdrs,
                        size_t nh, const char *query, const char *amz, const char *day, struct tb_sigv4_out *out,
                        char **signed_headers)
{
    char *path = k->normalize ? normalize_path(r->path && *r->path ? r->path : "/") : tb_xstrdup(r->path && *r->path ? r->path : "/");
    char *epath = tb_sigv4_encode(path, strlen(path), 1);
    free(path);
    struct sb canon = {0}, sl = {0};
    sb_add(&canon, "", 0);
    sb_add(&sl, "", 0);
    canon_headers(hdrs, nh, &canon, &sl);
    struct sb cr = {0};
    sb_str(&cr, r->method);
    sb_chr(&cr, '\n');
    sb_str(&cr, epath);
    sb_chr(&cr, '\n');
    sb_str(&cr, query);
    sb_chr(&cr, '\n');
    sb_str(&cr, canon.p);
    sb_chr(&cr, '\n');
    sb_str(&cr, sl.p);
    sb_chr(&cr, '\n');
    sb_str(&cr, r->payload_hash ? r->payload_hash : "UNSIGNED-PAYLOAD");
    char crhash[65];
    tb_sha256_hex(cr.p, cr.n, crhash);
    struct sb sts = {0};
    sb_str(&sts, "AWS4-HMAC-SHA256\n");
    sb_str(&sts, amz);
    sb_chr(&sts, '\n');
    sb_str(&sts, day);
    sb_chr(&sts, '/');
    sb_str(&sts, k->region);
    sb_chr(&sts, '/');
    sb_str(&sts, k->service);
    sb_str(&sts, "/aws4_request\n");
    sb_str(&sts, crhash);

    struct sb ks = {0};
    sb_str(&ks, "AWS4");
    sb_str(&ks, k->secret_key);
    unsigned char k1[32], k2[32], k3[32], k4[32], sig[32];
    hmac(ks.p, ks.n, day, k1);
    hmac(k1, 32, k->region, k2);
    hmac(k2, 32, k->service, k3);
    hmac(k3, 32, "aws4_request", k4);
    hmac(k4, 32, sts.p, sig);
    OPENSSL_cleanse(ks.p, ks.n);
    OPENSSL_cleanse(k1, 32); OPENSSL_cleanse(k2, 32); OPENSSL_cleanse(k3, 32); OPENSSL_cleanse(k4, 32);
    free(ks.p);
    tb_hex(sig, 32, out->signature);
    out->canonical_request = cr.p;
    out->string_to_sign = sts.p;
    out->path = epath;
    *signed_headers = sl.p;
    free(canon.p);
}

int tb_sigv4_sign(const struct tb_sigv4_key *k, const struct tb_sigv4_req *r, struct tb_sigv4_out *out)
{
    memset(out, 0, sizeof *out);
    char day[9];
    fmt_date(r->when, out->amz_date, day);
    struct tb_sigv4_hdr *h = tb_xcalloc(r->nheaders + 2, sizeof *h);
    size_t nh = 0;
    for (size_t i = 0; i < r->nheaders; i++) h[nh++] = r->headers[i];
    h[nh++] = (struct tb_sigv4_hdr){"x-amz-date", out->amz_date};
    if (k->token && *k->token && !k->omit_token) h[nh++] = (struct tb_sigv4_hdr){"x-amz-security-token", k->token};
    char *q = canon_query(r->query, NULL, 0);
    char *sl;
    sign_common(k, r, h, nh, q, out->amz_date, day, out, &sl);
    free(h);
    struct sb a = {0};
    sb_str(&a, "AWS4-HMAC-SHA256 Credential=");
    sb_str(&a, k->access_key);
    sb_chr(&a, '/');
    sb_str(&a, day);
    sb_chr(&a, '/');
    sb_str(&a, k->region);
    sb_chr(&a, '/');
    sb_str(&a, k->service);
    sb_str(&a, "/aws4_request, SignedHeaders=");
    sb_str(&a, sl);
    sb_str(&a, ", Signature=");
    sb_str(&a, out->signature);
    out->authorization = a.p;
    out->query = q;
    free(sl);
    return 0;
}

int tb_sigv4_presign(const struct tb_sigv4_key *k, const struct tb_sigv4_req *r, long expires, struct tb_sigv4_out *out)
{
    memset(out, 0, sizeof *out);
    char day[9];
    fmt_date(r->when, out->amz_date, day);
    /* signed header names first: they go into the query */
    struct sb canon = {0}, sl = {0};
    sb_add(&canon, "", 0);
    sb_add(&sl, "", 0);
    canon_headers(r->headers, r->nheaders, &canon, &sl);
    free(canon.p);
    char cred[512], exp[32];
    snprintf(cred, sizeof cred, "%s/%s/%s/%s/aws4_request", k->access_key, day, k->region, k->service);
    snprintf(exp, sizeof exp, "%ld", expires);
    struct qp extra[6];
    size_t ne = 0;
    extra[ne++] = (struct qp){"X-Amz-Algorithm", "AWS4-HMAC-SHA256"};
    extra[ne++] = (struct qp){"X-Amz-Credential", cred};
    extra[ne++] = (struct qp){"X-Amz-Date", out->amz_date};
    extra[ne++] = (struct qp){"X-Amz-Expires", exp};
    if (k->token && *k->token && !k->omit_token) extra[ne++] = (struct qp){"X-Amz-Security-Token", (char *)k->token};
    extra[ne++] = (struct qp){"X-Amz-SignedHeaders", sl.p};
    char *q = canon_query(r->query, extra, ne);
    char *sl2;
    sign_common(k, r, r->headers, r->nheaders, q, out->amz_date, day, out, &sl2);
    free(sl2);
    free(sl.p);
    struct sb full = {0};
    sb_str(&full, q);
    if (k->token && *k->token && k->omit_token) {
        sb_str(&full, "&X-Amz-Security-Token=");
        enc_into(&full, k->token, strlen(k->token), 0);
    }
    sb_str(&full, "&X-Amz-Signature=");
    sb_str(&full, out->signature);
    free(q);
    out->query = full.p;
    return 0;
}

void tb_sigv4_out_free(struct tb_sigv4_out *o)
{
    free(o->canonical_request);
    free(o->string_to_sign);
    free(o->authorization);
    free(o->query);
    free(o->path);
    memset(o, 0, sizeof *o);
}
