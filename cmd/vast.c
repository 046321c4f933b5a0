/* vast: rent Vast.ai GPU instances, bootstrap a job on them with scripts/start_vast.sh, watch them
 * and tear them down, without overspending: every action of `trainbox vast` (the API is lib/vast,
 * the offer query language lib/vast_query).
 *
 * launch's safety rules live here: one unique label per launch; the create request is sent once,
 * and when its answer is lost the launch looks for its label and adopts (or destroys) what it finds;
 * --max-dph and the account's balance are checked before anything is rented; --wait polls until
 * running and, on a failed status, --timeout or a signal, prints the last log lines and destroys the
 * instance this launch made (only that one). */
#include "alloc.h"
#include "atomic.h"
#include "cleanup.h"
#include "commands.h"
#include "duration.h"
#include "err.h"
#include "hash.h"
#include "opts.h"
#include "vast.h"
#include "vast_query.h"
#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum {
    OPT_ORDER = 1, OPT_LIMIT, OPT_HUMAN, OPT_OFFER, OPT_CHEAPEST, OPT_IMAGE, OPT_DISK, OPT_LABEL, OPT_ENV, OPT_BID,
    OPT_MAX_DPH, OPT_MAX_HOURS, OPT_REPO, OPT_REF, OPT_RUN, OPT_SYNC_DIR, OPT_SYNC_TO, OPT_ONSTART, OPT_WAIT,
    OPT_WTIMEOUT, OPT_DRY_RUN, OPT_OLDER, OPT_TAIL, OPT_RETRIES,
};

static const struct tb_opt vast_opts[] = {
    {OPT_ORDER, 0, "order", "FIELD[-]", "offers: sort by FIELD, descending with a trailing - (default: score)", NULL},
    {OPT_LIMIT, 0, "limit", "N", "offers: at most N offers", NULL},
    {OPT_HUMAN, 'H', "human", NULL, "offers, list, show: a human table instead of NDJSON", NULL},
    {OPT_OFFER, 0, "offer", "ID", "launch: rent this offer", NULL},
    {OPT_CHEAPEST, 0, "cheapest", "QUERY", "launch: rent the cheapest offer matching QUERY (one quoted argument)", NULL},
    {OPT_IMAGE, 0, "image", "IMG", "launch: the container image", NULL},
    {OPT_DISK, 0, "disk", "GB", "launch: disk size in GB", NULL},
    {OPT_LABEL, 0, "label", "L", "launch: the instance's label (default tb-DATE-TIME-RANDOM; must be unused); destroy: every instance with it", NULL},
    {OPT_ENV, 0, "env", "K=V", "launch: an environment variable for the instance (repeatable)", NULL},
    {OPT_BID, 0, "bid", "USD", "launch: rent interruptibly at this bid in $/hour", NULL},
    {OPT_MAX_DPH, 0, "max-dph", "USD", "launch: refuse an offer costing more than USD per hour", NULL},
    {OPT_MAX_HOURS, 0, "max-hours", "H", "launch: the instance destroys itself after H hours; the balance must cover them", NULL},
    {OPT_REPO, 0, "repo", "URL", "launch: git repository the instance clones", NULL},
    {OPT_REF, 0, "ref", "REF", "launch: branch, tag or commit of --repo", NULL},
    {OPT_RUN, 0, "run", "CMD", "launch: the training command", NULL},
    {OPT_SYNC_DIR, 0, "sync-dir", "DIR", "launch: checkpoint directory on the instance, backed up to --sync-to", NULL},
    {OPT_SYNC_TO, 0, "sync-to", "URI", "launch: where checkpoints are backed up and restored from", NULL},
    {OPT_ONSTART, 0, "onstart", "FILE", "launch: the start script (default: the installed start_vast.sh)", "file"},
    {OPT_WAIT, 0, "wait", NULL, "launch: wait until the instance runs; destroy it if it fails", NULL},
    {OPT_WTIMEOUT, 0, "timeout", "DURATION", "launch --wait: give up (and destroy) after this long (default 15m)", NULL},
    {OPT_DRY_RUN, 0, "dry-run", NULL, "launch, destroy, start, stop: print the requests that would change something, key redacted", NULL},
    {OPT_OLDER, 0, "older-than", "DURATION", "list: mark instances up longer than this (default 12h)", NULL},
    {OPT_TAIL, 0, "tail", "N", "logs: the last N lines (default 1000)", NULL},
    {OPT_RETRIES, 0, "retries", "N", "attempts per request on 429/502/503/504 and unsent requests (default 6; 1: no retry)", NULL},
    TB_COMMON_OPTS,
    TB_OPT_END,
};

static int cmd_vast(int argc, char **argv);

const struct tb_cmd_spec tb_cmd_vast = {
    "vast",
    "rent, bootstrap and tear down Vast.ai GPU instances",
    "offers [QUERY...] [--order FIELD[-]] [--limit N] [-H]\n"
    "launch (--offer ID | --cheapest QUERY) --image IMG --disk GB [--label L] [--env K=V ...] [--bid USD]\n"
    "       [--max-dph USD] [--max-hours H] [--repo URL --ref REF] [--run CMD] [--sync-dir DIR --sync-to URI]\n"
    "       [--onstart FILE] [--wait] [--timeout DURATION] [--dry-run]\n"
    "list [-H] [--older-than DURATION]\n"
    "show ID\n"
    "logs ID [--tail N]\n"
    "stop ID | start ID\n"
    "destroy ID... | destroy --label L",
    "Talk to the Vast.ai API as its official client does (VAST_URL, default https://console.vast.ai; the key\n"
    "from VAST_API_KEY or ~/.config/vastai/vast_api_key, never printed). QUERY is the official client's query\n"
    "language (gpu_name=RTX_4090 num_gpus>=1 dph<1.0 ...). A launch is never left billing when it fails.",
    vast_opts,
    cmd_vast,
};

