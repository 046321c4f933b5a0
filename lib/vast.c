/* vast: the Vast.ai API client over lib/http and its pure helpers (see vast.h). */
#include "vast.h"
#include "alloc.h"
#include "shquote.h"
#include "atomic.h"
#include "base64.h"
#include "http.h"
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#define PAGE_LIMIT 25     /* the v1 list's largest page */
#define MAX_PAGES 10000   /* a next_token chain longer than this is a loop */

struct tb_vast {
    struct tb_http *h;
    char *base;  /* without a trailing '/' */
    char *key;
    FILE *dry;
};

/* One call: what prepare() builds on every attempt, and what classify() learned. */
struct call {
    struct tb_vast *v;
    const char *method;
    const char *url;
    const char *body;  /* JSON text or NULL */
    int with_key;      /* 0 for a logs result_url: another host */
    int is_create;
    int ambiguous;     /* the request may have been acted on (create only) */
};

int tb_vast_key_load(char **key, tb_err *e)
{
    *key = NULL;
    const char *k = getenv("VAST_API_KEY");
    if (k && *k) {
        *key = tb_xstrdup(k);
        return 0;
    }
    const char *home = getenv("HOME");
    if (home && *home) {
        char *path = tb_xasprintf("%s/.config/vastai/vast_api_key", home), *data = NULL;
        size_t len = 0;
        tb_err re = {0};
        if (tb_read_file(path, &data, &len, &re) == 0) {
            size_t a = 0, b = 0;
            while (a < len && isspace((unsigned char)data[a])) a++;
            b = a;
            while (b < len && !isspace((unsigned char)data[b])) b++;
            if (b > a) *key = tb_xstrndup(data + a, b - a);
            free(data);
        } else if (re.code != TB_ENOINPUT) {
            free(path);
            return tb_fail(e, re.code, "reading the Vast.ai API key: %s", re.msg);
        }
        free(path);
        if (*key) return 0;
    }
    return tb_fail(e, TB_ENOPERM, "no Vast.ai API key: set VAST_API_KEY or put the key in ~/.config/vastai/vast_api_key");
}

int tb_vast_open(struct tb_vast **out, const struct tb_vast_cfg *cfg, tb_err *e)
{
    *out = NULL;
    const char *url = cfg->url;
    if (!url || !*url) url = getenv("VAST_URL");
    if (!url || !*url) url = TB_VAST_URL_DEFAULT;
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
        return tb_fail(e, TB_EUSAGE, "VAST_URL must be an http(s):// URL: '%s'", url);
    if (!cfg->key || !*cfg->key) return tb_fail(e, TB_ENOPERM, "no Vast.ai API key");
    struct tb_http_cfg hc;
    tb_http_cfg_defaults(&hc);
    hc.max_attempts = cfg->max_attempts > 0 ? cfg->max_attempts : 6;
    hc.base_ms = cfg->base_ms > 0 ? cfg->base_ms : 500;
    hc.cap_ms = 20000;
    hc.max_conns = 2;
    hc.low_speed_secs = cfg->timeout_s > 0 ? cfg->timeout_s : 30;
    hc.verbose = cfg->verbose;
    hc.log_cmd = "vast";
    struct tb_vast *v = tb_xcalloc(1, sizeof *v);
    int rc = tb_http_new(&v->h, &hc, e);
    if (rc) {
        free(v);
        return rc;
    }
    v->base = tb_xstrdup(url);
    size_t n = strlen(v->base);
    while (n > 0 && v->base[n - 1] == '/') v->base[--n] = 0;
    v->key = tb_xstrdup(cfg->key);
    v->dry = cfg->dry_run;
    *out = v;
    return 0;
}

void tb_vast_close(struct tb_vast *v)
{
    if (!v) return;
    tb_http_free(v->h);
    if (v->key) {
        memset(v->key, 0, strlen(v->key));
        free(v->key);
    }
    free(v->base);
    free(v);
}

const char *tb_vast_base_url(const struct tb_vast *v) { return v->base; }

/* ---- one request */

