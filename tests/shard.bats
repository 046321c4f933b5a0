#!/usr/bin/env bats
# shard: the sample/shard/record contracts of DESIGN.md, readers' view of the shards (Python tarfile,
# GNU tar), determinism, resume after SIGKILL, bad input, and out of disk space.
load helper
bats_require_minimum_version 1.5.0

setup() {
  cd "$BATS_TEST_TMPDIR"
}

# records' sha256 of every shard in DIR, in name order
sums() { (cd "$1" && sha256sum -- *.tar* | sort -k2); }

@test "shard writes shards, prints one record per shard, and sizes accept units" {
  gen_samples 250 > in.jsonl
  run --separate-stderr trainbox shard -o out --prefix train --max-samples 100 --max-bytes 1MiB --split train in.jsonl
  assert_success
  [ "${#lines[@]}" -eq 4 ]
  assert_line --index 3 "$(trailer 3)"
  assert_file_exists out/train-000000.tar
  assert_file_exists out/train-000002.tar
  python3 - "${lines[@]:0:3}" <<'EOF'
import hashlib, json, os, sys
recs = [json.loads(l) for l in sys.argv[1:]]
assert [r['samples'] for r in recs] == [100, 100, 50], recs
for i, r in enumerate(recs):
    assert r['path'] == f'out/train-{i:06d}.tar', r
    data = open(r['path'], 'rb').read()
    assert r['bytes'] == len(data) == os.path.getsize(r['path'])
    assert r['sha256'] == hashlib.sha256(data).hexdigest()
    assert r['md5'] == hashlib.md5(data).hexdigest()
    assert r['split'] == 'train'
assert recs[0]['first_key'] == 'sample00000000' and recs[0]['last_key'] == 'sample00000099'
assert list(recs[0]) == ['path', 'bytes', 'sha256', 'md5', 'samples', 'first_key', 'last_key', 'split']
EOF
  run bash -c "ls out | grep -c partial"
  assert_output 0
}

@test "Python tarfile sees the contract: members, order, sizes, bytes, ustar headers" {
  gen_samples 300 --dirs > in.jsonl
  trainbox shard -o out --max-samples 120 in.jsonl > records
  python3 - <<'EOF'
import base64, glob, json, tarfile
samples = [json.loads(l) for l in open('in.jsonl')]
def member_bytes(v):
    if isinstance(v, str): return v.encode()
    if isinstance(v, dict) and list(v) == ['$base64']: return base64.b64decode(v['$base64'])
    return v  # other values: compact JSON text with escapes as written; compared parsed, below
want = []
for s in samples:
    for f in sorted(k for k in s if not k.startswith('_')):
        want.append((s['__key__'] + '.' + f, member_bytes(s[f])))
got = []
for path in sorted(glob.glob('out/*.tar')):
    with tarfile.open(path) as t:
        for m in t.getmembers():
            assert m.isreg() and m.mode == 0o644 and m.uid == 0 and m.gid == 0 and m.mtime == 0, m
            assert m.uname == '' and m.gname == '' and not m.pax_headers, (m.name, m.pax_headers)
            got.append((m.name, t.extractfile(m).read()))
    raw = open(path, 'rb').read()
    assert raw[257:263] == b'ustar\0' and raw[-1024:] == b'\0' * 1024
assert len(got) == len(want), (len(got), len(want))
for g, w in zip(got, want):
    assert g[0] == w[0], (g[0], w[0])
    if isinstance(w[1], bytes):
        assert g[1] == w[1], (g[0], g[1][:60], w[1][:60])
    else:
        assert json.loads(g[1]) == w[1] and b' ' not in g[1].replace(b'x y', b''), (g[0], g[1][:80])
EOF
}

