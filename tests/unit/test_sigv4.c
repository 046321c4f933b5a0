/* Unit tests for lib/sigv4: every case of the AWS SigV4 test suite in ../shared/vectors/sigv4
 * (canonical request, string to sign and signature, header and query forms). The suite must be
 * there: a missing directory fails the test instead of skipping it. */
#pragma GCC diagnostic ignored "-Wformat-truncation"
#include "hash.h"
#include "sigv4.h"
#include "tap.h"
#include <cjson/cJSON.h>
#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char *slurp(const char *dir, const char *name, size_t *len)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "rb");
    if (!f) return NULL;
    size_t cap = 4096, n = 0;
    char *b = malloc(cap);
    size_t k;
    while ((k = fread(b + n, 1, cap - n - 1, f)) > 0) {
        n += k;
        if (cap - n < 2) b = realloc(b, cap *= 2);
    }
    fclose(f);
    b[n] = 0;
    if (len) *len = n;
    return b;
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The repo's sibling shared/ dir: from the binary (REPO/build/unit/test_sigv4, or build-asan) or from the cwd. */
static int find_vectors(char *out, size_t n)
{
    const char *env = getenv("TB_SIGV4_VECTORS");
    if (env && is_dir(env)) { snprintf(out, n, "%s", env); return 0; }
    char exe[PATH_MAX];
    ssize_t l = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (l > 0) {
        exe[l] = 0;
        for (int up = 0; up < 3; up++) { char *s = strrchr(exe, '/'); if (s) *s = 0; }
        snprintf(out, n, "%s/../shared/vectors/sigv4", exe);
        if (is_dir(out)) return 0;
    }
    snprintf(out, n, "../shared/vectors/sigv4");
    return is_dir(out) ? 0 : -1;
}

static time_t parse_ts(const char *s)
{
    struct tm tm = {0};
    strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return timegm(&tm);
}

static void chomp(char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r')) s[--n] = 0;
}

/* o against the suite's FORM-canonical-request.txt, FORM-string-to-sign.txt, FORM-signature.txt */
static void check_form(const char *dir, const char *form, const struct tb_sigv4_out *o, const char *name)
{
    static const char *const files[] = {"canonical-request", "string-to-sign", "signature"};
    const char *got[] = {o->canonical_request, o->string_to_sign, o->signature};
    for (int i = 0; i < 3; i++) {
        char file[64];
        snprintf(file, sizeof file, "%s-%s.txt", form, files[i]);
        char *want = slurp(dir, file, NULL);
        if (i == 2) chomp(want); /* the signature file ends in a newline */
        char what[64];
        snprintf(what, sizeof what, "%s", files[i]);
        for (char *p = what; *p; p++) if (*p == '-') *p = ' ';
        CHECK_STR(got[i], want, "%s: %s %s", name, form, what);
        free(want);
    }
}