static int prepare(struct tb_http_req *r, void *ud, tb_err *e)
{
    (void)e;
    struct call *c = ud;
    r->method = c->method;
    tb_http_set_url(r, c->url);
    if (c->with_key) tb_http_header(r, "Authorization: Bearer %s", c->v->key);
    tb_http_header(r, "Accept: application/json");
    if (c->body) {
        tb_http_header(r, "Content-Type: application/json");
        r->body = (struct tb_body){-1, c->body, 0, strlen(c->body)};
    }
    return 0;
}

/* Was the request certainly not sent (so that any request may be tried again)? */
static int before_send(CURLcode rc)
{
    return rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_COULDNT_RESOLVE_PROXY || rc == CURLE_COULDNT_CONNECT ||
           rc == CURLE_SSL_CONNECT_ERROR;
}

static int body_says_auth_error(const char *body)
{
    return body && (strstr(body, "auth_error") != NULL);
}

static enum tb_http_class classify(struct tb_http_req *r, void *ud)
{
    struct call *c = ud;
    if (r->err.code && r->curl_rc != CURLE_OK) return TB_HTTP_LOCAL; /* our side aborted */
    if (r->curl_rc != CURLE_OK) {
        if (before_send(r->curl_rc)) return TB_HTTP_RETRY;
        if (r->curl_rc == CURLE_PEER_FAILED_VERIFICATION || r->curl_rc == CURLE_SSL_CACERT_BADFILE ||
            r->curl_rc == CURLE_SSL_CERTPROBLEM || r->curl_rc == CURLE_UNSUPPORTED_PROTOCOL || r->curl_rc == CURLE_URL_MALFORMAT)
            return tb_http_classify_default(r, NULL);
        /* sent, and no answer: the server may have acted on it */
        if (c->is_create) c->ambiguous = 1;
        tb_fail(&r->err, TB_EUNAVAIL, "%s (the request was sent; no answer)", r->curl_msg[0] ? r->curl_msg : curl_easy_strerror(r->curl_rc));
        return TB_HTTP_LOCAL;
    }
    long s = r->status;
    if (s >= 200 && s < 300) return TB_HTTP_OK;
    if (s == 429) return TB_HTTP_RETRY;
    if (s >= 500) {
        if (c->is_create) { /* never again: it may have rented a machine */
            c->ambiguous = 1;
            tb_fail(&r->err, TB_EUNAVAIL, "HTTP %ld", s);
            return TB_HTTP_LOCAL;
        }
        if (s == 502 || s == 503 || s == 504) return TB_HTTP_RETRY;
        tb_fail(&r->err, TB_EUNAVAIL, "HTTP %ld", s);
        return TB_HTTP_LOCAL;
    }
    if (s == 401 || s == 403) return TB_HTTP_AUTH;
    if (s == 404 && body_says_auth_error(r->resp)) return TB_HTTP_AUTH;
    if (s == 404) return TB_HTTP_NOTFOUND;
    return TB_HTTP_CLIENT;
}

/* The "msg" or "error" of a Vast.ai error body, for the message (empty when there is none). */
static void api_msg(const char *body, size_t len, char *out, size_t outsz)
{
    out[0] = 0;
    if (!body || !len) return;
    cJSON *j = cJSON_ParseWithLength(body, len);
    if (!j) return;
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "msg");
    const cJSON *er = cJSON_GetObjectItemCaseSensitive(j, "error");
    if (cJSON_IsString(er) && cJSON_IsString(m)) snprintf(out, outsz, "%s: %s", er->valuestring, m->valuestring);
    else if (cJSON_IsString(m)) snprintf(out, outsz, "%s", m->valuestring);
    else if (cJSON_IsString(er)) snprintf(out, outsz, "%s", er->valuestring);
    cJSON_Delete(j);
}

/* The path of a URL under the base, without its query, for messages (into buf). */
static const char *url_path(const struct tb_vast *v, const char *url, char *buf, size_t bufsz)
{
    size_t n = strlen(v->base);
    const char *p = strncmp(url, v->base, n) == 0 ? url + n : url;
    snprintf(buf, bufsz, "%.*s", (int)strcspn(p, "?"), p);
    return buf;
}

