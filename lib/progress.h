/* progress: a one-line bar on stderr when stderr is a terminal, NDJSON events with --progress=json,
 * nothing otherwise. Cheap to call in hot loops: it looks at a coarse clock and redraws at most
 * 5 times a second (JSON: once a second). */
#ifndef TB_PROGRESS_H
#define TB_PROGRESS_H
#include <stdint.h>

enum tb_progress_mode { TB_PROGRESS_AUTO, TB_PROGRESS_NONE, TB_PROGRESS_BAR, TB_PROGRESS_JSON };

struct tb_progress {
    int mode;           /* resolved: NONE, BAR or JSON */
    const char *cmd;
    const char *unit;   /* "lines", "samples", "files" */
    const char *done_unit; /* "shards", "objects" or NULL */
    double start, last;
    uint64_t items, bytes, done, retries;
    uint64_t total_items, total_bytes; /* 0: unknown */
    int drawn;
};

/* Parse --progress[=auto|none|bar|json] (NULL arg means bar). Returns -1 when unknown. */
int tb_progress_parse(const char *arg);
void tb_progress_init(struct tb_progress *p, const char *cmd, int mode, const char *unit, const char *done_unit);
/* Call after updating the counters; redraws when due. */
void tb_progress_tick(struct tb_progress *p);
/* Final line (bar: newline; json: an "end" event). */
void tb_progress_end(struct tb_progress *p);
double tb_now(void);
#endif
