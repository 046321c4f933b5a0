/* xfer: the one transfer engine. Parallel, retried, verified uploads, downloads, copies and deletes
 * over the store interface (lib/store.h), on the store's one libcurl multi handle; used by upload,
 * and by sync and remote cat to come.
 *
 * Jobs in, completion callbacks out:
 *
 *     tb_xfer_open(&x, store, &cfg);
 *     tb_xfer_add(x, &job);                 // any time; the caller keeps job alive until done
 *     while (tb_xfer_step(x, 100) > 0) ...  // hashes, sends, calls cfg.done(cfg.ud, job) once per job
 *     tb_xfer_close(x);
 *
 * Per kind (the rules upload has always had):
 *   UPLOAD  hash pass (lib/hash's tb_digests: whole sha256, and the per-part digests the store wants)
 *           -> HEAD (already stored with the same size and sha256, and no TB_XFER_FORCE? skipped;
 *           no HEAD at all with TB_XFER_KNOWN_ABSENT) -> PUT, or create + parts + complete above
 *           cfg.threshold -> HEAD to verify (size, sha256 metadata, want_md5 against an MD5 ETag).
 *           A 412 (If-None-Match) or a 404 NoSuchUpload to a retried PUT/complete lets the verifying
 *           HEAD decide: the first attempt may have landed. Any failure after a multipart upload was
 *           created aborts it. Each part's digests come from the hash pass, which ends before the
 *           create: should the file change after it, the store refuses the part (S3 signs its hash).
 *   DOWNLOAD HEAD -> GET (resumed by lib/http after a broken connection) into "<path>.partial"
 *           (lib/atomic: registered with lib/cleanup, so an interrupt removes it), sha256 on the
 *           way -> verified against the object's size and its sha256 metadata when the store keeps
 *           one (and want_sha256/want_bytes when given) -> mtime set -> fsync, rename into place.
 *           Nothing ever appears under path unless verified.
 *   COPY    src_key -> key: for now streamed through this machine (a DOWNLOAD into an unnamed temp
 *           file, then an UPLOAD of it); copy_start() in xfer.c is the one place a server-side copy
 *           will plug in.
 *   DELETE  key (a missing object is not an error).
 * Retries and backoff live in lib/http. Credentials refused (77), or a missing bucket or container
 * (73, not for file stores) stop everything: nothing new starts, requests in flight are cancelled,
 * open multipart uploads are aborted, then every job left is finished with that error.
 * tb_xfer_stop / tb_xfer_interrupt do the same on the caller's word (an output failed, a signal).
 *
 * Memory: one request slot per cfg.jobs, one 1 MiB hashing buffer, and per job its part table;
 * bodies are read from their files by libcurl's read callback (pread), never buffered whole. */
#ifndef TB_XFER_H
#define TB_XFER_H
#include "err.h"
#include "store.h"
#include <stdint.h>
#include <time.h>

struct tb_progress;

enum tb_xfer_kind { TB_XFER_UPLOAD, TB_XFER_DOWNLOAD, TB_XFER_COPY, TB_XFER_DELETE };

enum {
    TB_XFER_FORCE = 1,        /* send even when the object looks current (same size and sha256) */
    TB_XFER_NO_CLOBBER = 2,   /* refuse to replace an existing object with different content */
    TB_XFER_KNOWN_ABSENT = 4, /* a listing proved key absent: skip the HEAD before sending */
    TB_XFER_TRUST_STORE = 8,  /* no verifying HEAD after an upload the store checked itself: a PUT or
                               * complete answered 2xx at its first attempt by a store that checks each
                               * body against its signed SHA-256 (caps.signs_body: S3 answers a body
                               * that differs 400 XAmzContentSHA256Mismatch). A retried request is
                               * still verified: its first attempt may have landed differently. */
};

struct tb_xfer_job {
    /* ---- inputs (the strings must outlive the job) */
    enum tb_xfer_kind kind;
    const char *key;          /* the object: uploaded, downloaded, deleted, or COPY's destination */
    const char *src_key;      /* COPY: the source object */
    const char *path;         /* UPLOAD: the local file; DOWNLOAD: where the object goes */
    int fd;                   /* UPLOAD: path already open (read, not closed, by the engine); -1: open path */
    const char *want_sha256;  /* a record's sha256 (hex), or NULL: the bytes must have it */
    int64_t want_bytes;       /* a record's size, or -1 */
    const char *want_md5;     /* UPLOAD: a record's md5 (hex), checked against a single PUT's ETag
                               * where the store's ETag is the MD5 (caps.etag_is_md5); or NULL */
    const char *meta_mtime;   /* UPLOAD/COPY: stored as the object's mtime metadata, or NULL
                               * (COPY: NULL keeps the source's) */
    const struct timespec *mtime; /* DOWNLOAD: set on the file before it is renamed into place, or NULL */
    unsigned flags;           /* TB_XFER_*, or'ed with cfg.flags */
    void *ud;                 /* the caller's */
    /* ---- outputs, valid in cfg.done */
    int status;               /* 0 or an exit code (enum tb_exit) */
    tb_err err;
    int skipped;              /* UPLOAD: already stored with the same size and sha256; nothing sent */
    int mismatch;             /* the bytes did not match want_sha256 / want_bytes (err says which) */
    char etag[160];           /* the stored object's ETag, when the store gives one */
    char sha256[65];          /* the bytes' sha256 (hex) */
    uint64_t size;
};

