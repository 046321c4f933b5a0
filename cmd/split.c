/* split: deterministic partitioning of NDJSON lines into named splits (--ratio) and into this rank's
 * share (--rank/--world-size), streaming unless --sort, --shuffle or --balance need every item. */
#include "atomic.h"
#include "commands.h"
#include "err.h"
#include "grow.h"
#include "hash.h"
#include "json.h"
#include "linepick.h"
#include "mapread.h"
#include "nlscan.h"
#include "ndjson.h"
#include "opts.h"
#include "progress.h"
#include "split.h"
#include "trailer.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __SSE2__
#endif

enum {
    OPT_RATIO = 1, OPT_OUTPUT, OPT_FILTER, OPT_KEY, OPT_SEED, OPT_RANK, OPT_WORLD, OPT_BY, OPT_SORT,
    OPT_BALANCE, OPT_REQUIRE_EACH, OPT_SHUFFLE, OPT_EPOCH, OPT_SKIP, OPT_SKIP_INVALID, OPT_REJECTS,
    OPT_MAX_LINE, OPT_PROGRESS,
};

static const struct tb_opt split_opts[] = {
    {OPT_RATIO, 0, "ratio", "SPEC", "route lines to named splits by weight, e.g. train=98,val=1,test=1", NULL},
    {OPT_OUTPUT, 'o', "output", "DIR", "write each split to DIR/NAME.jsonl (atomically)", "dir"},
    {OPT_FILTER, 0, "filter", "CMD", "pipe each split into `sh -c CMD` with SPLIT=NAME set", "cmd"},
    {OPT_KEY, 0, "key", "FIELD", "hash this field instead of __key__ (or of the whole line)", NULL},
    {OPT_SEED, 0, "seed", "N", "seed of the keyed hash and of the shuffle (default 0)", NULL},
    {OPT_RANK, 0, "rank", "R", "keep only rank R's lines (default $RANK, $SLURM_PROCID, $JOB_COMPLETION_INDEX)", NULL},
    {OPT_WORLD, 0, "world-size", "N", "number of ranks (default $WORLD_SIZE, $SLURM_NTASKS)", NULL},
    {OPT_BY, 0, "by", "index|hash", "rank assignment: line i to rank i mod N (default), or by key hash", "index hash"},
    {OPT_SORT, 0, "sort", NULL, "sort items by key first, so any input order partitions the same", NULL},
    {OPT_BALANCE, 0, "balance", "bytes", "give ranks near-equal totals of the records' \"bytes\"", "bytes"},
    {OPT_REQUIRE_EACH, 0, "require-each", NULL, "fail (exit 65) when any rank would get nothing", NULL},
    {OPT_SHUFFLE, 0, "shuffle", NULL, "shuffle this rank's items, deterministically per --seed and --epoch", NULL},
    {OPT_EPOCH, 0, "epoch", "E", "epoch number for --shuffle (default 0)", NULL},
    {OPT_SKIP, 0, "skip", "K", "skip the first K items of this rank's sequence (resume mid-epoch)", NULL},
    {OPT_SKIP_INVALID, 0, "skip-invalid", NULL, "count and report invalid lines instead of failing", NULL},
    {OPT_REJECTS, 0, "rejects", "FILE", "with --skip-invalid, write invalid lines to FILE", "file"},
    TB_OPT_MAX_LINE(OPT_MAX_LINE),
    {OPT_PROGRESS, 0, "progress", "[MODE]", "progress on stderr: auto (default), bar, json, none", NULL},
    TB_COMMON_OPTS,
    TB_OPT_END,
};

static int cmd_split(int argc, char **argv);

const struct tb_cmd_spec tb_cmd_split = {
    "split",
    "partition NDJSON lines into train/val/test splits and rank shares",
    "--ratio SPEC [-o DIR | --filter CMD] [OPTIONS] [FILE...]\n"
    "--world-size N [--rank R] [--by index|hash] [--sort] [--shuffle --epoch E] [OPTIONS] [FILE...]",
    "Each line goes to one split chosen by a keyed hash (SipHash-2-4, --seed) of its __key__, of the\n"
    "field named by --key, or of the whole line when it has no key: the same key lands in the same split\n"
    "whatever the input order, on any machine. With neither -o nor --filter, lines get a \"split\" field.\n"
    "Rank options keep only this rank's lines. Streaming with bounded memory, except that --sort,\n"
    "--shuffle and --balance hold all items.",
    split_opts,
    cmd_split,
};

/* ---- filter children ---- */

struct child {
    pid_t pid;
    int in_fd, out_fd;   /* our ends: write to its stdin, read its stdout */
    char *wbuf;
    size_t wlen, wcap;
    char *rbuf;
    size_t rlen, rcap;
    int out_eof, broken;
    /* its record stream: lines relayed, and its trailer, which is held back (split writes one for all) */
    uint64_t lines, trailer_n;
    int trailer;            /* 1: it wrote a valid trailer; -1: something was wrong with it (bad) */
    tb_err bad;
};

struct item {               /* an item held for --sort/--shuffle/--balance */
    uint64_t off;           /* line text in the arena */
    uint32_t len, keylen;   /* key text follows the line in the arena */
    uint64_t bytes;
    uint64_t rank_hash;
    int split;
    int is_obj;
};

struct ctx {
    /* options */
    struct tb_ratio ratio;
    int have_ratio;
    const char *outdir, *filter, *keyfield, *rejects_path;
    uint64_t seed, epoch, skip;
    uint8_t key_split[16], key_rank[16]; /* SipHash keys derived from seed once */
    uint32_t rank, world;
    int rank_mode, by_hash, sort, shuffle, balance, require_each, skip_invalid;
    unsigned long long max_line;
    int progress_mode;
    struct tb_common_cfg co;
    /* outputs */
    struct tb_afile *files;
    uint64_t out_bytes[TB_RATIO_MAX]; /* bytes since the last writeback hint, per split file */
    struct child *kids;
    int nkids;
    int write_trailer;          /* the children's output was a complete record stream */
    uint64_t trailer_records;   /* records in it */
    struct tb_afile rejects;
    int rejects_open;
    const char *cur_name;   /* the input being read, for --rejects entries */
    /* state */
    struct tb_json json;
    const char *src_name;   /* the input being read, named in every line's error */
    char *scratch;          /* unescaped key; output line with a split field */
    size_t scratch_cap;
    uint64_t index, invalid, emitted;
    uint32_t index_mod; /* index % world, kept without a division */
    uint64_t *rank_counts;
    uint32_t ranks_nonzero;
    int pending_mode;       /* --require-each in streaming mode: hold output until every rank has one */
    char *pend;             /* pending records: [int split][uint32 len][bytes] */
    size_t pend_len, pend_cap;
    /* hold mode */
    int hold;
    char *arena;
    size_t arena_len, arena_cap;
    struct item *items;
    size_t nitems, items_cap;
    struct tb_progress prog;
};

