/* cat: stream samples as NDJSON from NDJSON files (plain, .gz, .zst) and tar shards (plain, .gz,
 * .zst), given as files, directories, globs, http(s) URLs or single bucket objects. Every input is
 * opened as a tb_src byte stream (a file, or a streamed GET: lib/src_remote) and then read by kind,
 * the kind going by name either way. Shard members are
 * grouped back into samples by lib/shard_sample.c's inverse mapping: `cat | shard` rewrites the shards
 * byte for byte. */
#include "alloc.h"
#include "cat_cache.h"
#include "cat_list.h"
#include "cat_prefetch.h"
#include "cat_state.h"
#include "pathglob.h"
#include "rankenv.h"
#include "commands.h"
#include "err.h"
#include "hf.h"
#include "hf_fetch.h"
#include "json.h"
#include "ndjson.h"
#include "opts.h"
#include "shard_sample.h"
#include "shard_io.h"
#include "src.h"
#include "src_remote.h"
#include "src_thread.h"
#include "store.h"
#include "uri.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum {
    OPT_LIMIT = 1, OPT_OFFSET, OPT_KEYS, OPT_SKIPC, OPT_MAX_LINE, OPT_GLOB, OPT_RANK, OPT_WORLD, OPT_SHUFFLE, OPT_SEED,
    OPT_EPOCH, OPT_ALLOW_EMPTY, OPT_STATE, OPT_CACHE_DIR, OPT_CACHE_SIZE, OPT_PREFETCH,
};

static const struct tb_opt cat_opts[] = {
    {OPT_LIMIT, 'n', "limit", "N", "stop after N samples", NULL},
    {OPT_OFFSET, 0, "offset", "N", "skip the first N samples", NULL},
    {OPT_KEYS, 0, "keys-only", NULL, "print only {\"__key__\": ...} for each sample", NULL},
    {OPT_SKIPC, 0, "skip-corrupt", NULL, "report a corrupt shard or NDJSON file and go on with the next input", NULL},
    {OPT_GLOB, 0, "glob", "PATTERN", "read only the files of a directory or prefix whose path below it matches", NULL},
    {OPT_RANK, 0, "rank", "R", "read only rank R's files: file i to rank i mod N (default from the environment: trainbox(1), RANKS)", NULL},
    {OPT_WORLD, 0, "world-size", "N", "number of ranks (default from the environment: trainbox(1), RANKS)", NULL},
    {OPT_SHUFFLE, 0, "shuffle", NULL, "shuffle the file order, the same on every rank, per --seed and --epoch", NULL},
    {OPT_SEED, 0, "seed", "N", "seed of --shuffle (default 0)", NULL},
    {OPT_EPOCH, 0, "epoch", "E", "epoch number for --shuffle (default 0)", NULL},
    {OPT_ALLOW_EMPTY, 0, "allow-empty-rank", NULL, "let a rank get no file (fewer files than ranks: exit 65 without it)", NULL},
    {OPT_STATE, 0, "state", "FILE", "keep the position in FILE and resume from it (at-least-once: see trainbox-cat(1))", "file"},
    {OPT_CACHE_DIR, 0, "cache-dir", "DIR", "keep downloaded files in DIR, an LRU cache processes may share (default $TRAINBOX_CACHE_DIR; off)", "dir"},
    {OPT_CACHE_SIZE, 0, "cache-size", "SIZE", "evict least recently used files beyond SIZE (default 20GiB)", NULL},
    {OPT_PREFETCH, 0, "prefetch", "N", "download the next N remote files while one is read (default 2; 0: off)", NULL},
    TB_OPT_MAX_LINE(OPT_MAX_LINE),
    TB_COMMON_OPTS,
    TB_STORE_OPTS,
    TB_REQUEST_OPTS,
    TB_OPT_END,
};

static int cmd_cat(int argc, char **argv);

