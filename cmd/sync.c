/* sync: make a destination (directory or store prefix) hold what a source holds, for checkpoints,
 * logs and dataset backups: one way, safely, repeatedly (--every).
 *
 * A pass: both sides are listed in byte order of their relative paths (lib/sync_list: a directory
 * walk, or LIST pages with one HEAD per object for the mtime metadata S3 does not list) and merged
 * as streams (lib/sync_plan), so memory stays bounded whatever the number of objects. Each change
 * becomes a job of the transfer engine (lib/xfer: parallel, retried, verified): an upload
 * (directory -> store, and directory -> directory through a file store), a download (store ->
 * directory: temp name, verified, renamed), a copy (store -> store: within one store by the
 * engine, between two by a download to a temp file then an upload). Deletions (--delete) are
 * spooled by the plan and run only after every copy of the pass succeeded. Then --marker files,
 * then --keep-last retention. One NDJSON line per action on stdout.
 *
 * --keep-last plans before the pass (lib/sync_retain's tb_retain_copy_plan over the top-level
 * checkpoint names of both sides): a source checkpoint retention would delete after the pass is
 * not copied at all. --marker with a local source: a checkpoint directory gets its marker only when
 * it still holds exactly what the pass listed in it and either the trainer wrote the marker itself
 * or nothing in it changed within the quiet time (--min-age, default 60s; local_ready).
 *
 * Never ship a changing file: a local file is opened and fstat'ed before it is sent and again
 * after; one whose size or mtime moved is retried at the end of the pass, and if it moves again
 * the object written from it is removed (it may be torn) and the file is reported and left for the
 * next pass. The mtime stored is the one the bytes were read under. */
#include "alloc.h"
#include "cleanup.h"
#include "commands.h"
#include "discover.h"
#include "duration.h"
#include "err.h"
#include "hash.h"
#include "mtime.h"
#include "opts.h"
#include "pathglob.h"
#include "progress.h"
#include "sync_retain.h"
#include "safepath.h"
#include "store.h"
#include "sync_list.h"
#include "sync_plan.h"
#include "uri.h"
#include "xfer.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum {
    OPT_CHECKSUM = 1, OPT_SIZE_ONLY, OPT_DELETE, OPT_MAX_DELETE, OPT_ALLOW_EMPTY, OPT_INCLUDE, OPT_EXCLUDE,
    OPT_MARKER, OPT_KEEP_LAST, OPT_PATTERN, OPT_EVERY, OPT_MIN_AGE, OPT_DRY_RUN, OPT_JOBS, OPT_PART_SIZE,
    OPT_THRESHOLD, OPT_HUMAN, OPT_PROGRESS, OPT_NO_CACHE,
};

static const struct tb_opt sync_opts[] = {
    {OPT_CHECKSUM, 'c', "checksum", NULL, "compare sha256 (stored metadata against the local file's hash), not mtimes", NULL},
    {OPT_SIZE_ONLY, 0, "size-only", NULL, "compare sizes only", NULL},
    {OPT_DELETE, 0, "delete", NULL, "remove destination files absent from the source, after every copy succeeded", NULL},
    {OPT_MAX_DELETE, 0, "max-delete", "N[%]", "refuse a pass that would delete more than N files (or N% of the destination's)", NULL},
    {OPT_ALLOW_EMPTY, 0, "allow-empty-source", NULL, "let --delete empty the destination when the source holds nothing", NULL},
    {OPT_INCLUDE, 0, "include", "GLOB", "sync only paths matching GLOB (repeatable; ** matches across /)", NULL},
    {OPT_EXCLUDE, 0, "exclude", "GLOB", "leave paths matching GLOB alone, on both sides (repeatable)", NULL},
    {OPT_MARKER, 0, "marker", "[NAME]", "write NAME (default .complete) into each checkpoint directory after all its files", NULL},
    {OPT_KEEP_LAST, 0, "keep-last", "N", "keep only the N newest checkpoints in the destination (by step number); older ones are not copied", NULL},
    {OPT_PATTERN, 0, "pattern", "GLOB", "with --keep-last: which top-level names are checkpoints (default: any with a step number)", NULL},
    {OPT_EVERY, 0, "every", "DURATION", "sync again every DURATION until SIGTERM/SIGINT, then once more and exit", NULL},
    {OPT_MIN_AGE, 0, "min-age", "DURATION", "skip files modified less than DURATION ago; with --marker: a local checkpoint unchanged this long gets its marker (default 60s)", NULL},
    {OPT_DRY_RUN, 'n', "dry-run", NULL, "print what would be done, change nothing", NULL},
    {OPT_JOBS, 'j', "jobs", "N", "transfers at once (default 8)", NULL},
    {OPT_PART_SIZE, 0, "part-size", "SIZE", "multipart part size (default 8MiB)", NULL},
    {OPT_THRESHOLD, 0, "multipart-threshold", "SIZE", "files above this go up in parts (default 64MiB)", NULL},
    {OPT_HUMAN, 'H', "human", NULL, "print actions and a summary for people instead of NDJSON", NULL},
    {OPT_PROGRESS, 0, "progress", "[MODE]", "progress on stderr: auto, none, bar, json (default auto)", "auto none bar json"},
    {OPT_NO_CACHE, 0, "no-cache", NULL, "HEAD every S3 object for its metadata instead of trusting what the last pass saw", NULL},
    TB_STORE_OPTS,
    TB_REQUEST_OPTS,
    TB_COMMON_OPTS,
    TB_OPT_END,
};

static int cmd_sync(int argc, char **argv);

const struct tb_cmd_spec tb_cmd_sync = {
    "sync",
    "sync a directory with a bucket prefix (checkpoints, logs)",
    "[OPTIONS] SRC DEST",
    "Make DEST hold what SRC holds: directory -> store, store -> directory, store -> store or\n"
    "directory -> directory (s3://, r2://, gs://, az://, file:// or a path). Files whose size and\n"
    "mtime match are not sent; one NDJSON line per action: {\"op\",\"path\",\"uri\",\"bytes\"}.\n"
    "One way only: changes in DEST are not brought back (no two-way sync).",
    sync_opts,
    cmd_sync,
};

/* SIGINT/SIGTERM/SIGHUP: counted. Without --every the first stops the pass (exit 75); with it,
 * the first asks for one final pass and the second stops that one. File-scope: a handler gets no
 * context. */
static volatile sig_atomic_t signals;
static void on_signal(int sig) { (void)sig; signals++; }

enum dir { L2S, S2L, S2S, L2L };

struct side {
    struct tb_uri uri;
    int local;
    char *root;               /* local: the directory ("" for the cwd), without a trailing '/' */
    char *prefix;             /* store: key prefix, "" or ending in '/'; local: root + "/" or "" */
    struct tb_store *store;   /* the store; for a local destination, a file store over it */
};

struct opts {
    enum tb_sync_mode mode;
    int delete, allow_empty, dry_run, human, quiet, verbose, keep_last;
    struct tb_max_delete max_delete;
    struct tb_filter filter;
    const char *marker;
    struct tb_glob pattern;
    int have_pattern;
    uint64_t every_ns, min_age_ns;
    int min_age_given;
    uint64_t quiet_ns;        /* --marker, local source: how long a checkpoint without the trainer's marker
                               * must have been left alone (--min-age, else 60 s) */
    const char *quiet_arg;    /* how the user wrote it, for messages */
    struct tb_xfer_cfg xcfg;
    int pmode;
    int no_cache;
    char *cache_id[2];        /* what identifies each side's store prefix for lib/sync_cache, or NULL */
};

struct group;
/* One action of a pass in flight. */
struct act {
    struct act *next;
    enum tb_xfer_kind kind;
    const char *op;           /* its NDJSON "op" */
    char *rel, *key, *src_key, *path, *tmp;
    uint64_t size;
    struct timespec mtime;
    char meta[TB_MTIME_MAX];
    int fd;
    struct stat st0;          /* a local source file as it was when opened */
    int stage;                /* store -> other store: 0 download, 1 upload */
    int retried;              /* already the end-of-pass retry of a changing file */
    struct group *grp;
    struct tb_xfer_job job;
};