enum { A_OFFERS, A_LAUNCH, A_LIST, A_SHOW, A_LOGS, A_STOP, A_START, A_DESTROY, A_N };
static const char *const actions[] = {"offers", "launch", "list", "show", "logs", "stop", "start", "destroy", NULL};
#define BIT(a) (1u << (a))

static volatile sig_atomic_t interrupted;
static void on_signal(int sig) { interrupted = sig; }

struct launch_opts {
    long long offer;
    const char *cheapest, *image, *label, *repo, *ref, *run, *sync_dir, *sync_to, *onstart;
    double disk, bid, max_dph, max_hours;
    int wait, dry_run;
    uint64_t timeout_ns;
    const char **env;
    int nenv;
    char *script, *script_path; /* the start script (read before anything is asked of the API) */
    size_t slen;
};

struct ctx {
    struct tb_common_cfg co;
    int human;
    struct tb_vast *v;
    long poll_ms;
};

/* ---- small helpers */

static int parse_id(const char *s, long long *id)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v <= 0) return -1;
    *id = v;
    return 0;
}

static int parse_usd(const struct tb_optparse *p, double *out)
{
    char *end;
    double d = strtod(p->arg, &end);
    if (end == p->arg || *end || !(d > 0) || d > 1e9)
        return tb_usage("vast", "option '--%s' wants a positive number, not '%s'", p->name, p->arg);
    *out = d;
    return 0;
}

static void print_json(const cJSON *j)
{
    char *s = cJSON_PrintUnformatted(j);
    if (!s) tb_oom(0);
    printf("%s\n", s);
    free(s);
}

static const char *str_of(const cJSON *o, const char *name)
{
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(s) ? s->valuestring : NULL;
}

