#!/usr/bin/env python3
"""The hostile-input corpus for tests/badinput.bats, written at test time (nothing big is committed).

    make.py OUTDIR

Writes into OUTDIR (stdlib only):
  ndjson/*.jsonl   sample lines: truncated UTF-8, NUL bytes, a 100 MB line, JSON nested 100,000 deep,
                   duplicate keys, __key__ of every wrong type, unsafe keys
  tar/*.tar        shards whose members are symlinks, hard links, devices, fifos, directories,
                   absolute or '..' paths, or whose size runs past the file's end; truncated and
                   corrupt compressed shards
  bomb/*           a gzip and a zstd bomb (a few MB that inflate to 10 GiB of zeros), as an NDJSON
                   file and as a shard whose one member claims 10 GiB
  records/*.jsonl  record streams (upload's and manifest's input) of bad shapes
  manifest/*.json  manifests of bad shapes
  state/*          state files of garbage (shard's and cat's --state)
  good.jsonl       two well-formed samples (to make valid shards and records from)
Each file's name says what is wrong with it; LIST (OUTDIR/index.tsv) names every file and its kind.
"""
import gzip
import io
import json
import os
import struct
import sys
import tarfile
import zlib

OUT = sys.argv[1]
GIB = 1 << 30
BOMB_SIZE = 10 * GIB          # > 10 GB, the size a bomb inflates to
BIG_LINE = 100 * 1000 * 1000  # the 100 MB line
DEPTH = 100000
index = []


