/* vast_query: the official Vast.ai CLI's offer query language read as vast.py's parse_query reads it
 * (its regular expression followed step by step below), built into search__offers' JSON body with
 * cJSON (see vast_query.h for the rules). */
#include "vast_query.h"
#include "alloc.h"
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* vast.py's offers_fields */
static const char *const offer_fields[] = {
    "bw_nvlink", "compute_cap", "cpu_arch", "cpu_cores", "cpu_cores_effective", "cpu_ghz", "cpu_ram",
    "cuda_max_good", "datacenter", "direct_port_count", "driver_version", "disk_bw", "disk_space", "dlperf",
    "dlperf_per_dphtotal", "dph_total", "duration", "external", "flops_per_dphtotal", "gpu_arch",
    "gpu_display_active", "gpu_frac", "gpu_mem_bw", "gpu_name", "gpu_ram", "gpu_total_ram", "gpu_max_power",
    "gpu_max_temp", "has_avx", "host_id", "id", "inet_down", "inet_down_cost", "inet_up", "inet_up_cost",
    "machine_id", "min_bid", "mobo_name", "num_gpus", "pci_gen", "pcie_bw", "reliability", "rentable",
    "rented", "storage_cost", "static_ip", "total_flops", "ubuntu_version", "verification", "verified",
    "vms_enabled", "geolocation", "cluster_id",
};
/* the fields its help lists as int or float (driver_version has its own form) */
static const char *const numeric_fields[] = {
    "bw_nvlink", "compute_cap", "cpu_cores", "cpu_cores_effective", "cpu_ghz", "cpu_ram", "cuda_max_good",
    "direct_port_count", "disk_bw", "disk_space", "dlperf", "dlperf_per_dphtotal", "dph_total", "duration",
    "flops_per_dphtotal", "gpu_frac", "gpu_mem_bw", "gpu_max_power", "gpu_max_temp", "gpu_ram",
    "gpu_total_ram", "host_id", "id", "inet_down", "inet_down_cost", "inet_up", "inet_up_cost", "machine_id",
    "min_bid", "num_gpus", "pci_gen", "pcie_bw", "reliability", "storage_cost", "total_flops", "cluster_id",
};
/* the fields its help lists as bool */
static const char *const bool_fields[] = {
    "datacenter", "external", "gpu_display_active", "has_avx", "rentable", "rented", "static_ip", "verified",
    "vms_enabled",
};
/* the body's own keys, set by search__offers after the query */
static const char *const body_keys[] = {"order", "type", "limit", "allocated_storage"};
/* vast.py's offers_alias */
static const struct { const char *from, *to; } aliases[] = {
    {"cuda_vers", "cuda_max_good"}, {"display_active", "gpu_display_active"},
    {"dlperf_usd", "dlperf_per_dphtotal"}, {"dph", "dph_total"}, {"flops_usd", "flops_per_dphtotal"},
};
/* vast.py's offers_mult */
static const struct { const char *field; double mult; } mults[] = {
    {"cpu_ram", 1000}, {"gpu_ram", 1000}, {"gpu_total_ram", 1000}, {"duration", 24.0 * 60.0 * 60.0},
};
/* vast.py's op_names, the operators its pattern can capture */
static const struct { const char *op, *name; } ops[] = {
    {">=", "gte"}, {">", "gt"}, {"gt", "gt"}, {"gte", "gte"}, {"<=", "lte"}, {"<", "lt"}, {"lt", "lt"},
    {"lte", "lte"}, {"!=", "neq"}, {"==", "eq"}, {"=", "eq"}, {"eq", "eq"}, {"neq", "neq"},
    {"noteq", "neq"}, {"not eq", "neq"}, {"notin", "notin"}, {"not in", "notin"}, {"nin", "notin"},
    {"in", "in"},
};
/* the word operators of its pattern, in the pattern's order: [lg]te?|nin|neq|eq|not ?eq|not ?in|in */
static const char *const word_ops[] = {"lte", "lt", "gte", "gt", "nin", "neq", "eq", "noteq", "not eq",
                                       "notin", "not in", "in"};

static int listed(const char *const *l, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(l[i], s) == 0) return 1;
    return 0;
}

static const char *alias_of(const char *f)
{
    for (size_t i = 0; i < N_OF(aliases); i++)
        if (strcmp(aliases[i].from, f) == 0) return aliases[i].to;
    return f;
}

