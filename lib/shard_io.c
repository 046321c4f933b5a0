/* shardio: ustar/pax writing, libarchive compression filters and tar reading. */
#include "shard_io.h"
#include "alloc.h"
#include "gunzip.h"
#include "ndjson.h"
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WBUF (1u << 20)
#define WPIECE (128u << 10)
#define PAX_NAME "././@PaxHeader"

static uint64_t round512(uint64_t n) { return (n + 511) & ~(uint64_t)511; }

static size_t ndigits(size_t v)
{
    size_t d = 1;
    while (v >= 10) { v /= 10; d++; }
    return d;
}

/* Length of the pax record "LEN path=NAME\n", whose LEN counts its own digits. */
static size_t pax_path_len(size_t namelen)
{
    size_t base = 1 + 5 + namelen + 1;
    size_t d = ndigits(base);
    if (ndigits(base + d) > d) d++;
    return base + d;
}

uint64_t tb_tar_member_size(size_t namelen, uint64_t datalen)
{
    uint64_t n = 512 + round512(datalen);
    if (namelen > 100) n += 512 + round512(pax_path_len(namelen));
    return n;
}

static void octal(unsigned char *f, size_t width, unsigned long long v)
{
    /* width-1 zero-padded octal digits and a NUL, as GNU tar and Python's tarfile write them */
    f[width - 1] = 0;
    for (size_t i = width - 1; i > 0; i--) { f[i - 1] = (unsigned char)('0' + (v & 7)); v >>= 3; }
}

void tb_tar_header(unsigned char h[512], const char *name, size_t namelen, uint64_t size, long long mtime, char type)
{
    memset(h, 0, 512);
    memcpy(h, name, namelen > 100 ? 100 : namelen);
    octal(h + 100, 8, 0644);
    octal(h + 108, 8, 0);
    octal(h + 116, 8, 0);
    octal(h + 124, 12, size);
    octal(h + 136, 12, (unsigned long long)mtime);
    memset(h + 148, ' ', 8);
    h[156] = (unsigned char)type;
    memcpy(h + 257, "ustar", 6);
    memcpy(h + 263, "00", 2);
    octal(h + 329, 8, 0);
    octal(h + 337, 8, 0);
    unsigned sum = 0;
    for (int i = 0; i < 512; i++) sum += h[i];
    octal(h + 148, 7, sum);
    h[155] = ' ';
}

static int write_all(int fd, const void *p, size_t n, const char *name, tb_err *e)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return tb_fail_errno(e, 0, "write to %s failed", name);
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Writer thread: start writeback of every WRITEBACK bytes as they are written, so the fsync at
 * the end of the shard (on the main thread, which waits for it) finds little left to write: a
 * 46 MB shard's fsync stalled the pipeline for tens of milliseconds each time otherwise. */
#define WRITEBACK (8u << 20)
static void written(struct tb_tarw *w, size_t n)
{
    uint64_t before = w->out_bytes;
    w->out_bytes += n;
    if (w->out_bytes / WRITEBACK != before / WRITEBACK) {
        uint64_t end = w->out_bytes / WRITEBACK * WRITEBACK;
        sync_file_range(w->fd, (off_t)w->synced, (off_t)(end - w->synced), SYNC_FILE_RANGE_WRITE);
        w->synced = end;
    }
}

static la_ssize_t arc_write_cb(struct archive *a, void *client, const void *buf, size_t n)
{
    (void)a;
    struct tb_tarw *w = client;
    tb_digest_update(w->dg, buf, n);
    int r = write_all(w->fd, buf, n, w->name, &w->werr);
    if (r) return -1;
    written(w, n);
    return (la_ssize_t)n;
}

/* Writer thread side: push tar bytes to the file (directly, or through the compression filter).
 * Hashing, compressing and the write syscalls run here, beside the parsing on the main thread. */
