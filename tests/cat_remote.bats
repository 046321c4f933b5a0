#!/usr/bin/env bats
# cat over the network: http(s) URLs (tests/http_server.py, with Range, If-Range, ETag and dropped
# connections) and single bucket objects on moto and Azurite decode exactly as the local files do; a
# dropped connection resumes byte-identically; a file changed before the resume is an error, not a
# splice; missing objects 66, closed ports 69; prefixes, globs and manifests expand to their
# objects (hf:// is tests/hf.bats).
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

@test "cat | shard killed with SIGKILL mid-stream and re-run gives the shards of one clean run" {
  trainbox cat "$H/in.jsonl.gz" | trainbox shard -o clean --max-samples 1500 > clean.rec
  trainbox cat "$H/in.jsonl.gz?drop=2000000" | trainbox shard -o killed --max-samples 1500 > /dev/null &
  for _ in $(seq 300); do [ -e killed/shard-000003.tar ] && break; sleep 0.05; done
  pkill -9 -f 'shard -o killed' || true
  pkill -9 -f "cat $H/in.jsonl.gz?drop" || true
  wait || true
  [ -e killed/shard-000003.tar ] || fail "the first run never got to shard 3"
  [ ! -e killed/shard-000013.tar ] || skip "the first run finished before it was killed"
  trainbox cat "$H/in.jsonl.gz?drop=2000000" | trainbox shard -o killed --max-samples 1500 > killed.rec
  diff <(cd clean && ls) <(cd killed && ls | grep -v '^\.')
  for f in clean/*.tar; do cmp "$f" "killed/${f#clean/}"; done
  # the records too: those of the finished shards printed again, then the rest
  diff <(jq -c 'del(.path)' clean.rec) <(jq -c 'del(.path)' killed.rec)
}

# gets PATTERN: how many GETs the http server logged for paths matching PATTERN
gets() { grep -c "GET $1" "$BATS_FILE_TMPDIR/http.log" || true; }

@test "--cache-dir: a second run reads the cache, no GET; a tiny limit evicts; two processes share one cache" {
  d="c$BATS_TEST_NUMBER"
  gen_samples 1200 4 > in.jsonl
  (cd "$WWW" && trainbox shard -o "$d" --max-samples 200 "$BATS_TEST_TMPDIR/in.jsonl" | trainbox manifest -o "$d/manifest.json")
  trainbox cat "$WWW/$d/manifest.json" > want
  run --separate-stderr trainbox cat -v --cache-dir cc "$H/$d/manifest.json"
  assert_success
  [ "$output" = "$(cat want)" ]
  [[ "$stderr" == *"6 downloaded ahead, 0 from the cache"* ]] || fail "$stderr"
  [ "$(gets "/$d/shard-")" -eq 6 ]
  [ "$(find cc -type f -path 'cc/??/*' | wc -l)" -eq 6 ]
  run --separate-stderr trainbox cat -v --cache-dir cc "$H/$d/manifest.json"
  assert_success
  [ "$output" = "$(cat want)" ]
  [[ "$stderr" == *"0 downloaded ahead, 6 from the cache"* ]] || fail "$stderr"
  [ "$(gets "/$d/shard-")" -eq 6 ] || fail "the second run downloaded again"
  # TRAINBOX_CACHE_DIR is the default
  TRAINBOX_CACHE_DIR=cc trainbox cat "$H/$d/manifest.json" | cmp - want
  [ "$(gets "/$d/shard-")" -eq 6 ]
  # a limit of two shards and a bit: never more than that kept, the output whole
  one=$(stat -c %s "$WWW/$d/shard-000000.tar")
  lim=$((one * 2 + one / 2))
  trainbox cat --cache-size "$lim" --cache-dir small "$H/$d/manifest.json" | cmp - want
  used=$(find small -type f -path 'small/??/*' -printf '%s\n' | awk '{s+=$1} END {print s+0}')
  [ "$used" -le "$lim" ] && [ "$used" -gt 0 ] || fail "cache holds $used bytes, limit $lim"
  [ -z "$(find small/tmp -type f)" ]
  # two processes at once on one cold cache: both outputs whole, one entry per shard, no temps
  trainbox cat --cache-dir shared "$H/$d/manifest.json" > o1 & p1=$!
  trainbox cat --cache-dir shared "$H/$d/manifest.json" > o2 & p2=$!
  wait "$p1"; wait "$p2"
  cmp o1 want; cmp o2 want
  [ "$(find shared -type f -path 'shared/??/*' | wc -l)" -eq 6 ]
  [ -z "$(find shared/tmp -type f)" ]
  run trainbox cat --cache-size lots --cache-dir cc "$H/$d/manifest.json"
  assert_failure 64
}

@test "--prefetch: the next files download while one streams; 0 streams every one; the output is the same" {
  d="p$BATS_TEST_NUMBER"
  gen_samples 1000 4 > in.jsonl
  trainbox shard -o "$WWW/$d" --max-samples 100 in.jsonl > /dev/null
  trainbox cat "$WWW/$d" > want
  run --separate-stderr trainbox cat -v "$H/$d/shard-{000000..000009}.tar"
  assert_success
  [ "$output" = "$(cat want)" ]
  # the first streams, the other nine are downloaded ahead (into temps, removed after)
  [[ "$stderr" == *"9 downloaded ahead"* ]] || fail "$stderr"
  run --separate-stderr trainbox cat -v --prefetch 0 "$H/$d/shard-{000000..000009}.tar"
  assert_success
  [ "$output" = "$(cat want)" ]
  [[ "$stderr" != *"downloaded ahead"* ]] || fail "$stderr"
  # stopped early: the thread is stopped, nothing is left behind
  export TMPDIR="$BATS_TEST_TMPDIR/tmp"; mkdir -p "$TMPDIR"
  run --separate-stderr trainbox cat -n 150 "$H/$d/shard-{000000..000009}.tar"
  assert_success
  [ "${#lines[@]}" -eq 150 ]
  [ -z "$(find "$TMPDIR" -mindepth 1)" ] || fail "left in TMPDIR: $(find "$TMPDIR")"
  run trainbox cat --prefetch 65 "$H/$d/shard-000000.tar"
  assert_failure 64
}

@test "s3 (moto): a prefix reads every object of a known kind in name order; --glob and globs in keys filter" {
  start_moto
  mb tb-pfx
  mkdir -p t/sub
  printf '{"f":"a"}\n' > t/a.jsonl
  printf '{"f":"b"}\n' | gzip > t/b.jsonl.gz
  printf '{"f":"c"}\n' > t/sub/c.jsonl
  printf '{"f":"z"}\n' > t/z.ndjson
  printf 'notes\n' > t/notes.txt
  printf '{"f":"hidden"}\n' > t/.hidden.jsonl
  (cd t && trainbox upload --progress=none s3://tb-pfx/ds/ -- a.jsonl b.jsonl.gz z.ndjson notes.txt .hidden.jsonl > /dev/null)
  (cd t/sub && trainbox upload --progress=none s3://tb-pfx/ds/sub/ -- c.jsonl > /dev/null)
  [ "$(trainbox cat s3://tb-pfx/ds/ | jq -r .f | tr '\n' ' ')" = "a b c z " ]
  # the local tree reads the same
  [ "$(trainbox cat t | jq -r .f | tr '\n' ' ')" = "a b c z " ]
  [ "$(trainbox cat --glob '*.jsonl' s3://tb-pfx/ds/ | jq -r .f | tr '\n' ' ')" = "a c " ]
  [ "$(trainbox cat --glob '/sub/**' s3://tb-pfx/ds/ | jq -r .f | tr '\n' ' ')" = "c " ]
  [ "$(trainbox cat --glob '*.jsonl' t | jq -r .f | tr '\n' ' ')" = "a c " ]
  [ "$(trainbox cat 's3://tb-pfx/ds/*.jsonl*' | jq -r .f | tr '\n' ' ')" = "a b " ]
  [ "$(trainbox cat 's3://tb-pfx/ds/**/*.jsonl' | jq -r .f | tr '\n' ' ')" = "a c " ]
  [ "$(trainbox cat 's3://tb-pfx/d*/[az].*' | jq -r .f | tr '\n' ' ')" = "a z " ]
  # nothing there: 66
  run --separate-stderr trainbox cat s3://tb-pfx/none/
  assert_failure 66
  run --separate-stderr trainbox cat 's3://tb-pfx/ds/*.tar'
  assert_failure 66
  run trainbox cat --glob '[' s3://tb-pfx/ds/
  assert_failure 64
  # ranks over a prefix: disjoint and complete
  for r in 0 1; do trainbox cat --rank $r --world-size 2 s3://tb-pfx/ds/; done | jq -r .f | sort | tr '\n' ' ' > u
  [ "$(cat u)" = "a b c z " ]
}

