#!/usr/bin/env bats
# tests/hf_mock.py proven with curl (listing pages, the redirect to another host name, Range and
# If-Range, the token rules, 429 with RateLimit), then lib/hf_fetch, lib/store_http and
# lib/src_remote driven against it (build/drivers/hf_cli: pages followed, 429 waited out, the token
# kept from the CDN, resumes on the CDN, the listing cache, offline mode).
load helper

setup() {
  cd "$BATS_TEST_TMPDIR"
  ROOT="$BATS_TEST_TMPDIR/root"
  local r="$ROOT/org/ds/main"
  mkdir -p "$r/data/sub" "$r/data/other" "$ROOT/org/ds/refs/convert/parquet/default"
  for i in 0 1 2 3 4; do printf '{"i":%d}\n' "$i" | gzip -n > "$r/data/train-0000$i.jsonl.gz"; done
  printf '{"s":1}\n' | gzip -n > "$r/data/sub/train-x.jsonl.gz"
  printf 'hello world\n' > "$r/data/other/notes.txt"
  printf '# ds\n' > "$r/README.md"
  printf 'PAR1' > "$ROOT/org/ds/refs/convert/parquet/default/0000.parquet"
  HF_DRIVER="$REPO/${TB_BUILD:-build}/drivers/hf_cli"
  # the listing cache of every test is its own (never the developer's ~/.cache)
  export XDG_CACHE_HOME="$BATS_TEST_TMPDIR/cache"
  unset HF_HUB_OFFLINE TRAINBOX_HF_LISTING_TTL HUGGING_FACE_HUB_TOKEN
}

teardown() {
  stop_pid "${MOCK_PID:-}"
}

# start_mock [OPTIONS]: hf_mock.py on two free ports; sets HUB (http://127.0.0.1:P), CDN_PORT, MOCK_LOG.
start_mock() {
  local port cdn
  port=$(free_port)
  cdn=$(free_port)
  MOCK_LOG="$BATS_TEST_TMPDIR/mock.log"
  python3 "$REPO/tests/hf_mock.py" --port "$port" --cdn-port "$cdn" --root "$ROOT" --log "$MOCK_LOG" "$@" \
    > "$BATS_TEST_TMPDIR/mock.out" 2> "$BATS_TEST_TMPDIR/mock.err" 3>&- &
  MOCK_PID=$!
  wait_port "$port" 10
  wait_port "$cdn" 10
  HUB="http://127.0.0.1:$port"
  CDN_PORT=$cdn
  grep -q '^ready$' "$BATS_TEST_TMPDIR/mock.out"
}

# paths PAGE.json: the "path" of every entry, one a line, in the listing's order
paths() { python3 -c 'import json,sys; [print(e["path"]) for e in json.load(open(sys.argv[1]))]' "$1"; }
# next_link HEADERS: the Link header's URL
next_link() { sed -n 's/^Link: <\(.*\)>; rel="next"\r\{0,1\}$/\1/p' "$1"; }

@test "mock: the tree listing in pages, each naming the next in Link, the Hub's entry shapes" {
  start_mock --page-size 3 --lfs-min 1000000
  url="$HUB/api/datasets/org/ds/tree/main/data?recursive=true"
  : > all.txt
  pages=0
  while [ -n "$url" ]; do
    curl -sS -D h.txt -o page.json "$url"
    paths page.json >> all.txt
    url=$(next_link h.txt)
    pages=$((pages + 1))
    [ "$pages" -lt 10 ] || fail "pagination never ends"
  done
  [ "$pages" -eq 3 ]  # 9 entries (2 directories, 7 files), 3 a page
  # the Hub's order: a directory's subdirectories, then its files, then the subdirectories' contents
  assert_equal "$(cat all.txt)" "$(printf '%s\n' data/other data/sub data/train-00000.jsonl.gz data/train-00001.jsonl.gz \
    data/train-00002.jsonl.gz data/train-00003.jsonl.gz data/train-00004.jsonl.gz data/other/notes.txt data/sub/train-x.jsonl.gz)"
  curl -sS -o page.json "$HUB/api/datasets/org/ds/tree/main/data?recursive=true&limit=100"
  python3 - page.json "$ROOT/org/ds/main/data/train-00000.jsonl.gz" <<'EOF'
import hashlib, json, sys
ents = {e["path"]: e for e in json.load(open(sys.argv[1]))}
d = ents["data/sub"]
assert d["type"] == "directory" and set(d) == {"type", "oid", "size", "path"}, d
f = ents["data/train-00000.jsonl.gz"]
data = open(sys.argv[2], "rb").read()
assert f["type"] == "file" and f["size"] == len(data), f
assert f["oid"] == hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest(), f
assert f["lfs"]["oid"] == hashlib.sha256(data).hexdigest() and f["lfs"]["size"] == len(data), f
assert "lfs" not in ents["data/other/notes.txt"], "a small text file is a regular git file"
EOF
  # without recursive=true only the directory's own entries
  curl -sS -o page.json "$HUB/api/datasets/org/ds/tree/main?limit=100"
  assert_equal "$(paths page.json)" "$(printf '%s\n' data README.md)"
}

