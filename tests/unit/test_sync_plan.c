/* lib/sync_plan: the merge of two listings into actions under each change-detection mode, the lazy
 * hash, out-of-order and failing listings, filters on both sides, the delete spool and its gate,
 * and a 1,000,000-entry merge through the pull interface whose peak RSS must stay flat. */
#include "sync_plan.h"
#include "tap.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

/* A listing from a table: {path, size, mtime seconds (-1 unknown), sha256, is_dir}. */
struct row { const char *path; uint64_t size; long mtime; const char *sha; int is_dir; };
struct table { const struct row *r; size_t n, i; int fail_at; };

static int table_next(void *ctx, struct tb_sync_entry *out, int *eof, tb_err *e)
{
    struct table *t = ctx;
    if (t->fail_at >= 0 && t->i == (size_t)t->fail_at) return tb_fail(e, TB_EUNAVAIL, "listing failed");
    if (t->i == t->n) { *eof = 1; return 0; }
    const struct row *r = &t->r[t->i++];
    out->path = r->path;
    out->len = strlen(r->path);
    out->size = r->size;
    out->mtime_known = r->mtime >= 0;
    out->mtime.tv_sec = r->mtime >= 0 ? r->mtime : 0;
    out->mtime.tv_nsec = 0;
    out->sha256 = r->sha;
    out->is_dir = r->is_dir;
    return 0;
}

#define A64 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define B64 "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

struct hashctx { int calls; };
static int lazy_hash(void *ctx, enum tb_sync_side side, const struct tb_sync_entry *ent, char hex[65], tb_err *e)
{
    (void)e;
    struct hashctx *h = ctx;
    h->calls++;
    /* the source's local files can be hashed; the destination's objects without metadata cannot */
    if (side == TB_SYNC_DST) return 0;
    memcpy(hex, strncmp(ent->path, "diff", 4) == 0 ? B64 : A64, 65);
    return 0;
}

/* Run a whole plan, render its actions as "op:why:path " and its deletions as "del:path ". */
static int run(const struct tb_syncplan_cfg *cfg, const struct row *s, size_t ns, const struct row *d, size_t nd,
               char *out, size_t cap, struct tb_syncplan *p, tb_err *e)
{
    static struct table ts, td;
    ts = (struct table){s, ns, 0, -1};
    td = (struct table){d, nd, 0, -1};
    out[0] = 0;
    int rc = tb_syncplan_init(p, cfg, (struct tb_sync_stream){table_next, &ts}, (struct tb_sync_stream){table_next, &td}, e);
    if (rc) return rc;
    size_t n = 0;
    for (;;) {
        struct tb_sync_action a;
        int eof;
        rc = tb_syncplan_next(p, &a, &eof, e);
        if (rc || eof) break;
        n += (size_t)snprintf(out + n, cap - n, "%s:%s:%.*s ", tb_sync_op_name(&a, TB_SYNC_LOCAL_TO_STORE),
                              tb_sync_why_name(a.why), (int)a.src->len, a.src->path);
    }
    if (rc || !cfg->delete) return rc;
    for (;;) {
        const char *path;
        size_t len;
        uint64_t size;
        int eof;
        rc = tb_syncplan_next_delete(p, &path, &len, &size, &eof, e);
        if (rc || eof) break;
        n += (size_t)snprintf(out + n, cap - n, "del:%s ", path);
    }
    return rc;
}

#define N(a) (sizeof(a) / sizeof *(a))

