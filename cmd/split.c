/* split: deterministic partitioning of NDJSON lines into named splits (--ratio) and into this rank's
 * share (--rank/--world-size), streaming unless --sort, --shuffle or --balance need every item.
 * This file owns the options, the per-line path (key, split, rank, --skip, --require-each, output)
 * and hold mode; regular files take the fast paths of lib/split_linepick (--by index) and lib/split_classify
 * (key modes), and --filter's children are lib/split_fanout's. */
#include "alloc.h"
#include "atomic.h"
#include "split_classify.h"
#include "commands.h"
#include "err.h"
#include "split_fanout.h"
#include "hash.h"
#include "json.h"
#include "split_linepick.h"
#include "split_mapread.h"
#include "ndjson.h"
#include "opts.h"
#include "progress.h"
#include "rankenv.h"
#include "split.h"
#include "ndjson_trailer.h"
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
    OPT_RATIO = 1, OPT_OUTPUT, OPT_FILTER, OPT_KEY, OPT_SEED, OPT_RANK, OPT_WORLD, OPT_BY, OPT_SORT,
    OPT_BALANCE, OPT_REQUIRE_EACH, OPT_SHUFFLE, OPT_EPOCH, OPT_SKIP, OPT_SKIP_INVALID, OPT_REJECTS,
    OPT_MAX_LINE, OPT_PROGRESS,
};

static const struct tb_opt split_opts[] = {
    {OPT_RATIO, 0, "ratio", "SPEC", "route lines to named splits by weight, e.g. train=98,val=1,test=1", NULL},
    {OPT_OUTPUT, 'o', "output", "DIR", "write each split to DIR/NAME.jsonl (atomically)", "dir"},
    {OPT_FILTER, 0, "filter", "CMD", "pipe each split into `sh -c CMD` with SPLIT=NAME set", "cmd"},
    {OPT_KEY, 0, "key", "FIELD", "hash this field instead of __key__ (or of the whole line)", NULL},
    {OPT_SEED, 0, "seed", "N", "seed of the keyed hash and of the shuffle (default 0)", NULL},
    {OPT_RANK, 0, "rank", "R", "keep only rank R's lines (default from the environment: trainbox(1), RANKS)", NULL},
    {OPT_WORLD, 0, "world-size", "N", "number of ranks (default from the environment: trainbox(1), RANKS)", NULL},
    {OPT_BY, 0, "by", "index|hash", "rank assignment: line i to rank i mod N (default), or by key hash", "index hash"},
    {OPT_SORT, 0, "sort", NULL, "sort items by key first, so any input order partitions the same", NULL},
    {OPT_BALANCE, 0, "balance", "bytes", "give ranks near-equal byte totals: records' \"bytes\", else line lengths", "bytes"},
    {OPT_REQUIRE_EACH, 0, "require-each", NULL, "fail (exit 65) when any rank would get nothing", NULL},
    {OPT_SHUFFLE, 0, "shuffle", NULL, "shuffle this rank's items, deterministically per --seed and --epoch", NULL},
    {OPT_EPOCH, 0, "epoch", "E", "epoch number for --shuffle (default 0)", NULL},
    {OPT_SKIP, 0, "skip", "K", "skip the first K items of this rank's sequence (resume mid-epoch)", NULL},
    {OPT_SKIP_INVALID, 0, "skip-invalid", NULL, "count and report invalid lines instead of failing", NULL},
    {OPT_REJECTS, 0, "rejects", "FILE", "with --skip-invalid, write invalid lines to FILE", "file"},
    TB_OPT_MAX_LINE(OPT_MAX_LINE),
    {OPT_PROGRESS, 0, "progress", "[MODE]", "progress on stderr: auto (default), bar, json, none", NULL},
    TB_COMMON_OPTS,
    TB_OPT_END,
};

static int cmd_split(int argc, char **argv);

const struct tb_cmd_spec tb_cmd_split = {
    "split",
    "partition NDJSON lines into train/val/test splits and rank shares",
    "--ratio SPEC [-o DIR | --filter CMD] [OPTIONS] [FILE...]\n"
    "--world-size N [--rank R] [--by index|hash] [--sort] [--shuffle --epoch E] [OPTIONS] [FILE...]",
    "Each line goes to one split chosen by a keyed hash (SipHash-2-4, --seed) of its __key__, of the\n"
    "field named by --key, or of the whole line when it has no key: the same key lands in the same split\n"
    "whatever the input order, on any machine. With neither -o nor --filter, lines get a \"split\" field.\n"
    "Rank options keep only this rank's lines. Streaming with bounded memory, except that --sort,\n"
    "--shuffle and --balance hold all items.",
    split_opts,
    cmd_split,
};