/* --keep-last's plan for a pass: the top-level checkpoint names of both sides, sorted by name (paths
 * come in name order, each checkpoint's together), whether each is copied, and the one retention
 * protects (tb_retain_copy_plan). */
struct keepplan {
    struct tb_retain_cand *it;
    size_t n, cap;
    unsigned char *copy;
    char *protect;            /* the newest complete source checkpoint ("step-3/"), or NULL */
    int ok;                   /* made for this pass: retention runs only then */
    size_t reported;          /* the last skipped checkpoint reported (-v), or (size_t)-1 */
};

/* A checkpoint directory of the pass, for --marker. */
struct group {
    char *name;               /* "step-100" */
    int pending, failed, incomplete, sent, closed, dst_marked, src_marked;
    uint64_t nseen, fp;       /* local source: the files the pass listed in it, and their fingerprint (fp_add) */
};

struct pass {
    const struct opts *o;
    enum dir dir;
    struct side *src, *dst;
    struct tb_xfer *xsrc, *xdst; /* xsrc: downloads from a store source (S2L, and S2S between stores) */
    int same_store;           /* S2S within one store: the engine copies */
    char *spool;              /* S2S between stores: where downloads wait for their upload */
    int inflight, window;
    struct group *grp;        /* the group of the current actions (one at a time: paths come in order) */
    struct act *retry;        /* changing files, for the end of the pass */
    uint64_t n_up, n_skip, n_del, n_fail, n_refused, bytes, n_changing;
    int fail_code;            /* first item failure's exit code */
    int fatal;                /* an error that stops the pass */
    tb_err fatal_err;
    struct tb_progress prog;
    struct keepplan kp;
    struct tb_sync_cache cache[2]; /* per side (S3-style stores): metadata remembered across passes */
    int have_cache[2];
};

/* ---- output */

static void json_str(FILE *f, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') { fputc('\\', f); fputc(c, f); }
        else if (c < 0x20) fprintf(f, "\\u00%c%c", hex[c >> 4], hex[c & 15]);
        else fputc(c, f);
    }
    fputc('"', f);
}

/* One line per action: {"op":..., "path": REL, "uri": the destination's (or the deleted) URI, "bytes"}. */
static void emit(struct pass *ps, const char *op, const char *rel, const char *key, uint64_t bytes, const char *why)
{
    char *uri = tb_store_uri(ps->dst->store, key);
    if (ps->o->human) {
        if (strcmp(op, "skip") != 0 || why) printf("%-8s %s%s%s%s\n", op, uri, why ? " (" : "", why ? why : "", why ? ")" : "");
    } else {
        fputs("{\"op\":\"", stdout);
        fputs(op, stdout);
        fputs("\",\"path\":", stdout);
        json_str(stdout, rel, strlen(rel));
        fputs(",\"uri\":", stdout);
        json_str(stdout, uri, strlen(uri));
        printf(",\"bytes\":%llu", (unsigned long long)bytes);
        if (why) { fputs(",\"reason\":", stdout); json_str(stdout, why, strlen(why)); }
        fputs("}\n", stdout);
    }
    free(uri);
}

/* One item failed (reported now); the pass's exit code is the items' when they all agree, else 1. */
static void item_failed(struct pass *ps, const char *what, const tb_err *e)
{
    int code = e->code ? e->code : TB_EPARTIAL;
    ps->n_fail++;
    if (!ps->fail_code) ps->fail_code = code;
    else if (ps->fail_code != code) ps->fail_code = TB_EPARTIAL;
    fprintf(stderr, "trainbox sync: %s: %s\n", what, e->msg);
}

/* The "op" of a transfer in this pass's direction. */
static const char *dir_op(const struct pass *ps)
{
    return ps->dir == L2S ? "upload" : ps->dir == S2L ? "download" : "copy";
}

/* ---- paths */

static char *join(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    char *s = tb_xmalloc(na + nb + 1);
    memcpy(s, a, na);
    memcpy(s + na, b, nb + 1);
    return s;
}

static char *dupn(const char *s, size_t n) { return tb_xstrndup(s, n); }

/* Make the directories of dst root + rel, refusing any component that is not a real directory
 * (a symlink in the destination must never lead a write out of it). */
static int make_parents(const char *root, const char *rel, tb_err *e)
{
    char *p = join(*root ? root : ".", "/");
    char *full = join(p, rel);
    free(p);
    size_t base = strlen(*root ? root : ".") + 1;
    int rc = 0;
    for (char *s = full + base; (s = strchr(s, '/')); s++) {
        *s = 0;
        struct stat st;
        if (lstat(full, &st) == 0) {
            if (S_ISLNK(st.st_mode)) rc = tb_fail(e, TB_EPARTIAL, "refused %s: %s is a symlink (never followed)", rel, full);
            else if (!S_ISDIR(st.st_mode)) rc = tb_fail(e, TB_EPARTIAL, "refused %s: %s is not a directory", rel, full);
        } else if (mkdir(full, 0777) != 0 && errno != EEXIST) rc = tb_fail_errno(e, TB_FROM_ERRNO_OUT, "mkdir %s", full);
        *s = '/';
        if (rc) break;
    }
    free(full);
    return rc;
}

/* ---- groups (--marker): checkpoint directories, one at a time since paths come in order */

static int group_of(const char *rel, size_t len, size_t *glen)
{
    const char *slash = memchr(rel, '/', len);
    uint64_t step;
    if (!slash || !tb_ckpt_step(rel, (size_t)(slash - rel), &step)) return 0;
    *glen = (size_t)(slash - rel);
    return 1;
}

static char *marker_key(struct side *sd, const char *gname, const char *marker)
{
    char *a = join(sd->prefix, gname), *b = join(a, "/"), *k = join(b, marker);
    free(a);
    free(b);
    return k;
}

static int has_marker(struct side *sd, const char *gname, const char *marker)
{
    char *k = marker_key(sd, gname, marker);
    struct tb_obj_info info = {0};
    tb_err e = {0};
    int r = tb_store_head(sd->store, k, &info, &e) == 0 && info.exists;
    free(k);
    return r;
}

static int64_t ts_ns(struct timespec t) { return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec; }

/* The later of a file's mtime and ctime: ctime moves on every write, rename or chmod and cannot be
 * set back, so a copy that keeps old mtimes (rsync -a, cp -p, tar x) still counts as a change. */
static int64_t changed_ns(struct timespec m, struct timespec c)
{
    int64_t a = ts_ns(m), b = ts_ns(c);
    return a > b ? a : b;
}

/* One file's part of a checkpoint's fingerprint: its path, size and mtime, hashed (FNV-1a, then
 * mixed), summed over the files, so the order they come in does not matter. */
static uint64_t fp_of(const char *path, size_t len, uint64_t size, struct timespec mtime)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)path[i]) * 1099511628211ull;
    uint64_t v[3] = {size, (uint64_t)mtime.tv_sec, (uint64_t)mtime.tv_nsec};
    for (int k = 0; k < 3; k++) {
        h ^= v[k] + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
        h *= 0xff51afd7ed558ccdull;
        h ^= h >> 33;
    }
    return h;
}

/* --marker, local source: may the checkpoint directory gname get its marker? Only when it holds
 * exactly the files the pass listed in it, at the sizes and mtimes listed (g's count and
 * fingerprint: a file the trainer added or rewrote after the listing read the directory makes
 * them differ), and either the trainer wrote the marker itself (written last, it vouches for the
 * files before it) or nothing in the directory (files, subdirectories, itself) changed within the
 * quiet time: a trainer pausing between two files of a checkpoint for less than that never gets
 * its partial checkpoint marked. Else 0, with the reason in why. */
