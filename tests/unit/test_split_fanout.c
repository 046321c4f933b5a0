/* fanout: real `sh -c` children. Lines reach the stream they were put to, in order, also past the
 * 1 MiB queue (a child that reads slowly holds the producer up, none deadlocks); the children's
 * lines are relayed whole and their trailers summed into one; a missing, miscounted or followed
 * trailer, a child that exits non-zero or dies of a signal, and a producer that fails are errors; a
 * child that stops reading is not; every child is waited for. */
#include "split_fanout.h"
#include "tap.h"
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *const names[] = {"a", "b", "c"};

struct prod {
    int lines;        /* lines put, spread over the streams: line i to stream i % n */
    int big;          /* then this many bytes more to stream 0, in 1000-byte lines */
    int fail;         /* then return TB_EDATA */
};

static int produce(void *ud, struct tb_fanout *f, tb_err *e)
{
    struct prod *p = ud;
    char line[1100];
    for (int i = 0; i < p->lines; i++) {
        int n = snprintf(line, sizeof line, "{\"i\":%d,\"to\":\"%s\"}", i, f->names[i % f->n]);
        int r = tb_fanout_put(f, i % f->n, line, (size_t)n, e);
        if (r) return r;
    }
    memset(line, 'x', 1000);
    for (int done = 0; done < p->big; done += 1001) {
        int r = tb_fanout_put(f, 0, line, 1000, e);
        if (r) return r;
    }
    if (p->fail) return tb_fail(e, TB_EDATA, "the producer failed");
    return 0;
}

/* Run cmd over three streams; out collects what the children printed. */
static int run(const char *cmd, struct prod *p, struct tb_fanout *f, char **out, size_t *outlen, tb_err *e)
{
    FILE *o = open_memstream(out, outlen);
    memset(f, 0, sizeof *f);
    f->cmd = cmd;
    f->n = 3;
    f->names = names;
    f->env = "SPLIT";
    f->noun = "split";
    f->out = o;
    f->produce = produce;
    f->ud = p;
    int r = tb_fanout_run(f, e);
    fclose(o);
    return r;
}

static int count(const char *s, const char *needle)
{
    int n = 0;
    for (const char *q = s; (q = strstr(q, needle)); q++) n++;
    return n;
}

static int all_reaped(void)
{
    return waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD;
}

static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *b = malloc(8 << 20);
    *n = fread(b, 1, 8 << 20, f);
    fclose(f);
    return b;
}

/* awk as a record-stream stage: every line passed on, then its trailer */
#define PASS_ON "awk '{ print } END { printf \"{\\\"__end__\\\":{\\\"records\\\":%d,\\\"ok\\\":true}}\\n\", NR }'"