/* Sleep ms in short steps, returning early on a signal. */
static void nap(long ms)
{
    while (ms > 0 && !interrupted) {
        long step = ms < 100 ? ms : 100;
        struct timespec ts = {0, step * 1000000L};
        nanosleep(&ts, NULL);
        ms -= step;
    }
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static const char *getenv_cb(const char *name, void *ud)
{
    (void)ud;
    return getenv(name);
}

/* Split one QUERY argument at whitespace into words (pointing into a copy kept in *buf). */
static int split_words(const char *s, char **buf, char ***words)
{
    *buf = tb_xstrdup(s);
    int n = 0, cap = 8;
    *words = tb_xmalloc(cap * sizeof **words);
    for (char *tok = strtok(*buf, " \t\n"); tok; tok = strtok(NULL, " \t\n")) {
        if (n == cap) *words = tb_xrealloc(*words, (size_t)(cap *= 2) * sizeof **words);
        (*words)[n++] = tok;
    }
    return n;
}

/* ---- offers */

static void offers_table(const cJSON *offers)
{
    printf("%-10s %-18s %4s %7s %8s %7s %9s %6s %8s %8s %-22s %5s\n", "ID", "GPU", "N", "VRAM GB", "RAM GB", "DISK",
           "$/HOUR", "REL", "NET DOWN", "NET UP", "LOCATION", "CUDA");
    const cJSON *o;
    cJSON_ArrayForEach(o, offers) {
        cJSON *s = tb_vast_offer_summary(o);
        const char *g = str_of(s, "gpu_name"), *loc = str_of(s, "geolocation");
        printf("%-10lld %-18s %4.0f %7.1f %8.1f %7.1f %9.4f %6.3f %8.0f %8.0f %-22s %5.1f\n", tb_vast_id(s), g ? g : "-",
               tb_vast_num(s, "num_gpus"), tb_vast_num(s, "gpu_ram"), tb_vast_num(s, "cpu_ram"), tb_vast_num(s, "disk_space"),
               tb_vast_num(s, "dph_total"), tb_vast_num(s, "reliability"), tb_vast_num(s, "inet_down"), tb_vast_num(s, "inet_up"),
               loc ? loc : "-", tb_vast_num(s, "cuda_max_good"));
        cJSON_Delete(s);
    }
}

static int do_offers(struct ctx *c, char **words, int nwords, const char *order, long limit, tb_err *e)
{
    cJSON *q = NULL, *offers = NULL;
    int rc = tb_vast_query_parse((const char *const *)words, nwords, &q, e);
    if (!rc && order) rc = tb_vast_query_order(q, order, e);
    if (!rc && limit > 0) tb_vast_query_limit(q, limit);
    if (!rc) rc = tb_vast_search(c->v, q, &offers, e);
    if (!rc) {
        if (c->human) {
            offers_table(offers);
        } else {
            const cJSON *o;
            cJSON_ArrayForEach(o, offers) {
                cJSON *s = tb_vast_offer_summary(o);
                print_json(s);
                cJSON_Delete(s);
            }
        }
    }
    cJSON_Delete(q);
    cJSON_Delete(offers);
    return rc;
}

/* ---- list, show, logs, start, stop, destroy */

static int do_list(struct ctx *c, uint64_t older_ns, tb_err *e)
{
    cJSON *list = NULL;
    int rc = tb_vast_list(c->v, NULL, &list, e);
    if (rc) return rc;
    time_t now = time(NULL);
    double limit_s = (double)older_ns / 1e9;
    if (c->human) printf("%-10s %-30s %-10s %-18s %4s %9s %8s %s\n", "ID", "LABEL", "STATUS", "GPU", "N", "$/HOUR", "AGE h", "");
    const cJSON *i;
    cJSON_ArrayForEach(i, list) {
        double age = tb_vast_age_s(i, now), dph = tb_vast_num(i, "dph_total");
        int old = age >= 0 && age > limit_s;
        const char *label = str_of(i, "label"), *st = str_of(i, "actual_status"), *ist = str_of(i, "intended_status"),
                   *gpu = str_of(i, "gpu_name");
        long long id = tb_vast_id(i);
        if (c->human) {
            printf("%-10lld %-30s %-10s %-18s %4.0f %9.4f %8.1f %s\n", id, label ? label : "-", st ? st : "-", gpu ? gpu : "-",
                   tb_vast_num(i, "num_gpus"), dph, age >= 0 ? age / 3600.0 : -1.0, old ? "<- up longer than --older-than" : "");
        } else {
            cJSON *o = cJSON_CreateObject();
            if (!o) tb_oom(0);
            cJSON_AddNumberToObject(o, "id", (double)id);
            label ? cJSON_AddStringToObject(o, "label", label) : cJSON_AddNullToObject(o, "label");
            st ? cJSON_AddStringToObject(o, "actual_status", st) : cJSON_AddNullToObject(o, "actual_status");
            ist ? cJSON_AddStringToObject(o, "intended_status", ist) : cJSON_AddNullToObject(o, "intended_status");
            gpu ? cJSON_AddStringToObject(o, "gpu_name", gpu) : cJSON_AddNullToObject(o, "gpu_name");
            cJSON_AddNumberToObject(o, "num_gpus", tb_vast_num(i, "num_gpus"));
            cJSON_AddNumberToObject(o, "dph_total", dph);
            cJSON_AddNumberToObject(o, "start_date", tb_vast_num(i, "start_date"));
            age >= 0 ? cJSON_AddNumberToObject(o, "age_hours", (double)(long long)(age / 36.0) / 100.0)
                     : cJSON_AddNullToObject(o, "age_hours");
            cJSON_AddBoolToObject(o, "old", old);
            print_json(o);
            cJSON_Delete(o);
        }
        if (old && !c->co.quiet)
            tb_warn("vast", "instance %lld (%s) has been up %.1f h at $%.4f/h: destroy it when done (trainbox vast destroy %lld)", id,
                    label ? label : "no label", age / 3600.0, dph, id);
    }
    cJSON_Delete(list);
    return 0;
}

static int do_show(struct ctx *c, long long id, tb_err *e)
{
    cJSON *i = NULL;
    int rc = tb_vast_show(c->v, id, &i, e);
    if (rc) return rc;
    tb_vast_redact(i);
    if (c->human) {
        char *s = cJSON_Print(i);
        if (!s) tb_oom(0);
        printf("%s\n", s);
        free(s);
    } else {
        print_json(i);
    }
    cJSON_Delete(i);
    return 0;
}

/* Print text line by line on out, each line through tb_redact, with an optional prefix. */
static void print_redacted(FILE *out, const char *prefix, const char *text)
{
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        char *line = tb_xstrndup(p, n);
        tb_redact(line);
        fprintf(out, "%s%s\n", prefix, line);
        free(line);
        p += n + (nl ? 1 : 0);
    }
}

static int do_logs(struct ctx *c, long long id, long tail, tb_err *e)
{
    char *text = NULL;
    long step = c->poll_ms < 1000 ? c->poll_ms : 1000;
    int rc = tb_vast_logs(c->v, id, tail, 30, step, &text, e);
    if (!rc) print_redacted(stdout, "", text);
    free(text);
    return rc;
}

static void print_done(long long id, const char *what)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) tb_oom(0);
    cJSON_AddNumberToObject(o, "id", (double)id);
    cJSON_AddStringToObject(o, "action", what);
    cJSON_AddBoolToObject(o, "ok", 1);
    print_json(o);
    cJSON_Delete(o);
}

static int do_destroy(struct ctx *c, char **ids, int nids, const char *label, int dry_run, tb_err *e)
{
    long long *list = NULL;
    int n = 0;
    if (label) {
        cJSON *found = NULL;
        int rc = tb_vast_list(c->v, label, &found, e);
        if (rc) return rc;
        n = cJSON_GetArraySize(found);
        list = tb_xcalloc((size_t)n + 1, sizeof *list);
        for (int i = 0; i < n; i++) list[i] = tb_vast_id(cJSON_GetArrayItem(found, i));
        cJSON_Delete(found);
        if (n == 0) {
            free(list);
            return tb_fail(e, TB_ENOINPUT, "no instance has the label '%s'", label);
        }
    } else {
        list = tb_xcalloc((size_t)nids + 1, sizeof *list);
        for (int i = 0; i < nids; i++) parse_id(ids[i], &list[n++]);
    }
    int failed = 0, last = 0;
    for (int i = 0; i < n; i++) {
        tb_err de = {0};
        int rc = tb_vast_destroy(c->v, list[i], &de);
        if (rc) {
            tb_err_wrap(&de, "destroying instance %lld", list[i]);
            tb_report("vast", &de);
            failed++;
            last = rc;
            *e = de;
        } else if (!dry_run) {
            print_done(list[i], "destroy");
        }
    }
    free(list);
    if (!failed) return 0;
    /* every failure was reported as it happened */
    e->code = failed == n ? last : TB_EPARTIAL;
    e->msg[0] = 0;
    return e->code;
}