/* One complete line of a child's output: relayed, unless it is the child's trailer, which is only
 * noted (and checked: its count, and that nothing follows it). */
static void forward_line(struct child *k, const char *line, size_t len)
{
    uint64_t n;
    tb_err e;
    int t = k->trailer < 0 ? 0 : tb_trailer_parse(line, len, &n, &e);
    if (k->trailer == 1 && (len || t)) {
        k->trailer = -1;
        tb_fail(&k->bad, TB_EDATA, "a line after its trailer");
    }
    if (t < 0) {
        k->trailer = -1;
        k->bad = e;
        return;
    }
    if (t == 1) {
        if (k->trailer == 0 && n != k->lines) {
            k->trailer = -1;
            tb_fail(&k->bad, TB_EDATA, "its trailer counts %llu records, it printed %llu", (unsigned long long)n,
                    (unsigned long long)k->lines);
        } else if (k->trailer == 0) {
            k->trailer = 1;
            k->trailer_n = n;
        }
        return;
    }
    fwrite(line, 1, len, stdout);
    fputc('\n', stdout);
    if (len) k->lines++;
}

static void forward_lines(struct child *k, int final)
{
    size_t pos = 0;
    for (;;) {
        char *nl = memchr(k->rbuf + pos, '\n', k->rlen - pos);
        if (!nl) break;
        size_t n = (size_t)(nl - (k->rbuf + pos));
        forward_line(k, k->rbuf + pos, n);
        pos += n + 1;
    }
    /* a last line without newline: still passed through whole */
    if (final && k->rlen > pos) { forward_line(k, k->rbuf + pos, k->rlen - pos); pos = k->rlen; }
    if (!pos) return;
    memmove(k->rbuf, k->rbuf + pos, k->rlen - pos);
    k->rlen -= pos;
}

/* Move bytes between us and the children until child `wait_for` (or all, with -1) has at most
 * `low` bytes queued for its stdin; with drain, until every child's stdout reached EOF. */
static int pump(struct ctx *c, int wait_for, size_t low, int drain, tb_err *e)
{
    struct pollfd pf[2 * TB_RATIO_MAX];
    for (;;) {
        int done = 1;
        if (drain) {
            for (int i = 0; i < c->nkids; i++) if (!c->kids[i].out_eof) done = 0;
        } else {
            for (int i = 0; i < c->nkids; i++)
                if ((wait_for < 0 || wait_for == i) && !c->kids[i].broken && c->kids[i].wlen > low) done = 0;
        }
        if (done) return 0;
        int n = 0;
        for (int i = 0; i < c->nkids; i++) {
            struct child *k = &c->kids[i];
            if (k->in_fd >= 0 && k->wlen && !k->broken) pf[n++] = (struct pollfd){k->in_fd, POLLOUT, 0};
            if (!k->out_eof) pf[n++] = (struct pollfd){k->out_fd, POLLIN, 0};
        }
        if (n == 0) return 0;
        if (poll(pf, (nfds_t)n, -1) < 0) {
            if (errno == EINTR) continue;
            return tb_fail_errno(e, TB_EIO, "poll on filter pipes failed");
        }
        for (int p = 0; p < n; p++) {
            if (!pf[p].revents) continue;
            struct child *k = NULL;
            int is_in = 0;
            for (int i = 0; i < c->nkids; i++) {
                if (c->kids[i].in_fd == pf[p].fd && pf[p].events == POLLOUT) { k = &c->kids[i]; is_in = 1; }
                else if (c->kids[i].out_fd == pf[p].fd && pf[p].events == POLLIN) k = &c->kids[i];
            }
            if (!k) continue;
            if (is_in) {
                ssize_t w = write(k->in_fd, k->wbuf, k->wlen);
                if (w < 0) {
                    if (errno == EAGAIN || errno == EINTR) continue;
                    k->broken = 1; /* the child stopped reading: its exit status tells why */
                    k->wlen = 0;
                    continue;
                }
                memmove(k->wbuf, k->wbuf + w, k->wlen - (size_t)w);
                k->wlen -= (size_t)w;
            } else {
                if (tb_grow(&k->rbuf, &k->rcap, k->rlen + 65536)) return tb_fail(e, TB_ESOFTWARE, "out of memory");
                ssize_t r = read(k->out_fd, k->rbuf + k->rlen, k->rcap - k->rlen);
                if (r < 0) {
                    if (errno == EAGAIN || errno == EINTR) continue;
                    return tb_fail_errno(e, TB_EIO, "read from filter failed");
                }
                if (r == 0) { k->out_eof = 1; forward_lines(k, 1); continue; }
                k->rlen += (size_t)r;
                forward_lines(k, 0);
            }
        }
    }
}

static int start_children(struct ctx *c, tb_err *e)
{
    signal(SIGPIPE, SIG_IGN);
    fflush(stdout);
    c->kids = calloc((size_t)c->ratio.n, sizeof *c->kids);
    if (!c->kids) return tb_fail(e, TB_ESOFTWARE, "out of memory");
    for (int i = 0; i < c->ratio.n; i++) {
        int in[2], out[2];
        if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC)) return tb_fail_errno(e, TB_ESOFTWARE, "pipe failed");
        pid_t pid = fork();
        if (pid < 0) return tb_fail_errno(e, TB_ESOFTWARE, "fork failed");
        if (pid == 0) {
            dup2(in[0], 0);
            dup2(out[1], 1);
            setenv("SPLIT", c->ratio.names[i], 1);
            signal(SIGPIPE, SIG_DFL);
            execl("/bin/sh", "sh", "-c", c->filter, (char *)NULL);
            _exit(127);
        }
        close(in[0]);
        close(out[1]);
        fcntl(in[1], F_SETFL, O_NONBLOCK);
        fcntl(out[0], F_SETFL, O_NONBLOCK);
        c->kids[i] = (struct child){.pid = pid, .in_fd = in[1], .out_fd = out[0]};
        c->nkids++;
    }
    return 0;
}

static void kill_children(struct ctx *c)
{
    for (int i = 0; i < c->nkids; i++) {
        struct child *k = &c->kids[i];
        if (k->in_fd >= 0) close(k->in_fd);
        k->in_fd = -1;
        kill(k->pid, SIGTERM);
    }
    for (int i = 0; i < c->nkids; i++) waitpid(c->kids[i].pid, NULL, 0);
    c->nkids = 0;
}

