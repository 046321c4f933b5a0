/* manifest: write the dataset's index from shard records, merge per-rank indexes, verify that every
 * shard an index names is stored intact, and summarize one. */
#include "alloc.h"
#include "blob.h"
#include "commands.h"
#include "err.h"
#include "hash.h"
#include "manifest.h"
#include "ndjson.h"
#include "opts.h"
#include "progress.h"
#include "rankenv.h"
#include "ndjson_trailer.h"
#include "store.h"
#include "uri.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { OPT_OUTPUT = 1, OPT_FORMAT, OPT_NAME, OPT_DEEP, OPT_JOBS, OPT_HUMAN, OPT_PROGRESS, OPT_MAX_LINE, OPT_ALLOW_PARTIAL, OPT_RANK, OPT_WORLD };

static const struct tb_opt manifest_opts[] = {
    {OPT_OUTPUT, 'o', "output", "URI", "write the manifest here (a path or any store) instead of stdout", "file"},
    {OPT_FORMAT, 0, "format", "FORMAT", "trainbox (default), wids (a wids index) or shardlist (brace URL)", "trainbox wids shardlist"},
    {OPT_NAME, 0, "name", "NAME", "the dataset's name, recorded in the manifest", NULL},
    {OPT_DEEP, 0, "deep", NULL, "verify: also check every shard's sha256 (streams each shard once)", NULL},
    {OPT_JOBS, 'j', "jobs", "N", "verify: shards checked at once (default 8)", NULL},
    {OPT_HUMAN, 'H', "human", NULL, "show, verify: a human table instead of JSON", NULL},
    {OPT_PROGRESS, 0, "progress", "[MODE]", "progress on stderr: auto (default), bar, json, none", NULL},
    TB_OPT_MAX_LINE(OPT_MAX_LINE),
    {OPT_ALLOW_PARTIAL, 0, "allow-partial", NULL, "build even from record input that ended without a trailer", NULL},
    {OPT_RANK, 0, "rank", "R", "build: record that rank R wrote it (default from the environment: trainbox(1), RANKS)", NULL},
    {OPT_WORLD, 0, "world-size", "N", "build: of N ranks (default as --rank); merge: expect ranks 0 to N-1", NULL},
    TB_STORE_OPTS,
    TB_REQUEST_OPTS,
    TB_COMMON_OPTS,
    TB_OPT_END,
};

static int cmd_manifest(int argc, char **argv);

const struct tb_cmd_spec tb_cmd_manifest = {
    "manifest",
    "build, merge, verify and show the shard index",
    "[-o URI] [--format trainbox|wids|shardlist] [--name NAME] [--allow-partial] [--rank R --world-size N] [RECORDS...]\n"
    "merge [-o URI] [--format FORMAT] [--world-size N] MANIFEST...\n"
    "verify [--deep] [--jobs N] [-H] URI\n"
    "show [-H] URI",
    "Reads shard records (as shard and upload print them) and writes the manifest last, in one piece,\n"
    "so a reader never sees half of one. Records must carry \"uri\" when the manifest goes to a store.\n"
    "Each input must end with the record-stream trailer that a successful upload or shard writes:\n"
    "without it nothing is written (exit 65) unless --allow-partial. A manifest built under a rank records\n"
    "it; merging rank manifests refuses gaps and overlaps between ranks (exit 65).",
    manifest_opts,
    cmd_manifest,
};

struct mopts {
    const char *output, *name;
    int format; /* 0 trainbox, 1 wids, 2 shardlist */
    int deep, human, progress, allow_partial;
    int rank_given, world_given;
    uint32_t rank, world;
    unsigned long long jobs, max_line;
    struct tb_common_cfg co;
    struct tb_store_cfg store; /* the store option group: every object read or written */
};