@test "mock: an encoded revision and directory, and the Hub's errors" {
  start_mock
  curl -sS -o page.json "$HUB/api/datasets/org/ds/tree/refs%2Fconvert%2Fparquet/default?recursive=true"
  assert_equal "$(paths page.json)" "default/0000.parquet"
  curl -sS -o page.json "$HUB/api/datasets/org/ds/tree/main/data%2Fsub?recursive=true"
  assert_equal "$(paths page.json)" "data/sub/train-x.jsonl.gz"
  run curl -sS -D - -o body.json "$HUB/api/datasets/org/ds/tree/nope?recursive=true"
  [[ "$output" == "HTTP/1.1 404"* && "$output" == *"X-Error-Code: RevisionNotFound"* ]]
  run curl -sS -D - -o body.json "$HUB/api/datasets/org/ds/tree/main/missing?recursive=true"
  [[ "$output" == "HTTP/1.1 404"* && "$output" == *"X-Error-Code: EntryNotFound"* ]]
  grep -q '"error"' body.json
  # an unknown repository: 401 to a stranger, 404 to someone signed in, as the Hub answers
  run curl -sS -o /dev/null -w '%{http_code}' "$HUB/api/datasets/org/none/tree/main"
  assert_output 401
  run curl -sS -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer x' "$HUB/api/datasets/org/none/tree/main"
  assert_output 404
}

@test "mock: resolve redirects to another host name, which serves ranges with an ETag" {
  start_mock
  f="$ROOT/org/ds/main/data/train-00002.jsonl.gz"
  sha=$(sha256sum "$f" | cut -d' ' -f1)
  run curl -sS -D - -o /dev/null "$HUB/datasets/org/ds/resolve/main/data/train-00002.jsonl.gz"
  [[ "$output" == "HTTP/1.1 302"* ]]
  [[ "$output" == *"Location: http://localhost:$CDN_PORT/cdn/org/ds/main/data/train-00002.jsonl.gz?"* ]]
  [[ "$output" == *"X-Linked-Etag: \"$sha\""* ]]
  curl -sS -L -o got.gz "$HUB/datasets/org/ds/resolve/main/data/train-00002.jsonl.gz"
  cmp got.gz "$f"
  loc=$(curl -sS -o /dev/null -w '%{redirect_url}' "$HUB/datasets/org/ds/resolve/main/data/other/notes.txt")
  run curl -sS -D hdr.txt -r 6- "$loc"
  assert_output "world"
  grep -q '^HTTP/1.1 206' hdr.txt
  grep -q '^Content-Range: bytes 6-11/12' hdr.txt
  etag=$(sed -n 's/^ETag: \(.*\)\r$/\1/p' hdr.txt)
  [ "$etag" = "\"$(sha256sum "$ROOT/org/ds/main/data/other/notes.txt" | cut -d' ' -f1)\"" ]
  run curl -sS -r -6 "$loc"
  assert_output "world"
  # If-Range with the current ETag: the range; with a stale one: the whole file
  run curl -sS -r 0-4 -H "If-Range: $etag" "$loc"
  assert_output "hello"
  run curl -sS -r 0-4 -H 'If-Range: "stale"' -w ' %{http_code}' "$loc"
  assert_output "hello world
 200"
  run curl -sS -o /dev/null -w '%{http_code}' -r 100- "$loc"
  assert_output 416
  # the encoded revision resolves too
  curl -sS -L -o p.parquet "$HUB/datasets/org/ds/resolve/refs%2Fconvert%2Fparquet/default/0000.parquet"
  [ "$(cat p.parquet)" = PAR1 ]
}