int tb_vast_query_known_field(const char *name)
{
    const char *f = alias_of(name);
    return listed(offer_fields, N_OF(offer_fields), f) || listed(body_keys, N_OF(body_keys), f);
}

static cJSON *chk(cJSON *x)
{
    if (!x) tb_oom(0); /* cJSON fails only for memory */
    return x;
}

static void add(cJSON *obj, const char *key, cJSON *item)
{
    if (!cJSON_AddItemToObject(obj, key, chk(item))) tb_oom(0);
}

/* obj[key] = item, in place when key is there (as a Python dict assignment keeps its position) */
static void put(cJSON *obj, const char *key, cJSON *item)
{
    chk(item);
    if (cJSON_GetObjectItemCaseSensitive(obj, key)) {
        if (!cJSON_ReplaceItemInObjectCaseSensitive(obj, key, item)) tb_oom(0);
    } else {
        add(obj, key, item);
    }
}

static int is_ident(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}
static int is_opchar(char c) { return c == '=' || c == '>' || c == '<' || c == '!'; }
/* Python's str.strip() whitespace, the ASCII part */
static int is_pyspace(char c) { return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f); }
static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* s[lo..hi) trimmed of the bytes in set (or Python whitespace when set is NULL) into a new string */
static char *strip_dup(const char *s, size_t lo, size_t hi, const char *set)
{
    while (lo < hi && (set ? strchr(set, s[lo]) != NULL : is_pyspace(s[lo]))) lo++;
    while (hi > lo && (set ? strchr(set, s[hi - 1]) != NULL : is_pyspace(s[hi - 1]))) hi--;
    return tb_xstrndup(s + lo, hi - lo);
}

/* In place: '_' -> ' ', then '"' stripped from both ends (vast.py's order). */
static void unscore_unquote(char *v)
{
    for (char *p = v; *p; p++)
        if (*p == '_') *p = ' ';
    size_t n = strlen(v), lo = 0;
    while (lo < n && v[lo] == '"') lo++;
    while (n > lo && v[n - 1] == '"') n--;
    memmove(v, v + lo, n - lo);
    v[n - lo] = 0;
}

/* A decimal number as Python's float() reads one, without inf/nan (JSON has neither). */
static int is_decimal(const char *s)
{
    const char *p = s;
    int digits = 0;
    if (*p == '+' || *p == '-') p++;
    while (is_digit(*p)) p++, digits++;
    if (*p == '.')
        for (p++; is_digit(*p); p++) digits++;
    if (!digits) return 0;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-') p++;
        if (!is_digit(*p)) return 0;
        while (is_digit(*p)) p++;
    }
    return *p == 0;
}

/* vast.py's numeric_version: "535.86.05" -> 535086005 (each part zero-padded to 3 digits). */
static int numeric_version(const char *v, double *out)
{
    char digits[32];
    size_t n = 0;
    int parts = 0;
    const char *p = v;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        for (size_t i = 0; i < len; i++)
            if (!is_digit(p[i])) return -1;
        size_t pad = len < 3 ? 3 - len : 0;
        if (n + pad + len >= 16) return -1; /* beyond a double's exact integers */
        memset(digits + n, '0', pad);
        memcpy(digits + n + pad, p, len);
        n += pad + len;
        parts++;
        if (!dot) break;
        p = dot + 1;
    }
    if (parts != 3) return -1;
    digits[n] = 0;
    *out = (double)strtoll(digits, NULL, 10);
    return 0;
}

/* One comparison as vast.py's pattern splits it: the offsets of its field, operator and value in the
 * joined query, and of the whole match (its text names it in errors). */
struct cmp {
    size_t start, end, f0, f1, o0, o1, v0, v1;
};

/* The pattern at s+pos (pos at a non-space):
 * ([a-zA-Z0-9_]+)( *[=><!]+| +(?:[lg]te?|nin|neq|eq|not ?eq|not ?in|in) )?( *)
 * (\[[^\]]+\]|\"[^\"]+\"|[^ ]+)?( *)
 * Every group after the first is optional, so the first choice of each is the one kept. 0, or -1 when
 * no field name starts at pos. */
