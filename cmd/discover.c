/* discover: what is already under a prefix: shard groups (with gaps), every object, or the newest
 * complete checkpoint, for scripts that decide what to do next. */
#include "blob.h"
#include "commands.h"
#include "discover.h"
#include "err.h"
#include "json.h"
#include "opts.h"
#include "store.h"
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { OPT_DEPTH = 1, OPT_HUMAN, OPT_OBJECTS, OPT_MIN_COUNT, OPT_MIN_SIZE, OPT_LATEST, OPT_MARKER };

static const struct tb_opt discover_opts[] = {
    {OPT_DEPTH, 0, "depth", "N", "look at most N directory levels below the prefix (default: all)", NULL},
    {OPT_HUMAN, 'H', "human", NULL, "a human table instead of NDJSON", NULL},
    {OPT_OBJECTS, 0, "objects", NULL, "print every object instead of groups", NULL},
    {OPT_MIN_COUNT, 0, "min-count", "N", "smallest group reported (default 8 objects)", NULL},
    {OPT_MIN_SIZE, 0, "min-size", "SIZE", "smallest median object size of a group (default 1KiB)", NULL},
    {OPT_LATEST, 0, "latest-checkpoint", NULL, "print the newest complete checkpoint (exit 66 when none)", NULL},
    {OPT_MARKER, 0, "marker", "NAME", "completion marker file (default .complete or COMPLETE)", NULL},
    TB_STORE_OPTS,
    TB_REQUEST_OPTS,
    TB_COMMON_OPTS,
    TB_OPT_END,
};

static int cmd_discover(int argc, char **argv);

const struct tb_cmd_spec tb_cmd_discover = {
    "discover",
    "find shard groups and the latest checkpoint under a prefix",
    "[--depth N] [--min-count N] [--min-size SIZE] [-H] URI\n"
    "--objects [--depth N] [-H] URI\n"
    "--latest-checkpoint [--marker NAME] URI",
    "Lists URI recursively (any store or directory) and prints one NDJSON line per shard group:\n"
    "objects in one directory whose names differ only in one zero-padded number, same extension.",
    discover_opts,
    cmd_discover,
};

static int depth_of(const char *key)
{
    int d = 0;
    for (; *key; key++) d += *key == '/';
    return d;
}

static char *base_uri(const char *uri)
{
    size_t n = strlen(uri);
    char *b = malloc(n + 2);
    if (!b) return NULL;
    memcpy(b, uri, n + 1);
    if (n && b[n - 1] != '/') { b[n] = '/'; b[n + 1] = 0; }
    return b;
}

static void print_json(cJSON *o)
{
    char *t = cJSON_PrintUnformatted(o);
    if (t) puts(t);
    free(t);
    cJSON_Delete(o);
}

/* Nothing to print is a valid answer, but not a silent one: say so on stderr, and with -H say why. */
static void no_group(const char *uri, size_t n, unsigned long long min_count, unsigned long long min_size,
                     const struct tb_group_stats *st, int human)
{
    tb_warn("discover", "no shard group of at least %llu objects under %s (found %zu object%s)", min_count, uri, n,
            n == 1 ? "" : "s");
    if (!human) return;
    if (n == 0) printf("no group: %s holds no objects\n", uri);
    else if (st->numbered == 0) printf("no group: none of the %zu objects has a number in its name\n", n);
    else if (st->light)
        printf("no group: %zu set%s of at least %llu numbered objects, but a median size (largest: %llu bytes) "
               "below --min-size %llu\n", st->light, st->light == 1 ? "" : "s", min_count,
               (unsigned long long)st->light_median, min_size);
    else
        printf("no group: the largest set of objects differing only in their number has %zu (--min-count %llu)\n",
               st->largest, min_count);
}