/* Print a request that changes something instead of sending it (--dry-run). */
static void dry_print(struct tb_vast *v, const char *method, const char *url, const char *body)
{
    cJSON *o = cJSON_CreateObject(), *h;
    if (!o) tb_oom(0);
    cJSON_AddStringToObject(o, "method", method);
    cJSON_AddStringToObject(o, "url", url);
    h = cJSON_AddObjectToObject(o, "headers");
    cJSON_AddStringToObject(h, "Authorization", "Bearer <redacted>");
    if (body) {
        cJSON_AddStringToObject(h, "Content-Type", "application/json");
        cJSON *b = cJSON_Parse(body);
        if (b) {
            tb_vast_redact(b);
            cJSON_AddItemToObject(o, "body", b);
        }
    }
    char *s = cJSON_PrintUnformatted(o);
    if (!s) tb_oom(0);
    fprintf(v->dry, "%s\n", s);
    fflush(v->dry);
    free(s);
    cJSON_Delete(o);
}

enum { MUTATES = 1, CREATE = 2, NOKEY = 4, ONCE = 8 };

/* Send one request; *out = the parsed JSON answer (NULL: a dry run, or out not wanted). */
static int call(struct tb_vast *v, const char *method, const char *url, const cJSON *body, int flags, cJSON **out,
                int *ambiguous, tb_err *e)
{
    if (out) *out = NULL;
    if (ambiguous) *ambiguous = 0;
    char *btext = NULL;
    if (body) {
        btext = cJSON_PrintUnformatted(body);
        if (!btext) tb_oom(0);
    }
    if ((flags & MUTATES) && v->dry) {
        dry_print(v, method, url, btext);
        free(btext);
        return 0;
    }
    struct call c = {v, method, url, btext, !(flags & NOKEY), !!(flags & CREATE), 0};
    struct tb_http_req r;
    memset(&r, 0, sizeof r);
    r.prepare = prepare;
    r.classify = classify;
    r.ud = &c;
    r.resp_max = 64u << 20;
    if (flags & ONCE) r.max_attempts = 1;
    if (flags & CREATE) r.fresh_connect = 1;
    tb_err he = {0};
    int rc = tb_http_run(v->h, &r, &he);
    if (ambiguous) *ambiguous = c.ambiguous;
    char pbuf[512];
    const char *path = url_path(v, url, pbuf, sizeof pbuf);
    if (rc) {
        char msg[600];
        api_msg(r.resp, r.resp_len, msg, sizeof msg);
        if (r.cls == TB_HTTP_AUTH)
            rc = tb_fail(e, TB_ENOPERM, "%s %s: the Vast.ai API refused the key (HTTP %ld%s%s): check VAST_API_KEY or "
                         "~/.config/vastai/vast_api_key", method, path, r.status, msg[0] ? ": " : "", msg);
        else if (r.cls == TB_HTTP_NOTFOUND)
            rc = tb_fail(e, TB_ENOINPUT, "%s %s: not found (HTTP 404%s%s)", method, path, msg[0] ? ": " : "", msg);
        else if (r.cls == TB_HTTP_CLIENT)
            rc = tb_fail(e, TB_EDATA, "%s %s: refused (HTTP %ld%s%s)", method, path, r.status, msg[0] ? ": " : "", msg);
        else
            rc = tb_fail(e, rc, "%s %s: %s%s%s", method, path, he.msg, msg[0] ? ": " : "", msg);
        tb_http_req_clear(&r);
        free(btext);
        return rc;
    }
    if (out) {
        cJSON *j = r.resp_len ? cJSON_ParseWithLength(r.resp, r.resp_len) : NULL;
        if (!j) rc = tb_fail(e, TB_EUNAVAIL, "%s %s: the answer (HTTP %ld, %zu bytes) is not JSON", method, path, r.status, r.resp_len);
        else *out = j;
    }
    tb_http_req_clear(&r);
    free(btext);
    return rc;
}

static char *api(const struct tb_vast *v, const char *fmt, long long id)
{
    char path[256];
    snprintf(path, sizeof path, fmt, id);
    return tb_xasprintf("%s%s", v->base, path);
}

/* "success": false in a 200 answer is a refusal too. */
static int check_success(const cJSON *j, const char *what, tb_err *e)
{
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "success");
    if (!cJSON_IsFalse(s)) return 0;
    char msg[600];
    char *t = cJSON_PrintUnformatted(j);
    api_msg(t, t ? strlen(t) : 0, msg, sizeof msg);
    free(t);
    return tb_fail(e, TB_EDATA, "%s: the API said no%s%s", what, msg[0] ? ": " : "", msg);
}