/* ---- launch */

/* The start script launch sends: --onstart FILE, else start_vast.sh beside the binary's install
 * (PREFIX/share/trainbox/, where `make install` puts it) or, for a binary run from a checkout, the
 * checkout's scripts/. */
static int read_onstart(const char *file, char **data, size_t *len, char **used, tb_err *e)
{
    *used = NULL;
    if (file) {
        int rc = tb_read_file(file, data, len, e);
        if (rc) return tb_err_wrap(e, "--onstart");
        *used = tb_xstrdup(file);
        return 0;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    char *cands[2] = {NULL, NULL};
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) *slash = 0;
        cands[0] = tb_xasprintf("%s/../share/trainbox/start_vast.sh", exe);
        cands[1] = tb_xasprintf("%s/scripts/start_vast.sh", exe);
    }
    int rc = TB_ENOINPUT;
    for (int i = 0; i < 2 && cands[i]; i++) {
        tb_err re = {0};
        if (tb_read_file(cands[i], data, len, &re) == 0) {
            *used = tb_xstrdup(cands[i]);
            rc = 0;
            break;
        }
    }
    if (rc)
        tb_fail(e, TB_ENOINPUT, "no start script: neither %s nor %s exists (install trainbox with 'make install', or give --onstart FILE)",
                cands[0] ? cands[0] : "PREFIX/share/trainbox/start_vast.sh", cands[1] ? cands[1] : "scripts/start_vast.sh");
    free(cands[0]);
    free(cands[1]);
    return rc;
}

/* The arguments start_vast.sh gets from launch's options. */
static int script_args(const struct launch_opts *L, const char **args)
{
    int n = 0;
    static char hours[32];
    if (L->repo) { args[n++] = "--repo"; args[n++] = L->repo; }
    if (L->ref) { args[n++] = "--ref"; args[n++] = L->ref; }
    if (L->run) { args[n++] = "--run"; args[n++] = L->run; }
    if (L->sync_dir) { args[n++] = "--sync-dir"; args[n++] = L->sync_dir; args[n++] = "--sync-to"; args[n++] = L->sync_to; }
    if (L->max_hours > 0) {
        snprintf(hours, sizeof hours, "%g", L->max_hours);
        args[n++] = "--max-hours";
        args[n++] = hours;
    }
    return n;
}

/* The offer a launch rents: --offer ID looked up, or the cheapest match of --cheapest. */
static int pick_offer(struct ctx *c, const struct launch_opts *L, cJSON **offer, tb_err *e)
{
    *offer = NULL;
    cJSON *q = NULL, *offers = NULL;
    int rc;
    if (L->cheapest) {
        char *buf, **words;
        int n = split_words(L->cheapest, &buf, &words);
        rc = tb_vast_query_parse((const char *const *)words, n, &q, e);
        free(words);
        free(buf);
        if (rc) return tb_err_wrap(e, "--cheapest");
        cJSON_DeleteItemFromObjectCaseSensitive(q, "order");
        if ((rc = tb_vast_query_order(q, "dph_total", e))) { cJSON_Delete(q); return rc; }
        tb_vast_query_limit(q, 1);
    } else {
        q = cJSON_CreateObject();
        cJSON *id = cJSON_AddObjectToObject(q, "id");
        if (!q || !id || !cJSON_AddNumberToObject(id, "eq", (double)L->offer)) tb_oom(0);
        cJSON *r = cJSON_AddObjectToObject(q, "rentable"); /* a rented offer cannot be rented again */
        if (!r || !cJSON_AddTrueToObject(r, "eq")) tb_oom(0);
    }
    /* the price asked is the price of this rental: interruptible or not, with this much disk */
    if ((rc = tb_vast_query_type(q, L->bid > 0 ? "bid" : "on-demand", e)) || (rc = tb_vast_query_storage(q, L->disk, e))) {
        cJSON_Delete(q);
        return rc;
    }
    rc = tb_vast_search(c->v, q, &offers, e);
    cJSON_Delete(q);
    if (rc) return rc;
    cJSON *first = cJSON_DetachItemFromArray(offers, 0);
    cJSON_Delete(offers);
    if (!first) {
        if (L->cheapest) return tb_fail(e, TB_ENOINPUT, "no offer matches --cheapest '%s'", L->cheapest);
        return tb_fail(e, TB_ENOINPUT, "offer %lld is not available (rented, or no longer offered)", L->offer);
    }
    *offer = first;
    return 0;
}

/* After a create whose answer was lost: the instances carrying the launch's label. A fresh
 * instance may take a moment to be listed, so an empty answer is asked again. */