static int emit_doc(const struct mopts *o, const struct tb_manifest *m, tb_err *e)
{
    char created[32];
    tb_rfc3339_now(created);
    char *doc = o->format == 1 ? tb_manifest_wids(m, o->output) : o->format == 2 ? tb_manifest_shardlist(m) : tb_manifest_json(m, created);
    int r = 0;
    if (o->output) {
        r = tb_blob_write(&o->store, o->output, doc, strlen(doc), o->format == 2 ? "text/plain" : "application/json", e);
    } else if (fputs(doc, stdout) == EOF || fflush(stdout) != 0) {
        r = tb_fail_errno(e, TB_EIO, "write to stdout failed");
    }
    free(doc);
    return r;
}

/* The absolute directory a local manifest lives in (the cwd for standard output, uri NULL), or NULL
 * for a store: relative paths in a manifest are relative to it. */
static char *local_dir(const char *uri)
{
    char cwd[4096];
    if (!getcwd(cwd, sizeof cwd)) return NULL;
    if (!uri) return tb_xstrdup(cwd);
    struct tb_uri u;
    if (tb_uri_parse(uri, &u, NULL)) return NULL;
    char *d = NULL;
    if (u.scheme == TB_URI_FILE) {
        const char *sl = strrchr(u.path, '/');
        int n = sl ? (int)(sl - u.path) : 0;
        if (u.path[0] == '/') d = sl == u.path ? tb_xstrdup("/") : tb_xstrndup(u.path, (size_t)n);
        else d = tb_xasprintf("%s/%.*s", cwd, n, u.path);
    }
    tb_uri_free(&u);
    return d;
}

/* Rewrite m's relative paths from the directory of from (a manifest, or NULL: the cwd) to that of
 * to (likewise); nothing to do when either is in a store. */
static int rebase(struct tb_manifest *m, const char *from, const char *to, tb_err *e)
{
    char *fd = local_dir(from), *td = local_dir(to);
    int r = fd && td ? tb_manifest_rebase(m, fd, td, e) : 0;
    free(fd);
    free(td);
    return r;
}

static int output_is_store(const char *out)
{
    struct tb_uri u;
    if (!out || tb_uri_parse(out, &u, NULL)) return 0;
    int b = tb_uri_is_bucket(&u);
    tb_uri_free(&u);
    return b;
}

static int build(const struct mopts *o, char **files, int nfiles, tb_err *e)
{
    struct tb_manifest m;
    tb_manifest_init(&m);
    if (o->name) m.name = tb_xstrdup(o->name);
    /* the rank it was built under, from the options or the launcher's environment (lib/rankenv) */
    struct tb_rank rk;
    int r0 = tb_rank_resolve("manifest", o->rank_given, o->rank, o->world_given, o->world, &rk);
    if (r0) { tb_manifest_free(&m); return r0; }
    if (rk.have_rank && !rk.have_world) { tb_manifest_free(&m); return tb_usage("manifest", "--rank needs --world-size (or one of the variables of trainbox(1), RANKS)"); }
    if (o->world_given && !rk.have_rank) { tb_manifest_free(&m); return tb_usage("manifest", "--world-size needs --rank when building (a rank manifest records both)"); }
    if (rk.have_rank) {
        m.have_rank = m.have_world = 1;
        m.rank = rk.rank;
        m.world = rk.world;
        if (o->co.verbose) tb_warn("manifest", "%s", rk.how);
    }
    int need_uri = output_is_store(o->output);
    int r = 0, nsrc = nfiles ? nfiles : 1;
    for (int i = 0; i < nsrc && !r; i++) {
        struct tb_src src;
        if ((r = tb_src_open_file(&src, nfiles ? files[i] : "-", e))) break;
        struct tb_lines lr;
        tb_lines_init(&lr, &src, o->max_line);
        char *line;
        size_t len;
        int got;
        uint64_t nrec = 0, tn;
        int trailer = 0;
        while ((got = tb_lines_next(&lr, &line, &len, e)) == 1) {
            int t = trailer ? 0 : tb_trailer_parse(line, len, &tn, e);
            if (trailer) r = tb_fail(e, TB_EDATA, "a line after the trailer");
            else if (t < 0) r = e->code;
            else if (t == 1 && tn != nrec)
                r = tb_fail(e, TB_EDATA, "the trailer counts %llu records, %llu came before it", (unsigned long long)tn,
                            (unsigned long long)nrec);
            else if (t == 1) { trailer = 1; continue; }
            else if (!(r = tb_manifest_add_line(&m, line, len, need_uri, e))) { nrec++; continue; }
            tb_err_wrap(e, "%s line %llu", src.name, (unsigned long long)lr.lineno);
            break;
        }
        if (got < 0) r = e->code;
        if (!r && !trailer && !o->allow_partial)
            r = tb_fail(e, TB_EDATA, "%s ended without a trailer after %llu records: the stage before failed or was killed; "
                        "nothing written (--allow-partial writes it anyway)", src.name, (unsigned long long)nrec);
        tb_lines_free(&lr);
        tb_src_close(&src);
    }
    /* a rank may get nothing: its empty manifest tells merge it ran, where a missing one is a gap */
    if (!r && m.n == 0 && !m.have_rank) r = tb_fail(e, TB_EDATA, "no shard records on input: refusing to write an empty manifest");
    /* records name files relative to the cwd; the manifest, relative to itself */
    if (!r && o->format == 0) r = rebase(&m, NULL, o->output, e);
    if (!r) {
        tb_manifest_sort(&m);
        r = emit_doc(o, &m, e);
    }
    tb_manifest_free(&m);
    return r;
}

