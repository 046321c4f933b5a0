/* shard: NDJSON samples -> WebDataset tar shards, resumable and exactly once.
 * The mapping lives in lib/shard_sample.c, the tar bytes in lib/shard_io.c, the checkpoint in
 * lib/shard_state.c; this file owns the command line, the shard boundaries and the order of the
 * durable steps: shard fsynced and renamed -> state committed -> record printed. The record stream
 * ends with the trailer (lib/ndjson_trailer.h) only when everything succeeded, so a failed or killed shard
 * never looks complete to upload and manifest. */
#include "alloc.h"
#include "atomic.h"
#include "shard_bigline.h"
#include "commands.h"
#include "err.h"
#include "hash.h"
#include "ndjson.h"
#include "opts.h"
#include "progress.h"
#include "shard_sample.h"
#include "shard_io.h"
#include "shard_state.h"
#include "ndjson_trailer.h"
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { OPT_OUT = 1, OPT_PREFIX, OPT_MAXS, OPT_MAXB, OPT_COMPRESS, OPT_MTIME, OPT_SPLIT, OPT_STATE, OPT_RESTART,
       OPT_SKIP, OPT_REJECTS, OPT_PROGRESS, OPT_MAX_LINE, OPT_DEDUPE };

static const struct tb_opt shard_opts[] = {
    {OPT_OUT, 'o', "output", "DIR", "directory for the shards (created if missing)", "dir"},
    {OPT_PREFIX, 0, "prefix", "NAME", "shard names NAME-000000.tar, ... (default: the split name, else shard)", NULL},
    {OPT_MAXS, 0, "max-samples", "N", "samples per shard at most (default: 10000)", NULL},
    {OPT_MAXB, 0, "max-bytes", "SIZE", "close a shard before it would pass SIZE tar bytes (default: 1GiB)", NULL},
    {OPT_COMPRESS, 0, "compress", "ALGO", "compress shards: gzip (.tar.gz) or zstd (.tar.zst)", "gzip zstd none"},
    {OPT_MTIME, 0, "mtime", "T", "member mtime in seconds since the epoch (default: 0)", NULL},
    {OPT_SPLIT, 0, "split", "NAME", "split name copied into each record (default: $SPLIT)", NULL},
    {OPT_STATE, 0, "state", "FILE", "resume checkpoint (default: DIR/.trainbox-shard.state)", "file"},
    {OPT_RESTART, 0, "restart", NULL, "ignore and replace an existing state: start over", NULL},
    {OPT_SKIP, 0, "skip-invalid", NULL, "count, report and skip invalid lines instead of stopping", NULL},
    {OPT_REJECTS, 0, "rejects", "FILE", "with --skip-invalid: write the skipped lines to FILE", "file"},
    {OPT_DEDUPE, 0, "dedupe", NULL, "drop a sample whose key repeats the one before it (keep the first), and count them", NULL},
    {OPT_PROGRESS, 0, "progress", "[MODE]", "progress on stderr: auto, bar, json or none (default: auto)", "auto bar json none"},
    TB_OPT_MAX_LINE(OPT_MAX_LINE),
    TB_COMMON_OPTS,
    TB_OPT_END,
};

static int cmd_shard(int argc, char **argv);

const struct tb_cmd_spec tb_cmd_shard = {
    "shard", "write NDJSON samples into WebDataset tar shards", "[OPTIONS] -o DIR [FILE...]",
    "Read samples (one JSON object per line) from FILEs or stdin and write them as WebDataset tar shards\n"
    "DIR/NAME-000000.tar, ...: one member KEY.FIELD per field, in sorted field order. Print one JSON record\n"
    "per finished shard on stdout. Re-running the same command after a crash continues where it stopped.",
    shard_opts, cmd_shard,
};

struct buf { char *p; size_t n, cap; };

static void buf_set(struct buf *b, const char *s, size_t n)
{
    tb_xgrow_n(&b->p, &b->cap, n + 1, 1, 256);
    memcpy(b->p, s, n);
    b->p[n] = 0;
    b->n = n;
}