struct item {               /* an item held for --sort/--shuffle/--balance */
    uint64_t off;           /* line text in the arena */
    uint32_t len, keylen;   /* key text follows the line in the arena */
    uint64_t bytes;
    uint64_t rank_hash;
    int split;
};

struct ctx {
    /* options */
    struct tb_ratio ratio;
    int have_ratio;
    const char *outdir, *filter, *keyfield, *rejects_path;
    uint64_t seed, epoch, skip;
    uint8_t key_split[16], key_rank[16]; /* SipHash keys derived from seed once */
    uint32_t rank, world;
    int rank_mode, by_hash, sort, shuffle, balance, require_each, skip_invalid;
    unsigned long long max_line;
    int progress_mode;
    struct tb_common_cfg co;
    /* outputs */
    struct tb_afile *files;
    uint64_t out_bytes[TB_RATIO_MAX]; /* bytes since the last writeback hint, per split file */
    struct tb_fanout *fan;      /* --filter: the running children */
    struct tb_afile rejects;
    int rejects_open;
    /* inputs, all opened before anything is written */
    struct tb_src *srcs;
    int nsrc;
    /* state */
    struct tb_keyer keyer;  /* the line's key; its scan is reused by record_bytes and with_split_field */
    const char *src_name;   /* the input being read, named in every line's error and --rejects entry */
    char *scratch;          /* the output line with a split field */
    size_t scratch_cap;
    uint64_t index, invalid;
    uint32_t index_mod; /* index % world, kept without a division */
    uint64_t *rank_counts;
    uint32_t ranks_nonzero;
    int pending_mode;       /* --require-each in streaming mode: hold output until every rank has one */
    char *pend;             /* pending records: [int split][uint32 len][bytes] */
    size_t pend_len, pend_cap;
    /* hold mode */
    int hold;
    char *arena;
    size_t arena_len, arena_cap;
    struct item *items;
    size_t nitems, items_cap;
    struct tb_progress prog;
    int prog_started;
};

/* ---- emitting ---- */

/* The line with "split":NAME set (replacing an existing top-level "split" field). */
static int with_split_field(struct ctx *c, const char *line, size_t len, int s, const char **out, size_t *outlen, tb_err *e)
{
    const char *name = c->ratio.names[s];
    struct tb_json *json = &c->keyer.json;
    size_t need = len + strlen(name) + 16;
    if (need > c->scratch_cap) tb_xgrow(&c->scratch, &c->scratch_cap, need);
    if ((json->text != line || json->len != len) && tb_json_scan_object(json, line, len, e)) return e->code;
    char *o = c->scratch;
    size_t n = 0;
    int v = tb_json_field(json, "split");
    size_t cut_a = 0, cut_b = 0; /* remove line[cut_a, cut_b) */
    if (v > 0) {
        struct tb_jtok kt = tb_json_tok(json, v - 1);
        struct tb_jtok vt = tb_json_tok(json, v);
        cut_a = (size_t)kt.start - 1;
        cut_b = (size_t)vt.end + (vt.type == TB_JSON_STRING);
        /* take the following comma, or else the preceding one */
        size_t k = cut_b;
        while (k < len && (line[k] == ' ' || line[k] == '\t')) k++;
        if (k < len && line[k] == ',') cut_b = k + 1;
        else {
            size_t a = cut_a;
            while (a > 0 && (line[a - 1] == ' ' || line[a - 1] == '\t')) a--;
            if (a > 0 && line[a - 1] == ',') cut_a = a - 1;
        }
    }
    struct tb_jtok root = tb_json_tok(json, 0);
    size_t close = (size_t)root.end - 1; /* the closing brace */
    for (size_t i = 0; i < close; i++) if (i < cut_a || i >= cut_b) o[n++] = line[i];
    /* does anything remain inside the braces? */
    int empty = 1;
    for (size_t i = 1; i < n; i++) if (o[i] != ' ' && o[i] != '\t' && o[i] != '\r' && o[i] != '\n') { empty = 0; break; }
    n += (size_t)sprintf(o + n, "%s\"split\":\"%s\"}", empty ? "" : ",", name);
    memcpy(o + n, line + close + 1, len - close - 1);
    n += len - close - 1;
    *out = o;
    *outlen = n;
    return 0;
}

static int emit(struct ctx *c, const char *line, size_t len, int s, tb_err *e)
{
    if (!c->have_ratio) return tb_write_line(stdout, line, len, e);
    if (c->outdir) {
        c->out_bytes[s] += len + 1;
        if (c->out_bytes[s] >= (64u << 20)) { c->out_bytes[s] = 0; tb_afile_writeback(&c->files[s]); }
        return tb_write_line(c->files[s].fp, line, len, e);
    }
    if (c->filter) return tb_fanout_put(c->fan, s, line, len, e);
    const char *o = NULL;
    size_t on = 0;
    int r = with_split_field(c, line, len, s, &o, &on, e);
    if (r) return r;
    return tb_write_line(stdout, o, on, e);
}