static int local_ready(struct pass *ps, const struct group *g, char *why, size_t cap)
{
    const struct opts *o = ps->o;
    char *dir = join(ps->src->prefix, g->name);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t quiet = o->quiet_ns > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)o->quiet_ns; /* now > 0: no overflow */
    int64_t newest = 0;
    uint64_t n = 0, fp = 0;
    int has = 0, bad = 0;
    size_t glen = strlen(g->name), mlen = strlen(o->marker);
    struct stat st;
    if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) bad = 1;
    else newest = changed_ns(st.st_mtim, st.st_ctim);
    struct tb_walk w;
    struct tb_walk_ent ent;
    tb_err e = {0};
    char *rel = NULL;
    size_t rcap = 0;
    if (!bad && tb_walk_open(&w, dir, &e) == 0) {
        while (tb_walk_next(&w, &ent)) {
            if (ent.type == TB_WALK_ERROR) { bad = 1; continue; }
            int64_t c = changed_ns(ent.mtime, ent.ctime);
            if (c > newest) newest = c;
            if (ent.type != TB_WALK_FILE) continue;
            /* what the listing skips (lib/sync_list: the marker's name, *.partial) and the filter leaves out */
            if (ent.len >= mlen && strcmp(ent.path + ent.len - mlen, o->marker) == 0 &&
                (ent.len == mlen || ent.path[ent.len - mlen - 1] == '/')) {
                if (ent.len == mlen) has = 1;
                continue;
            }
            if (ent.len >= 8 && strcmp(ent.path + ent.len - 8, ".partial") == 0) continue;
            tb_xgrow_n(&rel, &rcap, glen + 1 + ent.len + 1, 1, 256);
            memcpy(rel, g->name, glen);
            rel[glen] = '/';
            memcpy(rel + glen + 1, ent.path, ent.len + 1);
            if (!tb_filter_allows(&o->filter, rel, glen + 1 + ent.len)) continue;
            n++;
            fp += fp_of(rel, glen + 1 + ent.len, ent.size, ent.mtime);
        }
        tb_walk_close(&w);
    } else bad = 1;
    free(rel);
    free(dir);
    if (bad) snprintf(why, cap, "cannot be read whole: no marker");
    else if (n != g->nseen || fp != g->fp) snprintf(why, cap, "changed during the pass: no marker yet");
    else if (!has && newest >= ts_ns(now) - quiet)
        snprintf(why, cap, "changed within %s (--min-age) and no %s from the trainer: no marker yet", o->quiet_arg, o->marker);
    else return 1;
    return 0;
}

static void group_finish(struct pass *ps, struct group *g)
{
    const struct opts *o = ps->o;
    char *k = marker_key(ps->dst, g->name, o->marker);
    char *rel = join(g->name, "/"), *r2 = join(rel, o->marker);
    char why[256];
    if (!g->src_marked) {
        /* not copied: the source's checkpoint is incomplete */
    } else if (g->failed || g->incomplete) {
        if (!o->quiet) tb_warn("sync", "%s/: not all files synced: no %s written", g->name, o->marker);
    } else if (!g->sent && g->dst_marked) {
        /* unchanged, and marked already */
    } else if (ps->src->local && !local_ready(ps, g, why, sizeof why)) {
        emit(ps, "skip", r2, k, 0, why);
    } else {
        tb_err e = {0};
        int rc = 0;
        if (!o->dry_run) {
            if (ps->dst->local && (rc = make_parents(ps->dst->root, r2, &e))) { /* reported below */ }
            if (!rc) rc = tb_store_put_mem(ps->dst->store, k, "", 0, NULL, &e);
        }
        if (rc) item_failed(ps, "marker", &e);
        else emit(ps, dir_op(ps), r2, k, 0, "marker");
    }
    free(rel);
    free(r2);
    free(k);
    free(g->name);
    free(g);
}

static void group_release(struct pass *ps, struct group *g)
{
    if (g && g->closed && g->pending == 0) group_finish(ps, g);
    (void)ps;
}

/* The group an action at rel belongs to, opening a new one (and closing the last) as paths move on. */
static struct group *group_enter(struct pass *ps, const char *rel, size_t len)
{
    size_t glen = 0;
    int in = ps->o->marker && group_of(rel, len, &glen);
    struct group *g = ps->grp;
    if (g && (!in || strlen(g->name) != glen || memcmp(g->name, rel, glen) != 0)) {
        g->closed = 1;
        ps->grp = NULL;
        group_release(ps, g);
        g = NULL;
    }
    if (!in) return NULL;
    if (!g) {
        g = tb_xcalloc(1, sizeof *g);
        g->name = dupn(rel, glen);
        g->dst_marked = has_marker(ps->dst, g->name, ps->o->marker);
        /* a store's checkpoint counts only with its marker (sync or the trainer wrote it last); a
         * local one's files are sent, and its marker waits for local_ready (group_finish) */
        g->src_marked = ps->src->local || has_marker(ps->src, g->name, ps->o->marker);
        if (!g->src_marked && !ps->o->quiet) tb_warn("sync", "%s/: no %s in the source: not copied", g->name, ps->o->marker);
        ps->grp = g;
    }
    return g;
}

/* ---- --keep-last's plan: which source checkpoints are copied at all */

struct kp_collect { struct pass *ps; struct keepplan *kp; int side; size_t plen; };

/* A top-level name of one side: kept only when retention would treat it as a checkpoint. */
static void kp_add(struct kp_collect *c, const char *name)
{
    const struct opts *o = c->ps->o;
    size_t l = strlen(name);
    while (l && name[l - 1] == '/') l--;
    uint64_t step;
    if (!l || !tb_ckpt_step(name, l, &step)) return;
    if (o->have_pattern && !tb_glob_match(&o->pattern, name, l)) return;
    struct keepplan *kp = c->kp;
    tb_xgrow_n(&kp->it, &kp->cap, kp->n + 1, sizeof *kp->it, 16);
    kp->it[kp->n++] = (struct tb_retain_cand){tb_xstrdup(name), c->side == 0, c->side == 1};
}

static int kp_cb(void *ud, const struct tb_obj_info *info, int is_prefix)
{
    struct kp_collect *c = ud;
    (void)is_prefix;
    if (strlen(info->key) > c->plen) kp_add(c, info->key + c->plen);
    return 0;
}

/* The top-level names of a side: "step-1/" for a directory (a common prefix), "x-step=5.ckpt" for a file. */
static int kp_list(struct kp_collect *c, struct side *sd, tb_err *e)
{
    c->plen = strlen(sd->prefix);
    if (!sd->local) return tb_store_list_all(sd->store, sd->prefix, "/", kp_cb, c, e);
    DIR *d = opendir(*sd->root ? sd->root : ".");
    if (!d) {
        if (c->side == 1 && errno == ENOENT) return 0; /* a destination not made yet (--dry-run) */
        return tb_fail_errno(e, 0, "cannot list %s", sd->root);
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.' && (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2]))) continue;
        char *full = join(sd->prefix, de->d_name);
        struct stat st;
        if (lstat(full, &st) == 0 && (S_ISDIR(st.st_mode) || S_ISREG(st.st_mode))) {
            char *nm = join(de->d_name, S_ISDIR(st.st_mode) ? "/" : "");
            kp_add(c, nm);
            free(nm);
        }
        free(full);
    }
    closedir(d);
    return 0;
}

static int by_name(const void *x, const void *y)
{
    return strcmp(((const struct tb_retain_cand *)x)->name, ((const struct tb_retain_cand *)y)->name);
}

/* tb_retain_copy_plan's question: is the source's checkpoint complete, does the destination's
 * hold its marker? A store's source checkpoint is complete with its marker (without, it is never
 * copied). A local one always counts: one still being written is complete soon, and it is the
 * trainer's newest, so it takes one of the K places as it will once marked (counting only the
 * settled ones would send older checkpoints while a newer one settles, never to be marked). A
 * checkpoint file (not a directory) never has a marker, as retention counts it. */
static int kp_complete(void *ctx, size_t idx, int side, int *yes, tb_err *e)
{
    struct pass *ps = ctx;
    const char *name = ps->kp.it[idx].name;
    size_t n = strlen(name);
    (void)e;
    *yes = 0;
    if (!n || name[n - 1] != '/') return 0;
    struct side *sd = side ? ps->dst : ps->src;
    if (!side && sd->local) return *yes = 1, 0;
    char *g = dupn(name, n - 1);
    *yes = has_marker(sd, g, ps->o->marker);
    free(g);
    return 0;
}

