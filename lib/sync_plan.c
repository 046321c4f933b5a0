/* syncplan: the merge-join of two byte-ordered listings into sync actions, the delete spool and
 * its gate (see sync_plan.h for the rules and why). */
#include "sync_plan.h"
#include "alloc.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const side_name[2] = {"source", "destination"};

static int path_cmp(const char *a, size_t al, const char *b, size_t bl)
{
    int r = memcmp(a, b, al < bl ? al : bl);
    if (r) return r;
    return al < bl ? -1 : al > bl;
}

/* Pull the next entry of side s that is in scope, checking the byte order on every entry the
 * stream gives, excluded ones too (an unordered listing is wrong whatever the filter keeps). */
static int pull(struct tb_syncplan *p, int s, tb_err *e)
{
    for (;;) {
        struct tb_sync_entry *c = &p->cur[s];
        memset(c, 0, sizeof *c);
        int eof = 0;
        int rc = p->in[s].next(p->in[s].ctx, c, &eof, e);
        if (rc) { p->failed = 1; return rc; }
        if (eof) { p->eof[s] = 1; p->have[s] = 0; return 0; }
        if (!c->path || c->len == 0) {
            p->failed = 1;
            return tb_fail(e, TB_EDATA, "%s listing: an entry with an empty path", side_name[s]);
        }
        if (p->started[s] && path_cmp(p->prev[s], p->prevlen[s], c->path, c->len) >= 0) {
            p->failed = 1;
            return tb_fail(e, TB_EDATA, "%s listing not in byte order: '%.*s' after '%.*s'", side_name[s],
                           (int)(c->len > 300 ? 300 : c->len), c->path,
                           (int)(p->prevlen[s] > 300 ? 300 : p->prevlen[s]), p->prev[s]);
        }
        tb_xgrow_n(&p->prev[s], &p->prevcap[s], c->len + 1, 1, 256);
        memcpy(p->prev[s], c->path, c->len);
        p->prevlen[s] = c->len;
        p->started[s] = 1;
        if (!c->sha256) c->sha256 = "";
        if (c->is_dir) { p->have[s] = 1; return 0; }
        if (p->cfg.filter && !tb_filter_allows(p->cfg.filter, c->path, c->len)) { p->st.excluded++; continue; }
        if (s == TB_SYNC_SRC) p->st.src_files++;
        else p->st.dst_files++;
        p->have[s] = 1;
        return 0;
    }
}

int tb_syncplan_init(struct tb_syncplan *p, const struct tb_syncplan_cfg *cfg, struct tb_sync_stream src,
                     struct tb_sync_stream dst, tb_err *e)
{
    memset(p, 0, sizeof *p);
    p->cfg = *cfg;
    if (p->cfg.window_ns <= 0) p->cfg.window_ns = 1;
    p->in[0] = src;
    p->in[1] = dst;
    if (!cfg->delete) return 0;
    const char *dir = cfg->spool_dir ? cfg->spool_dir : getenv("TMPDIR");
    if (!dir || !*dir) dir = "/tmp";
    size_t n = strlen(dir) + 32;
    char *tmpl = tb_xmalloc(n);
    snprintf(tmpl, n, "%s/trainbox-sync-XXXXXX", dir);
    int fd = mkstemp(tmpl);
    if (fd < 0) {
        int rc = tb_fail_errno(e, TB_FROM_ERRNO_OUT, "cannot create the delete spool in %s", dir);
        free(tmpl);
        return rc;
    }
    /* unlinked at once: the spool never outlives the process, whatever kills it */
    unlink(tmpl);
    free(tmpl);
    p->spool = fdopen(fd, "w+b");
    if (!p->spool) {
        close(fd);
        return tb_fail_errno(e, TB_EIO, "cannot open the delete spool");
    }
    return 0;
}

static int spool_add(struct tb_syncplan *p, const struct tb_sync_entry *d, tb_err *e)
{
    uint64_t hdr[2] = {d->len, d->size};
    if (fwrite(hdr, sizeof hdr, 1, p->spool) != 1 || fwrite(d->path, 1, d->len, p->spool) != d->len) {
        p->failed = 1;
        return tb_fail_errno(e, TB_EIO, "writing the delete spool");
    }
    p->st.deletes++;
    p->st.delete_bytes += d->size;
    return 0;
}

/* |a - b| < window, without overflowing for any pair of times */
static int mtime_equal(struct timespec a, struct timespec b, int64_t window)
{
    int64_t ds = (int64_t)a.tv_sec - (int64_t)b.tv_sec;
    int64_t wsec = window / 1000000000 + 1;
    if (ds > wsec || ds < -wsec) return 0;
    int64_t d = ds * 1000000000 + ((int64_t)a.tv_nsec - (int64_t)b.tv_nsec);
    if (d < 0) d = -d;
    return d < window;
}

