/* upload: store local files (shard records or plain paths) under a bucket prefix, verified, in
 * parallel on one libcurl multi handle, idempotently and without leaving half-objects behind.
 *
 * Per file: hash pass -> HEAD (already there with the same size and sha256? done) -> PUT, or
 * create + parts + complete for files above --multipart-threshold -> HEAD to verify -> print the
 * record with "uri" and "etag". Any failure after a multipart upload was created aborts it.
 *
 * Hashing: one read pass over each file before it is sent computes the whole file's SHA-256 (stored
 * as x-amz-meta-sha256, needed before the first request since S3 takes metadata at create time) and,
 * for multipart files on S3, each part's SHA-256 (sent as the signed payload hash, so the store rejects
 * a part that differs from what was hashed); MD5s only for stores that want Content-MD5 (Azure: each
 * part's, or a single Put Blob's whole body's). No digest is computed that no request carries.
 * The pass runs in slices between libcurl polls, so hashing the next file overlaps the transfers in
 * flight. Bodies are then read by libcurl's read callback with pread: no file is ever buffered whole.
 * Memory: a bounded window of files (2 x --jobs) and one request slot per job. */
#include "cleanup.h"
#include "commands.h"
#include "err.h"
#include "hash.h"
#include "keyset.h"
#include "ndjson.h"
#include "opts.h"
#include "progress.h"
#include "src.h"
#include "store.h"
#include "trailer.h"
#include "uri.h"
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
    OPT_JOBS = 1, OPT_PART_SIZE, OPT_THRESHOLD, OPT_DELETE_AFTER, OPT_NO_CLOBBER, OPT_KEEP_DIRS, OPT_PROGRESS,
    OPT_MAX_LINE, OPT_FORCE,
};

static const struct tb_opt upload_opts[] = {
    {OPT_JOBS, 'j', "jobs", "N", "transfers at once, parts of big files included (default 8)", NULL},
    {OPT_PART_SIZE, 0, "part-size", "SIZE", "multipart part size (default 8MiB; grown to keep <= 10000 parts)", NULL},
    {OPT_THRESHOLD, 0, "multipart-threshold", "SIZE", "files above this go up in parts (default 64MiB)", NULL},
    {OPT_NO_CLOBBER, 0, "no-clobber", NULL, "refuse to replace an existing object with different content", NULL},
    {OPT_FORCE, 0, "force", NULL, "send every file, even when its object looks current (same size and sha256)", NULL},
    {OPT_DELETE_AFTER, 0, "delete-after", NULL, "remove each local file once its object is verified", NULL},
    {OPT_KEEP_DIRS, 0, "keep-dirs", NULL, "key = prefix + path relative to the cwd (default: + basename)", NULL},
    {OPT_PROGRESS, 0, "progress", "[MODE]", "progress on stderr: auto, none, bar, json (default auto)", "auto none bar json"},
    TB_OPT_MAX_LINE(OPT_MAX_LINE),
    TB_STORE_OPTS,
    TB_REQUEST_OPTS,
    TB_COMMON_OPTS,
    TB_OPT_END,
};

static int cmd_upload(int argc, char **argv);

const struct tb_cmd_spec tb_cmd_upload = {
    "upload",
    "store files in object storage, verified and resumable",
    "[OPTIONS] DEST_PREFIX [-- FILE...]",
    "Read shard records (or plain paths), one per line, from stdin, or take FILEs after --, and store\n"
    "each file as DEST_PREFIX + its basename (s3://, r2://, gs://, az://, file:// or a directory).\n"
    "Each record is printed with \"uri\" and \"etag\" added once its object is verified. Objects that\n"
    "already exist with the same size and sha256 are not sent again.",
    upload_opts,
    cmd_upload,
};

enum fstate { F_HASH, F_HEAD, F_PUT, F_CREATE, F_PARTS, F_COMPLETE, F_VERIFY, F_ABORT, F_DONE, F_FAILED };

struct file {
    struct file *next;
    char *path, *key, *uri;
    cJSON *rec;              /* the input record (NULL for a plain path) */
    uint64_t lineno;
    int fd;
    uint64_t size;
    enum fstate st;
    int next_op;             /* op to submit when a slot frees, -1: none */
    int inflight;
    /* hashing */
    uint64_t hashed;
    EVP_MD_CTX *whole, *wmd5;
    char sha[65], want_sha[65], rec_md5[33], md5_b64[32];
    /* multipart */
    int multipart;
    uint64_t part_size;
    int nparts, parts_next, parts_done;
    struct tb_store_part *parts;
    char (*part_sha)[65];    /* per part, when the store takes each body's SHA-256 (S3) */
    char (*part_md5)[32];    /* per part, when it wants Content-MD5 (Azure) */
    EVP_MD_CTX *psha, *pmd5; /* the part being hashed in the first pass */
    int hpart, hstarted;
    char upload_id[256];
    int failing;             /* a request failed: send nothing new, abort when idle */
    char etag[160];
    int skipped;
    tb_err verify_err;       /* why we are verifying instead of trusting a success (412/404 after retries) */
    tb_err err;
};

struct slot {
    struct tb_store_req r;
    struct file *f;
    int part;   /* index for MP_PART */
    int busy;
    struct up *u;
};

/* What one listing of the destination prefix said exists: a file whose key is provably absent goes
 * straight to PUT, saving the HEAD that checks for an identical object (a third of the requests
 * of a fresh upload). Bounded: at most LIST_MAX keys; beyond the last one listed, HEAD decides. */
#define LIST_MAX 10000
struct listing {
    char **keys;   /* in the store's (byte) order */
    size_t n, cap;
    int ok;        /* the listing succeeded */
    int complete;  /* every key under the prefix is in keys */
};