/* A manifest, its relative paths made relative to the cwd (to_output NULL) or to the directory of
 * the manifest about to be written. */
static int load(const struct mopts *o, const char *uri, struct tb_manifest *m, const char *to_output, tb_err *e)
{
    char *text;
    size_t len;
    int r = tb_blob_read(&o->store, uri, &text, &len, e);
    if (r) return r;
    r = tb_manifest_parse(text, len, m, e);
    free(text);
    if (r) tb_err_wrap(e, "%s", uri);
    else if ((r = rebase(m, uri, to_output, e))) tb_manifest_free(m);
    return r;
}

static int merge(const struct mopts *o, char **files, int nfiles, tb_err *e)
{
    if (nfiles < 1) return tb_usage("manifest", "merge needs at least one MANIFEST");
    struct tb_manifest all;
    tb_manifest_init(&all);
    if (o->name) all.name = tb_xstrdup(o->name);
    /* every input first: rank manifests are checked together (gaps, overlaps) before any is merged */
    struct tb_manifest *ms = tb_xcalloc((size_t)nfiles, sizeof *ms);
    int r = 0, loaded = 0, ranked = o->world_given;
    for (int i = 0; i < nfiles && !r; i++) {
        if ((r = load(o, files[i], &ms[i], o->format == 0 ? o->output : NULL, e))) break;
        loaded++;
        ranked |= tb_manifest_ranked(&ms[i]);
    }
    if (!r && ranked) {
        const struct tb_manifest **src = tb_xmalloc(sizeof *src * (size_t)nfiles);
        for (int i = 0; i < nfiles; i++) src[i] = &ms[i];
        r = tb_manifest_merge_ranks(&all, src, (const char *const *)files, (size_t)nfiles, o->world_given ? o->world : 0, e);
        free(src);
    }
    for (int i = 0; i < nfiles && !r && !ranked; i++)
        if ((r = tb_manifest_merge(&all, &ms[i], e))) tb_err_wrap(e, "merging %s", files[i]);
    for (int i = 0; i < loaded; i++) tb_manifest_free(&ms[i]);
    free(ms);
    if (!r && ranked && all.n == 0) r = tb_fail(e, TB_EDATA, "the rank manifests name no shard: refusing to write an empty manifest");
    if (!r) {
        tb_manifest_sort(&all);
        r = emit_doc(o, &all, e);
    }
    tb_manifest_free(&all);
    return r;
}