struct shard_ctx {
    /* options */
    const char *dir, *prefix, *split, *state_path, *rejects_path;
    unsigned long long max_samples, max_bytes, max_line;
    long long mtime;
    int compress, skip_invalid, dedupe, restart, progress;
    const char *ext;
    char *dir_buf, *state_buf;  /* the -o directory without trailing slashes; the default --state */
    /* running */
    struct tb_shardstate st;
    struct tb_sample smp;
    struct tb_bigline bl;      /* a line over the big-line threshold, decoded as it is read */
    uint64_t big_raw;          /* while one is handled: its length (rejects name it, not copy it) */
    struct tb_digest *dg;
    struct tb_afile af;
    struct tb_tarw tw;
    int open;                  /* a shard is being written */
    uint64_t shard_samples;
    struct buf first_key, last_key; /* last_key: of the last sample written, in any shard (or before a resume) */
    uint64_t last_line;        /* line of the last sample written */
    int rejects_fd;
    uint64_t rejects_bytes;
    struct tb_progress pg;
    struct tb_common_cfg co;
};

static int open_shard(struct shard_ctx *c, tb_err *e)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s-%06llu%s", c->dir, c->prefix, (unsigned long long)c->st.next_shard, c->ext);
    int r = tb_afile_open(&c->af, path, ".partial", e);
    if (r) return r;
    r = tb_tarw_open(&c->tw, c->af.fd, c->af.tmp, c->compress, c->mtime, c->dg, e);
    if (r) { tb_afile_abort(&c->af); return r; }
    c->open = 1;
    c->shard_samples = 0;
    return 0;
}

static void abandon_shard(struct shard_ctx *c)
{
    if (!c->open) return;
    tb_tarw_free(&c->tw);
    tb_afile_abort(&c->af);
    c->open = 0;
}

static char *make_record(struct shard_ctx *c, const char *path, uint64_t bytes, const char *sha, const char *md5)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) tb_oom(sizeof(cJSON));
    cJSON_AddStringToObject(o, "path", path);
    cJSON_AddNumberToObject(o, "bytes", (double)bytes);
    cJSON_AddStringToObject(o, "sha256", sha);
    cJSON_AddStringToObject(o, "md5", md5);
    cJSON_AddNumberToObject(o, "samples", (double)c->shard_samples);
    cJSON_AddStringToObject(o, "first_key", c->first_key.p);
    cJSON_AddStringToObject(o, "last_key", c->last_key.p);
    if (c->split) cJSON_AddStringToObject(o, "split", c->split);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!s) tb_oom(0);
    return s;
}

/* Commit point: everything up to input line `lines` (and byte `bytes`) is durable. */
static int save_state(struct shard_ctx *c, uint64_t lines, uint64_t bytes, tb_err *e)
{
    if (c->rejects_fd >= 0 && fsync(c->rejects_fd) != 0)
        return tb_fail_errno(e, 0, "fsync of %s failed", c->rejects_path);
    c->st.lines = lines;
    c->st.bytes = bytes;
    c->st.rejects_bytes = c->rejects_bytes;
    if (c->last_line) {
        c->st.last_line = c->last_line;
        int r = tb_shardstate_set_last_key(&c->st, c->last_key.p, c->last_key.n, e);
        if (r) return r;
    }
    return tb_shardstate_save(c->state_path, &c->st, e);
}

static int close_shard(struct shard_ctx *c, uint64_t lines, uint64_t bytes, tb_err *e)
{
    uint64_t size;
    char sha[65], md5[33];
    int r = tb_tarw_finish(&c->tw, &size, sha, md5, e);
    tb_tarw_free(&c->tw);
    char *path = tb_xstrdup(c->af.final);
    if (!r) r = tb_afile_commit(&c->af, e);
    else tb_afile_abort(&c->af);
    c->open = 0;
    char *rec = r ? NULL : make_record(c, path, size, sha, md5);
    free(path);
    if (!r) r = tb_shardstate_add_record(&c->st, rec, e);
    if (!r) {
        c->st.next_shard++;
        r = save_state(c, lines, bytes, e);
    }
    if (!r) {
        r = tb_write_line(stdout, rec, strlen(rec), e);
        if (!r && fflush(stdout) != 0) r = tb_fail_errno(e, TB_EIO, "write to stdout failed");
    }
    free(rec);
    c->pg.done++;
    return r;
}

/* Count and report a skipped line; with --rejects, append `line` (the line itself, or the entry
 * that names an over-long one) to the rejects file. */
