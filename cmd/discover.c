/* discover: what is already under a prefix: shard groups (with gaps), every object, or the newest
 * complete checkpoint, for scripts that decide what to do next. */
#include "alloc.h"
#include "blob.h"
#include "commands.h"
#include "discover.h"
#include "err.h"
#include "json.h"
#include "opts.h"
#include "store.h"
#include <cjson/cJSON.h>
#include <stdarg.h>
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

struct discover {
    unsigned long long depth, min_count, min_size;
    int human, objects, latest;
    const char *marker;
    const char *uri;
    char *base;             /* uri with a trailing '/': keys are printed after it */
    struct tb_common_cfg co;
    struct tb_store_cfg cfg;
};

/* A formatted string; out of memory is lib/alloc's. */
static char *xprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0) tb_oom(strlen(fmt));
    return s;
}

static int depth_of(const char *key)
{
    int d = 0;
    for (; *key; key++) d += *key == '/';
    return d;
}

static void print_json(cJSON *o)
{
    char *t = cJSON_PrintUnformatted(o);
    if (t) puts(t);
    free(t);
    cJSON_Delete(o);
}

/* Nothing to print is a valid answer, but not a silent one: say so on stderr, and with -H say why. */
static void no_group(const struct discover *d, size_t n, const struct tb_group_stats *st)
{
    tb_warn("discover", "no shard group of at least %llu objects under %s (found %zu object%s)", d->min_count, d->uri, n,
            n == 1 ? "" : "s");
    if (!d->human) return;
    if (n == 0) printf("no group: %s holds no objects\n", d->uri);
    else if (st->numbered == 0) printf("no group: none of the %zu objects has a number in its name\n", n);
    else if (st->light)
        printf("no group: %zu set%s of at least %llu numbered objects, but a median size (largest: %llu bytes) "
               "below --min-size %llu\n", st->light, st->light == 1 ? "" : "s", d->min_count,
               (unsigned long long)st->light_median, d->min_size);
    else
        printf("no group: the largest set of objects differing only in their number has %zu (--min-count %llu)\n",
               st->largest, d->min_count);
}

/* --latest-checkpoint: the newest complete one (TB_ENOINPUT when none). */
static int print_latest(const struct discover *d, const struct tb_listing *l, tb_err *e)
{
    struct tb_ckpt ck;
    int r = tb_latest_checkpoint(l->objs, l->n, d->marker, &ck, e);
    if (r) { tb_err_wrap(e, "under %s", d->uri); return r; }
    char *u = xprintf("%s%s", d->base, ck.path);
    char *sc = ck.sidecar ? xprintf("%s%s", d->base, ck.sidecar) : NULL;
    if (d->human) {
        printf("%s  step %llu  %llu bytes in %zu objects%s%s\n", u, (unsigned long long)ck.step, (unsigned long long)ck.bytes,
               ck.objects, sc ? "  sidecar " : "", sc ? sc : "");
    } else {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "uri", u);
        cJSON_AddNumberToObject(o, "step", (double)ck.step);
        cJSON_AddNumberToObject(o, "bytes", (double)ck.bytes);
        cJSON_AddNumberToObject(o, "objects", (double)ck.objects);
        if (sc) cJSON_AddStringToObject(o, "sidecar", sc);
        print_json(o);
    }
    free(u);
    free(sc);
    free(ck.path);
    free(ck.sidecar);
    return 0;
}

/* --objects: one line per object. */
static void print_objects(const struct discover *d, const struct tb_listing *l)
{
    char *ubuf = NULL, *qbuf = NULL;
    size_t ucap = 0, qcap = 0, bl = strlen(d->base);
    for (size_t i = 0; i < l->n; i++) {
        if (d->human) { printf("%14llu  %s%s\n", (unsigned long long)l->objs[i].size, d->base, l->objs[i].key); continue; }
        /* quoted straight into reused buffers: no allocation per object */
        size_t kl = strlen(l->objs[i].key);
        tb_xgrow(&ubuf, &ucap, bl + kl + 1);
        tb_xgrow(&qbuf, &qcap, (bl + kl) * 6 + 3);
        memcpy(ubuf, d->base, bl);
        memcpy(ubuf + bl, l->objs[i].key, kl);
        tb_json_quote(ubuf, bl + kl, qbuf, qcap);
        printf("{\"uri\":%s,\"bytes\":%llu}\n", qbuf, (unsigned long long)l->objs[i].size);
    }
    free(ubuf);
    free(qbuf);
}