static int finish_children(struct ctx *c, tb_err *e)
{
    int r = pump(c, -1, 0, 0, e);
    if (r) return r;
    for (int i = 0; i < c->nkids; i++) { close(c->kids[i].in_fd); c->kids[i].in_fd = -1; }
    r = pump(c, -1, 0, 1, e);
    if (r) return r;
    int worst = 0;
    for (int i = 0; i < c->nkids; i++) {
        int st;
        while (waitpid(c->kids[i].pid, &st, 0) < 0 && errno == EINTR) {}
        int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        if (code && !worst) {
            worst = code;
            tb_fail(e, code > 125 ? TB_ESOFTWARE : code, "filter for split '%s' %s %d", c->ratio.names[i],
                    WIFEXITED(st) ? "exited with status" : "was killed by signal", WIFEXITED(st) ? code : WTERMSIG(st));
        }
    }
    c->nkids = 0;
    if (worst) return e->code;
    /* The children's output is a record stream when any of them ended it with a trailer (shard
     * does): then each must have, and split writes one for all. Children that print no trailer at
     * all (a filter writing files, or passing samples on) make no record stream: no trailer. */
    int any = 0;
    for (int i = 0; i < c->ratio.n; i++) {
        struct child *k = &c->kids[i];
        if (k->trailer < 0)
            return tb_fail(e, TB_EDATA, "filter for split '%s' wrote a bad record stream: %s", c->ratio.names[i], k->bad.msg);
        if (k->trailer) any = 1;
    }
    for (int i = 0; any && i < c->ratio.n; i++) {
        struct child *k = &c->kids[i];
        if (!k->trailer)
            return tb_fail(e, TB_EDATA, "filter for split '%s' ended without a trailer after %llu records: its output is incomplete",
                           c->ratio.names[i], (unsigned long long)k->lines);
        c->trailer_records += k->trailer_n;
    }
    c->write_trailer = any;
    return 0;
}

/* ---- emitting ---- */

/* The line with "split":NAME set (replacing an existing top-level "split" field). */
static int with_split_field(struct ctx *c, const char *line, size_t len, int s, const char **out, size_t *outlen, tb_err *e)
{
    const char *name = c->ratio.names[s];
    if (tb_grow(&c->scratch, &c->scratch_cap, len + strlen(name) + 16)) return tb_fail(e, TB_ESOFTWARE, "out of memory");
    if ((c->json.text != line || c->json.len != len) && tb_json_scan_object(&c->json, line, len, e)) return e->code;
    char *o = c->scratch;
    size_t n = 0;
    int v = tb_json_field(&c->json, "split");
    size_t cut_a = 0, cut_b = 0; /* remove line[cut_a, cut_b) */
    if (v > 0) {
        struct tb_jtok kt = tb_json_tok(&c->json, v - 1);
        int nx = tb_json_skip(&c->json, v);
        struct tb_jtok vt = tb_json_tok(&c->json, v);
        cut_a = (size_t)kt.start - 1;
        cut_b = (size_t)vt.end + (vt.type == TB_JSON_STRING);
        /* take the following comma, or else the preceding one */
        size_t k = cut_b;
        while (k < len && (line[k] == ' ' || line[k] == '\t')) k++;
        if (k < len && line[k] == ',') cut_b = k + 1;
        else {
            size_t a = cut_a;
            while (a > 0 && (line[a - 1] == ' ' || line[a - 1] == '\t')) a--;
            if (a > 0 && line[a - 1] == ',') cut_a = a - 1;
        }
        (void)nx;
    }
    struct tb_jtok root = tb_json_tok(&c->json, 0);
    size_t close = (size_t)root.end - 1; /* the closing brace */
    for (size_t i = 0; i < close; i++) if (i < cut_a || i >= cut_b) o[n++] = line[i];
    /* does anything remain inside the braces? */
    int empty = 1;
    for (size_t i = 1; i < n; i++) if (o[i] != ' ' && o[i] != '\t' && o[i] != '\r' && o[i] != '\n') { empty = 0; break; }
    n += (size_t)sprintf(o + n, "%s\"split\":\"%s\"}", empty ? "" : ",", name);
    memcpy(o + n, line + close + 1, len - close - 1);
    n += len - close - 1;
    *out = o;
    *outlen = n;
    return 0;
}

static int emit(struct ctx *c, const char *line, size_t len, int s, tb_err *e)
{
    c->emitted++;
    if (!c->have_ratio) return tb_write_line(stdout, line, len, e);
    if (c->outdir) {
        c->out_bytes[s] += len + 1;
        if (c->out_bytes[s] >= (64u << 20)) { c->out_bytes[s] = 0; tb_afile_writeback(&c->files[s]); }
        return tb_write_line(c->files[s].fp, line, len, e);
    }
    if (c->filter) {
        struct child *k = &c->kids[s];
        if (k->broken) return 0;
        if (tb_grow(&k->wbuf, &k->wcap, k->wlen + len + 1)) return tb_fail(e, TB_ESOFTWARE, "out of memory");
        memcpy(k->wbuf + k->wlen, line, len);
        k->wbuf[k->wlen + len] = '\n';
        k->wlen += len + 1;
        if (k->wlen > (1u << 20)) return pump(c, s, 1u << 16, 0, e);
        return 0;
    }
    const char *o = NULL;
    size_t on = 0;
    int r = with_split_field(c, line, len, s, &o, &on, e);
    if (r) return r;
    return tb_write_line(stdout, o, on, e);
}

static int pend_add(struct ctx *c, const char *line, size_t len, int s, tb_err *e)
{
    uint32_t l = (uint32_t)len;
    if (tb_grow(&c->pend, &c->pend_cap, c->pend_len + sizeof s + sizeof l + len)) return tb_fail(e, TB_ESOFTWARE, "out of memory");
    memcpy(c->pend + c->pend_len, &s, sizeof s);
    memcpy(c->pend + c->pend_len + sizeof s, &l, sizeof l);
    memcpy(c->pend + c->pend_len + sizeof s + sizeof l, line, len);
    c->pend_len += sizeof s + sizeof l + len;
    return 0;
}

static int pend_flush(struct ctx *c, tb_err *e)
{
    size_t p = 0;
    while (p < c->pend_len) {
        int s;
        uint32_t l;
        memcpy(&s, c->pend + p, sizeof s);
        memcpy(&l, c->pend + p + sizeof s, sizeof l);
        /* emit may reuse scratch but never pend: safe to pass a span of pend */
        int r = emit(c, c->pend + p + sizeof s + sizeof l, l, s, e);
        if (r) return r;
        p += sizeof s + sizeof l + l;
    }
    c->pend_len = 0;
    c->pending_mode = 0;
    return 0;
}

/* ---- per-line work ---- */

static int reject(struct ctx *c, const char *line, size_t len, uint64_t lineno, tb_err *why, tb_err *e)
{
    if (!c->skip_invalid) return tb_fail(e, TB_EDATA, "line %llu of %s: %s", (unsigned long long)lineno, c->src_name, why->msg);
    c->invalid++;
    if (c->invalid <= 10 && !c->co.quiet) tb_warn("split", "line %llu of %s: %s (skipped)", (unsigned long long)lineno, c->src_name, why->msg);
    if (c->rejects_open) return tb_write_line(c->rejects.fp, line, len, e);
    return 0;
}