static int reject(struct shard_ctx *c, const char *file, uint64_t lineno, const char *line, size_t len, const tb_err *why, tb_err *e)
{
    c->st.invalid++;
    if (!c->co.quiet) tb_warn("shard", "skipped line %llu of %s: %s", (unsigned long long)lineno, file, why->msg);
    if (c->rejects_fd < 0) return 0;
    char ent[8192];
    if (c->big_raw) { /* not held whole: named instead */
        len = tb_reject_entry(ent, sizeof ent, file, lineno, c->big_raw, why->msg);
        if (len >= sizeof ent) return tb_fail(e, TB_ESOFTWARE, "file name too long: %s", file);
        line = ent;
    }
    const char *parts[2] = {line, "\n"};
    size_t lens[2] = {len, 1};
    for (int i = 0; i < 2; i++) {
        const char *p = parts[i];
        size_t n = lens[i];
        while (n > 0) {
            ssize_t w = write(c->rejects_fd, p, n);
            if (w < 0) {
                if (errno == EINTR) continue;
                return tb_fail_errno(e, 0, "write to %s failed", c->rejects_path);
            }
            p += w;
            n -= (size_t)w;
            c->rejects_bytes += (uint64_t)w;
        }
    }
    return 0;
}

/* A line over --max-line, skipped (--skip-invalid): the rejects file names it, the line is not copied. */
static int reject_long(struct shard_ctx *c, const char *file, uint64_t lineno, uint64_t bytes, tb_err *e)
{
    tb_err why;
    tb_fail_long(&why, lineno, c->max_line);
    char ent[8192];
    size_t n = tb_reject_long(ent, sizeof ent, file, lineno, bytes, c->max_line);
    if (n >= sizeof ent) return tb_fail(e, TB_ESOFTWARE, "file name too long: %s", file);
    return reject(c, file, lineno, ent, n, &why, e);
}

/* One sample line (already known not to be part of the resumed prefix). */
static int add_line(struct shard_ctx *c, const char *file, uint64_t lineno, uint64_t gline, uint64_t bytes_before,
                    char *line, size_t len, tb_err *e)
{
    tb_err why; /* per line: no 1 KiB memset, only the fields read */
    why.code = 0;
    why.msg[0] = 0;
    int r = tb_sample_parse(&c->smp, line, len, c->st.samples, &why);
    if (r) {
        if (r == TB_EDATA && c->skip_invalid) return reject(c, file, lineno, line, len, &why, e);
        return tb_fail(e, r, "bad sample at line %llu of %s: %s", (unsigned long long)lineno, file, why.msg);
    }
    struct tb_sample *s = &c->smp;
    /* two consecutive samples with one key would read back as one sample with repeated fields */
    if (c->last_key.p && s->key_len == c->last_key.n && memcmp(s->key, c->last_key.p, s->key_len) == 0) {
        if (c->dedupe) { c->st.dupes++; return 0; }
        snprintf(why.msg, sizeof why.msg, "key '%.*s' repeats the key of the sample before it (use --dedupe to keep the first)",
                 (int)(s->key_len > 200 ? 200 : s->key_len), s->key);
        why.code = TB_EDATA;
        if (c->skip_invalid) return reject(c, file, lineno, line, len, &why, e);
        return tb_fail(e, TB_EDATA, "bad sample at line %llu of %s: %s", (unsigned long long)lineno, file, why.msg);
    }
    uint64_t size = 0;
    for (int i = 0; i < s->n; i++) size += tb_tar_member_size(s->key_len + 1 + s->m[i].field_len, s->m[i].len);
    if (c->open && c->shard_samples > 0 && c->tw.tar_bytes + size + TB_TAR_TRAILER > c->max_bytes) {
        r = close_shard(c, gline - 1, bytes_before, e);
        if (r) return r;
    }
    if (!c->open && (r = open_shard(c, e))) return r;
    for (int i = 0; i < s->n; i++) {
        r = tb_tarw_add(&c->tw, s->key, s->key_len, s->m[i].field, s->m[i].field_len, s->m[i].data, s->m[i].len, e);
        if (r) return r;
    }
    if (c->shard_samples == 0) buf_set(&c->first_key, s->key, s->key_len);
    buf_set(&c->last_key, s->key, s->key_len);
    c->last_line = gline;
    c->shard_samples++;
    c->st.samples++;
    return 0;
}

static void remove_partials(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    if (!d) return;
    size_t pl = strlen(prefix);
    struct dirent *de;
    char path[4096];
    while ((de = readdir(d))) {
        size_t n = strlen(de->d_name);
        if (n > pl + 9 && strncmp(de->d_name, prefix, pl) == 0 && de->d_name[pl] == '-' &&
            strcmp(de->d_name + n - 8, ".partial") == 0) {
            snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
            unlink(path);
        }
    }
    closedir(d);
}