/* sha256 of side s for the current pair: known, or asked of cfg.hash once; "" when unknown. */
static int sha_of(struct tb_syncplan *p, int s, int ask, const char **out, tb_err *e)
{
    const struct tb_sync_entry *c = &p->cur[s];
    *out = c->sha256;
    if (c->sha256[0] || !ask || !p->cfg.hash) return 0;
    p->hex[s][0] = 0;
    int rc = p->cfg.hash(p->cfg.hash_ctx, (enum tb_sync_side)s, c, p->hex[s], e);
    if (rc) { p->failed = 1; return rc; }
    p->hex[s][64] = 0;
    *out = p->hex[s];
    return 0;
}

static int compare(struct tb_syncplan *p, enum tb_sync_why *why, tb_err *e)
{
    const struct tb_sync_entry *s = &p->cur[0], *d = &p->cur[1];
    if (s->size != d->size) { *why = TB_WHY_SIZE; return 0; }
    *why = TB_WHY_SAME;
    if (p->cfg.mode == TB_SYNC_SIZE_ONLY) return 0;
    if (p->cfg.mode == TB_SYNC_SIZE_MTIME && s->mtime_known && d->mtime_known) {
        if (!mtime_equal(s->mtime, d->mtime, p->cfg.window_ns)) *why = TB_WHY_MTIME;
        return 0;
    }
    /* --checksum, or an unknown mtime: hashes decide when they can (asked for only in --checksum) */
    int ask = p->cfg.mode == TB_SYNC_CHECKSUM;
    const char *hs, *hd;
    int rc = sha_of(p, 0, ask, &hs, e);
    if (!rc) rc = sha_of(p, 1, ask, &hd, e);
    if (rc) return rc;
    if (hs[0] && hd[0]) {
        if (strcmp(hs, hd) != 0) *why = TB_WHY_HASH;
    } else if (ask) {
        *why = TB_WHY_NOHASH;
    } else {
        *why = TB_WHY_SIZE_FALLBACK;
        p->st.size_fallback++;
    }
    return 0;
}

int tb_syncplan_next(struct tb_syncplan *p, struct tb_sync_action *act, int *eof, tb_err *e)
{
    *eof = 0;
    memset(act, 0, sizeof *act);
    if (p->failed) return tb_fail(e, TB_ESOFTWARE, "sync plan used after an error");
    for (;;) {
        for (int s = 0; s < 2; s++) {
            if (p->advance[s]) { p->have[s] = 0; p->advance[s] = 0; }
            if (!p->have[s] && !p->eof[s]) {
                int rc = pull(p, s, e);
                if (rc) return rc;
            }
        }
        if (!p->have[0] && !p->have[1]) {
            p->finished = 1;
            *eof = 1;
            return 0;
        }
        struct tb_sync_entry *s = &p->cur[0], *d = &p->cur[1];
        int c = !p->have[1] ? -1 : !p->have[0] ? 1 : path_cmp(s->path, s->len, d->path, d->len);
        if (c < 0) {               /* source only */
            p->advance[0] = 1;
            if (s->is_dir) continue;
            act->op = TB_SYNC_TRANSFER;
            act->why = TB_WHY_NEW;
            act->src = s;
        } else if (c > 0) {        /* destination only */
            p->advance[1] = 1;
            if (d->is_dir || !p->cfg.delete) continue;
            int rc = spool_add(p, d, e);
            if (rc) return rc;
            continue;
        } else {
            p->advance[0] = p->advance[1] = 1;
            if (s->is_dir && d->is_dir) continue;
            act->src = s;
            act->dst = d;
            if (s->is_dir != d->is_dir) {
                act->op = TB_SYNC_CONFLICT;
                act->why = TB_WHY_TYPE;
                p->st.conflict++;
                /* a source directory's files follow under "path/": they will meet the
                 * destination file's absence as new files, and their transfer fails there */
                return 0;
            }
            int rc = compare(p, &act->why, e);
            if (rc) return rc;
            act->op = act->why == TB_WHY_SAME || act->why == TB_WHY_SIZE_FALLBACK ? TB_SYNC_SKIP : TB_SYNC_TRANSFER;
        }
        if (act->op == TB_SYNC_TRANSFER) {
            p->st.transfer++;
            p->st.transfer_bytes += s->size;
        } else {
            p->st.skip++;
        }
        return 0;
    }
}