/* A line over --max-line: an error, or with --skip-invalid skipped; --rejects names it (never copies it). */
static int reject_long(struct ctx *c, uint64_t lineno, uint64_t bytes, tb_err *e)
{
    if (!c->skip_invalid) return tb_fail_long(e, lineno, c->max_line);
    c->invalid++;
    if (c->invalid <= 10)
        tb_warn("split", "line %llu: longer than --max-line (%llu bytes) (skipped)", (unsigned long long)lineno, c->max_line);
    if (!c->rejects_open) return 0;
    char ent[8192];
    size_t n = tb_reject_long(ent, sizeof ent, c->cur_name, lineno, bytes, c->max_line);
    if (n >= sizeof ent) return tb_fail(e, TB_ESOFTWARE, "file name too long: %s", c->cur_name);
    return tb_write_line(c->rejects.fp, ent, n, e);
}

/* Find the key bytes of a line. Returns 0 and sets key/klen/is_obj, or TB_EDATA with the reason. */
static int line_key(const struct ctx *c, struct tb_json *json, char **scratch, size_t *scap, const char *line, size_t len,
                    const char **key, size_t *klen, int *is_obj, tb_err *e)
{
    size_t i = 0;
    while (i < len && (line[i] == ' ' || line[i] == '\t')) i++;
    *is_obj = 0;
    int need_json = c->keyfield || (c->have_ratio && !c->outdir && !c->filter) || c->balance;
    if (i == len || line[i] != '{') {
        if (need_json) return tb_fail(e, TB_EDATA, "not a JSON object");
        *key = line;
        *klen = len;
        return 0;
    }
    if (tb_json_scan_object(json, line, len, e)) return e->code;
    *is_obj = 1;
    const char *field = c->keyfield ? c->keyfield : "__key__";
    int v = tb_json_field(json, field);
    if (v < 0) {
        if (c->keyfield) return tb_fail(e, TB_EDATA, "no field \"%s\" (--key)", c->keyfield);
        *key = line;
        *klen = len;
        return 0;
    }
    struct tb_jtok t = tb_json_tok(json, v);
    if (t.type == TB_JSON_STRING) {
        size_t raw = (size_t)(t.end - t.start);
        if (!memchr(line + t.start, '\\', raw)) { *key = line + t.start; *klen = raw; return 0; }
        if (tb_grow(scratch, scap, raw + 1)) return tb_fail(e, TB_ESOFTWARE, "out of memory");
        long n = tb_json_unescape(json, v, *scratch, *scap);
        *key = *scratch;
        *klen = (size_t)n;
        return 0;
    }
    if (t.type == TB_JSON_PRIMITIVE) { *key = line + t.start; *klen = (size_t)(t.end - t.start); return 0; }
    return tb_fail(e, TB_EDATA, "field \"%s\" is not a string or number", field);
}

static int record_bytes(struct ctx *c, uint64_t *out, tb_err *e)
{
    int v = tb_json_field(&c->json, "bytes");
    if (v < 0) return tb_fail(e, TB_EDATA, "no \"bytes\" field (needed by --balance bytes)");
    struct tb_jtok t = tb_json_tok(&c->json, v);
    const char *s = c->json.text + t.start;
    uint64_t x = 0;
    int n = t.end - t.start;
    if (t.type != TB_JSON_PRIMITIVE || n == 0 || n > 19) return tb_fail(e, TB_EDATA, "\"bytes\" is not a non-negative integer");
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return tb_fail(e, TB_EDATA, "\"bytes\" is not a non-negative integer");
        x = x * 10 + (uint64_t)(s[i] - '0');
    }
    *out = x;
    return 0;
}

static void count_rank(struct ctx *c, uint32_t r)
{
    if (c->rank_counts[r]++ == 0) c->ranks_nonzero++;
}

/* The split of a key (--ratio), and its rank by hash (--by hash): the same on either thread. */
static int split_of(const struct ctx *c, const char *key, size_t klen)
{
    return c->have_ratio ? tb_ratio_pick(&c->ratio, tb_siphash24(c->key_split, key, klen)) : 0;
}

static uint32_t hash_rank_of(const struct ctx *c, const char *key, size_t klen)
{
    return c->by_hash ? tb_hash_below(tb_siphash24(c->key_rank, key, klen), c->world) : 0;
}

/* Make room for `need` elements of `size` bytes in *buf (capacity *cap, doubling from `first`). */
/* A streaming line whose split s (and, by hash, rank rh) is known: rank filter, --skip, hold-back
 * for --require-each, then out. */
static int route(struct ctx *c, const char *line, size_t len, int s, uint32_t rh, tb_err *e)
{
    if (c->rank_mode) {
        /* index mode keeps i mod N as a wrapping counter: a 64-bit division per line was a third of
         * this mode's time */
        uint32_t r = c->by_hash ? rh : c->index_mod;
        if (++c->index_mod == c->world) c->index_mod = 0;
        c->index++;
        if (c->require_each) count_rank(c, r);
        if (r != c->rank) return 0;
    }
    if (c->skip) { c->skip--; return 0; }
    if (c->pending_mode) {
        int r = pend_add(c, line, len, s, e);
        if (r) return r;
        if (c->ranks_nonzero == c->world) return pend_flush(c, e);
        return 0;
    }
    return emit(c, line, len, s, e);
}

static int process_line(struct ctx *c, const char *line, size_t len, uint64_t lineno, tb_err *e)
{
    const char *key = NULL;
    size_t klen = 0;
    int is_obj = 0;
    tb_err why; /* per line: no 1 KiB memset, only the fields read */
    why.code = 0;
    why.msg[0] = 0;
    c->json.text = NULL; /* the scanner holds no line until line_key scans this one */
    /* index-mode rank filtering alone needs no key: the line is passed on untouched, unparsed */
    int need_key = c->have_ratio || c->by_hash || c->hold;
    if (need_key && line_key(c, &c->json, &c->scratch, &c->scratch_cap, line, len, &key, &klen, &is_obj, &why)) {
        if (why.code != TB_EDATA) { *e = why; return why.code; }
        return reject(c, line, len, lineno, &why, e);
    }
    uint64_t bytes = 0;
    if (c->balance && record_bytes(c, &bytes, &why)) return reject(c, line, len, lineno, &why, e);
    int s = split_of(c, key, klen);

    if (c->hold) {
        if (tb_grow(&c->arena, &c->arena_cap, c->arena_len + len + klen)) return tb_fail(e, TB_ESOFTWARE, "out of memory");
        if (tb_grow_n(&c->items, &c->items_cap, c->nitems + 1, sizeof *c->items, 4096)) return tb_fail(e, TB_ESOFTWARE, "out of memory");
        if (len > UINT32_MAX || klen > UINT32_MAX) return tb_fail(e, TB_EDATA, "line %llu of %s too long to hold", (unsigned long long)lineno, c->src_name);
        struct item *it = &c->items[c->nitems++];
        it->off = c->arena_len;
        it->len = (uint32_t)len;
        it->keylen = (uint32_t)klen;
        it->bytes = bytes;
        it->rank_hash = c->by_hash ? tb_siphash24(c->key_rank, key, klen) : 0;
        it->split = s;
        it->is_obj = is_obj;
        memcpy(c->arena + c->arena_len, line, len);
        memcpy(c->arena + c->arena_len + len, key, klen);
        c->arena_len += len + klen;
        return 0;
    }

    return route(c, line, len, s, hash_rank_of(c, key, klen), e);
}