int tb_vast_search(struct tb_vast *v, const cJSON *query, cJSON **offers, tb_err *e)
{
    *offers = NULL;
    char *url = tb_xasprintf("%s/api/v0/bundles/", v->base);
    cJSON *j = NULL;
    int rc = call(v, "POST", url, query, 0, &j, NULL, e);
    free(url);
    if (rc) return rc;
    cJSON *o = cJSON_DetachItemFromObjectCaseSensitive(j, "offers");
    cJSON_Delete(j);
    if (!cJSON_IsArray(o)) {
        cJSON_Delete(o);
        return tb_fail(e, TB_EUNAVAIL, "POST /api/v0/bundles/: the answer has no \"offers\" list");
    }
    *offers = o;
    return 0;
}

int tb_vast_create(struct tb_vast *v, long long offer, const cJSON *body, long long *id, int *ambiguous, tb_err *e)
{
    *id = -1;
    char *url = api(v, "/api/v0/asks/%lld/", offer);
    cJSON *j = NULL;
    int rc = call(v, "PUT", url, body, MUTATES | CREATE, &j, ambiguous, e);
    free(url);
    if (rc || !j) return rc;
    rc = check_success(j, "create", e);
    if (!rc) {
        *id = tb_vast_new_contract(j);
        if (*id <= 0) {
            /* it said yes without a number: something was made, find it by label */
            *ambiguous = 1;
            rc = tb_fail(e, TB_EUNAVAIL, "create: the answer names no new_contract");
        }
    }
    cJSON_Delete(j);
    return rc;
}

/* Percent-encode a query value (everything but unreserved characters). */
static char *qenc(const char *s)
{
    size_t n = strlen(s);
    char *o = tb_xmalloc(3 * n + 1), *p = o;
    for (const unsigned char *q = (const unsigned char *)s; *q; q++) {
        if (isalnum(*q) || *q == '-' || *q == '_' || *q == '.' || *q == '~') *p++ = (char)*q;
        else p += sprintf(p, "%%%02X", *q);
    }
    *p = 0;
    return o;
}

static char *json_qenc(const cJSON *j)
{
    char *t = cJSON_PrintUnformatted(j);
    if (!t) tb_oom(0);
    char *q = qenc(t);
    free(t);
    return q;
}

int tb_vast_list(struct tb_vast *v, const char *label, cJSON **list, tb_err *e)
{
    *list = cJSON_CreateArray();
    if (!*list) tb_oom(0);
    cJSON *filters = cJSON_CreateObject(), *order = cJSON_CreateArray(), *ob = cJSON_CreateObject();
    if (!filters || !order || !ob) tb_oom(0);
    if (label) {
        cJSON *in = cJSON_AddObjectToObject(filters, "label"), *arr = cJSON_AddArrayToObject(in, "in");
        cJSON_AddItemToArray(arr, cJSON_CreateString(label));
    }
    cJSON_AddStringToObject(ob, "col", "id");
    cJSON_AddStringToObject(ob, "dir", "asc");
    cJSON_AddItemToArray(order, ob);
    char *qf = json_qenc(filters), *qo = json_qenc(order), *token = NULL;
    cJSON_Delete(filters);
    cJSON_Delete(order);
    int rc = 0;
    for (int page = 0;; page++) {
        if (page >= MAX_PAGES) { rc = tb_fail(e, TB_EUNAVAIL, "GET /api/v1/instances/: the listing goes on past %d pages", MAX_PAGES); break; }
        char *tq = token ? qenc(token) : NULL;
        char *url = tb_xasprintf("%s/api/v1/instances/?select_filters=%s&order_by=%s&limit=%d%s%s", v->base, qf, qo, PAGE_LIMIT,
                                 tq ? "&after_token=" : "", tq ? tq : "");
        free(tq);
        cJSON *j = NULL;
        rc = call(v, "GET", url, NULL, 0, &j, NULL, e);
        free(url);
        if (rc) break;
        cJSON *arr = cJSON_GetObjectItemCaseSensitive(j, "instances");
        if (arr && !cJSON_IsArray(arr) && !cJSON_IsNull(arr)) {
            cJSON_Delete(j);
            rc = tb_fail(e, TB_EUNAVAIL, "GET /api/v1/instances/: \"instances\" is not a list");
            break;
        }
        cJSON *it;
        while (cJSON_IsArray(arr) && (it = cJSON_DetachItemFromArray(arr, 0))) {
            const cJSON *l = cJSON_GetObjectItemCaseSensitive(it, "label");
            if (label && !(cJSON_IsString(l) && strcmp(l->valuestring, label) == 0)) cJSON_Delete(it);
            else cJSON_AddItemToArray(*list, it);
        }
        const cJSON *nt = cJSON_GetObjectItemCaseSensitive(j, "next_token");
        free(token);
        token = cJSON_IsString(nt) && nt->valuestring[0] ? tb_xstrdup(nt->valuestring) : NULL;
        cJSON_Delete(j);
        if (!token) break;
    }
    free(token);
    free(qf);
    free(qo);
    if (rc) {
        cJSON_Delete(*list);
        *list = NULL;
    }
    return rc;
}

