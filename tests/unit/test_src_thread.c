/* lib/src_thread: bytes come out in order whatever the read sizes on both sides; the ring stays
 * bounded (the source is never more than the ring ahead of the reader); an error comes after every
 * byte read before it, and again on later reads; the end is 0 and stays 0; the source is read on one
 * thread, not the caller's, and closed only after that thread stopped; closing early (nothing read,
 * part read, the worker waiting on a full ring, the worker inside a slow read) returns and frees
 * everything (run under valgrind: make valgrind). */
#include "src_thread.h"
#include "tap.h"
#include "testutil.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* A counting source: byte i is (i * 7 + i / 251) & 0xff, up to total (or forever when total is
 * 0), in reads of 1..maxread bytes; fails after fail_at bytes when fail_at > 0. */
struct cnt {
    uint64_t total, fail_at, pos, seed;
    size_t maxread;
    int sleep_us;
    pthread_t reader;
    int readers;           /* distinct reading threads seen (1 expected) */
    atomic_int in_read, closed_in_read;
    atomic_ullong produced; /* bytes handed out */
    int *closed;
};

static unsigned char byte_at(uint64_t i) { return (unsigned char)((i * 7 + i / 251) & 0xff); }

static ssize_t cnt_read(void *ctx, void *buf, size_t n, tb_err *e)
{
    struct cnt *c = ctx;
    atomic_store(&c->in_read, 1);
    if (!c->readers) { c->reader = pthread_self(); c->readers = 1; }
    else if (!pthread_equal(c->reader, pthread_self())) c->readers++;
    if (c->sleep_us) usleep((useconds_t)c->sleep_us);
    ssize_t r;
    if (c->fail_at && c->pos >= c->fail_at) {
        tb_fail(e, TB_EDATA, "boom at %llu", (unsigned long long)c->pos);
        r = -1;
    } else {
        size_t k = 1 + (size_t)(tu_xorshift(&c->seed) % c->maxread);
        if (k > n) k = n;
        if (c->total && k > c->total - c->pos) k = (size_t)(c->total - c->pos);
        if (c->fail_at && k > c->fail_at - c->pos) k = (size_t)(c->fail_at - c->pos);
        unsigned char *p = buf;
        for (size_t i = 0; i < k; i++) p[i] = byte_at(c->pos + i);
        c->pos += k;
        atomic_fetch_add(&c->produced, k);
        r = (ssize_t)k;
    }
    atomic_store(&c->in_read, 0);
    return r;
}

static void cnt_close(void *ctx)
{
    struct cnt *c = ctx;
    if (atomic_load(&c->in_read)) atomic_store(&c->closed_in_read, 1);
    if (c->closed) *c->closed = 1;
}

static void cnt_src(struct tb_src *s, struct cnt *c)
{
    s->ctx = c;
    s->read = cnt_read;
    s->close = cnt_close;
    snprintf(s->name, sizeof s->name, "counting");
}

static void test_order(void)
{
    static const size_t bufsz[] = {1, 7, 4096, 1u << 16};
    static const size_t reads[] = {1, 5, 4096, 100000};
    static const int nbufs[] = {1, 2, 4};
    int ok = 1, bounded = 1, one_thread = 1;
    for (size_t b = 0; b < 4; b++)
        for (size_t r = 0; r < 4; r++)
            for (size_t m = 0; m < 3; m++) {
                int closed = 0;
                struct cnt c = {.total = 200000, .seed = 7 + b * 16 + r, .maxread = bufsz[b] * 2 + 3, .closed = &closed};
                if (bufsz[b] <= 7) c.total = bufsz[b] * 3000; /* a buffer handed over per few bytes: slow */
                struct tb_src in, s;
                cnt_src(&in, &c);
                tb_err e = {0};
                tb_src_threaded(&s, &in, bufsz[b], nbufs[m], &e);
                unsigned char *buf = malloc(reads[r]);
                uint64_t got = 0;
                ssize_t k;
                while ((k = tb_src_read(&s, buf, reads[r], &e)) > 0) {
                    for (ssize_t i = 0; i < k; i++)
                        if (buf[i] != byte_at(got + (uint64_t)i)) ok = 0;
                    got += (uint64_t)k;
                    /* at most every buffer full (the one being read among them) */
                    if (atomic_load(&c.produced) > got + bufsz[b] * (size_t)nbufs[m]) bounded = 0;
                }
                if (k != 0 || got != c.total) ok = 0;
                if (tb_src_read(&s, buf, reads[r], &e) != 0) ok = 0; /* the end stays the end */
                if (c.readers != 1 || pthread_equal(c.reader, pthread_self())) one_thread = 0;
                tb_src_close(&s);
                if (!closed) ok = 0;
                free(buf);
            }
    CHECK(ok, "every byte in order, then 0, whatever the buffer, ring and read sizes; in closed");
    CHECK(bounded, "the source never runs more than the ring ahead of the reader");
    CHECK(one_thread, "the source is read on one thread, not the caller's");
}