/* ---- hold mode: --sort, --shuffle, --balance ---- */

static int cmp_items(const void *a, const void *b, void *arg)
{
    const struct ctx *c = arg;
    const struct item *x = &c->items[*(const uint32_t *)a], *y = &c->items[*(const uint32_t *)b];
    size_t n = x->keylen < y->keylen ? x->keylen : y->keylen;
    int r = memcmp(c->arena + x->off + x->len, c->arena + y->off + y->len, n);
    if (r) return r;
    if (x->keylen != y->keylen) return x->keylen < y->keylen ? -1 : 1;
    n = x->len < y->len ? x->len : y->len;
    r = memcmp(c->arena + x->off, c->arena + y->off, n);
    if (r) return r;
    return x->len < y->len ? -1 : x->len > y->len;
}

static int run_hold(struct ctx *c, tb_err *e)
{
    size_t n = c->nitems;
    if (n > UINT32_MAX) return tb_fail(e, TB_EDATA, "too many items to hold (%zu)", n);
    uint32_t *order = malloc(sizeof *order * (n ? n : 1));
    uint32_t *rank = malloc(sizeof *rank * (n ? n : 1));
    uint64_t *bytes = c->balance ? malloc(sizeof *bytes * (n ? n : 1)) : NULL;
    int r = 0;
    if (!order || !rank || (c->balance && !bytes)) { r = tb_fail(e, TB_ESOFTWARE, "out of memory"); goto out; }
    for (size_t i = 0; i < n; i++) order[i] = (uint32_t)i;
    if (c->sort) qsort_r(order, n, sizeof *order, cmp_items, c);
    /* rank of each item (indexed by item): balance works on the (sorted) input order, hash on keys */
    if (c->balance) {
        uint32_t *pos_rank = malloc(sizeof *pos_rank * (n ? n : 1));
        if (!pos_rank) { r = tb_fail(e, TB_ESOFTWARE, "out of memory"); goto out; }
        for (size_t p = 0; p < n; p++) bytes[p] = c->items[order[p]].bytes;
        if (tb_balance(bytes, n, c->world, pos_rank)) { free(pos_rank); r = tb_fail(e, TB_ESOFTWARE, "out of memory"); goto out; }
        for (size_t p = 0; p < n; p++) rank[order[p]] = pos_rank[p];
        free(pos_rank);
    } else if (c->by_hash) {
        for (size_t i = 0; i < n; i++) rank[i] = tb_hash_below(c->items[i].rank_hash, c->world);
    }
    /* the shuffle permutes the whole sequence, identically on every rank; each rank then takes its
     * share in that order (as PyTorch's DistributedSampler does), so by index a rank's items change
     * from epoch to epoch while ranks stay disjoint */
    if (c->shuffle) tb_shuffle(order, n, c->seed, c->epoch);
    if (!c->balance && !c->by_hash)
        for (size_t p = 0; p < n; p++) rank[order[p]] = (uint32_t)(p % c->world);
    if (c->require_each) {
        for (size_t i = 0; i < n; i++) count_rank(c, rank[i]);
        if (c->ranks_nonzero < c->world) goto empty_rank;
    }
    size_t m = 0;
    for (size_t p = 0; p < n; p++) if (rank[order[p]] == c->rank) order[m++] = order[p];
    for (size_t p = c->skip < m ? c->skip : m; p < m; p++) {
        const struct item *it = &c->items[order[p]];
        r = emit(c, c->arena + it->off, it->len, it->split, e);
        if (r) goto out;
    }
    goto out;
empty_rank:
    for (uint32_t k = 0; k < c->world; k++) {
        if (!c->rank_counts[k]) {
            r = tb_fail(e, TB_EDATA, "--require-each: rank %u of %u would get nothing (%zu items for %u ranks)", k, c->world, n, c->world);
            break;
        }
    }
out:
    free(order);
    free(rank);
    free(bytes);
    return r;
}

/* ---- mapped input: a regular file is read through a map, in blocks ---- */

/* Index-mode filtering (no key: every line once, no parse) is lib/linepick's, on two threads.
 * A regular file needs no read() copy: its lines are found straight in the page cache, sixty-four
 * bytes per step. Modes that parse every line
 * (a key for --ratio or --by hash) classify blocks of lines on two threads: a worker classifies
 * every other block while this thread classifies the rest and writes all of them, in input order,
 * so the output is the same as from one thread. A line the classifier cannot handle (invalid JSON,
 * no key, ...) is flagged and goes through process_line here, with its exact line number: errors,
 * --skip-invalid and --rejects behave as on the streaming path. */

#define MAP_BLOCK (1u << 20)

/* An input error that does not say which input yet (the line reader's own) gets its name. */
static void name_input(tb_err *e, const char *name)
{
    if (e->code == TB_EDATA && !strstr(e->msg, name)) tb_err_wrap(e, "%s", name);
}

struct mapjob {
    struct ctx *c;
    struct tb_map m;
};

struct cline {
    uint64_t off, len; /* in the block; len without a trailing '\r' */
    uint32_t pidx;     /* physical line index in the block */
    int32_t s;         /* split, or CL_SERIAL / CL_LONG */
    uint32_t rh;       /* rank by hash */
};
enum { CL_SERIAL = -1, CL_LONG = -2 };

struct cjob {
    size_t start, end; /* [start, end) of the map: whole lines */
    struct cline *v;
    size_t n, cap;
    uint32_t phys;     /* physical lines (empty ones too) */
};

struct keyer {
    struct tb_json json;
    char *scratch;
    size_t cap;
};

static int classify_block(const struct ctx *c, struct keyer *k, const struct tb_map *m, struct cjob *j, tb_err *e)
{
    j->n = 0;
    j->phys = 0;
    size_t n = j->end - j->start, ls = 0;
    struct tb_nlscan sc;
    tb_nlscan_init(&sc, m->p + j->start, n);
    for (;;) {
        size_t nl = tb_nl_next(&sc);
        if (nl == TB_NL_NONE && ls >= n) break;
        size_t end = nl == TB_NL_NONE ? n : nl;
        struct cline cl = {ls, end - ls, j->phys++, 0, 0};
        const char *line = sc.p + ls;
        if (cl.len > (uint64_t)c->max_line) {
            cl.s = CL_LONG;
        } else {
            if (cl.len && line[cl.len - 1] == '\r') cl.len--;
            if (!cl.len) goto next;
            const char *key;
            size_t klen;
            int is_obj;
            tb_err why;
            why.code = 0;
            why.msg[0] = 0;
            k->json.text = NULL;
            if (line_key(c, &k->json, &k->scratch, &k->cap, line, (size_t)cl.len, &key, &klen, &is_obj, &why)) {
                cl.s = CL_SERIAL;
            } else {
                cl.s = split_of(c, key, klen);
                cl.rh = hash_rank_of(c, key, klen);
            }
        }
        if (tb_grow_n(&j->v, &j->cap, j->n + 1, sizeof *j->v, 8192)) return tb_fail(e, TB_ESOFTWARE, "out of memory");
        j->v[j->n++] = cl;
    next:
        if (nl == TB_NL_NONE) break;
        ls = nl + 1;
    }
    return 0;
}