int tb_vast_show(struct tb_vast *v, long long id, cJSON **inst, tb_err *e)
{
    *inst = NULL;
    char *url = api(v, "/api/v0/instances/%lld/?owner=me", id);
    cJSON *j = NULL;
    int rc = call(v, "GET", url, NULL, 0, &j, NULL, e);
    free(url);
    if (rc) return rc;
    cJSON *i = cJSON_DetachItemFromObjectCaseSensitive(j, "instances");
    cJSON_Delete(j);
    if (cJSON_IsArray(i) && cJSON_GetArraySize(i) == 1) { /* tolerate a one-element list */
        cJSON *one = cJSON_DetachItemFromArray(i, 0);
        cJSON_Delete(i);
        i = one;
    }
    if (!cJSON_IsObject(i)) {
        cJSON_Delete(i);
        return tb_fail(e, TB_ENOINPUT, "instance %lld: no such instance (or no longer there)", id);
    }
    *inst = i;
    return 0;
}

static int simple_put(struct tb_vast *v, const char *method, long long id, cJSON *body, const char *what, tb_err *e)
{
    char *url = api(v, "/api/v0/instances/%lld/", id);
    cJSON *j = NULL;
    int rc = call(v, method, url, body, MUTATES, &j, NULL, e);
    free(url);
    cJSON_Delete(body);
    if (!rc && j) {
        char w[96];
        snprintf(w, sizeof w, "%s instance %lld", what, id);
        rc = check_success(j, w, e);
    }
    cJSON_Delete(j);
    return rc;
}

int tb_vast_destroy(struct tb_vast *v, long long id, tb_err *e)
{
    cJSON *b = cJSON_CreateObject();
    if (!b) tb_oom(0);
    return simple_put(v, "DELETE", id, b, "destroy", e);
}

int tb_vast_set_state(struct tb_vast *v, long long id, const char *state, tb_err *e)
{
    cJSON *b = cJSON_CreateObject();
    if (!b || !cJSON_AddStringToObject(b, "state", state)) tb_oom(0);
    return simple_put(v, "PUT", id, b, strcmp(state, "running") == 0 ? "start" : "stop", e);
}

int tb_vast_set_label(struct tb_vast *v, long long id, const char *label, tb_err *e)
{
    cJSON *b = cJSON_CreateObject();
    if (!b || !cJSON_AddStringToObject(b, "label", label)) tb_oom(0);
    return simple_put(v, "PUT", id, b, "label", e);
}

static void sleep_ms(long ms)
{
    if (ms <= 0) return;
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {}
}