static int emit(struct tb_tarw *w, const void *p, size_t n)
{
    if (n == 0) return 0;
    if (!w->arc) {
        /* hash and write in cache-sized pieces: the two digests and the kernel's copy then read
         * each piece from cache instead of memory */
        const unsigned char *c = p;
        while (n > 0) {
            size_t k = n < WPIECE ? n : WPIECE;
            tb_digest_update(w->dg, c, k);
            int r = write_all(w->fd, c, k, w->name, &w->werr);
            if (r) return r;
            written(w, k);
            c += k;
            n -= k;
        }
        return 0;
    }
    const char *c = p;
    while (n > 0) {
        la_ssize_t k = archive_write_data(w->arc, c, n);
        if (k < 0) {
            if (w->werr.code) return w->werr.code;
            return tb_fail(&w->werr, TB_EIO, "compressing %s failed: %s", w->name, archive_error_string(w->arc));
        }
        c += k;
        n -= (size_t)k;
    }
    return 0;
}

static void *writer_main(void *arg)
{
    struct tb_tarw *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (w->count == 0 && !w->stop) pthread_cond_wait(&w->cv, &w->mu);
        if (w->count == 0) break;
        int slot = w->head;
        int failed = w->werr.code != 0;
        pthread_mutex_unlock(&w->mu);
        if (!failed) emit(w, w->bufs[slot], w->lens[slot]); /* after a failure: drain, keep nothing */
        pthread_mutex_lock(&w->mu);
        w->head = (w->head + 1) % TB_TARW_NBUF;
        w->count--;
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* Main thread: hand the filled buffer to the writer, take the next free one. */
static int flush(struct tb_tarw *w, tb_err *e)
{
    if (w->n == 0) return 0;
    pthread_mutex_lock(&w->mu);
    w->lens[w->fill] = w->n;
    w->count++;
    pthread_cond_broadcast(&w->cv);
    while (w->count == TB_TARW_NBUF) pthread_cond_wait(&w->cv, &w->mu);
    int code = w->werr.code;
    pthread_mutex_unlock(&w->mu);
    w->fill = (w->fill + 1) % TB_TARW_NBUF;
    w->buf = w->bufs[w->fill];
    w->n = 0;
    if (code) { *e = w->werr; return code; }
    return 0;
}

static int append(struct tb_tarw *w, const void *p, size_t n, tb_err *e)
{
    const char *c = p;
    w->tar_bytes += n;
    while (n > 0) {
        if (w->n == w->cap) {
            int r = flush(w, e);
            if (r) return r;
        }
        size_t k = w->cap - w->n < n ? w->cap - w->n : n;
        memcpy(w->buf + w->n, c, k);
        w->n += k;
        c += k;
        n -= k;
    }
    return 0;
}

static int zeros(struct tb_tarw *w, size_t n, tb_err *e)
{
    static const unsigned char z[512];
    while (n > 0) {
        size_t k = n > sizeof z ? sizeof z : n;
        int r = append(w, z, k, e);
        if (r) return r;
        n -= k;
    }
    return 0;
}

/* Stop and join the writer thread once it has written everything handed to it. */
static void writer_stop(struct tb_tarw *w)
{
    if (!w->running) return;
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    w->running = 0;
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
}

int tb_tarw_open(struct tb_tarw *w, int fd, const char *name, int compress, long long mtime, struct tb_digest *dg, tb_err *e)
{
    memset(w, 0, sizeof *w);
    w->fd = fd;
    w->dg = dg;
    w->mtime = mtime;
    snprintf(w->name, sizeof w->name, "%s", name);
    w->cap = WBUF;
    for (int i = 0; i < TB_TARW_NBUF; i++) {
        w->bufs[i] = tb_xmalloc(w->cap);
    }
    w->buf = w->bufs[0];
    if (compress != TB_COMPRESS_NONE) {
        struct archive *a = archive_write_new();
        if (!a) tb_oom(0); /* libarchive fails only for memory here */
        w->arc = a;
        int r = compress == TB_COMPRESS_GZIP ? archive_write_add_filter_gzip(a) : archive_write_add_filter_zstd(a);
        /* no timestamp in the gzip header: the same input must give the same bytes */
        if (r == ARCHIVE_OK && compress == TB_COMPRESS_GZIP) r = archive_write_set_filter_option(a, "gzip", "timestamp", NULL);
        if (r == ARCHIVE_OK) r = archive_write_set_format_raw(a);
        if (r == ARCHIVE_OK) r = archive_write_set_bytes_per_block(a, 1 << 16);
        if (r == ARCHIVE_OK) r = archive_write_set_bytes_in_last_block(a, 1);
        if (r == ARCHIVE_OK) r = archive_write_open2(a, w, NULL, arc_write_cb, NULL, NULL);
        if (r == ARCHIVE_OK) {
            struct archive_entry *ent = archive_entry_new();
            archive_entry_set_pathname(ent, "shard.tar");
            archive_entry_set_filetype(ent, AE_IFREG);
            archive_entry_set_perm(ent, 0644);
            r = archive_write_header(a, ent);
            archive_entry_free(ent);
        }
        if (r != ARCHIVE_OK) {
            int c = w->werr.code ? (*e = w->werr, w->werr.code)
                                 : tb_fail(e, TB_ESOFTWARE, "cannot set up compression for %s: %s", name, archive_error_string(a));
            tb_tarw_free(w);
            return c;
        }
    }
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->cv);
        tb_tarw_free(w);
        return tb_fail(e, TB_ESOFTWARE, "cannot start the writer thread");
    }
    w->running = 1;
    return 0;
}