/* ---- verify ---- */

enum problem { P_OK, P_MISSING, P_SIZE, P_CHECKSUM, P_ERROR };
static const char *const problem_names[] = {"ok", "missing", "size", "checksum", "error"};

struct vjob {
    const struct tb_manifest *m;
    const struct mopts *o;
    atomic_size_t next;
    enum problem *result;
    uint64_t *actual_size;
    char (*actual_sha)[65];
    tb_err *errs;
    atomic_ullong done_bytes, done_files;
};

struct hashing { struct tb_digest *d; uint64_t n; };
static int hash_cb(void *arg, const void *p, size_t n)
{
    struct hashing *h = arg;
    tb_digest_update(h->d, p, n);
    h->n += n;
    return 0;
}

static const char *where(const struct tb_shard_rec *s) { return s->uri ? s->uri : s->path; }

static void *verify_worker(void *arg)
{
    struct vjob *j = arg;
    struct tb_digest *d = j->o->deep ? tb_digest_new() : NULL;
    for (;;) {
        size_t i = atomic_fetch_add(&j->next, 1);
        if (i >= j->m->n) break;
        const struct tb_shard_rec *s = &j->m->shards[i];
        uint64_t size = 0;
        int exists = 0;
        tb_err *e = &j->errs[i];
        if (tb_blob_head(&j->o->store, where(s), &size, &exists, e)) { j->result[i] = P_ERROR; continue; }
        j->actual_size[i] = size;
        if (!exists) { j->result[i] = P_MISSING; continue; }
        if (size != s->bytes) { j->result[i] = P_SIZE; continue; }
        if (d && s->sha256) {
            struct hashing h = {d, 0};
            if (tb_blob_stream(&j->o->store, where(s), hash_cb, &h, e)) { j->result[i] = P_ERROR; tb_digest_final(d, NULL, NULL); continue; }
            tb_digest_final(d, j->actual_sha[i], NULL);
            if (strcmp(j->actual_sha[i], s->sha256) != 0) { j->result[i] = P_CHECKSUM; continue; }
        }
        atomic_fetch_add(&j->done_bytes, size);
        atomic_fetch_add(&j->done_files, 1);
        j->result[i] = P_OK;
    }
    tb_digest_free(d);
    return NULL;
}

