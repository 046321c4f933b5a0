/* xfer: the transfer engine (see xfer.h): the per-job state machines, the request slots, the
 * hashing pass sliced between libcurl polls, verification, and stopping (cancel, abort multipart
 * uploads) on a fatal error or the caller's word. */
#include "xfer.h"
#include "alloc.h"
#include "atomic.h"
#include "hash.h"
#include "progress.h"
#include <limits.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

enum xst {
    X_HASH, X_HEAD, X_PUT, X_CREATE, X_PARTS, X_COMPLETE, X_VERIFY, X_ABORT, /* uploads */
    X_GET_HEAD, X_GET,                                                       /* downloads, COPY's first half */
    X_COPY,                                                                  /* a server-side COPY */
    X_DELETE, X_DONE, X_FAILED,
};

struct xf {
    struct xf *next;
    struct tb_xfer_job *job;
    unsigned flags;
    char *uri;               /* the object's URI, for messages */
    char *src_uri;           /* COPY: the source's */
    const char *name;        /* what is read, for messages: the local path, or COPY's source URI */
    enum xst st;
    int next_op;             /* op to submit when a slot frees, -1: none */
    int inflight;
    int fd, own_fd;
    uint64_t size;
    /* upload */
    struct tb_digests dg;
    int dg_on;
    const char *want_sha256; /* the job's, or for COPY the sha256 of the bytes fetched */
    const char *meta_mtime;
    int multipart;
    uint64_t part_size;
    int nparts, parts_next, parts_done;
    struct tb_store_part *parts;
    char upload_id[256];
    int failing;             /* a request failed: send nothing new, abort when idle */
    tb_err verify_err;       /* why we are verifying instead of trusting a success (412/404 after retries) */
    /* download (and COPY's first half) */
    struct tb_obj_info obj;  /* the HEAD's answer */
    struct tb_afile af;      /* DOWNLOAD: "<path>.partial" */
    FILE *out;               /* where GET's bytes go: af.fp, or tmp */
    FILE *tmp;               /* COPY: the unnamed temp file the source comes down into */
    struct tb_digests got;
    int got_on;
    uint64_t received;
    int sink_err;            /* 1: more bytes than the object has; 2: the write failed (errno in sink_errno) */
    int sink_errno;
    int uploading;           /* COPY: in its second half */
};

struct slot {
    struct tb_store_req r;
    struct xf *f;
    int part;                /* index for MP_PART */
    int busy;
    struct tb_xfer *x;
};

struct tb_xfer {
    struct tb_store *store;
    struct tb_store_caps caps;
    struct tb_xfer_cfg cfg;
    struct slot *slots;
    int nslots, busy;
    struct xf *head, *tail;  /* the jobs not yet done, in the order they came */
    int n;
    unsigned char *buf;      /* hashing buffer */
    size_t bufsz;
    tb_err fatal;            /* what stopped everything (code 0: running) */
    uint64_t ok, failed, bytes_done;
};

void tb_xfer_cfg_defaults(struct tb_xfer_cfg *c)
{
    memset(c, 0, sizeof *c);
    c->jobs = 8;
    c->part_size = 8ull << 20;
    c->threshold = 64ull << 20;
}

void tb_xfer_open(struct tb_xfer **out, struct tb_store *store, const struct tb_xfer_cfg *cfg)
{
    struct tb_xfer *x = tb_xcalloc(1, sizeof *x);
    x->store = store;
    tb_store_caps(store, &x->caps);
    if (cfg) x->cfg = *cfg;
    else tb_xfer_cfg_defaults(&x->cfg);
    if (x->cfg.jobs < 1) x->cfg.jobs = 1;
    if (x->cfg.part_size < 1) x->cfg.part_size = 1;
    x->nslots = x->cfg.jobs;
    x->slots = tb_xcalloc((size_t)x->nslots, sizeof *x->slots);
    x->bufsz = 1 << 20;
    x->buf = tb_xmalloc(x->bufsz);
    *out = x;
}

static void xf_free(struct xf *f)
{
    if (f->own_fd && f->fd >= 0) close(f->fd);
    if (f->af.tmp) tb_afile_abort(&f->af); /* an unfinished download leaves nothing behind */
    if (f->tmp) fclose(f->tmp);            /* unnamed: closing removes it */
    if (f->dg_on) tb_digests_free(&f->dg);
    if (f->got_on) tb_digests_free(&f->got);
    free(f->parts);
    free(f->uri);
    free(f->src_uri);
    free(f);
}

