/* upload: store local files (shard records or plain paths) under a bucket prefix, verified, in
 * parallel, idempotently, without leaving half-objects behind. The transfers (hash pass, HEAD, PUT or
 * multipart, verifying HEAD, aborts) are lib/xfer's; this file owns the options, the intake (records
 * and paths, one key per file, a bounded window of 2 x --jobs + 2 files, the destination listing that
 * proves keys absent), the records printed with "uri" and "etag", the trailer and the exit code. */
#include "alloc.h"
#include "cleanup.h"
#include "commands.h"
#include "keyset.h"
#include "ndjson.h"
#include "opts.h"
#include "progress.h"
#include "src.h"
#include "ndjson_trailer.h"
#include "xfer.h"
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { OPT_JOBS = 1, OPT_PART_SIZE, OPT_THRESHOLD, OPT_DELETE_AFTER, OPT_NO_CLOBBER, OPT_KEEP_DIRS, OPT_PROGRESS,
       OPT_MAX_LINE, OPT_FORCE };

static const struct tb_opt upload_opts[] = {
    {OPT_JOBS, 'j', "jobs", "N", "transfers at once, parts of big files included (default 8)", NULL},
    {OPT_PART_SIZE, 0, "part-size", "SIZE", "multipart part size (default 8MiB; grown to keep <= 10000 parts)", NULL},
    {OPT_THRESHOLD, 0, "multipart-threshold", "SIZE", "files above this go up in parts (default 64MiB)", NULL},
    {OPT_NO_CLOBBER, 0, "no-clobber", NULL, "refuse to replace an existing object with different content", NULL},
    {OPT_FORCE, 0, "force", NULL, "send every file, even when its object looks current (same size and sha256)", NULL},
    {OPT_DELETE_AFTER, 0, "delete-after", NULL, "remove each local file once its object is verified", NULL},
    {OPT_KEEP_DIRS, 0, "keep-dirs", NULL, "key = prefix + path relative to the cwd (default: + basename)", NULL},
    {OPT_PROGRESS, 0, "progress", "[MODE]", "progress on stderr: auto, none, bar, json (default auto)", "auto none bar json"},
    TB_OPT_MAX_LINE(OPT_MAX_LINE),
    TB_STORE_OPTS,
    TB_REQUEST_OPTS,
    TB_COMMON_OPTS,
    TB_OPT_END,
};

static int cmd_upload(int argc, char **argv);

const struct tb_cmd_spec tb_cmd_upload = {
    "upload",
    "store files in object storage, verified and resumable",
    "[OPTIONS] DEST_PREFIX [-- FILE...]",
    "Read shard records (or plain paths), one per line, from stdin, or take FILEs after --, and store\n"
    "each file as DEST_PREFIX + its basename (s3://, r2://, gs://, az://, file:// or a directory).\n"
    "Each record is printed with \"uri\" and \"etag\" added once its object is verified. Objects that\n"
    "already exist with the same size and sha256 are not sent again.",
    upload_opts,
    cmd_upload,
};

struct item {
    struct tb_xfer_job job;  /* first: the engine hands it back */
    char *path, *key, *uri;
    cJSON *rec;              /* the input record (NULL for a plain path) */
    uint64_t lineno;
    int fd;                  /* the engine reads it (also job.fd) */
};

struct up {
    struct tb_store *store;
    struct tb_xfer *x;           /* the engine (lib/xfer) */
    struct tb_xfer_listing have; /* what the destination holds, listed once */
    struct tb_uri dest;
    int jobs, delete_after, keep_dirs, quiet;
    struct tb_keyset keys;    /* object keys taken so far -> the file (dev, inode, path) that took each */
    struct tb_lines lines;    /* stdin, when no FILEs are given (args) */
    struct tb_src src;
    char **args;
    int have_lines, nargs, argi, input_done;
    uint64_t lineno;
    struct tb_xfer_tally t;   /* files stored and failed (t.data: a file did not match its record) */
    struct tb_progress prog;
    /* the input's completeness (DESIGN.md Records: record streams end with a trailer) */
    uint64_t in_lines;        /* records and paths read from stdin */
    int in_records, in_trailer; /* some were records (then only a trailer says the stream is whole); the
                                 * trailer was read (and its count matched) */
    tb_err in_err;            /* bad input that stopped reading: a bad trailer, a line after it (65) */
};