int tb_max_delete_parse(const char *s, struct tb_max_delete *m, tb_err *e)
{
    memset(m, 0, sizeof *m);
    const char *p = s;
    uint64_t v = 0;
    if (*p < '0' || *p > '9') return tb_fail(e, TB_EUSAGE, "bad --max-delete '%s': expected N or N%%", s);
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > (UINT64_MAX - 9) / 10) return tb_fail(e, TB_EUSAGE, "--max-delete '%s' is too large", s);
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (*p == '%' && !p[1]) {
        if (v > 100) return tb_fail(e, TB_EUSAGE, "bad --max-delete '%s': a percentage is at most 100%%", s);
        m->percent = 1;
    } else if (*p) {
        return tb_fail(e, TB_EUSAGE, "bad --max-delete '%s': expected N or N%%", s);
    }
    m->n = v;
    m->set = 1;
    return 0;
}

int tb_syncplan_delete_gate(const struct tb_syncplan *p, const struct tb_sync_gate *g, tb_err *e)
{
    const struct tb_syncplan_stats *st = &p->st;
    if (!p->finished || p->failed)
        return tb_fail(e, TB_EPARTIAL, "deletions withheld: a listing was incomplete");
    if (!g->transfers_ok)
        return tb_fail(e, TB_EPARTIAL, "deletions withheld: some transfers failed (%llu files not deleted)",
                       (unsigned long long)st->deletes);
    if (!st->deletes) return 0;
    if (st->src_files == 0 && !g->allow_empty_source)
        return tb_fail(e, TB_ENOINPUT, "the source has no files: refusing to delete all %llu destination files "
                       "(--allow-empty-source to allow it)", (unsigned long long)st->deletes);
    if (g->max.set) {
        /* N% of the destination's files, rounded down: "10%" of 5 files allows none */
        uint64_t limit = g->max.percent ? st->dst_files / 100 * g->max.n + st->dst_files % 100 * g->max.n / 100 : g->max.n;
        if (st->deletes > limit)
            return tb_fail(e, TB_EPARTIAL, "--max-delete %llu%s: the pass would delete %llu of %llu destination files "
                           "(more than %llu): nothing deleted", (unsigned long long)g->max.n, g->max.percent ? "%" : "",
                           (unsigned long long)st->deletes, (unsigned long long)st->dst_files,
                           (unsigned long long)limit);
    }
    return 0;
}

int tb_syncplan_next_delete(struct tb_syncplan *p, const char **path, size_t *len, uint64_t *size, int *eof,
                            tb_err *e)
{
    *eof = 0;
    tb_assert(p->finished);
    if (!p->spool) { *eof = 1; return 0; }
    if (!p->reading) {
        if (fflush(p->spool) || fseek(p->spool, 0, SEEK_SET)) return tb_fail_errno(e, TB_EIO, "reading the delete spool");
        p->reading = 1;
    }
    uint64_t hdr[2];
    if (fread(hdr, sizeof hdr, 1, p->spool) != 1) {
        if (ferror(p->spool)) return tb_fail_errno(e, TB_EIO, "reading the delete spool");
        *eof = 1;
        return 0;
    }
    tb_xgrow_n(&p->rbuf, &p->rcap, (size_t)hdr[0] + 1, 1, 256);
    if (fread(p->rbuf, 1, (size_t)hdr[0], p->spool) != hdr[0])
        return tb_fail(e, TB_EIO, "reading the delete spool: truncated");
    p->rbuf[hdr[0]] = 0;
    *path = p->rbuf;
    *len = (size_t)hdr[0];
    *size = hdr[1];
    return 0;
}

void tb_syncplan_free(struct tb_syncplan *p)
{
    if (p->spool) fclose(p->spool);
    free(p->prev[0]);
    free(p->prev[1]);
    free(p->rbuf);
    memset(p, 0, sizeof *p);
}

const char *tb_sync_op_name(const struct tb_sync_action *a, enum tb_sync_dir dir)
{
    switch (a->op) {
    case TB_SYNC_SKIP: return "skip";
    case TB_SYNC_CONFLICT: return "conflict";
    case TB_SYNC_TRANSFER: break;
    }
    switch (dir) {
    case TB_SYNC_LOCAL_TO_STORE: return "upload";
    case TB_SYNC_STORE_TO_LOCAL: return "download";
    case TB_SYNC_STORE_TO_STORE:
    case TB_SYNC_LOCAL_TO_LOCAL: break;
    }
    return "copy";
}

const char *tb_sync_why_name(enum tb_sync_why w)
{
    static const char *const names[] = {"new", "size", "mtime", "sha256", "no-sha256", "same", "size-only", "type"};
    return (size_t)w < sizeof names / sizeof *names ? names[w] : "?";
}