int tb_tarw_add(struct tb_tarw *w, const char *key, size_t klen, const char *field, size_t flen,
                const void *data, size_t len, tb_err *e)
{
    unsigned char h[512];
    size_t nl = klen + 1 + flen;
    if (len > 077777777777ull) return tb_fail(e, TB_EDATA, "member %.*s.%.*s is larger than 8 GiB", (int)klen, key, (int)flen, field);
    if (nl > 100) {
        /* pax extended header carrying the full name; the ustar name field keeps its first 100 bytes */
        size_t pl = pax_path_len(nl);
        tb_tar_header(h, PAX_NAME, strlen(PAX_NAME), pl, w->mtime, 'x');
        char num[24];
        int dn = snprintf(num, sizeof num, "%zu path=", pl);
        int r = append(w, h, 512, e);
        if (!r) r = append(w, num, (size_t)dn, e);
        if (!r) r = append(w, key, klen, e);
        if (!r) r = append(w, ".", 1, e);
        if (!r) r = append(w, field, flen, e);
        if (!r) r = append(w, "\n", 1, e);
        if (!r) r = zeros(w, round512(pl) - pl, e);
        if (r) return r;
    }
    char name[100];
    size_t k = klen < 100 ? klen : 100;
    memcpy(name, key, k);
    size_t n = k;
    if (n < 100) name[n++] = '.';
    if (n < 100) { size_t f = flen < 100 - n ? flen : 100 - n; memcpy(name + n, field, f); n += f; }
    tb_tar_header(h, name, n, len, w->mtime, '0');
    int r = append(w, h, 512, e);
    if (!r) r = append(w, data, len, e);
    if (!r) r = zeros(w, round512(len) - len, e);
    return r;
}

int tb_tarw_finish(struct tb_tarw *w, uint64_t *bytes, char sha256[65], char md5[33], tb_err *e)
{
    int r = zeros(w, TB_TAR_TRAILER, e);
    if (!r) r = flush(w, e);
    writer_stop(w);
    if (!r && w->werr.code) { *e = w->werr; r = w->werr.code; }
    if (!r && w->arc && archive_write_close(w->arc) != ARCHIVE_OK) {
        if (w->werr.code) { *e = w->werr; r = w->werr.code; }
        else r = tb_fail(e, TB_EIO, "compressing %s failed: %s", w->name, archive_error_string(w->arc));
    }
    if (r) return r;
    tb_digest_final(w->dg, sha256, md5);
    *bytes = w->out_bytes;
    return 0;
}

void tb_tarw_free(struct tb_tarw *w)
{
    writer_stop(w);
    if (w->arc) archive_write_free(w->arc);
    w->arc = NULL;
    for (int i = 0; i < TB_TARW_NBUF; i++) { free(w->bufs[i]); w->bufs[i] = NULL; }
    w->buf = NULL;
}

/* ---- reading ---- */

#define RBUF (1u << 16)