@test "mock: --token: the Hub wants the bearer token, the CDN refuses any Authorization and logs it" {
  start_mock --token hf_secret
  run curl -sS -o /dev/null -w '%{http_code}' "$HUB/api/datasets/org/ds/tree/main"
  assert_output 401
  run curl -sS -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer wrong' "$HUB/api/datasets/org/ds/tree/main"
  assert_output 401
  run curl -sS -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer hf_secret' "$HUB/api/datasets/org/ds/tree/main"
  assert_output 200
  run curl -sS -o /dev/null -w '%{http_code}' "$HUB/datasets/org/ds/resolve/main/README.md"
  assert_output 401
  loc=$(curl -sS -o /dev/null -w '%{redirect_url}' -H 'Authorization: Bearer hf_secret' "$HUB/datasets/org/ds/resolve/main/README.md")
  [[ "$loc" == "http://localhost:$CDN_PORT/"* ]]
  # the right way: no token to the CDN
  run curl -sS "$loc"
  assert_output "# ds"
  # a client that forwards the token across the redirect is refused, and the log shows it
  run curl -sS -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer hf_secret' "$loc"
  assert_output 400
  run python3 -c 'import json,sys
for l in open(sys.argv[1]):
    r = json.loads(l); print(r["server"], r["method"], r["status"], r["auth"])' "$MOCK_LOG"
  assert_output "hub GET 401 False
hub GET 401 True
hub GET 200 True
hub GET 401 False
hub GET 302 True
cdn GET 200 False
cdn GET 400 True"
}

@test "mock: --fail429 K: the first K Hub requests get 429 with RateLimit and no Retry-After" {
  start_mock --fail429 2 --ratelimit-t 3
  for i in 1 2; do
    curl -sS -D h$i.txt -o /dev/null "$HUB/api/datasets/org/ds/tree/main"
    grep -q '^HTTP/1.1 429' h$i.txt
    grep -q '^RateLimit: "api";r=0;t=3' h$i.txt
    ! grep -qi '^Retry-After' h$i.txt
  done
  run curl -sS -o /dev/null -w '%{http_code}' "$HUB/api/datasets/org/ds/tree/main"
  assert_output 200
}

@test "mock: --drop-after: the first CDN GET is cut after N bytes, the next is whole" {
  start_mock --drop-after 5
  loc=$(curl -sS -o /dev/null -w '%{redirect_url}' "$HUB/datasets/org/ds/resolve/main/data/other/notes.txt")
  run curl -sS -o part.txt "$loc"
  assert_failure 18  # CURLE_PARTIAL_FILE
  [ "$(cat part.txt)" = hello ]
  run curl -sS -r 5- "$loc"
  assert_output " world"
}

# ---- lib/hf + lib/http against the mock (build/drivers/hf_cli)

@test "hf_cli: a glob listed across pages, sorted, with sizes and etags" {
  [ -x "$HF_DRIVER" ] || skip "build/drivers/hf_cli not built (make unit)"
  start_mock --page-size 2
  run --separate-stderr env HF_ENDPOINT="$HUB" "$HF_DRIVER" list 'hf://datasets/org/ds/data/train-*.jsonl.gz'
  assert_success
  want=""
  for i in 0 1 2 3 4; do
    f="$ROOT/org/ds/main/data/train-0000$i.jsonl.gz"
    want+="data/train-0000$i.jsonl.gz $(stat -c %s "$f") $(sha256sum "$f" | cut -d' ' -f1)"$'\n'
  done
  assert_equal "$output" "${want%$'\n'}"
  [[ "$stderr" == *"pages=5"* ]]  # 9 entries under data/, 2 a page
  run --separate-stderr env HF_ENDPOINT="$HUB" "$HF_DRIVER" list 'hf://datasets/org/ds/**/*.jsonl.gz'
  assert_success
  [ "${#lines[@]}" -eq 6 ]
  [[ "${lines[5]}" == "data/train-00004.jsonl.gz "* ]]  # byte order: data/sub/ sorts before data/train-
  [[ "${lines[0]}" == "data/sub/train-x.jsonl.gz "* ]]
}