struct up {
    struct tb_store *store;
    struct listing have;
    struct tb_uri dest;
    int jobs, no_clobber, delete_after, keep_dirs, force, quiet;
    struct tb_keyset keys;    /* object keys taken so far -> the file (dev, inode, path) that took each */
    uint64_t part_size, threshold;
    struct slot *slots;
    int nslots, busy;
    struct file *head, *tail; /* the window, in input order */
    int nwindow;
    struct tb_lines lines;
    struct tb_src src;
    int have_lines;
    char **args;
    int nargs, argi;
    int input_done;
    uint64_t lineno;
    unsigned char *buf;       /* hashing buffer */
    size_t bufsz;
    int fatal;                /* exit code of an error that stops everything (77) */
    tb_err fatal_err;
    uint64_t ok, failed, bytes_done;
    int fail_code;            /* exit code when all failures agree; -1 when they differ */
    int data_err;             /* a record's sha256 or bytes did not match its file, or two files had one key */
    struct tb_progress prog;
    int out_err;
    /* the input's completeness (DESIGN.md Records: record streams end with a trailer) */
    uint64_t in_lines;        /* records and paths read from stdin */
    int in_records;           /* some were records: then only a trailer says the stream is whole */
    int in_trailer;           /* its trailer was read (and its count matched) */
    tb_err in_err;            /* bad input that stopped reading: a bad trailer, a line after it (65) */
};

/* Set by SIGINT/SIGTERM/SIGHUP: the main loop then stops like on a fatal error, aborting the
 * multipart uploads it created, and exits 75 (re-running resumes). A signal handler gets no
 * context, so this one flag has to be file-scope. */
static volatile sig_atomic_t interrupted;

static void on_signal(int sig) { interrupted = sig; }

static void file_free(struct file *f)
{
    if (f->fd >= 0) close(f->fd);
    free(f->path);
    free(f->key);
    free(f->uri);
    if (f->rec) cJSON_Delete(f->rec);
    EVP_MD_CTX_free(f->whole);
    EVP_MD_CTX_free(f->wmd5);
    EVP_MD_CTX_free(f->psha);
    EVP_MD_CTX_free(f->pmd5);
    free(f->parts);
    free(f->part_sha);
    free(f->part_md5);
    free(f);
}

static void b64(const unsigned char *in, int n, char *out) { EVP_EncodeBlock((unsigned char *)out, in, n); }

/* ---- intake */

static int key_for(struct up *u, const char *path, char **key, char **uri, tb_err *e)
{
    const char *name;
    char rel[PATH_MAX];
    if (u->keep_dirs) {
        const char *p = path;
        char cwd[PATH_MAX];
        if (p[0] == '/') {
            if (!getcwd(cwd, sizeof cwd)) return tb_fail_errno(e, TB_EIO, "getcwd");
            size_t n = strlen(cwd);
            if (strncmp(p, cwd, n) != 0 || p[n] != '/')
                return tb_fail(e, TB_EUSAGE, "--keep-dirs: %s is not under the current directory", path);
            p += n + 1;
        }
        while (p[0] == '.' && p[1] == '/') p += 2;
        if (strstr(p, "../") == p || strstr(p, "/../") || strcmp(p, "..") == 0)
            return tb_fail(e, TB_EUSAGE, "--keep-dirs: %s leaves the current directory", path);
        snprintf(rel, sizeof rel, "%s", p);
        name = rel;
    } else {
        name = strrchr(path, '/');
        name = name ? name + 1 : path;
    }
    if (!*name) return tb_fail(e, TB_EUSAGE, "no file name in '%s'", path);
    struct tb_uri obj;
    int rc = tb_uri_join(&u->dest, name, &obj, e);
    if (rc) return rc;
    *key = strdup(tb_store_key_of(&obj));
    *uri = tb_store_uri(u->store, *key);
    tb_uri_free(&obj);
    return 0;
}

static void fail_file(struct up *u, struct file *f, const tb_err *e);

/* Claim the object key for the file (dev, ino) at path: 0 when it is the key's first file (or the
 * same file again), TB_EDATA naming both paths when another file already took it. */
static int claim_key(struct up *u, const char *key, const char *uri, uint64_t dev, uint64_t ino, const char *path, tb_err *e)
{
    uint64_t pdev, pino;
    const char *prev;
    int r = tb_keyset_add(&u->keys, key, strlen(key), dev, ino, path, &pdev, &pino, &prev);
    if (r < 0) return tb_fail(e, TB_ESOFTWARE, "out of memory");
    if (r == 1 && (pdev != dev || pino != ino))
        return tb_fail(e, TB_EDATA, "%s and %s both map to %s: refusing to store two files under one key "
                       "(rename one, or use --keep-dirs)", prev, path, uri);
    return 0;
}

static int is_hex64(const char *s)
{
    if (strlen(s) != 64) return 0;
    for (int i = 0; i < 64; i++) if (!strchr("0123456789abcdef", s[i])) return 0;
    return 1;
}

/* Plan parts: all equal but the last, at most max_parts, each within the store's limits. */
static void plan_parts(struct up *u, struct file *f)
{
    const struct tb_store_backend *be = u->store->be;
    uint64_t ps = u->part_size;
    if (ps < be->min_part) ps = be->min_part;
    uint64_t maxp = (uint64_t)(be->max_parts > 10000 || be->max_parts <= 0 ? 10000 : be->max_parts);
    if ((f->size + ps - 1) / ps > maxp) {
        ps = (f->size + maxp - 1) / maxp;
        ps = (ps + (1u << 20) - 1) & ~(uint64_t)((1u << 20) - 1); /* whole MiB */
    }
    if (ps > be->max_part) ps = be->max_part;
    f->part_size = ps;
    f->nparts = (int)((f->size + ps - 1) / ps);
    if (f->nparts < 1) f->nparts = 1;
    f->parts = calloc((size_t)f->nparts, sizeof *f->parts);
    /* only the digests the store uses: a SHA-256 pass over a 256 MiB file costs 0.13 s here, MD5 0.31 s */
    if (be->signs_body) f->part_sha = calloc((size_t)f->nparts, sizeof *f->part_sha);
    if (be->wants_md5) f->part_md5 = calloc((size_t)f->nparts, sizeof *f->part_md5);
    if (!f->parts || (be->signs_body && !f->part_sha) || (be->wants_md5 && !f->part_md5)) abort();
    for (int i = 0; i < f->nparts; i++) f->parts[i].num = i + 1;
}