/* Set by SIGINT/SIGTERM/SIGHUP: the engine is then stopped (it aborts the multipart uploads it made)
 * and upload exits 75 (re-running resumes). A signal handler gets no context: this flag is file-scope. */
static volatile sig_atomic_t interrupted;
static void on_signal(int sig) { interrupted = sig; }

static void item_free(struct item *it)
{
    if (it->fd >= 0) close(it->fd);
    free(it->path), free(it->key), free(it->uri);
    if (it->rec) cJSON_Delete(it->rec);
    free(it);
}

static void fail_item(struct up *u, struct item *it, const tb_err *e)
{
    tb_xfer_tally_fail(&u->t, e);
    u->prog.items++;
    item_free(it);
}

/* The object key of the file (dev, ino) at path, claimed for it: 0 when it is the key's first file
 * (or the same file again); TB_EDATA, *dup set, naming both paths when another file took it. */
static int claim_key(struct up *u, const char *path, const struct stat *st, char **key, char **uri, int *dup, tb_err *e)
{
    uint64_t pdev, pino, dev = (uint64_t)st->st_dev, ino = (uint64_t)st->st_ino;
    const char *prev;
    int r = tb_xfer_key_for(&u->dest, path, u->keep_dirs, key, e);
    if (r) return r;
    *uri = tb_store_uri(u->store, *key);
    if ((r = tb_keyset_add(&u->keys, *key, strlen(*key), dev, ino, path, &pdev, &pino, &prev)) < 0) tb_oom(strlen(*key));
    if (r == 1 && (pdev != dev || pino != ino)) {
        *dup = 1;
        return tb_fail(e, TB_EDATA, "%s and %s both map to %s: refusing to store two files under one key "
                       "(rename one, or use --keep-dirs)", prev, path, *uri);
    }
    return 0;
}

/* A record's fields: path, and the sha256/bytes/md5 it promises. 0, or TB_EDATA with e filled. */
static int parse_record(struct up *u, struct item *it, char *line, size_t len, tb_err *e)
{
    unsigned long long ln = (unsigned long long)u->lineno;
    it->rec = cJSON_ParseWithLength(line, len);
    cJSON *p = it->rec ? cJSON_GetObjectItem(it->rec, "path") : NULL;
    if (!it->rec || !cJSON_IsObject(it->rec) || !cJSON_IsString(p) || !*p->valuestring)
        return tb_fail(e, TB_EDATA, "line %llu: not a record with a \"path\"", ln);
    it->path = tb_xstrdup(p->valuestring);
    cJSON *s = cJSON_GetObjectItem(it->rec, "sha256"), *b = cJSON_GetObjectItem(it->rec, "bytes");
    if (cJSON_IsString(s)) {
        if (strlen(s->valuestring) != 64 || strspn(s->valuestring, "0123456789abcdef") != 64)
            return tb_fail(e, TB_EDATA, "line %llu: \"sha256\" is not 64 lowercase hex digits", ln);
        it->job.want_sha256 = s->valuestring;
    }
    if (b && (!cJSON_IsNumber(b) || b->valuedouble < 0 || b->valuedouble >= 18446744073709551616.0 ||
              b->valuedouble != (double)(uint64_t)b->valuedouble)) {
        u->t.data = 1;
        return tb_fail(e, TB_EDATA, "line %llu: \"bytes\" is not a non-negative integer", ln);
    }
    cJSON *m = cJSON_GetObjectItem(it->rec, "md5");
    if (cJSON_IsString(m) && strlen(m->valuestring) == 32) it->job.want_md5 = m->valuestring;
    return 0;
}