void tb_xfer_close(struct tb_xfer *x)
{
    if (!x) return;
    for (int i = 0; i < x->nslots; i++) {
        struct slot *sl = &x->slots[i];
        if (!sl->busy) continue;
        tb_store_cancel(x->store, &sl->r);
        tb_store_req_clear(&sl->r);
    }
    for (struct xf *f = x->head, *n; f; f = n) { n = f->next; xf_free(f); }
    free(x->slots);
    free(x->buf);
    free(x);
}

int tb_xfer_pending(const struct tb_xfer *x) { return x->n; }
const tb_err *tb_xfer_fatal(const struct tb_xfer *x) { return &x->fatal; }

void tb_xfer_stats(const struct tb_xfer *x, struct tb_xfer_stats *st)
{
    struct tb_store_stats ss;
    tb_store_stats(x->store, &ss);
    st->bytes = ss.bytes_sent < x->bytes_done ? x->bytes_done : ss.bytes_sent; /* file:// stores send no HTTP */
    st->retries = ss.retries;
    st->ok = x->ok;
    st->failed = x->failed;
}

/* ---- outcomes */

static void job_ok(struct tb_xfer *x, struct xf *f)
{
    f->st = X_DONE;
    x->ok++;
    x->bytes_done += f->size;
}

static void job_fail(struct tb_xfer *x, struct xf *f, const tb_err *e)
{
    f->job->err = *e;
    if (!f->job->err.code) f->job->err.code = TB_ESOFTWARE;
    if (f->upload_id[0] && f->st != X_ABORT) {
        /* never leave an orphaned multipart upload: abort once the job's requests are idle */
        f->failing = 1;
        f->st = X_ABORT;
        f->next_op = TB_OP_MP_ABORT;
        return;
    }
    f->st = X_FAILED;
    x->failed++;
}

/* Plan parts: all equal but the last, at most max_parts, each within the store's limits. */
static void plan_parts(struct tb_xfer *x, struct xf *f)
{
    const struct tb_store_caps *c = &x->caps;
    uint64_t ps = x->cfg.part_size;
    if (ps < c->min_part) ps = c->min_part;
    uint64_t maxp = (uint64_t)(c->max_parts > 10000 || c->max_parts <= 0 ? 10000 : c->max_parts);
    if ((f->size + ps - 1) / ps > maxp) {
        ps = (f->size + maxp - 1) / maxp;
        ps = (ps + (1u << 20) - 1) & ~(uint64_t)((1u << 20) - 1); /* whole MiB */
    }
    if (c->max_part && ps > c->max_part) ps = c->max_part;
    f->part_size = ps;
    f->nparts = (int)((f->size + ps - 1) / ps);
    if (f->nparts < 1) f->nparts = 1;
    f->parts = tb_xcalloc((size_t)f->nparts, sizeof *f->parts);
    for (int i = 0; i < f->nparts; i++) f->parts[i].num = i + 1;
}

/* The upload of f->fd (f->size bytes) to job->key: plan and start the hash pass. Only the digests
 * some request carries: per part when the store signs (S3) or checks (Azure) each body, the whole
 * body's MD5 for a single Put Blob on Azure (a multipart upload sends its parts' instead). */
static void upload_begin(struct tb_xfer *x, struct xf *f)
{
    unsigned dig = 0;
    if (f->size > x->cfg.threshold) {
        f->multipart = 1;
        plan_parts(x, f);
        if (x->caps.signs_body) dig |= TB_DIG_PART_SHA256;
        if (x->caps.wants_md5) dig |= TB_DIG_PART_MD5;
    } else if (x->caps.wants_md5) {
        dig |= TB_DIG_MD5;
    }
    tb_digests_init(&f->dg, f->size, f->part_size, f->nparts, dig);
    f->dg_on = 1;
    f->st = X_HASH;
}

static int upload_open(struct tb_xfer *x, struct xf *f, tb_err *e)
{
    struct tb_xfer_job *j = f->job;
    f->name = j->path;
    f->fd = j->fd;
    if (f->fd < 0) {
        f->fd = open(j->path, O_RDONLY | O_CLOEXEC);
        if (f->fd < 0) return tb_fail_errno(e, 0, "open %s", j->path);
        f->own_fd = 1;
    }
    struct stat st;
    if (fstat(f->fd, &st) != 0 || !S_ISREG(st.st_mode)) return tb_fail(e, TB_ENOINPUT, "%s is not a regular file", j->path);
    f->size = (uint64_t)st.st_size;
    if (j->want_bytes >= 0 && (uint64_t)j->want_bytes != f->size) {
        j->mismatch = 1;
        return tb_fail(e, TB_EDATA, "%s: %llu bytes, but %lld were expected", j->path, (unsigned long long)f->size,
                       (long long)j->want_bytes);
    }
    f->want_sha256 = j->want_sha256;
    f->meta_mtime = j->meta_mtime;
    upload_begin(x, f);
    return 0;
}

