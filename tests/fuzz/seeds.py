#!/usr/bin/env python3
"""Write the seed corpora of tests/fuzz/corpus/NAME/ (small valid and edge inputs per target, taken
from the unit tests' data). Run from the repository root to regenerate them: the committed files are
its output (option bytes first where the target takes them: see each fuzz_NAME.c)."""
import gzip, io, json, os, tarfile, zlib

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
SHA1 = "a" * 64
SHA2 = "b" * 64


def put(name, files):
    d = os.path.join(ROOT, name)
    os.makedirs(d, exist_ok=True)
    for old in os.listdir(d):
        os.unlink(os.path.join(d, old))
    for i, data in enumerate(files):
        if isinstance(data, str):
            data = data.encode()
        with open(os.path.join(d, "seed-%02d" % i), "wb") as f:
            f.write(data)


def gz(b, mtime=0):
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=mtime) as g:
        g.write(b)
    return out.getvalue()


def tar(members, compress=False):
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as t:
        for name, data, kind in members:
            ti = tarfile.TarInfo(name)
            ti.mtime = 1700000000
            if kind == "file":
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
            elif kind == "dir":
                ti.type = tarfile.DIRTYPE
                t.addfile(ti)
            elif kind == "sym":
                ti.type = tarfile.SYMTYPE
                ti.linkname = data.decode()
                t.addfile(ti)
    b = out.getvalue()
    return gz(b) if compress else b


LINES = [
    '{"__key__":"s/000001","txt":"hello","json":{"a":[1,2.5e3,null,true]},"bin":{"$base64":"AAEC/w=="}}',
    '{"txt":"caf\\u00e9 \\ud83d\\ude00 \\"q\\" \\\\ \\n","cls":7}',
    '{"__key__":"a/b.c/d","seg.png":{"$base64":""},"x":"","n":-0.5e-3}',
    '{"__key__":"k","json":"a string","json2":[],"deep":[[[[{"a":{}}]]]]}',
    '{}', '[]', '"s"', '{"a":1,"a":2}', '{"a":"\xff"}', '{"a":1}x', '{"__key__":"../x","txt":"y"}',
]

put("json", LINES + ['{"a":"\\u0000"}', '{"a":1e999}', '{"k":"\\ud800"}', ' {"a" : [ ] } '])
put("ndjson", [bytes([7, 0, 255]) + "\n".join(LINES).encode() + b"\n",
               bytes([0, 1, 16]) + b'{"a":1}\r\n\r\n\n{"b":2}\r\n{"c":3}',
               bytes([3, 14, 40]) + b'{"short":1}\n{"long":"' + b"x" * 120 + b'"}\n{"c":3}\n',
               bytes([7, 4, 8]) + b'{"big":"' + b"y" * 300 + b'"}\n\n{"z":0}\r\n',
               bytes([1, 10, 3]) + b"\r\r\n\r"])
put("sample", [b"\0" + l.encode("latin-1") for l in LINES] +
    [b"\1s/000001\0txt\0hello\0json\0{\"a\":1}\0bin\0\xff\x00",
     b"\1k\0json\0\"quoted\"\0cls\0 7 \0txt\0\xc3\xa9",
     b"\1a/b\0seg.png\0\x89PNG\r\n\0json\0{ \"a\" : 1 }"])
wds = [("s/000000.txt", b"hello", "file"), ("s/000000.json", b'{"a":1}', "file"),
       ("s/000001.seg.png", b"\x89PNG\r\n\x1a\n", "file"), ("s/000001.txt", b"", "file")]
put("tar", [b"\7" + tar(wds), b"\0" + tar(wds, compress=True), b"\7" + tar(wds)[:700],
            b"\7" + tar([("d/", b"", "dir"), ("d/x.txt", b"1", "file"), ("l.txt", b"../etc/passwd", "sym"),
                         ("../evil.txt", b"no", "file"), ("/abs.txt", b"no", "file")]),
            b"\7" + b"\0" * 1024])
put("gunzip", [b"\7" + gz(b'{"a":1}\n' * 50), b"\2" + gz(b"one\n") + gz(b"") + gz(b"two\n"),
               b"\7" + gz(b"padded\n") + b"\0" * 10, b"\7" + gz(b"truncated\n" * 10)[:-6],
               b"\0" + gz(b"x")[:10] + b"\xff" * 10])