const struct tb_cmd_spec tb_cmd_cat = {
    "cat", "stream samples from NDJSON files and tar shards: local, http(s), buckets, manifests, Hugging Face", "[OPTIONS] URI...",
    "Print the samples of NDJSON files (.jsonl, .ndjson, also .gz/.zst compressed) and WebDataset tar shards\n"
    "(.tar, .tar.gz, .tar.zst) as NDJSON, one object per line. URIs are local files, directories (searched\n"
    "recursively, in name order; symlinked directories are not entered), globs or file:// URIs; - is NDJSON\n"
    "on stdin; http(s):// URLs; bucket objects (s3://, r2://, gs://, az://), every object under a prefix\n"
    "(a key ending in /, in name order) or those a glob in the key matches; a trainbox manifest.json (its\n"
    "shards, in its order); hf://datasets/ORG/NAME[@REV]/PATH, PATH a file, a directory or a glob (the\n"
    "Hub's listing; HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE as huggingface_hub reads them). Remote files\n"
    "are streamed, a dropped connection resumed where it stopped. Every URI is listed before anything\n"
    "is read: --rank/--world-size take file i of that list for rank i mod N, and --state resumes at\n"
    "the first sample not yet written.",
    cat_opts, cmd_cat,
};

/* A source counted as it is read, for the size check against the listing; drained to its end once
 * the reader is done with it (a tar reader stops at the end-of-archive blocks). */
struct counted {
    struct tb_src in;
    uint64_t n;
};

struct cat_ctx {
    unsigned long long limit, offset, max_line;
    int keys_only, skip_corrupt, has_limit;
    uint64_t seen, emitted;
    int done;            /* --limit reached */
    uint64_t corrupt;    /* inputs skipped with --skip-corrupt */
    struct tb_linebuf lb;
    struct tb_json scratch;
    char *key;           /* the key of the sample being grouped */
    size_t key_len, key_cap;
    int pending;         /* lb holds an unfinished sample */
    struct tb_common_cfg co;
    struct tb_store_cfg store; /* for remote inputs */
    struct tb_cat_list list;
    struct tb_store **stores;  /* one per list root, opened when first needed */
    struct tb_cat_cache *cache;/* --cache-dir */
    struct tb_cat_prefetch *pf;/* --prefetch (or the cache's downloader) */
    size_t *order;             /* the list indices pf downloads, in reading order */
    size_t order_base;         /* list index of order[0] (inputs before it are streamed) */
    size_t norder;
    int hf_offline;            /* HF_HUB_OFFLINE=1: Hugging Face files only from the cache */
    /* --state */
    const char *state_path;
    struct tb_cat_state st;    /* st.input/st.samples: where the stream is now */
    uint64_t skip_samples;     /* samples of the current input already written before the resume */
    uint64_t in_bytes;         /* decoded bytes of the current input consumed (plain NDJSON) */
    uint64_t in_base;          /* where reading the current input started (a resume's seek) */
    double last_save;
    unsigned since_check;      /* lines since the clock was last read */
    uint64_t since_save;       /* bytes written since the last save */
};

/* --state is saved after a second or 16 MiB of output, whichever comes first */
#define SAVE_BYTES (16u << 20)

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Flush stdout, then record the position: every sample the state counts has left the process. */
static int save_state(struct cat_ctx *c, tb_err *e)
{
    if (!c->state_path) return 0;
    if (fflush(stdout) != 0) return tb_fail_errno(e, TB_EIO, "write to stdout failed");
    c->st.seen = c->seen;
    c->st.emitted = c->emitted;
    c->st.offset = c->in_bytes;
    c->last_save = now_s();
    c->since_save = 0;
    return tb_cat_state_save(c->state_path, &c->st, e);
}

static int out_line(struct cat_ctx *c, const char *s, size_t n, tb_err *e)
{
    if (c->skip_samples) { c->skip_samples--; return 0; } /* written before the resume */
    c->st.samples++;
    c->seen++;
    if (c->seen <= c->offset) return 0;
    int r = tb_write_line(stdout, s, n, e);
    if (r) return r;
    c->emitted++;
    if (c->has_limit && c->emitted >= c->limit) c->done = 1;
    if (c->state_path) {
        c->since_save += n + 1;
        if (c->since_save >= SAVE_BYTES || (++c->since_check >= 256 && (c->since_check = 0, now_s() - c->last_save >= 1.0)))
            return save_state(c, e);
    }
    return 0;
}