static int emit_block(struct ctx *c, const struct tb_map *m, const struct cjob *j, uint64_t *lineno, tb_err *e)
{
    for (size_t i = 0; i < j->n; i++) {
        const struct cline *cl = &j->v[i];
        uint64_t ln = *lineno + cl->pidx + 1;
        const char *line = m->p + j->start + cl->off;
        int r;
        if (cl->s == CL_LONG) r = reject_long(c, ln, cl->len, e);
        else if (cl->s == CL_SERIAL) r = process_line(c, line, (size_t)cl->len, ln, e);
        else r = route(c, line, (size_t)cl->len, cl->s, cl->rh, e);
        if (r) return r;
        if ((++c->prog.items & 1023) == 0) { c->prog.bytes = j->start + cl->off; tb_progress_tick(&c->prog); }
    }
    *lineno += j->phys;
    return 0;
}

struct worker {
    pthread_t th;
    sem_t go, done;
    int running, quit, posted;
    const struct ctx *c;
    const struct tb_map *m;
    struct keyer k;
    struct cjob *job;
    int rc;
    tb_err err;
};

static int worker_classify(void *ud, tb_err *e)
{
    struct worker *w = ud;
    return classify_block(w->c, &w->k, w->m, w->job, e);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    for (;;) {
        while (sem_wait(&w->go) != 0) {}
        if (w->quit) break;
        w->rc = tb_map_guarded(worker_classify, w, w->m->name, &w->err);
        sem_post(&w->done);
    }
    return NULL;
}

/* Hand job to the worker (or, without one, classify it now). */
static int post(struct worker *w, struct cjob *job, tb_err *e)
{
    w->job = job;
    if (!w->running) return classify_block(w->c, &w->k, w->m, job, e);
    w->posted = 1;
    sem_post(&w->go);
    return 0;
}

static int wait_worker(struct worker *w, tb_err *e)
{
    if (!w->posted) return 0;
    while (sem_wait(&w->done) != 0) {}
    w->posted = 0;
    if (w->rc) { *e = w->err; return w->rc; }
    return 0;
}

struct classjob {
    struct mapjob mj;
    struct worker w;
    struct keyer k;         /* this thread's */
    struct cjob a, b[2];
};

/* The next block of whole lines from *pos (empty at the end). */
static int plan(struct tb_map *m, size_t *pos, struct cjob *j, tb_err *e)
{
    j->start = j->end = *pos;
    if (*pos >= m->len) return 0;
    int r = tb_map_need(m, *pos + MAP_BLOCK, e);
    if (r) return r;
    if (m->len - *pos <= MAP_BLOCK) {
        j->end = m->len;
    } else {
        const char *q = memchr(m->p + *pos + MAP_BLOCK - 1, '\n', m->len - (*pos + MAP_BLOCK - 1));
        j->end = q ? (size_t)(q - m->p) + 1 : m->len;
    }
    *pos = j->end;
    return 0;
}

static int classify_mapped(void *ud, tb_err *e)
{
    struct classjob *cj = ud;
    struct ctx *c = cj->mj.c;
    struct tb_map *m = &cj->mj.m;
    size_t pos = 0;
    uint64_t lineno = 0;
    int cur = 0, r;
    if ((r = plan(m, &pos, &cj->a, e)) || (r = plan(m, &pos, &cj->b[cur], e))) return r;
    if (cj->b[cur].end > cj->b[cur].start && (r = post(&cj->w, &cj->b[cur], e))) return r;
    while (cj->a.end > cj->a.start) {
        if ((r = classify_block(c, &cj->k, m, &cj->a, e)) || (r = emit_block(c, m, &cj->a, &lineno, e))) return r;
        if ((r = wait_worker(&cj->w, e))) return r;
        struct cjob *b = &cj->b[cur];
        cur ^= 1;
        /* the next pair goes out before b is written, so the worker is busy meanwhile */
        if ((r = plan(m, &pos, &cj->a, e)) || (r = plan(m, &pos, &cj->b[cur], e))) return r;
        if (cj->b[cur].end > cj->b[cur].start && (r = post(&cj->w, &cj->b[cur], e))) return r;
        if (b->end > b->start && (r = emit_block(c, m, b, &lineno, e))) return r;
        tb_map_drop(m, cj->a.start);
    }
    c->prog.bytes = m->len;
    return 0;
}

static long ncpus(void)
{
    cpu_set_t cs;
    if (sched_getaffinity(0, sizeof cs, &cs) == 0) return CPU_COUNT(&cs);
    return 1;
}

struct pick_prog {
    struct ctx *c;
    uint64_t items0; /* lines of the inputs before this one */
};

static void pick_tick(void *ud, uint64_t items, uint64_t bytes)
{
    struct pick_prog *pp = ud;
    pp->c->prog.items = pp->items0 + items;
    pp->c->prog.bytes = bytes;
    tb_progress_tick(&pp->c->prog);
}

static int pick_reject(void *ud, uint64_t lineno, uint64_t bytes, tb_err *e)
{
    return reject_long(ud, lineno, bytes, e);
}

/* Index mode over a regular file: lib/linepick, continuing the item count of earlier inputs. */
static int run_pick(struct ctx *c, struct tb_src *src, int fd, uint64_t off, uint64_t len, int *r, tb_err *e)
{
    struct tb_pick pk;
    memset(&pk, 0, sizeof pk);
    pk.world = c->world;
    pk.rank = c->rank;
    pk.max_line = c->max_line;
    pk.skip_long = c->skip_invalid;
    pk.reject = pick_reject;
    pk.reject_ud = c;
    pk.threads = ncpus() > 1 ? 2 : 1;
    const char *ch = getenv("TRAINBOX_SPLIT_CHUNK"); /* for the tests: many chunk edges in a small file */
    if (ch && *ch) pk.chunk = (size_t)strtoull(ch, NULL, 10);
    pk.index = c->index;
    pk.skip = c->skip;
    struct pick_prog pp = {c, c->prog.items};
    pk.tick = pick_tick;
    pk.tick_ud = &pp;
    *r = tb_pick_lines(fd, off, len, src->name, &pk, stdout, e);
    if (*r) return 0;
    c->prog.items = pp.items0 + (pk.index - c->index);
    c->prog.bytes = len;
    c->index = pk.index;
    c->index_mod = (uint32_t)(c->index % c->world);
    c->skip = pk.skip;
    c->emitted += pk.emitted;
    lseek(fd, (off_t)(off + len), SEEK_SET); /* consumed, as reading would have */
    return 0;
}