static void pend_add(struct ctx *c, const char *line, size_t len, int s)
{
    uint32_t l = (uint32_t)len;
    size_t need = c->pend_len + sizeof s + sizeof l + len;
    if (need > c->pend_cap) tb_xgrow(&c->pend, &c->pend_cap, need);
    memcpy(c->pend + c->pend_len, &s, sizeof s);
    memcpy(c->pend + c->pend_len + sizeof s, &l, sizeof l);
    memcpy(c->pend + c->pend_len + sizeof s + sizeof l, line, len);
    c->pend_len += sizeof s + sizeof l + len;
}

static int pend_flush(struct ctx *c, tb_err *e)
{
    size_t p = 0;
    while (p < c->pend_len) {
        int s;
        uint32_t l;
        memcpy(&s, c->pend + p, sizeof s);
        memcpy(&l, c->pend + p + sizeof s, sizeof l);
        /* emit may reuse scratch but never pend: safe to pass a span of pend */
        int r = emit(c, c->pend + p + sizeof s + sizeof l, l, s, e);
        if (r) return r;
        p += sizeof s + sizeof l + l;
    }
    c->pend_len = 0;
    c->pending_mode = 0;
    return 0;
}

/* ---- per-line work ---- */

static int reject(struct ctx *c, const char *line, size_t len, uint64_t lineno, tb_err *why, tb_err *e)
{
    if (!c->skip_invalid) return tb_fail(e, TB_EDATA, "line %llu of %s: %s", (unsigned long long)lineno, c->src_name, why->msg);
    c->invalid++;
    if (c->invalid <= 10 && !c->co.quiet) tb_warn("split", "line %llu of %s: %s (skipped)", (unsigned long long)lineno, c->src_name, why->msg);
    if (c->rejects_open) return tb_write_line(c->rejects.fp, line, len, e);
    return 0;
}

/* A line over --max-line: an error, or with --skip-invalid skipped; --rejects names it (never copies it). */
static int reject_long(struct ctx *c, uint64_t lineno, uint64_t bytes, tb_err *e)
{
    if (!c->skip_invalid) return tb_fail_long(e, lineno, c->max_line);
    c->invalid++;
    if (c->invalid <= 10)
        tb_warn("split", "line %llu: longer than --max-line (%llu bytes) (skipped)", (unsigned long long)lineno, c->max_line);
    if (!c->rejects_open) return 0;
    char ent[8192];
    size_t n = tb_reject_long(ent, sizeof ent, c->src_name, lineno, bytes, c->max_line);
    if (n >= sizeof ent) return tb_fail(e, TB_ESOFTWARE, "file name too long: %s", c->src_name);
    return tb_write_line(c->rejects.fp, ent, n, e);
}

/* An item's weight for --balance bytes: a record's "bytes" (the shard it names), else the line's own
 * length (a sample's size, which is what its shard will hold). */
static int record_bytes(struct ctx *c, size_t len, uint64_t *out, tb_err *e)
{
    const struct tb_json *json = &c->keyer.json;
    int v = tb_json_field(json, "bytes");
    if (v < 0) { *out = len; return 0; }
    struct tb_jtok t = tb_json_tok(json, v);
    const char *s = json->text + t.start;
    uint64_t x = 0;
    int n = t.end - t.start;
    if (t.type != TB_JSON_PRIMITIVE || n == 0 || n > 19) return tb_fail(e, TB_EDATA, "\"bytes\" is not a non-negative integer");
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return tb_fail(e, TB_EDATA, "\"bytes\" is not a non-negative integer");
        x = x * 10 + (uint64_t)(s[i] - '0');
    }
    *out = x;
    return 0;
}

static void count_rank(struct ctx *c, uint32_t r)
{
    if (c->rank_counts[r]++ == 0) c->ranks_nonzero++;
}

/* --require-each, once every item was counted: fails naming the first rank that got none. */
static int check_each(const struct ctx *c, uint64_t items, tb_err *e)
{
    for (uint32_t k = 0; k < c->world; k++)
        if (!c->rank_counts[k])
            return tb_fail(e, TB_EDATA, "--require-each: rank %u of %u would get nothing (%llu items for %u ranks)", k,
                           c->world, (unsigned long long)items, c->world);
    return 0;
}