static void modes(void)
{
    static const struct row src[] = {
        {"a-new", 1, 100, "", 0}, {"b-same", 5, 100, "", 0}, {"c-size", 6, 100, "", 0},
        {"d-mtime", 5, 200, "", 0}, {"e-win", 5, 100, "", 0}, {"f-unk", 5, -1, "", 0},
        {"g-unk-sha-eq", 5, -1, A64, 0}, {"h-unk-sha-ne", 5, 100, A64, 0},
    };
    static const struct row dst[] = {
        {"b-same", 5, 100, "", 0}, {"c-size", 5, 100, "", 0}, {"d-mtime", 5, 100, "", 0},
        {"e-win", 5, 101, "", 0}, {"f-unk", 5, 100, "", 0}, {"g-unk-sha-eq", 5, 100, A64, 0},
        {"h-unk-sha-ne", 5, -1, B64, 0}, {"z-old", 3, 100, "", 0},
    };
    char out[2048];
    struct tb_syncplan p;
    tb_err e = {0};
    struct tb_syncplan_cfg cfg = {0};
    int rc = run(&cfg, src, N(src), dst, N(dst), out, sizeof out, &p, &e);
    CHECK_INT(rc, 0, "default mode plans (%s)", e.msg);
    CHECK_STR(out, "upload:new:a-new skip:same:b-same upload:size:c-size upload:mtime:d-mtime upload:mtime:e-win "
              "skip:size-only:f-unk skip:same:g-unk-sha-eq upload:sha256:h-unk-sha-ne ",
              "size + mtime: a same-size change with a new mtime is sent; an unknown mtime uses hashes, else size");
    CHECK_INT(p.st.size_fallback, 1, "the size-only fallback is counted");
    CHECK_INT(p.st.transfer, 5, "five transfers");
    CHECK_INT(p.st.transfer_bytes, 1 + 6 + 5 + 5 + 5, "their bytes");
    CHECK_INT(p.st.skip, 3, "three skips");
    CHECK_INT(p.st.deletes, 0, "nothing deleted without --delete");
    tb_syncplan_free(&p);

    cfg.window_ns = 2000000000;
    run(&cfg, src, N(src), dst, N(dst), out, sizeof out, &p, &e);
    CHECK(strstr(out, "skip:same:e-win") && strstr(out, "upload:mtime:d-mtime"), "a 2 s window: 1 s apart is equal, 100 s is not");
    tb_syncplan_free(&p);

    cfg = (struct tb_syncplan_cfg){.mode = TB_SYNC_SIZE_ONLY};
    run(&cfg, src, N(src), dst, N(dst), out, sizeof out, &p, &e);
    CHECK_STR(out, "upload:new:a-new skip:same:b-same upload:size:c-size skip:same:d-mtime skip:same:e-win "
              "skip:same:f-unk skip:same:g-unk-sha-eq skip:same:h-unk-sha-ne ", "--size-only");
    tb_syncplan_free(&p);

    /* --checksum: the lazy hash is asked only for size-matched pairs whose sha256 is unknown */
    static const struct row csrc[] = {
        {"diff", 5, 100, "", 0}, {"known", 5, 100, A64, 0}, {"nohash", 5, 100, "", 0}, {"same", 5, 100, "", 0},
        {"size", 4, 100, "", 0},
    };
    static const struct row cdst[] = {
        {"diff", 5, 100, A64, 0}, {"known", 5, 999, A64, 0}, {"nohash", 5, 100, "", 0}, {"same", 5, 100, A64, 0},
        {"size", 5, 100, "", 0},
    };
    struct hashctx h = {0};
    cfg = (struct tb_syncplan_cfg){.mode = TB_SYNC_CHECKSUM, .hash = lazy_hash, .hash_ctx = &h};
    rc = run(&cfg, csrc, N(csrc), cdst, N(cdst), out, sizeof out, &p, &e);
    CHECK_STR(out, "upload:sha256:diff skip:same:known upload:no-sha256:nohash skip:same:same upload:size:size ",
              "--checksum: sha256 decides, an unknown one means a transfer, mtimes do not matter");
    CHECK_INT(h.calls, 4, "the hash was asked for: diff, nohash (both sides), same; never for known or a size change");
    tb_syncplan_free(&p);
    cfg.hash = NULL;
    run(&cfg, csrc, N(csrc), cdst, N(cdst), out, sizeof out, &p, &e);
    CHECK(strstr(out, "upload:no-sha256:diff") && strstr(out, "skip:same:known"), "--checksum without a hash function");
    tb_syncplan_free(&p);
}