@test "hf_cli: 429 with RateLimit is waited out by lib/http, then the listing succeeds" {
  [ -x "$HF_DRIVER" ] || skip "build/drivers/hf_cli not built (make unit)"
  start_mock --fail429 2 --ratelimit-t 1
  run --separate-stderr env HF_ENDPOINT="$HUB" HF_CLI_VERBOSE=1 "$HF_DRIVER" list 'hf://datasets/org/ds/data/other/*'
  assert_success
  [[ "$output" == "data/other/notes.txt 12 "* ]]
  [[ "$stderr" == *"retries=2"* ]]
  # the wait lib/http chose (its -v line, not a clock): RateLimit's t=1 plus at most a tenth, where
  # the backoff alone would have drawn 0-0.2 s and then 0-0.4 s
  [ "$(grep -cE -- '-> 429 \(attempt [12]/10, [0-9.]+ s\); retrying in 1\.(0[0-9][0-9]|100) s$' <<< "$stderr")" -eq 2 ] ||
    fail "no 1.0-1.1 s wait: $stderr"
  # the mock saw both 429s and then the request that succeeded, all for the same page
  run python3 -c 'import json,sys
for l in open(sys.argv[1]):
    r = json.loads(l); print(r["server"], r["status"], r["path"])' "$MOCK_LOG"
  assert_output "hub 429 /api/datasets/org/ds/tree/main/data%2Fother?recursive=true
hub 429 /api/datasets/org/ds/tree/main/data%2Fother?recursive=true
hub 200 /api/datasets/org/ds/tree/main/data%2Fother?recursive=true"
}

# hosts PATTERN: "server host auth status" of every logged request whose path matches PATTERN
hosts() {
  python3 -c 'import json,re,sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if re.search(sys.argv[2], r["path"]): print(r["server"], r["host"].split(":")[0], r["auth"], r["status"])' "$MOCK_LOG" "$1"
}

@test "hf_cli: get follows the redirect with the token to the Hub only; 401 is exit 77" {
  [ -x "$HF_DRIVER" ] || skip "build/drivers/hf_cli not built (make unit)"
  start_mock --token hf_secret
  run --separate-stderr env HF_ENDPOINT="$HUB" HF_TOKEN=hf_secret HF_CLI_VERBOSE=1 "$HF_DRIVER" get 'hf://datasets/org/ds/data/other/notes.txt'
  assert_success
  assert_output "hello world"
  # the Hub on 127.0.0.1 got the token, the CDN on localhost (another host name) did not
  run hosts .
  assert_output "hub 127.0.0.1 True 302
cdn localhost False 200"
  [[ "$stderr" != *hf_secret* ]] || fail "the token was printed: $stderr"
  # the URI names the repository, PATH the file
  run --separate-stderr env HF_ENDPOINT="$HUB" HF_TOKEN=hf_secret "$HF_DRIVER" get 'hf://datasets/org/ds' README.md
  assert_success
  assert_output "# ds"
  run --separate-stderr env HF_ENDPOINT="$HUB" "$HF_DRIVER" list 'hf://datasets/org/ds/data/*'
  assert_failure 77
  [[ "$stderr" == *"set HF_TOKEN"* ]]
  run --separate-stderr env HF_ENDPOINT="$HUB" HF_TOKEN=wrong_tok "$HF_DRIVER" get 'hf://datasets/org/ds/README.md'
  assert_failure 77
  [[ "$stderr" != *wrong_tok* ]]
  run --separate-stderr env HF_ENDPOINT="$HUB" HF_TOKEN=wrong_tok "$HF_DRIVER" list 'hf://datasets/org/ds/data/*'
  assert_failure 77
  [[ "$stderr" == *"refused the token in HF_TOKEN"* && "$stderr" != *wrong_tok* ]]
}

@test "hf_cli: three hops (Hub, the Hub's relative resolve-cache, CDN): the token on the Hub's two only" {
  [ -x "$HF_DRIVER" ] || skip "build/drivers/hf_cli not built (make unit)"
  start_mock --token hf_secret --via-resolve-cache
  run --separate-stderr env HF_ENDPOINT="$HUB" HF_TOKEN=hf_secret "$HF_DRIVER" get 'hf://datasets/org/ds/data/other/notes.txt'
  assert_success
  assert_output "hello world"
  run hosts .
  assert_output "hub 127.0.0.1 True 307
hub 127.0.0.1 True 302
cdn localhost False 200"
  # an HF_ENDPOINT naming the Hub as localhost: the CDN (localhost too, but another port) gets no token
  run --separate-stderr env HF_ENDPOINT="http://localhost:${HUB##*:}" HF_TOKEN=hf_secret "$HF_DRIVER" get 'hf://datasets/org/ds/README.md'
  assert_success
  assert_output "# ds"
  [ "$(hosts README | tail -1)" = "cdn localhost False 200" ]
}