/* Whole-file fast paths for a regular file; returns 1 (r untouched) when this input does not
 * qualify and the line reader should be used. */
static int run_mapped(struct ctx *c, struct tb_src *src, int *r, tb_err *e)
{
    int need_key = c->have_ratio || c->by_hash || c->hold;
    int adds_field = c->have_ratio && !c->outdir && !c->filter; /* emit parses the line again */
    if (c->hold || adds_field || getenv("TRAINBOX_NO_MAP")) return 1;
    int fd = tb_src_fd(src);
    uint64_t off, len;
    if (fd < 0 || !tb_map_usable(fd, &off, &len)) return 1;
    if (!need_key) {
        if (c->pending_mode) return 1; /* --require-each holds the output back: the reader's path */
        return run_pick(c, src, fd, off, len, r, e);
    }
    struct classjob cj;
    memset(&cj, 0, sizeof cj);
    cj.mj.c = c;
    if (tb_map_open(&cj.mj.m, fd, off, (size_t)len, src->name, e)) return 1; /* fall back to read() */
    {
        tb_json_init(&cj.k.json);
        tb_json_init(&cj.w.k.json);
        cj.w.c = c;
        cj.w.m = &cj.mj.m;
        if (ncpus() > 1 && sem_init(&cj.w.go, 0, 0) == 0 && sem_init(&cj.w.done, 0, 0) == 0 &&
            pthread_create(&cj.w.th, NULL, worker_main, &cj.w) == 0)
            cj.w.running = 1;
        *r = tb_map_guarded(classify_mapped, &cj, src->name, e);
        if (cj.w.running) {
            tb_err ignore;
            wait_worker(&cj.w, &ignore); /* an error here left it busy */
            cj.w.quit = 1;
            sem_post(&cj.w.go);
            pthread_join(cj.w.th, NULL);
            sem_destroy(&cj.w.go);
            sem_destroy(&cj.w.done);
        }
        tb_json_free(&cj.k.json);
        tb_json_free(&cj.w.k.json);
        free(cj.k.scratch);
        free(cj.w.k.scratch);
        free(cj.a.v);
        free(cj.b[0].v);
        free(cj.b[1].v);
    }
    tb_map_close(&cj.mj.m);
    if (!*r) lseek(fd, (off_t)(off + len), SEEK_SET); /* consumed, as reading would have */
    return 0;
}

/* ---- options and environment ---- */

static int env_u32(const char *name, uint32_t *out, int *set)
{
    const char *v = getenv(name);
    unsigned long long x;
    if (!v || !*v) return 0;
    if (tb_parse_u64(v, &x) || x > UINT32_MAX) return tb_usage("split", "environment %s='%s' is not a number", name, v);
    *out = (uint32_t)x;
    *set = 1;
    return 0;
}

static int parse_args(struct ctx *c, struct tb_optparse *p, char ***files, int *nfiles)
{
    int opt, have_rank = 0, have_world = 0, by_set = 0;
    unsigned long long v;
    c->max_line = TB_MAX_LINE_DEFAULT;
    c->progress_mode = TB_PROGRESS_AUTO;
    tb_err e = {0};
    while ((opt = tb_opts_next(p)) > 0) {
        switch (opt) {
        case OPT_RATIO:
            if (tb_ratio_parse(p->arg, &c->ratio, &e)) return tb_usage("split", "%s", e.msg);
            c->have_ratio = 1;
            break;
        case OPT_OUTPUT: c->outdir = p->arg; break;
        case OPT_FILTER: c->filter = p->arg; break;
        case OPT_KEY: c->keyfield = p->arg; break;
        case OPT_SEED: if (tb_opt_u64(p, &v)) return TB_EUSAGE; c->seed = v; break;
        case OPT_EPOCH: if (tb_opt_u64(p, &v)) return TB_EUSAGE; c->epoch = v; break;
        case OPT_SKIP: if (tb_opt_u64(p, &v)) return TB_EUSAGE; c->skip = v; break;
        case OPT_RANK:
            if (tb_opt_u64(p, &v)) return TB_EUSAGE;
            if (v > UINT32_MAX) return tb_usage("split", "--rank too large");
            c->rank = (uint32_t)v; have_rank = 1;
            break;
        case OPT_WORLD:
            if (tb_opt_u64(p, &v)) return TB_EUSAGE;
            if (v == 0 || v > (1u << 24)) return tb_usage("split", "--world-size must be 1 to 16777216, not %llu", v);
            c->world = (uint32_t)v; have_world = 1;
            break;
        case OPT_BY: {
            static const char *const ch[] = {"index", "hash", NULL};
            int i;
            if (tb_opt_choice(p, ch, &i)) return TB_EUSAGE;
            c->by_hash = i;
            by_set = 1;
            break;
        }
        case OPT_SORT: c->sort = 1; break;
        case OPT_BALANCE: {
            static const char *const ch[] = {"bytes", NULL};
            int i;
            if (tb_opt_choice(p, ch, &i)) return TB_EUSAGE;
            c->balance = 1;
            break;
        }
        case OPT_REQUIRE_EACH: c->require_each = 1; break;
        case OPT_SHUFFLE: c->shuffle = 1; break;
        case OPT_SKIP_INVALID: c->skip_invalid = 1; break;
        case OPT_REJECTS: c->rejects_path = p->arg; break;
        case OPT_MAX_LINE: if (tb_opt_max_line(p, &c->max_line)) return TB_EUSAGE; break;
        case OPT_PROGRESS:
            c->progress_mode = tb_progress_parse(p->arg);
            if (c->progress_mode < 0) return tb_usage("split", "--progress wants auto, bar, json or none, not '%s'", p->arg);
            break;
        default: tb_common_opt(p, opt, &c->co); break;
        }
    }
    if (opt < 0) return opt == TB_OPTS_HELP ? -1 : TB_EUSAGE;

    /* rank and world size from the launcher's environment when not given */
    int env_rank = 0, env_world = 0;
    uint32_t er = 0, ew = 0;
    int r;
    if ((r = env_u32("RANK", &er, &env_rank)) || (!env_rank && (r = env_u32("SLURM_PROCID", &er, &env_rank))) ||
        (!env_rank && (r = env_u32("JOB_COMPLETION_INDEX", &er, &env_rank))))
        return r;
    if ((r = env_u32("WORLD_SIZE", &ew, &env_world)) || (!env_world && (r = env_u32("SLURM_NTASKS", &ew, &env_world))))
        return r;
    int explicit_rank = have_rank || have_world || by_set || c->balance || c->require_each;
    if (explicit_rank || !c->have_ratio) {
        if (!have_world && env_world) { c->world = ew; have_world = 1; }
        if (!have_rank && env_rank) { c->rank = er; have_rank = 1; }
    }
    if (have_world || have_rank || explicit_rank) {
        if (!have_world) return tb_usage("split", "rank options need --world-size (or WORLD_SIZE / SLURM_NTASKS)");
        if (c->world == 0) return tb_usage("split", "world size must be at least 1");
        if (c->rank >= c->world) return tb_usage("split", "rank %u is not below world size %u", c->rank, c->world);
        c->rank_mode = 1;
    } else {
        c->world = 1;
        c->rank = 0;
    }
    if (!c->have_ratio && !c->rank_mode && !c->sort && !c->shuffle)
        return tb_usage("split", "nothing to do: give --ratio, or --world-size (or set WORLD_SIZE)");
    if (c->outdir && c->filter) return tb_usage("split", "-o and --filter exclude each other");
    if ((c->outdir || c->filter) && !c->have_ratio) return tb_usage("split", "-o and --filter route splits: they need --ratio");
    if (c->rejects_path && !c->skip_invalid) return tb_usage("split", "--rejects goes with --skip-invalid");
    if (c->epoch && !c->shuffle) return tb_usage("split", "--epoch goes with --shuffle");
    if (c->balance && c->by_hash) return tb_usage("split", "--balance and --by hash exclude each other");
    c->hold = c->sort || c->shuffle || c->balance;
    tb_split_key(c->seed, TB_HASH_SPLIT, c->key_split);
    tb_split_key(c->seed, TB_HASH_RANK, c->key_rank);
    *files = p->pos;
    *nfiles = p->npos;
    return 0;
}

