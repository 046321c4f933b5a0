/* classify: blocks of a mapped file classified on two threads, handed out in input order (see
 * split_classify.h for the design). */
#include "split_classify.h"
#include "alloc.h"
#include "hash.h"
#include "ndjson_scan.h"
#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK_DEFAULT (1u << 20)

struct cline {
    uint64_t off, len; /* in the block; len without a trailing '\r' */
    uint32_t pidx;     /* physical line index in the block (empty lines counted) */
    int32_t s;         /* split, or CL_SERIAL / CL_LONG */
    uint32_t rh;       /* rank by hash */
};
enum { CL_SERIAL = -1, CL_LONG = -2 };

struct block {
    size_t start, end; /* [start, end) of the map: whole lines */
    struct cline *v;
    size_t n, cap;
    uint32_t phys;     /* physical lines (empty ones too) */
};

/* List the items of block j with their split and rank (or why they could not be classified). */
static void classify_block(const struct tb_classify *cl, struct tb_keyer *k, const struct tb_map *m, struct block *j)
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
        struct cline c = {ls, end - ls, j->phys++, 0, 0};
        const char *line = sc.p + ls;
        if (c.len > cl->max_line) {
            c.s = CL_LONG;
        } else {
            if (c.len && line[c.len - 1] == '\r') c.len--;
            if (!c.len) goto next;
            const char *key;
            size_t klen;
            tb_err why; /* per line: no 1 KiB memset, only the fields read */
            why.code = 0;
            why.msg[0] = 0;
            if (tb_keyer_find(k, line, (size_t)c.len, &key, &klen, &why)) {
                c.s = CL_SERIAL;
            } else {
                c.s = cl->ratio ? tb_ratio_pick(cl->ratio, tb_siphash24(cl->key_split, key, klen)) : 0;
                c.rh = cl->by_hash ? tb_hash_below(tb_siphash24(cl->key_rank, key, klen), cl->world) : 0;
            }
        }
        if (j->n == j->cap) tb_xgrow_n(&j->v, &j->cap, j->n + 1, sizeof *j->v, 8192);
        j->v[j->n++] = c;
    next:
        if (nl == TB_NL_NONE) break;
        ls = nl + 1;
    }
}

/* Hand out block j's items; *lineno counts the lines of the blocks before it. */
static int emit_block(struct tb_classify *cl, const struct tb_map *m, const struct block *j, uint64_t *lineno, tb_err *e)
{
    for (size_t i = 0; i < j->n; i++) {
        const struct cline *c = &j->v[i];
        uint64_t ln = *lineno + c->pidx + 1;
        const char *line = m->p + j->start + c->off;
        int r;
        if (c->s == CL_LONG) r = cl->too_long(cl->ud, ln, c->len, e);
        else if (c->s == CL_SERIAL) r = cl->serial(cl->ud, line, (size_t)c->len, ln, e);
        else r = cl->line(cl->ud, line, (size_t)c->len, c->s, c->rh, e);
        if (r) return r;
        if ((++cl->items & 1023) == 0 && cl->tick) cl->tick(cl->ud, cl->items, j->start + c->off);
    }
    *lineno += j->phys;
    return 0;
}

/* The second thread: classifies the block it is given, under its own SIGBUS guard. */
struct worker {
    pthread_t th;
    sem_t go, done;
    int running, quit, posted;
    const struct tb_classify *cl;
    const struct tb_map *m;
    struct tb_keyer k;
    struct block *job;
    int rc;
    tb_err err;
};