struct tb_xfer;
typedef void (*tb_xfer_done_fn)(void *ud, struct tb_xfer_job *job);

struct tb_xfer_cfg {
    int jobs;                 /* requests at once, parts of big files included (default 8) */
    uint64_t part_size;       /* multipart part size (default 8 MiB; grown to keep <= max_parts) */
    uint64_t threshold;       /* files above this go up in parts (default 64 MiB) */
    unsigned flags;           /* TB_XFER_FORCE / TB_XFER_NO_CLOBBER for every job */
    tb_xfer_done_fn done;     /* called once per job, from tb_xfer_step (may call tb_xfer_add/stop) */
    void *ud;
    const char *cmd;          /* names warnings ("trainbox CMD: could not abort ..."); default "xfer" */
    int quiet;                /* no warnings */
    struct tb_progress *prog; /* or NULL: each step sets its bytes and retries, then ticks it */
};
void tb_xfer_cfg_defaults(struct tb_xfer_cfg *c);

/* Progress counters. */
struct tb_xfer_stats {
    uint64_t bytes;           /* body bytes sent (at least the bytes of jobs done: local stores send no HTTP) */
    uint64_t retries;         /* retried attempts */
    uint64_t ok, failed;      /* jobs finished each way */
};

void tb_xfer_open(struct tb_xfer **out, struct tb_store *store, const struct tb_xfer_cfg *cfg);
/* Finishes nothing: jobs still open are dropped without their done callback (call after the last step). */
void tb_xfer_close(struct tb_xfer *x);
/* Queue a job (its outputs are cleared). After a stop it is finished at the next step with the stop's error. */
void tb_xfer_add(struct tb_xfer *x, struct tb_xfer_job *job);
/* One round: hash a slice, start what free slots allow, drive transfers for up to timeout_ms (not
 * at all while hashing remains), call done of finished jobs. Returns the jobs not yet done. */
int tb_xfer_step(struct tb_xfer *x, int timeout_ms);
/* Jobs added and not yet done. */
int tb_xfer_pending(const struct tb_xfer *x);
/* Stop everything (the error of the first stop is kept): as on a fatal error. */
void tb_xfer_stop(struct tb_xfer *x, const tb_err *why);
/* A signal: stop with 75, "interrupted by signal N: open multipart uploads aborted; ...". */
void tb_xfer_interrupt(struct tb_xfer *x, int sig);
/* The error that stopped everything (code 0: none). */
const tb_err *tb_xfer_fatal(const struct tb_xfer *x);
void tb_xfer_stats(const struct tb_xfer *x, struct tb_xfer_stats *st);

/* What one listing of a destination prefix proved absent: a job whose key is provably absent can
 * take TB_XFER_KNOWN_ABSENT, saving the HEAD that checks for an identical object (a third of the
 * requests of a fresh upload). Bounded: at most TB_XFER_LIST_MAX keys; beyond the last one listed,
 * HEAD decides. */
#define TB_XFER_LIST_MAX 10000
struct tb_xfer_listing {
    char **keys;   /* in the store's (byte) order */
    size_t n, cap;
    int ok;        /* the listing succeeded */
    int complete;  /* every key under the prefix is in keys */
};
/* List the keys under prefix once. Any failure just disables the shortcut (moto, for one, refuses
 * listings with '/' while checking signatures): returns the listing's status, for a caller that
 * stops on TB_EUNAVAIL (unreachable after every retry: no point trying each job). */
int tb_xfer_list(struct tb_store *s, const char *prefix, struct tb_xfer_listing *l, tb_err *e);
/* The same for the prefix a destination URI names (DEST_PREFIX: a "directory" ending in '/' or a
 * key prefix); a file store is not listed (its HEADs cost no round trip): returns 0, l->ok unset. */
int tb_xfer_list_dest(struct tb_store *s, const struct tb_uri *dest, struct tb_xfer_listing *l, tb_err *e);
/* Is key certainly not in the store, per the listing? */
int tb_xfer_absent(const struct tb_xfer_listing *l, const char *key);
void tb_xfer_listing_free(struct tb_xfer_listing *l);

/* The key a local file takes under the prefix dest names (a malloc'd string in *key): dest + its
 * basename, or with keep_dirs dest + its path relative to the cwd, which it must not leave (64). */
int tb_xfer_key_for(const struct tb_uri *dest, const char *path, int keep_dirs, char **key, tb_err *e);

/* The outcome of many jobs, reported the one way (DESIGN.md's exit codes): each failure on a line of
 * its own (the first 64, then how many more), "F of N UNIT failed", and the exit code: 65 when an
 * input did not match what its record promised, the code every failure shares when none succeeded,
 * else 1 (some failed, the rest done). */
struct tb_xfer_tally {
    uint64_t ok, failed;
    int code;                 /* the code all failures share; -1 when they differ; 0: none yet */
    int data;                 /* an input did not match its record (or two inputs took one key): 65 */
    int nerrs;
    tb_err errs[64];
};
void tb_xfer_tally_fail(struct tb_xfer_tally *t, const tb_err *e);
/* Print the failures ("trainbox CMD: ...") and return the exit code (0 when none failed). */
int tb_xfer_tally_report(const struct tb_xfer_tally *t, const char *cmd, const char *unit);
#endif
