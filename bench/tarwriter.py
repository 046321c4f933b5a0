#!/usr/bin/env python3
"""The Python peer of `trainbox shard` for bench/shard.sh: what webdataset's ShardWriter/TarWriter do
(the tarfile module, one member per field, sorted fields, a new shard every --max-samples), with the
same field-to-bytes mapping as trainbox (strings as UTF-8, {"$base64": ...} decoded, other values as
compact JSON).   usage: tarwriter.py OUTDIR MAX_SAMPLES < samples.jsonl"""
import base64, io, json, sys, tarfile


def member_bytes(v):
    if isinstance(v, str):
        return v.encode('utf-8')
    if isinstance(v, dict) and len(v) == 1 and '$base64' in v:
        return base64.b64decode(v['$base64'])
    return json.dumps(v, separators=(',', ':'), ensure_ascii=False).encode('utf-8')


def main():
    outdir, maxcount = sys.argv[1], int(sys.argv[2])
    shard, count, tar = 0, 0, None
    for i, line in enumerate(sys.stdin.buffer):
        if not line.strip():
            continue
        sample = json.loads(line)
        if tar is None or count >= maxcount:
            if tar is not None:
                tar.close()
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


main()