/* One file to store (a record or a path), checked before it goes to the engine. */
static int prepare_item(struct up *u, struct item *it, char *line, size_t len, tb_err *e)
{
    while (len && (line[len - 1] == ' ' || line[len - 1] == '\t')) line[--len] = 0;
    while (*line == ' ' || *line == '\t') { line++; len--; }
    int rc;
    if (line[0] == '{') { if ((rc = parse_record(u, it, line, len, e))) return rc; }
    else it->path = tb_xstrndup(line, len);
    struct stat st;
    if ((it->fd = open(it->path, O_RDONLY | O_CLOEXEC)) < 0) return tb_fail_errno(e, 0, "open %s", it->path);
    if (fstat(it->fd, &st) != 0 || !S_ISREG(st.st_mode)) return tb_fail(e, TB_ENOINPUT, "%s is not a regular file", it->path);
    cJSON *b = it->rec ? cJSON_GetObjectItem(it->rec, "bytes") : NULL;
    if (b && (uint64_t)b->valuedouble != (uint64_t)st.st_size) {
        u->t.data = 1;
        return tb_fail(e, TB_EDATA, "%s: %llu bytes, but the record says %llu (line %llu)", it->path, (unsigned long long)st.st_size,
                       (unsigned long long)b->valuedouble, (unsigned long long)it->lineno);
    }
    int dup = 0;
    if ((rc = claim_key(u, it->path, &st, &it->key, &it->uri, &dup, e)) && dup) u->t.data = 1;
    return rc;
}

static void add_file(struct up *u, char *line, size_t len)
{
    struct item *it = tb_xcalloc(1, sizeof *it);
    it->fd = -1;
    it->lineno = u->lineno;
    tb_err e = {0};
    if (prepare_item(u, it, line, len, &e)) { fail_item(u, it, &e); return; }
    struct tb_xfer_job *j = &it->job; /* want_sha256 and want_md5 are the record's, from parse_record */
    j->kind = TB_XFER_UPLOAD;
    j->key = it->key;
    j->path = it->path;
    j->fd = it->fd;
    j->want_bytes = -1; /* checked above, naming the record's line */
    j->flags = tb_xfer_absent(&u->have, it->key) ? TB_XFER_KNOWN_ABSENT : 0;
    u->prog.total_items++;
    tb_xfer_add(u->x, j);
}

/* A line of stdin: the trailer is checked and kept back (upload writes its own), anything else is
 * a file to store. Returns non-zero when the input is bad and reading must stop (u->in_err). */
static int stdin_line(struct up *u, char *line, size_t len)
{
    unsigned long long ln = (unsigned long long)u->lineno;
    if (u->in_trailer) return tb_fail(&u->in_err, TB_EDATA, "line %llu of stdin comes after the trailer", ln);
    uint64_t n;
    tb_err e = {0};
    int t = tb_trailer_parse(line, len, &n, &e);
    if (t < 0) { u->in_err = e; return tb_err_wrap(&u->in_err, "line %llu of stdin", ln); }
    if (t == 1) {
        if (n != u->in_lines)
            return tb_fail(&u->in_err, TB_EDATA, "line %llu of stdin: the trailer counts %llu records, %llu were received", ln,
                           (unsigned long long)n, (unsigned long long)u->in_lines);
        u->in_trailer = 1;
        return 0;
    }
    u->in_lines++;
    size_t i = strspn(line, " \t");
    if (i < len && line[i] == '{') u->in_records = 1;
    add_file(u, line, len);
    return 0;
}

/* Read input until the window (2 x --jobs + 2 files in the engine) is full. */
static void intake(struct up *u)
{
    while (!u->input_done && !tb_xfer_fatal(u->x)->code && tb_xfer_pending(u->x) < u->jobs * 2 + 2) {
        if (u->args) {
            if (u->argi >= u->nargs) { u->input_done = 1; break; }
            char *a = u->args[u->argi++];
            u->lineno++;
            add_file(u, a, strlen(a));
            continue;
        }
        char *line;
        size_t len;
        tb_err e = {0};
        int r = tb_lines_next(&u->lines, &line, &len, &e);
        if (r < 0 && !e.code) e.code = TB_EIO;
        if (r < 0) tb_xfer_stop(u->x, &e);
        if (r <= 0) { u->input_done = 1; break; }
        u->lineno = u->lines.lineno;
        if (stdin_line(u, line, len)) { u->input_done = 1; break; }
    }
}