static void deletes_and_filters(void)
{
    static const struct row src[] = {
        {"keep/a.pt", 1, 1, "", 0}, {"keep/b.tmp", 1, 1, "", 0}, {"logs/x", 1, 1, "", 0},
    };
    static const struct row dst[] = {
        {"keep/a.pt", 1, 1, "", 0}, {"keep/c.pt", 2, 1, "", 0}, {"keep/d.tmp", 3, 1, "", 0},
        {"keep/e", 0, -1, "", 1}, {"other/z", 4, 1, "", 0},
    };
    char out[2048];
    struct tb_syncplan p;
    tb_err e = {0};
    struct tb_syncplan_cfg cfg = {.delete = 1};
    int rc = run(&cfg, src, N(src), dst, N(dst), out, sizeof out, &p, &e);
    CHECK_INT(rc, 0, "--delete plans (%s)", e.msg);
    CHECK_STR(out, "skip:same:keep/a.pt upload:new:keep/b.tmp upload:new:logs/x del:keep/c.pt del:keep/d.tmp del:other/z ",
              "deletions come after the actions, in destination order; a directory is never deleted");
    CHECK_INT(p.st.deletes, 3, "three deletions");
    CHECK_INT(p.st.delete_bytes, 9, "of 9 bytes");
    struct tb_sync_gate g = {.transfers_ok = 1};
    CHECK_INT(tb_syncplan_delete_gate(&p, &g, &e), 0, "the gate opens when every transfer succeeded");
    g.transfers_ok = 0;
    CHECK(tb_syncplan_delete_gate(&p, &g, &e) == TB_EPARTIAL && strstr(e.msg, "withheld"), "a failed transfer withholds them: %s", e.msg);
    g.transfers_ok = 1;
    tb_max_delete_parse("2", &g.max, &e);
    CHECK(tb_syncplan_delete_gate(&p, &g, &e) == TB_EPARTIAL && strstr(e.msg, "3 of 4"), "--max-delete 2 refuses 3: %s", e.msg);
    tb_max_delete_parse("3", &g.max, &e);
    CHECK_INT(tb_syncplan_delete_gate(&p, &g, &e), 0, "--max-delete 3 allows 3");
    tb_max_delete_parse("74%", &g.max, &e);
    CHECK_INT(tb_syncplan_delete_gate(&p, &g, &e), TB_EPARTIAL, "74%% of 4 files is 2: refused");
    tb_max_delete_parse("75%", &g.max, &e);
    CHECK_INT(tb_syncplan_delete_gate(&p, &g, &e), 0, "75%% of 4 files is 3: allowed");
    tb_syncplan_free(&p);

    /* the filter protects destination files: an excluded one is neither sent nor deleted */
    struct tb_filter f;
    tb_filter_init(&f);
    tb_filter_add(&f, 0, "*.tmp", &e);
    tb_filter_add(&f, 1, "keep/", &e);
    cfg.filter = &f;
    run(&cfg, src, N(src), dst, N(dst), out, sizeof out, &p, &e);
    CHECK_STR(out, "skip:same:keep/a.pt del:keep/c.pt ", "filters apply to transfers and deletions alike");
    CHECK_INT(p.st.excluded, 4, "four files excluded on the two sides (a directory entry is not filtered)");
    CHECK_INT(p.st.src_files, 1, "one source file in scope");
    CHECK_INT(p.st.dst_files, 2, "two destination files in scope");
    tb_syncplan_free(&p);

    /* an empty source (in scope) must not wipe the destination */
    static const struct row only_logs[] = {{"logs/x", 1, 1, "", 0}};
    run(&cfg, only_logs, N(only_logs), dst, N(dst), out, sizeof out, &p, &e);
    g = (struct tb_sync_gate){.transfers_ok = 1};
    CHECK(tb_syncplan_delete_gate(&p, &g, &e) == TB_ENOINPUT && strstr(e.msg, "--allow-empty-source"),
          "an empty source is refused with 66: %s", e.msg);
    g.allow_empty_source = 1;
    CHECK_INT(tb_syncplan_delete_gate(&p, &g, &e), 0, "unless allowed");
    tb_syncplan_free(&p);
    cfg.filter = NULL;
    run(&cfg, NULL, 0, NULL, 0, out, sizeof out, &p, &e);
    g.allow_empty_source = 0;
    CHECK_INT(tb_syncplan_delete_gate(&p, &g, &e), 0, "both empty: nothing to delete, nothing refused");
    tb_syncplan_free(&p);
    tb_filter_free(&f);

    static const struct { const char *s; uint64_t n; int pct, rc; } md[] = {
        {"0", 0, 0, 0}, {"10", 10, 0, 0}, {"10%", 10, 1, 0}, {"100%", 100, 1, 0}, {"101%", 0, 0, TB_EUSAGE},
        {"", 0, 0, TB_EUSAGE}, {"-1", 0, 0, TB_EUSAGE}, {"5x", 0, 0, TB_EUSAGE}, {"5%%", 0, 0, TB_EUSAGE},
        {"%", 0, 0, TB_EUSAGE}, {"99999999999999999999", 0, 0, TB_EUSAGE},
    };
    for (size_t i = 0; i < N(md); i++) {
        struct tb_max_delete m;
        int r = tb_max_delete_parse(md[i].s, &m, &e);
        CHECK(r == md[i].rc && (r || (m.n == md[i].n && m.percent == md[i].pct && m.set)), "--max-delete '%s'", md[i].s);
    }
}