static la_ssize_t arc_read_cb(struct archive *a, void *client, const void **buf)
{
    (void)a;
    struct tb_tarr *r = client;
    if (r->npre) {
        memcpy(r->rbuf, r->pre, r->npre);
        *buf = r->rbuf;
        la_ssize_t n = (la_ssize_t)r->npre;
        r->npre = 0;
        return n;
    }
    ssize_t n = tb_src_read(r->in ? r->in : r->src, r->rbuf, RBUF, &r->cb_err);
    if (n < 0) { r->cb_failed = 1; archive_set_error(a, EIO, "%s", r->cb_err.msg); return -1; }
    *buf = r->rbuf;
    return n;
}

static ssize_t fwd_read(void *ctx, void *buf, size_t n, tb_err *e)
{
    return tb_src_read(ctx, buf, n, e);
}

int tb_tarr_open(struct tb_tarr *r, struct tb_src *src, tb_err *e)
{
    memset(r, 0, sizeof *r);
    r->src = r->in = src;
    r->max_member = TB_MAX_LINE_DEFAULT;
    /* gzip goes through lib/gunzip rather than libarchive's filter: that one never checks the
     * CRC32 and ISIZE trailer (a tar reader stops at the end-of-archive blocks before it anyway) */
    while (r->npre < 2) {
        ssize_t k = tb_src_read(src, r->pre + r->npre, 2 - r->npre, e);
        if (k < 0) return e && e->code ? e->code : TB_EIO;
        if (k == 0) break;
        r->npre += (size_t)k;
    }
    if (r->npre == 2 && r->pre[0] == 0x1f && r->pre[1] == 0x8b) {
        struct tb_src view = {.ctx = src, .read = fwd_read, .close = NULL}; /* src stays the caller's */
        snprintf(view.name, sizeof view.name, "%s", src->name);
        int c = tb_gunzip_open(&r->dec, &view, r->pre, r->npre, TB_GUNZIP_AUTO, e);
        if (c) return c;
        r->in = &r->dec;
        r->npre = 0;
    }
    r->rbuf = tb_xmalloc(RBUF);
    struct archive *a = archive_read_new();
    if (!a) tb_oom(0); /* libarchive fails only for memory here */
    r->arc = a;
    archive_read_support_filter_zstd(a);
    archive_read_support_format_tar(a);
    if (archive_read_open(a, r, NULL, arc_read_cb, NULL) != ARCHIVE_OK) {
        int c = r->cb_failed ? tb_fail(e, r->cb_err.code, "%s", r->cb_err.msg)
                             : tb_fail(e, TB_EDATA, "%s: not a tar shard: %s", src->name, archive_error_string(a));
        tb_tarr_close(r);
        return c;
    }
    return 0;
}

static int unsafe_name(const char *n)
{
    if (n[0] == '/') return 1;
    for (const char *c = n; *c;) {
        const char *s = strchr(c, '/');
        size_t l = s ? (size_t)(s - c) : strlen(c);
        if (l == 2 && c[0] == '.' && c[1] == '.') return 1;
        if (!s) break;
        c = s + 1;
    }
    return 0;
}

static int read_fail(struct tb_tarr *r, uint64_t off, tb_err *e)
{
    struct archive *a = r->arc;
    if (r->cb_failed) return tb_fail(e, r->cb_err.code, "%s", r->cb_err.msg);
    const char *why = archive_error_string(a);
    return tb_fail(e, TB_EDATA, "%s: truncated or corrupt shard at byte %llu: %s", r->src->name,
                   (unsigned long long)off, why ? why : "unknown error");
}

/* After the end-of-archive blocks of a gzip shard: read the rest of it, so lib/gunzip checks its
 * CRC32 and ISIZE (a tar's padding is at most a few KiB; a stream going on for a MiB is refused
 * rather than inflated to its end). */
static int drain_dec(struct tb_tarr *r, tb_err *e)
{
    uint64_t left = 1u << 20;
    for (;;) {
        ssize_t k = tb_src_read(&r->dec, r->rbuf, RBUF, e);
        if (k < 0) {
            if (!strstr(e->msg, r->src->name)) tb_err_wrap(e, "%s", r->src->name);
            return -1;
        }
        if (k == 0) return 0;
        if ((uint64_t)k > left) {
            tb_fail(e, TB_EDATA, "%s: more than 1 MiB of data after the end-of-archive blocks", r->src->name);
            return -1;
        }
        left -= (uint64_t)k;
    }
}