static int verify(const struct mopts *o, char **files, int nfiles, tb_err *e)
{
    if (nfiles != 1) return tb_usage("manifest", "verify takes one manifest URI");
    struct tb_manifest m;
    int r = load(o, files[0], &m, NULL, e);
    if (r) return r;
    struct vjob j = {.m = &m, .o = o};
    j.result = tb_xcalloc(m.n + 1, sizeof *j.result);
    j.actual_size = tb_xcalloc(m.n + 1, sizeof *j.actual_size);
    j.actual_sha = tb_xcalloc(m.n + 1, sizeof *j.actual_sha);
    j.errs = tb_xcalloc(m.n + 1, sizeof *j.errs);
    size_t nthreads = o->jobs ? o->jobs : 8;
    if (nthreads > m.n) nthreads = m.n ? m.n : 1;
    pthread_t th[64];
    if (nthreads > 64) nthreads = 64;
    struct tb_progress prog;
    tb_progress_init(&prog, "manifest verify", tb_common_progress(&o->co, o->progress), "shards", NULL);
    prog.total_items = m.n;
    for (size_t t = 0; t < nthreads; t++) pthread_create(&th[t], NULL, verify_worker, &j);
    if (prog.mode != TB_PROGRESS_NONE) {
        while (atomic_load(&j.next) < m.n + nthreads) {
            prog.items = atomic_load(&j.done_files);
            prog.bytes = atomic_load(&j.done_bytes);
            tb_progress_tick(&prog);
            struct timespec ts = {0, 50 * 1000 * 1000};
            nanosleep(&ts, NULL);
            if (prog.items >= m.n) break;
        }
    }
    for (size_t t = 0; t < nthreads; t++) pthread_join(th[t], NULL);
    prog.items = atomic_load(&j.done_files);
    prog.bytes = atomic_load(&j.done_bytes);
    tb_progress_end(&prog);
    size_t bad = 0, badsum = 0;
    int worst_err = 0;
    /* an upload skips an object whose size and sha256 metadata look right: only --force resends it */
    static const char repair[] = "re-upload it with `trainbox upload --force`";
    for (size_t i = 0; i < m.n; i++) {
        const struct tb_shard_rec *s = &m.shards[i];
        if (j.result[i] == P_OK) continue;
        bad++;
        if (j.result[i] == P_ERROR && !worst_err) worst_err = j.errs[i].code;
        if (j.result[i] == P_CHECKSUM) badsum++;
        if (o->human) {
            printf("%-9s %s", problem_names[j.result[i]], where(s));
            if (j.result[i] == P_SIZE) printf(" (%llu bytes, manifest says %llu)", (unsigned long long)j.actual_size[i], (unsigned long long)s->bytes);
            if (j.result[i] == P_CHECKSUM) printf(" (sha256 %s, manifest says %s: %s)", j.actual_sha[i], s->sha256, repair);
            if (j.result[i] == P_ERROR) { tb_redact(j.errs[i].msg); printf(" (%s)", j.errs[i].msg); }
            printf("\n");
            continue;
        }
        cJSON *l = cJSON_CreateObject();
        cJSON_AddStringToObject(l, "problem", problem_names[j.result[i]]);
        cJSON_AddStringToObject(l, "shard", s->name);
        cJSON_AddStringToObject(l, "uri", where(s));
        if (j.result[i] == P_SIZE) {
            cJSON_AddNumberToObject(l, "expected_bytes", (double)s->bytes);
            cJSON_AddNumberToObject(l, "bytes", (double)j.actual_size[i]);
        }
        if (j.result[i] == P_CHECKSUM) {
            cJSON_AddStringToObject(l, "expected_sha256", s->sha256);
            cJSON_AddStringToObject(l, "sha256", j.actual_sha[i]);
            cJSON_AddStringToObject(l, "repair", repair);
        }
        if (j.result[i] == P_ERROR) { tb_redact(j.errs[i].msg); cJSON_AddStringToObject(l, "error", j.errs[i].msg); }
        char *txt = cJSON_PrintUnformatted(l);
        if (txt) puts(txt);
        free(txt);
        cJSON_Delete(l);
    }
    if (fflush(stdout) != 0) r = tb_fail_errno(e, TB_EIO, "write to stdout failed");
    else if (bad && worst_err && worst_err != TB_ENOINPUT && bad == m.n) r = tb_fail(e, worst_err, "%zu of %zu shards could not be checked", bad, m.n);
    else if (bad && badsum) r = tb_fail(e, TB_EPARTIAL, "%zu of %zu shards have problems; %zu hold bytes that do not match their sha256: %s",
                                        bad, m.n, badsum, repair);
    else if (bad) r = tb_fail(e, TB_EPARTIAL, "%zu of %zu shards have problems", bad, m.n);
    else if (o->human) printf("all %zu shards ok%s\n", m.n, o->deep ? " (sizes and sha256)" : " (sizes)");
    free(j.result);
    free(j.actual_size);
    free(j.actual_sha);
    free(j.errs);
    tb_manifest_free(&m);
    return r;
}

/* ---- show ---- */

