#!/usr/bin/env bats
# cat over the network: http(s) URLs (tests/http_server.py, with Range, If-Range, ETag and dropped
# connections) and single bucket objects on moto and Azurite decode exactly as the local files do; a
# dropped connection resumes byte-identically; a file changed before the resume is an error, not a
# splice; missing objects 66, closed ports 69; prefixes, globs, manifests and hf:// still 69.
load helper
bats_require_minimum_version 1.5.0

setup_file() {
  WWW="$BATS_FILE_TMPDIR/www"
  mkdir -p "$WWW"
  cd "$WWW"
  # 12 MB of NDJSON: more than the source's 1 MiB buffer, so the GET pauses and resumes too
  gen_samples 20000 5 --binary-frac=0.1 > in.jsonl
  gzip -k in.jsonl
  zstd -q -k in.jsonl
  trainbox shard -o plain --max-samples 100000 in.jsonl > /dev/null
  trainbox shard -o gz --compress gzip --max-samples 100000 in.jsonl > /dev/null
  trainbox shard -o zst --compress zstd --max-samples 100000 in.jsonl > /dev/null
  cp plain/*.tar shard.tar
  cp gz/*.tar.gz shard.tar.gz
  cp zst/*.tar.zst shard.tar.zst
  trainbox cat shard.tar > shard.out
  HTTP_PORT=$(free_port)
  python3 "$REPO/tests/http_server.py" --dir "$WWW" --port "$HTTP_PORT" --log "$BATS_FILE_TMPDIR/http.log" 3>&- &
  HTTP_PID=$!
  wait_port "$HTTP_PORT" 10
  export WWW HTTP_PORT HTTP_PID
  H="http://127.0.0.1:$HTTP_PORT"
  export H
}

teardown_file() {
  stop_pid "${HTTP_PID:-}"
}

setup() {
  cd "$BATS_TEST_TMPDIR"
}

# servers a test starts are stopped by PID whether it passed or not (a live one would keep bats
# waiting on its inherited output)
teardown() {
  stop_pid "${PROXY_PID:-}"
  stop_pid "${MOTO_PID:-}"
  stop_pid "${AZURITE_PID:-}"
}

@test "http: jsonl, jsonl.gz, jsonl.zst and tar shards (plain, gz, zst) read as the local files do" {
  for f in in.jsonl in.jsonl.gz in.jsonl.zst; do
    trainbox cat "$H/$f" > out
    cmp out "$WWW/in.jsonl" || fail "$f differs"
  done
  for f in shard.tar shard.tar.gz shard.tar.zst; do
    trainbox cat "$H/$f" > out
    cmp out "$WWW/shard.out" || fail "$f differs"
  done
  # the kind goes by the path, not the query string; --keys-only and --limit as for files
  trainbox cat "$H/in.jsonl.gz?x=1#f" | cmp - "$WWW/in.jsonl"
  run bash -c "trainbox cat -n 3 --keys-only '$H/shard.tar.zst'"
  assert_success
  [ "$output" = "$(trainbox cat -n 3 --keys-only "$WWW/shard.tar")" ]
}

@test "http: gzip members decode alike with ISA-L and zlib; a truncated .jsonl.gz is 65; --limit ends the read-ahead early" {
  head -n 7000 "$WWW/in.jsonl" | gzip -1 > "$WWW/multi.jsonl.gz"
  tail -n +7001 "$WWW/in.jsonl" | gzip -9 >> "$WWW/multi.jsonl.gz"
  head -c 300000 "$WWW/in.jsonl.gz" > "$WWW/cut.jsonl.gz"
  for impl in isal zlib; do
    TRAINBOX_GUNZIP=$impl trainbox cat "$H/multi.jsonl.gz" > out
    cmp out "$WWW/in.jsonl" || fail "$impl: two members differ"
    TRAINBOX_GUNZIP=$impl trainbox cat "$WWW/multi.jsonl.gz" | cmp - "$WWW/in.jsonl" || fail "$impl: the local file differs"
    run --separate-stderr env TRAINBOX_GUNZIP=$impl trainbox cat "$H/cut.jsonl.gz"
    assert_failure 65
    [[ "$stderr" == *"cut.jsonl.gz"*"truncated gzip stream"* ]] || fail "$impl: $stderr"
  done
  run --separate-stderr env TRAINBOX_GUNZIP=lz4 trainbox cat "$H/in.jsonl.gz"
  assert_failure 64
  # the reader stops after 3 samples; the worker reading ahead is stopped and joined
  run --separate-stderr trainbox cat -n 3 "$H/in.jsonl.gz"
  assert_success
  [ "${#lines[@]}" -eq 3 ]
  [ "$output" = "$(head -n 3 "$WWW/in.jsonl")" ]
}

@test "http: a connection dropped mid-body resumes with Range and If-Range; the output is byte-identical" {
  trainbox cat "$H/in.jsonl?drop=3000000" > out
  cmp out "$WWW/in.jsonl"
  grep -F 'GET /in.jsonl?drop=3000000 range=bytes=3000000- if-range="' "$BATS_FILE_TMPDIR/http.log" | grep -q -- '-> 206'
  # compressed: the decoder never sees the seam
  trainbox cat "$H/in.jsonl.zst?drop=100000" | cmp - "$WWW/in.jsonl"
  trainbox cat "$H/shard.tar.gz?drop=777777" | cmp - "$WWW/shard.out"
}

@test "http: a server that answers the resume with 200 is read on from the byte reached" {
  trainbox cat "$H/in.jsonl.gz?drop=500000&norange=1" | cmp - "$WWW/in.jsonl"
  grep -F 'GET /in.jsonl.gz?drop=500000&norange=1 range=bytes=500000-' "$BATS_FILE_TMPDIR/http.log" | grep -q -- '-> 200'
}

@test "http: a file changed between the drop and the resume is an error (65), never a splice" {
  cp "$WWW/in.jsonl" "$WWW/changing.jsonl"
  cp "$WWW/in.jsonl" orig.jsonl
  run --separate-stderr trainbox cat "$H/changing.jsonl?drop=3000000&change=1"
  assert_failure 65
  [[ "$stderr" == *"changed while being read"* ]] || fail "$stderr"
  # what was printed is whole lines of the original, up to the drop, and nothing after it
  printf '%s\n' "$output" > got
  n=$(wc -c < got)
  [ "$n" -le 3000000 ] && [ "$n" -gt 2900000 ]
  cmp got <(head -c "$n" orig.jsonl)
  # neither ETag nor Last-Modified: the resume cannot be checked, so it is not made (69)
  run --separate-stderr trainbox cat "$H/in.jsonl?drop=100000&novalid=1"
  assert_failure 69
  [[ "$stderr" == *"no ETag or Last-Modified"* ]] || fail "$stderr"
}

@test "http: 404 is 66, a closed port 69, without a connection drop or with --retries 1" {
  run --separate-stderr trainbox cat "$H/nope.jsonl"
  assert_failure 66
  [[ "$stderr" == *"404"* ]] || fail "$stderr"
  port=$(free_port)
  run --separate-stderr trainbox cat --retries 1 "http://127.0.0.1:$port/x.jsonl"
  assert_failure 69
  # with --retries 1 a dropped connection is not resumed: the read fails (69) after whole lines
  run --separate-stderr trainbox cat --retries 1 "$H/in.jsonl?drop=200000"
  assert_failure 69
  run trainbox cat --retries 0 "$H/in.jsonl"
  assert_failure 64
}

@test "hf://, bucket prefixes, globs, brace ranges and manifests say they are coming (69)" {
  run --separate-stderr trainbox cat hf://datasets/org/name/data/x.jsonl.gz
  assert_failure 69
  [[ "$stderr" == *"coming"* ]] || fail "$stderr"
  for u in s3://b/ s3://b/dir/ 's3://b/train-*.tar' 's3://b/train-{000000..000003}.tar' s3://b/ds/manifest.json "$H/ds/manifest.json"; do
    run --separate-stderr trainbox cat "$u"
    assert_failure 69
    [[ "$stderr" == *"coming"* ]] || fail "$u: $stderr"
  done
}

@test "s3 (moto): the same files as objects read identically; a missing object 66; a drop resumed" {
  start_moto
  mb tb-cat
  (cd "$WWW" && trainbox upload --progress=none s3://tb-cat/d/ -- in.jsonl in.jsonl.gz in.jsonl.zst shard.tar shard.tar.gz shard.tar.zst > /dev/null)
  for f in in.jsonl in.jsonl.gz in.jsonl.zst; do
    trainbox cat "s3://tb-cat/d/$f" | cmp - "$WWW/in.jsonl" || fail "$f differs"
  done
  for f in shard.tar shard.tar.gz shard.tar.zst; do
    trainbox cat "s3://tb-cat/d/$f" | cmp - "$WWW/shard.out" || fail "$f differs"
  done
  run --separate-stderr trainbox cat s3://tb-cat/d/nope.jsonl
  assert_failure 66
  # every other GET cut short by the proxy: resumed (ranged GETs, ETag checked) to the same bytes
  start_proxy --faults truncate --methods GET --rate 0.5 --seed 3
  trainbox cat --endpoint "$PROXY_URL" --retries 30 s3://tb-cat/d/in.jsonl.gz | cmp - "$WWW/in.jsonl"
  grep -q truncate "$BATS_TEST_TMPDIR/faults.log"
  stop_proxy
  # signatures checked and these credentials unknown to it: refused, 77
  moto_auth on
  run --separate-stderr trainbox cat s3://tb-cat/d/in.jsonl
  moto_auth off
  assert_failure 77
}

@test "az (Azurite): a blob reads as the local file does; a missing blob 66" {
  start_azurite || skip "Azurite not available"
  export AZURE_STORAGE_CONNECTION_STRING="$AZ_CONN"
  "$REPO/${TB_BUILD:-build}/drivers/store_cli" mkroot az://devstoreaccount1/catc
  (cd "$WWW" && trainbox upload --progress=none az://devstoreaccount1/catc/ -- in.jsonl.zst shard.tar.gz > /dev/null)
  trainbox cat az://devstoreaccount1/catc/in.jsonl.zst | cmp - "$WWW/in.jsonl"
  trainbox cat az://devstoreaccount1/catc/shard.tar.gz | cmp - "$WWW/shard.out"
  run trainbox cat az://devstoreaccount1/catc/nope.jsonl
  assert_failure 66
}