static void kp_free(struct keepplan *kp)
{
    for (size_t i = 0; i < kp->n; i++) free((char *)kp->it[i].name);
    free(kp->it);
    free(kp->copy);
    free(kp->protect);
    memset(kp, 0, sizeof *kp);
}

static int keep_plan(struct pass *ps, tb_err *e)
{
    struct keepplan *kp = &ps->kp;
    struct kp_collect c = {ps, kp, 0, 0};
    int rc = kp_list(&c, ps->src, e);
    c.side = 1;
    if (!rc) rc = kp_list(&c, ps->dst, e);
    if (rc) return rc;
    qsort(kp->it, kp->n, sizeof *kp->it, by_name);
    size_t m = 0; /* one item per name, with both sides' flags */
    for (size_t i = 0; i < kp->n; i++) {
        if (m && strcmp(kp->it[m - 1].name, kp->it[i].name) == 0) {
            kp->it[m - 1].in_src |= kp->it[i].in_src;
            kp->it[m - 1].in_dst |= kp->it[i].in_dst;
            free((char *)kp->it[i].name);
        } else kp->it[m++] = kp->it[i];
    }
    kp->n = m;
    kp->copy = tb_xmalloc(m ? m : 1);
    size_t ns;
    /* the pattern was applied when the names were collected */
    if ((rc = tb_retain_copy_plan(kp->it, m, (size_t)ps->o->keep_last, ps->o->marker != NULL, NULL, kp_complete, ps,
                                  kp->copy, &ns, e)))
        return rc;
    if (ns != (size_t)-1) kp->protect = tb_xstrdup(kp->it[ns].name);
    kp->reported = (size_t)-1;
    kp->ok = 1;
    return 0;
}

/* Is the source path (relative) copied by this pass, as far as --keep-last goes? A path under a
 * checkpoint retention would delete is not; it is reported once per checkpoint with -v. */
static int keep_copies(struct pass *ps, const char *path, size_t len)
{
    struct keepplan *kp = &ps->kp;
    if (!kp->ok || !kp->n) return 1;
    const char *slash = memchr(path, '/', len);
    char *name = slash ? dupn(path, (size_t)(slash - path) + 1) : dupn(path, len);
    struct tb_retain_cand key = {name, 0, 0};
    const struct tb_retain_cand *hit = bsearch(&key, kp->it, kp->n, sizeof *kp->it, by_name);
    free(name);
    if (!hit) return 1;
    size_t i = (size_t)(hit - kp->it);
    if (kp->copy[i]) return 1;
    if (ps->o->verbose && !ps->o->quiet && kp->reported != i)
        fprintf(stderr, "trainbox sync: %s: older than the %d newest checkpoints (--keep-last): not copied\n", hit->name,
                ps->o->keep_last);
    kp->reported = i;
    return 0;
}

/* ---- actions */

static void act_free(struct act *a)
{
    if (a->fd >= 0) close(a->fd);
    if (a->tmp) { unlink(a->tmp); tb_cleanup_remove(a->tmp); }
    free(a->rel);
    free(a->key);
    free(a->src_key);
    free(a->path);
    free(a->tmp);
    free(a);
}

static void submit(struct pass *ps, struct act *a)
{
    struct tb_xfer_job *j = &a->job;
    memset(j, 0, sizeof *j);
    j->kind = a->kind;
    j->want_bytes = -1;
    j->fd = -1;
    j->ud = a;
    switch (a->kind) {
    case TB_XFER_UPLOAD:     /* a local file, or (between stores) the downloaded temp */
        j->key = a->key;
        j->path = a->stage ? a->tmp : a->path;
        j->fd = a->stage ? -1 : a->fd;
        j->meta_mtime = a->meta[0] ? a->meta : NULL;
        /* the plan decided, from the listings: no HEAD before; after, none where the store checked
         * the body against its signed sha256 (lib/xfer.h, TB_XFER_TRUST_STORE) */
        j->flags = TB_XFER_FORCE | TB_XFER_KNOWN_ABSENT | TB_XFER_TRUST_STORE;
        break;
    case TB_XFER_DOWNLOAD:   /* into the destination, or (between stores) into a temp */
        j->key = a->src_key;
        j->path = a->tmp ? a->tmp : a->path;
        j->mtime = a->tmp || !a->meta[0] ? NULL : &a->mtime;
        break;
    case TB_XFER_COPY:       /* within one store */
        j->key = a->key;
        j->src_key = a->src_key;
        j->meta_mtime = a->meta[0] ? a->meta : NULL;
        break;
    case TB_XFER_DELETE: break;
    }
    tb_xfer_add(a->kind == TB_XFER_DOWNLOAD ? ps->xsrc : ps->xdst, j);
}