static void test_error(void)
{
    int closed = 0;
    struct cnt c = {.fail_at = 12345, .seed = 3, .maxread = 1000, .closed = &closed};
    struct tb_src in, s;
    cnt_src(&in, &c);
    tb_err e = {0};
    tb_src_threaded(&s, &in, 1024, 3, &e);
    unsigned char buf[777];
    uint64_t got = 0;
    ssize_t k;
    int ok = 1;
    while ((k = tb_src_read(&s, buf, sizeof buf, &e)) > 0) {
        for (ssize_t i = 0; i < k; i++)
            if (buf[i] != byte_at(got + (uint64_t)i)) ok = 0;
        got += (uint64_t)k;
    }
    CHECK(ok && got == 12345, "every byte before the error comes first (%llu)", (unsigned long long)got);
    CHECK_INT(k, -1, "then the error");
    CHECK_INT(e.code, TB_EDATA, "with its code");
    CHECK(strstr(e.msg, "boom at 12345") && strstr(e.msg, "counting"), "and its message, the source named: %s", e.msg);
    tb_err e2 = {0};
    CHECK_INT(tb_src_read(&s, buf, sizeof buf, &e2), -1, "a later read fails again");
    CHECK_INT(e2.code, TB_EDATA, "with the same code");
    tb_src_close(&s);
    CHECK(closed, "closing closes the source");

    /* an error before any byte */
    struct cnt c0 = {.fail_at = 0, .total = 0, .seed = 1, .maxread = 1};
    c0.fail_at = 1;
    c0.pos = 1;
    cnt_src(&in, &c0);
    tb_src_threaded(&s, &in, 64, 2, &e);
    memset(&e, 0, sizeof e);
    CHECK_INT(tb_src_read(&s, buf, sizeof buf, &e), -1, "an error at the first read is the first answer");
    CHECK_INT(e.code, TB_EDATA, "... TB_EDATA");
    tb_src_close(&s);
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void test_early_close(void)
{
    /* an endless source: closed with nothing read, after a little, with the ring full */
    for (int when = 0; when < 3; when++) {
        int closed = 0;
        struct cnt c = {.seed = 11, .maxread = 4096, .closed = &closed};
        struct tb_src in, s;
        cnt_src(&in, &c);
        tb_err e = {0};
        tb_src_threaded(&s, &in, 4096, 4, &e);
        unsigned char buf[100];
        if (when >= 1) tb_src_read(&s, buf, sizeof buf, &e);
        if (when == 2) {
            /* wait until the worker filled the ring and waits for room */
            for (int i = 0; i < 2000 && atomic_load(&c.produced) < 4 * 4096 - 4096; i++) usleep(1000);
            usleep(20000);
        }
        double t0 = now();
        tb_src_close(&s);
        static const char *what[] = {"with nothing read", "after one read", "with the ring full"};
        CHECK(closed && !atomic_load(&c.closed_in_read), "closing an endless source early (%s) joins the worker, then closes the source", what[when]);
        CHECK(now() - t0 < 5.0, "... promptly");
    }
    /* the worker inside a slow read when the reader closes: close waits for that read to end */
    int closed = 0;
    struct cnt c = {.seed = 5, .maxread = 10, .sleep_us = 50000, .closed = &closed};
    struct tb_src in, s;
    cnt_src(&in, &c);
    tb_err e = {0};
    tb_src_threaded(&s, &in, 64, 2, &e);
    unsigned char buf[4];
    CHECK(tb_src_read(&s, buf, sizeof buf, &e) > 0, "a slow source's first bytes come through");
    tb_src_close(&s);
    CHECK(closed && !atomic_load(&c.closed_in_read), "closing during a slow read: the source is closed after its read ended");
}

/* a source kept out of the ring's worker is possible too: out may be in */
static void test_alias(void)
{
    struct cnt c = {.total = 5000, .seed = 9, .maxread = 300};
    struct tb_src s;
    cnt_src(&s, &c);
    tb_err e = {0};
    CHECK_INT(tb_src_threaded(&s, &s, 512, 2, &e), 0, "out may be in");
    unsigned char buf[1000];
    uint64_t got = 0;
    ssize_t k;
    while ((k = tb_src_read(&s, buf, sizeof buf, &e)) > 0) got += (uint64_t)k;
    CHECK(k == 0 && got == 5000, "... and reads the whole source");
    CHECK_STR(s.name, "counting", "... its name kept");
    tb_src_close(&s);
}

int main(void)
{
    test_order();
    test_error();
    test_early_close();
    test_alias();
    return tap_done();
}
