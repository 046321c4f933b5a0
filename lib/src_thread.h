/* src_thread: a tb_src read ahead on a worker thread, so producing bytes (a download, a gzip
 * decode) and consuming them (line scanning, JSON checks) run on two cores.
 *
 * The worker calls in->read into a ring of nbufs buffers of bufsz bytes (bounded: nothing more is
 * read while every buffer is full) and the caller's reads take the bytes in order. Only the worker
 * touches in between tb_src_threaded and close, and close joins it before closing in: a source that
 * must stay on one thread at a time (lib/src_remote's store) is safe behind it. An error of in is
 * delivered after every byte read before it; the end likewise. Closing early (cat --limit) stops the
 * worker after the read it is in returns. */
#ifndef TB_SRC_THREAD_H
#define TB_SRC_THREAD_H
#include "src.h"

/* out reads in ahead on a thread. out takes ownership of in (closing out closes in). Returns 0; if
 * no thread can be started, out is in itself, read on the caller's thread. */
int tb_src_threaded(struct tb_src *out, struct tb_src *in, size_t bufsz, int nbufs, tb_err *e);
#endif
