/* cat_prefetch: the download-ahead thread behind cat --prefetch (window and errors: cat_prefetch.h).
 *
 * Threads: the reader calls take/stop; the thread runs everything else (stores, xfer, the cache's
 * begin/commit). They share only the items and the window, under mu. An item is the thread's while
 * RUNNING; once READY, whoever frees it (the reader's take, or either side discarding a position
 * skipped) does so under mu. */
#include "cat_prefetch.h"
#include "alloc.h"
#include "xfer.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { IT_FREE, IT_RUNNING, IT_READY };

struct proot {
    int opened;               /* tried: s/x, or err */
    struct tb_store *s;
    struct tb_xfer *x;
    tb_err err;
};

struct item {
    int state;
    size_t pos;
    const struct tb_cat_input *in;
    struct proot *root;
    char *ident;              /* the cache entry's identity, or NULL: not kept */
    char *tmp;                /* where the download goes */
    struct tb_xfer_job job;
    int fd;                   /* READY: a read fd, or -1 (read directly, or an error) */
    tb_err err;               /* READY: the download's outcome */
};

struct tb_cat_prefetch {
    const struct tb_cat_list *l;
    const size_t *order;
    size_t n;
    struct tb_cat_cache *cache;
    struct tb_store_cfg cfg;  /* shared_http: the thread's */
    tb_cat_prefetch_open_fn open;
    void *open_ud;
    char *tmpdir;             /* no cache: the private temp directory */
    unsigned long seq;
    struct tb_http *http;
    struct proot *roots;
    struct item *items;
    size_t nitems;            /* depth + 1 */
    size_t depth;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;        /* any change of the items or the window (both sides wait on it) */
    /* under mu */
    size_t base, next;        /* the window starts at base (last taken); next: the next to start */
    int taken_any, stop, idle;
    uint64_t downloads, hits;
};

static void item_release(struct item *it)
{
    if (it->fd >= 0) close(it->fd);
    free(it->ident);
    it->ident = NULL;
    it->fd = -1;
    it->state = IT_FREE;
}

/* Under mu: drop READY items the reader has gone past. */
static void drop_passed(struct tb_cat_prefetch *p)
{
    for (size_t i = 0; i < p->nitems; i++) {
        struct item *it = &p->items[i];
        if (it->state == IT_READY && p->taken_any && it->pos < p->base) item_release(it);
    }
}