put("s3xml", [
    '<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
    '<Name>b</Name><Prefix>p/</Prefix><KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys><Delimiter>/</Delimiter>'
    '<IsTruncated>true</IsTruncated><NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>'
    '<Contents><Key>p/a &amp; b.tar</Key><LastModified>2026-11-22T23:43:00.000Z</LastModified>'
    '<ETag>&quot;9b2cf535f27731c974343645a3985328&quot;</ETag><Size>1000003</Size><StorageClass>STANDARD</StorageClass></Contents>'
    '<Contents><Key>p/b.tar</Key><Size>0</Size><ETag>"d41d8cd98f00b204e9800998ecf8427e-2"</ETag></Contents>'
    '<CommonPrefixes><Prefix>p/sub/</Prefix></CommonPrefixes></ListBucketResult>',
    '<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>The specified key does not exist.\n</Message>'
    '<Key>x</Key><RequestId>4442587FB7D0A2F9</RequestId></Error>',
    '<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA</UploadId></InitiateMultipartUploadResult>',
    '\n\n  <CompleteMultipartUploadResult><Location>http://b/k</Location><ETag>"3858f62230ac3c915f300c664312c11f-9"</ETag></CompleteMultipartUploadResult>',
    '<CopyObjectResult><LastModified>2026-01-01T00:00:00Z</LastModified><ETag>"abc"</ETag></CopyObjectResult>',
    '<ListBucketResult><Contents><Key>unterminated', '<a><b>&#0;</b></a>', '2026-11-22T23:43:00.5Z'])
put("azxml", [
    '\xef\xbb\xbf<?xml version="1.0" encoding="utf-8"?>'
    '<EnumerationResults ServiceEndpoint="http://127.0.0.1:10000/devstoreaccount1" ContainerName="c">'
    '<Prefix>p/</Prefix><Marker /><MaxResults>3</MaxResults><Delimiter>/</Delimiter><Blobs>'
    '<Blob><Name>p/a &amp; b.tar</Name><Properties><Creation-Time>Sun, 22 Nov 2026 23:00:00 GMT</Creation-Time>'
    '<Last-Modified>Sun, 22 Nov 2026 23:43:00 GMT</Last-Modified><Etag>0x8DCABC</Etag>'
    '<Content-Length>1000003</Content-Length><Content-Type>application/octet-stream</Content-Type>'
    '<Content-MD5>XrY7u+Ae7tCTyyK7j1rNww==</Content-MD5><BlobType>BlockBlob</BlobType></Properties>'
    '<Metadata><sha256>b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9</sha256><mtime>2026-11-22T23:43:00.123456789Z</mtime></Metadata></Blob>'
    '<BlobPrefix><Name>p/sub/</Name></BlobPrefix>'
    '<Blob><Name Encoded="true">p/%EF%BF%BEodd%01</Name><Properties><Content-Length>0</Content-Length></Properties>'
    '<Metadata /></Blob>'
    '</Blobs><NextMarker>2!88!MDAwMDE=</NextMarker></EnumerationResults>',
    '<?xml version="1.0" encoding="utf-8"?><Error><Code>AuthenticationFailed</Code><Message>Server failed to authenticate the request.</Message></Error>',
    '<EnumerationResults><Blobs><Blob><Name Encoded="true">%zz</Name></Blob></Blobs><NextMarker/></EnumerationResults>',
    '<EnumerationResults><Blobs><Blob><Name>x</Name><Properties><Content-Length>99999999999999999999999</Content-Length></Properties></Blob>'])
put("uri", ["s3://bucket/key/with space?and#hash%2F", "s3://bucket", "r2://b/k", "gs://b/", "az://account/container/dir/blob",
            "hf://datasets/HuggingFaceFW/fineweb@v1.2/data/CC-MAIN-2024-10/*.jsonl.gz",
            "hf://datasets/org/name@refs%2Fconvert%2Fparquet/default/train/", "hf://models/org/m",
            "https://example.com:8443/p/a.tar?x=1#f", "http://[::1]:80/x", "file:///tmp/x/../y", "./rel/path.tar", "-",
            "s3://", "s3:///k", "az://a", "hf://spaces/o", "file://relative", "\xc3\xa9/\x01"])