@test "hf_cli: a body dropped mid-file resumes on the CDN URL with If-Range, byte-identical" {
  [ -x "$HF_DRIVER" ] || skip "build/drivers/hf_cli not built (make unit)"
  head -c 300000 /dev/urandom > "$ROOT/org/ds/main/data/big.bin"
  start_mock --token hf_secret --drop-after 100000 --drop-count 2
  env HF_ENDPOINT="$HUB" HF_TOKEN=hf_secret "$HF_DRIVER" get 'hf://datasets/org/ds/data/big.bin' > got.bin 2> err.txt
  grep -q 'retries=2' err.txt
  cmp got.bin "$ROOT/org/ds/main/data/big.bin"
  # one resolve on the Hub, then the CDN three times, resuming where each drop left off
  run python3 -c 'import json,sys
lines = [json.loads(l) for l in open(sys.argv[1])]
for r in lines: print(r["server"], r["status"], r["range"], r["if_range"] is not None, r["auth"])' "$MOCK_LOG"
  assert_output "hub 302 None False True
cdn 200-dropped None False False
cdn 206-dropped bytes=100000- True False
cdn 206 bytes=200000- True False"
}

@test "hf_cli: without a token (libcurl follows the redirect) a dropped body resumes too, byte-identical" {
  [ -x "$HF_DRIVER" ] || skip "build/drivers/hf_cli not built (make unit)"
  head -c 250000 /dev/urandom > "$ROOT/org/ds/main/data/big.bin"
  start_mock --drop-after 70000 --drop-count 1
  env HF_ENDPOINT="$HUB" "$HF_DRIVER" get 'hf://datasets/org/ds/data/big.bin' > got.bin 2> err.txt
  grep -q 'retries=1' err.txt
  cmp got.bin "$ROOT/org/ds/main/data/big.bin"
  run python3 -c 'import json,sys
for l in open(sys.argv[1]):
    r = json.loads(l); print(r["server"], r["status"], r["range"], r["auth"])' "$MOCK_LOG"
  assert_output "hub 302 None False
cdn 200-dropped None False
hub 302 bytes=70000- False
cdn 206 bytes=70000- False"
}

@test "hf_cli: a file that changed (its ETag) before the resume fails 65, nothing spliced" {
  [ -x "$HF_DRIVER" ] || skip "build/drivers/hf_cli not built (make unit)"
  head -c 200000 /dev/urandom > "$ROOT/org/ds/main/data/big.bin"
  start_mock --drop-after 50000 --change-on-drop
  run --separate-stderr env HF_ENDPOINT="$HUB" "$HF_DRIVER" get 'hf://datasets/org/ds/data/big.bin'
  assert_failure 65
  [[ "$stderr" == *"changed while being read"* ]]
  [ "${#output}" -le 50000 ]
}