static int match_cmp(const char *s, size_t len, size_t pos, struct cmp *c)
{
    size_t p = pos;
    memset(c, 0, sizeof *c);
    c->start = pos;
    while (p < len && is_ident(s[p])) p++;
    if (p == pos) return -1;
    c->f0 = pos;
    c->f1 = p;
    c->o0 = c->o1 = p;
    size_t q = p;
    while (q < len && s[q] == ' ') q++;
    if (q < len && is_opchar(s[q])) {
        size_t r = q;
        while (r < len && is_opchar(s[r])) r++;
        c->o0 = q;
        c->o1 = r;
        p = r;
    } else if (q > p) {
        for (size_t i = 0; i < N_OF(word_ops); i++) {
            size_t wl = strlen(word_ops[i]);
            if (q + wl < len && strncmp(s + q, word_ops[i], wl) == 0 && s[q + wl] == ' ') {
                c->o0 = q;
                c->o1 = q + wl;
                p = q + wl + 1;
                break;
            }
        }
    }
    while (p < len && s[p] == ' ') p++;
    c->v0 = c->v1 = p;
    if (p < len) {
        size_t r = p;
        if (s[p] == '[' || s[p] == '"') {
            char close = s[p] == '[' ? ']' : '"';
            const char *e = memchr(s + p + 1, close, len - p - 1);
            if (e && (size_t)(e - s) > p + 1) r = (size_t)(e - s) + 1;
        }
        if (r == p)
            while (r < len && s[r] != ' ') r++;
        c->v1 = r;
        p = r;
    }
    while (p < len && s[p] == ' ') p++;
    c->end = p;
    return 0;
}

/* 64: "bad query 'TEXT': WHY", TEXT the comparison as written */
static int bad(tb_err *e, const char *s, const struct cmp *c, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int bad(tb_err *e, const char *s, const struct cmp *c, const char *fmt, ...)
{
    size_t n = c->end - c->start;
    while (n > 0 && s[c->start + n - 1] == ' ') n--;
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return tb_fail(e, TB_EUSAGE, "bad query '%.*s': %s", (int)(n > 300 ? 300 : n), s + c->start, why);
}

/* A list value of `in`/`notin`: the comma-separated items, each stripped, empty ones dropped. */
static char **split_list(const char *v, size_t *out_n)
{
    size_t cap = 1;
    for (const char *p = v; *p; p++) cap += *p == ',';
    char **items = tb_xcalloc(cap, sizeof *items);
    size_t n = 0;
    const char *p = v;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t l = comma ? (size_t)(comma - p) : strlen(p);
        char *it = strip_dup(p, 0, l, NULL);
        if (*it) items[n++] = it;
        else free(it);
        if (!comma) break;
        p = comma + 1;
    }
    *out_n = n;
    return items;
}

static void free_list(char **items, size_t n)
{
    for (size_t i = 0; i < n; i++) free(items[i]);
    free(items);
}

