/* src_remote: a tb_src (lib/src.h) over one store object, streamed by a GET on the store's multi
 * handle: cat decodes an http(s) URL or a bucket object exactly as it decodes a local file.
 *
 * Pull model, no thread: read() drives tb_store_perform until the bounded buffer (1 MiB) holds
 * bytes; when it is full the GET's sink answers CURL_WRITEFUNC_PAUSE and read() unpauses it once
 * the buffer has drained to half. A slow consumer therefore holds the connection still (TCP flow
 * control) instead of buffering the object; the store stays single-threaded as lib/store expects,
 * and nothing needs a lock. (A reader thread would overlap download and decode; that is the next
 * step, when the cache and prefetch of issue 14 come.) A file store's GET completes inside
 * prepare() and cannot pause: its object is buffered whole (callers read files with
 * tb_src_open_file).
 *
 * Resumes: lib/http retries a GET that dropped mid-body from the byte it reached (a Range request;
 * the http backend adds If-Range; S3 and Azure send If-Match with the first response's ETag, so a
 * replaced object is refused with 412 before a byte of it comes), and skips the bytes already delivered when a server answers the
 * resume with 200. Whatever the backend, every attempt's response is checked here before a byte of
 * it is kept: its ETag (else its Last-Modified) must be the first response's, a 206 must start at
 * the byte reached, and a server that gave neither validator cannot be resumed safely. A changed
 * object fails with 65 (TB_EDATA: the bytes would be a splice of two objects); a resume that cannot
 * be checked fails with 69. At the end the bytes read must be the size the first response
 * announced (65 otherwise). */
#ifndef TB_SRC_REMOTE_H
#define TB_SRC_REMOTE_H
#include "src.h"
#include "store.h"
#include <stdint.h>

/* Open key of store s for streaming. own_store: closing the source closes s. Returns once the first
 * bytes, the end or a failure came in, so a missing object is 66 here, refused credentials 77, an
 * unreachable store 69 (after the retries). On failure s is closed when own_store. */
int tb_src_open_store(struct tb_src *out, struct tb_store *s, const char *key, int own_store, tb_err *e);

/* ---- the checks, pure (for tests) */

/* What a response's header block ("HTTP/1.1 206 ...\r\nName: v\r\n...") says about the object. */
struct tb_resp_meta {
    int status;
    char etag[160];        /* as sent, quotes included ("" when none) */
    char last_modified[64];
    int ranged;            /* a Content-Range with a start was given */
    uint64_t range_start;
    int64_t total;         /* the object's size: Content-Range's total, else a 200's Content-Length; -1 unknown */
};
void tb_resp_meta_parse(const char *hdrs, struct tb_resp_meta *m);
/* Is the response `now` to a resume from byte pos the continuation of the object `first` described?
 * 0, or 65 (changed, or a 206 at another byte) / 69 (no validator to check) with e filled. */
int tb_resp_meta_resume_ok(const struct tb_resp_meta *first, const struct tb_resp_meta *now, uint64_t pos, tb_err *e);
#endif