static void add_file(struct up *u, char *line, size_t len)
{
    struct file *f = calloc(1, sizeof *f);
    if (!f) abort();
    f->fd = -1;
    f->next_op = -1;
    f->lineno = u->lineno;
    if (u->tail) u->tail->next = f;
    else u->head = f;
    u->tail = f;
    u->nwindow++;
    tb_err e = {0};
    while (len && (line[len - 1] == ' ' || line[len - 1] == '\t')) line[--len] = 0;
    while (*line == ' ' || *line == '\t') { line++; len--; }
    if (line[0] == '{') {
        f->rec = cJSON_ParseWithLength(line, len);
        cJSON *p = f->rec ? cJSON_GetObjectItem(f->rec, "path") : NULL;
        if (!f->rec || !cJSON_IsObject(f->rec) || !cJSON_IsString(p) || !*p->valuestring) {
            tb_fail(&e, TB_EDATA, "line %llu: not a record with a \"path\"", (unsigned long long)u->lineno);
            fail_file(u, f, &e);
            return;
        }
        f->path = strdup(p->valuestring);
        cJSON *s = cJSON_GetObjectItem(f->rec, "sha256");
        if (cJSON_IsString(s)) {
            if (!is_hex64(s->valuestring)) {
                tb_fail(&e, TB_EDATA, "line %llu: \"sha256\" is not 64 lowercase hex digits", (unsigned long long)u->lineno);
                fail_file(u, f, &e);
                return;
            }
            snprintf(f->want_sha, sizeof f->want_sha, "%s", s->valuestring);
        }
        cJSON *b = cJSON_GetObjectItem(f->rec, "bytes");
        if (b && (!cJSON_IsNumber(b) || b->valuedouble < 0 || b->valuedouble != (double)(uint64_t)b->valuedouble)) {
            tb_fail(&e, TB_EDATA, "line %llu: \"bytes\" is not a non-negative integer", (unsigned long long)u->lineno);
            u->data_err = 1;
            fail_file(u, f, &e);
            return;
        }
        cJSON *m = cJSON_GetObjectItem(f->rec, "md5");
        if (cJSON_IsString(m) && strlen(m->valuestring) == 32) snprintf(f->rec_md5, sizeof f->rec_md5, "%s", m->valuestring);
    } else {
        f->path = strndup(line, len);
    }
    f->fd = open(f->path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (f->fd < 0) { tb_fail_errno(&e, 0, "open %s", f->path); fail_file(u, f, &e); return; }
    if (fstat(f->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        tb_fail(&e, TB_ENOINPUT, "%s is not a regular file", f->path);
        fail_file(u, f, &e);
        return;
    }
    f->size = (uint64_t)st.st_size;
    cJSON *b = f->rec ? cJSON_GetObjectItem(f->rec, "bytes") : NULL;
    if (b && (uint64_t)b->valuedouble != f->size) {
        tb_fail(&e, TB_EDATA, "%s: %llu bytes, but the record says %llu (line %llu)", f->path, (unsigned long long)f->size,
                (unsigned long long)b->valuedouble, (unsigned long long)f->lineno);
        u->data_err = 1;
        fail_file(u, f, &e);
        return;
    }
    if (key_for(u, f->path, &f->key, &f->uri, &e)) { fail_file(u, f, &e); return; }
    if (claim_key(u, f->key, f->uri, (uint64_t)st.st_dev, (uint64_t)st.st_ino, f->path, &e)) {
        u->data_err = 1;
        fail_file(u, f, &e);
        return;
    }
    f->whole = EVP_MD_CTX_new();
    EVP_DigestInit_ex(f->whole, EVP_sha256(), NULL);
    if (f->size > u->threshold) {
        f->multipart = 1;
        plan_parts(u, f);
    } else if (u->store->be->wants_md5) {
        /* the Content-MD5 of a single Put Blob (a multipart upload sends its parts' instead) */
        f->wmd5 = EVP_MD_CTX_new();
        EVP_DigestInit_ex(f->wmd5, EVP_md5(), NULL);
    }
    f->st = F_HASH;
    u->prog.total_items++;
}

/* A line of stdin: the trailer is checked and kept back (upload writes its own), anything else is
 * a file to store. Returns non-zero when the input is bad and reading must stop (u->in_err). */
static int stdin_line(struct up *u, char *line, size_t len)
{
    unsigned long long ln = (unsigned long long)u->lineno;
    if (u->in_trailer) return tb_fail(&u->in_err, TB_EDATA, "line %llu of stdin comes after the trailer", ln);
    uint64_t n;
    tb_err e = {0};
    int t = tb_trailer_parse(line, len, &n, &e);
    if (t < 0) {
        u->in_err = e;
        return tb_err_wrap(&u->in_err, "line %llu of stdin", ln);
    }
    if (t == 1) {
        if (n != u->in_lines)
            return tb_fail(&u->in_err, TB_EDATA, "line %llu of stdin: the trailer counts %llu records, %llu were received", ln,
                           (unsigned long long)n, (unsigned long long)u->in_lines);
        u->in_trailer = 1;
        return 0;
    }
    u->in_lines++;
    size_t i = 0;
    while (i < len && (line[i] == ' ' || line[i] == '\t')) i++;
    if (i < len && line[i] == '{') u->in_records = 1;
    add_file(u, line, len);
    return 0;
}

/* Read input until the window is full. */
static void intake(struct up *u)
{
    int limit = u->jobs * 2 + 2;
    while (!u->input_done && !u->fatal && u->nwindow < limit) {
        if (u->args) {
            if (u->argi >= u->nargs) { u->input_done = 1; break; }
            char *a = u->args[u->argi++];
            u->lineno++;
            add_file(u, a, strlen(a));
            continue;
        }
        char *line;
        size_t len;
        tb_err e = {0};
        int r = tb_lines_next(&u->lines, &line, &len, &e);
        if (r == 0) { u->input_done = 1; break; }
        if (r < 0) { u->fatal = e.code ? e.code : TB_EIO; u->fatal_err = e; u->input_done = 1; break; }
        u->lineno = u->lines.lineno;
        if (stdin_line(u, line, len)) { u->input_done = 1; break; }
    }
}

static int surely_absent(const struct up *u, const char *key);

/* Multipart files: each part's digests come from the same pass as the whole file's, from bytes
 * read once (hashing each part again before sending it cost a second read and SHA-256 pass over
 * the whole file). The part hash is then the signed payload hash, so should the file change after
 * this pass, the store refuses the part instead of storing bytes that do not match the metadata. */
static void hash_parts_of(struct file *f, const unsigned char *p, size_t n)
{
    uint64_t pos = f->hashed;
    if (!f->part_sha && !f->part_md5) return;
    while (n > 0) {
        if (!f->hstarted) {
            if (f->part_sha) f->psha = EVP_MD_CTX_new();
            if (f->part_md5) f->pmd5 = EVP_MD_CTX_new();
            if ((f->part_sha && !f->psha) || (f->part_md5 && !f->pmd5)) abort();
            if (f->psha) EVP_DigestInit_ex(f->psha, EVP_sha256(), NULL);
            if (f->pmd5) EVP_DigestInit_ex(f->pmd5, EVP_md5(), NULL);
            f->hstarted = 1;
        }
        uint64_t end = (uint64_t)(f->hpart + 1) * f->part_size;
        if (end > f->size) end = f->size;
        size_t k = end - pos < n ? (size_t)(end - pos) : n;
        if (f->psha) EVP_DigestUpdate(f->psha, p, k);
        if (f->pmd5) EVP_DigestUpdate(f->pmd5, p, k);
        p += k;
        n -= k;
        pos += k;
        if (pos == end) {
            unsigned char d[32];
            unsigned int dl = 32;
            if (f->psha) { EVP_DigestFinal_ex(f->psha, d, &dl); tb_hex(d, 32, f->part_sha[f->hpart]); }
            if (f->pmd5) { EVP_DigestFinal_ex(f->pmd5, d, &dl); b64(d, 16, f->part_md5[f->hpart]); }
            EVP_MD_CTX_free(f->psha);
            EVP_MD_CTX_free(f->pmd5);
            f->psha = f->pmd5 = NULL;
            f->hstarted = 0;
            f->hpart++;
        }
    }
}

/* Hash up to `budget` bytes of the first file still being hashed. Returns 1 if work remains. */
static int hash_some(struct up *u, size_t budget)
{
    struct file *f = u->head;
    while (f && f->st != F_HASH) f = f->next;
    if (!f) return 0;
    size_t done = 0;
    while (done < budget && f->hashed < f->size) {
        size_t want = u->bufsz;
        if (f->size - f->hashed < want) want = (size_t)(f->size - f->hashed);
        ssize_t n = pread(f->fd, u->buf, want, (off_t)f->hashed);
        if (n <= 0) {
            tb_err e;
            if (n < 0) tb_fail_errno(&e, 0, "read %s", f->path);
            else tb_fail(&e, TB_EDATA, "%s shrank while being read", f->path);
            fail_file(u, f, &e);
            return 1;
        }
        EVP_DigestUpdate(f->whole, u->buf, (size_t)n);
        if (f->wmd5) EVP_DigestUpdate(f->wmd5, u->buf, (size_t)n);
        if (f->multipart) hash_parts_of(f, u->buf, (size_t)n);
        f->hashed += (uint64_t)n;
        done += (size_t)n;
    }
    if (f->hashed < f->size) return 1;
    unsigned char d[32];
    unsigned int dl = 32;
    EVP_DigestFinal_ex(f->whole, d, &dl);
    tb_hex(d, 32, f->sha);
    if (f->wmd5) { EVP_DigestFinal_ex(f->wmd5, d, &dl); b64(d, 16, f->md5_b64); }
    if (f->want_sha[0] && strcmp(f->want_sha, f->sha) != 0) {
        tb_err e;
        tb_fail(&e, TB_EDATA, "%s: sha256 %s does not match the record's %s (line %llu)", f->path, f->sha, f->want_sha,
                (unsigned long long)f->lineno);
        u->data_err = 1;
        fail_file(u, f, &e);
        return 1;
    }
    if (surely_absent(u, f->key)) {
        f->st = f->multipart ? F_CREATE : F_PUT;
        f->next_op = f->multipart ? TB_OP_MP_CREATE : TB_OP_PUT;
    } else {
        f->st = F_HEAD;
        f->next_op = TB_OP_HEAD;
    }
    return 1;
}

static int list_collect(void *ud, const struct tb_obj_info *info, int is_prefix)
{
    struct listing *l = ud;
    if (is_prefix) return 0;
    if (l->n == LIST_MAX) return 2; /* enough: the rest is left to HEAD */
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 256;
        char **k = realloc(l->keys, l->cap * sizeof *k);
        if (!k) abort();
        l->keys = k;
    }
    l->keys[l->n++] = strdup(info->key);
    return 0;
}

/* One listing of the prefix the objects go under. Any failure just disables the shortcut: HEADs
 * then report real problems (moto, for one, refuses listings with '/' while checking signatures). */
static void list_dest(struct up *u)
{
    if (u->dest.scheme == TB_URI_FILE) return;
    struct tb_uri probe;
    tb_err e = {0};
    if (tb_uri_join(&u->dest, "x", &probe, &e)) return;
    char *prefix = strdup(tb_store_key_of(&probe));
    tb_uri_free(&probe);
    prefix[strlen(prefix) - 1] = 0;
    int rc = tb_store_list_all(u->store, prefix, NULL, list_collect, &u->have, &e);
    free(prefix);
    u->have.ok = rc == 0 || rc == 2;
    u->have.complete = rc == 0;
    if (rc == TB_EUNAVAIL) { /* unreachable after every retry: no point trying each file again */
        u->fatal = TB_EUNAVAIL;
        u->fatal_err = e;
    }
}

/* Is key certainly not in the store (per the listing)? */
static int surely_absent(const struct up *u, const char *key)
{
    const struct listing *l = &u->have;
    if (!l->ok) return 0;
    size_t lo = 0, hi = l->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(l->keys[mid], key);
        if (c == 0) return 0;
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return l->complete || (l->n && strcmp(key, l->keys[l->n - 1]) < 0);
}

/* ---- completion */

static int emit(struct up *u, struct file *f)
{
    cJSON *o = f->rec;
    if (!o) {
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "path", f->path);
        cJSON_AddNumberToObject(o, "bytes", (double)f->size);
        cJSON_AddStringToObject(o, "sha256", f->sha);
        f->rec = o;
    }
    cJSON_DeleteItemFromObject(o, "uri");
    cJSON_DeleteItemFromObject(o, "etag");
    cJSON_AddStringToObject(o, "uri", f->uri);
    if (f->etag[0]) cJSON_AddStringToObject(o, "etag", f->etag);
    char *s = cJSON_PrintUnformatted(o);
    tb_err e = {0};
    int rc = s ? tb_write_line(stdout, s, strlen(s), &e) : TB_ESOFTWARE;
    free(s);
    if (!rc && fflush(stdout) != 0) rc = TB_EIO;
    if (rc && !u->out_err) {
        u->out_err = 1;
        u->fatal = TB_EIO;
        tb_fail(&u->fatal_err, TB_EIO, "writing records to stdout failed");
    }
    return rc;
}