static int out_key(struct cat_ctx *c, const char *key, size_t klen, tb_err *e)
{
    int r = tb_linebuf_begin(&c->lb, key, klen, e);
    if (!r) r = tb_linebuf_end(&c->lb, e);
    if (!r) r = out_line(c, c->lb.p, c->lb.n, e);
    return r;
}

static int cat_ndjson(struct cat_ctx *c, struct tb_src *src, tb_err *e)
{
    struct tb_lines rd;
    tb_lines_init(&rd, src, (size_t)c->max_line);
    char *line;
    size_t len;
    int r = 0, k = 0;
    char keybuf[32];
    while (!c->done && (k = tb_lines_next(&rd, &line, &len, e)) == 1) {
        tb_err why;
        c->in_bytes = c->in_base + rd.bytes;
        if ((c->keys_only ? tb_json_scan_object : tb_json_check_object)(&c->scratch, line, len, &why) != 0) {
            r = tb_fail(e, TB_EDATA, "bad sample at line %llu of %s: %s", (unsigned long long)rd.lineno, src->name, why.msg);
            break;
        }
        if (!c->keys_only) { r = out_line(c, line, len, e); if (r) break; continue; }
        int v = tb_json_field(&c->scratch, "__key__");
        if (v >= 0 && tb_json_tok(&c->scratch, v).type == TB_JSON_STRING) {
            long d = tb_json_unescape(&c->scratch, v, line, len); /* in place: never longer */
            r = out_key(c, line, (size_t)d, e);
        } else {
            /* the key shard would assign: the sample's index in this stream */
            int w = snprintf(keybuf, sizeof keybuf, "%0*llu", TB_KEY_DIGITS, (unsigned long long)c->seen);
            r = out_key(c, keybuf, (size_t)w, e);
        }
        if (r) break;
    }
    if (!r && !c->done && k < 0) {
        r = e->code ? e->code : TB_EIO;
        if (!strstr(e->msg, src->name)) tb_err_wrap(e, "%s", src->name);
    }
    tb_lines_free(&rd);
    return r;
}

static int flush_sample(struct cat_ctx *c, tb_err *e)
{
    if (!c->pending) return 0;
    c->pending = 0;
    if (c->keys_only) return out_key(c, c->key, c->key_len, e);
    int r = tb_linebuf_end(&c->lb, e);
    return r ? r : out_line(c, c->lb.p, c->lb.n, e);
}

static int cat_tar(struct cat_ctx *c, struct tb_src *src, tb_err *e)
{
    struct tb_tarr tr;
    int r = tb_tarr_open(&tr, src, e);
    if (r) return r;
    tr.max_member = c->max_line; /* --max-line bounds a member as it bounds a line */
    const char *name;
    const unsigned char *data;
    size_t len;
    uint64_t off;
    int k = 0;
    c->pending = 0;
    while (!c->done && (k = tb_tarr_next(&tr, &name, &data, &len, &off, e)) == 1) {
        size_t nl = strlen(name);
        long kl = tb_member_split(name, nl);
        if (kl <= 0 || (size_t)kl + 1 >= nl) {
            r = tb_fail(e, TB_EDATA, "%s: member '%.200s' at byte %llu is not KEY.FIELD", src->name, name, (unsigned long long)off);
            break;
        }
        if (!c->pending || (size_t)kl != c->key_len || memcmp(name, c->key, (size_t)kl) != 0) {
            if ((r = flush_sample(c, e)) || c->done) break;
            tb_xgrow_n(&c->key, &c->key_cap, (size_t)kl + 1, 1, 64);
            memcpy(c->key, name, (size_t)kl);
            c->key_len = (size_t)kl;
            if (!c->keys_only && (r = tb_linebuf_begin(&c->lb, name, (size_t)kl, e))) break;
            c->pending = 1;
        }
        if (!c->keys_only && (r = tb_linebuf_add(&c->lb, name + kl + 1, nl - (size_t)kl - 1, data, len, &c->scratch, e))) break;
    }
    /* the sample in hand is complete only when the stream ended cleanly */
    if (!r && !c->done && k == 0) r = flush_sample(c, e);
    else if (!r && !c->done) r = e->code ? e->code : TB_EDATA;
    c->pending = 0;
    tb_tarr_close(&tr);
    return r;
}

