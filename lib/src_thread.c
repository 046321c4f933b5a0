/* src_thread: the read-ahead ring (see src_thread.h).
 *
 * bufs[head] .. bufs[head + count - 1] (mod nbufs) are filled; the caller consumes bufs[head] from
 * pos and releases it only when it is used up, so the worker never writes the buffer being read.
 * The worker fills bufs[(head + count) % nbufs] outside the lock, one in->read per buffer: a source
 * that trickles is passed on as it comes instead of waiting for a full buffer. */
#include "src_thread.h"
#include "alloc.h"
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ring {
    struct tb_src in;
    unsigned char **bufs;
    size_t *lens;
    size_t bufsz, pos;
    int nbufs, head, count;
    int stop;   /* the caller closed: the worker ends */
    int ended;  /* the worker read the end or failed: nothing follows the filled buffers */
    int failed; /* ... and it failed with err */
    tb_err err;
    pthread_mutex_t mu;
    pthread_cond_t data, space;
    pthread_t th;
};

static void *worker_main(void *arg)
{
    struct ring *g = arg;
    pthread_mutex_lock(&g->mu);
    for (;;) {
        while (g->count == g->nbufs && !g->stop) pthread_cond_wait(&g->space, &g->mu);
        if (g->stop) break;
        int slot = (g->head + g->count) % g->nbufs;
        pthread_mutex_unlock(&g->mu);
        tb_err e = {0};
        ssize_t k = g->in.read(g->in.ctx, g->bufs[slot], g->bufsz, &e);
        pthread_mutex_lock(&g->mu);
        if (k > 0) {
            g->lens[slot] = (size_t)k;
            g->count++;
        } else {
            if (k < 0) {
                g->failed = 1;
                g->err = e;
                if (!g->err.code) g->err.code = TB_EIO;
            }
            g->ended = 1;
        }
        pthread_cond_signal(&g->data);
        if (g->ended) break;
    }
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

static ssize_t ring_read(void *ctx, void *buf, size_t n, tb_err *e)
{
    struct ring *g = ctx;
    if (!n) return 0;
    pthread_mutex_lock(&g->mu);
    while (g->count == 0 && !g->ended) pthread_cond_wait(&g->data, &g->mu);
    if (g->count == 0) {
        int failed = g->failed;
        if (failed && e) *e = g->err;
        pthread_mutex_unlock(&g->mu);
        return failed ? -1 : 0;
    }
    int h = g->head;
    size_t len = g->lens[h];
    pthread_mutex_unlock(&g->mu);
    size_t k = len - g->pos;
    if (k > n) k = n;
    memcpy(buf, g->bufs[h] + g->pos, k);
    g->pos += k;
    if (g->pos == len) {
        g->pos = 0;
        pthread_mutex_lock(&g->mu);
        g->head = (h + 1) % g->nbufs;
        g->count--;
        pthread_cond_signal(&g->space);
        pthread_mutex_unlock(&g->mu);
    }
    return (ssize_t)k;
}

static void ring_free(struct ring *g)
{
    tb_src_close(&g->in);
    for (int i = 0; i < g->nbufs; i++) free(g->bufs[i]);
    free(g->bufs);
    free(g->lens);
    pthread_mutex_destroy(&g->mu);
    pthread_cond_destroy(&g->data);
    pthread_cond_destroy(&g->space);
    free(g);
}

static void ring_close(void *ctx)
{
    struct ring *g = ctx;
    pthread_mutex_lock(&g->mu);
    g->stop = 1;
    pthread_cond_signal(&g->space);
    pthread_mutex_unlock(&g->mu);
    pthread_join(g->th, NULL);
    ring_free(g);
}

int tb_src_threaded(struct tb_src *out, struct tb_src *in, size_t bufsz, int nbufs, tb_err *e)
{
    (void)e;
    tb_assert(bufsz > 0 && nbufs > 0);
    struct ring *g = tb_xcalloc(1, sizeof *g);
    g->in = *in;
    g->bufsz = bufsz;
    g->nbufs = nbufs;
    g->bufs = tb_xcalloc((size_t)nbufs, sizeof *g->bufs);
    g->lens = tb_xcalloc((size_t)nbufs, sizeof *g->lens);
    for (int i = 0; i < nbufs; i++) g->bufs[i] = tb_xmalloc(bufsz);
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->data, NULL);
    pthread_cond_init(&g->space, NULL);
    /* signals stay with the caller's thread: the worker starts with every one blocked */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&g->th, NULL, worker_main, g);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    struct tb_src src = *in; /* out may be in */
    if (out != in) { in->ctx = NULL; in->close = NULL; }
    if (rc != 0) { /* no thread: in is read on this one */
        g->in.close = NULL;
        ring_free(g);
        *out = src;
        return 0;
    }
    out->ctx = g;
    out->read = ring_read;
    out->close = ring_close;
    snprintf(out->name, sizeof out->name, "%s", src.name);
    return 0;
}