int main(void)
{
    char dir[] = "/tmp/tb-fanout-XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "temp dir");
    setenv("OUTDIR", dir, 1);
    tb_err e = {0};
    struct tb_fanout f;
    char *out = NULL;
    size_t olen = 0;

    /* routing: each child writes its stream to a file; stream a also gets 3 MB (past the queue) */
    {
        struct prod p = {300, 3 << 20, 0};
        int r = run("cat > \"$OUTDIR/$SPLIT.jsonl\"", &p, &f, &out, &olen, &e);
        CHECK(r == 0 && olen == 0 && !f.stream, "files written, nothing printed, no record stream: %s", r ? e.msg : "");
        int ok = 1;
        for (int s = 0; s < 3; s++) {
            char path[256], want[64];
            snprintf(path, sizeof path, "%s/%s.jsonl", dir, names[s]);
            size_t n = 0;
            char *got = slurp(path, &n);
            ok = ok && got;
            if (!got) break;
            /* its lines, in order: i = s, s + 3, ... */
            size_t pos = 0;
            for (int i = s; i < 300 && ok; i += 3) {
                int k = snprintf(want, sizeof want, "{\"i\":%d,\"to\":\"%s\"}\n", i, names[s]);
                ok = pos + (size_t)k <= n && memcmp(got + pos, want, (size_t)k) == 0;
                pos += (size_t)k;
            }
            size_t big = s == 0 ? ((3u << 20) + 1000) / 1001 * 1001 : 0;
            ok = ok && n == pos + big;
            free(got);
            unlink(path);
        }
        CHECK(ok, "every stream got its own lines, in order, and stream a its 3 MB");
        CHECK(all_reaped(), "every child was waited for");
        free(out);
    }

    /* record streams: the lines relayed whole, the trailers held back and summed */
    {
        struct prod p = {3000, 0, 0};
        int r = run(PASS_ON, &p, &f, &out, &olen, &e);
        CHECK(r == 0 && f.stream == 1 && f.records == 3000, "three trailers make one record stream of 3000: %s", r ? e.msg : "");
        CHECK(count(out, "\n") == 3000 && count(out, "__end__") == 0 && count(out, "\"to\":\"b\"}\n") == 1000,
              "3000 lines relayed whole, no trailer among them");
        free(out);
    }
    {
        struct prod p = {10, 0, 0};
        int r = run("cat >/dev/null; printf 'no newline'", &p, &f, &out, &olen, &e);
        CHECK(r == 0 && !f.stream && count(out, "no newline\n") == 3, "a last line without a newline is passed on whole");
        free(out);
    }
    {
        struct prod p = {30, 0, 0};
        int r = run("if [ \"$SPLIT\" = b ]; then cat; else " PASS_ON "; fi", &p, &f, &out, &olen, &e);
        CHECK(r == TB_EDATA && strstr(e.msg, "filter for split 'b' ended without a trailer after 10 records"),
              "one child without a trailer when the others have one: %s", e.msg);
        free(out);
    }
    {
        struct prod p = {30, 0, 0};
        int r = run("cat; echo '{\"__end__\":{\"records\":11,\"ok\":true}}'", &p, &f, &out, &olen, &e);
        CHECK(r == TB_EDATA && strstr(e.msg, "filter for split 'a' wrote a bad record stream: its trailer counts 11 records, it printed 10"),
              "a miscounted trailer: %s", e.msg);
        free(out);
    }
    {
        struct prod p = {30, 0, 0};
        int r = run(PASS_ON "; echo more", &p, &f, &out, &olen, &e);
        CHECK(r == TB_EDATA && strstr(e.msg, "a line after its trailer"), "a line after the trailer: %s", e.msg);
        free(out);
    }

    /* children that fail */
    {
        struct prod p = {30, 0, 0};
        int r = run("cat >/dev/null; [ \"$SPLIT\" = a ] || exit 3", &p, &f, &out, &olen, &e);
        CHECK(r == 3 && strstr(e.msg, "filter for split 'b' exited with status 3"), "exit 3 is the exit code, naming the first: %s", e.msg);
        free(out);
    }
    {
        struct prod p = {30, 0, 0};
        int r = run("cat >/dev/null; [ \"$SPLIT\" != c ] || kill -9 $$", &p, &f, &out, &olen, &e);
        CHECK(r == TB_ESOFTWARE && strstr(e.msg, "filter for split 'c' was killed by signal 9"), "a child killed by a signal: %s", e.msg);
        free(out);
    }
    {
        struct prod p = {30, 0, 0};
        int r = run("exit 200", &p, &f, &out, &olen, &e);
        CHECK(r == TB_ESOFTWARE && strstr(e.msg, "exited with status 200"), "a status above 125 is TB_ESOFTWARE: %s", e.msg);
        free(out);
    }
    {
        struct prod p = {3000, 2 << 20, 0};
        int r = run("head -n 1", &p, &f, &out, &olen, &e);
        CHECK(r == 0 && count(out, "\n") == 3, "children that stop reading (head -n 1) are no error: %s", r ? e.msg : "");
        free(out);
    }
    {
        struct prod p = {30, 2 << 20, 1};
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        int r = run("cat >/dev/null; exec sleep 20", &p, &f, &out, &olen, &e);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        CHECK(r == TB_EDATA && strstr(e.msg, "the producer failed") && s < 10,
              "the producer's error is returned, the children are terminated, not waited out (%.1f s)", s);
        CHECK(all_reaped(), "and waited for");
        free(out);
    }
    rmdir(dir);
    return tap_done();
}