int tb_vast_logs(struct tb_vast *v, long long id, long tail, int polls, long poll_ms, char **text, tb_err *e)
{
    *text = NULL;
    char *url = api(v, "/api/v0/instances/request_logs/%lld/", id);
    cJSON *b = cJSON_CreateObject();
    char t[32];
    snprintf(t, sizeof t, "%ld", tail > 0 ? tail : 1000);
    if (!b || !cJSON_AddStringToObject(b, "tail", t)) tb_oom(0);
    cJSON *j = NULL;
    int rc = call(v, "PUT", url, b, MUTATES, &j, NULL, e);
    cJSON_Delete(b);
    free(url);
    if (rc || !j) return rc;
    if ((rc = check_success(j, "logs", e))) { cJSON_Delete(j); return rc; }
    const cJSON *ru = cJSON_GetObjectItemCaseSensitive(j, "result_url");
    if (!cJSON_IsString(ru) || (strncmp(ru->valuestring, "http://", 7) != 0 && strncmp(ru->valuestring, "https://", 8) != 0)) {
        cJSON_Delete(j);
        return tb_fail(e, TB_EUNAVAIL, "logs of instance %lld: the answer names no http(s) result_url", id);
    }
    char *rurl = tb_xstrdup(ru->valuestring);
    cJSON_Delete(j);
    if (polls < 1) polls = 1;
    rc = TB_EUNAVAIL;
    for (int i = 0; i < polls; i++) {
        sleep_ms(poll_ms);
        struct call c = {v, "GET", rurl, NULL, 0, 0, 0};
        struct tb_http_req r;
        memset(&r, 0, sizeof r);
        r.prepare = prepare;
        r.classify = classify;
        r.ud = &c;
        r.resp_max = 64u << 20;
        r.max_attempts = 2;
        tb_err he = {0};
        int g = tb_http_run(v->h, &r, &he);
        if (g == 0) {
            *text = r.resp ? tb_xstrndup(r.resp, r.resp_len) : tb_xstrdup("");
            tb_http_req_clear(&r);
            rc = 0;
            break;
        }
        /* not there yet (403/404 from the bucket until it is written) */
        tb_fail(e, TB_EUNAVAIL, "logs of instance %lld: the log file did not appear (%s)", id, he.msg);
        tb_http_req_clear(&r);
    }
    free(rurl);
    return rc;
}

int tb_vast_account(struct tb_vast *v, cJSON **user, tb_err *e)
{
    *user = NULL;
    char *url = tb_xasprintf("%s/api/v0/users/current", v->base);
    cJSON *j = NULL;
    int rc = call(v, "GET", url, NULL, 0, &j, NULL, e);
    free(url);
    if (rc) return rc;
    cJSON_DeleteItemFromObjectCaseSensitive(j, "api_key");
    tb_vast_redact(j);
    *user = j;
    return 0;
}

/* ---- pure */

void tb_vast_label_new(char *buf, size_t n, time_t now, uint64_t rnd)
{
    struct tm tm;
    gmtime_r(&now, &tm);
    snprintf(buf, n, "tb-%04d%02d%02d-%02d%02d%02d-%08x", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
             tm.tm_sec, (unsigned)(rnd & 0xffffffffu));
}

static const char *const forwarded[] = {
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL", "TRAINBOX_S3_ENDPOINT",
    "R2_ACCOUNT_ID", "R2_ACCESS_KEY_ID", "R2_SECRET_ACCESS_KEY",
    "GS_ACCESS_KEY_ID", "GS_SECRET_ACCESS_KEY",
    "AZURE_STORAGE_CONNECTION_STRING", "AZURE_STORAGE_ACCOUNT", "AZURE_STORAGE_KEY",
    "HF_TOKEN", "HF_ENDPOINT",
    "TRAINBOX_URL", "TRAINBOX_REPO", "TRAINBOX_REF", /* where start_vast.sh gets trainbox from */
    NULL,
};

int tb_vast_env_forwarded(const char *name)
{
    for (int i = 0; forwarded[i]; i++)
        if (strcmp(forwarded[i], name) == 0) return 1;
    return 0;
}

int tb_vast_env_forward(cJSON *env, const char *(*get)(const char *name, void *ud), void *ud)
{
    int n = 0;
    for (int i = 0; forwarded[i]; i++) {
        const char *val = get(forwarded[i], ud);
        if (!val || !*val || cJSON_GetObjectItemCaseSensitive(env, forwarded[i])) continue;
        if (!cJSON_AddStringToObject(env, forwarded[i], val)) tb_oom(0);
        n++;
    }
    return n;
}

int tb_vast_secret_name(const char *name)
{
    static const char *const words[] = {"key", "secret", "token", "password", "passwd", "credential", "connection_string", NULL};
    for (int i = 0; words[i]; i++)
        if (strcasestr(name, words[i])) return 1;
    return 0;
}

#define REDACTED "<redacted>"