/* The split of a key (--ratio), and its rank by hash (--by hash), as lib/split_classify finds them. */
static int split_of(const struct ctx *c, const char *key, size_t klen)
{
    return c->have_ratio ? tb_ratio_pick(&c->ratio, tb_siphash24(c->key_split, key, klen)) : 0;
}

static uint32_t hash_rank_of(const struct ctx *c, const char *key, size_t klen)
{
    return c->by_hash ? tb_hash_below(tb_siphash24(c->key_rank, key, klen), c->world) : 0;
}

/* A streaming line whose split s (and, by hash, rank rh) is known: rank filter, --skip, hold-back
 * for --require-each, then out. */
static int route(struct ctx *c, const char *line, size_t len, int s, uint32_t rh, tb_err *e)
{
    if (c->rank_mode) {
        /* index mode keeps i mod N as a wrapping counter: a 64-bit division per line was a third of
         * this mode's time */
        uint32_t r = c->by_hash ? rh : c->index_mod;
        if (++c->index_mod == c->world) c->index_mod = 0;
        c->index++;
        if (c->require_each) count_rank(c, r);
        if (r != c->rank) return 0;
    }
    if (c->skip) { c->skip--; return 0; }
    if (c->pending_mode) {
        pend_add(c, line, len, s);
        if (c->ranks_nonzero == c->world) return pend_flush(c, e);
        return 0;
    }
    return emit(c, line, len, s, e);
}

static int process_line(struct ctx *c, const char *line, size_t len, uint64_t lineno, tb_err *e)
{
    const char *key = NULL;
    size_t klen = 0;
    tb_err why; /* per line: no 1 KiB memset, only the fields read */
    why.code = 0;
    why.msg[0] = 0;
    /* index-mode rank filtering alone needs no key: the line is passed on untouched, unparsed */
    int need_key = c->have_ratio || c->by_hash || c->hold;
    if (need_key && tb_keyer_find(&c->keyer, line, len, &key, &klen, &why)) {
        if (why.code != TB_EDATA) { *e = why; return why.code; }
        return reject(c, line, len, lineno, &why, e);
    }
    uint64_t bytes = 0;
    if (c->balance && record_bytes(c, len, &bytes, &why)) return reject(c, line, len, lineno, &why, e);
    int s = split_of(c, key, klen);

    if (c->hold) {
        if (c->arena_len + len + klen > c->arena_cap) tb_xgrow(&c->arena, &c->arena_cap, c->arena_len + len + klen);
        if (c->nitems == c->items_cap) tb_xgrow_n(&c->items, &c->items_cap, c->nitems + 1, sizeof *c->items, 4096);
        if (len > UINT32_MAX || klen > UINT32_MAX) return tb_fail(e, TB_EDATA, "line %llu of %s too long to hold", (unsigned long long)lineno, c->src_name);
        struct item *it = &c->items[c->nitems++];
        it->off = c->arena_len;
        it->len = (uint32_t)len;
        it->keylen = (uint32_t)klen;
        it->bytes = bytes;
        it->rank_hash = c->by_hash ? tb_siphash24(c->key_rank, key, klen) : 0;
        it->split = s;
        memcpy(c->arena + c->arena_len, line, len);
        memcpy(c->arena + c->arena_len + len, key, klen);
        c->arena_len += len + klen;
        return 0;
    }

    return route(c, line, len, s, hash_rank_of(c, key, klen), e);
}

/* ---- hold mode: --sort, --shuffle, --balance ---- */

static int cmp_items(const void *a, const void *b, void *arg)
{
    const struct ctx *c = arg;
    const struct item *x = &c->items[*(const uint32_t *)a], *y = &c->items[*(const uint32_t *)b];
    size_t n = x->keylen < y->keylen ? x->keylen : y->keylen;
    int r = memcmp(c->arena + x->off + x->len, c->arena + y->off + y->len, n);
    if (r) return r;
    if (x->keylen != y->keylen) return x->keylen < y->keylen ? -1 : 1;
    n = x->len < y->len ? x->len : y->len;
    r = memcmp(c->arena + x->off, c->arena + y->off, n);
    if (r) return r;
    return x->len < y->len ? -1 : x->len > y->len;
}