@test "GNU tar lists every member with its size, in contract order" {
  gen_samples 50 > in.jsonl
  trainbox shard -o out in.jsonl > /dev/null
  run tar -tvf out/shard-000000.tar
  assert_success
  [ "${#lines[@]}" -eq "$(tar -tf out/shard-000000.tar | wc -l)" ]
  assert_line --index 0 --regexp '^-rw-r--r-- 0/0 +1 1970-01-01 00:00 sample00000000\.cls$'
  assert_line --index 1 --regexp ' sample00000000\.empty\.txt$'
  assert_line --index 2 --regexp ' sample00000000\.json$'
  assert_line --index 3 --regexp ' sample00000000\.txt$'
  assert_line --index 4 --regexp ' sample00000001\.cls$'
  tar -xf out/shard-000000.tar sample00000001.json
  run cat sample00000001.json
  assert_output --regexp '^\{"id":9007199254740994,'
}

@test "names over 100 bytes get a pax header, unicode names under 100 bytes stay plain ustar" {
  long=$(printf 'd/%0120d' 0)
  printf '{"__key__":"%s","txt":"x"}\n{"__key__":"日本語/ü","txt":"y"}\n' "$long" > in.jsonl
  trainbox shard -o out in.jsonl > /dev/null
  python3 - "$long" <<'EOF'
import sys, tarfile
t = tarfile.open('out/shard-000000.tar')
ms = t.getmembers()
assert ms[0].name == sys.argv[1] + '.txt' and ms[0].pax_headers == {'path': sys.argv[1] + '.txt'}, ms[0].pax_headers
assert ms[1].name == '日本語/ü.txt' and ms[1].pax_headers == {}, ms[1].pax_headers
EOF
  run tar -tf out/shard-000000.tar
  assert_line --index 0 "$long.txt"
}

@test "samples without __key__ get the zero-padded global index as key" {
  gen_samples 30 --no-key > in.jsonl
  trainbox shard -o out --max-samples 20 in.jsonl > records
  run tar -tf out/shard-000001.tar
  assert_line --index 0 '000000020.cls'
  run jq -r 'select(.path) | .first_key' records
  assert_output $'000000000\n000000020'
}

@test "--max-bytes closes a shard before it would pass the limit; a sample never spans shards" {
  gen_samples 200 > in.jsonl
  trainbox shard -o out --max-bytes 20k in.jsonl > records
  n=$(wc -l < records)
  [ "$n" -gt 5 ]
  for f in out/*.tar; do [ "$(stat -c %s "$f")" -le 20000 ]; done
  [ "$(jq -s 'map(.samples) | add' records)" -eq 200 ]
  # each key's members are all in one shard
  for f in out/*.tar; do tar -tf "$f" | sed 's/\..*//' | sort -u; done | sort | uniq -d > dup
  assert_file_empty dup
}

