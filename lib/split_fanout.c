/* fanout: children fed through pipes, one poll loop, their record streams relayed and their
 * trailers summed (see split_fanout.h). */
#include "split_fanout.h"
#include "alloc.h"
#include "ndjson_trailer.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define QUEUE_HIGH (1u << 20) /* put() waits when a child has more than this queued ... */
#define QUEUE_LOW (1u << 16)  /* ... until it has at most this */
#define READ_STEP 65536

struct fanout_child {
    pid_t pid;
    int in_fd, out_fd;   /* our ends: write to its stdin, read its stdout */
    char *wbuf;
    size_t wlen, wcap;
    char *rbuf;
    size_t rlen, rcap;
    int out_eof, broken;
    /* its record stream: lines relayed, and its trailer, which is held back (one is written for all) */
    uint64_t lines, trailer_n;
    int trailer;            /* 1: it wrote a valid trailer; -1: something was wrong with it (bad) */
    tb_err bad;
};

/* One complete line of a child's output: relayed, unless it is the child's trailer, which is only
 * noted (and checked: its count, and that nothing follows it). */
static void forward_line(FILE *out, struct fanout_child *k, const char *line, size_t len)
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
    fwrite(line, 1, len, out);
    fputc('\n', out);
    if (len) k->lines++;
}

static void forward_lines(FILE *out, struct fanout_child *k, int final)
{
    size_t pos = 0;
    for (;;) {
        char *nl = memchr(k->rbuf + pos, '\n', k->rlen - pos);
        if (!nl) break;
        size_t n = (size_t)(nl - (k->rbuf + pos));
        forward_line(out, k, k->rbuf + pos, n);
        pos += n + 1;
    }
    /* a last line without newline: still passed through whole */
    if (final && k->rlen > pos) { forward_line(out, k, k->rbuf + pos, k->rlen - pos); pos = k->rlen; }
    if (!pos) return;
    memmove(k->rbuf, k->rbuf + pos, k->rlen - pos);
    k->rlen -= pos;
}

/* Move bytes between us and the children until child `wait_for` (or all, with -1) has at most
 * `low` bytes queued for its stdin; with drain, until every child's stdout reached EOF. */
static int pump(struct tb_fanout *f, int wait_for, size_t low, int drain, tb_err *e)
{
    struct pollfd *pf = f->pf;
    for (;;) {
        int done = 1;
        if (drain) {
            for (int i = 0; i < f->nkids; i++) if (!f->kids[i].out_eof) done = 0;
        } else {
            for (int i = 0; i < f->nkids; i++)
                if ((wait_for < 0 || wait_for == i) && !f->kids[i].broken && f->kids[i].wlen > low) done = 0;
        }
        if (done) return 0;
        int n = 0;
        for (int i = 0; i < f->nkids; i++) {
            struct fanout_child *k = &f->kids[i];
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
            struct fanout_child *k = NULL;
            int is_in = 0;
            for (int i = 0; i < f->nkids; i++) {
                if (f->kids[i].in_fd == pf[p].fd && pf[p].events == POLLOUT) { k = &f->kids[i]; is_in = 1; }
                else if (f->kids[i].out_fd == pf[p].fd && pf[p].events == POLLIN) k = &f->kids[i];
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
                tb_xgrow(&k->rbuf, &k->rcap, k->rlen + READ_STEP);
                ssize_t r = read(k->out_fd, k->rbuf + k->rlen, k->rcap - k->rlen);
                if (r < 0) {
                    if (errno == EAGAIN || errno == EINTR) continue;
                    return tb_fail_errno(e, TB_EIO, "read from filter failed");
                }
                if (r == 0) { k->out_eof = 1; forward_lines(f->out, k, 1); continue; }
                k->rlen += (size_t)r;
                forward_lines(f->out, k, 0);
            }
        }
    }
}

static int start_children(struct tb_fanout *f, tb_err *e)
{
    signal(SIGPIPE, SIG_IGN);
    fflush(f->out);
    for (int i = 0; i < f->n; i++) {
        int in[2], out[2];
        if (pipe2(in, O_CLOEXEC)) return tb_fail_errno(e, TB_ESOFTWARE, "pipe failed");
        if (pipe2(out, O_CLOEXEC)) {
            int r = tb_fail_errno(e, TB_ESOFTWARE, "pipe failed");
            close(in[0]);
            close(in[1]);
            return r;
        }
        pid_t pid = fork();
        if (pid < 0) {
            int r = tb_fail_errno(e, TB_ESOFTWARE, "fork failed");
            close(in[0]);
            close(in[1]);
            close(out[0]);
            close(out[1]);
            return r;
        }
        if (pid == 0) {
            dup2(in[0], 0);
            dup2(out[1], 1);
            setenv(f->env, f->names[i], 1);
            signal(SIGPIPE, SIG_DFL);
            execl("/bin/sh", "sh", "-c", f->cmd, (char *)NULL);
            _exit(127);
        }
        close(in[0]);
        close(out[1]);
        fcntl(in[1], F_SETFL, O_NONBLOCK);
        fcntl(out[0], F_SETFL, O_NONBLOCK);
        f->kids[i] = (struct fanout_child){.pid = pid, .in_fd = in[1], .out_fd = out[0]};
        f->nkids++;
    }
    return 0;
}