/* One comparison into q, as vast.py's loop body does it. */
static int apply(cJSON *q, const char *s, const struct cmp *c, tb_err *e)
{
    int rc = 0;
    char *field = tb_xstrndup(s + c->f0, c->f1 - c->f0);
    char *opw = strip_dup(s, c->o0, c->o1, NULL);
    char *value = strip_dup(s, c->v0, c->v1, ",[]");
    char **items = NULL;
    size_t nitems = 0;
    const char *f = alias_of(field);
    const char *op = NULL;
    for (size_t i = 0; i < N_OF(ops); i++)
        if (strcmp(ops[i].op, opw) == 0) op = ops[i].name;
    int is_list = op && (strcmp(op, "in") == 0 || strcmp(op, "notin") == 0);
    double mult = 0;
    for (size_t i = 0; i < N_OF(mults); i++)
        if (strcmp(mults[i].field, f) == 0) mult = mults[i].mult;
    int numeric = listed(numeric_fields, N_OF(numeric_fields), f);
    int boolean = listed(bool_fields, N_OF(bool_fields), f);

    if (!op) {
        rc = *opw ? bad(e, s, c, "unknown operator '%s' (one of < <= == = != >= > in notin)", opw)
                  : bad(e, s, c, "no operator after '%s' (one of < <= == = != >= > in notin)", field);
        goto done;
    }
    if (listed(body_keys, N_OF(body_keys), f)) {
        rc = bad(e, s, c, "'%s' is not an offer field (use the option of that name)", f);
        goto done;
    }
    if (is_list) items = split_list(value, &nitems);
    if (is_list ? nitems == 0 : *value == 0) {
        rc = bad(e, s, c, "no value for '%s'", field);
        goto done;
    }
    if (!is_list && (strcmp(value, "?") == 0 || strcmp(value, "*") == 0 || strcmp(value, "any") == 0)) {
        if (strcmp(op, "eq") != 0) {
            rc = bad(e, s, c, "the wildcard '%s' only goes with =", value);
            goto done;
        }
        cJSON_DeleteItemFromObjectCaseSensitive(q, f);
        goto done;
    }
    cJSON *item;
    if (strcmp(f, "driver_version") == 0 && strchr(value, '.')) {
        double ver;
        if (is_list) {
            rc = bad(e, s, c, "a dotted %s cannot be a list (vast.py fails on it too)", f);
            goto done;
        }
        if (numeric_version(value, &ver) < 0) {
            rc = bad(e, s, c, "'%s' is not a driver version X.Y.Z", value);
            goto done;
        }
        item = cJSON_CreateNumber(ver);
    } else if (is_list) {
        item = chk(cJSON_CreateArray());
        for (size_t i = 0; i < nitems; i++) {
            unscore_unquote(items[i]);
            if (numeric && !is_decimal(items[i])) {
                cJSON_Delete(item);
                rc = bad(e, s, c, "'%s' is not a number", items[i]);
                goto done;
            }
            if (mult) {
                cJSON_Delete(item);
                rc = bad(e, s, c, "%s cannot be compared with a list", f);
                goto done;
            }
            if (!cJSON_AddItemToArray(item, chk(cJSON_CreateString(items[i])))) tb_oom(0);
        }
    } else {
        unscore_unquote(value);
        if (mult) {
            char *num = strip_dup(value, 0, strlen(value), NULL);
            int ok = is_decimal(num);
            double v = ok ? strtod(num, NULL) * mult : 0;
            free(num);
            if (!ok || !isfinite(v)) {
                rc = bad(e, s, c, "'%s' is not a number", value);
                goto done;
            }
            item = cJSON_CreateNumber(v);
        } else if (strcmp(value, "true") == 0 || strcmp(value, "True") == 0 || strcmp(value, "false") == 0 ||
                   strcmp(value, "False") == 0) {
            if (numeric) {
                rc = bad(e, s, c, "'%s' is not a number", value);
                goto done;
            }
            item = cJSON_CreateBool(value[0] == 't' || value[0] == 'T');
        } else if (strcmp(value, "None") == 0 || strcmp(value, "null") == 0) {
            item = cJSON_CreateNull();
        } else {
            if (numeric && !is_decimal(value)) {
                rc = bad(e, s, c, "'%s' is not a number", value);
                goto done;
            }
            if (boolean) {
                rc = bad(e, s, c, "'%s' is not true or false", value);
                goto done;
            }
            item = cJSON_CreateString(value);
        }
    }
    cJSON *v = cJSON_GetObjectItemCaseSensitive(q, f);
    if (!v) {
        v = chk(cJSON_CreateObject());
        add(q, f, v);
    }
    put(v, op, item);
done:
    if (items) free_list(items, nitems);
    free(field);
    free(opw);
    free(value);
    return rc;
}

static cJSON *eq_bool(int b)
{
    cJSON *o = chk(cJSON_CreateObject());
    add(o, "eq", cJSON_CreateBool(b));
    return o;
}