@test "hf_cli: the listing cache is reused within its TTL, and not with TRAINBOX_HF_LISTING_TTL=0" {
  [ -x "$HF_DRIVER" ] || skip "build/drivers/hf_cli not built (make unit)"
  start_mock --page-size 4
  tree() { grep -c '"path": "/api/datasets/org/ds/tree/' "$MOCK_LOG"; }
  run --separate-stderr env HF_ENDPOINT="$HUB" "$HF_DRIVER" list 'hf://datasets/org/ds/data/train-*'
  assert_success
  first=$output
  [ "$(tree)" -eq 3 ]  # 9 entries, 4 a page
  [[ "$stderr" == *"cached=0"* ]]
  ls "$XDG_CACHE_HOME"/trainbox/hf/*.json > /dev/null
  # another pattern over the same directory: the same cache entry
  run --separate-stderr env HF_ENDPOINT="$HUB" "$HF_DRIVER" list 'hf://datasets/org/ds/data/train-0000[12].jsonl.gz'
  assert_success
  [ "${#lines[@]}" -eq 2 ]
  run --separate-stderr env HF_ENDPOINT="$HUB" "$HF_DRIVER" list 'hf://datasets/org/ds/data/train-*'
  assert_success
  assert_equal "$output" "$first"
  [[ "$stderr" == *"pages=0 cached=1"* ]]
  [ "$(tree)" -eq 3 ]
  run --separate-stderr env HF_ENDPOINT="$HUB" TRAINBOX_HF_LISTING_TTL=0 "$HF_DRIVER" list 'hf://datasets/org/ds/data/train-*'
  assert_success
  assert_equal "$output" "$first"
  [ "$(tree)" -eq 6 ]
  # an old entry (mtime an hour back) is listed afresh under the default TTL of 10 minutes
  touch -d '1 hour ago' "$XDG_CACHE_HOME"/trainbox/hf/*.json
  run --separate-stderr env HF_ENDPOINT="$HUB" "$HF_DRIVER" list 'hf://datasets/org/ds/data/train-*'
  assert_success
  [ "$(tree)" -eq 9 ]
  run --separate-stderr env HF_ENDPOINT="$HUB" TRAINBOX_HF_LISTING_TTL=soon "$HF_DRIVER" list 'hf://datasets/org/ds/data/train-*'
  assert_failure 64
}

@test "hf_cli: a commit id's listing is cached whatever the TTL" {
  [ -x "$HF_DRIVER" ] || skip "build/drivers/hf_cli not built (make unit)"
  rev=0123456789abcdef0123456789abcdef01234567
  mkdir -p "$ROOT/org/ds/$rev"
  printf 'a\n' > "$ROOT/org/ds/$rev/a.txt"
  start_mock
  for i in 1 2; do
    run --separate-stderr env HF_ENDPOINT="$HUB" TRAINBOX_HF_LISTING_TTL=0 "$HF_DRIVER" list "hf://datasets/org/ds@$rev/a.txt"
    assert_success
    [[ "$output" == "a.txt 2 "* ]]
  done
  [ "$(grep -c '/tree/' "$MOCK_LOG")" -eq 1 ]
}

@test "hf_cli: HF_HUB_OFFLINE=1 lists from the cache only; without a cached listing 69" {
  [ -x "$HF_DRIVER" ] || skip "build/drivers/hf_cli not built (make unit)"
  start_mock
  run --separate-stderr env HF_ENDPOINT="$HUB" "$HF_DRIVER" list 'hf://datasets/org/ds/data/train-*'
  assert_success
  first=$output
  n=$(wc -l < "$MOCK_LOG")
  # offline, even an old entry serves, and the Hub hears nothing
  touch -d '1 day ago' "$XDG_CACHE_HOME"/trainbox/hf/*.json
  run --separate-stderr env HF_ENDPOINT="$HUB" HF_HUB_OFFLINE=1 "$HF_DRIVER" list 'hf://datasets/org/ds/data/train-*'
  assert_success
  assert_equal "$output" "$first"
  [ "$(wc -l < "$MOCK_LOG")" -eq "$n" ]
  # another directory was never listed
  run --separate-stderr env HF_ENDPOINT="$HUB" HF_HUB_OFFLINE=1 "$HF_DRIVER" list 'hf://datasets/org/ds/data/sub/*'
  assert_failure 69
  [[ "$stderr" == *"not cached and offline mode is on"* ]]
  [ "$(wc -l < "$MOCK_LOG")" -eq "$n" ]
  # nothing cached at all, the Hub down: still 69, not an attempt to reach it
  stop_pid "$MOCK_PID"; MOCK_PID=
  run --separate-stderr env HF_ENDPOINT="$HUB" HF_HUB_OFFLINE=1 XDG_CACHE_HOME="$BATS_TEST_TMPDIR/empty" "$HF_DRIVER" list 'hf://datasets/org/ds/data/train-*'
  assert_failure 69
  [[ "$stderr" == *"not cached and offline mode is on"* ]]
}

@test "hf_cli: nothing matching is 66, a missing revision or repository 66 (77 to a stranger)" {
  [ -x "$HF_DRIVER" ] || skip "build/drivers/hf_cli not built (make unit)"
  start_mock
  run --separate-stderr env HF_ENDPOINT="$HUB" "$HF_DRIVER" list 'hf://datasets/org/ds/data/*.parquet'
  assert_failure 66
  [[ "$stderr" == *"no file in org/ds@main matches data/*.parquet"* ]]
  run --separate-stderr env HF_ENDPOINT="$HUB" "$HF_DRIVER" list 'hf://datasets/org/ds/nodir/x.txt'
  assert_failure 66
  [[ "$stderr" == *"no file in org/ds@main matches nodir/x.txt"* ]]
  run --separate-stderr env HF_ENDPOINT="$HUB" "$HF_DRIVER" list 'hf://datasets/org/ds@nope/data/*'
  assert_failure 66
  [[ "$stderr" == *"no revision 'nope'"* ]]
  run --separate-stderr env HF_ENDPOINT="$HUB" HF_TOKEN=any "$HF_DRIVER" list 'hf://datasets/org/none/*'
  assert_failure 66
  run --separate-stderr env HF_ENDPOINT="$HUB" "$HF_DRIVER" list 'hf://datasets/org/none/*'
  assert_failure 77
  run --separate-stderr env HF_ENDPOINT="$HUB" "$HF_DRIVER" get 'hf://datasets/org/ds/data/missing.txt'
  assert_failure 66
}

# ---- trainbox cat hf://: the same server, through the command users run

@test "cat hf://: a glob listed across pages, in path order; ** across directories; a directory's data files only" {
  start_mock --page-size 2
  export HF_ENDPOINT="$HUB"
  run --separate-stderr trainbox cat 'hf://datasets/org/ds/data/train-*.jsonl.gz'
  assert_success
  assert_output "$(printf '{"i":0}\n{"i":1}\n{"i":2}\n{"i":3}\n{"i":4}')"

  run python3 -c 'import json,sys
print(sum(1 for l in open(sys.argv[1]) if "/tree/" in json.loads(l)["path"]))' "$MOCK_LOG"
  [ "$output" -ge 3 ] || fail "the listing was not paged: $output pages"
  run --separate-stderr trainbox cat 'hf://datasets/org/ds/data/**/*.jsonl.gz'
  assert_success
  [ "${#lines[@]}" -eq 6 ]
  [ "${lines[0]}" = '{"s":1}' ]
  # a directory: its files of a known kind (notes.txt and README.md are not data), --glob filters
  run --separate-stderr trainbox cat hf://datasets/org/ds/data
  assert_success
  [ "${#lines[@]}" -eq 6 ]
  run --separate-stderr trainbox cat --glob 'sub/*' hf://datasets/org/ds/data/
  assert_output '{"s":1}'
  # a revision, and one file
  run --separate-stderr trainbox cat 'hf://datasets/org/ds@main/data/train-00003.jsonl.gz'
  assert_output '{"i":3}'
  # ranks share the files
  for r in 0 1 2; do trainbox cat --rank $r --world-size 3 'hf://datasets/org/ds/data/train-*.jsonl.gz'; done | sort > u
  [ "$(cat u)" = "$(printf '{"i":%d}\n' 0 1 2 3 4)" ]
  # parquet: refused with the way around
  run --separate-stderr trainbox cat 'hf://datasets/org/ds@refs%2Fconvert%2Fparquet/default/0000.parquet'
  assert_failure 65
  [[ "$stderr" == *"datasets-server"* ]] || fail "$stderr"
  run --separate-stderr trainbox cat 'hf://datasets/org/ds/data/nothing-*.jsonl'
  assert_failure 66
}