static int find_by_label(struct ctx *c, const char *label, cJSON **found, tb_err *e)
{
    for (int i = 0; i < 3; i++) {
        if (i) nap(c->poll_ms);
        int rc = tb_vast_list(c->v, label, found, e);
        if (rc) return rc;
        if (cJSON_GetArraySize(*found) > 0) return 0;
        cJSON_Delete(*found);
        *found = NULL;
    }
    *found = cJSON_CreateArray();
    return 0;
}

/* Destroy what this launch made, loudly when that fails (it may be billing). */
static void destroy_own(struct ctx *c, long long id, const char *label)
{
    tb_err de = {0};
    int rc = 0;
    for (int i = 0; i < 3; i++) { /* the destroy of our own machine is worth more than one go */
        if ((rc = tb_vast_destroy(c->v, id, &de)) == 0 || rc == TB_ENOINPUT || rc == TB_ENOPERM) break;
        nap(c->poll_ms < 2000 ? c->poll_ms : 2000);
    }
    if (rc && rc != TB_ENOINPUT)
        tb_warn("vast", "COULD NOT DESTROY instance %lld (label %s), it may still be billing: run 'trainbox vast destroy %lld' (%s)",
                id, label, id, de.msg);
    else if (!c->co.quiet)
        tb_warn("vast", "destroyed instance %lld (label %s)", id, label);
}

static void print_last_logs(struct ctx *c, long long id)
{
    char *text = NULL;
    tb_err le = {0};
    long step = c->poll_ms < 1000 ? c->poll_ms : 1000;
    if (tb_vast_logs(c->v, id, 50, 10, step, &text, &le) == 0) {
        if (!c->co.quiet) tb_warn("vast", "last log lines of instance %lld:", id);
        print_redacted(stderr, "  | ", text);
    } else if (!c->co.quiet) {
        tb_warn("vast", "no logs of instance %lld (%s)", id, le.msg);
    }
    free(text);
}

/* Poll until running. 0 running; else e says why (a failed status, the timeout, a signal). */
static int wait_running(struct ctx *c, const struct launch_opts *L, long long id, cJSON **last, tb_err *e)
{
    double deadline = mono_s() + (double)L->timeout_ns / 1e9;
    char prev[64] = "";
    for (;;) {
        if (interrupted) return tb_fail(e, TB_ETEMPFAIL, "interrupted by signal %d while waiting for instance %lld", (int)interrupted, id);
        cJSON *inst = NULL;
        tb_err se = {0};
        int rc = tb_vast_show(c->v, id, &inst, &se);
        if (rc && rc != TB_EUNAVAIL) {
            *e = se;
            return rc;
        }
        if (!rc) {
            const char *st = str_of(inst, "actual_status");
            if (c->co.verbose && strcmp(prev, st ? st : "null") != 0)
                tb_warn("vast", "instance %lld: actual_status %s", id, st ? st : "null");
            snprintf(prev, sizeof prev, "%s", st ? st : "null");
            enum tb_vast_state s = tb_vast_state_of(st);
            if (s == TB_VAST_RUNNING) {
                *last = inst;
                return 0;
            }
            cJSON_Delete(inst);
            if (s == TB_VAST_FAILED) return tb_fail(e, TB_EUNAVAIL, "instance %lld went to '%s' instead of running", id, prev);
        }
        double left = deadline - mono_s();
        if (left <= 0)
            return tb_fail(e, TB_EUNAVAIL, "instance %lld is not running after --timeout (last status: %s)", id, prev[0] ? prev : "unknown");
        long ms = c->poll_ms;
        if (ms > left * 1000) ms = (long)(left * 1000) + 1;
        nap(ms);
    }
}

