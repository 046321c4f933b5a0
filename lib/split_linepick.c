/* linepick: every N-th item of a regular file, read in cached chunks on one or two threads. */
#include "split_linepick.h"
#include "alloc.h"
#include "ndjson.h"
#include "ndjson_scan.h"
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define DEFAULT_CHUNK (256u << 10)

/* ---- the threads' shared state ---- */

struct shared {
    int fd;
    uint64_t off, len;
    const char *name;
    struct tb_pick *pk;
    size_t chunk;
    uint64_t nchunks;
    int threads;
    FILE *out;
    uint64_t skip_until;      /* kept items with a lower index are skipped */
    /* the chain: items and lines that start before chunk pub, written before pub is raised */
    _Atomic uint64_t pub;
    uint64_t pub_items, pub_nl;
    _Atomic uint64_t turn;    /* the chunk whose output goes next */
    _Atomic int stop;         /* a chunk failed: everyone leaves */
    _Atomic uint32_t gen;     /* bumped on every change above; the futex word */
    _Atomic int waiters;
    int rc;
    tb_err err;
};

static void notify(struct shared *s)
{
    atomic_fetch_add(&s->gen, 1);
    if (atomic_load(&s->waiters)) syscall(SYS_futex, &s->gen, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

static inline void relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Wait until chunk k may go on: its predecessor has published (what = 0) or written (what = 1).
 * Returns 1 when another chunk failed instead. Spins for a while (a chunk takes tens of
 * microseconds, so the other thread is usually close), then sleeps on the futex. */
static int wait_for(struct shared *s, uint64_t k, int what)
{
    for (int spins = 0;; spins++) {
        uint32_t g = atomic_load(&s->gen);
        if (atomic_load(&s->stop)) return 1;
        if (what == 0 ? atomic_load(&s->pub) >= k : atomic_load(&s->turn) == k) return 0;
        if (spins < 4000) { relax(); continue; }
        atomic_fetch_add(&s->waiters, 1);
        if (atomic_load(&s->gen) == g) syscall(SYS_futex, &s->gen, FUTEX_WAIT_PRIVATE, g, NULL, NULL, 0);
        atomic_fetch_sub(&s->waiters, 1);
    }
}

/* ---- one thread's chunks ---- */

/* A chunk's buffer: CTX bytes before the chunk (the file's, so that the copy keeps source and
 * destination equally aligned; only the last two are looked at), the chunk, then SLACK bytes read
 * with it for the chunk's last line (more is read only for a longer one). */
#define CTX 64
#define SLACK 4096

struct worker {
    struct shared *s;
    int t;
    char *buf;                /* 64-byte aligned */
    size_t cap;
    size_t have;              /* bytes after the chunk's start in buf (chunk, slack, more) */
    struct ent { size_t off, len; } *ent; /* the chunk's items: lines starting in it, without '\r' */
    size_t nent, entcap;
    uint64_t nlines;          /* lines starting in the chunk, empty ones too */
    uint64_t bad_line;        /* 0, or the chunk's line (1-based) that is longer than max_line */
    struct bad { uint64_t line, bytes; } *bad; /* with skip_long: the chunk's over-long lines */
    size_t nbad, badcap;
    char *obuf;
    size_t olen, ocap;
    uint64_t emitted, skipped;
    pthread_t th;
};

/* The read buffer, 64-byte aligned for the newline masks. */
static void grow_buf(struct worker *w, size_t need)
{
    if (need <= w->cap) return;
    size_t n = w->cap ? w->cap : 4096;
    while (n < need) n *= 2;
    void *p;
    if (posix_memalign(&p, 64, n)) tb_oom(n);
    if (w->buf) memcpy(p, w->buf, w->cap);
    free(w->buf);
    w->buf = p;
    w->cap = n;
}

/* Read at least min and at most max bytes at pos; *got says how many. */
static int read_some(struct shared *s, char *dst, size_t min, size_t max, uint64_t pos, size_t *got, tb_err *e)
{
    size_t n = 0;
    while (n < min) {
        ssize_t r = pread(s->fd, dst + n, max - n, (off_t)(s->off + pos + n));
        if (r < 0) {
            if (errno == EINTR) continue;
            return tb_fail_errno(e, TB_EIO, "read %s", s->name);
        }
        if (r == 0) return tb_fail(e, TB_EDATA, "%s changed size while being read", s->name);
        n += (size_t)r;
    }
    *got = n;
    return 0;
}

static int read_at(struct shared *s, char *dst, size_t n, uint64_t pos, tb_err *e)
{
    size_t got;
    return read_some(s, dst, n, n, pos, &got, e);
}

/* The line starting at chunk offset ls runs past the chunk's n bytes: find its newline in the
 * slack, or read on to it, to the end of the input, or past max_line. Sets *end (chunk offset). */
static int extend(struct worker *w, uint64_t co, size_t n, size_t ls, size_t *end, tb_err *e)
{
    struct shared *s = w->s;
    const char *q = w->have > n ? memchr(w->buf + CTX + n, '\n', w->have - n) : NULL;
    size_t step = SLACK;
    while (!q) {
        uint64_t pos = co + w->have;
        if (pos >= s->len || w->have - ls > s->pk->max_line) { *end = w->have; return 0; }
        if (step < (1u << 20)) step *= 2;
        size_t want = step;
        if (want > s->len - pos) want = (size_t)(s->len - pos);
        grow_buf(w, CTX + w->have + want);
        int r = read_at(s, w->buf + CTX + w->have, want, pos, e);
        if (r) return r;
        q = memchr(w->buf + CTX + w->have, '\n', want);
        w->have += want;
    }
    *end = (size_t)(q - (w->buf + CTX));
    return 0;
}

static int too_long(struct shared *s, uint64_t lineno, tb_err *e)
{
    return tb_fail(e, TB_EDATA, "line %llu of %s is longer than --max-line (%llu bytes)", (unsigned long long)lineno,
                   s->name, (unsigned long long)s->pk->max_line);
}

/* Bytes from pos to the next newline (or the end of the input), read in pieces and dropped. */
static int rest_len(struct shared *s, uint64_t pos, uint64_t *out, tb_err *e)
{
    char tmp[65536];
    uint64_t n = 0;
    while (pos + n < s->len) {
        size_t want = s->len - (pos + n) < sizeof tmp ? (size_t)(s->len - (pos + n)) : sizeof tmp;
        int r = read_at(s, tmp, want, pos + n, e);
        if (r) return r;
        const char *q = memchr(tmp, '\n', want);
        if (q) { n += (uint64_t)(q - tmp); break; }
        n += want;
    }
    *out = n;
    return 0;
}

/* Read chunk k (n bytes at co, with its context and slack) into buf and list the items that start in
 * it: one pass over its newlines. A line starts in the chunk when the byte before it is a newline
 * (or it starts the input); the first line of a chunk usually began in an earlier one, which lists it. */
static int scan(struct worker *w, uint64_t co, size_t n, tb_err *e)
{
    struct shared *s = w->s;
    const struct tb_pick *pk = s->pk;
    size_t pre = co < CTX ? (size_t)co : CTX;
    size_t slack = s->len - co - n < SLACK ? (size_t)(s->len - co - n) : SLACK;
    grow_buf(w, CTX + n + slack);
    char *p = w->buf + CTX;
    p[-1] = '\n'; /* before the input: as after a newline */
    size_t got;
    int r = read_some(s, p - pre, pre + n, pre + n + slack, co - pre, &got, e); /* the slack if it comes */
    if (r) return r;
    w->have = got - pre;
    w->nent = 0;
    w->nlines = 0;
    w->bad_line = 0;
    w->nbad = 0;
    struct tb_nlscan sc;
    tb_nlscan_init(&sc, p, n);
    size_t ls = 0;
    if (p[-1] != '\n') {
        size_t f = tb_nl_next(&sc);
        if (f == TB_NL_NONE) return 0; /* inside a line begun earlier */
        ls = f + 1;
    }
    while (ls < n) {
        size_t f = tb_nl_next(&sc), end = f;
        if (f == TB_NL_NONE) {
            r = extend(w, co, n, ls, &end, e);
            if (r) return r;
        }
        size_t len = end - ls;
        const char *line = w->buf + CTX + ls; /* extend may have moved buf */
        w->nlines++;
        if (len > pk->max_line) {
            if (!pk->skip_long) { w->bad_line = w->nlines; return 0; }
            uint64_t bytes = len;
            if (f == TB_NL_NONE && end == w->have) { /* extend stopped past max_line: count the rest, keep none */
                uint64_t more;
                if ((r = rest_len(s, co + w->have, &more, e))) return r;
                bytes += more;
            }
            tb_xgrow_n(&w->bad, &w->badcap, w->nbad + 1, sizeof *w->bad, 16);
            w->bad[w->nbad].line = w->nlines;
            w->bad[w->nbad].bytes = bytes;
            w->nbad++;
            if (f == TB_NL_NONE) break;
            ls = f + 1;
            continue;
        }
        if (len && line[len - 1] == '\r') len--;
        if (len) {
            if (w->nent == w->entcap) tb_xgrow_n(&w->ent, &w->entcap, w->nent + 1, sizeof *w->ent, 4096);
            w->ent[w->nent].off = ls;
            w->ent[w->nent].len = len;
            w->nent++;
        }
        if (f == TB_NL_NONE) break;
        ls = f + 1;
    }
    return 0;
}

/* The kept ones among the chunk's items (the first of which is item `items`) into obuf; then the
 * chunk's over-long line, if any, as the error (lines: the lines before the chunk). */
static int pick(struct worker *w, uint64_t items, uint64_t lines, tb_err *e)
{
    struct shared *s = w->s;
    const struct tb_pick *pk = s->pk;
    size_t j = (size_t)((pk->rank + pk->world - items % pk->world) % pk->world);
    for (; j < w->nent; j += pk->world) {
        if (items + j < s->skip_until) { w->skipped++; continue; }
        const struct ent *t = &w->ent[j];
        if (w->olen + t->len + 1 > w->ocap) tb_xgrow(&w->obuf, &w->ocap, w->olen + t->len + 1);
        memcpy(w->obuf + w->olen, w->buf + CTX + t->off, t->len);
        w->obuf[w->olen + t->len] = '\n';
        w->olen += t->len + 1;
        w->emitted++;
    }
    if (w->bad_line) return too_long(s, lines + w->bad_line, e);
    return 0;
}

static int run_chunks(struct worker *w)
{
    struct shared *s = w->s;
    const struct tb_pick *pk = s->pk;
    for (uint64_t k = (uint64_t)w->t; k < s->nchunks; k += (uint64_t)s->threads) {
        uint64_t co = k * s->chunk;
        size_t n = s->len - co < s->chunk ? (size_t)(s->len - co) : s->chunk;
        tb_err err;
        w->olen = 0;
        int r = scan(w, co, n, &err);
        if (k > 0 && wait_for(s, k, 0)) return 0;
        uint64_t items0 = k ? s->pub_items : pk->index, nl0 = k ? s->pub_nl : 0;
        if (!r) {
            s->pub_items = items0 + w->nent;
            s->pub_nl = nl0 + w->nlines;
            atomic_store(&s->pub, k + 1);
            notify(s);
            r = pick(w, items0, nl0, &err);
        }
        if (wait_for(s, k, 1)) return 0;
        if (w->olen && fwrite_unlocked(w->obuf, 1, w->olen, s->out) != w->olen && !r)
            r = tb_fail_errno(&err, TB_EIO, "write failed");
        /* over-long lines in input order: this chunk's turn serializes the calls */
        for (size_t b = 0; !r && b < w->nbad; b++) r = pk->reject(pk->reject_ud, nl0 + w->bad[b].line, w->bad[b].bytes, &err);
        if (r) {
            s->rc = r;
            s->err = err;
            atomic_store(&s->stop, 1);
            notify(s);
            return r;
        }
        atomic_store(&s->turn, k + 1);
        notify(s);
        if (w->t == 0 && pk->tick) pk->tick(pk->tick_ud, items0 + w->nent - pk->index, co + n);
    }
    return 0;
}

static void *worker_main(void *arg)
{
    run_chunks(arg);
    return NULL;
}

/* Start the second thread on another CPU than this one, and keep this one where it is until the
 * end. The two threads hand chunks to each other every few tens of microseconds, and left alone
 * the scheduler takes them for a producer and its consumer and wakes each on the other's CPU:
 * measured here, in about half the runs both ran on one CPU with the other idle, at 1.8 times the
 * time. Returns 0 when no second CPU is allowed (or the thread could not start). */
static int start_second(struct worker *w, cpu_set_t *old, int *pinned)
{
    *pinned = 0;
    if (sched_getaffinity(0, sizeof *old, old) != 0 || CPU_COUNT(old) < 2)
        return pthread_create(&w->th, NULL, worker_main, w) == 0;
    int c0 = sched_getcpu(), c1 = -1;
    if (c0 < 0 || c0 >= CPU_SETSIZE || !CPU_ISSET(c0, old))
        for (c0 = 0; !CPU_ISSET(c0, old); c0++) {}
    /* the next allowed CPU after this one, so that several splits started at once (one per rank, say)
     * on a large machine spread out instead of all sending their second thread to the same CPU */
    for (int i = 1; i < CPU_SETSIZE && c1 < 0; i++)
        if (CPU_ISSET((c0 + i) % CPU_SETSIZE, old)) c1 = (c0 + i) % CPU_SETSIZE;
    pthread_attr_t at;
    cpu_set_t one;
    if (pthread_attr_init(&at) != 0) return 0;
    CPU_ZERO(&one);
    CPU_SET(c1, &one);
    int ok = pthread_attr_setaffinity_np(&at, sizeof one, &one) == 0 && pthread_create(&w->th, &at, worker_main, w) == 0;
    pthread_attr_destroy(&at);
    if (!ok) return pthread_create(&w->th, NULL, worker_main, w) == 0;
    CPU_ZERO(&one);
    CPU_SET(c0, &one);
    *pinned = pthread_setaffinity_np(pthread_self(), sizeof one, &one) == 0;
    return 1;
}

int tb_pick_lines(int fd, uint64_t off, uint64_t len, const char *name, struct tb_pick *pk, FILE *out, tb_err *e)
{
    size_t chunk = pk->chunk ? pk->chunk : DEFAULT_CHUNK;
    struct shared s = {.fd = fd, .off = off, .len = len, .name = name, .pk = pk, .out = out,
                       .chunk = chunk, .nchunks = (len + chunk - 1) / chunk};
    s.threads = pk->threads == 2 && s.nchunks > 1 ? 2 : 1;
    /* the index of the first kept item from here, plus skip of them (saturating) */
    uint64_t first = pk->index + (pk->rank + pk->world - pk->index % pk->world) % pk->world;
    s.skip_until = pk->skip > (UINT64_MAX - first) / pk->world ? UINT64_MAX : first + pk->skip * pk->world;
    atomic_init(&s.pub, 0);
    atomic_init(&s.turn, 0);
    atomic_init(&s.stop, 0);
    atomic_init(&s.gen, 0);
    atomic_init(&s.waiters, 0);

    struct worker w[2];
    memset(w, 0, sizeof w);
    for (int t = 0; t < 2; t++) { w[t].s = &s; w[t].t = t; }
    cpu_set_t old;
    int pinned = 0;
    if (s.threads == 2 && !start_second(&w[1], &old, &pinned)) s.threads = 1;
    run_chunks(&w[0]);
    if (s.threads == 2) pthread_join(w[1].th, NULL);
    if (pinned) pthread_setaffinity_np(pthread_self(), sizeof old, &old);
    int r = s.rc;
    if (r) {
        *e = s.err;
    } else {
        pk->index = s.nchunks ? s.pub_items : pk->index;
        uint64_t skipped = w[0].skipped + w[1].skipped;
        pk->skip -= skipped < pk->skip ? skipped : pk->skip;
        pk->emitted = w[0].emitted + w[1].emitted;
    }
    for (int t = 0; t < 2; t++) { free(w[t].buf); free(w[t].obuf); free(w[t].ent); free(w[t].bad); }
    return r;
}