static void emit(struct up *u, struct item *it)
{
    cJSON *o = it->rec;
    if (!o) {
        o = it->rec = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "path", it->path);
        cJSON_AddNumberToObject(o, "bytes", (double)it->job.size);
        cJSON_AddStringToObject(o, "sha256", it->job.sha256);
    }
    cJSON_DeleteItemFromObject(o, "uri");
    cJSON_DeleteItemFromObject(o, "etag");
    cJSON_AddStringToObject(o, "uri", it->uri);
    if (it->job.etag[0]) cJSON_AddStringToObject(o, "etag", it->job.etag);
    char *s = cJSON_PrintUnformatted(o);
    tb_err e = {0};
    int rc = s ? tb_write_line(stdout, s, strlen(s), &e) : TB_ESOFTWARE;
    free(s);
    if (rc || fflush(stdout) != 0) {
        tb_fail(&e, TB_EIO, "writing records to stdout failed");
        tb_xfer_stop(u->x, &e);
    }
}

static void on_done(void *ud, struct tb_xfer_job *j)
{
    struct up *u = ud;
    struct item *it = (struct item *)j;
    if (j->status) {
        if (j->mismatch) {
            u->t.data = 1;
            tb_fail(&j->err, TB_EDATA, "%s: sha256 %s does not match the record's %s (line %llu)", it->path, j->sha256,
                    j->want_sha256, (unsigned long long)it->lineno);
        }
        fail_item(u, it, &j->err);
        return;
    }
    u->t.ok++;
    emit(u, it);
    if (u->delete_after && unlink(it->path) != 0 && !u->quiet)
        tb_warn("upload", "--delete-after: remove %s: %s", it->path, strerror(errno));
    u->prog.items++, u->prog.done++;
    item_free(it);
}

/* Files given as arguments are all known: refuse two under one key before sending anything. */
static int claim_args(struct up *u, tb_err *e)
{
    int dup = 0;
    for (int i = 0; i < u->nargs && !dup; i++) {
        struct stat st;
        char *key = NULL, *uri = NULL;
        if (stat(u->args[i], &st) == 0) claim_key(u, u->args[i], &st, &key, &uri, &dup, e); /* else: in its turn */
        free(key), free(uri);
    }
    return dup ? TB_EDATA : 0;
}

/* Feed the engine's window and step it (it ticks the progress) until all is done, or stopped. */
static void run(struct up *u)
{
    do {
        intake(u);
        tb_xfer_step(u->x, 100);
        if (interrupted) tb_xfer_interrupt(u->x, (int)interrupted);
    } while (tb_xfer_pending(u->x) > 0 || (!u->input_done && !tb_xfer_fatal(u->x)->code));
    tb_progress_end(&u->prog);
}

/* Report failures and the input's completeness; write the trailer when all is well. */
static int finish(struct up *u)
{
    const tb_err *fatal = tb_xfer_fatal(u->x);
    if (fatal->code) return tb_report("upload", fatal);
    int ret = tb_xfer_tally_report(&u->t, "upload", "files");
    /* Files given as arguments and plain path lines are whole by construction; records are whole
     * only up to their trailer. An empty stdin is no proof of anything: the stage before may have
     * died before printing. Whatever was received is stored either way; only the trailer is withheld. */
    if (u->in_err.code) return tb_report("upload", &u->in_err);
    if (!u->args && !u->in_trailer && (u->in_records || u->in_lines == 0)) {
        fprintf(stderr, "trainbox upload: input ended without a trailer: the stage before failed or was killed; "
                        "%llu files stored, no trailer written\n", (unsigned long long)u->t.ok);
        return ret ? ret : TB_EPARTIAL;
    }
    tb_err te = {0};
    if (!ret && tb_trailer_write(stdout, u->t.ok, &te)) ret = tb_report("upload", &te);
    return ret;
}

