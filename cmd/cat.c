/* cat: stream samples as NDJSON from NDJSON files (plain, .gz, .zst) and tar shards (plain, .gz,
 * .zst), given as files, directories, globs, http(s) URLs or single bucket objects. Every input is
 * opened as a tb_src byte stream (a file, or a streamed GET: lib/src_remote) and then read by kind,
 * the kind going by name either way. Shard members are
 * grouped back into samples by lib/shard_sample.c's inverse mapping: `cat | shard` rewrites the shards
 * byte for byte. */
#include "alloc.h"
#include "commands.h"
#include "err.h"
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
#include "walk.h"
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum { OPT_LIMIT = 1, OPT_OFFSET, OPT_KEYS, OPT_SKIPC, OPT_MAX_LINE };

static const struct tb_opt cat_opts[] = {
    {OPT_LIMIT, 'n', "limit", "N", "stop after N samples", NULL},
    {OPT_OFFSET, 0, "offset", "N", "skip the first N samples", NULL},
    {OPT_KEYS, 0, "keys-only", NULL, "print only {\"__key__\": ...} for each sample", NULL},
    {OPT_SKIPC, 0, "skip-corrupt", NULL, "report a corrupt shard or NDJSON file and go on with the next input", NULL},
    TB_OPT_MAX_LINE(OPT_MAX_LINE),
    TB_COMMON_OPTS,
    TB_STORE_OPTS,
    TB_REQUEST_OPTS,
    TB_OPT_END,
};

static int cmd_cat(int argc, char **argv);

const struct tb_cmd_spec tb_cmd_cat = {
    "cat", "stream samples from NDJSON files and tar shards: local, http(s) or one bucket object", "[OPTIONS] URI...",
    "Print the samples of NDJSON files (.jsonl, .ndjson, also .gz/.zst compressed) and WebDataset tar shards\n"
    "(.tar, .tar.gz, .tar.zst) as NDJSON, one object per line. URIs are local files, directories (searched\n"
    "recursively, in name order; symlinked directories are not entered), globs or file:// URIs; - is NDJSON\n"
    "on stdin; http(s):// URLs and single bucket objects (s3://, r2://, gs://, az:// with a key not ending\n"
    "in /) are streamed, a dropped connection resumed where it stopped (see --retries).\n"
    "Still coming (exit 69 until then): bucket prefixes, globs and brace ranges in keys, manifests, hf://.",
    cat_opts, cmd_cat,
};

enum kind { K_NDJSON, K_NDJSON_Z, K_TAR };

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
};