/* A local source file, opened and fstat'ed now: its mtime is the one stored with the bytes. */
static int open_source(struct act *a, tb_err *e)
{
    a->fd = open(a->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (a->fd < 0) return tb_fail_errno(e, 0, "open %s", a->path);
    if (fstat(a->fd, &a->st0) != 0) return tb_fail_errno(e, TB_EIO, "stat %s", a->path);
    a->mtime = a->st0.st_mtim;
    tb_mtime_format(&a->mtime, a->meta);
    return 0;
}

static int moved(const struct act *a)
{
    struct stat st;
    if (fstat(a->fd, &st) != 0) return 1;
    return st.st_size != a->st0.st_size || st.st_mtim.tv_sec != a->st0.st_mtim.tv_sec ||
           st.st_mtim.tv_nsec != a->st0.st_mtim.tv_nsec || st.st_ctim.tv_sec != a->st0.st_ctim.tv_sec ||
           st.st_ctim.tv_nsec != a->st0.st_ctim.tv_nsec;
}

static void act_done(struct pass *ps, struct act *a)
{
    struct group *g = a->grp;
    if (a->job.status == 0 && a->kind == TB_XFER_DOWNLOAD && ps->dir == S2S) {
        /* between stores: the bytes are here, now up to the destination */
        a->stage = 1;
        a->kind = TB_XFER_UPLOAD;
        submit(ps, a);
        return;
    }
    ps->inflight--;
    if (g) g->pending--;
    if (a->job.status == 0 && ps->src->local && a->fd >= 0 && moved(a)) {
        if (!a->retried) {
            /* changed while it was read: the object may be torn; once more at the end of the pass */
            close(a->fd);
            a->fd = -1;
            a->retried = 1;
            a->next = ps->retry;
            ps->retry = a;
            if (g) g->pending++, ps->inflight++; /* still owed to its group */
            return;
        }
        tb_err e = {0}, de = {0};
        tb_store_delete(ps->dst->store, a->key, &de);
        tb_fail(&e, TB_EPARTIAL, "%s changed while being read, twice: not stored (its object was removed); left for the next pass", a->path);
        ps->n_changing++;
        item_failed(ps, a->rel, &e);
        if (g) g->incomplete = 1;
    } else if (a->job.status) {
        const tb_err *fatal = tb_xfer_fatal(a->kind == TB_XFER_DOWNLOAD ? ps->xsrc : ps->xdst);
        if (g) g->failed = 1;
        if (fatal->code && !ps->fatal) {
            /* credentials refused, a bucket gone: the pass stops, reported once */
            ps->fatal = fatal->code;
            ps->fatal_err = *fatal;
        } else if (!fatal->code) {
            item_failed(ps, a->rel, &a->job.err);
        }
    } else {
        ps->n_up++;
        ps->bytes += a->size;
        if (g) g->sent = 1;
        emit(ps, a->op, a->rel, a->key, a->size, NULL);
        if (ps->have_cache[1])
            tb_sync_cache_note(&ps->cache[1], a->rel, strlen(a->rel), a->job.size, a->job.etag, a->meta, a->job.sha256);
    }
    if (a->job.status && ps->have_cache[1]) tb_sync_cache_note(&ps->cache[1], a->rel, strlen(a->rel), 0, NULL, NULL, NULL);
    act_free(a);
    group_release(ps, g);
}

static void on_done(void *ud, struct tb_xfer_job *job) { act_done(ud, job->ud); }

/* ---- a pass */

static int step(struct pass *ps, int timeout_ms)
{
    int a = ps->xsrc ? tb_xfer_pending(ps->xsrc) : 0, b = tb_xfer_pending(ps->xdst);
    if (a) a = tb_xfer_step(ps->xsrc, b ? 0 : timeout_ms);
    if (b || !a) b = tb_xfer_step(ps->xdst, a ? 0 : timeout_ms);
    struct tb_xfer_stats st;
    tb_xfer_stats(ps->xdst, &st);
    ps->prog.bytes = st.bytes;
    ps->prog.retries = st.retries;
    if (ps->xsrc) {
        tb_xfer_stats(ps->xsrc, &st);
        ps->prog.bytes += st.bytes;
        ps->prog.retries += st.retries;
    }
    ps->prog.items = ps->n_up + ps->n_skip;
    tb_progress_tick(&ps->prog);
    if (signals && (!ps->o->every_ns || signals > 1) && !ps->fatal) {
        ps->fatal = TB_ETEMPFAIL;
        tb_fail(&ps->fatal_err, TB_ETEMPFAIL, "interrupted by signal: open multipart uploads aborted; re-run to finish");
        if (ps->xsrc) tb_xfer_interrupt(ps->xsrc, SIGTERM);
        tb_xfer_interrupt(ps->xdst, SIGTERM);
    }
    return a + b;
}

static void drain(struct pass *ps)
{
    while (ps->inflight > 0 || tb_xfer_pending(ps->xdst) || (ps->xsrc && tb_xfer_pending(ps->xsrc))) {
        if (step(ps, 100) == 0 && ps->inflight > 0 && !ps->retry) break; /* nothing left to wait for */
        if (ps->inflight > 0 && !tb_xfer_pending(ps->xdst) && !(ps->xsrc && tb_xfer_pending(ps->xsrc))) break;
    }
}

static void start_act(struct pass *ps, struct act *a)
{
    tb_err e = {0};
    if (ps->src->local && (a->fd >= 0 || open_source(a, &e))) {
        if (e.code) {
            if (a->grp) a->grp->failed = 1, a->grp->pending--;
            ps->inflight--;
            item_failed(ps, a->rel, &e);
            struct group *g = a->grp;
            act_free(a);
            group_release(ps, g);
            return;
        }
    }
    submit(ps, a);
}

static int too_recent(const struct opts *o, const struct tb_sync_entry *se)
{
    if (!o->min_age_ns || !se->mtime_known) return 0;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t age = (int64_t)(now.tv_sec - se->mtime.tv_sec) * 1000000000 + (now.tv_nsec - se->mtime.tv_nsec);
    return age < (int64_t)o->min_age_ns;
}

static void handle(struct pass *ps, const struct tb_sync_action *ac)
{
    const struct opts *o = ps->o;
    const struct tb_sync_entry *se = ac->src;
    char *rel = dupn(se->path, se->len);
    char *dkey = join(ps->dst->prefix, rel);
    tb_err e = {0};
    struct group *g = NULL;
    if (!keep_copies(ps, se->path, se->len)) {
        group_enter(ps, "", 0); /* the group before it is over */
        goto out;
    }
    g = group_enter(ps, se->path, se->len);
    if (g && !g->src_marked) goto out;
    if (g && ps->src->local && !se->is_dir) g->nseen++, g->fp += fp_of(se->path, se->len, se->size, se->mtime);
    if (ac->op == TB_SYNC_CONFLICT) {
        tb_fail(&e, TB_EPARTIAL, "a file on one side and a directory on the other: left alone");
        item_failed(ps, rel, &e);
        if (g) g->failed = 1;
        goto out;
    }
    if (ac->op == TB_SYNC_SKIP) {
        ps->n_skip++;
        emit(ps, "skip", rel, dkey, se->size, ac->why == TB_WHY_SIZE_FALLBACK ? "same size, no mtime to compare" : NULL);
        goto out;
    }
    const char *why;
    if (ps->dst->local && (why = tb_safepath_check(se->path, se->len))) {
        ps->n_refused++;
        fprintf(stderr, "trainbox sync: refused key ");
        json_str(stderr, se->path, se->len);
        fprintf(stderr, ": %s; nothing written for it\n", why);
        ps->n_fail++;
        ps->fail_code = TB_EPARTIAL;
        if (g) g->failed = 1;
        goto out;
    }
    if (too_recent(o, se)) {
        ps->n_skip++;
        emit(ps, "skip", rel, dkey, se->size, "modified within --min-age");
        if (g) g->incomplete = 1;
        goto out;
    }
    if (g && g->dst_marked) {
        /* the destination's marker vouches for what is about to change: it goes first */
        char *mk = marker_key(ps->dst, g->name, o->marker);
        if (!o->dry_run && tb_store_delete(ps->dst->store, mk, &e)) item_failed(ps, "marker", &e), g->failed = 1;
        g->dst_marked = 0;
        free(mk);
    }
    const char *op = dir_op(ps);
    if (o->dry_run) {
        ps->n_up++;
        ps->bytes += se->size;
        if (g) g->sent = 1;
        emit(ps, op, rel, dkey, se->size, NULL);
        goto out;
    }
    if (ps->dst->local && make_parents(ps->dst->root, rel, &e)) {
        if (e.code == TB_EPARTIAL) ps->n_refused++;
        item_failed(ps, rel, &e);
        if (g) g->failed = 1;
        goto out;
    }
    struct act *a = tb_xcalloc(1, sizeof *a);
    a->fd = -1;
    a->op = op;
    a->rel = rel;
    a->key = dkey;
    a->size = se->size;
    a->grp = g;
    rel = dkey = NULL;
    if (ps->src->local) {
        a->path = join(ps->src->prefix, a->rel);
        a->kind = TB_XFER_UPLOAD;
    } else {
        a->src_key = join(ps->src->prefix, a->rel);
        if (se->mtime_known) {
            a->mtime = se->mtime;
            tb_mtime_format(&a->mtime, a->meta);
        }
        if (ps->dir == S2L) a->kind = TB_XFER_DOWNLOAD, a->path = tb_xstrdup(a->key);
        else if (ps->same_store) a->kind = TB_XFER_COPY;
        else {
            static unsigned long long seq;
            char name[32];
            snprintf(name, sizeof name, "/%llu", ++seq);
            a->kind = TB_XFER_DOWNLOAD;
            a->tmp = join(ps->spool, name);
            tb_cleanup_add(a->tmp);
        }
    }
    if (g) g->pending++;
    ps->inflight++;
    start_act(ps, a);
out:
    free(rel);
    free(dkey);
}

/* Remove the directories a deletion left empty, up to the destination's root. */
static void prune_parents(struct side *d, const char *rel)
{
    char *full = join(d->prefix, rel);
    size_t base = strlen(d->prefix);
    for (char *s; (s = strrchr(full + base, '/'));) {
        *s = 0;
        if (rmdir(full) != 0) break;
    }
    free(full);
}

static void delete_one(struct pass *ps, const char *rel, uint64_t size)
{
    char *key = join(ps->dst->prefix, rel);
    tb_err e = {0};
    if (!ps->o->dry_run && tb_store_delete(ps->dst->store, key, &e)) item_failed(ps, rel, &e);
    else {
        ps->n_del++;
        emit(ps, "delete", rel, key, size, NULL);
        if (ps->have_cache[1] && !ps->o->dry_run) tb_sync_cache_note(&ps->cache[1], rel, strlen(rel), 0, NULL, NULL, NULL);
        if (ps->dst->local && !ps->o->dry_run) prune_parents(ps->dst, rel);
    }
    free(key);
}

static void run_deletes(struct pass *ps, struct tb_syncplan *plan, int listing_ok)
{
    struct tb_sync_gate gate = {ps->n_fail == 0 && !ps->fatal && listing_ok, ps->o->allow_empty, ps->o->max_delete};
    tb_err e = {0};
    int rc = tb_syncplan_delete_gate(plan, &gate, &e);
    if (rc) {
        if (rc == TB_ENOINPUT) ps->fatal = rc, ps->fatal_err = e;
        else {
            if (!ps->fail_code) ps->fail_code = rc;
            fprintf(stderr, "trainbox sync: %s\n", e.msg);
        }
        return;
    }
    const char *path;
    size_t len;
    uint64_t size;
    int eof = 0;
    while (!tb_syncplan_next_delete(plan, &path, &len, &size, &eof, &e) && !eof) delete_one(ps, path, size);
    if (e.code) item_failed(ps, "deletions", &e);
}

/* ---- --keep-last */

struct topnames { struct tb_retain_item *it; size_t n, cap; size_t plen; };

static void top_add(struct topnames *t, const char *name)
{
    tb_xgrow_n(&t->it, &t->cap, t->n + 1, sizeof *t->it, 16);
    t->it[t->n].name = tb_xstrdup(name);
    t->it[t->n].marked = 0;
    t->n++;
}

static int top_cb(void *ud, const struct tb_obj_info *info, int is_prefix)
{
    struct topnames *t = ud;
    (void)is_prefix;
    if (strlen(info->key) > t->plen) top_add(t, info->key + t->plen);
    return 0;
}

static int list_top(struct pass *ps, struct topnames *t, tb_err *e)
{
    t->plen = strlen(ps->dst->prefix);
    if (!ps->dst->local) return tb_store_list_all(ps->dst->store, ps->dst->prefix, "/", top_cb, t, e);
    DIR *d = opendir(*ps->dst->root ? ps->dst->root : ".");
    if (!d) return tb_fail_errno(e, 0, "cannot list %s", ps->dst->root);
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.' && (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2]))) continue;
        char *full = join(ps->dst->prefix, de->d_name);
        struct stat st;
        if (lstat(full, &st) == 0 && (S_ISDIR(st.st_mode) || S_ISREG(st.st_mode))) {
            char *nm = join(de->d_name, S_ISDIR(st.st_mode) ? "/" : "");
            top_add(t, nm);
            free(nm);
        }
        free(full);
    }
    closedir(d);
    return 0;
}