static int do_launch(struct ctx *c, const struct launch_opts *L, tb_err *e)
{
    int rc = 0;
    if (c->co.verbose) tb_warn("vast", "start script: %s", L->script_path);
    cJSON *offer = NULL, *body = NULL, *found = NULL, *inst = NULL;
    char *onstart = NULL;
    char label[128];
    long long id = -1;
    if (L->label) snprintf(label, sizeof label, "%s", L->label);
    else {
        /* unique per launch: the clock, the pid and whatever the kernel's entropy gives */
        uint64_t rnd = 0;
        FILE *ur = fopen("/dev/urandom", "rb");
        if (!ur || fread(&rnd, sizeof rnd, 1, ur) != 1) rnd = 0;
        if (ur) fclose(ur);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        rnd ^= ((uint64_t)getpid() << 20) ^ (uint64_t)ts.tv_nsec;
        tb_vast_label_new(label, sizeof label, time(NULL), rnd);
    }
    /* the label must name this launch alone, or a lost create could adopt someone else's machine */
    if ((rc = tb_vast_list(c->v, label, &found, e))) goto out;
    if (cJSON_GetArraySize(found) > 0) {
        rc = tb_fail(e, TB_EUSAGE, "the label '%s' is in use (instance %lld): a launch needs a label of its own", label,
                     tb_vast_id(cJSON_GetArrayItem(found, 0)));
        goto out;
    }
    cJSON_Delete(found);
    found = NULL;
    if ((rc = pick_offer(c, L, &offer, e))) goto out;
    long long offer_id = tb_vast_id(offer);
    double dph = L->bid > 0 ? L->bid : tb_vast_num(offer, "dph_total");
    if (dph < 0) { rc = tb_fail(e, TB_EUNAVAIL, "offer %lld has no dph_total price", offer_id); goto out; }
    if (L->max_dph > 0 && dph > L->max_dph) {
        rc = tb_fail(e, TB_EUNAVAIL, "offer %lld costs $%.4f/h, more than --max-dph $%.4f/h: not rented", offer_id, dph, L->max_dph);
        goto out;
    }
    /* the account must cover the hours asked for (one hour when no --max-hours bounds them) */
    cJSON *user = NULL;
    if ((rc = tb_vast_account(c->v, &user, e))) goto out;
    double funds = 0, hours = L->max_hours > 0 ? L->max_hours : 1.0;
    int have_funds = tb_vast_funds(user, &funds) == 0;
    cJSON_Delete(user);
    if (!have_funds) { rc = tb_fail(e, TB_EUNAVAIL, "GET /api/v0/users/current: the answer names no credit or balance"); goto out; }
    if (funds < hours * dph) {
        rc = tb_fail(e, TB_ENOPERM, "the account's balance $%.2f does not cover %g h at $%.4f/h ($%.2f): not rented (add credit, or lower --max-hours)",
                     funds, hours, dph, hours * dph);
        goto out;
    }
    if (L->max_hours <= 0 && !c->co.quiet)
        tb_warn("vast", "no --max-hours: nothing destroys this instance if its job never ends");
    /* the create request */
    const char *args[16];
    int nargs = script_args(L, args);
    onstart = tb_vast_onstart(L->script, L->slen, args, nargs, L->max_hours, tb_vast_base_url(c->v), label);
    body = cJSON_CreateObject();
    if (!body) tb_oom(0);
    cJSON_AddStringToObject(body, "client_id", "me");
    cJSON_AddStringToObject(body, "image", L->image);
    cJSON *env = cJSON_AddObjectToObject(body, "env");
    for (int i = 0; i < L->nenv; i++) {
        const char *eq = strchr(L->env[i], '=');
        char *k = tb_xstrndup(L->env[i], (size_t)(eq - L->env[i]));
        cJSON_DeleteItemFromObjectCaseSensitive(env, k);
        cJSON_AddStringToObject(env, k, eq + 1);
        free(k);
    }
    int nfwd = tb_vast_env_forward(env, getenv_cb, NULL);
    if (c->co.verbose && nfwd) {
        char names[1024] = "";
        for (const cJSON *x = env->child; x; x = x->next)
            if (tb_vast_env_forwarded(x->string))
                snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", names[0] ? ", " : "", x->string);
        tb_warn("vast", "passing to the instance (values not shown): %s", names);
    }
    cJSON_AddStringToObject(env, "TRAINBOX_VAST_LABEL", label);
    if (L->bid > 0) cJSON_AddNumberToObject(body, "price", L->bid);
    else cJSON_AddNullToObject(body, "price");
    cJSON_AddNumberToObject(body, "disk", L->disk);
    cJSON_AddStringToObject(body, "label", label);
    cJSON_AddStringToObject(body, "onstart", onstart);
    cJSON_AddStringToObject(body, "runtype", "ssh_proxy");
    cJSON_AddTrueToObject(body, "cancel_unavail");
    int ambiguous = 0, adopted = 0;
    rc = tb_vast_create(c->v, offer_id, body, &id, &ambiguous, e);
    if (L->dry_run) goto out; /* printed, not sent */
    if (rc && ambiguous) {
        tb_err ce = *e;
        if (!c->co.quiet) tb_warn("vast", "the create request failed after it was sent (%s): looking for label %s", ce.msg, label);
        tb_err fe = {0};
        int frc = find_by_label(c, label, &found, &fe);
        if (frc) {
            rc = tb_fail(e, TB_EUNAVAIL, "create: %s; and listing by label failed (%s): an instance labelled '%s' may exist: check "
                         "'trainbox vast list' and run 'trainbox vast destroy --label %s'", ce.msg, fe.msg, label, label);
            goto out;
        }
        int n = cJSON_GetArraySize(found);
        if (n == 0) {
            rc = tb_fail(e, ce.code, "create: %s; no instance carries the label %s, so none was rented", ce.msg, label);
            goto out;
        }
        if (n > 1) { /* cannot happen with a unique label; never keep what we cannot account for */
            for (int i = 0; i < n; i++) destroy_own(c, tb_vast_id(cJSON_GetArrayItem(found, i)), label);
            rc = tb_fail(e, TB_EUNAVAIL, "create: %s; %d instances carry the label %s: all destroyed", ce.msg, n, label);
            goto out;
        }
        id = tb_vast_id(cJSON_GetArrayItem(found, 0));
        adopted = 1;
        rc = 0;
        if (!c->co.quiet) tb_warn("vast", "adopted instance %lld, made by this launch (label %s) though its answer was lost", id, label);
    }
    if (rc) goto out;
    if (!c->co.quiet && !adopted) tb_warn("vast", "created instance %lld (label %s) from offer %lld at $%.4f/h", id, label, offer_id, dph);
    if (interrupted) {
        rc = tb_fail(e, TB_ETEMPFAIL, "interrupted by signal %d", (int)interrupted);
        destroy_own(c, id, label);
        goto out;
    }
    if (L->wait) {
        rc = wait_running(c, L, id, &inst, e);
        if (rc) {
            print_last_logs(c, id);
            destroy_own(c, id, label);
            goto out;
        }
    }
    cJSON *o = cJSON_CreateObject();
    if (!o) tb_oom(0);
    cJSON_AddNumberToObject(o, "id", (double)id);
    cJSON_AddStringToObject(o, "label", label);
    cJSON_AddNumberToObject(o, "offer", (double)offer_id);
    cJSON_AddNumberToObject(o, "dph_total", dph);
    const char *st = inst ? str_of(inst, "actual_status") : NULL;
    st ? cJSON_AddStringToObject(o, "actual_status", st) : cJSON_AddNullToObject(o, "actual_status");
    cJSON_AddBoolToObject(o, "adopted", adopted);
    print_json(o);
    cJSON_Delete(o);
out:
    cJSON_Delete(inst);
    cJSON_Delete(found);
    cJSON_Delete(body);
    cJSON_Delete(offer);
    free(onstart);
    return rc;
}