static int run_hold(struct ctx *c, tb_err *e)
{
    size_t n = c->nitems;
    if (n > UINT32_MAX) return tb_fail(e, TB_EDATA, "too many items to hold (%zu)", n);
    uint32_t *order = tb_xmalloc(sizeof *order * n);
    uint32_t *rank = tb_xmalloc(sizeof *rank * n);
    uint64_t *bytes = c->balance ? tb_xmalloc(sizeof *bytes * n) : NULL;
    int r = 0;
    for (size_t i = 0; i < n; i++) order[i] = (uint32_t)i;
    if (c->sort) qsort_r(order, n, sizeof *order, cmp_items, c);
    /* rank of each item (indexed by item): balance works on the (sorted) input order, hash on keys */
    if (c->balance) {
        uint32_t *pos_rank = tb_xmalloc(sizeof *pos_rank * n);
        for (size_t p = 0; p < n; p++) bytes[p] = c->items[order[p]].bytes;
        tb_balance(bytes, n, c->world, pos_rank);
        for (size_t p = 0; p < n; p++) rank[order[p]] = pos_rank[p];
        free(pos_rank);
    } else if (c->by_hash) {
        for (size_t i = 0; i < n; i++) rank[i] = tb_hash_below(c->items[i].rank_hash, c->world);
    }
    /* the shuffle permutes the whole sequence, identically on every rank; each rank then takes its
     * share in that order (as PyTorch's DistributedSampler does), so by index a rank's items change
     * from epoch to epoch while ranks stay disjoint */
    if (c->shuffle) tb_shuffle(order, n, c->seed, c->epoch);
    if (!c->balance && !c->by_hash)
        for (size_t p = 0; p < n; p++) rank[order[p]] = (uint32_t)(p % c->world);
    if (c->require_each) {
        for (size_t i = 0; i < n; i++) count_rank(c, rank[i]);
        r = check_each(c, n, e);
    }
    size_t m = 0;
    for (size_t p = 0; !r && p < n; p++) if (rank[order[p]] == c->rank) order[m++] = order[p];
    for (size_t p = c->skip < m ? c->skip : m; !r && p < m; p++) {
        const struct item *it = &c->items[order[p]];
        r = emit(c, c->arena + it->off, it->len, it->split, e);
    }
    free(order);
    free(rank);
    free(bytes);
    return r;
}

/* ---- regular files: lib/split_linepick and lib/split_classify ---- */

static long ncpus(void)
{
    cpu_set_t cs;
    if (sched_getaffinity(0, sizeof cs, &cs) == 0) return CPU_COUNT(&cs);
    return 1;
}

struct pick_prog {
    struct ctx *c;
    uint64_t items0; /* lines of the inputs before this one */
};

static void pick_tick(void *ud, uint64_t items, uint64_t bytes)
{
    struct pick_prog *pp = ud;
    pp->c->prog.items = pp->items0 + items;
    pp->c->prog.bytes = bytes;
    tb_progress_tick(&pp->c->prog);
}

static int reject_long_cb(void *ud, uint64_t lineno, uint64_t bytes, tb_err *e)
{
    return reject_long(ud, lineno, bytes, e);
}

/* Index mode over a regular file: lib/split_linepick, continuing the item count of earlier inputs. */
static int run_pick(struct ctx *c, struct tb_src *src, int fd, uint64_t off, uint64_t len, int *r, tb_err *e)
{
    struct tb_pick pk;
    memset(&pk, 0, sizeof pk);
    pk.world = c->world;
    pk.rank = c->rank;
    pk.max_line = c->max_line;
    pk.skip_long = c->skip_invalid;
    pk.reject = reject_long_cb;
    pk.reject_ud = c;
    pk.threads = ncpus() > 1 ? 2 : 1;
    const char *ch = getenv("TRAINBOX_SPLIT_CHUNK"); /* for the tests: many chunk edges in a small file */
    if (ch && *ch) pk.chunk = (size_t)strtoull(ch, NULL, 10);
    pk.index = c->index;
    pk.skip = c->skip;
    struct pick_prog pp = {c, c->prog.items};
    pk.tick = pick_tick;
    pk.tick_ud = &pp;
    *r = tb_pick_lines(fd, off, len, src->name, &pk, stdout, e);
    if (*r) return 0;
    c->prog.items = pp.items0 + (pk.index - c->index);
    c->prog.bytes = len;
    c->index = pk.index;
    c->index_mod = (uint32_t)(c->index % c->world);
    c->skip = pk.skip;
    lseek(fd, (off_t)(off + len), SEEK_SET); /* consumed, as reading would have */
    return 0;
}

static int classified_line(void *ud, const char *line, size_t len, int s, uint32_t rh, tb_err *e)
{
    return route(ud, line, len, s, rh, e);
}

static int serial_line(void *ud, const char *line, size_t len, uint64_t lineno, tb_err *e)
{
    return process_line(ud, line, len, lineno, e);
}

static void classify_tick(void *ud, uint64_t items, uint64_t bytes)
{
    struct ctx *c = ud;
    c->prog.items = items;
    c->prog.bytes = bytes;
    tb_progress_tick(&c->prog);
}

