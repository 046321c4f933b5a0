/* manifest: records -> manifest documents, parsing, merging (see manifest.h). */
#include "manifest.h"
#include "alloc.h"
#include "uri.h"
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void tb_manifest_init(struct tb_manifest *m) { memset(m, 0, sizeof *m); }

void tb_manifest_free(struct tb_manifest *m)
{
    for (size_t i = 0; i < m->n; i++) cJSON_Delete(m->shards[i].json);
    free(m->shards);
    free(m->name);
    free(m->created);
    memset(m, 0, sizeof *m);
}

static const char *str_field(cJSON *o, const char *k)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A JSON number that is a non-negative integer below 2^53 (cJSON keeps doubles). */
static int u64_field(cJSON *o, const char *k, uint64_t *out, int required, tb_err *e)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!v) {
        if (required) return tb_fail(e, TB_EDATA, "record lacks \"%s\"", k);
        *out = 0;
        return 0;
    }
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 9007199254740992.0 ||
        v->valuedouble != (double)(uint64_t)v->valuedouble)
        return tb_fail(e, TB_EDATA, "\"%s\" is not a non-negative integer", k);
    *out = (uint64_t)v->valuedouble;
    return 0;
}

static int hex_ok(const char *s, size_t n)
{
    if (!s) return 1;
    if (strlen(s) != n) return 0;
    for (size_t i = 0; i < n; i++) if (!isxdigit((unsigned char)s[i])) return 0;
    return 1;
}

static const char *base_name(const char *s)
{
    const char *b = strrchr(s, '/');
    return b ? b + 1 : s;
}

int tb_manifest_add_json(struct tb_manifest *m, cJSON *rec, int need_uri, tb_err *e)
{
    struct tb_shard_rec r;
    memset(&r, 0, sizeof r);
    int rc = 0;
    if (!cJSON_IsObject(rec)) { rc = tb_fail(e, TB_EDATA, "record is not a JSON object"); goto bad; }
    r.json = rec;
    r.uri = str_field(rec, "uri");
    r.path = str_field(rec, "path");
    r.sha256 = str_field(rec, "sha256");
    r.md5 = str_field(rec, "md5");
    r.split = str_field(rec, "split");
    if (need_uri && !r.uri) { rc = tb_fail(e, TB_EDATA, "record has no \"uri\" (upload the shards first: a manifest in a store must name stored objects)"); goto bad; }
    if (!r.uri && !r.path) { rc = tb_fail(e, TB_EDATA, "record has neither \"uri\" nor \"path\""); goto bad; }
    r.name = base_name(r.uri ? r.uri : r.path);
    if (!*r.name) { rc = tb_fail(e, TB_EDATA, "record names a directory, not a shard: %s", r.uri ? r.uri : r.path); goto bad; }
    if ((rc = u64_field(rec, "bytes", &r.bytes, 1, e))) goto bad;
    if ((rc = u64_field(rec, "samples", &r.samples, 0, e))) goto bad;
    r.first_key = str_field(rec, "first_key");
    r.last_key = str_field(rec, "last_key");
    if (cJSON_GetObjectItemCaseSensitive(rec, "rank")) {
        uint64_t rk;
        if ((rc = u64_field(rec, "rank", &rk, 1, e))) goto bad;
        if (rk > UINT32_MAX) { rc = tb_fail(e, TB_EDATA, "\"rank\" of %s is too large", r.name); goto bad; }
        r.rank = (uint32_t)rk;
        r.have_rank = 1;
    }
    if (!hex_ok(r.sha256, 64)) { rc = tb_fail(e, TB_EDATA, "\"sha256\" of %s is not 64 hex digits", r.name); goto bad; }
    if (!hex_ok(r.md5, 32)) { rc = tb_fail(e, TB_EDATA, "\"md5\" of %s is not 32 hex digits", r.name); goto bad; }
    for (size_t i = 0; i < m->n; i++) {
        struct tb_shard_rec *o = &m->shards[i];
        if (strcmp(o->name, r.name) != 0) continue;
        int same = o->bytes == r.bytes && (!o->sha256 || !r.sha256 || strcmp(o->sha256, r.sha256) == 0);
        const char *wa = o->uri ? o->uri : o->path, *wb = r.uri ? r.uri : r.path;
        if (!same) {
            rc = tb_fail(e, TB_EDATA, "shard %s appears twice with different %s (%s, %s)", r.name,
                         o->bytes != r.bytes ? "sizes" : "sha256", wa, wb);
            goto bad;
        }
        if (strcmp(wa, wb) != 0) {
            rc = tb_fail(e, TB_EDATA, "duplicate shard name %s (%s and %s): shard names must be unique in a dataset", r.name, wa, wb);
            goto bad;
        }
        cJSON_Delete(rec); /* the same shard again, e.g. re-emitted after a resume */
        return 0;
    }
    tb_xgrow_n(&m->shards, &m->cap, m->n + 1, sizeof *m->shards, 64);
    m->shards[m->n++] = r;
    return 0;
bad:
    cJSON_Delete(rec);
    return rc;
}