static int show(const struct mopts *o, char **files, int nfiles, tb_err *e)
{
    if (nfiles != 1) return tb_usage("manifest", "show takes one manifest URI");
    struct tb_manifest m;
    int r = load(o, files[0], &m, NULL, e);
    if (r) return r;
    struct tb_totals t = tb_manifest_totals(&m);
    /* per split totals, in first-seen order */
    const char *names[64];
    uint64_t sh[64] = {0}, sa[64] = {0}, by[64] = {0};
    int ns = 0;
    for (size_t i = 0; i < m.n; i++) {
        const char *sp = m.shards[i].split ? m.shards[i].split : "";
        int k;
        for (k = 0; k < ns; k++) if (strcmp(names[k], sp) == 0) break;
        if (k == ns) { if (ns == 64) continue; names[ns++] = sp; }
        sh[k]++; sa[k] += m.shards[i].samples; by[k] += m.shards[i].bytes;
    }
    if (o->human) {
        printf("manifest  %s\n", files[0]);
        if (m.name) printf("name      %s\n", m.name);
        if (m.created) printf("created   %s\n", m.created);
        if (m.have_rank) printf("rank      %u of %u\n", m.rank, m.world);
        else if (m.have_world) printf("ranks     %u\n", m.world);
        printf("shards    %llu\nsamples   %llu\nbytes     %llu (%.1f MB)\n", (unsigned long long)t.shards,
               (unsigned long long)t.samples, (unsigned long long)t.bytes, t.bytes / 1e6);
        if (m.n) printf("first     %s\nlast      %s\n", where(&m.shards[0]), where(&m.shards[m.n - 1]));
        if (ns > 1 || (ns == 1 && *names[0])) {
            printf("\n%-12s %8s %12s %14s\n", "split", "shards", "samples", "bytes");
            for (int k = 0; k < ns; k++)
                printf("%-12s %8llu %12llu %14llu\n", *names[k] ? names[k] : "-", (unsigned long long)sh[k],
                       (unsigned long long)sa[k], (unsigned long long)by[k]);
        }
    } else {
        cJSON *s = cJSON_CreateObject();
        cJSON_AddStringToObject(s, "manifest", files[0]);
        if (m.name) cJSON_AddStringToObject(s, "name", m.name);
        if (m.created) cJSON_AddStringToObject(s, "created", m.created);
        if (m.have_rank) cJSON_AddNumberToObject(s, "rank", m.rank);
        if (m.have_world) cJSON_AddNumberToObject(s, "world_size", m.world);
        cJSON_AddNumberToObject(s, "shards", (double)t.shards);
        cJSON_AddNumberToObject(s, "samples", (double)t.samples);
        cJSON_AddNumberToObject(s, "bytes", (double)t.bytes);
        cJSON *splits = cJSON_AddObjectToObject(s, "splits");
        for (int k = 0; k < ns; k++) {
            if (!*names[k]) continue;
            cJSON *x = cJSON_AddObjectToObject(splits, names[k]);
            cJSON_AddNumberToObject(x, "shards", (double)sh[k]);
            cJSON_AddNumberToObject(x, "samples", (double)sa[k]);
            cJSON_AddNumberToObject(x, "bytes", (double)by[k]);
        }
        if (m.n) {
            cJSON_AddStringToObject(s, "first", where(&m.shards[0]));
            cJSON_AddStringToObject(s, "last", where(&m.shards[m.n - 1]));
        }
        char *txt = cJSON_PrintUnformatted(s);
        if (txt) puts(txt);
        free(txt);
        cJSON_Delete(s);
    }
    if (fflush(stdout) != 0) r = tb_fail_errno(e, TB_EIO, "write to stdout failed");
    tb_manifest_free(&m);
    return r;
}