static void file_ok(struct up *u, struct file *f)
{
    f->st = F_DONE;
    u->ok++;
    u->bytes_done += f->size;
    emit(u, f);
    if (u->delete_after && unlink(f->path) != 0) {
        tb_err e;
        tb_fail_errno(&e, 0, "--delete-after: remove %s", f->path);
        if (!u->quiet) tb_warn("upload", "%s", e.msg);
    }
    u->prog.items++;
    u->prog.done++;
}

static void fail_file(struct up *u, struct file *f, const tb_err *e)
{
    f->err = *e;
    if (!f->err.code) f->err.code = TB_ESOFTWARE;
    if (f->upload_id[0] && f->st != F_ABORT) {
        /* never leave an orphaned multipart upload: abort once the file's requests are idle */
        f->failing = 1;
        f->st = F_ABORT;
        f->next_op = TB_OP_MP_ABORT;
        return;
    }
    f->st = F_FAILED;
    u->failed++;
    if (u->fail_code == 0) u->fail_code = f->err.code;
    else if (u->fail_code != f->err.code) u->fail_code = -1;
    u->prog.items++;
}

static void slot_done(struct tb_store_req *r)
{
    struct slot *sl = r->ud;
    struct up *u = sl->u;
    struct file *f = sl->f;
    sl->busy = 0;
    u->busy--;
    f->inflight--;
    if ((r->status == TB_ENOPERM || (r->status == TB_ECANTCREAT && u->dest.scheme != TB_URI_FILE)) && !u->fatal) {
        /* credentials refused, or the bucket/container is missing: stop at once, nothing will work */
        u->fatal = r->status;
        u->fatal_err = r->err;
    }
    if (f->st == F_ABORT) {
        if (r->op == TB_OP_MP_ABORT) {
            if (r->status && !u->quiet) tb_warn("upload", "could not abort the multipart upload of %s: %s", f->uri, r->err.msg);
            f->upload_id[0] = 0;
            tb_err e = f->err;
            fail_file(u, f, &e);
        } else if (r->op == TB_OP_MP_PART && !r->status) {
            f->parts[sl->part].etag[0] = 0;
        }
        tb_store_req_clear(r);
        return;
    }
    /* A retried PUT/complete whose first attempt did land answers 412 (If-None-Match) or 404
     * NoSuchUpload: the object may well be ours, so let the verifying HEAD decide. */
    if (r->status && !u->fatal &&
        ((r->precond_failed && (r->op == TB_OP_PUT || r->op == TB_OP_MP_COMPLETE)) ||
         (r->op == TB_OP_MP_COMPLETE && r->status == TB_ENOINPUT && r->attempts > 1))) {
        if (r->op == TB_OP_MP_COMPLETE) f->upload_id[0] = 0;
        f->verify_err = r->err;
        f->st = F_VERIFY;
        f->next_op = TB_OP_HEAD;
        tb_store_req_clear(r);
        return;
    }
    if (r->status && !(r->op == TB_OP_HEAD && f->st == F_HEAD && r->status == TB_ENOINPUT)) {
        tb_err e = r->err;
        tb_store_req_clear(r);
        fail_file(u, f, &e);
        return;
    }
    tb_err e = {0};
    switch (r->op) {
    case TB_OP_HEAD:
        if (f->st == F_HEAD) {
            if (!u->force && r->info.exists && r->info.size == f->size && strcmp(r->info.sha256, f->sha) == 0) {
                snprintf(f->etag, sizeof f->etag, "%s", r->info.etag);
                f->skipped = 1;
                file_ok(u, f);
            } else if (r->info.exists && u->no_clobber) {
                tb_fail(&e, TB_EDATA, "%s exists with different content and --no-clobber refuses to replace it", f->uri);
                fail_file(u, f, &e);
            } else if (f->multipart) {
                f->st = F_CREATE;
                f->next_op = TB_OP_MP_CREATE;
            } else {
                f->st = F_PUT;
                f->next_op = TB_OP_PUT;
            }
        } else { /* F_VERIFY */
            const char *why = NULL;
            if (!r->info.exists) why = "the object is missing";
            else if (r->info.size != f->size) why = "its size differs";
            else if (r->info.sha256[0] && strcmp(r->info.sha256, f->sha) != 0) why = "its sha256 metadata differs";
            else if (!f->multipart && u->store->be->etag_is_md5 && f->rec_md5[0] && r->info.etag[0] &&
                     !strchr(r->info.etag, '-') && strcasecmp(r->info.etag, f->rec_md5) != 0)
                why = "its ETag is not the record's md5";
            if (why && f->verify_err.code) {
                fail_file(u, f, &f->verify_err);
            } else if (why) {
                tb_fail(&e, TB_EUNAVAIL, "verifying %s after the upload: %s", f->uri, why);
                fail_file(u, f, &e);
            } else {
                if (r->info.etag[0]) snprintf(f->etag, sizeof f->etag, "%s", r->info.etag);
                file_ok(u, f);
            }
        }
        break;
    case TB_OP_PUT:
        snprintf(f->etag, sizeof f->etag, "%s", r->info.etag);
        f->st = F_VERIFY;
        f->next_op = TB_OP_HEAD;
        break;
    case TB_OP_MP_CREATE:
        snprintf(f->upload_id, sizeof f->upload_id, "%s", r->upload_id_out);
        f->st = F_PARTS;
        break;
    case TB_OP_MP_PART:
        snprintf(f->parts[sl->part].etag, sizeof f->parts[sl->part].etag, "%s", r->part_etag);
        if (f->part_sha) snprintf(f->parts[sl->part].sha256, sizeof f->parts[sl->part].sha256, "%s", f->part_sha[sl->part]);
        if (++f->parts_done == f->nparts) { f->st = F_COMPLETE; f->next_op = TB_OP_MP_COMPLETE; }
        break;
    case TB_OP_MP_COMPLETE:
        f->upload_id[0] = 0; /* completed: nothing to abort any more */
        snprintf(f->etag, sizeof f->etag, "%s", r->info.etag);
        f->st = F_VERIFY;
        f->next_op = TB_OP_HEAD;
        break;
    default:
        break;
    }
    tb_store_req_clear(r);
}