/* Key modes over a regular file: lib/split_classify, through a map; 1 when it cannot be mapped (read it). */
static int run_classify(struct ctx *c, struct tb_src *src, int fd, uint64_t off, uint64_t len, int *r, tb_err *e)
{
    struct tb_map m;
    if (tb_map_open(&m, fd, off, (size_t)len, src->name, e)) return 1; /* fall back to read() */
    struct tb_classify cl;
    memset(&cl, 0, sizeof cl);
    cl.keyfield = c->keyer.field;
    cl.need_object = c->keyer.need_object;
    cl.ratio = c->have_ratio ? &c->ratio : NULL;
    memcpy(cl.key_split, c->key_split, sizeof cl.key_split);
    cl.by_hash = c->by_hash;
    cl.world = c->world;
    memcpy(cl.key_rank, c->key_rank, sizeof cl.key_rank);
    cl.max_line = c->max_line;
    cl.threads = ncpus() > 1 ? 2 : 1;
    cl.line = classified_line;
    cl.serial = serial_line;
    cl.too_long = reject_long_cb;
    cl.ud = c;
    cl.tick = classify_tick;
    cl.items = c->prog.items;
    *r = tb_classify_map(&m, &cl, e);
    c->prog.items = cl.items;
    if (!*r) c->prog.bytes = m.len;
    tb_map_close(&m);
    if (!*r) lseek(fd, (off_t)(off + len), SEEK_SET); /* consumed, as reading would have */
    return 0;
}

/* Whole-file fast paths for a regular file; returns 1 (r untouched) when this input does not
 * qualify and the line reader should be used. */
static int run_mapped(struct ctx *c, struct tb_src *src, int *r, tb_err *e)
{
    int need_key = c->have_ratio || c->by_hash || c->hold;
    int adds_field = c->have_ratio && !c->outdir && !c->filter; /* emit parses the line again */
    if (c->hold || adds_field || getenv("TRAINBOX_NO_MAP")) return 1;
    int fd = tb_src_fd(src);
    uint64_t off, len;
    if (fd < 0 || !tb_map_usable(fd, &off, &len)) return 1;
    if (!need_key) {
        if (c->pending_mode) return 1; /* --require-each holds the output back: the reader's path */
        return run_pick(c, src, fd, off, len, r, e);
    }
    return run_classify(c, src, fd, off, len, r, e);
}

/* ---- options and environment ---- */