@test "a manifest and brace ranges as sources: shards in their order, local, over http and in a bucket; wrong sizes are 65" {
  gen_samples 900 3 > in.jsonl
  trainbox shard -o ds --max-samples 200 in.jsonl | trainbox manifest -o ds/manifest.json
  trainbox cat ds/manifest.json | cmp - <(trainbox cat ds/*.tar)
  trainbox cat ds/manifest.json | jq -c . > /dev/null
  [ "$(trainbox cat ds/manifest.json | wc -l)" -eq 900 ]
  # over http: relative paths resolve against the manifest's URL
  mkdir -p "$WWW/m"
  cp -r ds "$WWW/m/"
  trainbox cat "$H/m/ds/manifest.json" | cmp - <(trainbox cat ds/*.tar)
  # a size the manifest got wrong: 65
  jq '.shards[1].bytes += 512 | .totals.bytes += 512' ds/manifest.json > "$WWW/m/ds/manifest.json"
  run --separate-stderr trainbox cat "$H/m/ds/manifest.json"
  assert_failure 65
  want=$(jq '.shards[1].bytes' "$WWW/m/ds/manifest.json")
  [[ "$stderr" == *"shard-000001.tar"* && "$stderr" == *"$want"* ]] || fail "$stderr"
  # without prefetch (streamed) the same
  run --separate-stderr trainbox cat --prefetch 0 "$H/m/ds/manifest.json"
  assert_failure 65
  [[ "$stderr" == *"shard-000001.tar"* && "$stderr" == *"$want"* ]] || fail "$stderr"
  # in a bucket, uploaded and indexed as the README's pipeline does
  start_moto
  mb tb-man
  trainbox shard -o ds2 --max-samples 300 in.jsonl | trainbox upload --progress=none s3://tb-man/run/ \
    | trainbox manifest -o s3://tb-man/run/manifest.json
  trainbox cat s3://tb-man/run/manifest.json | cmp - <(trainbox cat ds2/*.tar)
  # brace ranges as WebDataset writes them: in a bucket, over http, locally
  trainbox cat 's3://tb-man/run/shard-{000000..000002}.tar' | cmp - <(trainbox cat ds2/*.tar)
  trainbox cat "$H/m/ds/shard-{000001..000002}.tar" | cmp - <(trainbox cat ds/shard-000001.tar ds/shard-000002.tar)
  trainbox cat 'ds/shard-{000000..000004}.tar' | cmp - <(trainbox cat ds/*.tar)
  run trainbox cat 's3://tb-man/run/shard-{000000..000003}.tar'
  assert_failure 66
  run --separate-stderr trainbox cat 'x-{0..2000000}.tar'
  assert_failure 64
  [[ "$stderr" == *"limit"* ]] || fail "$stderr"
  run trainbox cat s3://tb-man/run/nope/manifest.json
  assert_failure 66
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
  # the object replaced between the drop and the resume: the resume asks for the first version
  # (If-Match), the store answers 412, and that is 65, never a splice
  mkdir v1 v2
  cp "$WWW/in.jsonl" v1/obj.jsonl
  { cat "$WWW/in.jsonl"; echo '{"new":1}'; } > v2/obj.jsonl
  (cd v1 && trainbox upload --progress=none s3://tb-cat/d2/ -- obj.jsonl > /dev/null)
  : > "$BATS_TEST_TMPDIR/faults.log"
  start_proxy --faults truncate --methods GET --rate 1.0 --after-truncate "cd '$BATS_TEST_TMPDIR/v2' && trainbox upload --progress=none s3://tb-cat/d2/ -- obj.jsonl > /dev/null"
  run --separate-stderr trainbox cat --endpoint "$PROXY_URL" --retries 3 s3://tb-cat/d2/obj.jsonl
  stop_proxy
  assert_failure 65
  [[ "$stderr" == *"changed"* ]] || fail "$stderr"
  grep -q 'if-match' "$BATS_TEST_TMPDIR/faults.log"
  grep -q '412' "$BATS_TEST_TMPDIR/faults.log"
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
  # a cut GET resumes (x-ms-range, If-Match) to the same bytes; a blob replaced before the resume is 65
  mkdir v2
  { cat "$WWW/in.jsonl"; echo '{"new":1}'; } > v2/in.jsonl
  export FLAKY_RANGE_FILE="$BATS_TEST_TMPDIR/ranges"
  for round in same changed; do
    (cd "$WWW" && trainbox upload --progress=none az://devstoreaccount1/catc/ -- in.jsonl > /dev/null)
    FLAKY_PORT=$(free_port)
    : > "$FLAKY_RANGE_FILE"
    after=""
    [ "$round" = changed ] && after="cd '$BATS_TEST_TMPDIR/v2' && trainbox upload --progress=none az://devstoreaccount1/catc/ -- in.jsonl > /dev/null"
    FLAKY_AFTER_CUT="$after" python3 "$REPO/tests/az_flaky_proxy.py" "$FLAKY_PORT" "$AZURITE_PORT" 1 in.jsonl cut 3>&- &
    PROXY_PID=$!
    wait_port "$FLAKY_PORT" 10
    run --separate-stderr env AZURE_STORAGE_CONNECTION_STRING="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=$AZ_DEV_KEY;BlobEndpoint=http://127.0.0.1:$FLAKY_PORT/devstoreaccount1" \
      trainbox cat az://devstoreaccount1/catc/in.jsonl
    stop_pid "$PROXY_PID"
    grep -q '^bytes=[0-9]*- if-match$' "$FLAKY_RANGE_FILE" || fail "no resume with If-Match: $(cat "$FLAKY_RANGE_FILE")"
    if [ "$round" = same ]; then
      assert_success
      [ "$output" = "$(cat "$WWW/in.jsonl")" ]
    else
      assert_failure 65
      [[ "$stderr" == *"changed"* ]] || fail "$stderr"
    fi
  done
}