static void options_hash(struct shard_ctx *c, char **files, int nfiles, char out[65])
{
    /* what decides the output bytes and records; not --state, --restart, --progress */
    size_t cap = 4096, n = 0;
    for (int i = 0; i < nfiles; i++) cap += strlen(files[i]) + 1;
    char *s = tb_xmalloc(cap);
    n += (size_t)snprintf(s + n, cap - n, "dir=%s\nprefix=%s\nmax_samples=%llu\nmax_bytes=%llu\ncompress=%d\nmtime=%lld\n"
                          "split=%s\nskip_invalid=%d\nrejects=%s\nfiles=%d\n", c->dir, c->prefix, c->max_samples, c->max_bytes,
                          c->compress, c->mtime, c->split ? c->split : "", c->skip_invalid, c->rejects_path ? c->rejects_path : "", nfiles);
    for (int i = 0; i < nfiles; i++) n += (size_t)snprintf(s + n, cap - n, "%s\n", files[i]);
    if (c->dedupe) n += (size_t)snprintf(s + n, cap - n, "dedupe=1\n"); /* only when set: older states stay valid */
    tb_sha256_hex(s, n, out);
    free(s);
}

struct run {
    uint64_t gline;        /* global line number of the line in hand */
    uint64_t gbytes;       /* global bytes consumed through the line in hand */
};

/* During the resumed prefix: check the line is the one the state remembers. */
static int check_prefix(struct shard_ctx *c, uint64_t gline, uint64_t gbytes, const char *line, size_t len,
                        const char *hash1, tb_err *e)
{
    if (gline == 1) {
        char h[65];
        if (hash1) memcpy(h, hash1, sizeof h);
        else tb_sha256_hex(line, len, h);
        if (strcmp(h, c->st.first_line) != 0)
            return tb_fail(e, TB_EDATA, "the input does not match the state %s (its first line differs): "
                           "run the same command on the same input, or use --restart", c->state_path);
    }
    if (gline == c->st.last_line && c->st.last_key) {
        tb_err ignore;
        if (tb_sample_parse(&c->smp, line, len, c->st.samples - 1, &ignore) != 0 || c->smp.key_len != strlen(c->st.last_key) ||
            memcmp(c->smp.key, c->st.last_key, c->smp.key_len) != 0)
            return tb_fail(e, TB_EDATA, "the input does not match the state %s (line %llu is not the sample '%s'): "
                           "run the same command on the same input, or use --restart", c->state_path,
                           (unsigned long long)gline, c->st.last_key);
    }
    if (gline == c->st.lines && gbytes != c->st.bytes)
        return tb_fail(e, TB_EDATA, "the input does not match the state %s (%llu lines are %llu bytes, not %llu): "
                       "run the same command on the same input, or use --restart", c->state_path,
                       (unsigned long long)gline, (unsigned long long)gbytes, (unsigned long long)c->st.bytes);
    return 0;
}

/* Read a line over the threshold into c->bl in pieces (hash1: also its sha256, for line 1).
 * 0 with c->bl.line ready; TB_LINE_LONG; TB_EDATA (c->bl cannot map it; e says why); -1 on error. */
static int read_big(struct shard_ctx *c, struct tb_lines *rd, char *hash1, tb_err *e)
{
    tb_bigline_reset(&c->bl);
    struct tb_digest *d = hash1 ? tb_digest_new() : NULL;
    if (hash1 && !d) tb_oom(0);
    const char *p;
    size_t n;
    int k;
    while ((k = tb_lines_big_next(rd, &p, &n, e)) == 1) {
        if (d) tb_digest_update(d, p, n);
        tb_bigline_feed(&c->bl, p, n);
    }
    if (d) {
        char md5[33];
        tb_digest_final(d, hash1, md5);
        tb_digest_free(d);
    }
    if (k != 0) return k;
    int r = tb_bigline_end(&c->bl, e);
    return r == TB_EDATA ? TB_EDATA : r ? -1 : 0;
}

/* Lines longer than this are read in pieces (TRAINBOX_BIG_LINE overrides it, for the tests): below
 * it a line is held whole with its parse (about 3x its size), above it about its decoded size. */
#define BIG_LINE_DEFAULT (8u << 20)