@test "cat hf://: zst, plain jsonl and tar shards; a drop resumed on the CDN byte-identical, a changed file 65" {
  local d="$ROOT/org/ds/main/more"
  mkdir -p "$d"
  gen_samples 3000 5 > "$d/a.jsonl"
  zstd -q -k "$d/a.jsonl"
  (cd "$BATS_TEST_TMPDIR" && trainbox shard -o sh --max-samples 5000 "$d/a.jsonl" > /dev/null && cp sh/shard-000000.tar "$d/s.tar")
  start_mock --token hf_secret --drop-after 300000 --drop-count 3
  export HF_ENDPOINT="$HUB" HF_TOKEN=hf_secret
  trainbox cat hf://datasets/org/ds/more/a.jsonl.zst > out
  cmp out "$d/a.jsonl"
  trainbox cat hf://datasets/org/ds/more/a.jsonl | cmp - "$d/a.jsonl"
  trainbox cat hf://datasets/org/ds/more/s.tar | cmp - <(trainbox cat "$d/s.tar")
  # the drops were resumed with ranges on the CDN, the token never went there
  run python3 -c 'import json,sys
rs = [json.loads(l) for l in open(sys.argv[1])]
print(sum(1 for r in rs if r["server"] == "cdn" and "dropped" in str(r["status"])),
      sum(1 for r in rs if r["server"] == "cdn" and r["range"] and r["if_range"]),
      sum(1 for r in rs if r["server"] == "cdn" and r["auth"]),
      sum(1 for r in rs if r["server"] == "hub" and not r["auth"]))' "$MOCK_LOG"
  read -r drops resumes cdn_auth hub_noauth <<< "$output"
  [ "$drops" -ge 2 ] && [ "$resumes" -ge 2 ] && [ "$cdn_auth" -eq 0 ] && [ "$hub_noauth" -eq 0 ] || fail "$output"
  stop_pid "$MOCK_PID"
  start_mock --drop-after 100000 --change-on-drop
  export HF_ENDPOINT="$HUB"
  unset HF_TOKEN
  run --separate-stderr trainbox cat hf://datasets/org/ds/more/a.jsonl
  assert_failure 65
  [[ "$stderr" == *"changed"* ]] || fail "$stderr"
}