static int parse_args(struct ctx *c, struct tb_optparse *p, char ***files, int *nfiles)
{
    int opt, have_rank = 0, have_world = 0, by_set = 0;
    unsigned long long v;
    c->max_line = TB_MAX_LINE_DEFAULT;
    c->progress_mode = TB_PROGRESS_AUTO;
    tb_err e = {0};
    while ((opt = tb_opts_next(p)) > 0) {
        switch (opt) {
        case OPT_RATIO:
            if (tb_ratio_parse(p->arg, &c->ratio, &e)) return tb_usage("split", "%s", e.msg);
            c->have_ratio = 1;
            break;
        case OPT_OUTPUT: c->outdir = p->arg; break;
        case OPT_FILTER: c->filter = p->arg; break;
        case OPT_KEY: c->keyfield = p->arg; break;
        case OPT_SEED: if (tb_opt_u64(p, &v)) return TB_EUSAGE; c->seed = v; break;
        case OPT_EPOCH: if (tb_opt_u64(p, &v)) return TB_EUSAGE; c->epoch = v; break;
        case OPT_SKIP: if (tb_opt_u64(p, &v)) return TB_EUSAGE; c->skip = v; break;
        case OPT_RANK:
            if (tb_opt_u64(p, &v)) return TB_EUSAGE;
            if (v > UINT32_MAX) return tb_usage("split", "--rank too large");
            c->rank = (uint32_t)v; have_rank = 1;
            break;
        case OPT_WORLD:
            if (tb_opt_u64(p, &v)) return TB_EUSAGE;
            if (v == 0 || v > (1u << 24)) return tb_usage("split", "--world-size must be 1 to 16777216, not %llu", v);
            c->world = (uint32_t)v; have_world = 1;
            break;
        case OPT_BY: {
            static const char *const ch[] = {"index", "hash", NULL};
            int i;
            if (tb_opt_choice(p, ch, &i)) return TB_EUSAGE;
            c->by_hash = i;
            by_set = 1;
            break;
        }
        case OPT_SORT: c->sort = 1; break;
        case OPT_BALANCE: {
            static const char *const ch[] = {"bytes", NULL};
            int i;
            if (tb_opt_choice(p, ch, &i)) return TB_EUSAGE;
            c->balance = 1;
            break;
        }
        case OPT_REQUIRE_EACH: c->require_each = 1; break;
        case OPT_SHUFFLE: c->shuffle = 1; break;
        case OPT_SKIP_INVALID: c->skip_invalid = 1; break;
        case OPT_REJECTS: c->rejects_path = p->arg; break;
        case OPT_MAX_LINE: if (tb_opt_max_line(p, &c->max_line)) return TB_EUSAGE; break;
        case OPT_PROGRESS:
            c->progress_mode = tb_progress_parse(p->arg);
            if (c->progress_mode < 0) return tb_usage("split", "--progress wants auto, bar, json or none, not '%s'", p->arg);
            break;
        default: tb_common_opt(p, opt, &c->co); break;
        }
    }
    if (opt < 0) return opt == TB_OPTS_HELP ? -1 : TB_EUSAGE;

    /* rank and world size from the launcher's environment when not given (lib/rankenv); with
     * --ratio alone the environment is not read: a ratio split is the same on every rank */
    int explicit_rank = have_rank || have_world || by_set || c->balance || c->require_each;
    if (explicit_rank || !c->have_ratio) {
        struct tb_rank rk;
        int r = tb_rank_resolve("split", have_rank, c->rank, have_world, c->world, &rk);
        if (r) return r;
        c->rank = rk.have_rank ? rk.rank : 0;
        c->world = rk.world;
        have_rank = rk.have_rank;
        have_world = rk.have_world;
        if ((have_rank || have_world) && c->co.verbose) tb_warn("split", "%s", rk.how);
    }
    if (have_world || have_rank || explicit_rank) {
        if (!have_world) return tb_usage("split", "rank options need --world-size (or one of the variables of trainbox(1), RANKS)");
        c->rank_mode = 1;
    } else {
        c->world = 1;
        c->rank = 0;
    }
    if (!c->have_ratio && !c->rank_mode && !c->sort && !c->shuffle)
        return tb_usage("split", "nothing to do: give --ratio, or --world-size (or set WORLD_SIZE)");
    if (c->outdir && c->filter) return tb_usage("split", "-o and --filter exclude each other");
    if ((c->outdir || c->filter) && !c->have_ratio) return tb_usage("split", "-o and --filter route splits: they need --ratio");
    if (c->rejects_path && !c->skip_invalid) return tb_usage("split", "--rejects goes with --skip-invalid");
    if (c->epoch && !c->shuffle) return tb_usage("split", "--epoch goes with --shuffle");
    if (c->balance && c->by_hash) return tb_usage("split", "--balance and --by hash exclude each other");
    c->hold = c->sort || c->shuffle || c->balance;
    /* a line must be an object to name a --key field, to get a "split" field, or to have "bytes" */
    tb_keyer_init(&c->keyer, c->keyfield, c->keyfield || (c->have_ratio && !c->outdir && !c->filter) || c->balance);
    tb_split_key(c->seed, TB_HASH_SPLIT, c->key_split);
    tb_split_key(c->seed, TB_HASH_RANK, c->key_rank);
    *files = p->pos;
    *nfiles = p->npos;
    return 0;
}

/* ---- open, act, finish ---- */

/* Every input and output, before anything is written: a missing input fails first. */
static int open_all(struct ctx *c, char **files, int nfiles, tb_err *e)
{
    c->nsrc = nfiles ? nfiles : 1;
    c->srcs = tb_xcalloc((size_t)c->nsrc, sizeof *c->srcs);
    for (int i = 0; i < c->nsrc; i++) {
        int r = tb_src_open_file(&c->srcs[i], nfiles ? files[i] : "-", e);
        if (r) { c->nsrc = i; return r; }
    }
    c->rank_counts = tb_xcalloc(c->world, sizeof *c->rank_counts);
    c->pending_mode = c->require_each && !c->hold;
    if (c->outdir) {
        int r = tb_mkdirs(c->outdir, e);
        if (r) return r;
        c->files = tb_xcalloc((size_t)c->ratio.n, sizeof *c->files);
        for (int i = 0; i < c->ratio.n; i++) c->files[i].fd = -1;
        for (int i = 0; i < c->ratio.n; i++) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s.jsonl", c->outdir, c->ratio.names[i]);
            if ((r = tb_afile_open(&c->files[i], path, NULL, e))) return r;
        }
    }
    if (c->rejects_path) {
        int r = tb_afile_open(&c->rejects, c->rejects_path, NULL, e);
        if (r) return r;
        c->rejects_open = 1;
    }
    return 0;
}

/* An input error that does not say which input yet (the line reader's own) gets its name. */
static void name_input(tb_err *e, const char *name)
{
    if (e->code == TB_EDATA && !strstr(e->msg, name)) tb_err_wrap(e, "%s", name);
}