/* Replace member c of object o by the REDACTED string, keeping its name; returns the new member. */
static cJSON *blank(cJSON *o, cJSON *c)
{
    cJSON *r = cJSON_CreateString(REDACTED);
    if (!r) tb_oom(0);
    r->string = tb_xstrdup(c->string);
    cJSON_ReplaceItemViaPointer(o, c, r);
    return r;
}

static void redact_env(cJSON *env)
{
    if (cJSON_IsObject(env)) {
        for (cJSON *c = env->child; c; c = c->next)
            if (c->string && tb_vast_secret_name(c->string) && !cJSON_IsNull(c)) c = blank(env, c);
    } else if (cJSON_IsArray(env)) {
        for (cJSON *p = env->child; p; p = p->next) {
            cJSON *k = cJSON_GetArrayItem(p, 0), *val = cJSON_GetArrayItem(p, 1);
            if (cJSON_IsArray(p) && cJSON_IsString(k) && val && tb_vast_secret_name(k->valuestring))
                cJSON_ReplaceItemInArray(p, 1, cJSON_CreateString(REDACTED));
        }
    }
}

void tb_vast_redact(cJSON *x)
{
    if (!x) return;
    if (cJSON_IsObject(x)) {
        for (cJSON *c = x->child; c; c = c->next) {
            if (!c->string) continue;
            if (strcmp(c->string, "env") == 0 || strcmp(c->string, "extra_env") == 0) {
                redact_env(c);
                continue;
            }
            if (tb_vast_secret_name(c->string) && (cJSON_IsString(c) || cJSON_IsNumber(c))) {
                c = blank(x, c);
                continue;
            }
            tb_vast_redact(c);
        }
    } else if (cJSON_IsArray(x)) {
        for (cJSON *c = x->child; c; c = c->next) tb_vast_redact(c);
    }
}

enum tb_vast_state tb_vast_state_of(const char *s)
{
    if (!s) return TB_VAST_PENDING;
    if (strcmp(s, "running") == 0) return TB_VAST_RUNNING;
    static const char *const bad[] = {"exited", "stopped", "frozen", "offline", "unknown", NULL};
    for (int i = 0; bad[i]; i++)
        if (strcmp(s, bad[i]) == 0) return TB_VAST_FAILED;
    return TB_VAST_PENDING;
}

double tb_vast_num(const cJSON *o, const char *name)
{
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(o, name);
    if (cJSON_IsNumber(n)) return n->valuedouble;
    if (cJSON_IsString(n) && n->valuestring[0]) {
        char *end;
        double d = strtod(n->valuestring, &end);
        if (*end == 0) return d;
    }
    return -1;
}

/* An id member as a number or a decimal string; -1 when absent, negative, or beyond long long
 * (a cast of such a double would be undefined). */
static long long id_of(const cJSON *n, int whole)
{
    if (cJSON_IsNumber(n)) return n->valuedouble >= 0 && n->valuedouble < 9223372036854775808.0 ? (long long)n->valuedouble : -1;
    if (cJSON_IsString(n) && n->valuestring[0]) {
        char *end;
        errno = 0;
        long long v = strtoll(n->valuestring, &end, 10);
        if ((*end == 0 || !whole) && errno == 0 && v >= 0) return v;
    }
    return -1;
}

long long tb_vast_id(const cJSON *o) { return id_of(cJSON_GetObjectItemCaseSensitive(o, "id"), 1); }

long long tb_vast_new_contract(const cJSON *answer)
{
    return id_of(cJSON_GetObjectItemCaseSensitive(answer, "new_contract"), 0);
}

int tb_vast_funds(const cJSON *user, double *usd)
{
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(user, "credit");
    if (cJSON_IsNumber(c)) { *usd = c->valuedouble; return 0; }
    c = cJSON_GetObjectItemCaseSensitive(user, "balance");
    if (cJSON_IsNumber(c)) { *usd = c->valuedouble; return 0; }
    return -1;
}

double tb_vast_age_s(const cJSON *inst, time_t now)
{
    double sd = tb_vast_num(inst, "start_date");
    if (sd <= 0) return -1;
    double a = (double)now - sd;
    return a < 0 ? 0 : a;
}