/* COPY: the source's HEAD first. Then, when the store copies objects of its size itself
 * (caps.copy_max), one TB_OP_COPY and the verifying HEAD; otherwise the source comes down into an
 * unnamed temp file, verified, and goes up as an upload (get_begin). */
static void copy_start(struct xf *f)
{
    f->name = f->src_uri;
    f->st = X_GET_HEAD;
    f->next_op = TB_OP_HEAD;
}

/* ---- the hash pass */

/* Hash up to `budget` bytes of the first job still being hashed. Returns 1 if there was one. */
static int hash_some(struct tb_xfer *x, size_t budget)
{
    struct xf *f = x->head;
    while (f && f->st != X_HASH) f = f->next;
    if (!f) return 0;
    size_t done = 0;
    while (done < budget && !tb_digests_done(&f->dg)) {
        size_t want = x->bufsz;
        if (f->size - f->dg.pos < want) want = (size_t)(f->size - f->dg.pos);
        ssize_t n = pread(f->fd, x->buf, want, (off_t)f->dg.pos);
        if (n <= 0) {
            tb_err e;
            if (n < 0) tb_fail_errno(&e, 0, "read %s", f->name);
            else tb_fail(&e, TB_EDATA, "%s shrank while being read", f->name);
            job_fail(x, f, &e);
            return 1;
        }
        tb_digests_update(&f->dg, x->buf, (size_t)n);
        done += (size_t)n;
    }
    if (!tb_digests_done(&f->dg)) return 1;
    snprintf(f->job->sha256, sizeof f->job->sha256, "%s", f->dg.sha256);
    if (f->want_sha256 && strcmp(f->want_sha256, f->dg.sha256) != 0) {
        tb_err e;
        tb_fail(&e, TB_EDATA, "%s: sha256 %s does not match the expected %s", f->name, f->dg.sha256, f->want_sha256);
        f->job->mismatch = 1;
        job_fail(x, f, &e);
        return 1;
    }
    if (f->flags & TB_XFER_KNOWN_ABSENT) {
        f->st = f->multipart ? X_CREATE : X_PUT;
        f->next_op = f->multipart ? TB_OP_MP_CREATE : TB_OP_PUT;
    } else {
        f->st = X_HEAD;
        f->next_op = TB_OP_HEAD;
    }
    return 1;
}

/* ---- downloads */

static size_t get_sink(void *ud, const void *p, size_t n)
{
    struct xf *f = ud;
    if (n > f->obj.size - f->received) { f->sink_err = 1; return 0; }
    if (fwrite(p, 1, n, f->out) != n) { f->sink_err = 2; f->sink_errno = errno; return 0; }
    tb_digests_update(&f->got, p, n);
    f->received += n;
    return n;
}

/* The HEAD before a GET said what to expect: open where the bytes go. */
static void get_begin(struct tb_xfer *x, struct xf *f, const struct tb_obj_info *info)
{
    tb_err e = {0};
    const char *what = f->job->kind == TB_XFER_COPY ? f->src_uri : f->uri;
    if (!info->exists) {
        tb_fail(&e, TB_ENOINPUT, "%s: no such object", what);
        job_fail(x, f, &e);
        return;
    }
    f->obj = *info;
    f->obj.key = NULL;
    if (f->job->kind == TB_XFER_COPY && x->caps.copy_max && info->size <= x->caps.copy_max) {
        /* the store copies it: nothing passes through here; the destination is then verified
         * against the source's size and sha256 */
        f->size = info->size;
        snprintf(f->dg.sha256, sizeof f->dg.sha256, "%s", info->sha256);
        snprintf(f->job->sha256, sizeof f->job->sha256, "%s", info->sha256);
        f->uploading = 1; /* from here on its requests name the destination */
        f->st = X_COPY;
        f->next_op = TB_OP_COPY;
        return;
    }
    if (f->job->kind == TB_XFER_DOWNLOAD) {
        if (tb_afile_open(&f->af, f->job->path, ".partial", &e)) { job_fail(x, f, &e); return; }
        f->out = f->af.fp;
    } else {
        f->out = f->tmp = tmpfile();
        if (!f->tmp) { tb_fail_errno(&e, TB_EIO, "a temp file for copying %s", what); job_fail(x, f, &e); return; }
    }
    tb_digests_init(&f->got, f->obj.size, 0, 0, 0);
    f->got_on = 1;
    f->st = X_GET;
    f->next_op = TB_OP_GET;
}