/* ---- scheduling */

/* A part's SHA-256 (and MD5 when the store wants Content-MD5): normally from the first pass
 * (hash_parts_of); computed here, just before the part is sent, only if that pass did not. */
static int hash_part(struct up *u, struct file *f, int part, tb_err *e)
{
    if (part < f->hpart || (!f->part_sha && !f->part_md5)) return 0; /* hashed in the first pass, or nothing to hash */
    uint64_t off = (uint64_t)part * f->part_size;
    uint64_t end = off + f->part_size < f->size ? off + f->part_size : f->size;
    EVP_MD_CTX *sha = f->part_sha ? EVP_MD_CTX_new() : NULL, *md5 = f->part_md5 ? EVP_MD_CTX_new() : NULL;
    if ((f->part_sha && !sha) || (f->part_md5 && !md5)) abort();
    if (sha) EVP_DigestInit_ex(sha, EVP_sha256(), NULL);
    if (md5) EVP_DigestInit_ex(md5, EVP_md5(), NULL);
    int rc = 0;
    while (off < end) {
        size_t want = end - off < u->bufsz ? (size_t)(end - off) : u->bufsz;
        ssize_t n = pread(f->fd, u->buf, want, (off_t)off);
        if (n <= 0) {
            rc = n < 0 ? tb_fail_errno(e, 0, "read %s", f->path) : tb_fail(e, TB_EDATA, "%s shrank while being sent", f->path);
            break;
        }
        if (sha) EVP_DigestUpdate(sha, u->buf, (size_t)n);
        if (md5) EVP_DigestUpdate(md5, u->buf, (size_t)n);
        off += (uint64_t)n;
    }
    if (!rc) {
        unsigned char d[32];
        unsigned int dl = 32;
        if (sha) { EVP_DigestFinal_ex(sha, d, &dl); tb_hex(d, 32, f->part_sha[part]); }
        if (md5) { EVP_DigestFinal_ex(md5, d, &dl); b64(d, 16, f->part_md5[part]); }
    }
    EVP_MD_CTX_free(sha);
    EVP_MD_CTX_free(md5);
    return rc;
}