def put(rel, data, kind):
    path = os.path.join(OUT, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        if isinstance(data, (bytes, bytearray)):
            f.write(data)
        else:
            for chunk in data:
                f.write(chunk)
    index.append((rel, kind))


def line(obj):
    return (json.dumps(obj, separators=(",", ":")) + "\n").encode()


GOOD = line({"__key__": "s0", "txt": "hello"}) + line({"__key__": "s1", "txt": "world"})

# ---- NDJSON samples ----
nd = {
    "trunc_utf8_in_string": b'{"__key__":"a","txt":"caf\xc3"}\n',
    "trunc_utf8_at_eof": b'{"__key__":"a","txt":"ok"}\n{"__key__":"b","txt":"\xe2\x82',
    "bad_utf8_overlong": b'{"__key__":"a","txt":"\xc0\xaf"}\n',
    "bad_utf8_surrogate": b'{"__key__":"a","txt":"\xed\xa0\x80"}\n',
    "bad_utf8_in_key": b'{"__key__":"k\xff","txt":"x"}\n',
    "nul_in_string": b'{"__key__":"a","txt":"x\x00y"}\n',
    "nul_between_tokens": b'{"__key__":"a",\x00"txt":"x"}\n',
    "nul_line": b'{"__key__":"a","txt":"x"}\n\x00\x00\x00\n',
    "nul_after_object": b'{"__key__":"a","txt":"x"}\x00\n',
    "deep_array": b'{"__key__":"a","json":' + b"[" * DEPTH + b"]" * DEPTH + b"}\n",
    "deep_object": b'{"__key__":"a","json":' + b'{"a":' * DEPTH + b"1" + b"}" * DEPTH + b"}\n",
    "deep_unclosed": b'{"__key__":"a","json":' + b"[" * DEPTH + b"\n",
    "dup_key_field": b'{"__key__":"a","__key__":"b","txt":"x"}\n',
    "dup_member_field": b'{"__key__":"a","txt":"1","txt":"2"}\n',
    "dup_consecutive_key": line({"__key__": "a", "txt": "1"}) + line({"__key__": "a", "txt": "2"}),
    "key_number": b'{"__key__":12,"txt":"x"}\n',
    "key_null": b'{"__key__":null,"txt":"x"}\n',
    "key_array": b'{"__key__":["a"],"txt":"x"}\n',
    "key_object": b'{"__key__":{"a":"b"},"txt":"x"}\n',
    "key_bool": b'{"__key__":true,"txt":"x"}\n',
    "key_empty": b'{"__key__":"","txt":"x"}\n',
    "key_dotdot": b'{"__key__":"a/../../b","txt":"x"}\n',
    "key_dotdot_lead": b'{"__key__":"../evil","txt":"x"}\n',
    "key_absolute": b'{"__key__":"/etc/evil","txt":"x"}\n',
    "key_nul_escape": b'{"__key__":"a\\u0000b","txt":"x"}\n',
    "key_dot_in_base": b'{"__key__":"dir/a.b","txt":"x"}\n',
    "key_slash_only": b'{"__key__":"/","txt":"x"}\n',
    "field_nul_escape": b'{"__key__":"a","t\\u0000xt":"x"}\n',
    "field_slash": b'{"__key__":"a","../x":"x"}\n',
    "field_empty": b'{"__key__":"a","":"x"}\n',
    "not_object": b'[1,2,3]\n',
    "not_json": b'{"__key__":"a",\n',
    "bad_base64": b'{"__key__":"a","bin":{"$base64":"!!!"}}\n',
}
for name, data in nd.items():
    put("ndjson/%s.jsonl" % name, data, "samples")


def big_line():
    yield b'{"__key__":"big","txt":"'
    chunk = b"x" * (1 << 20)
    left = BIG_LINE
    while left > 0:
        yield chunk[:min(left, len(chunk))]
        left -= len(chunk)
    yield b'"}\n'


put("ndjson/line_100mb.jsonl", big_line(), "samples-big")

# ---- tar shards ----


def tar_of(members, fmt=tarfile.USTAR_FORMAT):
    """members: (TarInfo fields dict, data bytes or None)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        for fields, data in members:
            ti = tarfile.TarInfo(fields.pop("name"))
            ti.mtime = 0
            for k, v in fields.items():
                setattr(ti, k, v)
            if data is not None:
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
            else:
                t.addfile(ti)
    return buf.getvalue()


OK = ({"name": "s0.txt"}, b"hello")
tars = {
    "symlink": [OK, ({"name": "s1.txt", "type": tarfile.SYMTYPE, "linkname": "/etc/passwd"}, None)],
    "symlink_rel": [OK, ({"name": "s1.txt", "type": tarfile.SYMTYPE, "linkname": "../../x"}, None)],
    "hardlink": [OK, ({"name": "s1.txt", "type": tarfile.LNKTYPE, "linkname": "s0.txt"}, None)],
    "hardlink_abs": [OK, ({"name": "s1.txt", "type": tarfile.LNKTYPE, "linkname": "/etc/passwd"}, None)],
    "chardev": [OK, ({"name": "s1.txt", "type": tarfile.CHRTYPE, "devmajor": 1, "devminor": 3}, None)],
    "blockdev": [OK, ({"name": "s1.txt", "type": tarfile.BLKTYPE, "devmajor": 8, "devminor": 0}, None)],
    "fifo": [OK, ({"name": "s1.txt", "type": tarfile.FIFOTYPE}, None)],
    "directory": [OK, ({"name": "s1.txt", "type": tarfile.DIRTYPE}, None)],
    "absolute": [({"name": "/tmp/tb-evil/s0.txt"}, b"evil")],
    "dotdot": [({"name": "../s0.txt"}, b"evil")],
    "dotdot_inner": [({"name": "a/../../s0.txt"}, b"evil")],
    "no_dot": [({"name": "s0"}, b"x")],
    "empty_key": [({"name": ".txt"}, b"x")],
    "nul_pax_name": [],  # written below: a pax path holding a NUL
}
for name, members in tars.items():
    if members:
        put("tar/%s.tar" % name, tar_of([(dict(f), d) for f, d in members]), "shard")


def pax_record(key, val):
    body = b" " + key + b"=" + val + b"\n"
    n = len(body)
    while len(str(n + len(str(n))).encode()) + len(body) != n:
        n = len(str(n).encode()) + len(body)
    return str(len(str(n).encode()) + len(body)).encode() + body


def raw_header(name, size, typeflag=b"0", size_field=None):
    h = bytearray(512)
    h[0:len(name)] = name
    h[100:108] = b"0000644\0"
    h[108:116] = b"0000000\0"
    h[116:124] = b"0000000\0"
    h[124:136] = size_field if size_field is not None else b"%011o\0" % size
    h[136:148] = b"00000000000\0"
    h[156:157] = typeflag
    h[257:263] = b"ustar\0"
    h[263:265] = b"00"
    h[148:156] = b"        "
    h[148:156] = b"%06o\0 " % sum(h)
    return bytes(h)


def pad(b):
    return b + b"\0" * (-len(b) % 512)


# pax path with a NUL in it
rec = pax_record(b"path", b"s0\x00evil.txt")
put("tar/nul_pax_name.tar", raw_header(b"PaxHeader", len(rec), b"x") + pad(rec)
    + raw_header(b"s0.txt", 1) + pad(b"x") + b"\0" * 1024, "shard")
# a member whose size runs 1 MiB past the end of the file
put("tar/size_beyond_eof.tar", raw_header(b"s0.txt", 1 << 20) + pad(b"only this"), "shard")
# a size field of garbage, a bad header checksum
bad = bytearray(raw_header(b"s0.txt", 5))
bad[124:136] = b"zzzzzzzzzzz\0"
put("tar/size_garbage.tar", bytes(bad) + pad(b"hello") + b"\0" * 1024, "shard")
bad = bytearray(raw_header(b"s0.txt", 5))
bad[148:156] = b"0000000\0"
put("tar/bad_checksum.tar", bytes(bad) + pad(b"hello") + b"\0" * 1024, "shard")
# a member of 1 GiB claimed in a base-256 size field, nothing behind it
put("tar/size_base256_huge.tar", raw_header(b"s0.txt", 0, size_field=b"\x80" + b"\0" * 6 + b"\x7f" + b"\xff" * 4)
    + b"\0" * 1024, "shard")
good_tar = tar_of([({"name": "s0.txt"}, b"hello"), ({"name": "s1.txt"}, b"world")])
put("tar/truncated_header.tar", good_tar[:300], "shard")
put("tar/garbage.tar", b"this is not a tar file at all\n" * 40, "shard")
gz = gzip.compress(good_tar, mtime=0)
put("tar/truncated.tar.gz", gz[:len(gz) // 2], "shard")
badcrc = bytearray(gz)
badcrc[-8] ^= 0xFF
put("tar/bad_crc.tar.gz", bytes(badcrc), "shard")
put("tar/gzip_of_garbage.tar.gz", gzip.compress(b"garbage " * 1000, mtime=0), "shard")
put("tar/not_gzip.tar.gz", b"\x1f\x8b\x08\x00garbage", "shard")
gzn = gzip.compress(GOOD, mtime=0)
put("ndjson/truncated.jsonl.gz", gzn[:len(gzn) // 2], "samples")
badcrc = bytearray(gzn)
badcrc[-8] ^= 0xFF
put("ndjson/bad_crc.jsonl.gz", bytes(badcrc), "samples")
put("ndjson/trailing_garbage.jsonl.gz", gzn + b"garbage!", "samples")

# ---- bombs ----


def crc32_zeros(crc, n):
    """zlib.crc32 of n zero bytes continued from crc, by squaring the affine map 'append zeros'."""
    # M maps a CRC to the CRC after 1 MiB of zeros, affine: M(c) = L c ^ M(0)
    unit = 1 << 20
    zero = bytes(unit)
    c0 = zlib.crc32(zero, 0)
    cols = [zlib.crc32(zero, 1 << i) ^ c0 for i in range(32)]

    def apply(m, c):
        cols_, k = m
        r = k
        i = 0
        while c:
            if c & 1:
                r ^= cols_[i]
            c >>= 1
            i += 1
        return r

    def compose(a, b):  # a after b
        return ([apply((a[0], 0), x) for x in b[0]], apply(a, b[1]))
    assert n % unit == 0
    k = n // unit
    m = (cols, c0)
    res = None
    while k:
        if k & 1:
            res = m if res is None else compose(m, res)
        m = compose(m, m)
        k >>= 1
    return apply(res, crc)


def deflate_zeros(prefix, n):
    """Raw deflate blocks: prefix, then n zero bytes (n a multiple of 1 MiB) as one repeated block."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15, 9)
    head = c.compress(prefix) + c.flush(zlib.Z_FULL_FLUSH)
    c = zlib.compressobj(9, zlib.DEFLATED, -15, 9)
    block = c.compress(bytes(1 << 20)) + c.flush(zlib.Z_FULL_FLUSH)  # no back-reference before it
    tail = zlib.compressobj(9, zlib.DEFLATED, -15, 9).flush(zlib.Z_FINISH)
    yield head
    for _ in range(n >> 20):
        yield block
    yield tail


def gzip_bomb(prefix, n):
    yield b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    yield from deflate_zeros(prefix, n)
    crc = crc32_zeros(zlib.crc32(prefix), n)
    yield struct.pack("<II", crc, (len(prefix) + n) & 0xFFFFFFFF)


def zstd_bomb(prefix, n):
    """A zstd frame: a raw block holding prefix, then RLE blocks of 128 KiB zeros."""
    yield struct.pack("<I", 0xFD2FB528) + b"\x00" + b"\x38"  # no content size, window 128 KiB
    blk = 1 << 17
    if prefix:
        yield struct.pack("<I", (len(prefix) << 3) | (0 << 1))[:3] + prefix
    count = n // blk
    for i in range(count):
        last = 1 if i == count - 1 else 0
        yield struct.pack("<I", (blk << 3) | (1 << 1) | last)[:3] + b"\x00"


def tar_header_huge(name, size):
    ti = tarfile.TarInfo(name)
    ti.size = size
    ti.mtime = 0
    return ti.tobuf(format=tarfile.GNU_FORMAT)  # base-256 size: ustar's octal stops at 8 GiB


put("bomb/zeros.jsonl.gz", gzip_bomb(b"", BOMB_SIZE), "bomb-samples")
put("bomb/zeros.jsonl.zst", zstd_bomb(b"", BOMB_SIZE), "bomb-samples")
put("bomb/newlines.jsonl.gz", gzip_bomb(b'{"__key__":"a","txt":"x"}\n', BOMB_SIZE), "bomb-samples")
put("bomb/member.tar.gz", gzip_bomb(tar_header_huge("s0.bin", BOMB_SIZE), BOMB_SIZE), "bomb-shard")
put("bomb/member.tar.zst", zstd_bomb(tar_header_huge("s0.bin", BOMB_SIZE), BOMB_SIZE), "bomb-shard")

# ---- records (upload's and manifest's input) ----
SHA0 = "0" * 64
MD50 = "0" * 32


def recs(*objs, trailer=True, n=None):
    out = b"".join(o if isinstance(o, bytes) else line(o) for o in objs)
    if trailer:
        out += line({"__end__": {"records": len(objs) if n is None else n, "ok": True}})
    return out


R = {"path": "shard-000000.tar", "bytes": 10240, "sha256": SHA0, "md5": MD50, "samples": 2,
     "first_key": "s0", "last_key": "s1", "uri": "s3://b/shard-000000.tar", "etag": "x"}


def r(**kw):
    d = dict(R)
    for k, v in kw.items():
        if v is ...:
            d.pop(k)
        else:
            d[k] = v
    return d


records = {
    "not_json": recs(b'{"path": \n'),
    "not_object": recs(b"[1,2]\n"),
    "path_number": recs(r(path=12)),
    "path_null": recs(r(path=None)),
    "path_empty": recs(r(path="")),
    "path_nul_escape": recs(b'{"path":"a\\u0000b.tar","bytes":1}\n'),
    "path_raw_nul": recs(b'{"path":"a\x00b.tar","bytes":1}\n'),
    "path_missing": recs(r(path=...)),
    "bytes_negative": recs(r(bytes=-1)),
    "bytes_string": recs(r(bytes="10")),
    "bytes_float": recs(r(bytes=1.5)),
    "bytes_huge": recs(r(bytes=10 ** 30)),
    "samples_negative": recs(r(samples=-5)),
    "sha256_short": recs(r(sha256="abc")),
    "sha256_not_hex": recs(r(sha256="z" * 64)),
    "dup_path_field": recs(b'{"path":"a.tar","path":"b.tar","bytes":1}\n'),
    "trunc_utf8": recs(b'{"path":"caf\xc3.tar","bytes":1}\n'),
    "deep": recs(b'{"path":"a.tar","x":' + b"[" * DEPTH + b"]" * DEPTH + b"}\n"),
    "trailer_wrong_count": recs(r(), n=7),
    "trailer_bad_shape": recs(r(), trailer=False) + b'{"__end__": "yes"}\n',
    "trailer_not_ok": recs(r(), trailer=False) + line({"__end__": {"records": 1, "ok": False}}),
    "line_after_trailer": recs(r()) + line(r(path="shard-000001.tar")),
    "two_trailers": recs(r()) + line({"__end__": {"records": 1, "ok": True}}),
    "no_trailer": recs(r(), trailer=False),
}
for name, data in records.items():
    put("records/%s.jsonl" % name, data, "records")


def big_record():
    yield b'{"path":"'
    left = BIG_LINE
    chunk = b"a" * (1 << 20)
    while left > 0:
        yield chunk[:min(left, len(chunk))]
        left -= len(chunk)
    yield b'.tar","bytes":1}\n'


put("records/line_100mb.jsonl", big_record(), "records-big")

# ---- manifests ----


def man(**kw):
    d = {"format": "trainbox.manifest", "version": 1, "created": "2026-01-01T00:00:00Z",
         "shards": [r()], "totals": {"shards": 1, "samples": 2, "bytes": 10240}}
    for k, v in kw.items():
        if v is ...:
            d.pop(k)
        else:
            d[k] = v
    return json.dumps(d).encode()


manifests = {
    "not_json": b'{"format": "trainbox.manifest", ',
    "empty": b"",
    "array": b"[]",
    "string": b'"trainbox.manifest"',
    "format_wrong": man(format="other"),
    "format_missing": man(format=...),
    "version_2": man(version=2),
    "version_string": man(version="1"),
    "shards_missing": man(shards=...),
    "shards_object": man(shards={"a": 1}),
    "shards_numbers": man(shards=[1, 2]),
    "shard_no_uri": man(shards=[r(uri=..., path=...)]),
    "shard_uri_number": man(shards=[r(uri=5)]),
    "shard_bytes_negative": man(shards=[r(bytes=-3)]),
    "shard_dup": man(shards=[r(), r()]),
    "shard_uri_nul": man(shards=[r(uri="s3://b/a\u0000b.tar")]),
    "totals_wrong": man(totals={"shards": 9, "samples": 2, "bytes": 10240}),
    "trunc_utf8": man()[:-3] + b"\xc3",
    "nul_byte": man()[:20] + b"\x00" + man()[20:],
    "deep": b'{"format":"trainbox.manifest","version":1,"x":' + b"[" * DEPTH + b"]" * DEPTH + b',"shards":[]}',
    "dup_format": b'{"format":"trainbox.manifest","format":"x","version":1,"shards":[]}',
    "wids_bad": b'{"wids_version": 1, "__kind__": "wids-shard-index-v1", "shardlist": [{"url": 3}]}',
}
for name, data in manifests.items():
    put("manifest/%s.json" % name, data, "manifest")

# ---- state files of garbage ----
states = {
    "empty": b"",
    "garbage": b"\x00\xffgarbage\x01\x02 not a state\n",
    "json_array": b"[1,2,3]\n",
    "json_wrong": b'{"version": 99, "offset": -1}\n',
    "json_trunc": b'{"version": 1, "input',
    "deep": b"[" * DEPTH + b"]" * DEPTH,
    "huge_numbers": b'{"version":1,"offset":1e400,"samples":99999999999999999999999,"shards":-1}\n',
}
for name, data in states.items():
    put("state/%s" % name, data, "state")

put("good.jsonl", GOOD, "good")
with open(os.path.join(OUT, "index.tsv"), "w") as f:
    for rel, kind in index:
        f.write("%s\t%s\n" % (rel, kind))