struct rmctx { struct pass *ps; };

static int rm_cb(void *ud, const struct tb_obj_info *info, int is_prefix)
{
    struct pass *ps = ud;
    if (!is_prefix) delete_one(ps, info->key + strlen(ps->dst->prefix), info->size);
    return 0;
}

static void remove_checkpoint(struct pass *ps, const char *name)
{
    size_t n = strlen(name);
    tb_err e = {0};
    if (!n || name[n - 1] != '/') { delete_one(ps, name, 0); return; }
    if (ps->o->marker) {
        /* the marker first: a reader trusting it never sees a checkpoint being taken apart */
        char *g = dupn(name, n - 1), *mrel = join(name, ps->o->marker);
        if (has_marker(ps->dst, g, ps->o->marker)) delete_one(ps, mrel, 0);
        free(g);
        free(mrel);
    }
    char *pre = join(ps->dst->prefix, name);
    int rc;
    if (!ps->dst->local) rc = tb_store_list_all(ps->dst->store, pre, NULL, rm_cb, ps, &e);
    else {
        struct tb_walk w;
        struct tb_walk_ent ent;
        rc = tb_walk_open(&w, pre, &e);
        while (!rc && tb_walk_next(&w, &ent))
            if (ent.type == TB_WALK_FILE || ent.type == TB_WALK_SYMLINK) {
                char *rel = join(name, ent.path);
                delete_one(ps, rel, ent.size);
                free(rel);
            }
        if (!rc) tb_walk_close(&w);
        if (!ps->o->dry_run) rmdir(pre);
    }
    if (rc) item_failed(ps, name, &e);
    free(pre);
}

static void retention(struct pass *ps)
{
    const struct opts *o = ps->o;
    struct topnames t = {0};
    tb_err e = {0};
    if (list_top(ps, &t, &e)) { item_failed(ps, "--keep-last", &e); goto out; }
    if (o->marker)
        for (size_t i = 0; i < t.n; i++) {
            size_t n = strlen(t.it[i].name);
            if (n && t.it[i].name[n - 1] == '/') {
                char *g = dupn(t.it[i].name, n - 1);
                t.it[i].marked = has_marker(ps->dst, g, o->marker);
                free(g);
            }
        }
    size_t *del = tb_xcalloc(t.n + 1, sizeof *del), ndel = 0;
    /* the newest complete source checkpoint is never deleted, whatever the destination holds */
    if (tb_retain_plan(t.it, t.n, (size_t)o->keep_last, o->marker != NULL, ps->kp.protect,
                       o->have_pattern ? &o->pattern : NULL, del, &ndel, &e))
        item_failed(ps, "--keep-last", &e);
    else
        for (size_t i = 0; i < ndel; i++) remove_checkpoint(ps, t.it[del[i]].name);
    free(del);
out:
    for (size_t i = 0; i < t.n; i++) free((char *)t.it[i].name);
    free(t.it);
}

/* The sha256 (hex) of a local file; TB_ENOINPUT when it is gone. */
static int sha256_file(const char *path, char hex[65], tb_err *e)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return tb_fail_errno(e, 0, "open %s", path);
    struct stat st;
    if (fstat(fd, &st) != 0) { close(fd); return tb_fail_errno(e, TB_EIO, "stat %s", path); }
    struct tb_digests d;
    tb_digests_init(&d, (uint64_t)st.st_size, 0, 0, 0);
    size_t bufsz = 1 << 20;
    unsigned char *buf = tb_xmalloc(bufsz);
    uint64_t left = (uint64_t)st.st_size;
    int rc = 0;
    while (left > 0) {
        ssize_t n = read(fd, buf, left < bufsz ? (size_t)left : bufsz);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) { rc = n < 0 ? tb_fail_errno(e, TB_EIO, "read %s", path) : tb_fail(e, TB_EIO, "%s shrank while being hashed", path); break; }
        tb_digests_update(&d, buf, (size_t)n);
        left -= (uint64_t)n;
    }
    close(fd);
    free(buf);
    if (!rc) memcpy(hex, d.sha256, 65);
    tb_digests_free(&d);
    return rc;
}

/* --checksum's lazy hash of a local file (only files whose size matched are asked for). */
static int hash_local(void *ctx, enum tb_sync_side side, const struct tb_sync_entry *ent, char hex[65], tb_err *e)
{
    struct pass *ps = ctx;
    struct side *sd = side == TB_SYNC_SRC ? ps->src : ps->dst;
    hex[0] = 0;
    if (!sd->local) return 0;
    char *rel = dupn(ent->path, ent->len), *path = join(sd->prefix, rel);
    free(rel);
    int rc = sha256_file(path, hex, e);
    free(path);
    return rc == TB_ENOINPUT ? (hex[0] = 0, 0) : rc;
}

static int open_listing(struct side *sd, struct tb_synclist *l, const struct opts *o, int is_dst, tb_err *e)
{
    l->cmd = "sync";
    l->quiet = o->quiet;
    l->want_meta = o->mode != TB_SYNC_SIZE_ONLY;
    l->skip_name = o->marker;
    if (!sd->local) {
        tb_synclist_open_store(l, sd->store, sd->prefix);
        if (is_dst) l->missing_code = TB_ECANTCREAT; /* no such bucket: the output cannot be created */
        return 0;
    }
    if (is_dst) {
        struct stat st;
        const char *d = *sd->root ? sd->root : ".";
        int r = stat(d, &st);
        if (r != 0 && (errno == ENOENT || errno == ENOTDIR)) {
            if (o->dry_run) { l->local = -1; return 0; } /* nothing there yet: an empty listing */
            if (tb_store_create_root(sd->store, 0, e)) return e->code = TB_ECANTCREAT;
        } else if (r != 0) {
            return tb_fail_errno(e, TB_FROM_ERRNO_OUT, "%s", d);
        } else if (!S_ISDIR(st.st_mode)) {
            return tb_fail(e, TB_ECANTCREAT, "%s is not a directory", sd->root);
        }
    }
    return tb_synclist_open_dir(l, sd->root, e);
}

