/* progress: terminal bar and NDJSON progress events on stderr. */
#include "progress.h"
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

double tb_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int tb_progress_parse(const char *arg)
{
    if (!arg || strcmp(arg, "bar") == 0) return TB_PROGRESS_BAR;
    if (strcmp(arg, "auto") == 0) return TB_PROGRESS_AUTO;
    if (strcmp(arg, "none") == 0) return TB_PROGRESS_NONE;
    if (strcmp(arg, "json") == 0) return TB_PROGRESS_JSON;
    return -1;
}

void tb_progress_init(struct tb_progress *p, const char *cmd, int mode, const char *unit, const char *done_unit)
{
    memset(p, 0, sizeof *p);
    if (mode == TB_PROGRESS_AUTO) mode = isatty(2) ? TB_PROGRESS_BAR : TB_PROGRESS_NONE;
    p->mode = mode;
    p->cmd = cmd;
    p->unit = unit;
    p->done_unit = done_unit;
    p->start = p->last = tb_now();
}

static const char *human(double v, char *buf, size_t n)
{
    const char *u[] = {"", "k", "M", "G", "T"};
    int i = 0;
    while (v >= 1000 && i < 4) { v /= 1000; i++; }
    snprintf(buf, n, i ? "%.1f%s" : "%.0f%s", v, u[i]);
    return buf;
}

static void draw(struct tb_progress *p, double now, int final)
{
    double el = now - p->start;
    if (el <= 0) el = 1e-9;
    if (p->mode == TB_PROGRESS_JSON) {
        fprintf(stderr, "{\"event\":\"%s\",\"cmd\":\"%s\",\"%s\":%llu,\"bytes\":%llu", final ? "end" : "progress",
                p->cmd, p->unit, (unsigned long long)p->items, (unsigned long long)p->bytes);
        if (p->done_unit) fprintf(stderr, ",\"%s\":%llu", p->done_unit, (unsigned long long)p->done);
        if (p->total_items) fprintf(stderr, ",\"total_%s\":%llu", p->unit, (unsigned long long)p->total_items);
        if (p->total_bytes) fprintf(stderr, ",\"total_bytes\":%llu", (unsigned long long)p->total_bytes);
        if (p->retries) fprintf(stderr, ",\"retries\":%llu", (unsigned long long)p->retries);
        fprintf(stderr, ",\"elapsed\":%.3f}\n", el);
        return;
    }
    char a[32], b[32], c[32], d[32];
    fprintf(stderr, "\r\033[K%s: %s %s", p->cmd, human((double)p->items, a, sizeof a), p->unit);
    if (p->total_items) fprintf(stderr, "/%s", human((double)p->total_items, d, sizeof d));
    fprintf(stderr, "  %sB  %sB/s  %s %s/s", human((double)p->bytes, b, sizeof b), human(p->bytes / el, c, sizeof c),
            human(p->items / el, d, sizeof d), p->unit);
    if (p->done_unit) fprintf(stderr, "  %llu %s", (unsigned long long)p->done, p->done_unit);
    if (p->retries) fprintf(stderr, "  %llu retries", (unsigned long long)p->retries);
    if (p->total_bytes) fprintf(stderr, "  %.0f%%", 100.0 * p->bytes / p->total_bytes);
    if (final) fputc('\n', stderr);
    p->drawn = 1;
}

void tb_progress_tick(struct tb_progress *p)
{
    if (p->mode == TB_PROGRESS_NONE) return;
    double now = tb_now();
    double every = p->mode == TB_PROGRESS_JSON ? 1.0 : 0.2;
    if (now - p->last < every) return;
    p->last = now;
    draw(p, now, 0);
}

void tb_progress_end(struct tb_progress *p)
{
    if (p->mode == TB_PROGRESS_NONE) return;
    draw(p, tb_now(), 1);
}