static void errors_and_dirs(void)
{
    char out[2048];
    struct tb_syncplan p;
    tb_err e = {0};
    struct tb_syncplan_cfg cfg = {.delete = 1};
    static const struct row unordered[] = {{"a", 1, 1, "", 0}, {"c", 1, 1, "", 0}, {"b", 1, 1, "", 0}};
    static const struct row dup[] = {{"a", 1, 1, "", 0}, {"a", 1, 1, "", 0}};
    static const struct row bytes[] = {{"a-b", 1, 1, "", 0}, {"a/b", 1, 1, "", 0}, {"a\xc3\xa9", 1, 1, "", 0}};
    static const struct row one[] = {{"a", 1, 1, "", 0}};
    int rc = run(&cfg, unordered, N(unordered), one, N(one), out, sizeof out, &p, &e);
    CHECK(rc == TB_EDATA && strstr(e.msg, "source listing not in byte order: 'b' after 'c'"), "out of order: %s", e.msg);
    struct tb_sync_gate g = {.transfers_ok = 1, .allow_empty_source = 1};
    CHECK(tb_syncplan_delete_gate(&p, &g, &e) == TB_EPARTIAL && strstr(e.msg, "incomplete"), "no deletions after it: %s", e.msg);
    struct tb_sync_action a;
    int eof;
    CHECK(tb_syncplan_next(&p, &a, &eof, &e) != 0, "the plan stays failed");
    tb_syncplan_free(&p);
    rc = run(&cfg, one, N(one), dup, N(dup), out, sizeof out, &p, &e);
    CHECK(rc == TB_EDATA && strstr(e.msg, "destination listing"), "a duplicate is out of order too: %s", e.msg);
    tb_syncplan_free(&p);
    rc = run(&cfg, bytes, N(bytes), NULL, 0, out, sizeof out, &p, &e);
    CHECK(rc == 0, "'-' < '/' < 0xc3: byte order, unsigned");
    tb_syncplan_free(&p);

    /* a listing that fails half-way passes its error on and withholds deletions */
    static struct table ts, td;
    ts = (struct table){bytes, N(bytes), 0, 2};
    td = (struct table){one, N(one), 0, -1};
    tb_syncplan_init(&p, &cfg, (struct tb_sync_stream){table_next, &ts}, (struct tb_sync_stream){table_next, &td}, &e);
    do rc = tb_syncplan_next(&p, &a, &eof, &e); while (!rc && !eof);
    CHECK(rc == TB_EUNAVAIL && strstr(e.msg, "listing failed"), "the stream's error is passed on: %s", e.msg);
    CHECK_INT(tb_syncplan_delete_gate(&p, &g, &e), TB_EPARTIAL, "and deletions are withheld");
    tb_syncplan_free(&p);

    static const struct row sd[] = {{"d", 0, -1, "", 1}, {"d/x", 1, 1, "", 0}, {"f", 0, -1, "", 1}, {"g", 0, -1, "", 1}};
    static const struct row dd[] = {{"d", 0, -1, "", 1}, {"f", 1, 1, "", 0}, {"h", 0, -1, "", 1}};
    rc = run(&cfg, sd, N(sd), dd, N(dd), out, sizeof out, &p, &e);
    CHECK_STR(out, "upload:new:d/x conflict:type:f ", "directories: matched silently, a file/directory clash is a conflict");
    CHECK_INT(p.st.conflict, 1, "one conflict");
    CHECK_INT(p.st.deletes, 0, "a destination-only directory is not deleted");
    tb_syncplan_free(&p);

    struct tb_sync_action t = {.op = TB_SYNC_TRANSFER};
    CHECK_STR(tb_sync_op_name(&t, TB_SYNC_STORE_TO_LOCAL), "download", "store to local: download");
    CHECK_STR(tb_sync_op_name(&t, TB_SYNC_STORE_TO_STORE), "copy", "store to store: copy");
    CHECK_STR(tb_sync_op_name(&t, TB_SYNC_LOCAL_TO_LOCAL), "copy", "local to local: copy");

    cfg.spool_dir = "/nonexistent-dir-for-the-spool";
    rc = tb_syncplan_init(&p, &cfg, (struct tb_sync_stream){table_next, &ts}, (struct tb_sync_stream){table_next, &td}, &e);
    CHECK(rc == TB_ECANTCREAT && strstr(e.msg, "delete spool"), "a spool that cannot be created: %s", e.msg);
}