@test "same input gives byte-identical shards (plain, gzip, zstd), and --mtime is honoured" {
  gen_samples 400 > in.jsonl
  for c in none gzip zstd; do
    trainbox shard -o a-$c --compress $c --max-samples 150 in.jsonl > a-$c.rec
    sleep 1
    trainbox shard -o b-$c --compress $c --max-samples 150 in.jsonl > b-$c.rec
    [ "$(sums a-$c)" = "$(sums b-$c)" ]
    diff <(jq -c 'del(.path)' a-$c.rec) <(jq -c 'del(.path)' b-$c.rec)
  done
  assert_file_exists a-gzip/shard-000002.tar.gz
  assert_file_exists a-zstd/shard-000002.tar.zst
  gzip -t a-gzip/*.tar.gz
  zstd -q -t a-zstd/*.tar.zst
  # records carry the compressed file's checksums
  [ "$(jq -r .sha256 a-gzip.rec | head -1)" = "$(sha256sum a-gzip/shard-000000.tar.gz | cut -d' ' -f1)" ]
  # the compressed shards hold the same tar as the plain ones
  cmp <(gzip -dc a-gzip/shard-000001.tar.gz) a-none/shard-000001.tar
  cmp <(zstd -qdc a-zstd/shard-000001.tar.zst) a-none/shard-000001.tar
  trainbox shard -o m --mtime 1700000000 in.jsonl > /dev/null
  run tar -tvf m/shard-000000.tar
  assert_line --index 0 --partial '2023-11-14'
}

@test "cat | shard reproduces plain and compressed shards byte for byte" {
  gen_samples 600 --dirs --binary-frac=0.3 > in.jsonl
  for c in none gzip zstd; do
    trainbox shard -o a-$c --compress $c --max-samples 250 in.jsonl > /dev/null
    trainbox cat a-$c | trainbox shard -o b-$c --compress $c --max-samples 250 > /dev/null
    [ "$(sums a-$c)" = "$(sums b-$c)" ]
  done
}

@test "SPLIT from the environment goes into each record" {
  gen_samples 5 > in.jsonl
  SPLIT=val run trainbox shard -o out in.jsonl
  assert_success
  [ "$(jq -r 'select(.path) | .split' <<<"$output")" = val ]
}

# the crash test: kill -9 at random moments; the final shards and the final run's stdout must equal an
# uninterrupted run's, with no .partial left behind
crash_test() {
  local n=$1 kills=$2 per=$3
  gen_samples "$n" 3 --binary-frac=0.2 > in.jsonl
  mkdir ref crash
  (cd ref && trainbox shard -o out --max-samples "$per" ../in.jsonl > records)
  local t0 t1 dur
  t0=$(date +%s%N); (cd ref && trainbox shard -o again --max-samples "$per" ../in.jsonl > /dev/null); t1=$(date +%s%N)
  dur=$(( (t1 - t0) / 1000 ))   # microseconds of one full run
  local d killed=0
  # each run resumes where the last was killed: spread the kills over about half a run's time in all
  for d in $(python3 -c "import random; print(*(random.uniform(0, $dur / 1e6 / $kills) for _ in range($kills)))"); do
    (cd crash && exec trainbox shard -o out --max-samples "$per" ../in.jsonl >> all-records 2>>errors) &
    local pid=$!
    sleep "$d"
    kill -9 "$pid" 2>/dev/null && killed=$((killed + 1)) || true
    wait "$pid" 2>/dev/null || true
  done
  echo "# killed $killed of $kills runs (one run: $dur us)" >&3; cat crash/errors >&3 || true
  (cd crash && trainbox shard -o out --max-samples "$per" ../in.jsonl > records)
  [ "$(sums ref/out)" = "$(sums crash/out)" ]
  diff ref/records crash/records
  run bash -c "ls -A crash/out | grep -c partial"
  assert_output 0
  [ "$killed" -ge $((kills / 2)) ]
}

@test "crash test: SIGKILL at 5 random moments over 20k samples, result identical to an uninterrupted run" {
  crash_test 20000 5 700
}

# bats test_tags=slow
@test "crash test: SIGKILL at 20 random moments over 200k samples, result identical to an uninterrupted run" {
  crash_test 200000 20 5000
}

@test "crash test with two input files, invalid lines and --rejects: shards, records and rejects as uninterrupted" {
  gen_samples 6000 4 > all.jsonl
  # lines over --max-line too: skipped without being held, named (not copied) in the rejects
  long=$(head -c 30000 /dev/zero | tr '\0' x)
  awk -v long="$long" 'NR % 97 == 0 { print "{bad json " NR } { print } NR % 500 == 0 { print "" }
       NR % 1300 == 0 { print "{\"txt\":\"" long "\"}" }' all.jsonl > mixed.jsonl
  head -3000 mixed.jsonl > a.jsonl; tail -n +3001 mixed.jsonl > b.jsonl
  args=(--max-samples 250 --skip-invalid --max-line 20k --rejects rej.jsonl ../a.jsonl ../b.jsonl)
  mkdir ref crash
  (cd ref && trainbox shard -o out "${args[@]}" > records 2>/dev/null)
  killed=0
  for d in 0.05 0.1 0.02 0.15 0.08; do
    (cd crash && exec trainbox shard -o out "${args[@]}" >> all-records 2>/dev/null) &
    pid=$!
    sleep "$d"
    kill -9 "$pid" 2>/dev/null && killed=$((killed + 1)) || true
    wait "$pid" 2>/dev/null || true
  done
  (cd crash && trainbox shard -o out "${args[@]}" > records 2>/dev/null)
  [ "$(sums ref/out)" = "$(sums crash/out)" ]
  diff ref/records crash/records
  cmp ref/rej.jsonl crash/rej.jsonl
  [ "$(grep -c . ref/rej.jsonl)" -eq 65 ]
  [ "$(grep -c '^{"__rejected__":{"file":"../[ab].jsonl","line":[0-9]*,"bytes":30010,"reason":"longer than --max-line (20000 bytes)"}}$' ref/rej.jsonl)" -eq 4 ]
  [ "$(jq -s 'map(.samples) | add' ref/records)" -eq 6000 ]
  echo "# killed $killed of 5" >&3
}

@test "--progress=json reports samples, bytes and shards on stderr" {
  gen_samples 100 > in.jsonl
  run --separate-stderr trainbox shard -o out --max-samples 40 --progress=json in.jsonl
  assert_success
  last=$(tail -1 <<<"$stderr")
  [ "$(jq -r '.event, .samples, .shards' <<<"$last" | tr '\n' ' ')" = "end 100 3 " ]
  [ "$(jq -r .bytes <<<"$last")" -eq "$(stat -c %s in.jsonl)" ]
}

@test "resume after a run that finished: records re-emitted, nothing rewritten" {
  gen_samples 300 > in.jsonl
  trainbox shard -o out --max-samples 100 in.jsonl > first
  touch -d '2001-01-01' out/*.tar
  trainbox shard -o out --max-samples 100 in.jsonl > second
  diff first second
  [ "$(find out -name '*.tar' -newer in.jsonl | wc -l)" -eq 0 ]
}

@test "resume with other options or other input is refused with 65 unless --restart" {
  gen_samples 300 > in.jsonl
  trainbox shard -o out --max-samples 100 in.jsonl > /dev/null
  run --separate-stderr trainbox shard -o out --max-samples 50 in.jsonl
  assert_failure 65
  [[ "$stderr" == *"different command line"*"--restart"* ]]
  gen_samples 300 9 > other.jsonl
  cp other.jsonl in.jsonl
  run --separate-stderr trainbox shard -o out --max-samples 100 in.jsonl
  assert_failure 65
  [[ "$stderr" == *"does not match the state"*"first line"* ]]
  run --separate-stderr trainbox shard -o out --max-samples 100 --restart in.jsonl
  assert_success
  [ "${#lines[@]}" -eq 4 ]
  run trainbox shard -o out --max-samples 50 --restart in.jsonl
  assert_success
  [ "${#lines[@]}" -eq 7 ]
  assert_line --index 6 "$(trailer 6)"
}

@test "stale .partial files are removed on the next run" {
  gen_samples 10 > in.jsonl
  mkdir out
  echo junk > out/shard-000000.tar.partial
  echo junk > out/shard-000007.tar.partial
  trainbox shard -o out in.jsonl > /dev/null
  assert_file_not_exists out/shard-000007.tar.partial
  assert_file_not_exists out/shard-000000.tar.partial
  assert_file_exists out/shard-000000.tar
}

bad_input() { # LINE2 REASON: a bad second line stops shard with 65 naming line 2 and the reason
  gen_samples 1 > in.jsonl
  printf '%s\n' "$1" >> in.jsonl
  run --separate-stderr trainbox shard -o out in.jsonl
  assert_failure 65
  [[ "$stderr" == *"line 2 of in.jsonl"*"$2"* ]] || fail "stderr: $stderr"
  [ -z "$(ls out | grep partial)" ]
  [ -z "$(ls out)" ]
}

@test "bad input: invalid JSON" { bad_input '{"txt": "x"' 'not valid JSON'; }
@test "bad input: a line that is not an object" { bad_input '["txt", "x"]' 'not a JSON object'; }
@test "bad input: empty key" { bad_input '{"__key__": "", "txt": "x"}' 'the key is empty'; }
@test "bad input: key with a dot" { bad_input '{"__key__": "a.b", "txt": "x"}' "'.' in its last path component"; }
@test "bad input: key with .." { bad_input '{"__key__": "a/../b", "txt": "x"}' "'..' path component"; }
@test "bad input: key with a leading /" { bad_input '{"__key__": "/etc/x", "txt": "x"}' "starts with '/'"; }
@test "bad input: \$base64 that does not decode" { bad_input '{"__key__": "k", "bin": {"$base64": "@@@="}}' 'does not decode'; }

@test "bad input after finished shards: they stay valid and recorded, the open one is removed" {
  gen_samples 250 > in.jsonl
  echo '{"oops"' >> in.jsonl
  run --separate-stderr trainbox shard -o out --max-samples 100 in.jsonl
  assert_failure 65
  [[ "$stderr" == *"line 251 of in.jsonl"* ]]
  [ "${#lines[@]}" -eq 2 ]
  assert_file_exists out/shard-000001.tar
  assert_file_not_exists out/shard-000002.tar
  [ -z "$(ls -A out | grep partial)" ]
  tar -tf out/shard-000001.tar > /dev/null
}

@test "--skip-invalid counts, reports and writes rejects; good samples are all sharded" {
  gen_samples 20 > in.jsonl
  { head -5 in.jsonl; echo 'not json'; sed -n 6,10p in.jsonl; echo '{"__key__":"a.b","txt":"x"}'; tail -10 in.jsonl; } > mixed.jsonl
  run --separate-stderr trainbox shard -o out --skip-invalid --rejects rej.jsonl mixed.jsonl
  assert_success
  [[ "$stderr" == *"skipped line 6 of mixed.jsonl"* ]]
  [[ "$stderr" == *"skipped line 12 of mixed.jsonl"* ]]
  [[ "$stderr" == *"2 invalid lines skipped"* ]]
  [ "$(jq 'select(.path) | .samples' <<<"$output")" -eq 20 ]
  assert_line --index 1 "$(trailer 1)"
  assert_equal "$(cat rej.jsonl)" $'not json\n{"__key__":"a.b","txt":"x"}'
}

@test "a line over --max-line is bad input (65, its line named); --skip-invalid skips it" {
  gen_samples 3 > in.jsonl
  printf '{"__key__":"big","txt":"%s"}\n' "$(head -c 5000 /dev/zero | tr '\0' x)" >> in.jsonl
  gen_samples 2 >> in.jsonl
  run --separate-stderr trainbox shard -o out --max-line 4KiB in.jsonl
  assert_failure 65
  [[ "$stderr" == *"line 4 is longer than --max-line (4096 bytes)"* ]] || fail "$stderr"
  run --separate-stderr trainbox shard -o out2 --max-line 4KiB --skip-invalid in.jsonl
  assert_success
  [[ "$stderr" == *"skipped line 4 of in.jsonl: line 4 is longer than --max-line (4096 bytes)"* ]]
  [ "$(sed -n 1p <<<"$output" | jq .samples)" -eq 5 ]
  assert_line --index 1 "$(trailer 1)"
  ! tar -tf out2/shard-000000.tar | grep -q big
}

@test "a key repeating the sample's before is bad input (65, file and line named), across shards and resumes" {
  printf '%s\n' '{"__key__":"a","txt":"1"}' '{"__key__":"b","txt":"2"}' '{"__key__":"b","txt":"3"}' '{"__key__":"c","txt":"4"}' > dup.jsonl
  run --separate-stderr trainbox shard -o out dup.jsonl
  assert_failure 65
  [[ "$stderr" == *"line 3 of dup.jsonl"*"key 'b' repeats the key of the sample before it"* ]] || fail "$stderr"
  [ -z "$(ls out)" ]
  # the samples fall in two shards: still refused
  run --separate-stderr trainbox shard -o out1 --max-samples 2 dup.jsonl
  assert_failure 65
  [[ "$stderr" == *"line 3 of dup.jsonl"* ]]
  assert_file_exists out1/shard-000000.tar
  # re-run: the state resumes after line 2, and line 3 is still checked against it
  run --separate-stderr trainbox shard -o out1 --max-samples 2 dup.jsonl
  assert_failure 65
  [[ "$stderr" == *"line 3 of dup.jsonl"*"key 'b' repeats"* ]] || fail "$stderr"
  assert_file_not_exists out1/shard-000001.tar
  # through a pipe from cat, too
  run --separate-stderr bash -c 'trainbox cat dup.jsonl | trainbox shard -o out2'
  assert_failure 65
  [[ "$stderr" == *"line 3 of "*"repeats"* ]]
  # not consecutive: fine
  printf '%s\n' '{"__key__":"a","txt":"1"}' '{"__key__":"b","txt":"2"}' '{"__key__":"a","txt":"3"}' > ok.jsonl
  trainbox shard -o out3 ok.jsonl > /dev/null
}

@test "--skip-invalid skips a repeated key like an invalid line; --dedupe keeps the first and counts the rest" {
  printf '%s\n' '{"__key__":"a","txt":"1"}' '{"__key__":"a","txt":"2"}' 'bad' '{"__key__":"a","txt":"3"}' '{"__key__":"c","txt":"4"}' > dup.jsonl
  run --separate-stderr trainbox shard -o out --skip-invalid --rejects rej.jsonl dup.jsonl
  assert_success
  [ "$(sed -n 1p <<<"$output" | jq .samples)" -eq 2 ]
  assert_line --index 1 "$(trailer 1)"
  assert_equal "$(cat rej.jsonl)" $'{"__key__":"a","txt":"2"}\nbad\n{"__key__":"a","txt":"3"}'
  run --separate-stderr trainbox shard -o out2 --dedupe --max-samples 1 dup.jsonl
  assert_failure 65   # the bad line still stops it
  run --separate-stderr trainbox shard -o out3 --dedupe --skip-invalid --max-samples 1 dup.jsonl
  assert_success
  [[ "$stderr" == *"2 samples dropped: their key repeated"* ]] || fail "$stderr"
  [[ "$stderr" == *"1 invalid lines skipped"* ]]
  [ "$(tar -xOf out3/shard-000000.tar a.txt)" = 1 ]
  assert_equal "$(tar -tf out3/shard-000000.tar; tar -tf out3/shard-000001.tar)" $'a.txt\nc.txt'
  assert_file_not_exists out3/shard-000002.tar
}

@test "--skip-invalid: a bad line right after a full shard closed is skipped (it crashed: the closed shard was closed again)" {
  printf '%s\n' '{"txt":"1"}' 'bad' '{"txt":"2"}' > b.jsonl
  run --separate-stderr trainbox shard -o out --max-samples 1 --skip-invalid b.jsonl
  assert_success
  [ "${#lines[@]}" -eq 3 ]   # two shards and the trailer
  assert_line --index 2 "$(trailer 2)"
}

@test "a line over the big-line threshold is read in pieces and gives the same shards, byte for byte" {
  python3 "$REPO/tests/gen_shapes.py" 60 9000 > s.jsonl
  trainbox shard -o ref --max-samples 25 s.jsonl > ref.rec
  for big in 4096 1; do
    TRAINBOX_BIG_LINE=$big trainbox shard -o big$big --max-samples 25 s.jsonl > big$big.rec
    for f in ref/*.tar; do cmp "$f" "big$big/$(basename "$f")"; done
    diff <(sed 's/"path":"[^"]*"//' ref.rec) <(sed 's/"path":"[^"]*"//' big$big.rec)
  done
  # from a pipe (reads end anywhere), and a resumed run re-checks big lines (line 1 and the last)
  cat s.jsonl | TRAINBOX_BIG_LINE=4096 trainbox shard -o pipe --max-samples 25 > /dev/null
  for f in ref/*.tar; do cmp "$f" "pipe/$(basename "$f")"; done
  TRAINBOX_BIG_LINE=4096 trainbox shard -o big4096 --max-samples 25 s.jsonl > again.rec
  diff big4096.rec again.rec
  # bad big lines: the same errors; skipped, the rejects file names them
  { head -3 s.jsonl; sed -n 1p s.jsonl | sed 's/"s00000"/"bad"/; s/"}}$/@"}}/'; } > bad.jsonl
  run --separate-stderr env TRAINBOX_BIG_LINE=4096 trainbox shard -o b1 bad.jsonl
  assert_failure 65
  [[ "$stderr" == *"line 4 of bad.jsonl: field 'bin': \$base64 value does not decode"* ]] || fail "$stderr"
  run --separate-stderr env TRAINBOX_BIG_LINE=4096 trainbox shard -o b2 --skip-invalid --rejects rej.jsonl bad.jsonl
  assert_success
  n=$(sed -n 4p bad.jsonl | tr -d '\n' | wc -c)
  assert_equal "$(cat rej.jsonl)" "{\"__rejected__\":{\"file\":\"bad.jsonl\",\"line\":4,\"bytes\":$n,\"reason\":\"field 'bin': \$base64 value does not decode\"}}"
}

# bats test_tags=slow
@test "a 256 MiB \$base64 sample shards in about its decoded size of memory, in a shard of its own" {
  { printf '{"__key__":"big","txt":"hi","bin":{"$base64":"'; head -c 256M /dev/urandom | tee raw.bin | base64 -w0; printf '"}}\n'; } > big.jsonl
  gen_samples 2 >> big.jsonl
  /usr/bin/time -v trainbox shard -o out --max-line 1GiB --max-bytes 100MiB big.jsonl > recs 2> time.txt
  rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' time.txt)   # KiB
  echo "# peak RSS $((rss / 1024)) MiB for a 256 MiB sample (a $(( $(stat -c %s big.jsonl) >> 20 )) MiB line)" >&3
  [ "$rss" -lt $(( (256 + 48) * 1024 )) ]
  [ "$(jq -s 'map(select(.samples) | .samples) | join(",")' recs)" = '"1,2"' ]
  tar -xOf out/shard-000000.tar big.bin | cmp - raw.bin
}

@test "usage errors exit 64" {
  run trainbox shard
  assert_failure 64
  run trainbox shard -o out --max-samples 0
  assert_failure 64
  run trainbox shard -o out --compress lzma
  assert_failure 64
  run trainbox shard -o out --max-bytes lots
  assert_failure 64
  run trainbox shard -o out --rejects r
  assert_failure 64
}

@test "a missing input file exits 66" {
  run trainbox shard -o out nope.jsonl
  assert_failure 66
}

@test "out of disk space exits 74 with consistent state; after freeing space a re-run completes identically" {
  mkdir small
  mount -t tmpfs -o size=4m tmpfs small 2>/dev/null || skip "cannot mount a tmpfs here"
  gen_samples 1000 > in.jsonl
  trainbox shard -o ref --max-samples 300 in.jsonl > ref.records
  head -c 2600000 /dev/zero > small/ballast
  run --separate-stderr bash -c "cd small && trainbox shard -o out --max-samples 300 ../in.jsonl"
  status_full=$status
  rm small/ballast
  [ "$status_full" -eq 74 ] || { umount small; fail "exit $status_full, not 74: $stderr"; }
  [[ "$stderr" == *"No space left on device"* ]] || { umount small; fail "$stderr"; }
  done_before=${#lines[@]}
  run bash -c "cd small && trainbox shard -o out --max-samples 300 ../in.jsonl"
  ok=$status
  a=$(cd ref && sha256sum *.tar); b=$(cd small/out && sha256sum *.tar); partials=$(ls -A small/out | grep -c partial || true)
  umount small
  [ "$ok" -eq 0 ]
  [ "$done_before" -ge 1 ]
  [ "$a" = "$b" ]
  [ "$partials" -eq 0 ]
  diff <(jq -c 'del(.path)' ref.records) <(printf '%s\n' "${lines[@]}" | jq -c 'del(.path)')
}