static int cmd_discover(int argc, char **argv)
{
    unsigned long long depth = ~0ull, min_count = 8, min_size = 1024;
    int human = 0, objects = 0, latest = 0;
    const char *marker = NULL;
    struct tb_common_cfg co = {0};
    struct tb_store_cfg cfg;
    tb_store_cfg_defaults(&cfg);
    struct tb_optparse p;
    tb_opts_init(&p, &tb_cmd_discover, argc, argv);
    int c, r = 0;
    while ((c = tb_opts_next(&p)) > 0) {
        switch (c) {
        case OPT_DEPTH: if (tb_opt_u64(&p, &depth)) r = TB_EUSAGE; break;
        case OPT_HUMAN: human = 1; break;
        case OPT_OBJECTS: objects = 1; break;
        case OPT_MIN_COUNT: if (tb_opt_u64(&p, &min_count)) r = TB_EUSAGE; break;
        case OPT_MIN_SIZE: if (tb_opt_size(&p, &min_size)) r = TB_EUSAGE; break;
        case OPT_LATEST: latest = 1; break;
        case OPT_MARKER: marker = p.arg; break;
        default: if (tb_store_opt(&p, c, &co, &cfg) == TB_EUSAGE) r = TB_EUSAGE; break;
        }
        if (r) break;
    }
    if (c < 0) r = tb_opts_exit(c);
    if (!r && c >= 0) {
        if (p.npos != 1) r = tb_usage("discover", "give exactly one URI to look under");
        else if (objects && latest) r = tb_usage("discover", "--objects and --latest-checkpoint exclude each other");
        else if (marker && !latest) r = tb_usage("discover", "--marker goes with --latest-checkpoint");
    }
    if (r || c < 0) { tb_opts_free(&p); return r; }

    tb_err e = {0};
    const char *uri = p.pos[0];
    char *base = base_uri(uri);
    struct tb_listing l;
    char *ubuf = NULL, *qbuf = NULL;
    size_t ucap = 0;
    r = tb_blob_list(&cfg, uri, &l, &e);
    if (r) goto out;
    if (depth != ~0ull) {
        size_t k = 0;
        for (size_t i = 0; i < l.n; i++) if ((unsigned long long)depth_of(l.objs[i].key) <= depth) l.objs[k++] = l.objs[i];
        l.n = k;
    }
    if (latest) {
        struct tb_ckpt ck;
        r = tb_latest_checkpoint(l.objs, l.n, marker, &ck, &e);
        if (r) { tb_err_wrap(&e, "under %s", uri); goto out_list; }
        cJSON *o = cJSON_CreateObject();
        char *u = NULL;
        if (asprintf(&u, "%s%s", base, ck.path) < 0) u = NULL;
        cJSON_AddStringToObject(o, "uri", u ? u : ck.path);
        cJSON_AddNumberToObject(o, "step", (double)ck.step);
        cJSON_AddNumberToObject(o, "bytes", (double)ck.bytes);
        cJSON_AddNumberToObject(o, "objects", (double)ck.objects);
        if (human) printf("%s  step %llu  %llu bytes in %zu objects\n", u ? u : ck.path, (unsigned long long)ck.step, (unsigned long long)ck.bytes, ck.objects), cJSON_Delete(o);
        else print_json(o);
        free(u);
        free(ck.path);
    } else if (objects) {
        for (size_t i = 0; i < l.n; i++) {
            if (human) { printf("%14llu  %s%s\n", (unsigned long long)l.objs[i].size, base, l.objs[i].key); continue; }
            /* one line per object, quoted straight into a reused buffer: no allocation per object */
            size_t bl = strlen(base), kl = strlen(l.objs[i].key);
            if (bl + kl + 1 > ucap) {
                ucap = (bl + kl + 1) * 2;
                char *nu = realloc(ubuf, ucap);
                char *nq = realloc(qbuf, ucap * 6 + 3);
                if (!nu || !nq) { free(nu ? nu : ubuf); free(nq ? nq : qbuf); ubuf = qbuf = NULL; r = tb_fail(&e, TB_ESOFTWARE, "out of memory"); goto out_list; }
                ubuf = nu;
                qbuf = nq;
            }
            memcpy(ubuf, base, bl);
            memcpy(ubuf + bl, l.objs[i].key, kl);
            tb_json_quote(ubuf, bl + kl, qbuf, ucap * 6 + 3);
            printf("{\"uri\":%s,\"bytes\":%llu}\n", qbuf, (unsigned long long)l.objs[i].size);
        }
    } else {
        struct tb_group *g;
        size_t ng;
        struct tb_group_stats st;
        r = tb_find_groups(l.objs, l.n, min_count, min_size, &g, &ng, &st, &e);
        if (r) goto out_list;
        if (!ng) no_group(uri, l.n, min_count, min_size, &st, human);
        if (human && ng) printf("%-60s %7s %14s %s\n", "group", "count", "bytes", "missing");
        for (size_t i = 0; i < ng; i++) {
            char *grp = NULL, *prefix = NULL, *pattern = NULL;
            const char *slash = strrchr(g[i].head, '/');
            size_t dirlen = slash ? (size_t)(slash - g[i].head) + 1 : 0;
            if (asprintf(&grp, "%s%s{%0*llu..%0*llu}%s", base, g[i].head, g[i].width, (unsigned long long)g[i].first, g[i].width,
                         (unsigned long long)g[i].last, g[i].tail) < 0) grp = NULL;
            if (asprintf(&prefix, "%s%.*s", base, (int)dirlen, g[i].head) < 0) prefix = NULL;
            if (asprintf(&pattern, "%s%%0%dd%s", g[i].head + dirlen, g[i].width, g[i].tail) < 0) pattern = NULL;
            if (human) {
                printf("%-60s %7zu %14llu", grp ? grp : "?", g[i].count, (unsigned long long)g[i].bytes);
                for (size_t k = 0; k < g[i].nmissing && k < 10; k++) printf("%s%llu", k ? "," : " ", (unsigned long long)g[i].missing[k]);
                if (g[i].nmissing > 10) printf(",... (%zu)", g[i].nmissing);
                printf("\n");
            } else {
                cJSON *o = cJSON_CreateObject();
                cJSON_AddStringToObject(o, "group", grp ? grp : "");
                cJSON_AddStringToObject(o, "prefix", prefix ? prefix : "");
                cJSON_AddStringToObject(o, "pattern", pattern ? pattern : "");
                cJSON_AddNumberToObject(o, "count", (double)g[i].count);
                cJSON_AddNumberToObject(o, "bytes", (double)g[i].bytes);
                cJSON_AddNumberToObject(o, "first", (double)g[i].first);
                cJSON_AddNumberToObject(o, "last", (double)g[i].last);
                cJSON *miss = cJSON_AddArrayToObject(o, "missing");
                for (size_t k = 0; k < g[i].nmissing; k++) cJSON_AddItemToArray(miss, cJSON_CreateNumber((double)g[i].missing[k]));
                print_json(o);
            }
            free(grp);
            free(prefix);
            free(pattern);
        }
        tb_groups_free(g, ng);
    }
    if (fflush(stdout) != 0) r = tb_fail_errno(&e, TB_EIO, "write to stdout failed");
out_list:
    free(ubuf);
    free(qbuf);
    tb_listing_free(&l);
out:
    if (r) tb_report("discover", &e);
    free(base);
    tb_opts_free(&p);
    return r;
}