@test "cat hf://: 401 without the token is 77 and never prints it; 429 is waited out; offline reads the cache" {
  start_mock --token hf_secret
  export HF_ENDPOINT="$HUB"
  run --separate-stderr trainbox cat 'hf://datasets/org/ds/data/train-*.jsonl.gz'
  assert_failure 77
  [[ "$stderr" == *"HF_TOKEN"* ]] || fail "$stderr"
  run --separate-stderr env HF_TOKEN=wrong_tok trainbox cat -v 'hf://datasets/org/ds/data/train-*.jsonl.gz'
  assert_failure 77
  [[ "$stderr" != *wrong_tok* ]] || fail "the token was printed"
  run --separate-stderr env HF_TOKEN=hf_secret trainbox cat -v 'hf://datasets/org/ds/data/train-*.jsonl.gz'
  assert_success
  [ "${#lines[@]}" -eq 5 ]
  [[ "$stderr" != *hf_secret* ]] || fail "the token was printed in the -v log"
  stop_pid "$MOCK_PID"
  # 429 with RateLimit on the listing and the resolves: waited out, then every line
  start_mock --fail429 2 --ratelimit-t 1
  export HF_ENDPOINT="$HUB"
  run --separate-stderr trainbox cat -v 'hf://datasets/org/ds/data/train-0000[12].jsonl.gz'
  assert_success
  assert_output "$(printf '{"i":1}\n{"i":2}')"
  [ "$(grep -c -- '-> 429' <<< "$stderr")" -eq 2 ]
  # offline: the listing from the cache this run left; another listing not cached is 69
  run --separate-stderr env HF_HUB_OFFLINE=1 trainbox cat --keys-only 'hf://datasets/org/ds/data/train-0000[12].jsonl.gz'
  [ "$status" -ne 77 ]
  run --separate-stderr env HF_HUB_OFFLINE=1 trainbox cat 'hf://datasets/org/ds/other/*.jsonl'
  assert_failure 69
}

@test "cat hf:// --cache-dir: files downloaded once (the token kept from the CDN); HF_HUB_OFFLINE=1 reads the cache alone" {
  start_mock --token hf_secret
  export HF_ENDPOINT="$HUB" HF_TOKEN=hf_secret
  trainbox cat --cache-dir cc 'hf://datasets/org/ds/data/train-*.jsonl.gz' > want
  [ "$(wc -l < want)" -eq 5 ]
  run hosts 'resolve|train'
  [[ "$output" != *"cdn localhost True"* ]] || fail "the token went to the CDN: $output"
  [[ "$output" == *"cdn localhost False 200"* ]] || fail "$output"
  n=$(wc -l < "$MOCK_LOG")
  HF_HUB_OFFLINE=1 trainbox cat --cache-dir cc 'hf://datasets/org/ds/data/train-*.jsonl.gz' | cmp - want
  [ "$(wc -l < "$MOCK_LOG")" -eq "$n" ] || fail "offline, yet the Hub was asked"
  # online again: the listing from its cache, the files from theirs
  trainbox cat --cache-dir cc 'hf://datasets/org/ds/data/train-*.jsonl.gz' | cmp - want
  [ "$(wc -l < "$MOCK_LOG")" -eq "$n" ] || fail "the cache was not used"
  run --separate-stderr env HF_HUB_OFFLINE=1 trainbox cat 'hf://datasets/org/ds/data/train-*.jsonl.gz'
  assert_failure 69
  [[ "$stderr" == *"HF_HUB_OFFLINE"* ]] || fail "$stderr"
}