static ssize_t counted_read(void *ctx, void *buf, size_t n, tb_err *e)
{
    struct counted *k = ctx;
    ssize_t r = tb_src_read(&k->in, buf, n, e);
    if (r > 0) k->n += (uint64_t)r;
    return r;
}

static void counted_close(void *ctx)
{
    struct counted *k = ctx;
    tb_src_close(&k->in);
    free(k);
}

/* Read the rest of a source its reader left (a tar's padding after its end blocks). */
static int drain(struct tb_src *src, tb_err *e)
{
    char sink[65536];
    ssize_t r;
    while ((r = tb_src_read(src, sink, sizeof sink, e)) > 0)
        ;
    return r < 0 ? (e->code ? e->code : TB_EIO) : 0;
}

static const char *parquet_hint =
    "Parquet has no C reader among Debian's packages: read the dataset's JSON files instead (many Hub datasets\n"
    "have them beside the Parquet ones), or fetch rows as JSON from the datasets-server rows API\n"
    "(https://datasets-server.huggingface.co/rows?dataset=ORG/NAME&config=default&split=train)";

/* The store of a list root: the Hub's with its token rules, else the one its URI names. Also how
 * the prefetch thread opens its own (cfg then carries its multi handle). */
static int open_root(void *ud, const struct tb_cat_root *root, const struct tb_store_cfg *cfg, struct tb_store **out,
                     tb_err *e)
{
    (void)ud;
    int r;
    if (root->type == TB_CAT_ROOT_HF) {
        /* the Hub: its token goes to its own origin only, never across the CDN redirect */
        struct tb_hf_env env;
        return (r = tb_hf_env_read(&env, e)) ? r : tb_hf_open_hub(out, &env, cfg, e);
    }
    struct tb_uri ru;
    if ((r = tb_uri_parse(root->uri, &ru, e))) return r;
    r = tb_store_open(out, &ru, cfg, e);
    tb_uri_free(&ru);
    return r;
}

/* A downloaded copy of input i when there is one: from the prefetch thread (which waits for it)
 * or, offline, from the cache. 0 with *fd -1: stream it. */
static int local_copy(struct cat_ctx *c, size_t i, int *fd, tb_err *e)
{
    const struct tb_cat_input *in = &c->list.v[i];
    *fd = -1;
    if (c->hf_offline && in->root >= 0 && c->list.roots[in->root].type == TB_CAT_ROOT_HF) {
        char *ident = c->cache ? tb_cat_cache_ident(in) : NULL;
        int hit = ident && tb_cat_cache_lookup(c->cache, ident, fd) == 1;
        free(ident);
        if (hit) return 0;
        return tb_fail(e, TB_EUNAVAIL, "%s: not in the cache%s, and HF_HUB_OFFLINE=1 allows no download", in->name,
                       c->cache ? "" : " (no --cache-dir)");
    }
    if (!c->pf || i < c->order_base || i - c->order_base >= c->norder) return 0;
    return tb_cat_prefetch_take(c->pf, i - c->order_base, fd, e);
}