put("brace", ["shards-{000000..000127}.tar", "{a..e}", "{train,val}/{0..3}", "{a,{b,c}d}e", "x\\{1,2\\}", "{1..10..3}",
              "{z..a}", "{-3..3}", "{,}", "{a}", "{0001..1000}-{a,b}", "unterminated{a,b", "}{", "{a..}", "{0..99999999999999999999}"])
put("manifest", [b"\0" + json.dumps({"format": "trainbox.manifest", "version": 1, "name": "ds",
                                     "created": "2026-11-22T00:00:00Z",
                                     "shards": [{"path": "out/train-000000.tar", "uri": "s3://b/ds/train-000000.tar", "bytes": 100,
                                                 "sha256": SHA2, "md5": "0123456789abcdef0123456789abcdef", "samples": 10, "split": "train"},
                                                {"path": "out/train-000001.tar", "bytes": 200, "sha256": SHA1, "samples": 10}],
                                     "totals": {"shards": 2, "samples": 20, "bytes": 300}}).encode(),
                 b"\1" + ("\n".join(json.dumps(r) for r in [
                     {"path": "out/train-000001.tar", "uri": "s3://b/ds/train-000001.tar", "bytes": 200, "sha256": SHA1, "samples": 10, "split": "train"},
                     {"path": "out/train-000000.tar", "uri": "s3://b/ds/train-000000.tar", "bytes": 100, "sha256": SHA2},
                     {"path": "out/train-000000.tar", "uri": "s3://b/ds/train-000000.tar", "bytes": 100, "sha256": SHA2}])).encode(),
                 b"\1" + b'{"uri":"s3://b/a.tar","bytes":-1}', b"\1" + b'{"uri":"s3://b/a.tar","bytes":1e300}',
                 b"\0" + b'{"shards":[{"path":"a.tar","bytes":18446744073709551616}]}', b"\0nope"])
shard_state = {"format": "trainbox.shard.state", "version": 1, "options": "c" * 64, "first_line": "d" * 64, "lines": 10,
               "bytes": 1000, "samples": 9, "invalid": 1, "dupes": 0, "rejects_bytes": 50, "next_shard": 2, "last_line": 10,
               "last_key": "s/000009", "records": ['{"path":"out/000000.tar","bytes":10240}', '{"path":"out/000001.tar","bytes":10240}']}
cat_state = {"version": 1, "command": "cat", "list": "e" * 64, "inputs": 3, "input": 1, "offset": 4096, "samples": 12,
             "seen": 40, "emitted": 30}
put("state", [b"\0" + json.dumps(shard_state).encode(), b"\0" + json.dumps(dict(shard_state, last_key=None, records=[])).encode(),
              b"\0" + json.dumps(dict(shard_state, lines=1e30)).encode(), b"\0" + json.dumps(dict(shard_state, options="x" * 65)).encode(),
              b"\1" + json.dumps(cat_state).encode(), b"\1" + json.dumps(dict(cat_state, input=4)).encode(),
              b"\1" + json.dumps(dict(cat_state, seen=1e300)).encode(), b"\1[]"])
put("sync_cache", ["a\t10\tetag1\t1700000000\t" + SHA1 + "\nb%09c%25\t0\td41d8cd98f00b204e9800998ecf8427e-2\t\t\nz\t5\te\t\t\n",
                   "k\t1\t\t\t\n", "bad%zz\t1\te\t\t\n", "x\t99999999999999999999999\t" + "e" * 200 + "\t\t\n", "no tabs at all"])
hf_page = ('[{"type":"directory","oid":"7f4eb4072e5f034c19b6232f29c040431a8561be","size":0,"path":"data/sub"},'
           '{"type":"file","oid":"c2a8c3e1b8f1b2c9ee6a8d7c0b1e2f3a4b5c6d7e","size":2097152,'
           '"lfs":{"oid":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08","size":2097152,"pointerSize":134},'
           '"path":"data/train-00001.jsonl"},'
           '{"type":"file","oid":"4286f428e3b19fe84de503916ce0e7dc8deefea1","size":812,"path":"data/README.md"},'
           '{"type":"file","oid":"aa","size":10,"lfs":{"oid":"bb","size":1234567890123,"pointerSize":136},'
           '"path":"data/sub/train-00000.jsonl"}]')
