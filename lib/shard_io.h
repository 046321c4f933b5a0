/* shardio: writing and reading WebDataset tar shards, and decompressing byte sources.
 *
 * Writing: the tar stream is built here, header by header, because the contract (DESIGN.md
 * "Shards") asks for more than libarchive's writers give: plain ustar whenever the name fits the
 * 100-byte name field, whatever bytes it holds, and a pax header only for longer names.
 * libarchive's pax writer puts a pax header on every non-ASCII name, uses the ustar prefix field
 * (which wids does not read) for 101..255-byte names, and its output depends on the locale (3.6.2
 * crashes on a UTF-8 name in the C locale). So libarchive only does what it is good at here: the
 * gzip and zstd filters (its "raw" format carries our tar bytes through them). Every byte that
 * reaches the file also goes through one SHA-256 + MD5 pass, so a record costs no second read.
 *
 * Reading: libarchive's tar reader (ustar, pax, GNU) over any tb_src, with gzip/zstd detected. */
#ifndef TB_SHARDIO_H
#define TB_SHARDIO_H
#include "err.h"
#include "hash.h"
#include "src.h"
#include <pthread.h>
#include <stdint.h>

enum tb_compress { TB_COMPRESS_NONE = 0, TB_COMPRESS_GZIP = 1, TB_COMPRESS_ZSTD = 2 };

#define TB_TARW_NBUF 4

struct tb_tarw {
    int fd;
    char name[512];          /* for messages */
    struct tb_digest *dg;    /* owned by the caller, reset by tb_tarw_finish */
    /* the main thread fills bufs[fill]; a writer thread hashes, compresses and writes the
     * filled ones (count of them, from head), so parsing and I/O overlap on two cores */
    unsigned char *bufs[TB_TARW_NBUF];
    size_t lens[TB_TARW_NBUF];
    int fill, head, count, stop, running;
    unsigned char *buf;      /* == bufs[fill] */
    size_t n, cap;
    uint64_t tar_bytes;      /* uncompressed tar bytes so far */
    uint64_t out_bytes;      /* bytes written to fd (writer thread) */
    uint64_t synced;         /* writeback started up to here (writer thread) */
    long long mtime;
    void *arc;               /* struct archive * when compressing (writer thread) */
    tb_err werr;             /* the writer thread's first error */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

/* Bytes one member adds to the tar stream (pax header included when the name needs one). */
uint64_t tb_tar_member_size(size_t namelen, uint64_t datalen);
/* Bytes that close a tar stream. */
#define TB_TAR_TRAILER 1024
/* Build the 512-byte ustar header of a regular file (name must be <= 100 bytes). */
void tb_tar_header(unsigned char h[512], const char *name, size_t namelen, uint64_t size, long long mtime, char type);

int tb_tarw_open(struct tb_tarw *w, int fd, const char *name, int compress, long long mtime, struct tb_digest *dg, tb_err *e);
/* Add member KEY.FIELD with the given bytes. */
int tb_tarw_add(struct tb_tarw *w, const char *key, size_t klen, const char *field, size_t flen,
                const void *data, size_t len, tb_err *e);
/* Write the trailer, flush every filter, and report size and digests of the file's bytes. Does not
 * fsync or close fd. */
int tb_tarw_finish(struct tb_tarw *w, uint64_t *bytes, char sha256[65], char md5[33], tb_err *e);
/* Release everything (after finish, or to abandon a shard). */
void tb_tarw_free(struct tb_tarw *w);

/* Reading members of a tar stream (possibly gzip/zstd compressed). */
struct tb_tarr {
    void *arc;
    struct tb_src *src;       /* the shard's bytes as given (names the shard in messages) */
    struct tb_src *in;        /* what libarchive reads: src, or dec */
    struct tb_src dec;        /* a gzip shard through lib/gunzip (CRC32 and ISIZE checked) */
    unsigned char pre[4];     /* bytes peeked at for the magic, handed to libarchive first */
    size_t npre;
    unsigned char *rbuf;      /* read-callback buffer */
    unsigned char *data;      /* the current member's bytes (reused) */
    size_t cap;
    uint64_t max_member;      /* a bigger member is refused (TB_EDATA) before a byte of it is held;
                               * tb_tarr_open sets TB_MAX_LINE_DEFAULT, the caller may change it */
    tb_err cb_err;
    int cb_failed;
};
int tb_tarr_open(struct tb_tarr *r, struct tb_src *src, tb_err *e);
/* Next regular-file member. Returns 1 with name (NUL-terminated, valid until the next call), its
 * bytes and the offset of its header in the uncompressed stream; 0 at the end (a gzip shard read
 * to its end, so its CRC is checked); -1 on error with *e naming the source and the offset where
 * the stream broke (TB_EDATA for corrupt or truncated data, for unsafe names with a '..' component
 * or a leading '/', for members that are links, devices or fifos (directories are skipped), and for
 * members over max_member; TB_EIO for read errors). */
int tb_tarr_next(struct tb_tarr *r, const char **name, const unsigned char **data, size_t *len, uint64_t *offset, tb_err *e);
void tb_tarr_close(struct tb_tarr *r);

/* A source that yields in's bytes gunzipped or un-zstd'ed (detected from the data; other bytes
 * pass through unchanged). gzip (magic 1f 8b) is decoded by lib/gunzip (ISA-L or zlib), zstd by
 * libarchive. out takes ownership of in: closing out closes in; on failure the caller still owns
 * in. */
int tb_src_decompress(struct tb_src *out, struct tb_src *in, tb_err *e);
#endif