/* Every byte arrived: check them, then publish the file (DOWNLOAD) or send it on (COPY). */
static void get_end(struct tb_xfer *x, struct xf *f)
{
    struct tb_xfer_job *j = f->job;
    const char *what = j->kind == TB_XFER_COPY ? f->src_uri : f->uri;
    tb_err e = {0};
    snprintf(j->sha256, sizeof j->sha256, "%s", f->got.sha256);
    f->size = f->received;
    if (f->received != f->obj.size || !tb_digests_done(&f->got)) {
        tb_fail(&e, TB_EUNAVAIL, "%s: %llu bytes received, the object has %llu", what, (unsigned long long)f->received,
                (unsigned long long)f->obj.size);
    } else if (f->obj.sha256[0] && strcmp(f->obj.sha256, f->got.sha256) != 0) {
        tb_fail(&e, TB_EUNAVAIL, "%s: the bytes received have sha256 %s, its sha256 metadata says %s", what, f->got.sha256, f->obj.sha256);
    } else if (j->want_bytes >= 0 && (uint64_t)j->want_bytes != f->received) {
        j->mismatch = 1;
        tb_fail(&e, TB_EDATA, "%s: %llu bytes, but %lld were expected", what, (unsigned long long)f->received, (long long)j->want_bytes);
    } else if (j->want_sha256 && strcmp(j->want_sha256, f->got.sha256) != 0) {
        j->mismatch = 1;
        tb_fail(&e, TB_EDATA, "%s: sha256 %s does not match the expected %s", what, f->got.sha256, j->want_sha256);
    } else if (fflush(f->out) != 0) {
        tb_fail_errno(&e, TB_EIO, "writing %s", j->kind == TB_XFER_DOWNLOAD ? f->af.tmp : "a temp file");
    }
    if (e.code) { job_fail(x, f, &e); return; }
    snprintf(j->etag, sizeof j->etag, "%s", f->obj.etag);
    if (j->kind == TB_XFER_DOWNLOAD) {
        /* after the last write (fflush above), or the write would move the mtime again */
        struct timespec ts[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
        if (j->mtime) ts[1] = *j->mtime;
        if (j->mtime && futimens(f->af.fd, ts) != 0) {
            tb_fail_errno(&e, TB_EIO, "setting the mtime of %s", f->af.tmp);
        } else if (!tb_afile_commit(&f->af, &e)) {
            job_ok(x, f);
            return;
        }
        job_fail(x, f, &e);
        return;
    }
    /* COPY: the verified temp goes up under the destination key, by the upload rules */
    f->uploading = 1;
    f->fd = fileno(f->out);
    f->size = f->received;
    f->want_sha256 = j->sha256;
    f->meta_mtime = j->meta_mtime ? j->meta_mtime : f->obj.meta_mtime[0] ? f->obj.meta_mtime : NULL;
    upload_begin(x, f);
}

/* ---- completion of one request */

static void verify(struct tb_xfer *x, struct xf *f, const struct tb_obj_info *in)
{
    const struct tb_xfer_job *j = f->job;
    const char *why = NULL;
    if (!in->exists) why = "the object is missing";
    else if (in->size != f->size) why = "its size differs";
    else if (in->sha256[0] && strcmp(in->sha256, f->dg.sha256) != 0) why = "its sha256 metadata differs";
    else if (!f->multipart && x->caps.etag_is_md5 && j->want_md5 && j->want_md5[0] && in->etag[0] && !strchr(in->etag, '-') &&
             strcasecmp(in->etag, j->want_md5) != 0)
        why = "its ETag is not the record's md5";
    tb_err e;
    if (why && f->verify_err.code) {
        job_fail(x, f, &f->verify_err);
    } else if (why) {
        tb_fail(&e, TB_EUNAVAIL, "verifying %s after the upload: %s", f->uri, why);
        job_fail(x, f, &e);
    } else {
        if (in->etag[0]) snprintf(f->job->etag, sizeof f->job->etag, "%s", in->etag);
        job_ok(x, f);
    }
}

/* The HEAD before sending: already there with the same bytes? */
static void head_answer(struct tb_xfer *x, struct xf *f, const struct tb_obj_info *in)
{
    tb_err e;
    if (!(f->flags & TB_XFER_FORCE) && in->exists && in->size == f->size && strcmp(in->sha256, f->dg.sha256) == 0) {
        snprintf(f->job->etag, sizeof f->job->etag, "%s", in->etag);
        f->job->skipped = 1;
        job_ok(x, f);
    } else if (in->exists && (f->flags & TB_XFER_NO_CLOBBER)) {
        tb_fail(&e, TB_EDATA, "%s exists with different content and --no-clobber refuses to replace it", f->uri);
        job_fail(x, f, &e);
    } else if (f->multipart) {
        f->st = X_CREATE;
        f->next_op = TB_OP_MP_CREATE;
    } else {
        f->st = X_PUT;
        f->next_op = TB_OP_PUT;
    }
}

/* TB_XFER_TRUST_STORE: this upload was checked by the store as it arrived (see xfer.h). */
static int trusted(const struct tb_xfer *x, const struct xf *f, const struct tb_store_req *r)
{
    return (f->flags & TB_XFER_TRUST_STORE) && x->caps.signs_body && r->retries == 0 && r->info.etag[0] &&
           !f->uploading; /* a COPY's upload half came from a temp file we verified, but keep its HEAD */
}

static void slot_done(struct tb_store_req *r)
{
    struct slot *sl = r->ud;
    struct tb_xfer *x = sl->x;
    struct xf *f = sl->f;
    struct tb_xfer_job *j = f->job;
    sl->busy = 0;
    x->busy--;
    f->inflight--;
    if ((r->status == TB_ENOPERM || (r->status == TB_ECANTCREAT && !x->caps.local)) && !x->fatal.code) {
        /* credentials refused, or the bucket/container is missing: stop at once, nothing will work */
        x->fatal = r->err;
        x->fatal.code = r->status;
    }
    if (f->st == X_ABORT) {
        if (r->op == TB_OP_MP_ABORT) {
            if (r->status && !x->cfg.quiet) tb_warn(x->cfg.cmd ? x->cfg.cmd : "xfer", "could not abort the multipart upload of %s: %s", f->uri, r->err.msg);
            f->upload_id[0] = 0;
            tb_err e = j->err;
            job_fail(x, f, &e);
        } else if (r->op == TB_OP_MP_PART && !r->status) {
            f->parts[sl->part].etag[0] = 0;
        }
        tb_store_req_clear(r);
        return;
    }
    /* A retried PUT/complete whose first attempt did land answers 412 (If-None-Match) or 404
     * NoSuchUpload: the object may well be ours, so let the verifying HEAD decide. */
    if (r->status && !x->fatal.code &&
        ((r->precond_failed && (r->op == TB_OP_PUT || r->op == TB_OP_MP_COMPLETE)) ||
         (r->op == TB_OP_MP_COMPLETE && r->status == TB_ENOINPUT && r->attempts > 1))) {
        if (r->op == TB_OP_MP_COMPLETE) f->upload_id[0] = 0;
        f->verify_err = r->err;
        f->st = X_VERIFY;
        f->next_op = TB_OP_HEAD;
        tb_store_req_clear(r);
        return;
    }
    if (r->status && !(r->op == TB_OP_HEAD && f->st == X_HEAD && r->status == TB_ENOINPUT)) {
        tb_err e = r->err;
        if (r->op == TB_OP_GET && f->sink_err == 1)
            tb_fail(&e, TB_EUNAVAIL, "%s grew while being read (more than the %llu bytes it had)", f->name ? f->name : f->uri,
                    (unsigned long long)f->obj.size);
        else if (r->op == TB_OP_GET && f->sink_err == 2) {
            errno = f->sink_errno;
            tb_fail_errno(&e, TB_EIO, "writing %s", f->af.tmp ? f->af.tmp : "a temp file");
        }
        tb_store_req_clear(r);
        job_fail(x, f, &e);
        return;
    }
    switch (r->op) {
    case TB_OP_HEAD:
        if (f->st == X_HEAD) head_answer(x, f, &r->info);
        else if (f->st == X_GET_HEAD) get_begin(x, f, &r->info);
        else verify(x, f, &r->info);
        break;
    case TB_OP_GET: get_end(x, f); break;
    case TB_OP_DELETE: job_ok(x, f); break;
    case TB_OP_MP_CREATE:
        snprintf(f->upload_id, sizeof f->upload_id, "%s", r->upload_id_out);
        f->st = X_PARTS;
        break;
    case TB_OP_MP_PART:
        snprintf(f->parts[sl->part].etag, sizeof f->parts[sl->part].etag, "%s", r->part_etag);
        if (f->dg.part_sha256) snprintf(f->parts[sl->part].sha256, sizeof f->parts[sl->part].sha256, "%s", f->dg.part_sha256[sl->part]);
        if (++f->parts_done == f->nparts) { f->st = X_COMPLETE; f->next_op = TB_OP_MP_COMPLETE; }
        break;
    case TB_OP_MP_COMPLETE:
        f->upload_id[0] = 0; /* completed: nothing to abort any more */
        /* fall through */
    case TB_OP_PUT:
    case TB_OP_COPY: /* the object is written: verify it */
        snprintf(j->etag, sizeof j->etag, "%s", r->info.etag);
        if (trusted(x, f, r)) { job_ok(x, f); break; }
        f->st = X_VERIFY;
        f->next_op = TB_OP_HEAD;
        break;
    default:
        break;
    }
    tb_store_req_clear(r);
}

/* ---- scheduling */

static struct slot *free_slot(struct tb_xfer *x)
{
    for (int i = 0; i < x->nslots; i++) if (!x->slots[i].busy) return &x->slots[i];
    return NULL;
}

static void submit(struct tb_xfer *x, struct xf *f, int op, int part)
{
    struct slot *sl = free_slot(x);
    struct tb_store_req *r = &sl->r;
    memset(r, 0, sizeof *r);
    sl->busy = 1;
    sl->f = f;
    sl->part = part;
    sl->x = x;
    x->busy++;
    f->inflight++;
    r->op = op;
    /* COPY reads its source until its upload half */
    r->key = f->job->kind == TB_XFER_COPY && !f->uploading ? f->job->src_key : f->job->key;
    r->done = slot_done;
    r->ud = sl;
    r->body = TB_BODY_NONE;
    int no_clobber = (f->flags & TB_XFER_NO_CLOBBER) != 0;
    switch (op) {
    case TB_OP_GET:
        r->sink = get_sink;
        r->sink_ud = f;
        break;
    case TB_OP_PUT:
        r->body = (struct tb_body){f->fd, NULL, 0, f->size};
        r->body_sha256 = f->dg.sha256;
        r->sha256 = f->dg.sha256;
        r->meta_mtime = f->meta_mtime;
        if (f->dg.md5_b64[0]) r->content_md5 = f->dg.md5_b64;
        r->if_none_match = no_clobber;
        break;
    case TB_OP_MP_CREATE:
        r->sha256 = f->dg.sha256;
        r->meta_mtime = f->meta_mtime;
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
        r->body_sha256 = f->dg.part_sha256 ? f->dg.part_sha256[part] : NULL;
        if (f->dg.part_md5_b64) r->content_md5 = f->dg.part_md5_b64[part];
        break;
    }
    case TB_OP_MP_COMPLETE:
        r->upload_id = f->upload_id;
        r->parts = f->parts;
        r->nparts = f->nparts;
        r->sha256 = f->dg.sha256;
        r->if_none_match = no_clobber;
        break;
    case TB_OP_MP_ABORT:
        r->upload_id = f->upload_id;
        break;
    case TB_OP_COPY:
        r->key = f->job->key;
        r->copy_src = f->job->src_key;
        r->meta_mtime = f->job->meta_mtime;
        r->if_none_match = no_clobber;
        break;
    default:
        break;
    }
    tb_store_submit(x->store, r);
}

