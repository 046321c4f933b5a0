#!/usr/bin/env python3
"""The Python peer of `trainbox shard` for bench/shard.sh: what webdataset's ShardWriter/TarWriter do
(the tarfile module, one member per field, sorted fields, a new shard every --max-samples), with the
same field-to-bytes mapping as trainbox (strings as UTF-8, {"$base64": ...} decoded, other values as
compact JSON).   usage: tarwriter.py OUTDIR MAX_SAMPLES [--records] < samples.jsonl
With --records it also does what the record contract asks of any shard writer (bytes, sha256 and md5
of each finished shard, one JSON line each on stdout), for a like-for-like comparison."""
import base64, hashlib, io, json, os, sys, tarfile


def member_bytes(v):
    if isinstance(v, str):
        return v.encode('utf-8')
    if isinstance(v, dict) and len(v) == 1 and '$base64' in v:
        return base64.b64decode(v['$base64'])
    return json.dumps(v, separators=(',', ':'), ensure_ascii=False).encode('utf-8')


def record(path, samples):
    sha, md5 = hashlib.sha256(), hashlib.md5()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            sha.update(chunk)
            md5.update(chunk)
    print(json.dumps({'path': path, 'bytes': os.path.getsize(path), 'sha256': sha.hexdigest(),
                      'md5': md5.hexdigest(), 'samples': samples}))


def main():
    outdir, maxcount = sys.argv[1], int(sys.argv[2])
    records = '--records' in sys.argv[3:]
    shard, count, tar = 0, 0, None
    for i, line in enumerate(sys.stdin.buffer):
        if not line.strip():
            continue
        sample = json.loads(line)
        if tar is None or count >= maxcount:
            if tar is not None:
                tar.close()
                if records:
                    record(tar.name, count)
            tar = tarfile.open(f'{outdir}/py-{shard:06d}.tar', 'w', format=tarfile.USTAR_FORMAT)
            shard, count = shard + 1, 0
        key = sample.get('__key__', f'{i:09d}')
        for field in sorted(k for k in sample if not k.startswith('_')):
            data = member_bytes(sample[field])
            ti = tarfile.TarInfo(f'{key}.{field}')
            ti.size, ti.mtime, ti.mode, ti.uname, ti.gname = len(data), 0, 0o644, '', ''
            tar.addfile(ti, io.BytesIO(data))
        count += 1
    if tar is not None:
        tar.close()
        if records:
            record(tar.name, count)


main()