/* Read input i of the list by its kind. */
static int cat_input(struct cat_ctx *c, size_t i, tb_err *e)
{
    const struct tb_cat_input *in = &c->list.v[i];
    if (in->kind == TB_CAT_PARQUET) {
        if (!c->co.quiet) fprintf(stderr, "%s\n", parquet_hint);
        return tb_fail(e, TB_EDATA, "cannot read %s: Parquet files are not supported", in->name);
    }
    struct tb_src raw;
    int r;
    c->in_base = 0;
    int fd;
    if ((r = local_copy(c, i, &fd, e))) return r;
    if (fd >= 0) {
        tb_src_from_fd(&raw, fd, 1, in->name);
    } else if (in->root < 0) {
        r = tb_src_open_file(&raw, in->key, e);
        if (r) return r;
        /* a resume inside a plain local NDJSON file seeks to where its last saved sample ended */
        if (c->skip_samples && c->st.offset && in->kind == TB_CAT_NDJSON && tb_src_fd(&raw) >= 0 &&
            lseek(tb_src_fd(&raw), (off_t)c->st.offset, SEEK_SET) == (off_t)c->st.offset) {
            c->in_base = c->st.offset;
            c->skip_samples = 0;
        }
    } else {
        struct tb_store **sp = &c->stores[in->root];
        if (!*sp && (r = open_root(NULL, &c->list.roots[in->root], &c->store, sp, e))) return r;
        if ((r = tb_src_open_store(&raw, *sp, in->key, 0, e))) return r;
        snprintf(raw.name, sizeof raw.name, "%s", in->name);
    }
    c->in_bytes = c->in_base;
    struct counted *k = tb_xcalloc(1, sizeof *k);
    k->in = raw;
    struct tb_src src = {.ctx = k, .read = counted_read, .close = counted_close};
    snprintf(src.name, sizeof src.name, "%s", raw.name);
    int ahead = in->kind == TB_CAT_NDJSON_Z || tb_src_fd(&raw) < 0; /* a decoder or a download */
    if (in->kind == TB_CAT_NDJSON_Z) {
        struct tb_src z;
        if ((r = tb_src_decompress(&z, &src, e))) { tb_src_close(&src); return r; }
        src = z;
    }
    /* download and decode on a worker thread, lines on this one (lib/src_thread) */
    if (ahead) tb_src_threaded(&src, &src, 1u << 20, 4, e);
    r = in->kind == TB_CAT_TAR ? cat_tar(c, &src, e) : cat_ndjson(c, &src, e);
    if (!r && !c->done && in->size >= 0 && c->in_base == 0) {
        /* read to the end (a tar's padding after its end blocks): the counter below every reader
         * has then seen every byte, on whichever thread */
        r = drain(&src, e);
        if (!r && k->n != (uint64_t)in->size)
            r = tb_fail(e, TB_EDATA, "%s: read %llu bytes, the listing said %lld", in->name, (unsigned long long)k->n,
                        (long long)in->size);
    }
    tb_src_close(&src);
    if (r == TB_EDATA && c->skip_corrupt) {
        if (!c->co.quiet) tb_warn("cat", "%s (skipped)", e->msg);
        c->corrupt++;
        return 0;
    }
    return r;
}

/* The cache and the prefetch thread. With a cache every remote input goes through it (downloaded
 * whole, then read from disk; --prefetch N keeps the next N downloading meanwhile). Without one the
 * first input streams while the next N download into temps (lib/cat_prefetch), and --prefetch 0
 * streams everything. Offline (HF_HUB_OFFLINE=1), Hugging Face files come from the cache alone. */
static int start_downloads(struct cat_ctx *c, size_t first, const char *cache_dir, unsigned long long cache_size,
                           int prefetch, tb_err *e)
{
    if (!cache_dir) {
        const char *d = getenv("TRAINBOX_CACHE_DIR");
        if (d && *d) cache_dir = d;
    }
    int r;
    if (cache_dir && (r = tb_cat_cache_open(&c->cache, cache_dir, cache_size, e))) return r;
    for (size_t i = 0; i < c->list.nroots; i++)
        if (c->list.roots[i].type == TB_CAT_ROOT_HF) {
            struct tb_hf_env env;
            if ((r = tb_hf_env_read(&env, e))) return r;
            c->hf_offline = env.offline;
            break;
        }
    if (c->hf_offline) return 0; /* nothing to download */
    size_t from = c->cache ? first : first + 1, remote = 0;
    for (size_t i = from; i < c->list.n; i++) remote += c->list.v[i].root >= 0;
    if (!remote || (!c->cache && prefetch == 0)) return 0;
    c->order_base = from;
    c->norder = c->list.n - from;
    c->order = tb_xmalloc(c->norder * sizeof *c->order);
    for (size_t k = 0; k < c->norder; k++) c->order[k] = from + k;
    return tb_cat_prefetch_start_ex(&c->pf, &c->list, c->order, c->norder, c->cache, &c->store, prefetch, open_root,
                                    NULL, e);
}