/* A relative path (not an absolute one, not file:// nor any other location), as tb_uri_parse reads it. */
static int relative_path(const char *v)
{
    struct tb_uri u;
    if (!v || tb_uri_parse(v, &u, NULL)) return 0;
    int rel = u.scheme == TB_URI_FILE && !u.explicit_file && u.path[0] != '/';
    tb_uri_free(&u);
    return rel;
}

static void rebase_field(cJSON *rec, const char *field, const char *from_dir, const char *to_dir, const char **out)
{
    const char *v = *out;
    if (!relative_path(v)) return;
    char *nv = tb_path_rebase(v, from_dir, to_dir);
    cJSON *item = cJSON_GetObjectItemCaseSensitive(rec, field);
    const char *set = cJSON_SetValuestring(item, nv); /* item is the string v came from */
    free(nv);
    if (!set) tb_oom(0); /* cJSON fails only for memory */
    *out = set;
}

int tb_manifest_rebase(struct tb_manifest *m, const char *from_dir, const char *to_dir, tb_err *e)
{
    (void)e;
    if (strcmp(from_dir, to_dir) == 0) return 0;
    for (size_t i = 0; i < m->n; i++) {
        struct tb_shard_rec *r = &m->shards[i];
        rebase_field(r->json, "path", from_dir, to_dir, &r->path);
        rebase_field(r->json, "uri", from_dir, to_dir, &r->uri);
        r->name = base_name(r->uri ? r->uri : r->path);
    }
    return 0;
}

int tb_manifest_add_line(struct tb_manifest *m, const char *line, size_t len, int need_uri, tb_err *e)
{
    const char *end = NULL;
    cJSON *rec = cJSON_ParseWithLengthOpts(line, len, &end, 0);
    if (!rec) return tb_fail(e, TB_EDATA, "record is not valid JSON");
    return tb_manifest_add_json(m, rec, need_uri, e);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct tb_shard_rec *)a)->name, ((const struct tb_shard_rec *)b)->name);
}

void tb_manifest_sort(struct tb_manifest *m)
{
    if (m->n) qsort(m->shards, m->n, sizeof *m->shards, by_name);
}

struct tb_totals tb_manifest_totals(const struct tb_manifest *m)
{
    struct tb_totals t = {m->n, 0, 0};
    for (size_t i = 0; i < m->n; i++) { t.samples += m->shards[i].samples; t.bytes += m->shards[i].bytes; }
    return t;
}