/* One input that no fast path takes, through the line reader. */
static int read_lines(struct ctx *c, struct tb_src *src, tb_err *e)
{
    struct tb_lines lr;
    if (tb_lines_init(&lr, src, c->max_line)) tb_oom(lr.cap);
    lr.skip_long = c->skip_invalid;
    char *line;
    size_t len;
    int got, r = 0;
    while ((got = tb_lines_next(&lr, &line, &len, e)) > 0) {
        if (got == TB_LINE_LONG) r = reject_long(c, lr.lineno, lr.long_len, e);
        else r = process_line(c, line, len, lr.lineno, e);
        if (r) break;
        c->prog.items++;
        c->prog.bytes = lr.bytes;
        if ((c->prog.items & 1023) == 0) tb_progress_tick(&c->prog);
    }
    if (got < 0) r = e->code;
    tb_lines_free(&lr);
    return r;
}

/* Every input, then the held items (--sort, --shuffle, --balance) and --require-each's last check. */
static int produce(struct ctx *c, tb_err *e)
{
    int r = 0;
    tb_progress_init(&c->prog, "split", tb_common_progress(&c->co, c->progress_mode), "lines", NULL);
    c->prog_started = 1;
    for (int i = 0; i < c->nsrc && !r; i++) {
        struct tb_src *src = &c->srcs[i];
        c->src_name = src->name;
        if (run_mapped(c, src, &r, e)) r = read_lines(c, src, e);
        if (r) name_input(e, src->name);
    }
    if (!r && c->hold) r = run_hold(c, e);
    if (!r && c->pending_mode) r = check_each(c, c->index, e);
    return r;
}

static int produce_into(void *ud, struct tb_fanout *f, tb_err *e)
{
    struct ctx *c = ud;
    c->fan = f;
    return produce(c, e);
}

/* Produce, into the --filter children or straight out; then commit the outputs, the trailer last. */
static int act(struct ctx *c, tb_err *e)
{
    int r, trailer = 0;
    uint64_t records = 0;
    if (c->filter) {
        const char *names[TB_RATIO_MAX];
        for (int i = 0; i < c->ratio.n; i++) names[i] = c->ratio.names[i];
        struct tb_fanout f = {.cmd = c->filter, .n = c->ratio.n, .names = names, .env = "SPLIT", .noun = "split",
                              .out = stdout, .produce = produce_into, .ud = c};
        r = tb_fanout_run(&f, e);
        c->fan = NULL;
        trailer = f.stream; /* the children's records: one trailer for all, once everything else is done */
        records = f.records;
    } else {
        r = produce(c, e);
    }
    for (int i = 0; c->outdir && i < c->ratio.n && !r; i++) r = tb_afile_commit(&c->files[i], e);
    if (!r && c->rejects_open) { r = tb_afile_commit(&c->rejects, e); c->rejects_open = 0; }
    if (!r && trailer) r = tb_trailer_write(stdout, records, e);
    if (!r && fflush(stdout) != 0) r = tb_fail_errno(e, TB_EIO, "write to stdout failed");
    if (c->prog_started) tb_progress_end(&c->prog);
    if (!r && c->invalid && !c->co.quiet) tb_warn("split", "skipped %llu invalid line%s", (unsigned long long)c->invalid, c->invalid == 1 ? "" : "s");
    return r;
}

/* After an error: no output appears under its final name. */
static void abort_outputs(struct ctx *c)
{
    if (c->files) for (int i = 0; i < c->ratio.n; i++) tb_afile_abort(&c->files[i]);
    if (c->rejects_open) tb_afile_abort(&c->rejects);
}

static void ctx_free(struct ctx *c)
{
    for (int i = 0; i < c->nsrc; i++) tb_src_close(&c->srcs[i]);
    free(c->srcs);
    free(c->files);
    free(c->scratch);
    free(c->rank_counts);
    free(c->pend);
    free(c->arena);
    free(c->items);
    tb_keyer_free(&c->keyer);
}

static int cmd_split(int argc, char **argv)
{
    struct ctx c;
    memset(&c, 0, sizeof c);
    struct tb_optparse p;
    tb_opts_init(&p, &tb_cmd_split, argc, argv);
    char **files = NULL;
    int nfiles = 0;
    int r = parse_args(&c, &p, &files, &nfiles); /* parse and check usage: -1 after --help */
    if (!r) {
        tb_err e = {0};
        r = open_all(&c, files, nfiles, &e);
        if (!r) r = act(&c, &e);
        if (r) {
            abort_outputs(&c);
            tb_report("split", &e);
        }
    }
    ctx_free(&c);
    tb_opts_free(&p);
    return r < 0 ? 0 : r;
}