/* --rank/--world-size from the options, else the environment (lib/rankenv); 64 when inconsistent. */
static int ranks(struct cat_ctx *c, int have_rank, uint32_t *rank, int have_world, uint32_t *world, int *on)
{
    struct tb_rank rk;
    int r = tb_rank_resolve("cat", have_rank, *rank, have_world, *world, &rk);
    *on = 0;
    if (r) return r;
    if (!rk.have_rank && !rk.have_world) return 0;
    if (!rk.have_world) return tb_usage("cat", "--rank needs --world-size (or one of the variables of trainbox(1), RANKS)");
    *rank = rk.have_rank ? rk.rank : 0;
    *world = rk.world;
    if (c->co.verbose) tb_warn("cat", "%s", rk.how);
    *on = 1;
    return 0;
}

/* Load --state and position the stream at its first unwritten sample; 65 when it belongs to other
 * inputs. */
static int resume(struct cat_ctx *c, size_t *first, tb_err *e)
{
    char id[65];
    tb_cat_state_list_id(&c->list, id);
    struct tb_cat_state st;
    int r = tb_cat_state_load(c->state_path, &st, e);
    memset(&c->st, 0, sizeof c->st);
    memcpy(c->st.list, id, sizeof id);
    c->st.inputs = c->list.n;
    *first = 0;
    if (r <= 0) return r;
    if (strcmp(st.list, id) != 0 || st.inputs != c->list.n)
        return tb_fail(e, TB_EDATA, "state file %s was written for other inputs (%llu files then, %zu now): remove it to start over",
                       c->state_path, (unsigned long long)st.inputs, c->list.n);
    c->st = st;
    c->seen = st.seen;
    c->emitted = st.emitted;
    c->skip_samples = st.samples;
    *first = (size_t)st.input;
    if (c->has_limit && c->emitted >= c->limit) c->done = 1;
    return 0;
}