static int cmd_upload(int argc, char **argv)
{
    unsigned long long jobs = 8, part_size = 8ull << 20, threshold = 64ull << 20, max_line = TB_MAX_LINE_DEFAULT;
    int no_clobber = 0, force = 0, pmode = TB_PROGRESS_AUTO;
    struct up u = {0};
    struct tb_common_cfg co = {0};
    struct tb_store_cfg cfg;
    tb_store_cfg_defaults(&cfg);
    struct tb_optparse p;
    tb_opts_init(&p, &tb_cmd_upload, argc, argv);
    int c, rc;
    while ((c = tb_opts_next(&p)) > 0) {
        switch (c) {
        case OPT_JOBS: if ((rc = tb_opt_u64(&p, &jobs))) goto usage; break;
        case OPT_PART_SIZE: if ((rc = tb_opt_size(&p, &part_size))) goto usage; break;
        case OPT_THRESHOLD: if ((rc = tb_opt_size(&p, &threshold))) goto usage; break;
        case OPT_NO_CLOBBER: no_clobber = 1; break;
        case OPT_FORCE: force = 1; break;
        case OPT_DELETE_AFTER: u.delete_after = 1; break;
        case OPT_KEEP_DIRS: u.keep_dirs = 1; break;
        case OPT_MAX_LINE: if ((rc = tb_opt_max_line(&p, &max_line))) goto usage; break;
        case OPT_PROGRESS:
            pmode = tb_progress_parse(p.arg);
            if (pmode < 0) { rc = tb_usage("upload", "--progress: unknown mode '%s' (auto, none, bar, json)", p.arg); goto usage; }
            break;
        default: if ((rc = tb_store_opt(&p, c, &co, &cfg)) == TB_EUSAGE) goto usage; break;
        }
    }
    if (c < 0) { tb_opts_free(&p); return tb_opts_exit(c); }
    rc = TB_EUSAGE;
    if (p.npos < 1) { tb_usage("upload", "missing DEST_PREFIX"); goto usage; }
    if (jobs < 1 || jobs > 256) { tb_usage("upload", "--jobs must be between 1 and 256"); goto usage; }
    if (part_size < 1) { tb_usage("upload", "--part-size must be positive"); goto usage; }
    if (force && no_clobber) { tb_usage("upload", "--force and --no-clobber contradict each other"); goto usage; }

    signal(SIGPIPE, SIG_IGN); /* a closed stdout or a reset connection is an error, not a death */
    tb_signals_install(on_signal); /* stop gracefully: abort open multipart uploads, exit 75 */
    u.jobs = (int)jobs, u.quiet = co.quiet;
    tb_keyset_init(&u.keys);
    tb_err e = {0};
    if ((rc = tb_uri_parse(p.pos[0], &u.dest, &e))) { rc = tb_usage("upload", "%s", e.msg); goto usage; }
    if (u.dest.scheme == TB_URI_HTTP || u.dest.scheme == TB_URI_HTTPS || u.dest.scheme == TB_URI_HF) {
        rc = tb_usage("upload", "cannot upload to %s (read-only location)", p.pos[0]);
        goto out;
    }
    cfg.http.max_conns = (int)jobs;
    if ((rc = tb_store_open(&u.store, &u.dest, &cfg, &e))) { rc = tb_report("upload", &e); goto out; }
    if (p.npos > 1) {
        u.args = p.pos + 1;
        u.nargs = p.npos - 1;
        if ((rc = claim_args(&u, &e))) { rc = tb_report("upload", &e); goto out; }
    } else {
        tb_src_from_fd(&u.src, 0, 0, "stdin");
        tb_lines_init(&u.lines, &u.src, (size_t)max_line);
        u.have_lines = 1;
    }
    struct tb_xfer_cfg xc = {(int)jobs, part_size, threshold, (force ? TB_XFER_FORCE : 0) | (no_clobber ? TB_XFER_NO_CLOBBER : 0),
                             on_done, &u, "upload", co.quiet, &u.prog};
    tb_xfer_open(&u.x, u.store, &xc);
    tb_progress_init(&u.prog, "upload", tb_common_progress(&co, pmode), "files", "objects");
    if (tb_xfer_list_dest(u.store, &u.dest, &u.have, &e) == TB_EUNAVAIL) tb_xfer_stop(u.x, &e); /* unreachable */
    run(&u);
    rc = finish(&u);
out:
    tb_xfer_close(u.x);
    tb_xfer_listing_free(&u.have);
    tb_keyset_free(&u.keys);
    if (u.have_lines) { tb_lines_free(&u.lines); tb_src_close(&u.src); }
    tb_store_close(u.store);
    tb_uri_free(&u.dest);
usage:
    tb_opts_free(&p);
    return rc;
}