int tb_manifest_parse(const char *text, size_t len, struct tb_manifest *m, tb_err *e)
{
    tb_manifest_init(m);
    cJSON *doc = cJSON_ParseWithLength(text, len);
    if (!doc) return tb_fail(e, TB_EDATA, "manifest is not valid JSON");
    int rc = 0;
    const char *fmt = str_field(doc, "format");
    cJSON *ver = cJSON_GetObjectItemCaseSensitive(doc, "version");
    cJSON *shards = cJSON_GetObjectItemCaseSensitive(doc, "shards");
    if (!cJSON_IsObject(doc)) rc = tb_fail(e, TB_EDATA, "manifest is not a JSON object");
    else if (!fmt || strcmp(fmt, "trainbox.manifest") != 0)
        rc = tb_fail(e, TB_EDATA, "not a trainbox manifest (\"format\" is %s%s%s)", fmt ? "\"" : "", fmt ? fmt : "missing", fmt ? "\"" : "");
    else if (!cJSON_IsNumber(ver)) rc = tb_fail(e, TB_EDATA, "manifest lacks \"version\"");
    else if (ver->valuedouble != 1) rc = tb_fail(e, TB_EDATA, "unsupported manifest version %g (this trainbox reads version 1)", ver->valuedouble);
    else if (!cJSON_IsArray(shards)) rc = tb_fail(e, TB_EDATA, "manifest lacks a \"shards\" array");
    if (rc) { cJSON_Delete(doc); return rc; }
    const char *name = str_field(doc, "name"), *created = str_field(doc, "created");
    if (name) m->name = tb_xstrdup(name);
    if (created) m->created = tb_xstrdup(created);
    /* the rank and world size it was written under (optional: older manifests have neither) */
    uint64_t v;
    if (cJSON_GetObjectItemCaseSensitive(doc, "world_size")) {
        if (!(rc = u64_field(doc, "world_size", &v, 1, e)) && (v == 0 || v > UINT32_MAX))
            rc = tb_fail(e, TB_EDATA, "manifest \"world_size\" %llu is out of range", (unsigned long long)v);
        if (rc) {
            cJSON_Delete(doc);
            tb_manifest_free(m);
            return rc;
        }
        m->world = (uint32_t)v;
        m->have_world = 1;
    }
    if (cJSON_GetObjectItemCaseSensitive(doc, "rank")) {
        if (!(rc = u64_field(doc, "rank", &v, 1, e))) {
            if (!m->have_world) rc = tb_fail(e, TB_EDATA, "manifest records a \"rank\" but no \"world_size\"");
            else if (v >= m->world) rc = tb_fail(e, TB_EDATA, "manifest \"rank\" %llu is not below its \"world_size\" %u", (unsigned long long)v, m->world);
        }
        if (rc) { cJSON_Delete(doc); tb_manifest_free(m); return rc; }
        m->rank = (uint32_t)v;
        m->have_rank = 1;
    }
    int i = 0;
    cJSON *s;
    while ((s = cJSON_DetachItemFromArray(shards, 0))) {
        rc = tb_manifest_add_json(m, s, 0, e);
        if (rc) { tb_err_wrap(e, "shard %d", i); break; }
        i++;
    }
    if (!rc) {
        /* totals, when present, must agree with the shards */
        cJSON *tot = cJSON_GetObjectItemCaseSensitive(doc, "totals");
        struct tb_totals t = tb_manifest_totals(m);
        uint64_t v = 0;
        if (tot && (u64_field(tot, "shards", &v, 1, NULL) || v != t.shards || u64_field(tot, "bytes", &v, 1, NULL) || v != t.bytes))
            rc = tb_fail(e, TB_EDATA, "manifest totals disagree with its shards");
    }
    cJSON_Delete(doc);
    if (rc) tb_manifest_free(m);
    return rc;
}

int tb_manifest_merge(struct tb_manifest *dst, const struct tb_manifest *src, tb_err *e)
{
    if (!dst->name && src->name) dst->name = tb_xstrdup(src->name);
    for (size_t i = 0; i < src->n; i++) {
        cJSON *copy = cJSON_Duplicate(src->shards[i].json, 1);
        if (!copy) tb_oom(0); /* cJSON fails only for memory (and does not say how much) */
        int rc = tb_manifest_add_json(dst, copy, 0, e);
        if (rc) return rc;
    }
    return 0;
}

int tb_manifest_ranked(const struct tb_manifest *m)
{
    if (m->have_rank || m->have_world) return 1;
    for (size_t i = 0; i < m->n; i++) if (m->shards[i].have_rank) return 1;
    return 0;
}

/* Problems found by a rank merge, joined by "; " into a message that names as many as fit. */
struct problems {
    char buf[sizeof ((tb_err *)0)->msg - 48]; /* room left for "(and N more)" */
    size_t len, count, shown;
};