/* One shard group: its brace pattern, or a table row with -H. */
static void print_group(const struct discover *d, const struct tb_group *g)
{
    const char *slash = strrchr(g->head, '/');
    size_t dirlen = slash ? (size_t)(slash - g->head) + 1 : 0;
    char *grp = xprintf("%s%s{%0*llu..%0*llu}%s", d->base, g->head, g->width, (unsigned long long)g->first, g->width,
                        (unsigned long long)g->last, g->tail);
    if (d->human) {
        printf("%-60s %7zu %14llu", grp, g->count, (unsigned long long)g->bytes);
        for (size_t k = 0; k < g->nmissing && k < 10; k++) printf("%s%llu", k ? "," : " ", (unsigned long long)g->missing[k]);
        if (g->nmissing > 10) printf(",... (%zu)", g->nmissing);
        printf("\n");
        free(grp);
        return;
    }
    char *prefix = xprintf("%s%.*s", d->base, (int)dirlen, g->head);
    char *pattern = xprintf("%s%%0%dd%s", g->head + dirlen, g->width, g->tail);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "group", grp);
    cJSON_AddStringToObject(o, "prefix", prefix);
    cJSON_AddStringToObject(o, "pattern", pattern);
    cJSON_AddNumberToObject(o, "count", (double)g->count);
    cJSON_AddNumberToObject(o, "bytes", (double)g->bytes);
    cJSON_AddNumberToObject(o, "first", (double)g->first);
    cJSON_AddNumberToObject(o, "last", (double)g->last);
    cJSON *miss = cJSON_AddArrayToObject(o, "missing");
    for (size_t k = 0; k < g->nmissing; k++) cJSON_AddItemToArray(miss, cJSON_CreateNumber((double)g->missing[k]));
    print_json(o);
    free(grp);
    free(prefix);
    free(pattern);
}

/* The default: every shard group, or why there is none. */
static int print_groups(const struct discover *d, const struct tb_listing *l, tb_err *e)
{
    struct tb_group *g;
    size_t ng;
    struct tb_group_stats st;
    int r = tb_find_groups(l->objs, l->n, d->min_count, d->min_size, &g, &ng, &st, e);
    if (r) return r;
    if (!ng) no_group(d, l->n, &st);
    if (d->human && ng) printf("%-60s %7s %14s %s\n", "group", "count", "bytes", "missing");
    for (size_t i = 0; i < ng; i++) print_group(d, &g[i]);
    tb_groups_free(g, ng);
    return 0;
}

/* Options and their usage checks: 0, or the exit code (usage printed; 0 after --help is -1). */
static int parse_args(struct discover *d, struct tb_optparse *p)
{
    int c, r = 0;
    while ((c = tb_opts_next(p)) > 0) {
        switch (c) {
        case OPT_DEPTH: if (tb_opt_u64(p, &d->depth)) r = TB_EUSAGE; break;
        case OPT_HUMAN: d->human = 1; break;
        case OPT_OBJECTS: d->objects = 1; break;
        case OPT_MIN_COUNT: if (tb_opt_u64(p, &d->min_count)) r = TB_EUSAGE; break;
        case OPT_MIN_SIZE: if (tb_opt_size(p, &d->min_size)) r = TB_EUSAGE; break;
        case OPT_LATEST: d->latest = 1; break;
        case OPT_MARKER: d->marker = p->arg; break;
        default: if (tb_store_opt(p, c, &d->co, &d->cfg) == TB_EUSAGE) r = TB_EUSAGE; break;
        }
        if (r) return r;
    }
    if (c < 0) return c == TB_OPTS_HELP ? -1 : TB_EUSAGE;
    if (p->npos != 1) return tb_usage("discover", "give exactly one URI to look under");
    if (d->objects && d->latest) return tb_usage("discover", "--objects and --latest-checkpoint exclude each other");
    if (d->marker && !d->latest) return tb_usage("discover", "--marker goes with --latest-checkpoint");
    d->uri = p->pos[0];
    return 0;
}

static int cmd_discover(int argc, char **argv)
{
    struct discover d = {.depth = ~0ull, .min_count = 8, .min_size = 1024};
    tb_store_cfg_defaults(&d.cfg);
    struct tb_optparse p;
    tb_opts_init(&p, &tb_cmd_discover, argc, argv);
    int r = parse_args(&d, &p);
    if (!r) {
        tb_err e = {0};
        size_t n = strlen(d.uri);
        d.base = tb_xmalloc(n + 2);
        memcpy(d.base, d.uri, n + 1);
        if (n && d.base[n - 1] != '/') { d.base[n] = '/'; d.base[n + 1] = 0; }
        struct tb_listing l;
        r = tb_blob_list(&d.cfg, d.uri, &l, &e);
        if (!r) {
            if (d.depth != ~0ull) {
                size_t k = 0;
                for (size_t i = 0; i < l.n; i++) if ((unsigned long long)depth_of(l.objs[i].key) <= d.depth) l.objs[k++] = l.objs[i];
                l.n = k;
            }
            if (d.latest) r = print_latest(&d, &l, &e);
            else if (d.objects) print_objects(&d, &l);
            else r = print_groups(&d, &l, &e);
            if (!r && fflush(stdout) != 0) r = tb_fail_errno(&e, TB_EIO, "write to stdout failed");
            tb_listing_free(&l);
        }
        if (r) tb_report("discover", &e);
    }
    free(d.base);
    tb_opts_free(&p);
    return r < 0 ? 0 : r;
}