static struct slot *free_slot(struct up *u)
{
    for (int i = 0; i < u->nslots; i++) if (!u->slots[i].busy) return &u->slots[i];
    return NULL;
}

static void submit(struct up *u, struct file *f, int op, int part)
{
    struct slot *sl = free_slot(u);
    struct tb_store_req *r = &sl->r;
    memset(r, 0, sizeof *r);
    sl->busy = 1;
    sl->f = f;
    sl->part = part;
    sl->u = u;
    u->busy++;
    f->inflight++;
    r->op = op;
    r->key = f->key;
    r->done = slot_done;
    r->ud = sl;
    r->body = TB_BODY_NONE;
    switch (op) {
    case TB_OP_PUT:
        r->body = (struct tb_body){f->fd, NULL, 0, f->size};
        r->body_sha256 = f->sha;
        r->sha256 = f->sha;
        if (f->md5_b64[0]) r->content_md5 = f->md5_b64;
        r->if_none_match = u->no_clobber;
        break;
    case TB_OP_MP_CREATE:
        r->sha256 = f->sha;
        r->total_size = f->size;
        break;
    case TB_OP_MP_PART: {
        uint64_t off = (uint64_t)part * f->part_size;
        uint64_t len = f->size - off < f->part_size ? f->size - off : f->part_size;
        r->body = (struct tb_body){f->fd, NULL, off, len};
        r->part_off = off;
        r->total_size = f->size;
        r->part_num = part + 1;
        r->upload_id = f->upload_id;
        r->body_sha256 = f->part_sha ? f->part_sha[part] : NULL;
        if (f->part_md5) r->content_md5 = f->part_md5[part];
        break;
    }
    case TB_OP_MP_COMPLETE:
        r->upload_id = f->upload_id;
        r->parts = f->parts;
        r->nparts = f->nparts;
        r->sha256 = f->sha;
        r->if_none_match = u->no_clobber;
        break;
    case TB_OP_MP_ABORT:
        r->upload_id = f->upload_id;
        break;
    default:
        break;
    }
    tb_store_submit(u->store, r);
}