/* The big merge: i in [0, n) on the source, [n/10, n + n/10) on the destination, every 7th
 * shared file with another mtime: n/10 new, n/10 deleted, the rest compared. */
struct gen { uint64_t i, end; long shift; char buf[64]; };
static int gen_next(void *ctx, struct tb_sync_entry *out, int *eof, tb_err *e)
{
    (void)e;
    struct gen *g = ctx;
    if (g->i == g->end) { *eof = 1; return 0; }
    uint64_t i = g->i++;
    int n = snprintf(g->buf, sizeof g->buf, "run/d%04llu/step-%09llu.pt", (unsigned long long)(i / 1000), (unsigned long long)i);
    out->path = g->buf;
    out->len = (size_t)n;
    out->size = i % 4096;
    out->mtime_known = 1;
    out->mtime.tv_sec = 1700000000 + (long)(i % 1000) + (i % 7 == 0 ? g->shift : 0);
    out->mtime.tv_nsec = (long)(i % 1000000000);
    return 0;
}

static long max_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static void big(uint64_t n)
{
    long before = max_rss_kb();
    struct gen s = {0, n, 0, {0}}, d = {n / 10, n + n / 10, 5, {0}};
    struct tb_syncplan p;
    tb_err e = {0};
    struct tb_syncplan_cfg cfg = {.delete = 1};
    int rc = tb_syncplan_init(&p, &cfg, (struct tb_sync_stream){gen_next, &s}, (struct tb_sync_stream){gen_next, &d}, &e);
    uint64_t actions = 0;
    for (;;) {
        struct tb_sync_action a;
        int eof;
        if (rc || (rc = tb_syncplan_next(&p, &a, &eof, &e)) || eof) break;
        actions++;
    }
    CHECK_INT(rc, 0, "%llu entries per side merged (%s)", (unsigned long long)n, e.msg);
    CHECK_INT(actions, n, "one action per source file");
    uint64_t shared = n - n / 10, changed = 0;
    for (uint64_t i = n / 10; i < n; i++) changed += i % 7 == 0;
    CHECK_INT(p.st.transfer, n / 10 + changed, "new and changed files are transfers");
    CHECK_INT(p.st.skip, shared - changed, "the rest are skips");
    CHECK_INT(p.st.deletes, n / 10, "destination-only files are spooled");
    struct tb_sync_gate g = {.transfers_ok = 1};
    CHECK_INT(tb_syncplan_delete_gate(&p, &g, &e), 0, "the gate opens");
    uint64_t nd = 0, expect = n, ordered = 1;
    for (;;) {
        const char *path;
        size_t len;
        uint64_t size;
        int eof;
        if (tb_syncplan_next_delete(&p, &path, &len, &size, &eof, &e) || eof) break;
        char want[64];
        snprintf(want, sizeof want, "run/d%04llu/step-%09llu.pt", (unsigned long long)(expect / 1000), (unsigned long long)expect);
        ordered &= strcmp(path, want) == 0 && size == expect % 4096;
        expect++, nd++;
    }
    CHECK(nd == n / 10 && ordered, "the spool gives back every deletion, in order, with its size");
    tb_syncplan_free(&p);
    long after = max_rss_kb();
    printf("# %llu-entry merge: peak RSS %ld KiB before, %ld KiB after (+%ld KiB)\n", (unsigned long long)n, before,
           after, after - before);
    CHECK(after - before < 4096, "memory stays bounded: peak RSS grew %ld KiB (< 4 MiB)", after - before);
}

int main(void)
{
    modes();
    deletes_and_filters();
    errors_and_dirs();
    const char *env = getenv("TB_SYNCPLAN_ENTRIES");
    big(env ? strtoull(env, NULL, 10) : 1000000);
    return tap_done();
}