static void run_case(const char *root, const char *name)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/%s", root, name);
    char *ctx = slurp(dir, "context.json", NULL);
    size_t reqlen;
    char *req = slurp(dir, "request.txt", &reqlen);
    CHECK(ctx && req, "%s: context.json and request.txt readable", name);
    if (!ctx || !req) { free(ctx); free(req); return; }
    cJSON *j = cJSON_Parse(ctx);
    cJSON *cr = cJSON_GetObjectItem(j, "credentials");
    const char *ak = cJSON_GetStringValue(cJSON_GetObjectItem(cr, "access_key_id"));
    const char *sk = cJSON_GetStringValue(cJSON_GetObjectItem(cr, "secret_access_key"));
    const char *tok = cJSON_GetStringValue(cJSON_GetObjectItem(cr, "token"));
    struct tb_sigv4_key k = {ak, sk, tok, cJSON_GetStringValue(cJSON_GetObjectItem(j, "region")),
                             cJSON_GetStringValue(cJSON_GetObjectItem(j, "service")),
                             cJSON_IsTrue(cJSON_GetObjectItem(j, "normalize")),
                             cJSON_IsTrue(cJSON_GetObjectItem(j, "omit_session_token"))};
    int sign_body = cJSON_IsTrue(cJSON_GetObjectItem(j, "sign_body"));
    long expires = (long)cJSON_GetNumberValue(cJSON_GetObjectItem(j, "expiration_in_seconds"));
    time_t when = parse_ts(cJSON_GetStringValue(cJSON_GetObjectItem(j, "timestamp")));

    /* request.txt: "METHOD TARGET HTTP/1.1", headers (folded lines continue the previous value),
     * a blank line, the body. */
    char *body = strstr(req, "\n\n");
    size_t bodylen = 0;
    if (body) { *body = 0; body += 2; bodylen = reqlen - (size_t)(body - req); } else body = "";
    char *line = req, *nl = strchr(line, '\n');
    if (nl) *nl = 0;
    char *sp1 = strchr(line, ' '), *sp2 = strrchr(line, ' ');
    *sp1 = 0;
    *sp2 = 0;
    char *method = line, *target = sp1 + 1, *query = strchr(target, '?');
    if (query) *query++ = 0;
    struct tb_sigv4_hdr h[32];
    char *vals[32] = {0};
    size_t nh = 0;
    for (char *p = nl ? nl + 1 : NULL; p && *p;) {
        char *e = strchr(p, '\n');
        if (e) *e = 0;
        if ((*p == ' ' || *p == '\t') && nh) {
            size_t a = strlen(vals[nh - 1]);
            vals[nh - 1] = realloc(vals[nh - 1], a + strlen(p) + 2);
            vals[nh - 1][a] = ' ';
            strcpy(vals[nh - 1] + a + 1, p);
            h[nh - 1].value = vals[nh - 1];
        } else {
            char *c = strchr(p, ':');
            *c = 0;
            vals[nh] = strdup(c + 1);
            h[nh].name = p;
            h[nh].value = vals[nh];
            nh++;
        }
        p = e ? e + 1 : NULL;
    }
    char phash[65];
    tb_sha256_hex(body, bodylen, phash);
    struct tb_sigv4_req r = {method, target, query, h, nh, phash, when};

    /* header form */
    struct tb_sigv4_hdr h2[33];
    memcpy(h2, h, nh * sizeof *h);
    size_t nh2 = nh;
    if (sign_body) h2[nh2++] = (struct tb_sigv4_hdr){"x-amz-content-sha256", phash};
    struct tb_sigv4_req rh = r;
    rh.headers = h2;
    rh.nheaders = nh2;
    struct tb_sigv4_out o;
    tb_sigv4_sign(&k, &rh, &o);
    check_form(dir, "header", &o, name);
    char *sreq = slurp(dir, "header-signed-request.txt", NULL);
    CHECK(sreq && strstr(sreq, o.authorization), "%s: Authorization header as in the signed request", name);
    free(sreq);
    tb_sigv4_out_free(&o);

    /* query form */
    tb_sigv4_presign(&k, &r, expires, &o);
    check_form(dir, "query", &o, name);
    tb_sigv4_out_free(&o);

    for (size_t i = 0; i < nh; i++) free(vals[i]);
    cJSON_Delete(j);
    free(ctx);
    free(req);
}

static int cmpstr(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(void)
{
    char root[PATH_MAX];
    int found = find_vectors(root, sizeof root) == 0;
    CHECK(found, "SigV4 vectors present (../shared/vectors/sigv4 beside the repo, or TB_SIGV4_VECTORS)");
    if (!found) return tap_done();
    DIR *d = opendir(root);
    char *names[256];
    int n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)) && n < 256) {
        if (de->d_name[0] == '.') continue;
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s/context.json", root, de->d_name);
        if (access(p, R_OK) == 0) names[n++] = strdup(de->d_name);
    }
    if (d) closedir(d);
    qsort(names, n, sizeof *names, cmpstr);
    CHECK(n >= 30, "found %d vector cases", n);
    for (int i = 0; i < n; i++) { run_case(root, names[i]); free(names[i]); }

    /* S3 keys: every byte but unreserved ones is encoded, '/' kept in paths */
    char *enc = tb_sigv4_encode("a b+c/d%e?f#~é", strlen("a b+c/d%e?f#~é"), 1);
    CHECK_STR(enc, "a%20b%2Bc/d%25e%3Ff%23~%C3%A9", "S3 key encoding");
    free(enc);
    return tap_done();
}