static int ends(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Kind by name; -1 for names a directory walk ignores. */
static int kind_of(const char *name)
{
    if (ends(name, ".tar") || ends(name, ".tar.gz") || ends(name, ".tgz") || ends(name, ".tar.zst") || ends(name, ".tar.zstd"))
        return K_TAR;
    if (ends(name, ".jsonl") || ends(name, ".ndjson")) return K_NDJSON;
    if (ends(name, ".jsonl.gz") || ends(name, ".ndjson.gz") || ends(name, ".jsonl.zst") || ends(name, ".ndjson.zst"))
        return K_NDJSON_Z;
    return -1;
}

static int out_line(struct cat_ctx *c, const char *s, size_t n, tb_err *e)
{
    c->seen++;
    if (c->seen <= c->offset) return 0;
    int r = tb_write_line(stdout, s, n, e);
    if (r) return r;
    c->emitted++;
    if (c->has_limit && c->emitted >= c->limit) c->done = 1;
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

/* Read one opened input by kind (the source is closed here). */
static int cat_src(struct cat_ctx *c, struct tb_src src, int kind, tb_err *e)
{
    int r, ahead = kind == K_NDJSON_Z || tb_src_fd(&src) < 0; /* decode, download: on a thread */
    if (kind == K_NDJSON_Z) {
        struct tb_src z;
        if ((r = tb_src_decompress(&z, &src, e))) { tb_src_close(&src); return r; }
        src = z;
    }
    if (ahead) tb_src_threaded(&src, &src, 1u << 20, 4, e);
    r = kind == K_TAR ? cat_tar(c, &src, e) : cat_ndjson(c, &src, e);
    tb_src_close(&src);
    if (r == TB_EDATA && c->skip_corrupt) {
        if (!c->co.quiet) tb_warn("cat", "%s (skipped)", e->msg);
        c->corrupt++;
        return 0;
    }
    return r;
}

static int cat_file(struct cat_ctx *c, const char *path, int kind, tb_err *e)
{
    if (c->done) return 0;
    struct tb_src src;
    int r = tb_src_open_file(&src, path, e);
    return r ? r : cat_src(c, src, kind, e);
}

/* A '{A..B}' range (WebDataset's brace notation) somewhere in s. */
static int brace_range(const char *s)
{
    const char *a = strchr(s, '{');
    const char *d = a ? strstr(a, "..") : NULL;
    return d && strchr(d, '}');
}

/* One remote object: an http(s) URL or a bucket key, streamed (lib/src_remote) and read by the kind
 * its name says, as a local file of that name would be. */
static int cat_remote(struct cat_ctx *c, const struct tb_uri *u, const char *uri, tb_err *e)
{
    if (c->done) return 0;
    int http = u->scheme == TB_URI_HTTP || u->scheme == TB_URI_HTTPS;
    const char *key = tb_store_key_of(u);
    if (!http) {
        size_t n = strlen(key);
        if (n == 0 || key[n - 1] == '/')
            return tb_fail(e, TB_EUNAVAIL, "cannot read %s: reading every object under a prefix is coming; name one object", uri);
        if (strpbrk(key, "*?[") || brace_range(key))
            return tb_fail(e, TB_EUNAVAIL, "cannot read %s: globs and brace ranges in bucket keys are coming; name one object", uri);
    }
    /* the kind goes by the path: an http URL's query and fragment are not part of its name */
    char *name = tb_xstrdup(http ? u->url : key);
    if (http) name[strcspn(name, "?#")] = 0;
    int kind = kind_of(name);
    int manifest = ends(name, "manifest.json");
    free(name);
    if (manifest) return tb_fail(e, TB_EUNAVAIL, "cannot read %s: reading the shards a manifest lists is coming", uri);
    struct tb_store *s;
    int r = tb_store_open(&s, u, &c->store, e);
    if (r) return r;
    struct tb_src src;
    r = tb_src_open_store(&src, s, key, 1, e);
    return r ? r : cat_src(c, src, kind < 0 ? K_NDJSON : kind, e);
}

/* A directory: its inputs in the byte order of their paths (lib/walk), hidden names (".x") and
 * names of no known kind left out. A symlink to a file is read; one to a directory is not entered
 * (a walk never follows one: that could loop or leave the tree) and is said so, unless -q. */
static int walk(struct cat_ctx *c, const char *dir, tb_err *e)
{
    struct tb_walk w;
    struct tb_walk_ent ent;
    tb_err oe = {0};
    if (tb_walk_open(&w, dir, &oe)) return tb_fail_errno(e, 0, "cannot read directory %s", dir);
    int r = 0;
    while (!r && !c->done && tb_walk_next(&w, &ent)) {
        if (ent.name[0] == '.') {
            if (ent.type == TB_WALK_DIR) tb_walk_prune(&w);
            continue;
        }
        struct stat st;
        if (ent.type == TB_WALK_ERROR) {
            if (ent.err == ENOENT) continue; /* removed since its directory was read */
            errno = ent.err;
            r = tb_fail_errno(e, 0, S_ISDIR(ent.mode) ? "cannot read directory %s" : "cannot stat %s", ent.full);
        } else if (ent.type == TB_WALK_SYMLINK && stat(ent.full, &st) == 0 && S_ISDIR(st.st_mode)) {
            if (!c->co.quiet) tb_warn("cat", "%s is a symlink to a directory: not followed", ent.full);
        } else if (ent.type != TB_WALK_DIR && kind_of(ent.name) >= 0) {
            /* a file, a link to one (a dangling link fails to open), a fifo */
            r = cat_file(c, ent.full, kind_of(ent.name), e);
        }
    }
    tb_walk_close(&w);
    return r;
}

static int cat_path(struct cat_ctx *c, const char *path, tb_err *e)
{
    struct stat st;
    if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode)) return walk(c, path, e);
        int k = kind_of(path);
        return cat_file(c, path, k < 0 ? K_NDJSON : k, e);
    }
    if (strpbrk(path, "*?[")) {
        glob_t g;
        int gr = glob(path, 0, NULL, &g);
        if (gr == GLOB_NOMATCH) return tb_fail(e, TB_ENOINPUT, "no file matches %s", path);
        if (gr != 0) return tb_fail(e, TB_EIO, "cannot expand %s", path);
        int r = 0;
        for (size_t i = 0; !r && i < g.gl_pathc; i++) {
            const char *p = g.gl_pathv[i];
            if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) r = walk(c, p, e);
            else { int k = kind_of(p); r = cat_file(c, p, k < 0 ? K_NDJSON : k, e); }
        }
        globfree(&g);
        return r;
    }
    return tb_fail_errno(e, 0, "cannot open %s", path);
}