static void schedule(struct tb_xfer *x)
{
    for (struct xf *f = x->head; f && x->busy < x->nslots; f = f->next) {
        if (x->fatal.code && f->st != X_ABORT) continue;
        if (f->st == X_ABORT) {
            if (f->inflight == 0 && f->next_op == TB_OP_MP_ABORT) { f->next_op = -1; submit(x, f, TB_OP_MP_ABORT, 0); }
            continue;
        }
        if (f->st == X_PARTS) {
            /* each part's digests came from the hash pass, which finished before the create */
            while (f->parts_next < f->nparts && x->busy < x->nslots && !f->failing) {
                submit(x, f, TB_OP_MP_PART, f->parts_next);
                f->parts_next++;
            }
            continue;
        }
        if (f->next_op >= 0 && f->inflight == 0) {
            int op = f->next_op;
            f->next_op = -1;
            submit(x, f, op, 0);
        }
    }
}

/* Hand finished jobs back (after unlinking them all: a done callback may add jobs or stop). */
static void reap(struct tb_xfer *x)
{
    struct xf **pp = &x->head, *prev = NULL, *fin = NULL, **fin_tail = &fin;
    while (*pp) {
        struct xf *f = *pp;
        if ((f->st == X_DONE || f->st == X_FAILED) && f->inflight == 0) {
            *pp = f->next;
            if (x->tail == f) x->tail = prev;
            x->n--;
            f->next = NULL;
            *fin_tail = f;
            fin_tail = &f->next;
            continue;
        }
        prev = f;
        pp = &f->next;
    }
    for (struct xf *f = fin, *n; f; f = n) {
        n = f->next;
        struct tb_xfer_job *j = f->job;
        if (f->st == X_DONE) { j->status = 0; memset(&j->err, 0, sizeof j->err); j->size = f->size; }
        else j->status = j->err.code;
        xf_free(f);
        if (x->cfg.done) x->cfg.done(x->cfg.ud, j);
    }
}