static int run_inputs(struct shard_ctx *c, char **files, int nfiles, tb_err *e)
{
    const char *bigenv = getenv("TRAINBOX_BIG_LINE");
    unsigned long long big = BIG_LINE_DEFAULT;
    if (bigenv && *bigenv && tb_parse_size(bigenv, &big)) big = BIG_LINE_DEFAULT;
    static char *stdin_only[] = {"-"};
    if (nfiles == 0) { files = stdin_only; nfiles = 1; }
    uint64_t gl = 0, gb = 0; /* lines and bytes of the files before this one */
    uint64_t resume_lines = c->st.lines;
    int r = 0;
    for (int f = 0; f < nfiles && !r; f++) {
        struct tb_src src;
        if ((r = tb_src_open_file(&src, files[f], e))) break;
        struct tb_lines rd;
        if (tb_lines_init(&rd, &src, (size_t)c->max_line) != 0) tb_oom(rd.cap);
        rd.keep_empty = 1;
        rd.skip_long = c->skip_invalid;
        tb_lines_set_big(&rd, (size_t)big);
        const char *fname = src.name;
        char *line;
        size_t len;
        for (;;) {
            uint64_t before = gb + rd.bytes;
            int k = tb_lines_next(&rd, &line, &len, e);
            char h1[65];
            const char *hash1 = NULL;
            if (k == TB_LINE_BIG) {
                int line1 = gl + rd.consumed + 1 == 1;
                k = read_big(c, &rd, line1 ? h1 : NULL, e);
                if (k == TB_EDATA) {
                    uint64_t gline = gl + rd.lineno;
                    tb_err why = *e;
                    if (line1 && resume_lines == 0) memcpy(c->st.first_line, h1, sizeof h1);
                    if (gline <= resume_lines) continue; /* skipped (--skip-invalid) before the resume point */
                    if (!c->skip_invalid) {
                        r = tb_fail(e, TB_EDATA, "bad sample at line %llu of %s: %s", (unsigned long long)rd.lineno, fname, why.msg);
                        break;
                    }
                    c->big_raw = c->bl.raw;
                    r = reject(c, fname, rd.lineno, NULL, 0, &why, e);
                    c->big_raw = 0;
                    if (r) break;
                    continue;
                }
                if (k == 0) {
                    k = 1;
                    line = c->bl.line;
                    len = c->bl.len;
                    if (line1) hash1 = h1;
                    c->big_raw = c->bl.raw;
                    tb_bigline_attach(&c->bl, &c->smp);
                }
            }
            if (k < 0) { r = e->code; tb_err_wrap(e, "%s", fname); break; }
            if (k == 0) break;
            uint64_t gline = gl + rd.lineno, gbytes = gb + rd.bytes;
            if (k == TB_LINE_LONG) {
                /* stands for the line in the resume checks: a first line this long is named by its length */
                char ref[64];
                len = (size_t)snprintf(ref, sizeof ref, "long line of %llu bytes", (unsigned long long)rd.long_len);
                line = ref;
                if (gline == 1 && resume_lines == 0) tb_sha256_hex(line, len, c->st.first_line);
                if (gline <= resume_lines) {
                    if ((r = check_prefix(c, gline, gbytes, line, len, NULL, e))) break;
                    continue;
                }
                if ((r = reject_long(c, fname, rd.lineno, rd.long_len, e))) break;
                continue;
            }
            if (gline == 1 && resume_lines == 0) {
                if (hash1) memcpy(c->st.first_line, hash1, 65);
                else tb_sha256_hex(line, len, c->st.first_line);
            }
            if (gline <= resume_lines) {
                r = check_prefix(c, gline, gbytes, line, len, hash1, e);
                if (c->big_raw) { c->big_raw = 0; tb_bigline_attach(NULL, &c->smp); }
                if (r) break;
                continue;
            }
            if (len == 0) continue;
            r = add_line(c, fname, rd.lineno, gline, before, line, len, e);
            if (c->big_raw) { c->big_raw = 0; tb_bigline_attach(NULL, &c->smp); }
            if (r) break;
            if (c->open && c->shard_samples >= c->max_samples && (r = close_shard(c, gline, gbytes, e))) break;
            c->pg.items++;
            c->pg.bytes = gbytes;
            tb_progress_tick(&c->pg);
        }
        gl += rd.consumed;
        gb += rd.bytes;
        tb_lines_free(&rd);
        tb_src_close(&src);
    }
    if (r) return r;
    if (gl < resume_lines)
        return tb_fail(e, TB_EDATA, "the input does not match the state %s (it has %llu lines, the state says %llu were consumed): "
                       "run the same command on the same input, or use --restart", c->state_path,
                       (unsigned long long)gl, (unsigned long long)resume_lines);
    if (c->open) return close_shard(c, gl, gb, e);
    if (gl > resume_lines) return save_state(c, gl, gb, e); /* trailing rejected or empty lines */
    return 0;
}