int tb_vast_query_parse(const char *const *args, int nargs, cJSON **out_json, tb_err *e)
{
    *out_json = NULL;
    size_t total = 1;
    for (int i = 0; i < nargs; i++) total += strlen(args[i]) + 1;
    char *joined = tb_xmalloc(total);
    size_t n = 0;
    for (int i = 0; i < nargs; i++) {
        size_t l = strlen(args[i]);
        if (i) joined[n++] = ' ';
        memcpy(joined + n, args[i], l);
        n += l;
    }
    joined[n] = 0;
    char *s = strip_dup(joined, 0, n, NULL);
    free(joined);
    size_t len = strlen(s);

    cJSON *q = chk(cJSON_CreateObject());
    add(q, "verified", eq_bool(1));
    add(q, "external", eq_bool(0));
    add(q, "rentable", eq_bool(1));
    add(q, "rented", eq_bool(0));
    int rc = 0;
    {
        /* vast.py checks the whole text is consumed before it looks at any comparison */
        struct cmp *cmps = NULL;
        size_t ncmp = 0, cap = 0;
        for (size_t pos = 0; pos < len;) {
            tb_xgrow_n(&cmps, &cap, ncmp + 1, sizeof *cmps, 8);
            if (match_cmp(s, len, pos, &cmps[ncmp]) < 0) {
                size_t w = pos;
                while (w < len && s[w] != ' ') w++;
                rc = tb_fail(e, TB_EUSAGE, "bad query at '%.*s': expected a field name (FIELD OP VALUE)",
                             (int)(w - pos > 300 ? 300 : w - pos), s + pos);
                break;
            }
            pos = cmps[ncmp++].end;
        }
        for (size_t i = 0; rc == 0 && i < ncmp; i++) rc = apply(q, s, &cmps[i], e);
        free(cmps);
    }
    free(s);
    if (rc) {
        cJSON_Delete(q);
        return rc;
    }
    cJSON *order = chk(cJSON_CreateArray()), *pair = chk(cJSON_CreateArray());
    if (!cJSON_AddItemToArray(pair, chk(cJSON_CreateString("score"))) ||
        !cJSON_AddItemToArray(pair, chk(cJSON_CreateString("desc"))) || !cJSON_AddItemToArray(order, pair))
        tb_oom(0);
    add(q, "order", order);
    add(q, "type", cJSON_CreateString("on-demand"));
    add(q, "allocated_storage", cJSON_CreateNumber(5.0));
    *out_json = q;
    return 0;
}

int tb_vast_query_order(cJSON *q, const char *field_spec, tb_err *e)
{
    cJSON *order = chk(cJSON_CreateArray());
    const char *p = field_spec ? field_spec : "";
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t l = comma ? (size_t)(comma - p) : strlen(p);
        char *name = strip_dup(p, 0, l, NULL);
        if (*name) {
            const char *dir = "asc";
            char *field = name;
            char *t = strip_dup(name, 0, strlen(name), "-");
            if (strcmp(t, name) != 0) dir = "desc", field = t;
            char *u = strip_dup(name, 0, strlen(name), "+");
            if (strcmp(u, name) != 0) dir = "asc", field = u;
            int ok = *field != 0;
            for (const char *c = field; *c; c++) ok = ok && is_ident(*c);
            if (!ok) {
                int rc = tb_fail(e, TB_EUSAGE, "bad --order field '%s' (FIELD, FIELD- descending, FIELD+)", name);
                free(t), free(u), free(name);
                cJSON_Delete(order);
                return rc;
            }
            cJSON *pair = chk(cJSON_CreateArray());
            if (!cJSON_AddItemToArray(pair, chk(cJSON_CreateString(alias_of(field)))) ||
                !cJSON_AddItemToArray(pair, chk(cJSON_CreateString(dir))) || !cJSON_AddItemToArray(order, pair))
                tb_oom(0);
            free(t);
            free(u);
        }
        free(name);
        if (!comma) break;
        p = comma + 1;
    }
    put(q, "order", order);
    return 0;
}

void tb_vast_query_limit(cJSON *q, long n)
{
    cJSON_DeleteItemFromObjectCaseSensitive(q, "limit");
    if (n <= 0) return;
    cJSON *storage = cJSON_DetachItemFromObjectCaseSensitive(q, "allocated_storage");
    add(q, "limit", cJSON_CreateNumber((double)n));
    if (storage && !cJSON_AddItemToObject(q, "allocated_storage", storage)) tb_oom(0);
}

int tb_vast_query_type(cJSON *q, const char *type, tb_err *e)
{
    if (type && strcmp(type, "interruptible") == 0) type = "bid";
    if (!type || !(strcmp(type, "on-demand") == 0 || strcmp(type, "reserved") == 0 || strcmp(type, "bid") == 0))
        return tb_fail(e, TB_EUSAGE, "bad offer type '%s' (on-demand, reserved, bid or interruptible)",
                       type ? type : "");
    put(q, "type", cJSON_CreateString(type));
    return 0;
}

int tb_vast_query_storage(cJSON *q, double gib, tb_err *e)
{
    if (!isfinite(gib) || gib < 0) return tb_fail(e, TB_EUSAGE, "bad storage size %g GiB", gib);
    put(q, "allocated_storage", cJSON_CreateNumber(gib));
    return 0;
}