/* While stopped: cancel what is in flight (aborting created multipart uploads are left to finish),
 * abort every multipart upload still open, and once that is over finish every job left. */
static void stop_round(struct tb_xfer *x)
{
    for (int i = 0; i < x->nslots; i++) {
        struct slot *sl = &x->slots[i];
        if (!sl->busy || sl->r.op == TB_OP_MP_ABORT) continue;
        tb_store_cancel(x->store, &sl->r);
        tb_store_req_clear(&sl->r);
        sl->busy = 0;
        x->busy--;
        sl->f->inflight--;
    }
    int any = 0;
    for (struct xf *f = x->head; f; f = f->next) {
        if (f->upload_id[0] && f->st != X_ABORT) {
            if (!f->job->err.code) f->job->err = x->fatal;
            f->st = X_ABORT;
            f->next_op = TB_OP_MP_ABORT;
        }
        if (f->st == X_ABORT) any = 1;
    }
    if (any) {
        if (x->busy == 0) schedule(x);
        return;
    }
    if (x->busy) return;
    for (struct xf *f = x->head; f; f = f->next) {
        if (f->st == X_DONE || f->st == X_FAILED) continue;
        f->job->err = x->fatal;
        f->st = X_FAILED;
        x->failed++;
    }
}

void tb_xfer_add(struct tb_xfer *x, struct tb_xfer_job *job)
{
    job->status = 0;
    memset(&job->err, 0, sizeof job->err);
    job->skipped = job->mismatch = 0;
    job->etag[0] = job->sha256[0] = 0;
    job->size = 0;
    struct xf *f = tb_xcalloc(1, sizeof *f);
    f->job = job;
    f->flags = job->flags | x->cfg.flags;
    f->fd = -1;
    f->next_op = -1;
    f->uri = tb_store_uri(x->store, job->key ? job->key : "");
    if (!f->uri) tb_oom(0);
    if (x->tail) x->tail->next = f;
    else x->head = f;
    x->tail = f;
    x->n++;
    tb_err e = {0};
    if (x->fatal.code) {
        job->err = x->fatal;
        f->st = X_FAILED;
        x->failed++;
        return;
    }
    switch (job->kind) {
    case TB_XFER_UPLOAD:
        if (upload_open(x, f, &e)) job_fail(x, f, &e);
        break;
    case TB_XFER_DOWNLOAD:
        f->name = f->uri;
        f->st = X_GET_HEAD;
        f->next_op = TB_OP_HEAD;
        break;
    case TB_XFER_COPY:
        f->src_uri = tb_store_uri(x->store, job->src_key ? job->src_key : "");
        if (!f->src_uri) tb_oom(0);
        copy_start(f);
        break;
    case TB_XFER_DELETE:
        f->st = X_DELETE;
        f->next_op = TB_OP_DELETE;
        break;
    }
}