/* The thread: item it is done (fd, or -1 with err; err.code 0 and fd -1: read directly). */
static void item_ready(struct tb_cat_prefetch *p, struct item *it, int fd, const tb_err *err)
{
    pthread_mutex_lock(&p->mu);
    it->fd = fd;
    if (err) it->err = *err;
    else memset(&it->err, 0, sizeof it->err);
    it->state = IT_READY;
    drop_passed(p);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

static void item_fail(struct tb_cat_prefetch *p, struct item *it, const tb_err *err) { item_ready(p, it, -1, err); }

static void tmp_remove(struct tb_cat_prefetch *p, struct item *it)
{
    if (p->cache) {
        tb_cat_cache_abort(p->cache, it->tmp);
    } else if (it->tmp) {
        unlink(it->tmp);
        char *partial = tb_xasprintf("%s.partial", it->tmp);
        unlink(partial);
        free(partial);
        free(it->tmp);
    }
    it->tmp = NULL;
}

/* A finished download not kept in the cache: its fd, the temp unlinked. */
static int open_unlinked(struct tb_cat_prefetch *p, struct item *it, int *fd, tb_err *e)
{
    *fd = open(it->tmp, O_RDONLY | O_CLOEXEC);
    int rc = *fd < 0 ? tb_fail_errno(e, TB_EIO, "cannot open %s", it->tmp) : 0;
    tmp_remove(p, it);
    return rc;
}

static void on_done(void *ud, struct tb_xfer_job *job)
{
    struct tb_cat_prefetch *p = ud;
    struct item *it = job->ud;
    const struct tb_cat_input *in = it->in;
    tb_err e = {0};
    if (job->status) {
        e = job->err;
        if (!e.code) e.code = job->status;
    } else if (in->etag[0] && job->etag[0] && strcmp(in->etag, job->etag) != 0) {
        tb_fail(&e, TB_EDATA, "%s: changed since it was listed (ETag %s, the listing said %s)", in->name, job->etag, in->etag);
    }
    if (e.code) {
        tmp_remove(p, it);
        item_fail(p, it, &e);
        return;
    }
    int fd = -1, rc;
    if (p->cache && it->ident) {
        rc = tb_cat_cache_commit(p->cache, it->ident, it->tmp, &fd, &e);
        it->tmp = NULL; /* commit freed it */
    } else {
        rc = open_unlinked(p, it, &fd, &e);
    }
    if (rc) item_fail(p, it, &e);
    else item_ready(p, it, fd, NULL);
}

static int open_root(struct tb_cat_prefetch *p, struct proot *r, const struct tb_cat_root *root)
{
    r->opened = 1;
    int rc;
    if (p->open) {
        rc = p->open(p->open_ud, root, &p->cfg, &r->s, &r->err);
    } else {
        struct tb_uri u;
        rc = tb_uri_parse(root->uri, &u, &r->err);
        if (!rc) {
            rc = tb_store_open(&r->s, &u, &p->cfg, &r->err);
            tb_uri_free(&u);
        }
    }
    if (rc) {
        if (!r->err.code) r->err.code = rc;
        r->s = NULL;
        return rc;
    }
    struct tb_xfer_cfg xc;
    tb_xfer_cfg_defaults(&xc);
    xc.jobs = (int)p->nitems;
    xc.done = on_done;
    xc.ud = p;
    xc.cmd = "cat";
    xc.quiet = 1;
    tb_xfer_open(&r->x, r->s, &xc);
    return 0;
}

/* The thread, mu not held: begin the work for it (its pos and in set). */
static void item_start(struct tb_cat_prefetch *p, struct item *it)
{
    const struct tb_cat_input *in = it->in;
    tb_err e = {0};
    if (in->root < 0 || (size_t)in->root >= p->l->nroots) { item_ready(p, it, -1, NULL); return; }
    if (p->cache) {
        if (in->size >= 0 && (uint64_t)in->size > tb_cat_cache_max(p->cache)) { item_ready(p, it, -1, NULL); return; }
        it->ident = tb_cat_cache_ident(in);
        int fd;
        if (it->ident && tb_cat_cache_lookup(p->cache, it->ident, &fd)) {
            pthread_mutex_lock(&p->mu);
            p->hits++;
            pthread_mutex_unlock(&p->mu);
            item_ready(p, it, fd, NULL);
            return;
        }
        /* no identity: a temp in the cache directory all the same (counted there), never kept */
        int rc = tb_cat_cache_begin(p->cache, it->ident ? it->ident : in->name, in->size, &it->tmp, &e);
        if (rc) { item_fail(p, it, &e); return; }
        if (!it->tmp) { item_ready(p, it, -1, NULL); return; }
    } else {
        if (in->size >= 0 && (uint64_t)in->size > TB_CAT_PREFETCH_TMP_MAX) { item_ready(p, it, -1, NULL); return; }
        it->tmp = tb_xasprintf("%s/%lu", p->tmpdir, ++p->seq);
    }
    struct proot *r = &p->roots[in->root];
    if (!r->opened) open_root(p, r, &p->l->roots[in->root]);
    if (!r->x) {
        e = r->err;
        tb_err_wrap(&e, "%s", in->name);
        tmp_remove(p, it);
        item_fail(p, it, &e);
        return;
    }
    it->root = r;
    memset(&it->job, 0, sizeof it->job);
    it->job.kind = TB_XFER_DOWNLOAD;
    it->job.key = in->key;
    it->job.path = it->tmp;
    it->job.fd = -1;
    it->job.want_bytes = in->size;
    it->job.ud = it;
    pthread_mutex_lock(&p->mu);
    p->downloads++;
    pthread_mutex_unlock(&p->mu);
    tb_xfer_add(r->x, &it->job);
}

static size_t count(const struct tb_cat_prefetch *p, int state)
{
    size_t k = 0;
    for (size_t i = 0; i < p->nitems; i++) k += p->items[i].state == state;
    return k;
}

/* One round of every store with downloads: the first may wait (all share one tb_http, so its wait
 * drives them all), the others only collect what finished. */
static void step_all(struct tb_cat_prefetch *p)
{
    int waited = 0;
    for (size_t i = 0; i < p->l->nroots; i++) {
        struct proot *r = &p->roots[i];
        if (!r->x || !tb_xfer_pending(r->x)) continue;
        tb_xfer_step(r->x, waited ? 0 : 50);
        waited = 1;
    }
}

static void *run(void *arg)
{
    struct tb_cat_prefetch *p = arg;
    pthread_mutex_lock(&p->mu);
    while (!p->stop) {
        struct item *free_it = NULL;
        for (size_t i = 0; i < p->nitems && !free_it; i++)
            if (p->items[i].state == IT_FREE) free_it = &p->items[i];
        if (free_it && p->next < p->n && p->next <= p->base + p->depth) {
            free_it->state = IT_RUNNING;
            free_it->pos = p->next++;
            free_it->in = &p->l->v[p->order[free_it->pos]];
            free_it->fd = -1;
            pthread_mutex_unlock(&p->mu);
            item_start(p, free_it);
            pthread_mutex_lock(&p->mu);
            continue;
        }
        if (!count(p, IT_RUNNING)) {
            p->idle = 1;
            pthread_cond_broadcast(&p->cv);
            pthread_cond_wait(&p->cv, &p->mu);
            p->idle = 0;
            continue;
        }
        pthread_mutex_unlock(&p->mu);
        step_all(p);
        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    /* stop: what is in flight is cancelled and finishes (its temps removed) with this error */
    tb_err why;
    tb_fail(&why, TB_ETEMPFAIL, "prefetch stopped");
    for (size_t i = 0; i < p->l->nroots; i++) {
        struct proot *r = &p->roots[i];
        if (!r->x) continue;
        tb_xfer_stop(r->x, &why);
        while (tb_xfer_step(r->x, 10) > 0)
            ;
        tb_xfer_close(r->x);
        r->x = NULL;
    }
    for (size_t i = 0; i < p->l->nroots; i++) {
        tb_store_close(p->roots[i].s);
        p->roots[i].s = NULL;
    }
    return NULL;
}

static char *private_tmpdir(tb_err *e)
{
    const char *base = getenv("TMPDIR");
    if (!base || !*base) base = access("/var/tmp", W_OK) == 0 ? "/var/tmp" : "/tmp";
    char *d = tb_xasprintf("%s/trainbox-prefetch.XXXXXX", base);
    if (!mkdtemp(d)) {
        tb_fail_errno(e, TB_FROM_ERRNO_OUT, "cannot create a temp directory in %s", base);
        free(d);
        return NULL;
    }
    return d;
}

/* What start made, the thread gone (or never started). */
static void prefetch_free(struct tb_cat_prefetch *p)
{
    tb_http_free(p->http);
    if (p->tmpdir) rmdir(p->tmpdir);
    free(p->tmpdir);
    free(p->roots);
    free(p->items);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
}

int tb_cat_prefetch_start_ex(struct tb_cat_prefetch **out, const struct tb_cat_list *l, const size_t *order, size_t n,
                             struct tb_cat_cache *cache, const struct tb_store_cfg *cfg, int depth,
                             tb_cat_prefetch_open_fn open, void *open_ud, tb_err *e)
{
    *out = NULL;
    struct tb_cat_prefetch *p = tb_xcalloc(1, sizeof *p);
    p->l = l;
    p->order = order;
    p->n = n;
    p->cache = cache;
    if (cfg) p->cfg = *cfg;
    else tb_store_cfg_defaults(&p->cfg);
    p->open = open;
    p->open_ud = open_ud;
    p->depth = depth > 0 ? (size_t)depth : 0;
    p->nitems = p->depth + 1;
    int rc = 0;
    if (!cache && !(p->tmpdir = private_tmpdir(e))) rc = e ? e->code : TB_EIO;
    if (!rc) rc = tb_http_new(&p->http, &p->cfg.http, e);
    if (rc) {
        free(p->tmpdir);
        free(p);
        return rc;
    }
    p->cfg.shared_http = p->http;
    p->roots = tb_xcalloc(l->nroots ? l->nroots : 1, sizeof *p->roots);
    p->items = tb_xcalloc(p->nitems, sizeof *p->items);
    for (size_t i = 0; i < p->nitems; i++) p->items[i].fd = -1;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    if ((rc = pthread_create(&p->th, NULL, run, p)) != 0) {
        errno = rc;
        rc = tb_fail_errno(e, TB_ESOFTWARE, "cannot start the prefetch thread");
        prefetch_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

int tb_cat_prefetch_start(struct tb_cat_prefetch **out, const struct tb_cat_list *l, const size_t *order, size_t n,
                          struct tb_cat_cache *cache, const struct tb_store_cfg *cfg, int depth, tb_err *e)
{
    return tb_cat_prefetch_start_ex(out, l, order, n, cache, cfg, depth, NULL, NULL, e);
}

int tb_cat_prefetch_take(struct tb_cat_prefetch *p, size_t pos, int *fd_out, tb_err *e)
{
    *fd_out = -1;
    if (pos >= p->n || (p->taken_any && pos <= p->base))
        return tb_fail(e, TB_ESOFTWARE, "prefetch: position %zu taken out of order (last %zu of %zu)", pos, p->base, p->n);
    pthread_mutex_lock(&p->mu);
    p->base = pos;
    p->taken_any = 1;
    p->idle = 0; /* until the thread has looked at the new window */
    if (p->next < pos) p->next = pos; /* skipped positions are never started */
    drop_passed(p);
    pthread_cond_broadcast(&p->cv);
    struct item *it = NULL;
    for (;;) {
        for (size_t i = 0; i < p->nitems && !it; i++)
            if (p->items[i].state == IT_READY && p->items[i].pos == pos) it = &p->items[i];
        if (it) break;
        pthread_cond_wait(&p->cv, &p->mu);
    }
    int rc = it->err.code;
    if (rc && e) *e = it->err;
    *fd_out = it->fd;
    it->fd = -1; /* the caller's now */
    item_release(it);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return rc;
}

void tb_cat_prefetch_stop(struct tb_cat_prefetch *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->th, NULL);
    for (size_t i = 0; i < p->nitems; i++) {
        struct item *it = &p->items[i];
        if (it->state == IT_RUNNING) tmp_remove(p, it); /* started, never handed to xfer (cannot happen) */
        item_release(it);
    }
    prefetch_free(p);
}

void tb_cat_prefetch_stats(struct tb_cat_prefetch *p, struct tb_cat_prefetch_stats *st)
{
    pthread_mutex_lock(&p->mu);
    st->running = count(p, IT_RUNNING);
    st->ready = count(p, IT_READY);
    st->idle = p->idle;
    st->downloads = p->downloads;
    st->hits = p->hits;
    pthread_mutex_unlock(&p->mu);
}