/* ---- the command */

/* Which actions each option is for (0: every action). */
static unsigned opt_actions(int id)
{
    switch (id) {
    case OPT_ORDER: case OPT_LIMIT: return BIT(A_OFFERS);
    case OPT_HUMAN: return BIT(A_OFFERS) | BIT(A_LIST) | BIT(A_SHOW);
    case OPT_LABEL: return BIT(A_LAUNCH) | BIT(A_DESTROY);
    case OPT_DRY_RUN: return BIT(A_LAUNCH) | BIT(A_DESTROY) | BIT(A_STOP) | BIT(A_START);
    case OPT_OLDER: return BIT(A_LIST);
    case OPT_TAIL: return BIT(A_LOGS);
    case TB_OPT_QUIET: case TB_OPT_VERBOSE: case OPT_RETRIES: return 0;
    default: return BIT(A_LAUNCH);
    }
}

static int cmd_vast(int argc, char **argv)
{
    struct ctx c = {0};
    struct launch_opts L = {0};
    L.timeout_ns = 15ull * 60 * 1000000000ull;
    const char *order = NULL;
    unsigned long long limit = 0, tail = 1000, retries = 6;
    uint64_t older_ns = 12ull * 3600 * 1000000000ull;
    const char *seen[64] = {0};
    int seen_id[64], nseen = 0;
    L.env = tb_xcalloc((size_t)argc + 1, sizeof *L.env);
    struct tb_optparse p;
    tb_opts_init(&p, &tb_cmd_vast, argc, argv);
    int o, rc = 0;
    tb_err e = {0};
    while ((o = tb_opts_next(&p)) > 0) {
        if (nseen < 64) { seen[nseen] = p.name; seen_id[nseen++] = o; }
        switch (o) {
        case OPT_ORDER: order = p.arg; break;
        case OPT_LIMIT: if ((rc = tb_opt_u64(&p, &limit))) goto out; break;
        case OPT_HUMAN: c.human = 1; break;
        case OPT_OFFER:
            if (parse_id(p.arg, &L.offer)) { rc = tb_usage("vast", "--offer wants an offer id, not '%s'", p.arg); goto out; }
            break;
        case OPT_CHEAPEST: L.cheapest = p.arg; break;
        case OPT_IMAGE: L.image = p.arg; break;
        case OPT_DISK: if ((rc = parse_usd(&p, &L.disk))) goto out; break;
        case OPT_LABEL:
            if (!*p.arg || strlen(p.arg) > 100) { rc = tb_usage("vast", "--label wants 1 to 100 characters"); goto out; }
            L.label = p.arg;
            break;
        case OPT_ENV: {
            const char *eq = strchr(p.arg, '=');
            int ok = eq && eq > p.arg;
            for (const char *q = p.arg; ok && q < eq; q++)
                if (!(*q == '_' || (*q >= 'A' && *q <= 'Z') || (*q >= 'a' && *q <= 'z') || (q > p.arg && *q >= '0' && *q <= '9'))) ok = 0;
            if (!ok) { rc = tb_usage("vast", "--env wants NAME=VALUE, not '%s'", p.arg); goto out; }
            L.env[L.nenv++] = p.arg;
            break;
        }
        case OPT_BID: if ((rc = parse_usd(&p, &L.bid))) goto out; break;
        case OPT_MAX_DPH: if ((rc = parse_usd(&p, &L.max_dph))) goto out; break;
        case OPT_MAX_HOURS: if ((rc = parse_usd(&p, &L.max_hours))) goto out; break;
        case OPT_REPO: L.repo = p.arg; break;
        case OPT_REF: L.ref = p.arg; break;
        case OPT_RUN: L.run = p.arg; break;
        case OPT_SYNC_DIR: L.sync_dir = p.arg; break;
        case OPT_SYNC_TO: L.sync_to = p.arg; break;
        case OPT_ONSTART: L.onstart = p.arg; break;
        case OPT_WAIT: L.wait = 1; break;
        case OPT_WTIMEOUT:
            if (tb_duration_parse(p.arg, &L.timeout_ns, &e) || L.timeout_ns == 0) {
                rc = tb_usage("vast", "--timeout wants a duration such as 15m or 1h30m, not '%s'", p.arg);
                goto out;
            }
            break;
        case OPT_DRY_RUN: L.dry_run = 1; break;
        case OPT_OLDER:
            if (tb_duration_parse(p.arg, &older_ns, &e)) { rc = tb_usage("vast", "%s", e.msg); goto out; }
            break;
        case OPT_TAIL: if ((rc = tb_opt_u64(&p, &tail))) goto out; break;
        case OPT_RETRIES:
            if ((rc = tb_opt_u64(&p, &retries))) goto out;
            if (retries < 1 || retries > 100) { rc = tb_usage("vast", "--retries wants 1 to 100"); goto out; }
            break;
        default: tb_common_opt(&p, o, &c.co); break;
        }
    }
    if (o < 0) { rc = tb_opts_exit(o); goto out; }
    if (p.npos < 1) { rc = tb_usage("vast", "missing ACTION (offers, launch, list, show, logs, stop, start, destroy)"); goto out; }
    int a = -1;
    for (int i = 0; actions[i]; i++)
        if (strcmp(p.pos[0], actions[i]) == 0) a = i;
    if (a < 0) { rc = tb_usage("vast", "unknown action '%s' (offers, launch, list, show, logs, stop, start, destroy)", p.pos[0]); goto out; }
    for (int i = 0; i < nseen; i++) {
        unsigned m = opt_actions(seen_id[i]);
        if (m && !(m & BIT(a))) { rc = tb_usage("vast", "option '--%s' is not for '%s'", seen[i], actions[a]); goto out; }
    }
    char **pos = p.pos + 1;
    int npos = p.npos - 1;
    long long id = 0;
    const char *label = a == A_DESTROY ? L.label : NULL;
    switch (a) {
    case A_OFFERS: break;
    case A_LAUNCH:
        if (npos) { rc = tb_usage("vast", "launch takes no arguments, only options ('%s')", pos[0]); goto out; }
        if ((L.offer > 0) == (L.cheapest != NULL)) { rc = tb_usage("vast", "launch wants one of --offer ID or --cheapest QUERY"); goto out; }
        if (!L.image) { rc = tb_usage("vast", "launch wants --image IMG"); goto out; }
        if (!(L.disk > 0)) { rc = tb_usage("vast", "launch wants --disk GB"); goto out; }
        if (!L.sync_dir != !L.sync_to) { rc = tb_usage("vast", "--sync-dir and --sync-to go together"); goto out; }
        if (L.ref && !L.repo) { rc = tb_usage("vast", "--ref needs --repo"); goto out; }
        if (!L.wait && L.timeout_ns != 15ull * 60 * 1000000000ull) { rc = tb_usage("vast", "--timeout is for --wait"); goto out; }
        break;
    case A_LIST:
        if (npos) { rc = tb_usage("vast", "list takes no arguments"); goto out; }
        break;
    case A_SHOW: case A_LOGS: case A_STOP: case A_START:
        if (npos != 1 || parse_id(pos[0], &id)) { rc = tb_usage("vast", "%s wants one instance ID", actions[a]); goto out; }
        break;
    case A_DESTROY:
        if (!label == !npos) { rc = tb_usage("vast", "destroy wants instance IDs or --label L (not both)"); goto out; }
        for (int i = 0; i < npos; i++)
            if (parse_id(pos[i], &id)) { rc = tb_usage("vast", "destroy: '%s' is not an instance ID", pos[i]); goto out; }
        break;
    }
    const char *pm = getenv("TRAINBOX_VAST_POLL_MS");
    c.poll_ms = pm && *pm ? atol(pm) : 10000;
    if (c.poll_ms < 1) c.poll_ms = 1;
    if (a == A_LAUNCH && (rc = read_onstart(L.onstart, &L.script, &L.slen, &L.script_path, &e))) {
        rc = tb_report("vast", &e);
        goto out;
    }
    char *key = NULL;
    if ((rc = tb_vast_key_load(&key, &e))) { rc = tb_report("vast", &e); goto out; }
    struct tb_vast_cfg vc = {0};
    vc.key = key;
    vc.verbose = c.co.verbose;
    vc.max_attempts = (int)retries;
    vc.dry_run = L.dry_run ? stdout : NULL;
    rc = tb_vast_open(&c.v, &vc, &e);
    memset(key, 0, strlen(key));
    free(key);
    if (rc) { rc = tb_report("vast", &e); goto out; }
    tb_signals_install(on_signal);
    switch (a) {
    case A_OFFERS: rc = do_offers(&c, pos, npos, order, (long)limit, &e); break;
    case A_LAUNCH: rc = do_launch(&c, &L, &e); break;
    case A_LIST: rc = do_list(&c, older_ns, &e); break;
    case A_SHOW: rc = do_show(&c, id, &e); break;
    case A_LOGS: rc = do_logs(&c, id, (long)tail, &e); break;
    case A_STOP: case A_START:
        rc = tb_vast_set_state(c.v, id, a == A_START ? "running" : "stopped", &e);
        if (!rc && !L.dry_run) print_done(id, actions[a]);
        break;
    case A_DESTROY: rc = do_destroy(&c, pos, npos, label, L.dry_run, &e); break;
    }
    fflush(stdout);
    if (rc && e.msg[0]) tb_report("vast", &e);
    tb_vast_close(c.v);
out:
    free(L.script);
    free(L.script_path);
    free(L.env);
    tb_opts_free(&p);
    return rc;
}