static void kill_children(struct tb_fanout *f)
{
    for (int i = 0; i < f->nkids; i++) {
        struct fanout_child *k = &f->kids[i];
        if (k->in_fd >= 0) close(k->in_fd);
        k->in_fd = -1;
        kill(k->pid, SIGTERM);
    }
    for (int i = 0; i < f->nkids; i++) waitpid(f->kids[i].pid, NULL, 0);
    f->nkids = 0;
}

/* Every child's exit status, in stream order: the first that is not 0 fails the run. */
static int wait_children(struct tb_fanout *f, tb_err *e)
{
    int worst = 0;
    for (int i = 0; i < f->nkids; i++) {
        int st;
        while (waitpid(f->kids[i].pid, &st, 0) < 0 && errno == EINTR) {}
        int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        if (code && !worst) {
            worst = code;
            tb_fail(e, code > 125 ? TB_ESOFTWARE : code, "filter for %s '%s' %s %d", f->noun, f->names[i],
                    WIFEXITED(st) ? "exited with status" : "was killed by signal", WIFEXITED(st) ? code : WTERMSIG(st));
        }
    }
    f->nkids = 0;
    return worst ? e->code : 0;
}

/* The children's output is a record stream when any of them ended it with a trailer (shard
 * does): then each must have. */
static int check_trailers(struct tb_fanout *f, tb_err *e)
{
    int any = 0;
    for (int i = 0; i < f->n; i++) {
        struct fanout_child *k = &f->kids[i];
        if (k->trailer < 0)
            return tb_fail(e, TB_EDATA, "filter for %s '%s' wrote a bad record stream: %s", f->noun, f->names[i], k->bad.msg);
        if (k->trailer) any = 1;
    }
    for (int i = 0; any && i < f->n; i++) {
        struct fanout_child *k = &f->kids[i];
        if (!k->trailer)
            return tb_fail(e, TB_EDATA, "filter for %s '%s' ended without a trailer after %llu records: its output is incomplete",
                           f->noun, f->names[i], (unsigned long long)k->lines);
        f->records += k->trailer_n;
    }
    f->stream = any;
    return 0;
}

/* The rest of the lines, EOF, every child's output to its end, their exit statuses and trailers. */
static int finish_children(struct tb_fanout *f, tb_err *e)
{
    int r = pump(f, -1, 0, 0, e);
    if (r) return r;
    for (int i = 0; i < f->nkids; i++) { close(f->kids[i].in_fd); f->kids[i].in_fd = -1; }
    if ((r = pump(f, -1, 0, 1, e)) || (r = wait_children(f, e))) return r;
    return check_trailers(f, e);
}

int tb_fanout_put(struct tb_fanout *f, int i, const char *line, size_t len, tb_err *e)
{
    struct fanout_child *k = &f->kids[i];
    if (k->broken) return 0;
    if (k->wlen + len + 1 > k->wcap) tb_xgrow(&k->wbuf, &k->wcap, k->wlen + len + 1);
    memcpy(k->wbuf + k->wlen, line, len);
    k->wbuf[k->wlen + len] = '\n';
    k->wlen += len + 1;
    if (k->wlen > QUEUE_HIGH) return pump(f, i, QUEUE_LOW, 0, e);
    return 0;
}

int tb_fanout_run(struct tb_fanout *f, tb_err *e)
{
    f->stream = 0;
    f->records = 0;
    f->nkids = 0;
    f->kids = tb_xcalloc((size_t)f->n, sizeof *f->kids);
    f->pf = tb_xcalloc(2 * (size_t)f->n, sizeof *f->pf);
    int r = start_children(f, e);
    if (!r) r = f->produce(f->ud, f, e);
    if (!r) r = finish_children(f, e);
    if (f->nkids) kill_children(f); /* what failed left them running */
    for (int i = 0; i < f->n; i++) {
        free(f->kids[i].wbuf);
        free(f->kids[i].rbuf);
        if (f->kids[i].out_fd > 0) close(f->kids[i].out_fd);
    }
    free(f->kids);
    free(f->pf);
    f->kids = NULL;
    f->pf = NULL;
    return r;
}