/* ---- the command: parse, check usage, open, act, report once ---- */

static void shard_defaults(struct shard_ctx *c)
{
    memset(c, 0, sizeof *c);
    c->prefix = "shard";
    c->max_samples = 10000;
    c->max_bytes = 1ull << 30;
    c->max_line = TB_MAX_LINE_DEFAULT;
    c->rejects_fd = -1;
    c->progress = TB_PROGRESS_AUTO;
    c->split = getenv("SPLIT");
    if (c->split && !*c->split) c->split = NULL;
    tb_shardstate_init(&c->st);
    tb_sample_init(&c->smp);
    tb_bigline_init(&c->bl);
}

/* Options and their usage checks: 0, or the exit code (usage printed; -1 after --help). */
static int parse_args(struct shard_ctx *c, struct tb_optparse *p)
{
    static const char *const compress_names[] = {"none", "gzip", "zstd", NULL};
    int o, bad = 0, prefix_given = 0;
    unsigned long long v;
    while (!bad && (o = tb_opts_next(p)) > 0) {
        switch (o) {
        case OPT_OUT: c->dir = p->arg; break;
        case OPT_PREFIX: prefix_given = 1; c->prefix = p->arg; break;
        case OPT_MAXS: bad = tb_opt_u64(p, &c->max_samples); break;
        case OPT_MAXB: bad = tb_opt_size(p, &c->max_bytes); break;
        case OPT_COMPRESS: bad = tb_opt_choice(p, compress_names, &c->compress); break;
        case OPT_MTIME:
            bad = tb_opt_u64(p, &v);
            if (!bad && v > 077777777777ull) bad = tb_usage("shard", "--mtime %llu does not fit a ustar header", v);
            c->mtime = (long long)v;
            break;
        case OPT_SPLIT: c->split = p->arg; break;
        case OPT_STATE: c->state_path = p->arg; break;
        case OPT_RESTART: c->restart = 1; break;
        case OPT_SKIP: c->skip_invalid = 1; break;
        case OPT_DEDUPE: c->dedupe = 1; break;
        case OPT_REJECTS: c->rejects_path = p->arg; break;
        case OPT_MAX_LINE: bad = tb_opt_max_line(p, &c->max_line); break;
        case OPT_PROGRESS:
            c->progress = tb_progress_parse(p->arg);
            if (c->progress < 0) bad = tb_usage("shard", "--progress wants auto, bar, json or none, not '%s'", p->arg);
            break;
        default: tb_common_opt(p, o, &c->co); break;
        }
    }
    if (bad) return bad;
    if (o < 0) return o == TB_OPTS_HELP ? -1 : TB_EUSAGE;
    if (!c->dir) return tb_usage("shard", "missing -o DIR");
    /* shards of several splits uploaded under one prefix must not collide: name them after the split */
    if (!prefix_given && c->split) c->prefix = c->split;
    if (c->max_samples == 0) return tb_usage("shard", "--max-samples must be at least 1");
    if (c->max_bytes < 2048) return tb_usage("shard", "--max-bytes must be at least 2048");
    if (!*c->prefix || strchr(c->prefix, '/')) return tb_usage("shard", "--prefix must be a non-empty name without '/'");
    if (c->rejects_path && !c->skip_invalid) return tb_usage("shard", "--rejects needs --skip-invalid");
    c->ext = c->compress == TB_COMPRESS_GZIP ? ".tar.gz" : c->compress == TB_COMPRESS_ZSTD ? ".tar.zst" : ".tar";
    /* the directory as given, without trailing slashes, so record paths read naturally */
    c->dir_buf = tb_xstrdup(c->dir);
    size_t dl = strlen(c->dir_buf);
    while (dl > 1 && c->dir_buf[dl - 1] == '/') c->dir_buf[--dl] = 0;
    c->dir = c->dir_buf;
    if (!c->state_path) {
        size_t n = dl + 32;
        c->state_buf = tb_xmalloc(n);
        snprintf(c->state_buf, n, "%s/.trainbox-shard.state", c->dir);
        c->state_path = c->state_buf;
    }
    return 0;
}

