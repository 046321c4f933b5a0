#!/usr/bin/env bats
# cat: NDJSON (plain, gz, zst) and shards (plain, gz, zst) from files, directories and globs back to
# samples; the inverse mapping; limits; corrupt and unsafe shards.
load helper
bats_require_minimum_version 1.5.0

setup() {
  cd "$BATS_TEST_TMPDIR"
}

sums() { (cd "$1" && sha256sum -- *.tar* | sort -k2); }

@test "round trip on generated data: text, nested JSON, unicode, binary, empty strings, keys with directories" {
  gen_samples 2000 5 --dirs --binary-frac=0.25 > in.jsonl
  # and the awkward cases the generator does not make
  cat >> in.jsonl <<'EOF'
{"__key__":"odd/ü-日本/k","txt":"","json":[],"seg.png":{"$base64":""},"cls":0,"n":null,"b":true,"s":"\u0000\u001f\"\\/"}
{"__key__":"odd/num","json":{"big":123456789012345678901234567890,"f":1.0e+10,"neg":-0.0},"x.json":" not json "}
{"__key__":"odd/strjson","json":"a bare string","jsn":{"a" : 1 }}
EOF
  trainbox shard -o a --max-samples 700 in.jsonl > /dev/null
  trainbox cat a/*.tar | trainbox shard -o b --max-samples 700 > /dev/null
  [ "$(sums a)" = "$(sums b)" ]
  # twice round: still identical, and cat output is stable
  trainbox cat b > b.jsonl
  trainbox cat a > a.jsonl
  cmp a.jsonl b.jsonl
  [ "$(wc -l < a.jsonl)" -eq 2003 ]
}

@test "cat's inverse mapping: json as JSON values, text as strings, binary as \$base64" {
  printf '%s\n' '{"__key__":"k","json":{"id":9007199254740993,"a":[1,2.50]},"txt":"héllo\tx","cls":3,"bin":{"$base64":"AAEC/w=="},"sub.txt":{"$base64":"/w=="}}' > in.jsonl
  trainbox shard -o out in.jsonl > /dev/null
  run trainbox cat out/shard-000000.tar
  assert_success
  assert_output '{"__key__":"k","bin":{"$base64":"AAEC/w=="},"cls":"3","json":{"id":9007199254740993,"a":[1,2.50]},"sub.txt":{"$base64":"/w=="},"txt":"héllo\tx"}'
}

@test "compressed shards and NDJSON (.gz, .zst) are decoded while streaming" {
  gen_samples 300 > in.jsonl
  trainbox shard -o plain --max-samples 100 in.jsonl > /dev/null
  trainbox shard -o gz --compress gzip --max-samples 100 in.jsonl > /dev/null
  trainbox shard -o zst --compress zstd --max-samples 100 in.jsonl > /dev/null
  trainbox cat plain > p.jsonl
  run bash -c "trainbox cat gz | cmp - p.jsonl && trainbox cat zst/*.tar.zst | cmp - p.jsonl"
  assert_success
  gzip -c in.jsonl > in.jsonl.gz
  zstd -q -c in.jsonl > in.jsonl.zst
  cp in.jsonl in.ndjson
  run bash -c "trainbox cat in.jsonl.gz | cmp - in.jsonl && trainbox cat in.jsonl.zst | cmp - in.jsonl && trainbox cat in.ndjson | cmp - in.jsonl"
  assert_success
}

@test "directories are read recursively in name order; globs expand; - is stdin" {
  gen_samples 30 > in.jsonl
  mkdir -p d/sub
  head -10 in.jsonl > d/b.jsonl
  sed -n 11,20p in.jsonl > d/sub/c.jsonl
  sed -n 21,30p in.jsonl > d/a.jsonl
  echo 'ignored' > d/notes.md
  run trainbox cat d
  assert_success
  [ "${#lines[@]}" -eq 30 ]
  [ "${lines[0]}" = "$(sed -n 21p in.jsonl)" ]
  [ "${lines[10]}" = "$(sed -n 1p in.jsonl)" ]
  [ "${lines[20]}" = "$(sed -n 11p in.jsonl)" ]
  run trainbox cat 'd/*.jsonl'
  [ "${#lines[@]}" -eq 20 ]
  run bash -c "head -3 in.jsonl | trainbox cat -"
  [ "${#lines[@]}" -eq 3 ]
  run trainbox cat file://"$PWD"/d/a.jsonl
  [ "${#lines[@]}" -eq 10 ]
}

@test "--limit, --offset and --keys-only" {
  gen_samples 50 > in.jsonl
  trainbox shard -o out --max-samples 20 in.jsonl > /dev/null
  run trainbox cat --offset 15 --limit 10 --keys-only out
  assert_success
  [ "${#lines[@]}" -eq 10 ]
  assert_line --index 0 '{"__key__":"sample00000015"}'
  assert_line --index 9 '{"__key__":"sample00000024"}'
  run trainbox cat -n 2 in.jsonl
  [ "${#lines[@]}" -eq 2 ]
  gen_samples 3 --no-key > nokey.jsonl
  run trainbox cat --keys-only nokey.jsonl
  assert_output $'{"__key__":"000000000"}\n{"__key__":"000000001"}\n{"__key__":"000000002"}'
}

@test "a truncated shard: every complete sample before the break, then 65 naming the shard and offset" {
  gen_samples 40 > in.jsonl
  trainbox shard -o out in.jsonl > /dev/null
  head -c 30000 out/shard-000000.tar > cut.tar
  run --separate-stderr trainbox cat cut.tar
  assert_failure 65
  [[ "$stderr" == *"cut.tar: truncated or corrupt shard at byte "* ]]
  n=${#lines[@]}
  [ "$n" -gt 3 ]
  # what came out is exactly the first n samples
  diff <(printf '%s\n' "${lines[@]}") <(trainbox cat --limit "$n" out)
  # --skip-corrupt goes on with the next input
  run --separate-stderr trainbox cat --skip-corrupt cut.tar out/shard-000000.tar
  assert_success
  [ "${#lines[@]}" -eq $((n + 40)) ]
  [[ "$stderr" == *"skipped"* ]]
}

@test "a shard cut exactly at a member boundary (no end-of-archive blocks) is truncated too" {
  gen_samples 10 > in.jsonl
  trainbox shard -o out in.jsonl > /dev/null
  # cut right after the members of sample 5 (its last member's data, padded), before sample 6
  cut=$(python3 -c "
import tarfile
t = tarfile.open('out/shard-000000.tar')
ms = [m for m in t.getmembers()]
first6 = next(m for m in ms if m.name.startswith('sample00000006.'))
print(first6.offset)")
  head -c "$cut" out/shard-000000.tar > cut.tar
  [ $((cut % 512)) -eq 0 ]
  run --separate-stderr trainbox cat cut.tar
  assert_failure 65
  [[ "$stderr" == *"cut.tar: truncated shard at byte $cut: no end-of-archive blocks"* ]] || fail "$stderr"
  # the samples before the last group are out; the last group, which may be missing members, is not
  diff <(printf '%s\n' "${lines[@]}") <(trainbox cat --limit 5 out)
  # the whole shard still reads to the end (its trailer is there)
  run trainbox cat out/shard-000000.tar
  assert_success
  [ "${#lines[@]}" -eq 10 ]
}

@test "a corrupt header is reported with its offset" {
  gen_samples 20 > in.jsonl
  trainbox shard -o out in.jsonl > /dev/null
  cp out/shard-000000.tar bad.tar
  # the 3rd member's header (members of the first samples are one block of data each or more)
  off=$(python3 -c "
import tarfile; t = tarfile.open('bad.tar'); ms = t.getmembers(); print(ms[5].offset)")
  printf 'XXXXXXXX' | dd of=bad.tar bs=1 seek=$((off + 148)) conv=notrunc 2>/dev/null
  run --separate-stderr trainbox cat bad.tar
  assert_failure 65
  [[ "$stderr" == *"bad.tar: truncated or corrupt shard at byte $off"* ]] || fail "$stderr"
}

@test "member names with .. or a leading / are refused with 65" {
  python3 - <<'EOF'
import io, tarfile
for fn, name in (('dotdot.tar', 'a/../../etc/x.txt'), ('abs.tar', '/etc/x.txt')):
    with tarfile.open(fn, 'w') as t:
        for n in ('ok.txt', name):
            ti = tarfile.TarInfo(n); ti.size = 1; t.addfile(ti, io.BytesIO(b'x'))
EOF
  run --separate-stderr trainbox cat dotdot.tar
  assert_failure 65
  [[ "$stderr" == *"unsafe member name 'a/../../etc/x.txt'"* ]]
  run --separate-stderr trainbox cat abs.tar
  assert_failure 65
  [[ "$stderr" == *"unsafe member name '/etc/x.txt'"* ]]
}

@test "shards written by GNU tar and Python are read; directories in them are skipped" {
  mkdir -p src/d
  printf 'hello' > src/d/k1.txt
  printf '{"a":1}' > src/d/k1.json
  printf '\x89PNG' > src/d/k2.png
  tar -cf gnu.tar -C src d
  run bash -c "trainbox cat gnu.tar | jq -c -S ."
  assert_success
  # GNU tar stores a directory in readdir order: fields come out in member order
  assert_line '{"__key__":"d/k1","json":{"a":1},"txt":"hello"}'
  assert_line '{"__key__":"d/k2","png":{"$base64":"iVBORw=="}}'
  [ "${#lines[@]}" -eq 2 ]
}

@test "invalid NDJSON is reported with file and line, exit 65" {
  printf '{"a":"x"}\n[1]\n' > bad.jsonl
  run --separate-stderr trainbox cat bad.jsonl
  assert_failure 65
  [[ "$stderr" == *"line 2 of bad.jsonl"* ]]
  [ "${#lines[@]}" -eq 1 ]
}

@test "missing input exits 66, no URI 64; nothing is printed before every input was found" {
  printf '{"a":1}\n' > ok.jsonl
  run --separate-stderr trainbox cat ok.jsonl nope.tar
  assert_failure 66
  [ -z "$output" ]
  run trainbox cat 'nothing-*.tar'
  assert_failure 66
  run trainbox cat
  assert_failure 64
}

@test "parquet is refused with 65 and a way around" {
  printf 'PAR1' > d.parquet
  run --separate-stderr trainbox cat d.parquet
  assert_failure 65
  [[ "$stderr" == *"Parquet"* && "$stderr" == *"datasets-server"* && "$stderr" == *"JSON"* ]] || fail "$stderr"
}

@test "--rank/--world-size: file i to rank i mod N, disjoint and complete, shuffled alike on every rank" {
  mkdir d
  for i in 0 1 2 3 4 5 6; do printf '{"f":%d,"n":1}\n{"f":%d,"n":2}\n' $i $i > d/f$i.jsonl; done
  trainbox cat d > all
  for sh in "" "--shuffle --seed 7 --epoch 2"; do
    : > union
    for r in 0 1 2; do
      # shellcheck disable=SC2086
      trainbox cat --rank $r --world-size 3 $sh d > r$r
      cat r$r >> union
    done
    [ "$(sort union)" = "$(sort all)" ] || fail "ranks not complete/disjoint with '$sh'"
    [ "$(wc -l < union)" -eq 14 ]
  done
  # unshuffled: rank 1 has files 1 and 4 in list order
  [ "$(trainbox cat --rank 1 --world-size 3 d | jq -c .f | tr '\n' ' ')" = "1 1 4 4 " ]
  # the shuffle is a permutation of whole files that depends on the epoch
  a=$(trainbox cat --shuffle --seed 7 --epoch 1 d | jq -c .f | uniq | tr '\n' ' ')
  b=$(trainbox cat --shuffle --seed 7 --epoch 2 d | jq -c .f | uniq | tr '\n' ' ')
  [ "$a" != "$b" ]
  [ "$(tr ' ' '\n' <<<"$a" | sort -n | tr '\n' ' ')" = " 0 1 2 3 4 5 6 " ]
  # the launcher's environment
  RANK=1 WORLD_SIZE=3 trainbox cat d | cmp - <(trainbox cat --rank 1 --world-size 3 d)
  # lib/rankenv's order: torchrun, Indexed Job (+ TRAINBOX_WORLD_SIZE), Slurm array ((ID - MIN) / STEP), srun
  JOB_COMPLETION_INDEX=1 TRAINBOX_WORLD_SIZE=3 trainbox cat d | cmp - <(trainbox cat --rank 1 --world-size 3 d)
  SLURM_ARRAY_TASK_ID=4 SLURM_ARRAY_TASK_MIN=0 SLURM_ARRAY_TASK_STEP=2 SLURM_ARRAY_TASK_MAX=4 SLURM_ARRAY_TASK_COUNT=3 \
    trainbox cat d | cmp - <(trainbox cat --rank 2 --world-size 3 d)
  SLURM_PROCID=0 SLURM_NTASKS=3 trainbox cat d | cmp - <(trainbox cat --rank 0 --world-size 3 d)
  RANK=2 WORLD_SIZE=3 SLURM_PROCID=0 SLURM_NTASKS=3 trainbox cat d | cmp - <(trainbox cat --rank 2 --world-size 3 d)
  run --separate-stderr env SLURM_PROCID=1 SLURM_NTASKS=3 trainbox cat -v d
  assert_success
  [[ "$stderr" == *"rank 1 from SLURM_PROCID=1, world size 3 from SLURM_NTASKS=3"* ]] || fail "$stderr"
  run --separate-stderr env JOB_COMPLETION_INDEX=1 trainbox cat d
  assert_failure 64
  [[ "$stderr" == *JOB_COMPLETION_INDEX*TRAINBOX_WORLD_SIZE* ]] || fail "$stderr"
  run --separate-stderr env SLURM_ARRAY_TASK_ID=1 SLURM_ARRAY_TASK_MIN=0 SLURM_ARRAY_TASK_STEP=2 SLURM_ARRAY_TASK_COUNT=3 trainbox cat d
  assert_failure 64
  [[ "$stderr" == *"not on the grid"* ]] || fail "$stderr"
  run --separate-stderr env RANK=3 WORLD_SIZE=3 trainbox cat d
  assert_failure 64
  [[ "$stderr" == *"RANK=3"*"WORLD_SIZE=3"* ]] || fail "$stderr"
  # fewer files than ranks: 65 unless allowed
  run --separate-stderr trainbox cat --rank 8 --world-size 9 d
  assert_failure 65
  [[ "$stderr" == *"--allow-empty-rank"* ]] || fail "$stderr"
  run --separate-stderr trainbox cat --rank 8 --world-size 9 --allow-empty-rank d
  assert_success
  [ -z "$output" ]
  run trainbox cat --rank 3 --world-size 3 d
  assert_failure 64
  run trainbox cat --rank 1 d
  assert_failure 64
}

@test "--state: a run stopped by --limit and re-run goes on at the next sample, for every kind" {
  gen_samples 3000 5 > a.jsonl
  gen_samples 2000 5 > b.jsonl
  trainbox shard -o sh --max-samples 700 b.jsonl > /dev/null
  gzip -k a.jsonl
  for set in "a.jsonl b.jsonl" "a.jsonl.gz sh" "sh a.jsonl"; do
    rm -f st
    # shellcheck disable=SC2086
    trainbox cat $set > full
    # shellcheck disable=SC2086
    trainbox cat --state st -n 1234 $set > part1
    # shellcheck disable=SC2086
    trainbox cat --state st -n 2500 $set > part2
    # shellcheck disable=SC2086
    trainbox cat --state st $set > part3
    [ "$(wc -l < part1)" -eq 1234 ]
    cat part1 part2 part3 | cmp - full || fail "resume of '$set' differs"
    # finished: a re-run prints nothing
    # shellcheck disable=SC2086
    [ -z "$(trainbox cat --state st $set)" ]
  done
  # --offset counts across the resume too
  rm -f st
  trainbox cat --state st --offset 10 -n 5 a.jsonl > p1
  trainbox cat --state st --offset 10 -n 10 a.jsonl > p2
  cat p1 p2 | cmp - <(sed -n '11,20p' a.jsonl)
  # another input list: refused
  run --separate-stderr trainbox cat --state st b.jsonl
  assert_failure 65
  [[ "$stderr" == *"other inputs"* ]] || fail "$stderr"
  printf 'garbage' > bad.st
  run trainbox cat --state bad.st a.jsonl
  assert_failure 65
  run trainbox cat --state st -
  assert_failure 64
}

@test "--state: killed by a closed pipe, the re-run repeats at most the unsaved tail and cuts no line" {
  gen_samples 60000 5 > big.jsonl
  rm -f st
  trainbox cat --state st big.jsonl big.jsonl | head -c 20000000 > /dev/null || true
  trainbox cat --state st big.jsonl big.jsonl > rest
  cat big.jsonl big.jsonl > full
  n=$(wc -c < rest); t=$(wc -c < full)
  # saved at least once (every 16 MiB) before the pipe closed, and nothing after 20 MB lost
  [ "$n" -lt "$t" ] && [ $((t - n)) -le 20000000 ] || fail "re-run wrote $n of $t bytes"
  tail -c "$n" full | cmp - rest || fail "the re-run is not a suffix of the stream"
  jq -c . rest > /dev/null
}

# Every place that describes cat names what it reads: local inputs, http(s), buckets, Hugging Face.
@test "help, man pages and README say what cat reads: local, http, buckets, manifests, Hugging Face" {
  texts=("$(trainbox --help | grep '^  cat ')" "$(trainbox cat --help)"
         "$(sed -n '/^\.SH NAME/,/^\.SH SYNOPSIS/p' "$REPO/man/trainbox-cat.1")"
         "$(grep -A1 'trainbox\\-cat (1)' "$REPO/man/trainbox.1")" "$(grep '^| `cat`' "$REPO/README.md")")
  for t in "${texts[@]}"; do
    [[ "$t" == *local* && "$t" == *http* && "$t" == *bucket* && "$t" == *manifest* && "$t" == *Hugging* ]] ||
      fail "does not say local, http, buckets, manifests and Hugging Face: $t"
    [[ "$t" != *coming* ]] || fail "says something is coming: $t"
  done
}

# A directory is read in the byte order of its paths (the order a bucket lists keys in, so the same
# tree reads the same locally and remotely): "a-b" and "a.b" before "a/...". Hidden names are left
# out; a symlink to a file is read, one to a directory is not entered and is named on stderr.
@test "directories: byte order of the full paths, hidden names skipped, symlinked directories not entered" {
  mkdir -p d/a d/.hidden other
  echo '{"n":"a/x"}' > d/a/x.jsonl
  echo '{"n":"a-b"}' > d/a-b.jsonl
  echo '{"n":"a.b"}' > d/a.b.jsonl
  echo '{"n":"a0"}' > d/a0.jsonl
  echo '{"n":"hidden"}' > d/.hidden/h.jsonl
  echo '{"n":"dot"}' > d/.dot.jsonl
  echo '{"n":"other"}' > other/o.jsonl
  ln -s ../other d/b-dir
  ln -s a0.jsonl d/c.jsonl
  run --separate-stderr trainbox cat d
  assert_success
  [ "$output" = "$(printf '%s\n' '{"n":"a-b"}' '{"n":"a.b"}' '{"n":"a/x"}' '{"n":"a0"}' '{"n":"a0"}')" ] || fail "$output"
  [[ "$stderr" == *"d/b-dir is a symlink to a directory: not followed"* ]] || fail "$stderr"
  run --separate-stderr trainbox cat -q d
  [ -z "$stderr" ]
}

@test "--max-line bounds a shard member as it bounds a line: refused with 65 above it, read below" {
  python3 -c 'import base64,json; print(json.dumps({"__key__": "big", "bin": {"$base64": base64.b64encode(bytes(2000000)).decode()}}))' > big.jsonl
  trainbox shard -q -o sh big.jsonl > /dev/null
  run --separate-stderr trainbox cat --max-line 1M sh/shard-000000.tar
  assert_failure 65
  run --separate-stderr trainbox cat --max-line 8M sh/shard-000000.tar
  assert_success
  [ "$(jq -r .__key__ <<<"$output")" = big ]
}