static int cat_uri(struct cat_ctx *c, const char *uri, tb_err *e)
{
    if (strcmp(uri, "-") == 0) return cat_file(c, uri, K_NDJSON, e);
    struct tb_uri u;
    int r = tb_uri_parse(uri, &u, e);
    if (r) return r;
    if (u.scheme == TB_URI_FILE) r = cat_path(c, u.path, e);
    else if (u.scheme == TB_URI_HF)
        r = tb_fail(e, TB_EUNAVAIL, "cannot read %s: Hugging Face (hf://) sources are coming; an https:// resolve URL works", uri);
    else r = cat_remote(c, &u, uri, e);
    tb_uri_free(&u);
    return r;
}

static int cmd_cat(int argc, char **argv)
{
    struct cat_ctx c;
    memset(&c, 0, sizeof c);
    c.max_line = TB_MAX_LINE_DEFAULT;
    tb_store_cfg_defaults(&c.store);
    struct tb_optparse p;
    tb_opts_init(&p, &tb_cmd_cat, argc, argv);
    int o, bad = 0;
    while (!bad && (o = tb_opts_next(&p)) > 0) {
        switch (o) {
        case OPT_LIMIT: bad = tb_opt_u64(&p, &c.limit); c.has_limit = 1; break;
        case OPT_OFFSET: bad = tb_opt_u64(&p, &c.offset); break;
        case OPT_KEYS: c.keys_only = 1; break;
        case OPT_SKIPC: c.skip_corrupt = 1; break;
        case OPT_MAX_LINE: bad = tb_opt_max_line(&p, &c.max_line); break;
        default: if (tb_store_opt(&p, o, &c.co, &c.store) == TB_EUSAGE) bad = TB_EUSAGE; break;
        }
    }
    if (bad) { tb_opts_free(&p); return bad; }
    if (o < 0) { tb_opts_free(&p); return tb_opts_exit(o); }
    if (p.npos == 0) { tb_opts_free(&p); return tb_usage("cat", "missing URI (use - for stdin)"); }
    tb_json_init(&c.scratch);
    tb_err e = {0};
    int r = 0;
    if (c.has_limit && c.limit == 0) c.done = 1;
    for (int i = 0; !r && !c.done && i < p.npos; i++) r = cat_uri(&c, p.pos[i], &e);
    if (fflush(stdout) != 0 && !r) r = tb_fail_errno(&e, TB_EIO, "write to stdout failed");
    if (!r && c.corrupt && !c.co.quiet) tb_warn("cat", "%llu corrupt inputs skipped", (unsigned long long)c.corrupt);
    tb_linebuf_free(&c.lb);
    tb_json_free(&c.scratch);
    free(c.key);
    tb_opts_free(&p);
    if (r) return tb_report("cat", &e);
    return 0;
}