/* The state: started over (--restart), or loaded and checked against this command line. */
static int load_state(struct shard_ctx *c, char **files, int nfiles, tb_err *e)
{
    char opthash[65];
    options_hash(c, files, nfiles, opthash);
    int r = 0, found = 0;
    if (c->restart) {
        if (unlink(c->state_path) != 0 && errno != ENOENT) r = tb_fail_errno(e, TB_FROM_ERRNO_OUT, "cannot remove %s", c->state_path);
    } else {
        r = tb_shardstate_load(c->state_path, &c->st, &found, e);
        if (!r && found && strcmp(c->st.options, opthash) != 0)
            r = tb_fail(e, TB_EDATA, "the state %s was written by a different command line: "
                        "run the same command on the same input, or use --restart", c->state_path);
    }
    memcpy(c->st.options, opthash, sizeof opthash);
    /* the repeated-key check goes on across the resume: against the last sample written before it */
    if (!r && c->st.last_key) buf_set(&c->last_key, c->st.last_key, strlen(c->st.last_key));
    return r;
}

/* Back to where the state says: no partial shards, the finished ones' records printed again (so a
 * downstream that died too gets them), the rejects file cut to its committed length. */
static int resume(struct shard_ctx *c, tb_err *e)
{
    remove_partials(c->dir, c->prefix);
    for (size_t i = 0; i < c->st.nrec; i++) {
        int r = tb_write_line(stdout, c->st.records[i], strlen(c->st.records[i]), e);
        if (r) return r;
    }
    if (fflush(stdout) != 0) return tb_fail_errno(e, TB_EIO, "write to stdout failed");
    if (c->rejects_path) {
        c->rejects_fd = open(c->rejects_path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (c->rejects_fd < 0) return tb_fail_errno(e, TB_FROM_ERRNO_OUT, "cannot open %s", c->rejects_path);
        c->rejects_bytes = c->st.rejects_bytes;
        /* drop what a crashed run rejected after its last commit: it is rejected again below */
        if (ftruncate(c->rejects_fd, (off_t)c->st.rejects_bytes) != 0 || lseek(c->rejects_fd, 0, SEEK_END) < 0)
            return tb_fail_errno(e, 0, "cannot truncate %s", c->rejects_path);
    }
    return 0;
}

static void shard_free(struct shard_ctx *c)
{
    if (c->rejects_fd >= 0) close(c->rejects_fd);
    tb_digest_free(c->dg);
    tb_sample_free(&c->smp);
    tb_bigline_free(&c->bl);
    tb_shardstate_free(&c->st);
    free(c->first_key.p);
    free(c->last_key.p);
    free(c->state_buf);
    free(c->dir_buf);
}

static int cmd_shard(int argc, char **argv)
{
    struct shard_ctx c;
    shard_defaults(&c);
    struct tb_optparse p;
    tb_opts_init(&p, &tb_cmd_shard, argc, argv);
    int r = parse_args(&c, &p);
    if (!r) {
        tb_err e = {0};
        r = tb_mkdirs(c.dir, &e);
        if (!r) r = load_state(&c, p.pos, p.npos, &e);
        if (!r) r = resume(&c, &e);
        if (!r && !(c.dg = tb_digest_new())) tb_oom(0);
        tb_progress_init(&c.pg, "shard", tb_common_progress(&c.co, c.progress), "samples", "shards");
        c.pg.done = c.st.next_shard;
        if (!r) r = run_inputs(&c, p.pos, p.npos, &e);
        /* every record printed, the resumed ones included, is in the state */
        if (!r) r = tb_trailer_write(stdout, c.st.nrec, &e);
        abandon_shard(&c);
        tb_progress_end(&c.pg);
        if (!r && c.st.invalid && !c.co.quiet) tb_warn("shard", "%llu invalid lines skipped", (unsigned long long)c.st.invalid);
        if (!r && c.st.dupes && !c.co.quiet)
            tb_warn("shard", "%llu samples dropped: their key repeated the sample's before (--dedupe)", (unsigned long long)c.st.dupes);
        if (r) r = tb_report("shard", &e);
    }
    shard_free(&c);
    tb_opts_free(&p);
    return r < 0 ? 0 : r;
}