static int cmd_cat(int argc, char **argv)
{
    struct cat_ctx c;
    memset(&c, 0, sizeof c);
    c.max_line = TB_MAX_LINE_DEFAULT;
    tb_store_cfg_defaults(&c.store);
    struct tb_optparse p;
    tb_opts_init(&p, &tb_cmd_cat, argc, argv);
    int o, bad = 0, have_rank = 0, have_world = 0, shuffle = 0, allow_empty = 0, have_glob = 0;
    unsigned long long v, seed = 0, epoch = 0, cache_size = 20ull << 30;
    int prefetch = 2;
    const char *cache_dir = NULL;
    uint32_t rank = 0, world = 0;
    struct tb_glob glob;
    tb_err e = {0};
    while (!bad && (o = tb_opts_next(&p)) > 0) {
        switch (o) {
        case OPT_LIMIT: bad = tb_opt_u64(&p, &c.limit); c.has_limit = 1; break;
        case OPT_OFFSET: bad = tb_opt_u64(&p, &c.offset); break;
        case OPT_KEYS: c.keys_only = 1; break;
        case OPT_SKIPC: c.skip_corrupt = 1; break;
        case OPT_MAX_LINE: bad = tb_opt_max_line(&p, &c.max_line); break;
        case OPT_GLOB:
            if (have_glob) { bad = tb_usage("cat", "--glob given twice"); break; }
            if (tb_glob_compile(&glob, p.arg, &e)) { bad = tb_usage("cat", "--glob: %s", e.msg); break; }
            have_glob = 1;
            break;
        case OPT_RANK:
            if (!(bad = tb_opt_u64(&p, &v)) && v > UINT32_MAX) bad = tb_usage("cat", "--rank %llu is too large", v);
            rank = (uint32_t)v; have_rank = 1;
            break;
        case OPT_WORLD:
            if (!(bad = tb_opt_u64(&p, &v)) && v > UINT32_MAX) bad = tb_usage("cat", "--world-size %llu is too large", v);
            world = (uint32_t)v; have_world = 1;
            break;
        case OPT_SHUFFLE: shuffle = 1; break;
        case OPT_SEED: bad = tb_opt_u64(&p, &seed); break;
        case OPT_EPOCH: bad = tb_opt_u64(&p, &epoch); break;
        case OPT_ALLOW_EMPTY: allow_empty = 1; break;
        case OPT_STATE: c.state_path = p.arg; break;
        case OPT_CACHE_DIR: cache_dir = p.arg; break;
        case OPT_CACHE_SIZE: bad = tb_opt_size(&p, &cache_size); break;
        case OPT_PREFETCH:
            if (!(bad = tb_opt_u64(&p, &v)) && v > 64) bad = tb_usage("cat", "--prefetch %llu: at most 64", v);
            prefetch = (int)v;
            break;
        default: if (tb_store_opt(&p, o, &c.co, &c.store) == TB_EUSAGE) bad = TB_EUSAGE; break;
        }
    }
    int r = 0, partition = 0;
    if (bad) r = bad;
    else if (o < 0) r = tb_opts_exit(o);
    else if (p.npos == 0) r = tb_usage("cat", "missing URI (use - for stdin)");
    else r = ranks(&c, have_rank, &rank, have_world, &world, &partition);
    if (!r && c.state_path) {
        for (int i = 0; i < p.npos; i++)
            if (strcmp(p.pos[i], "-") == 0) { r = tb_usage("cat", "--state cannot resume stdin (-): name files"); break; }
    }
    if (r) {
        if (have_glob) tb_glob_free(&glob);
        tb_opts_free(&p);
        return r;
    }
    tb_json_init(&c.scratch);
    tb_cat_list_init(&c.list);
    struct tb_cat_expand_cfg xc = {&c.store, have_glob ? &glob : NULL, c.co.quiet};
    for (int i = 0; !r && i < p.npos; i++) r = tb_cat_expand(&c.list, p.pos[i], &xc, &e);
    size_t listed = c.list.n;
    if (!r && partition) {
        tb_cat_list_partition(&c.list, rank, world, shuffle, seed, epoch);
        if (c.co.verbose) tb_warn("cat", "rank %u of %u: %zu of %zu files", rank, world, c.list.n, listed);
        if (c.list.n == 0 && !allow_empty)
            r = tb_fail(&e, TB_EDATA, "rank %u of %u gets no file: %zu files for %u ranks (--allow-empty-rank lets it read nothing)",
                        rank, world, listed, world);
    } else if (!r && shuffle) {
        tb_cat_list_partition(&c.list, 0, 1, shuffle, seed, epoch);
    }
    size_t first = 0;
    if (!r && c.state_path) r = resume(&c, &first, &e);
    if (!r) c.stores = tb_xcalloc(c.list.nroots ? c.list.nroots : 1, sizeof *c.stores);
    if (!r) r = start_downloads(&c, first, cache_dir, cache_size, prefetch, &e);
    if (c.has_limit && c.limit == 0) c.done = 1;
    c.last_save = now_s();
    for (size_t i = first; !r && !c.done && i < c.list.n; i++) {
        if (c.state_path && i != c.st.input) { c.st.input = i; c.st.samples = 0; c.in_bytes = 0; }
        r = cat_input(&c, i, &e);
        if (!r && c.state_path && !c.done) { c.st.input = i + 1; c.st.samples = 0; c.in_bytes = 0; c.skip_samples = 0; }
    }
    if (fflush(stdout) != 0 && !r) r = tb_fail_errno(&e, TB_EIO, "write to stdout failed");
    if (!r && c.state_path) r = save_state(&c, &e);
    if (!r && c.corrupt && !c.co.quiet) tb_warn("cat", "%llu corrupt inputs skipped", (unsigned long long)c.corrupt);
    if (c.pf && c.co.verbose) {
        struct tb_cat_prefetch_stats ps;
        tb_cat_prefetch_stats(c.pf, &ps);
        tb_warn("cat", "%llu downloaded ahead, %llu from the cache", (unsigned long long)ps.downloads,
                (unsigned long long)ps.hits);
    }
    tb_cat_prefetch_stop(c.pf);
    free(c.order);
    tb_cat_cache_close(c.cache);
    for (size_t i = 0; c.stores && i < c.list.nroots; i++)
        if (c.stores[i]) tb_store_close(c.stores[i]);
    free(c.stores);
    tb_cat_list_free(&c.list);
    if (have_glob) tb_glob_free(&glob);
    tb_linebuf_free(&c.lb);
    tb_json_free(&c.scratch);
    free(c.key);
    tb_opts_free(&p);
    if (r) return tb_report("cat", &e);
    return 0;
}