static int worker_classify(void *ud, tb_err *e)
{
    (void)e;
    struct worker *w = ud;
    classify_block(w->cl, &w->k, w->m, w->job);
    return 0;
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

/* Hand a block to the worker (or, without one, classify it now). */
static void post(struct worker *w, struct block *job)
{
    w->job = job;
    if (!w->running) { classify_block(w->cl, &w->k, w->m, job); return; }
    w->posted = 1;
    sem_post(&w->go);
}

static int wait_worker(struct worker *w, tb_err *e)
{
    if (!w->posted) return 0;
    while (sem_wait(&w->done) != 0) {}
    w->posted = 0;
    if (w->rc) { *e = w->err; return w->rc; }
    return 0;
}

struct run {
    struct tb_classify *cl;
    struct tb_map *m;
    size_t block;
    struct worker w;
    struct tb_keyer k;      /* this thread's */
    struct block a, b[2];   /* a: this thread's; b: the worker's, the one it classifies and the one written */
};

/* The next block of whole lines from *pos (empty at the end). */
static int plan(struct run *rn, size_t *pos, struct block *j, tb_err *e)
{
    struct tb_map *m = rn->m;
    j->start = j->end = *pos;
    if (*pos >= m->len) return 0;
    int r = tb_map_need(m, *pos + rn->block, e);
    if (r) return r;
    if (m->len - *pos <= rn->block) {
        j->end = m->len;
    } else {
        const char *q = memchr(m->p + *pos + rn->block - 1, '\n', m->len - (*pos + rn->block - 1));
        j->end = q ? (size_t)(q - m->p) + 1 : m->len;
    }
    *pos = j->end;
    return 0;
}

static int run_blocks(void *ud, tb_err *e)
{
    struct run *rn = ud;
    size_t pos = 0;
    uint64_t lineno = 0;
    int cur = 0, r;
    if ((r = plan(rn, &pos, &rn->a, e)) || (r = plan(rn, &pos, &rn->b[cur], e))) return r;
    if (rn->b[cur].end > rn->b[cur].start) post(&rn->w, &rn->b[cur]);
    while (rn->a.end > rn->a.start) {
        classify_block(rn->cl, &rn->k, rn->m, &rn->a);
        if ((r = emit_block(rn->cl, rn->m, &rn->a, &lineno, e))) return r;
        if ((r = wait_worker(&rn->w, e))) return r;
        struct block *b = &rn->b[cur];
        cur ^= 1;
        /* the next pair goes out before b is written, so the worker is busy meanwhile */
        if ((r = plan(rn, &pos, &rn->a, e)) || (r = plan(rn, &pos, &rn->b[cur], e))) return r;
        if (rn->b[cur].end > rn->b[cur].start) post(&rn->w, &rn->b[cur]);
        if (b->end > b->start && (r = emit_block(rn->cl, rn->m, b, &lineno, e))) return r;
        tb_map_drop(rn->m, rn->a.start);
    }
    return 0;
}

int tb_classify_map(struct tb_map *m, struct tb_classify *cl, tb_err *e)
{
    struct run rn;
    memset(&rn, 0, sizeof rn);
    rn.cl = cl;
    rn.m = m;
    rn.block = cl->block ? cl->block : BLOCK_DEFAULT;
    tb_keyer_init(&rn.k, cl->keyfield, cl->need_object);
    tb_keyer_init(&rn.w.k, cl->keyfield, cl->need_object);
    rn.w.cl = cl;
    rn.w.m = m;
    if (cl->threads > 1 && sem_init(&rn.w.go, 0, 0) == 0 && sem_init(&rn.w.done, 0, 0) == 0 &&
        pthread_create(&rn.w.th, NULL, worker_main, &rn.w) == 0)
        rn.w.running = 1;
    int r = tb_map_guarded(run_blocks, &rn, m->name, e);
    if (rn.w.running) {
        tb_err ignore;
        wait_worker(&rn.w, &ignore); /* an error here left it busy */
        rn.w.quit = 1;
        sem_post(&rn.w.go);
        pthread_join(rn.w.th, NULL);
        sem_destroy(&rn.w.go);
        sem_destroy(&rn.w.done);
    }
    tb_keyer_free(&rn.k);
    tb_keyer_free(&rn.w.k);
    free(rn.a.v);
    free(rn.b[0].v);
    free(rn.b[1].v);
    return r;
}