int tb_xfer_step(struct tb_xfer *x, int timeout_ms)
{
    int hashing = 0;
    /* keep hashing ahead of the transfers, further while slots are free */
    if (!x->fatal.code) hashing = hash_some(x, x->busy < x->nslots ? (16u << 20) : (4u << 20));
    schedule(x);
    tb_store_perform(x->store, hashing ? 0 : timeout_ms);
    reap(x);
    if (x->fatal.code) {
        stop_round(x);
        reap(x);
    }
    if (x->cfg.prog) {
        struct tb_xfer_stats st;
        tb_xfer_stats(x, &st);
        x->cfg.prog->bytes = st.bytes;
        x->cfg.prog->retries = st.retries;
        tb_progress_tick(x->cfg.prog);
    }
    return x->n;
}

void tb_xfer_stop(struct tb_xfer *x, const tb_err *why)
{
    if (x->fatal.code) return;
    x->fatal = *why;
    if (!x->fatal.code) x->fatal.code = TB_ESOFTWARE;
    stop_round(x);
}

void tb_xfer_interrupt(struct tb_xfer *x, int sig)
{
    tb_err e;
    tb_fail(&e, TB_ETEMPFAIL, "interrupted by signal %d: open multipart uploads aborted; re-run to send what is missing", sig);
    tb_xfer_stop(x, &e);
}

