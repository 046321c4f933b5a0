#!/usr/bin/env bats
# tests/hf_mock.py proven with curl (listing pages, the redirect to another host name, Range and
# If-Range, the token rules, 429 with RateLimit), then lib/hf driven through lib/http against it
# (build/drivers/hf_cli: pages followed, 429 waited out, the token kept from the CDN).
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

@test "hf_cli: 429 is waited out for RateLimit's t seconds, then the listing succeeds" {
  [ -x "$HF_DRIVER" ] || skip "build/drivers/hf_cli not built (make unit)"
  start_mock --fail429 2 --ratelimit-t 1
  start=$(date +%s%N)
  run --separate-stderr env HF_ENDPOINT="$HUB" "$HF_DRIVER" list 'hf://datasets/org/ds/data/other/*'
  elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
  assert_success
  [[ "$output" == "data/other/notes.txt 12 "* ]]
  [[ "$stderr" == *"waits=2"* ]]
  [ "$elapsed_ms" -ge 2000 ] || fail "did not wait t=1 twice ($elapsed_ms ms)"
}

@test "hf_cli: get follows the redirect with the token to the Hub only; 401 is exit 77" {
  [ -x "$HF_DRIVER" ] || skip "build/drivers/hf_cli not built (make unit)"
  start_mock --token hf_secret
  run --separate-stderr env HF_ENDPOINT="$HUB" HF_TOKEN=hf_secret "$HF_DRIVER" get 'hf://datasets/org/ds/data/other/notes.txt'
  assert_success
  assert_output "hello world"
  run python3 -c 'import json,sys
for l in open(sys.argv[1]):
    r = json.loads(l); print(r["server"], r["status"], r["auth"])' "$MOCK_LOG"
  assert_output "hub 302 True
cdn 200 False"
  run --separate-stderr env HF_ENDPOINT="$HUB" "$HF_DRIVER" list 'hf://datasets/org/ds/data/*'
  assert_failure 77
  run --separate-stderr env HF_ENDPOINT="$HUB" HF_TOKEN=wrong "$HF_DRIVER" get 'hf://datasets/org/ds/README.md'
  assert_failure 77
}