static void problem(struct problems *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(struct problems *p, const char *fmt, ...)
{
    char one[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(one, sizeof one, fmt, ap);
    va_end(ap);
    p->count++;
    size_t n = strlen(one), sep = p->len ? 2 : 0;
    if (p->count != p->shown + 1 || p->len + sep + n >= sizeof p->buf) return; /* once one is left out, all after are */
    if (sep) memcpy(p->buf + p->len, "; ", 2);
    memcpy(p->buf + p->len + sep, one, n + 1);
    p->len += sep + n;
    p->shown++;
}

/* One shard name or boundary key of one rank, for the overlap checks. */
struct rank_ent {
    const char *s;        /* the name or the key */
    const char *shard;    /* the shard's name */
    uint32_t rank;
    size_t src;
};

static int ent_cmp(const void *a, const void *b)
{
    const struct rank_ent *x = a, *y = b;
    int c = strcmp(x->s, y->s);
    if (c) return c;
    if (x->rank != y->rank) return x->rank < y->rank ? -1 : 1;
    return x->src < y->src ? -1 : x->src > y->src;
}

/* Report every string held by entries of two different ranks, once, with its first two ranks. */
static void overlaps(struct rank_ent *v, size_t n, const char *what, const char *const *names, struct problems *p)
{
    if (n) qsort(v, n, sizeof *v, ent_cmp);
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && strcmp(v[j].s, v[i].s) == 0) j++;
        for (size_t k = i + 1; k < j; k++) {
            if (v[k].rank == v[i].rank) continue;
            if (what[0] == 's') /* a shard name */
                problem(p, "overlap: shard %s is in rank %u (%s) and rank %u (%s)", v[i].s, v[i].rank, names[v[i].src],
                        v[k].rank, names[v[k].src]);
            else
                problem(p, "overlap: sample key \"%s\" is in rank %u (shard %s) and rank %u (shard %s)", v[i].s, v[i].rank, v[i].shard,
                        v[k].rank, v[k].shard);
            break;
        }
        i = j;
    }
}