static void schedule(struct up *u)
{
    for (struct file *f = u->head; f && u->busy < u->nslots; f = f->next) {
        if (u->fatal && f->st != F_ABORT) continue;
        if (f->st == F_ABORT) {
            if (f->inflight == 0 && f->next_op == TB_OP_MP_ABORT) { f->next_op = -1; submit(u, f, TB_OP_MP_ABORT, 0); }
            continue;
        }
        if (f->st == F_PARTS) {
            while (f->parts_next < f->nparts && u->busy < u->nslots && !f->failing) {
                tb_err e = {0};
                if (hash_part(u, f, f->parts_next, &e)) { fail_file(u, f, &e); break; }
                submit(u, f, TB_OP_MP_PART, f->parts_next);
                f->parts_next++;
            }
            continue;
        }
        if (f->next_op >= 0 && f->inflight == 0) {
            int op = f->next_op;
            f->next_op = -1;
            submit(u, f, op, 0);
        }
    }
}

/* Drop finished files from the front of the window (output order does not depend on it). */
static void reap(struct up *u, tb_err *errs, int *nerrs)
{
    struct file **pp = &u->head, *prev = NULL;
    while (*pp) {
        struct file *f = *pp;
        if ((f->st == F_DONE || f->st == F_FAILED) && f->inflight == 0) {
            if (f->st == F_FAILED && *nerrs < 64) { errs[*nerrs] = f->err; (*nerrs)++; }
            *pp = f->next;
            if (u->tail == f) u->tail = prev;
            u->nwindow--;
            file_free(f);
            continue;
        }
        prev = f;
        pp = &f->next;
    }
}

