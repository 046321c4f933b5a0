/* gunzip: a tb_src yielding a gzip stream's decoded bytes, as `gzip -dc` does: concatenated members
 * one after the other, every member's CRC32 and ISIZE checked, zero padding after the last member
 * skipped. A truncated or corrupt stream (anything else after a member included) is TB_EDATA
 * naming the source and the compressed byte where it broke.
 *
 * The decoder is ISA-L's isal_inflate when libisal.so.2 loads (lib/lazy_isal.c; about twice zlib's
 * speed here, bench/gunzip_speed.c), else zlib's inflate. TRAINBOX_GUNZIP=zlib or =isal forces one
 * (tests, benchmarks). lib/shard_io's tb_src_decompress picks this for a stream starting 1f 8b. */
#ifndef TB_GUNZIP_H
#define TB_GUNZIP_H
#include "src.h"

enum tb_gunzip_impl { TB_GUNZIP_AUTO = 0, TB_GUNZIP_ZLIB = 1, TB_GUNZIP_ISAL = 2 };

/* The decoder TRAINBOX_GUNZIP asks for (AUTO: ISA-L when it loads, else zlib), or -1 with *e filled
 * (a value other than zlib/isal: 64; isal asked for and not installed: 69). */
int tb_gunzip_choose(tb_err *e);

/* out yields in's bytes gunzipped. pre[0..npre) are bytes already read from in (a peek at the
 * magic), decoded first. impl: TB_GUNZIP_AUTO (tb_gunzip_choose) or one forced. out takes
 * ownership of in (closing out closes in); on failure the caller still owns in. */
int tb_gunzip_open(struct tb_src *out, struct tb_src *in, const void *pre, size_t npre, int impl, tb_err *e);
/* Which decoder an open gunzip source uses (TB_GUNZIP_ZLIB or TB_GUNZIP_ISAL), for tests. */
int tb_gunzip_impl(const struct tb_src *s);
#endif