int tb_manifest_merge_ranks(struct tb_manifest *dst, const struct tb_manifest *const *src, const char *const *names,
                            size_t n, uint32_t world, tb_err *e)
{
    struct problems *p = tb_xcalloc(1, sizeof *p);
    /* the world size: the caller's, else the first input's; every input must agree */
    size_t wfrom = n;
    for (size_t i = 0; i < n; i++) {
        const struct tb_manifest *m = src[i];
        int shards_ranked = m->n > 0;
        for (size_t k = 0; k < m->n; k++) shards_ranked &= m->shards[k].have_rank;
        if (!m->have_rank && !shards_ranked)
            problem(p, "%s records no rank (write rank manifests with --rank/--world-size or under a launcher's variables)", names[i]);
        if (!m->have_world) {
            if (m->have_rank || shards_ranked) problem(p, "%s records no world size", names[i]);
            continue;
        }
        if (!world) { world = m->world; wfrom = i; continue; }
        if (m->world != world)
            problem(p, "%s has world size %u, %s %u", names[i], m->world, wfrom < n ? names[wfrom] : "--world-size", world);
    }
    if (!p->count && !world) problem(p, "no input records a world size");
    uint32_t *owner = NULL; /* input index + 1 of each rank's manifest */
    struct rank_ent *nv = NULL, *kv = NULL;
    size_t nn = 0, nk = 0, total = 0;
    if (!p->count) {
        owner = tb_xcalloc(world, sizeof *owner);
        for (size_t i = 0; i < n; i++) total += src[i]->n;
        nv = tb_xmalloc(sizeof *nv * (total ? total : 1));
        kv = tb_xmalloc(sizeof *kv * (total ? 2 * total : 1));
        for (size_t i = 0; i < n; i++) {
            const struct tb_manifest *m = src[i];
            if (m->have_rank) {
                if (m->rank >= world) problem(p, "%s is rank %u, not below world size %u", names[i], m->rank, world);
                else if (owner[m->rank]) problem(p, "rank %u twice: %s and %s", m->rank, names[owner[m->rank] - 1], names[i]);
                else owner[m->rank] = (uint32_t)i + 1;
            } else {
                /* a merged manifest: complete when written (merge refuses gaps), so it stands for every rank */
                for (uint32_t q = 0; q < world; q++) {
                    if (owner[q]) problem(p, "rank %u twice: %s and %s (a merged manifest holds every rank)", q, names[owner[q] - 1], names[i]);
                    else owner[q] = (uint32_t)i + 1;
                }
            }
            for (size_t k = 0; k < m->n; k++) {
                const struct tb_shard_rec *r = &m->shards[k];
                uint32_t rk = m->have_rank ? m->rank : r->rank;
                if (rk >= world) { problem(p, "%s: shard %s is rank %u, not below world size %u", names[i], r->name, rk, world); continue; }
                nv[nn++] = (struct rank_ent){r->name, r->name, rk, i};
                if (r->first_key) kv[nk++] = (struct rank_ent){r->first_key, r->name, rk, i};
                if (r->last_key && (!r->first_key || strcmp(r->first_key, r->last_key) != 0))
                    kv[nk++] = (struct rank_ent){r->last_key, r->name, rk, i};
            }
        }
        /* gaps: name the missing ranks, in runs */
        char gaps[400];
        size_t gl = 0, missing = 0;
        for (uint32_t r = 0; r < world; r++) {
            if (owner[r]) continue;
            uint32_t q = r;
            while (q + 1 < world && !owner[q + 1]) q++;
            missing += q - r + 1;
            if (gl < sizeof gaps - 40) {
                int w = q == r ? snprintf(gaps + gl, sizeof gaps - gl, "%s%u", gl ? ", " : "", r)
                               : snprintf(gaps + gl, sizeof gaps - gl, "%s%u-%u", gl ? ", " : "", r, q);
                gl += (size_t)w < sizeof gaps - gl ? (size_t)w : sizeof gaps - gl - 1;
            } else if (gaps[gl - 1] != '.') {
                gl += (size_t)snprintf(gaps + gl, sizeof gaps - gl, ", ...");
            }
            r = q;
        }
        if (missing)
            problem(p, "gap: no manifest for %s %s (%zu of %u ranks missing)", missing == 1 ? "rank" : "ranks", gaps, missing, world);
        overlaps(nv, nn, "shard", names, p);
        overlaps(kv, nk, "key", names, p);
    }
    int rc = 0;
    if (p->count) {
        if (p->shown < p->count) rc = tb_fail(e, TB_EDATA, "%s (and %zu more)", p->buf, p->count - p->shown);
        else rc = tb_fail(e, TB_EDATA, "%s", p->buf);
    } else {
        for (size_t i = 0; i < n && !rc; i++) {
            const struct tb_manifest *m = src[i];
            if (!dst->name && m->name) dst->name = tb_xstrdup(m->name);
            for (size_t k = 0; k < m->n && !rc; k++) {
                cJSON *copy = cJSON_Duplicate(m->shards[k].json, 1);
                if (!copy) tb_oom(0); /* cJSON fails only for memory */
                uint32_t rk = m->have_rank ? m->rank : m->shards[k].rank;
                cJSON_DeleteItemFromObjectCaseSensitive(copy, "rank");
                if (!cJSON_AddNumberToObject(copy, "rank", rk)) tb_oom(0);
                if ((rc = tb_manifest_add_json(dst, copy, 0, e))) tb_err_wrap(e, "merging %s", names[i]);
            }
        }
        dst->have_world = 1;
        dst->world = world;
        dst->have_rank = 0;
    }
    free(owner);
    free(nv);
    free(kv);
    free(p);
    return rc;
}

void tb_rfc3339_now(char out[32])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static char *print_doc(cJSON *doc)
{
    char *s = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    if (!s) tb_oom(0); /* cJSON fails only for memory */
    size_t n = strlen(s);
    char *r = tb_xrealloc(s, n + 2);
    r[n] = '\n';
    r[n + 1] = 0;
    return r;
}

char *tb_manifest_json(const struct tb_manifest *m, const char *created)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "format", "trainbox.manifest");
    cJSON_AddNumberToObject(doc, "version", 1);
    if (m->name) cJSON_AddStringToObject(doc, "name", m->name);
    cJSON_AddStringToObject(doc, "created", created);
    if (m->have_rank) cJSON_AddNumberToObject(doc, "rank", m->rank);
    if (m->have_world) cJSON_AddNumberToObject(doc, "world_size", m->world);
    cJSON *arr = cJSON_AddArrayToObject(doc, "shards");
    for (size_t i = 0; i < m->n; i++) cJSON_AddItemToArray(arr, cJSON_Duplicate(m->shards[i].json, 1));
    struct tb_totals t = tb_manifest_totals(m);
    cJSON *tot = cJSON_AddObjectToObject(doc, "totals");
    cJSON_AddNumberToObject(tot, "shards", (double)t.shards);
    cJSON_AddNumberToObject(tot, "samples", (double)t.samples);
    cJSON_AddNumberToObject(tot, "bytes", (double)t.bytes);
    return print_doc(doc);
}