/* ---- the destination listing */

static int list_collect(void *ud, const struct tb_obj_info *info, int is_prefix)
{
    struct tb_xfer_listing *l = ud;
    if (is_prefix) return 0;
    if (l->n == TB_XFER_LIST_MAX) return 2; /* enough: the rest is left to HEAD */
    tb_xgrow_n(&l->keys, &l->cap, l->n + 1, sizeof *l->keys, 256);
    l->keys[l->n++] = tb_xstrdup(info->key);
    return 0;
}

int tb_xfer_list(struct tb_store *s, const char *prefix, struct tb_xfer_listing *l, tb_err *e)
{
    int rc = tb_store_list_all(s, prefix, NULL, list_collect, l, e);
    l->ok = rc == 0 || rc == 2;
    l->complete = rc == 0;
    return rc == 2 ? 0 : rc;
}

int tb_xfer_absent(const struct tb_xfer_listing *l, const char *key)
{
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

int tb_xfer_list_dest(struct tb_store *s, const struct tb_uri *dest, struct tb_xfer_listing *l, tb_err *e)
{
    if (dest->scheme == TB_URI_FILE) return 0;
    struct tb_uri probe;
    if (tb_uri_join(dest, "x", &probe, e)) return 0; /* the prefix is what a name joins to, minus the name */
    char *prefix = tb_xstrdup(tb_store_key_of(&probe));
    tb_uri_free(&probe);
    prefix[strlen(prefix) - 1] = 0;
    int rc = tb_xfer_list(s, prefix, l, e);
    free(prefix);
    return rc;
}

void tb_xfer_listing_free(struct tb_xfer_listing *l)
{
    for (size_t i = 0; i < l->n; i++) free(l->keys[i]);
    free(l->keys);
    memset(l, 0, sizeof *l);
}

/* ---- keys for local files */

int tb_xfer_key_for(const struct tb_uri *dest, const char *path, int keep_dirs, char **key, tb_err *e)
{
    const char *name;
    char rel[PATH_MAX], cwd[PATH_MAX];
    if (keep_dirs) {
        const char *p = path;
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
    int rc = tb_uri_join(dest, name, &obj, e);
    if (rc) return rc;
    *key = tb_xstrdup(tb_store_key_of(&obj));
    tb_uri_free(&obj);
    return 0;
}

/* ---- the tally */

void tb_xfer_tally_fail(struct tb_xfer_tally *t, const tb_err *e)
{
    int code = e->code ? e->code : TB_ESOFTWARE;
    t->failed++;
    if (t->code == 0) t->code = code;
    else if (t->code != code) t->code = -1;
    if (t->nerrs < 64) { t->errs[t->nerrs] = *e; t->errs[t->nerrs++].code = code; }
}

int tb_xfer_tally_report(const struct tb_xfer_tally *t, const char *cmd, const char *unit)
{
    for (int i = 0; i < t->nerrs; i++) tb_report(cmd, &t->errs[i]);
    if (t->failed > (uint64_t)t->nerrs)
        fprintf(stderr, "trainbox %s: ... and %llu more failures\n", cmd, (unsigned long long)(t->failed - (uint64_t)t->nerrs));
    if (!t->failed) return 0;
    fprintf(stderr, "trainbox %s: %llu of %llu %s failed\n", cmd, (unsigned long long)t->failed,
            (unsigned long long)(t->failed + t->ok), unit);
    return t->data ? TB_EDATA : t->ok == 0 && t->code > 0 ? t->code : TB_EPARTIAL;
}