int tb_tarr_next(struct tb_tarr *r, const char **name, const unsigned char **data, size_t *len, uint64_t *offset, tb_err *e)
{
    struct archive *a = r->arc;
    for (;;) {
        struct archive_entry *ent;
        int64_t before = archive_filter_bytes(a, 0);
        int rc = archive_read_next_header(a, &ent);
        if (rc == ARCHIVE_EOF) {
            /* libarchive takes a stream that stops right after a member as a normal end (some
             * writers omit the zero blocks); a shard always has them, so their absence means the
             * file was cut at a member boundary and its last sample may be missing members */
            if (archive_filter_bytes(a, 0) == before && !r->cb_failed) {
                tb_fail(e, TB_EDATA, "%s: truncated shard at byte %lld: no end-of-archive blocks", r->src->name, (long long)before);
                return -1;
            }
            return r->in == &r->dec ? drain_dec(r, e) : 0;
        }
        if (rc == ARCHIVE_RETRY || rc < ARCHIVE_WARN) return read_fail(r, (uint64_t)(before < 0 ? 0 : before), e), -1;
        int64_t hpos = archive_read_header_position(a);
        unsigned ft = archive_entry_filetype(ent);
        if (ft == AE_IFDIR) continue; /* tar of a directory tree; WebDataset's readers skip them too */
        const char *n = archive_entry_pathname(ent);
        if (!n) n = archive_entry_pathname_utf8(ent);
        if (!n) { tb_fail(e, TB_EDATA, "%s: member name at byte %lld cannot be read", r->src->name, (long long)hpos); return -1; }
        const char *kind = archive_entry_hardlink(ent) ? "a hard link"
                           : ft == AE_IFREG        ? NULL
                           : ft == AE_IFLNK        ? "a symlink"
                           : ft == AE_IFCHR || ft == AE_IFBLK ? "a device"
                           : ft == AE_IFIFO        ? "a fifo"
                                                   : "not a regular file";
        if (kind) {
            tb_fail(e, TB_EDATA, "%s: member '%.200s' at byte %lld is %s: a shard holds regular files only",
                    r->src->name, n, (long long)hpos, kind);
            return -1;
        }
        if (unsafe_name(n)) {
            tb_fail(e, TB_EDATA, "%s: unsafe member name '%.200s' at byte %lld ('..' or leading '/')", r->src->name, n, (long long)hpos);
            return -1;
        }
        int64_t size = archive_entry_size_is_set(ent) ? archive_entry_size(ent) : 0;
        if (size < 0) { tb_fail(e, TB_EDATA, "%s: member '%.200s' has a bad size", r->src->name, n); return -1; }
        if ((uint64_t)size > r->max_member) {
            /* held whole, then printed inside one sample line: refused before it is read */
            tb_fail(e, TB_EDATA, "%s: member '%.200s' at byte %lld is %lld bytes, more than a sample line may hold "
                    "(--max-line %llu)", r->src->name, n, (long long)hpos, (long long)size,
                    (unsigned long long)r->max_member);
            return -1;
        }
        tb_xgrow_n(&r->data, &r->cap, (size_t)size + 1, 1, 65536);
        size_t got = 0;
        while (got < (size_t)size) {
            la_ssize_t k = archive_read_data(a, r->data + got, (size_t)size - got);
            if (k < 0) return read_fail(r, (uint64_t)hpos, e), -1;
            if (k == 0) {
                tb_fail(e, TB_EDATA, "%s: truncated or corrupt shard at byte %lld: member '%.200s' ends early",
                        r->src->name, (long long)hpos, n);
                return -1;
            }
            got += (size_t)k;
        }
        /* reach the end of the entry, so the stream position (for error messages) is exact */
        unsigned char one;
        la_ssize_t k = archive_read_data(a, &one, 1);
        if (k < 0) return read_fail(r, (uint64_t)hpos, e), -1;
        *name = n;
        *data = r->data;
        *len = got;
        *offset = (uint64_t)hpos;
        return 1;
    }
}