static int run_pass(struct pass *ps)
{
    const struct opts *o = ps->o;
    struct tb_synclist ls = {0}, ld = {0};
    struct tb_syncplan plan;
    int have_plan = 0, rc;
    tb_err e = {0};
    ps->n_up = ps->n_skip = ps->n_del = ps->n_fail = ps->n_refused = ps->bytes = ps->n_changing = 0;
    ps->fail_code = ps->fatal = 0;
    for (int i = 0; i < 2; i++) {
        /* no cache is no error: every object is then asked with a HEAD */
        char *path = o->cache_id[i] ? tb_sync_cache_path(o->cache_id[i]) : NULL;
        tb_err ce = {0};
        ps->have_cache[i] = path && tb_sync_cache_open(&ps->cache[i], path, &ce) == 0;
        if (path && !ps->have_cache[i]) tb_sync_cache_close(&ps->cache[i]);
        free(path);
    }
    ls.cache = ps->have_cache[0] ? &ps->cache[0] : NULL;
    ld.cache = ps->have_cache[1] ? &ps->cache[1] : NULL;
    if ((rc = open_listing(ps->src, &ls, o, 0, &e))) goto fail;
    if ((rc = open_listing(ps->dst, &ld, o, 1, &e))) goto fail;
    if (o->keep_last && (rc = keep_plan(ps, &e))) goto fail;
    struct tb_syncplan_cfg pc = {o->mode, 1, o->delete, &o->filter, hash_local, ps, NULL};
    if ((rc = tb_syncplan_init(&plan, &pc, tb_synclist_stream(&ls), tb_synclist_stream(&ld), &e))) goto fail;
    have_plan = 1;
    tb_progress_init(&ps->prog, "sync", o->pmode, "files", NULL);
    int merged = 0;
    for (int eof = 0; !eof && !ps->fatal;) {
        while (ps->inflight >= ps->window && !ps->fatal) step(ps, 100);
        struct tb_sync_action ac;
        if ((rc = tb_syncplan_next(&plan, &ac, &eof, &e))) {
            ps->fatal = rc;
            ps->fatal_err = e;
            break;
        }
        if (!eof) handle(ps, &ac);
        else merged = 1;
    }
    drain(ps);
    /* the changing files, once more */
    while (ps->retry && !ps->fatal) {
        struct act *a = ps->retry;
        ps->retry = a->next;
        a->next = NULL;
        start_act(ps, a);
    }
    drain(ps);
    group_enter(ps, "", 0); /* close the last group: its marker goes last */
    if (!ps->fatal && o->delete) run_deletes(ps, &plan, !ls.incomplete && !ld.incomplete);
    if (!ps->fatal && o->keep_last && ps->kp.ok) retention(ps);
    for (int i = 0; i < 2; i++) {
        tb_err ce = {0};
        /* only a listing read to its end describes the whole prefix */
        if (ps->have_cache[i] && merged && !o->dry_run && !ps->fatal && tb_sync_cache_commit(&ps->cache[i], &ce) && !o->quiet)
            tb_warn("sync", "metadata cache not saved: %s", ce.msg);
    }
    tb_progress_end(&ps->prog);
    if (plan.st.size_fallback && !o->quiet)
        tb_warn("sync", "%llu files compared by size alone (no mtime on one side)", (unsigned long long)plan.st.size_fallback);
    if (o->human)
        printf("%llu %s (%llu bytes), %llu unchanged, %llu deleted, %llu failed\n", (unsigned long long)ps->n_up,
               ps->dir == L2S ? "uploaded" : ps->dir == S2L ? "downloaded" : "copied", (unsigned long long)ps->bytes,
               (unsigned long long)ps->n_skip, (unsigned long long)ps->n_del, (unsigned long long)ps->n_fail);
    fflush(stdout);
    rc = ps->fatal ? ps->fatal : ps->fail_code;
    if (ps->fatal) tb_report("sync", &ps->fatal_err);
    else if (rc) fprintf(stderr, "trainbox sync: %llu of the pass's items failed (listed above)\n", (unsigned long long)ps->n_fail);
    goto done;
fail:
    rc = tb_report("sync", &e);
done:
    if (have_plan) tb_syncplan_free(&plan);
    tb_synclist_close(&ls);
    tb_synclist_close(&ld);
    for (int i = 0; i < 2; i++)
        if (ps->have_cache[i]) tb_sync_cache_close(&ps->cache[i]), ps->have_cache[i] = 0;
    kp_free(&ps->kp);
    return rc;
}

/* ---- the command */

static int side_open(struct side *sd, const char *arg, const struct tb_store_cfg *cfg, tb_err *e)
{
    int rc = tb_uri_parse(arg, &sd->uri, e);
    if (rc) return TB_EUSAGE;
    if (sd->uri.scheme == TB_URI_HTTP || sd->uri.scheme == TB_URI_HTTPS || sd->uri.scheme == TB_URI_HF)
        return tb_fail(e, TB_EUSAGE, "%s: sync works on directories and stores (s3://, r2://, gs://, az://, file://), not %s:// locations",
                       arg, tb_scheme_name(sd->uri.scheme));
    sd->local = sd->uri.scheme == TB_URI_FILE;
    if (sd->local) {
        size_t n = strlen(sd->uri.path);
        while (n > 1 && sd->uri.path[n - 1] == '/') n--;
        sd->root = dupn(sd->uri.path, n);
        if (strcmp(sd->root, ".") == 0) sd->root[0] = 0;
        sd->prefix = *sd->root ? join(sd->root, strcmp(sd->root, "/") ? "/" : "") : tb_xstrdup("");
    } else {
        const char *k = sd->uri.key ? sd->uri.key : "";
        size_t n = strlen(k);
        sd->prefix = n && k[n - 1] != '/' ? join(k, "/") : tb_xstrdup(k);
    }
    return tb_store_open(&sd->store, &sd->uri, cfg, e);
}

static void side_close(struct side *sd)
{
    if (sd->store) tb_store_close(sd->store);
    tb_uri_free(&sd->uri);
    free(sd->root);
    free(sd->prefix);
}

/* Two store locations in one bucket (or container) of one service: the engine copies between them. */
static int same_store(const struct side *a, const struct side *b)
{
    const struct tb_uri *x = &a->uri, *y = &b->uri;
    return x->scheme == y->scheme && x->bucket && y->bucket && strcmp(x->bucket, y->bucket) == 0 &&
           (!x->account || (y->account && strcmp(x->account, y->account) == 0));
}

/* Sleep until the next pass is due or a signal came. */
static void nap(uint64_t ns, double started)
{
    double until = started + (double)ns / 1e9;
    while (!signals) {
        double left = until - tb_now();
        if (left <= 0) break;
        struct timespec ts = {(time_t)(left > 0.2 ? 0 : left), (long)((left > 0.2 ? 0.2 : left - (double)(time_t)left) * 1e9)};
        nanosleep(&ts, NULL);
    }
}