static int cmd_upload(int argc, char **argv)
{
    unsigned long long jobs = 8, part_size = 8ull << 20, threshold = 64ull << 20, max_line = TB_MAX_LINE_DEFAULT;
    int no_clobber = 0, delete_after = 0, keep_dirs = 0, force = 0, pmode = TB_PROGRESS_AUTO;
    struct tb_common_cfg co = {0};
    struct tb_store_cfg cfg;
    tb_store_cfg_defaults(&cfg);
    struct tb_optparse p;
    tb_opts_init(&p, &tb_cmd_upload, argc, argv);
    int c, rc;
    while ((c = tb_opts_next(&p)) > 0) {
        switch (c) {
        case OPT_JOBS: if ((rc = tb_opt_u64(&p, &jobs))) goto usage; break;
        case OPT_PART_SIZE: if ((rc = tb_opt_size(&p, &part_size))) goto usage; break;
        case OPT_THRESHOLD: if ((rc = tb_opt_size(&p, &threshold))) goto usage; break;
        case OPT_NO_CLOBBER: no_clobber = 1; break;
        case OPT_FORCE: force = 1; break;
        case OPT_DELETE_AFTER: delete_after = 1; break;
        case OPT_KEEP_DIRS: keep_dirs = 1; break;
        case OPT_MAX_LINE: if ((rc = tb_opt_max_line(&p, &max_line))) goto usage; break;
        case OPT_PROGRESS:
            pmode = tb_progress_parse(p.arg);
            if (pmode < 0) { rc = tb_usage("upload", "--progress: unknown mode '%s' (auto, none, bar, json)", p.arg); goto usage; }
            break;
        default: if ((rc = tb_store_opt(&p, c, &co, &cfg)) == TB_EUSAGE) goto usage; break;
        }
    }
    if (c < 0) { tb_opts_free(&p); return tb_opts_exit(c); }
    if (p.npos < 1) { tb_opts_free(&p); return tb_usage("upload", "missing DEST_PREFIX"); }
    if (jobs < 1 || jobs > 256) { tb_opts_free(&p); return tb_usage("upload", "--jobs must be between 1 and 256"); }
    if (part_size < 1) { tb_opts_free(&p); return tb_usage("upload", "--part-size must be positive"); }
    if (force && no_clobber) { tb_opts_free(&p); return tb_usage("upload", "--force and --no-clobber contradict each other"); }

    signal(SIGPIPE, SIG_IGN); /* a closed stdout or a reset connection is an error, not a death */
    tb_signals_install(on_signal); /* stop gracefully: abort open multipart uploads, exit 75 */
    struct up u;
    memset(&u, 0, sizeof u);
    u.jobs = (int)jobs;
    u.no_clobber = no_clobber;
    u.delete_after = delete_after;
    u.keep_dirs = keep_dirs;
    u.force = force;
    tb_keyset_init(&u.keys);
    u.quiet = co.quiet;
    u.part_size = part_size;
    u.threshold = threshold;
    tb_err e = {0};
    if ((rc = tb_uri_parse(p.pos[0], &u.dest, &e))) { tb_opts_free(&p); return tb_usage("upload", "%s", e.msg); }
    /* (e.msg is ours; p's strings are not used after tb_opts_free) */
    if (u.dest.scheme == TB_URI_HTTP || u.dest.scheme == TB_URI_HTTPS || u.dest.scheme == TB_URI_HF) {
        rc = tb_usage("upload", "cannot upload to %s (read-only location)", p.pos[0]);
        tb_uri_free(&u.dest);
        tb_opts_free(&p);
        return rc;
    }
    cfg.http.max_conns = (int)jobs;
    if ((rc = tb_store_open(&u.store, &u.dest, &cfg, &e))) {
        tb_uri_free(&u.dest);
        tb_opts_free(&p);
        return tb_report("upload", &e);
    }
    if (p.npos > 1) {
        u.args = p.pos + 1;
        u.nargs = p.npos - 1;
        /* files given as arguments are all known: refuse two under one key before sending anything */
        for (int i = 0; i < u.nargs && !rc; i++) {
            struct stat st;
            char *key = NULL, *uri = NULL;
            if (stat(u.args[i], &st) != 0) continue; /* reported in its turn */
            if (!(rc = key_for(&u, u.args[i], &key, &uri, &e))) rc = claim_key(&u, key, uri, (uint64_t)st.st_dev, (uint64_t)st.st_ino, u.args[i], &e);
            else rc = 0; /* reported in its turn */
            free(key);
            free(uri);
        }
        if (rc) {
            tb_keyset_free(&u.keys);
            tb_store_close(u.store);
            tb_uri_free(&u.dest);
            tb_opts_free(&p);
            return tb_report("upload", &e);
        }
    } else {
        tb_src_from_fd(&u.src, 0, 0, "stdin");
        tb_lines_init(&u.lines, &u.src, (size_t)max_line);
        u.have_lines = 1;
    }
    u.nslots = (int)jobs;
    u.slots = calloc((size_t)u.nslots, sizeof *u.slots);
    u.bufsz = 1 << 20;
    u.buf = malloc(u.bufsz);
    if (!u.slots || !u.buf) abort();
    tb_progress_init(&u.prog, "upload", tb_common_progress(&co, pmode), "files", "objects");
    list_dest(&u);
    tb_err errs[64];
    int nerrs = 0;

    for (;;) {
        intake(&u);
        int hashing = 0;
        /* keep hashing ahead of the transfers, but not further than the window */
        if (!u.fatal) hashing = hash_some(&u, u.busy < u.nslots ? (16u << 20) : (4u << 20));
        schedule(&u);
        int pending = tb_store_perform(u.store, hashing ? 0 : 100);
        reap(&u, errs, &nerrs);
        u.prog.bytes = tb_http_bytes_sent(u.store->http);
        if (u.prog.bytes < u.bytes_done) u.prog.bytes = u.bytes_done; /* file:// stores send no HTTP */
        u.prog.retries = tb_http_retries(u.store->http);
        tb_progress_tick(&u.prog);
        if (interrupted && !u.fatal) {
            u.fatal = TB_ETEMPFAIL;
            tb_fail(&u.fatal_err, TB_ETEMPFAIL, "interrupted by signal %d: open multipart uploads aborted; "
                    "re-run to send what is missing", (int)interrupted);
        }
        if (u.fatal) {
            /* stop: cancel what is in flight (aborting created multipart uploads), then leave */
            for (int i = 0; i < u.nslots; i++) {
                struct slot *sl = &u.slots[i];
                if (!sl->busy || sl->r.op == TB_OP_MP_ABORT) continue;
                tb_store_cancel(u.store, &sl->r);
                tb_store_req_clear(&sl->r);
                sl->busy = 0;
                u.busy--;
                sl->f->inflight--;
            }
            int any = 0;
            for (struct file *f = u.head; f; f = f->next) {
                if (f->upload_id[0] && f->st != F_ABORT) { f->st = F_ABORT; f->next_op = TB_OP_MP_ABORT; }
                if (f->st == F_ABORT) any = 1;
            }
            if (!any && u.busy == 0) break;
            if (u.busy == 0 && any) schedule(&u);
            if (pending == 0 && u.busy == 0 && !any) break;
            continue;
        }
        if (u.input_done && !u.head && u.busy == 0) break;
    }
    tb_progress_end(&u.prog);
    for (int i = 0; i < nerrs && !u.fatal; i++) tb_report("upload", &errs[i]);
    if (u.failed > (uint64_t)nerrs && !u.fatal) fprintf(stderr, "trainbox upload: ... and %llu more failures\n", (unsigned long long)(u.failed - (uint64_t)nerrs));

    int ret = 0;
    if (u.fatal) ret = tb_report("upload", &u.fatal_err);
    else if (u.failed) {
        if (u.data_err) ret = TB_EDATA;
        else if (u.ok == 0 && u.fail_code > 0) ret = u.fail_code;
        else ret = TB_EPARTIAL;
        fprintf(stderr, "trainbox upload: %llu of %llu files failed\n", (unsigned long long)u.failed,
                (unsigned long long)(u.failed + u.ok));
    }
    /* Files given as arguments and plain path lines are whole by construction; records are whole
     * only up to their trailer. An empty stdin is no proof of anything: the stage before may have
     * died before printing. Whatever was received is stored either way; only the trailer is withheld. */
    if (!u.fatal && u.in_err.code) {
        ret = tb_report("upload", &u.in_err);
    } else if (!u.fatal && !u.args && !u.in_trailer && (u.in_records || u.in_lines == 0)) {
        fprintf(stderr, "trainbox upload: input ended without a trailer: the stage before failed or was killed; "
                        "%llu files stored, no trailer written\n", (unsigned long long)u.ok);
        if (!ret) ret = TB_EPARTIAL;
    } else if (!ret) {
        tb_err te = {0};
        if (tb_trailer_write(stdout, u.ok, &te)) ret = tb_report("upload", &te);
    }
    for (struct file *f = u.head, *n; f; f = n) { n = f->next; file_free(f); }
    for (size_t i = 0; i < u.have.n; i++) free(u.have.keys[i]);
    free(u.have.keys);
    free(u.slots);
    free(u.buf);
    tb_keyset_free(&u.keys);
    if (u.have_lines) { tb_lines_free(&u.lines); tb_src_close(&u.src); }
    tb_store_close(u.store);
    tb_uri_free(&u.dest);
    tb_opts_free(&p);
    return ret;
usage:
    tb_opts_free(&p);
    return rc;
}