cJSON *tb_vast_offer_summary(const cJSON *offer)
{
    static const char *const keep[] = {"id", "gpu_name", "num_gpus", "gpu_ram", "cpu_ram", "disk_space", "dph_total",
                                       "reliability", "inet_down", "inet_up", "geolocation", "cuda_max_good", "machine_id", NULL};
    cJSON *o = cJSON_CreateObject();
    if (!o) tb_oom(0);
    for (int i = 0; keep[i]; i++) {
        const char *src = keep[i];
        if (strcmp(src, "reliability") == 0 && cJSON_GetObjectItemCaseSensitive(offer, "reliability2")) src = "reliability2";
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(offer, src);
        cJSON *c;
        if (!v) c = cJSON_CreateNull();
        else if ((strcmp(keep[i], "gpu_ram") == 0 || strcmp(keep[i], "cpu_ram") == 0) && cJSON_IsNumber(v))
            c = cJSON_CreateNumber(v->valuedouble / 1000.0); /* MB -> GB, as the query language counts */
        else c = cJSON_Duplicate(v, 1);
        if (!c) tb_oom(0);
        cJSON_AddItemToObject(o, keep[i], c);
    }
    return o;
}

char *tb_vast_shquote(const char *s)
{
    if (*s && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./:=@%+,-") == strlen(s)) return tb_xstrdup(s);
    return tb_shquote(s);
}

/* gzip (RFC 1952) of len bytes, so that `base64 -d | gunzip` restores them. *out malloc'd. */
static size_t gzip_bytes(const char *in, size_t len, unsigned char **out)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) tb_oom(0);
    size_t cap = deflateBound(&zs, (uLong)len) + 32;
    unsigned char *buf = tb_xmalloc(cap);
    zs.next_in = (Bytef *)in;
    zs.avail_in = (uInt)len;
    zs.next_out = buf;
    zs.avail_out = (uInt)cap;
    int z = deflate(&zs, Z_FINISH);
    tb_assert(z == Z_STREAM_END);
    size_t n = zs.total_out;
    deflateEnd(&zs);
    *out = buf;
    return n;
}

char *tb_vast_onstart(const char *script, size_t len, const char *const *args, int nargs, double watchdog_s,
                      const char *api_url, const char *label)
{
    unsigned char *gz = NULL;
    size_t gn = gzip_bytes(script, len, &gz);
    char *b64 = tb_xmalloc(TB_BASE64_ENCODED_SIZE(gn));
    tb_base64_encode(gz, gn, b64);
    free(gz);
    size_t cap = 0, n = 0;
    char *o = NULL;
#define OUT(...) do { char *s_ = tb_xasprintf(__VA_ARGS__); size_t l_ = strlen(s_); tb_xgrow(&o, &cap, n + l_ + 1); \
                      memcpy(o + n, s_, l_ + 1); n += l_; free(s_); } while (0)
    OUT("#!/bin/bash\n# trainbox vast launch (label %s): writes its start script and runs it\n", label);
    if (watchdog_s > 0) {
        /* the watchdog first, so nothing the script does can keep the machine billing */
        char *durl = tb_xasprintf("%s/api/v0/instances/", api_url);
        char *q = tb_vast_shquote(durl);
        OUT("if [ -n \"${CONTAINER_ID:-}\" ] && [ -n \"${CONTAINER_API_KEY:-}\" ]; then\n"
            "  TB_DESTROY_URL=%s nohup bash -c 'sleep %.0f; u=\"$TB_DESTROY_URL$CONTAINER_ID/\"; "
            "curl -fsS -X DELETE -H \"Authorization: Bearer $CONTAINER_API_KEY\" \"$u\" || "
            "wget -q -O- --method=DELETE --header=\"Authorization: Bearer $CONTAINER_API_KEY\" \"$u\"' >/dev/null 2>&1 &\n"
            "fi\n", q, watchdog_s < 1 ? 1.0 : watchdog_s);
        free(q);
        free(durl);
    }
    OUT("set -e\nmkdir -p /root/trainbox\necho '%s' | base64 -d | gunzip > /root/trainbox/start_vast.sh\n"
        "chmod 755 /root/trainbox/start_vast.sh\nexec /root/trainbox/start_vast.sh", b64);
    for (int i = 0; i < nargs; i++) {
        char *q = tb_vast_shquote(args[i]);
        OUT(" %s", q);
        free(q);
    }
    OUT("\n");
#undef OUT
    free(b64);
    return o;
}