static const char *where(const struct tb_shard_rec *r) { return r->uri ? r->uri : r->path; }

char *tb_manifest_wids(const struct tb_manifest *m, const char *index_uri)
{
    /* the index's directory, including the trailing slash */
    size_t dirlen = 0;
    if (index_uri) {
        const char *sl = strrchr(index_uri, '/');
        if (sl) dirlen = (size_t)(sl - index_uri) + 1;
    }
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddNumberToObject(doc, "wids_version", 1);
    cJSON_AddStringToObject(doc, "__kind__", "wids-shard-index-v1");
    cJSON_AddStringToObject(doc, "name", m->name ? m->name : "dataset");
    cJSON *arr = cJSON_AddArrayToObject(doc, "shardlist");
    for (size_t i = 0; i < m->n; i++) {
        const struct tb_shard_rec *r = &m->shards[i];
        const char *url = where(r);
        if (dirlen && strncmp(url, index_uri, dirlen) == 0) url += dirlen;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "url", url);
        cJSON_AddNumberToObject(o, "nsamples", (double)r->samples);
        cJSON_AddNumberToObject(o, "filesize", (double)r->bytes);
        if (r->md5) cJSON_AddStringToObject(o, "md5sum", r->md5);
        cJSON_AddItemToArray(arr, o);
    }
    return print_doc(doc);
}

/* Split a name into prefix, the last run of digits, and suffix. Returns 0 when there are no digits
 * in the last path component. */
static int number_parts(const char *s, size_t *pre, size_t *digits, uint64_t *num)
{
    const char *base = base_name(s);
    const char *end = s + strlen(s), *p = end;
    while (p > base && !isdigit((unsigned char)p[-1])) p--;
    if (p == base) return 0;
    const char *q = p;
    while (q > base && isdigit((unsigned char)q[-1])) q--;
    if (p - q > 18) return 0;
    *pre = (size_t)(q - s);
    *digits = (size_t)(p - q);
    uint64_t v = 0;
    for (const char *c = q; c < p; c++) v = v * 10 + (uint64_t)(*c - '0');
    *num = v;
    return 1;
}

char *tb_brace_range(const char *const *names, size_t n)
{
    /* a brace or a backslash of the names' own would be read as pattern syntax (lib/brace) */
    if (n < 2 || strpbrk(names[0], "{}\\")) return NULL;
    size_t pre0, d0;
    uint64_t first;
    if (!number_parts(names[0], &pre0, &d0, &first)) return NULL;
    const char *suf0 = names[0] + pre0 + d0;
    for (size_t i = 1; i < n; i++) {
        size_t pre, d;
        uint64_t v;
        if (!number_parts(names[i], &pre, &d, &v) || pre != pre0 || d != d0 || v != first + i ||
            strncmp(names[i], names[0], pre) != 0 || strcmp(names[i] + pre + d, suf0) != 0)
            return NULL;
    }
    return tb_xasprintf("%.*s{%0*" PRIu64 "..%0*" PRIu64 "}%s", (int)pre0, names[0], (int)d0, first, (int)d0, first + n - 1, suf0);
}

char *tb_manifest_shardlist(const struct tb_manifest *m)
{
    const char **names = tb_xmalloc(sizeof *names * (m->n ? m->n : 1));
    size_t total = 2;
    for (size_t i = 0; i < m->n; i++) { names[i] = where(&m->shards[i]); total += strlen(names[i]) + 1; }
    char *br = tb_brace_range(names, m->n);
    char *out;
    if (br) {
        size_t n = strlen(br);
        out = tb_xrealloc(br, n + 2);
        out[n] = '\n';
        out[n + 1] = 0;
    } else {
        out = tb_xmalloc(total);
        size_t o = 0;
        for (size_t i = 0; i < m->n; i++) o += (size_t)sprintf(out + o, "%s\n", names[i]);
        out[o] = 0;
    }
    free(names);
    return out;
}
