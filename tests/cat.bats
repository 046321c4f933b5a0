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

@test "missing input exits 66, remote sources not built yet 69, no URI 64" {
  run trainbox cat nope.tar
  assert_failure 66
  run trainbox cat 'nothing-*.tar'
  assert_failure 66
  run trainbox cat s3://bucket/prefix/
  assert_failure 69
  run trainbox cat
  assert_failure 64
}

# Say only what is built: cat reads local inputs, http(s) URLs and single bucket objects; every
# place that describes it says so, and says the rest (prefixes, globs and brace ranges in keys,
# manifests, hf://) is coming rather than that it works.
@test "help, man pages and README say what cat reads now and that the rest is coming" {
  run --separate-stderr trainbox cat hf://datasets/org/name/data/x.jsonl.gz
  assert_failure 69
  [[ "$stderr" == *"coming"* ]] || fail "$stderr"
  texts=("$(trainbox --help | grep '^  cat ')" "$(trainbox cat --help)"
         "$(sed -n '/^\.SH NAME/,/^\.SH SYNOPSIS/p' "$REPO/man/trainbox-cat.1")"
         "$(grep -A1 'trainbox\\-cat (1)' "$REPO/man/trainbox.1")" "$(grep '^| `cat`' "$REPO/README.md")")
  for t in "${texts[@]}"; do
    [[ "$t" == *local* && "$t" == *http* && "$t" == *bucket* ]] || fail "does not say local, http and bucket: $t"
    while IFS= read -r l; do
      [[ "$l" == *coming* ]] || fail "names a source not built without saying it is coming: $l"
    done < <(grep -iE 'Hugging|hf://|prefix|manifest' <<<"$t")
  done
  # no example reads what is not built
  run grep -nE 'cat +(hf://|[^ ]*manifest\.json|(s3|r2|gs|az)://[^ ]*/( |$))' "$REPO/README.md" "$REPO"/man/*.1
  assert_failure
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