static int parse(int argc, char **argv, struct opts *o, struct tb_common_cfg *co, struct tb_store_cfg *cfg,
                 struct tb_optparse *p, unsigned long long *jobs)
{
    unsigned long long part = 8ull << 20, threshold = 64ull << 20, keep = 0;
    int checksum = 0, size_only = 0, c, rc = 0;
    tb_err e = {0};
    tb_opts_init(p, &tb_cmd_sync, argc, argv);
    while ((c = tb_opts_next(p)) > 0) {
        switch (c) {
        case OPT_CHECKSUM: checksum = 1; break;
        case OPT_SIZE_ONLY: size_only = 1; break;
        case OPT_DELETE: o->delete = 1; break;
        case OPT_MAX_DELETE:
            if (tb_max_delete_parse(p->arg, &o->max_delete, &e)) return tb_usage("sync", "%s", e.msg);
            break;
        case OPT_ALLOW_EMPTY: o->allow_empty = 1; break;
        case OPT_INCLUDE:
        case OPT_EXCLUDE:
            if (tb_filter_add(&o->filter, c == OPT_INCLUDE, p->arg, &e)) return tb_usage("sync", "%s", e.msg);
            break;
        case OPT_MARKER: o->marker = p->arg && *p->arg ? p->arg : ".complete"; break;
        case OPT_KEEP_LAST:
            if ((rc = tb_opt_u64(p, &keep))) return rc;
            if (keep < 1 || keep > 1000000) return tb_usage("sync", "--keep-last must be between 1 and 1000000");
            o->keep_last = (int)keep;
            break;
        case OPT_PATTERN:
            if (o->have_pattern) tb_glob_free(&o->pattern);
            if (tb_glob_compile(&o->pattern, p->arg, &e)) return tb_usage("sync", "--pattern: %s", e.msg);
            o->have_pattern = 1;
            break;
        case OPT_EVERY:
        case OPT_MIN_AGE:
            if (tb_duration_parse(p->arg, c == OPT_EVERY ? &o->every_ns : &o->min_age_ns, &e)) return tb_usage("sync", "%s", e.msg);
            if (c == OPT_MIN_AGE) o->min_age_given = 1, o->quiet_arg = p->arg;
            if (c == OPT_EVERY && o->every_ns < 1000000000ull) return tb_usage("sync", "--every must be at least 1s");
            break;
        case OPT_DRY_RUN: o->dry_run = 1; break;
        case OPT_JOBS: if ((rc = tb_opt_u64(p, jobs))) return rc; break;
        case OPT_PART_SIZE: if ((rc = tb_opt_size(p, &part))) return rc; break;
        case OPT_THRESHOLD: if ((rc = tb_opt_size(p, &threshold))) return rc; break;
        case OPT_HUMAN: o->human = 1; break;
        case OPT_NO_CACHE: o->no_cache = 1; break;
        case OPT_PROGRESS:
            o->pmode = tb_progress_parse(p->arg);
            if (o->pmode < 0) return tb_usage("sync", "--progress: unknown mode '%s' (auto, none, bar, json)", p->arg);
            break;
        default: if ((rc = tb_store_opt(p, c, co, cfg)) == TB_EUSAGE) return rc; break;
        }
    }
    if (c < 0) return tb_opts_exit(c) ? tb_opts_exit(c) : -1;
    if (p->npos != 2) return tb_usage("sync", p->npos < 2 ? "need SRC and DEST" : "only SRC and DEST (one of each)");
    if (checksum && size_only) return tb_usage("sync", "--checksum and --size-only contradict each other");
    if (*jobs < 1 || *jobs > 256) return tb_usage("sync", "--jobs must be between 1 and 256");
    if (part < 1) return tb_usage("sync", "--part-size must be positive");
    if (o->have_pattern && !o->keep_last) return tb_usage("sync", "--pattern goes with --keep-last");
    if ((o->max_delete.set || o->allow_empty) && !o->delete) return tb_usage("sync", "--max-delete and --allow-empty-source go with --delete");
    o->mode = checksum ? TB_SYNC_CHECKSUM : size_only ? TB_SYNC_SIZE_ONLY : TB_SYNC_SIZE_MTIME;
    o->quiet = co->quiet;
    o->verbose = co->verbose;
    o->quiet_ns = o->min_age_given ? o->min_age_ns : 60ull * 1000000000;
    if (!o->min_age_given) o->quiet_arg = "60s";
    o->pmode = tb_common_progress(co, o->pmode);
    tb_xfer_cfg_defaults(&o->xcfg);
    o->xcfg.jobs = (int)*jobs;
    o->xcfg.part_size = part;
    o->xcfg.threshold = threshold;
    o->xcfg.cmd = "sync";
    o->xcfg.quiet = co->quiet;
    cfg->http.max_conns = (int)*jobs;
    return 0;
}

static int cmd_sync(int argc, char **argv)
{
    struct opts o;
    memset(&o, 0, sizeof o);
    tb_filter_init(&o.filter);
    struct tb_common_cfg co = {0};
    struct tb_store_cfg cfg;
    tb_store_cfg_defaults(&cfg);
    cfg.http.log_cmd = "sync";
    struct tb_optparse p;
    unsigned long long jobs = 8;
    struct side src = {0}, dst = {0};
    struct tb_http *shared = NULL;
    struct pass ps;
    memset(&ps, 0, sizeof ps);
    tb_err e = {0};
    int rc = parse(argc, argv, &o, &co, &cfg, &p, &jobs);
    if (rc) { rc = rc < 0 ? 0 : rc; goto out; }
    if (tb_uri_parse(p.pos[0], &src.uri, &e) == 0 && tb_uri_parse(p.pos[1], &dst.uri, &e) == 0) {
        int bucket_pair = tb_uri_is_bucket(&src.uri) && tb_uri_is_bucket(&dst.uri);
        tb_uri_free(&src.uri);
        tb_uri_free(&dst.uri);
        if (bucket_pair && (rc = tb_http_new(&shared, &cfg.http, &e))) { rc = tb_report("sync", &e); goto out; }
    } else {
        tb_uri_free(&src.uri);
        rc = tb_usage("sync", "%s", e.msg);
        goto out;
    }
    memset(&src.uri, 0, sizeof src.uri);
    memset(&dst.uri, 0, sizeof dst.uri);
    cfg.shared_http = shared; /* store -> store: one multi handle drives both sides' transfers */
    if ((rc = side_open(&src, p.pos[0], &cfg, &e)) || (rc = side_open(&dst, p.pos[1], &cfg, &e))) {
        rc = rc == TB_EUSAGE ? tb_usage("sync", "%s", e.msg) : tb_report("sync", &e);
        goto out;
    }
    for (int i = 0; i < 2 && !o.no_cache; i++) {
        struct side *sd = i ? &dst : &src;
        enum tb_scheme sc = sd->uri.scheme;
        if (sc != TB_URI_S3 && sc != TB_URI_R2 && sc != TB_URI_GS) continue; /* others list their metadata */
        const char *ep = cfg.endpoint ? cfg.endpoint : getenv("TRAINBOX_S3_ENDPOINT") ? getenv("TRAINBOX_S3_ENDPOINT")
                         : getenv("AWS_ENDPOINT_URL") ? getenv("AWS_ENDPOINT_URL") : "";
        char *u = tb_store_uri(sd->store, sd->prefix);
        o.cache_id[i] = tb_xasprintf("sync-cache-v1 %s %s", ep, u);
        free(u);
    }
    ps.o = &o;
    ps.src = &src;
    ps.dst = &dst;
    ps.dir = src.local ? (dst.local ? L2L : L2S) : (dst.local ? S2L : S2S);
    ps.window = (int)jobs * 4;
    struct tb_xfer_cfg xc = o.xcfg;
    xc.done = on_done;
    xc.ud = &ps;
    tb_xfer_open(&ps.xdst, dst.store, &xc);
    if (ps.dir == S2L || (ps.dir == S2S && !(ps.same_store = same_store(&src, &dst)))) tb_xfer_open(&ps.xsrc, src.store, &xc);
    if (ps.dir == S2S && !ps.same_store) {
        const char *t = getenv("TMPDIR");
        char tmpl[4096];
        snprintf(tmpl, sizeof tmpl, "%s/trainbox-sync-XXXXXX", t && *t ? t : "/tmp");
        if (!mkdtemp(tmpl)) { rc = tb_report("sync", (tb_fail_errno(&e, TB_FROM_ERRNO_OUT, "mkdtemp %s", tmpl), &e)); goto out; }
        ps.spool = tb_xstrdup(tmpl);
    }
    signal(SIGPIPE, SIG_IGN);
    tb_signals_install(on_signal);
    for (int final = 0;;) {
        double started = tb_now();
        rc = run_pass(&ps);
        if (!o.every_ns || final || rc == TB_ETEMPFAIL || rc == TB_EUSAGE) break;
        if (!signals) nap(o.every_ns, started);
        if (signals) final = 1; /* one more pass sends what changed since, then exit */
    }
out:
    if (ps.xsrc) tb_xfer_close(ps.xsrc);
    if (ps.xdst) tb_xfer_close(ps.xdst);
    if (ps.spool) { rmdir(ps.spool); free(ps.spool); }
    side_close(&src);
    side_close(&dst);
    if (shared) tb_http_free(shared);
    tb_filter_free(&o.filter);
    free(o.cache_id[0]);
    free(o.cache_id[1]);
    if (o.have_pattern) tb_glob_free(&o.pattern);
    tb_opts_free(&p);
    return rc;
}