static int cmd_manifest(int argc, char **argv)
{
    struct mopts o = {.progress = TB_PROGRESS_AUTO, .jobs = 8, .max_line = TB_MAX_LINE_DEFAULT};
    tb_store_cfg_defaults(&o.store);
    struct tb_optparse p;
    tb_opts_init(&p, &tb_cmd_manifest, argc, argv);
    int c, r = 0;
    static const char *const formats[] = {"trainbox", "wids", "shardlist", NULL};
    while ((c = tb_opts_next(&p)) > 0) {
        switch (c) {
        case OPT_OUTPUT: o.output = p.arg; break;
        case OPT_FORMAT: if (tb_opt_choice(&p, formats, &o.format)) r = TB_EUSAGE; break;
        case OPT_NAME: o.name = p.arg; break;
        case OPT_DEEP: o.deep = 1; break;
        case OPT_JOBS:
            if (tb_opt_u64(&p, &o.jobs)) r = TB_EUSAGE;
            else if (o.jobs < 1 || o.jobs > 64) r = tb_usage("manifest", "--jobs must be 1 to 64");
            break;
        case OPT_HUMAN: o.human = 1; break;
        case OPT_PROGRESS:
            o.progress = tb_progress_parse(p.arg);
            if (o.progress < 0) r = tb_usage("manifest", "--progress wants auto, bar, json or none, not '%s'", p.arg);
            break;
        case OPT_MAX_LINE: if (tb_opt_max_line(&p, &o.max_line)) r = TB_EUSAGE; break;
        case OPT_ALLOW_PARTIAL: o.allow_partial = 1; break;
        case OPT_RANK:
        case OPT_WORLD: {
            unsigned long long v;
            if (tb_opt_u64(&p, &v)) { r = TB_EUSAGE; break; }
            if (v > UINT32_MAX) { r = tb_usage("manifest", "--%s %llu is too large", c == OPT_RANK ? "rank" : "world-size", v); break; }
            if (c == OPT_RANK) { o.rank = (uint32_t)v; o.rank_given = 1; }
            else { o.world = (uint32_t)v; o.world_given = 1; }
            break;
        }
        default: if (tb_store_opt(&p, c, &o.co, &o.store) == TB_EUSAGE) r = TB_EUSAGE; break;
        }
        if (r) break;
    }
    if (c < 0) r = tb_opts_exit(c);
    if (r || c < 0) { tb_opts_free(&p); return r; }
    char **pos = p.pos;
    int npos = p.npos;
    enum { BUILD, MERGE, VERIFY, SHOW } verb = BUILD;
    if (npos > 0 && strcmp(pos[0], "merge") == 0) verb = MERGE;
    else if (npos > 0 && strcmp(pos[0], "verify") == 0) verb = VERIFY;
    else if (npos > 0 && strcmp(pos[0], "show") == 0) verb = SHOW;
    if (verb != BUILD) { pos++; npos--; }
    if (verb != VERIFY && (o.deep)) r = tb_usage("manifest", "--deep goes with verify");
    else if ((verb == VERIFY || verb == SHOW) && (o.output || o.format || o.name)) r = tb_usage("manifest", "-o, --format and --name go with building or merging");
    else if ((verb == BUILD || verb == MERGE) && o.human) r = tb_usage("manifest", "-H goes with show and verify");
    else if (verb != BUILD && o.allow_partial) r = tb_usage("manifest", "--allow-partial goes with building from records");
    else if (verb != BUILD && o.rank_given) r = tb_usage("manifest", "--rank goes with building (merge reads each manifest's rank)");
    else if ((verb == VERIFY || verb == SHOW) && o.world_given) r = tb_usage("manifest", "--world-size goes with building or merging");
    else if (verb == MERGE && o.world_given && (o.world == 0 || o.world > TB_WORLD_MAX))
        r = tb_usage("manifest", "--world-size must be 1 to %u, not %u", TB_WORLD_MAX, o.world);
    if (r) { tb_opts_free(&p); return r; }
    tb_err e = {0};
    switch (verb) {
    case BUILD: r = build(&o, pos, npos, &e); break;
    case MERGE: r = merge(&o, pos, npos, &e); break;
    case VERIFY: r = verify(&o, pos, npos, &e); break;
    case SHOW: r = show(&o, pos, npos, &e); break;
    }
    if (r && e.code) tb_report("manifest", &e);
    tb_opts_free(&p);
    return r;
}