put("hf", [b"\0" + hf_page.encode(), b"\0" + b'{"error":"Invalid rev id"}', b"\0" + b'[{"type":"file"}]',
           b"\0" + b'[{"type":"file","oid":"a","size":-1,"path":"data/x.jsonl"}]',
           b"\1" + b'<https://huggingface.co/api/datasets/org/name/tree/main?recursive=true&cursor=ZXlKbWFXeGw%3D>; rel="next"',
           b"\1" + b'<https://x/a,b;c>; rel=first,<https://x/n>;rel=next',
           b"\1" + b'<main?cursor=1>; rel=next\0https://huggingface.co/api/datasets/org/name/tree/main?recursive=true',
           b"\1" + b'<//cdn.example/x>; rel=next', b"\1" + b'<https://x/n>; title="a, b; rel=next"; rel="prefetch NEXT"',
           b"\2" + b'120\0"api";r=0;t=55', b"\2" + b'Wed, 21 Oct 2026 07:28:00 GMT', b"\2" + b'\0"api";r=10;t=5, "fixed";r=0;t=99',
           b"\2" + b'99999999999999999999', b"\3" + b'refs%2Fconvert%2Fparquet\0https://cdn-lfs.huggingface.co/x',
           b"\3" + b'https://huggingface.co:443/api\0https://HUGGINGFACE.co/x', b"\3" + b'bad%4'])
put("vast", [json.dumps({"offers": [{"id": 123, "gpu_name": "RTX 4090", "num_gpus": 1, "gpu_ram": 24564, "cpu_ram": 64000,
                                      "dph_total": 0.45, "reliability2": 0.99, "geolocation": "US", "machine_id": 7}]}),
             json.dumps({"instances": [{"id": "456", "label": "tb-20260101-000000-00000001", "actual_status": "running",
                                        "start_date": 1767225000.5, "extra_env": [["HF_TOKEN", "hf_x"], ["A", "b"]],
                                        "env": {"AWS_SECRET_ACCESS_KEY": "s", "X": 1}, "ssh_key": "k"}], "next_token": "t"}),
             json.dumps({"success": True, "new_contract": 7890}), json.dumps({"success": False, "error": "e", "msg": "no"}),
             json.dumps({"instances": {"id": 1e300, "start_date": -1}}), '{"new_contract":"12abc","credit":12.5,"api_key":"k"}',
             '{"id":-9.3e18,"balance":1}', '{"instances":[[],null,{"id":"99999999999999999999"}]}'])
put("vast_query", ["gpu_name=RTX_4090\0num_gpus>=1\0reliability>0.98\0dph<1.0\0geolocation\0in\0[US,CA]\0gpu_ram>=24",
                   "gpu_name=RTX_4090 num_gpus>=1 reliability>0.98 dph<1.0 geolocation in [US,CA] gpu_ram>=24",
                   "num_gpus-,dph+\nreliability > 0.99  num_gpus>=4 verified=False rented=any",
                   "reliability>0.99 gpu_name in [\"RTX 4090\", \"RTX 3090\"] geolocation notin [CN,VN]",
                   "disk_space>146 duration>24 gpu_ram>10 cuda_vers>=12.1 direct_port_count>=2 driver_version >= 535.86.05",
                   "dph+,num_gpus-,,reliability\nverified=any\0external=true\0dph_total<=2\0dph>0.1\0cpu_ram>=1.5",
                   "gpu_ram>=1e400", "bogus~=1", "geolocation in [", "num_gpus", "compute_cap > 610 total_flops > 5 datacenter=True"])
put("pathglob", ["*.txt\0a.txt\0dir/a.txt", "**/*.jsonl.gz\0a/b/c.jsonl.gz\0c.jsonl.gz", "/top/**\0top/x\0other/top/x",
                 "[a-c]?[!x]\0ab9\0dbx", "[\xc3\xa9-\xc3\xbf]*\0\xc3\xa9t\xc3\xa9", "a\\*b\0a*b", "[", "\\", "{a,b}", "**\0", "[]]\0]"])
put("duration", ["90", "500ms", "30s", "5m", "1h30m", "2d", "1d1h1m1s1ms1us1ns", "18446744073709551615ns",
                 "18446744073709551616ns", "1h30", "1.5h", "-1s", "", "0", "213503d", "213504d"])
put("size", ["123", "4k", "64MiB", "1G", "1.5GiB", "18000000000000000000", "1.9e19", "0x10", ".5k", "1TiB", "1Ti", "k", "-1", "1e308K"])