void tb_tarr_close(struct tb_tarr *r)
{
    if (r->arc) archive_read_free(r->arc);
    r->arc = NULL;
    if (r->in == &r->dec) tb_src_close(&r->dec);
    r->in = NULL;
    free(r->rbuf);
    free(r->data);
    r->rbuf = r->data = NULL;
}

/* ---- decompressing source ---- */

/* zstd (and bytes passed through unchanged) by libarchive; gzip by lib/gunzip */
struct dz {
    struct tb_tarr t; /* reuses the read callback plumbing */
    struct tb_src in;
    unsigned char pre[8]; /* the bytes peeked at, handed to libarchive first */
    size_t npre;
    int started, done;
};

static la_ssize_t dz_read_cb(struct archive *a, void *client, const void **buf)
{
    struct dz *z = client;
    if (z->npre) {
        size_t n = z->npre;
        z->npre = 0;
        *buf = z->pre;
        return (la_ssize_t)n;
    }
    return arc_read_cb(a, &z->t, buf);
}

static ssize_t dz_read(void *ctx, void *buf, size_t n, tb_err *e)
{
    struct dz *z = ctx;
    struct archive *a = z->t.arc;
    if (z->done) return 0;
    if (!z->started) {
        struct archive_entry *ent;
        int rc = archive_read_next_header(a, &ent);
        z->started = 1;
        if (rc == ARCHIVE_EOF) { z->done = 1; return 0; }
        if (rc < ARCHIVE_WARN) goto fail;
    }
    la_ssize_t k = archive_read_data(a, buf, n);
    if (k < 0) goto fail;
    if (k == 0) z->done = 1;
    return k;
fail:
    if (z->t.cb_failed) tb_fail(e, z->t.cb_err.code, "%s", z->t.cb_err.msg);
    else tb_fail(e, TB_EDATA, "cannot decompress %s: %s", z->in.name, archive_error_string(a));
    return -1;
}

static void dz_close(void *ctx)
{
    struct dz *z = ctx;
    tb_tarr_close(&z->t);
    tb_src_close(&z->in);
    free(z);
}

int tb_src_decompress(struct tb_src *out, struct tb_src *in, tb_err *e)
{
    /* the magic says which decoder: read 4 bytes (zstd's magic; gzip's is 2), or up to the end */
    unsigned char pre[8];
    size_t npre = 0;
    while (npre < 4) {
        ssize_t k = tb_src_read(in, pre + npre, 4 - npre, e);
        if (k < 0) return e ? e->code : TB_EIO;
        if (k == 0) break;
        npre += (size_t)k;
    }
    if (npre >= 2 && pre[0] == 0x1f && pre[1] == 0x8b) return tb_gunzip_open(out, in, pre, npre, TB_GUNZIP_AUTO, e);
    struct dz *z = tb_xcalloc(1, sizeof *z);
    z->in = *in;
    memcpy(z->pre, pre, npre);
    z->npre = npre;
    z->t.src = &z->in;
    z->t.rbuf = tb_xmalloc(RBUF);
    struct archive *a = archive_read_new();
    if (!a) tb_oom(0); /* libarchive fails only for memory here */
    z->t.arc = a;
    archive_read_support_filter_zstd(a);
    archive_read_support_format_raw(a);
    archive_read_support_format_empty(a);
    if (archive_read_open(a, z, NULL, dz_read_cb, NULL) != ARCHIVE_OK) {
        int c = z->t.cb_failed ? tb_fail(e, z->t.cb_err.code, "%s", z->t.cb_err.msg)
                               : tb_fail(e, TB_EDATA, "cannot decompress %s: %s", in->name, archive_error_string(a));
        z->in.close = NULL; /* the caller still owns in on failure */
        dz_close(z);
        return c;
    }
    out->ctx = z;
    out->read = dz_read;
    out->close = dz_close;
    snprintf(out->name, sizeof out->name, "%s", in->name);
    in->ctx = NULL;
    in->close = NULL;
    return 0;
}