static int run(struct ctx *c, char **files, int nfiles, tb_err *e)
{
    int r = 0;
    /* open every input first: a missing one fails before anything is written */
    int nsrc = nfiles ? nfiles : 1;
    struct tb_src *srcs = calloc((size_t)nsrc, sizeof *srcs);
    if (!srcs) return tb_fail(e, TB_ESOFTWARE, "out of memory");
    int opened = 0;
    for (int i = 0; i < nsrc; i++) {
        r = tb_src_open_file(&srcs[i], nfiles ? files[i] : "-", e);
        if (r) goto out;
        opened++;
    }
    c->rank_counts = calloc(c->world, sizeof *c->rank_counts);
    if (!c->rank_counts) { r = tb_fail(e, TB_ESOFTWARE, "out of memory"); goto out; }
    c->pending_mode = c->require_each && !c->hold;
    if (c->outdir) {
        r = tb_mkdirs(c->outdir, e);
        if (r) goto out;
        c->files = calloc((size_t)c->ratio.n, sizeof *c->files);
        if (!c->files) { r = tb_fail(e, TB_ESOFTWARE, "out of memory"); goto out; }
        for (int i = 0; i < c->ratio.n; i++) c->files[i].fd = -1;
        for (int i = 0; i < c->ratio.n; i++) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s.jsonl", c->outdir, c->ratio.names[i]);
            r = tb_afile_open(&c->files[i], path, NULL, e);
            if (r) goto out;
        }
    }
    if (c->rejects_path) {
        r = tb_afile_open(&c->rejects, c->rejects_path, NULL, e);
        if (r) goto out;
        c->rejects_open = 1;
    }
    if (c->filter && (r = start_children(c, e))) goto out;
    tb_progress_init(&c->prog, "split", tb_common_progress(&c->co, c->progress_mode), "lines", NULL);
    for (int i = 0; i < nsrc && !r; i++) {
        c->src_name = srcs[i].name;
        c->cur_name = srcs[i].name;
        if (!run_mapped(c, &srcs[i], &r, e)) {
            if (r) name_input(e, srcs[i].name);
            continue;
        }
        struct tb_lines lr;
        if (tb_lines_init(&lr, &srcs[i], c->max_line)) { r = tb_fail(e, TB_ESOFTWARE, "out of memory"); break; }
        lr.skip_long = c->skip_invalid;
        char *line;
        size_t len;
        int got;
        while ((got = tb_lines_next(&lr, &line, &len, e)) > 0) {
            if (got == TB_LINE_LONG) r = reject_long(c, lr.lineno, lr.long_len, e);
            else r = process_line(c, line, len, lr.lineno, e);
            if (r) break;
            c->prog.items++;
            c->prog.bytes = lr.bytes;
            if ((c->prog.items & 1023) == 0) tb_progress_tick(&c->prog);
        }
        if (got < 0) r = e->code;
        if (r) name_input(e, srcs[i].name);
        tb_lines_free(&lr);
    }
    if (!r && c->hold) r = run_hold(c, e);
    if (!r && c->pending_mode) {
        for (uint32_t k = 0; k < c->world; k++) {
            if (!c->rank_counts[k]) {
                r = tb_fail(e, TB_EDATA, "--require-each: rank %u of %u would get nothing (%llu items for %u ranks)", k,
                            c->world, (unsigned long long)c->index, c->world);
                break;
            }
        }
    }
    if (!r && c->filter) r = finish_children(c, e);
    if (!r && c->outdir) {
        for (int i = 0; i < c->ratio.n && !r; i++) r = tb_afile_commit(&c->files[i], e);
    }
    if (!r && c->rejects_open) { r = tb_afile_commit(&c->rejects, e); c->rejects_open = 0; }
    if (!r && c->write_trailer) r = tb_trailer_write(stdout, c->trailer_records, e);
    if (!r && fflush(stdout) != 0) r = tb_fail_errno(e, TB_EIO, "write to stdout failed");
    tb_progress_end(&c->prog);
    if (!r && c->invalid && !c->co.quiet) tb_warn("split", "skipped %llu invalid line%s", (unsigned long long)c->invalid, c->invalid == 1 ? "" : "s");
out:
    if (r) {
        if (c->nkids) kill_children(c);
        if (c->files) for (int i = 0; i < c->ratio.n; i++) tb_afile_abort(&c->files[i]);
        if (c->rejects_open) tb_afile_abort(&c->rejects);
    }
    for (int i = 0; i < opened; i++) tb_src_close(&srcs[i]);
    free(srcs);
    return r;
}

static void ctx_free(struct ctx *c)
{
    if (c->kids) for (int i = 0; i < c->ratio.n; i++) { free(c->kids[i].wbuf); free(c->kids[i].rbuf); if (c->kids[i].out_fd > 0) close(c->kids[i].out_fd); }
    free(c->kids);
    free(c->files);
    free(c->scratch);
    free(c->rank_counts);
    free(c->pend);
    free(c->arena);
    free(c->items);
    tb_json_free(&c->json);
}

static int cmd_split(int argc, char **argv)
{
    struct ctx c;
    memset(&c, 0, sizeof c);
    tb_json_init(&c.json);
    struct tb_optparse p;
    tb_opts_init(&p, &tb_cmd_split, argc, argv);
    char **files = NULL;
    int nfiles = 0;
    int r = parse_args(&c, &p, &files, &nfiles);
    if (r) {
        tb_opts_free(&p);
        return r < 0 ? 0 : r;
    }
    tb_err e = {0};
    r = run(&c, files, nfiles, &e);
    if (r) tb_report("split", &e);
    tb_opts_free(&p);
    ctx_free(&c);
    return r;
}
