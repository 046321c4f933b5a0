#!/usr/bin/env bats
# upload: file:// and S3 (moto with signature checking on), idempotence, --no-clobber, integrity,
# credentials errors, retries through the fault proxy, aborted multipart uploads, peers reading back.
load helper
bats_require_minimum_version 1.5.0

setup_file() {
  start_moto --auth
  python3 "$REPO/tests/s3util.py" mb tb-basic tb-mp tb-idem tb-clob tb-fault tb-abort tb-peer tb-part tb-list tb-force
}

teardown_file() {
  stop_moto
}

setup() {
  export AWS_ENDPOINT_URL="$MOTO_URL"   # helper.bash unsets it on every load
  cd "$BATS_TEST_TMPDIR"
  mkdir -p src
}

teardown() {
  stop_proxy
  [ -z "${AUTH_WAS_OFF:-}" ] || moto_auth on
}

# mkfiles N SIZE_BYTES: src/fNNN.bin of random bytes
mkfiles() {
  local i
  for i in $(seq -w 1 "$1"); do head -c "$2" /dev/urandom >"src/f$i.bin"; done
}

s3util() { python3 "$REPO/tests/s3util.py" "$@"; }

@test "upload: file:// destination stores identical files and prints records with uri" {
  mkfiles 3 5000
  run --separate-stderr bash -c "ls src/*.bin | trainbox upload out/"
  assert_success
  [ "${#lines[@]}" -eq 4 ]
  assert_line --index 3 "$(trailer 3)"   # plain path lines are complete input
  for f in src/*.bin; do cmp "$f" "out/$(basename "$f")"; done
  echo "$output" | jq -s -e 'map(select(.uri == "out/f1.bin")) | .[0].sha256 | length == 64'
  ! ls out | grep -q tmp
}

@test "upload: records keep their fields and gain uri; a sha256 mismatch exits 65" {
  mkfiles 1 100
  sha=$(sha256sum src/f1.bin | cut -d' ' -f1)
  echo "{\"path\":\"src/f1.bin\",\"samples\":7,\"sha256\":\"$sha\",\"split\":\"train\"}" >recs
  trailer 1 >>recs
  run --separate-stderr trainbox upload "file://$PWD/dst/" <recs
  assert_success
  assert_line --index 1 "$(trailer 1)"
  echo "${lines[0]}" | jq -e ".samples == 7 and .split == \"train\" and .uri == \"file://$PWD/dst/f1.bin\""
  echo '{"path":"src/f1.bin","sha256":"0000000000000000000000000000000000000000000000000000000000000000"}' |
    { run --separate-stderr trainbox upload dst2/; assert_failure 65; [[ "$stderr" == *"does not match the record"* ]]; }
  [ ! -e dst2/f1.bin ]
}

@test "upload: a record whose bytes disagree with its file is refused (65) before sending" {
  mkfiles 1 100
  sha=$(sha256sum src/f1.bin | cut -d' ' -f1)
  echo "{\"path\":\"src/f1.bin\",\"bytes\":101,\"sha256\":\"$sha\"}" >recs
  run --separate-stderr trainbox upload dst/ <recs
  assert_failure 65
  [[ "$stderr" == *"src/f1.bin: 100 bytes, but the record says 101 (line 1)"* ]] || fail "$stderr"
  [ ! -e dst/f1.bin ]
  echo "{\"path\":\"src/f1.bin\",\"bytes\":\"100\"}" | { run --separate-stderr trainbox upload dst/; assert_failure 65; }
  [ ! -e dst/f1.bin ]
}

@test "upload: two files that map to one object key are refused (65, both named); the same file twice is fine" {
  mkdir -p a b
  echo one > a/h.txt; echo two > b/h.txt
  run --separate-stderr trainbox upload dst/ -- a/h.txt b/h.txt
  assert_failure 65
  [[ "$stderr" == *"a/h.txt and b/h.txt both map to "*"h.txt"* ]] || fail "$stderr"
  [ ! -e dst ] || [ -z "$(ls -A dst)" ]    # checked before anything was sent
  run --separate-stderr trainbox upload dst/ -- a/h.txt ./a/h.txt
  assert_success
  # a record stream: the first is stored, the second refused when it arrives
  rm -rf dst
  run --separate-stderr bash -c 'printf "%s\n" a/h.txt b/h.txt | trainbox upload dst/'
  assert_failure 65
  [[ "$stderr" == *"a/h.txt and b/h.txt both map to"* ]]
  [ "$(cat dst/h.txt)" = one ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "${lines[0]}" == *'"path":"a/h.txt"'* ]]
  # --keep-dirs gives them different keys
  run --separate-stderr trainbox upload --keep-dirs dst2/ -- a/h.txt b/h.txt
  assert_success
}

@test "upload --force resends an object whose bytes went bad behind intact metadata; verify --deep says how to repair" {
  for i in 1 2 3; do echo "{\"__key__\":\"k$i\",\"bin\":{\"\$base64\":\"$(head -c 3000 /dev/urandom | base64 -w0)\"}}"; done > s.jsonl
  trainbox shard -o shards --max-samples 1 s.jsonl > recs
  trainbox upload s3://tb-force/r/ < recs > up
  trainbox manifest -o m.json < up
  trainbox manifest verify --deep m.json
  s3util corrupt tb-force r/shard-000001.tar
  run --separate-stderr trainbox manifest verify --deep m.json
  assert_failure 1
  [[ "$stderr" == *"re-upload it with \`trainbox upload --force\`"* ]] || fail "$stderr"
  [ "$(jq -r .repair <<<"$output")" = 're-upload it with `trainbox upload --force`' ]
  # HEAD says same size and sha256: a plain re-run skips it, and it stays bad
  trainbox upload s3://tb-force/r/ < recs > /dev/null
  run trainbox manifest verify --deep m.json
  assert_failure 1
  trainbox upload --force s3://tb-force/r/ < recs > /dev/null
  run --separate-stderr trainbox manifest verify --deep m.json
  assert_success
  run --separate-stderr trainbox upload --force --no-clobber s3://tb-force/r/ < recs
  assert_failure 64
}

@test "upload: usage errors exit 64" {
  run --separate-stderr trainbox upload
  assert_failure 64
  run --separate-stderr trainbox upload --jobs 0 out/
  assert_failure 64
  run --separate-stderr trainbox upload https://example.com/x/
  assert_failure 64
}

@test "upload: --keep-dirs keeps relative paths, --delete-after removes verified sources" {
  mkdir -p src/a/b
  echo one >src/a/b/x.txt
  echo two >src/y.txt
  run --separate-stderr trainbox upload --keep-dirs --delete-after kd/ -- src/a/b/x.txt ./src/y.txt
  assert_success
  [ "$(cat kd/src/a/b/x.txt)" = one ]
  [ "$(cat kd/src/y.txt)" = two ]
  [ ! -e src/a/b/x.txt ] && [ ! -e src/y.txt ]
}

@test "upload: missing local files fail alone (exit 1, each listed), the rest are stored" {
  mkfiles 2 10
  run --separate-stderr trainbox upload part/ -- src/f1.bin src/nope.bin src/f2.bin src/nope2.bin
  assert_failure 1
  [ "${#lines[@]}" -eq 2 ]
  [[ "$stderr" == *"src/nope.bin"* && "$stderr" == *"src/nope2.bin"* ]]
  [[ "$stderr" == *"2 of 4 files failed"* ]]
  cmp src/f1.bin part/f1.bin
}

@test "upload: record input without its trailer is stored but gets no trailer, exit 1; a bad or misplaced trailer is 65" {
  mkfiles 3 100
  for f in src/*.bin; do echo "{\"path\":\"$f\",\"samples\":1}"; done >recs
  # the stage before died: no trailer
  run --separate-stderr trainbox upload inc/ <recs
  assert_failure 1
  [ "${#lines[@]}" -eq 3 ]
  refute_output --partial '__end__'
  [ "$stderr" = "trainbox upload: input ended without a trailer: the stage before failed or was killed; 3 files stored, no trailer written" ]
  for f in src/*.bin; do cmp "$f" "inc/$(basename "$f")"; done
  # nothing at all on stdin proves nothing either
  run --separate-stderr trainbox upload empty/ </dev/null
  assert_failure 1
  assert_output ''
  [[ "$stderr" == *"input ended without a trailer"*"0 files stored"* ]]
  # with it: complete, and upload's own trailer counts what it printed
  { cat recs; trailer 3; } | { run --separate-stderr trainbox upload ok/; assert_success; [ "${#lines[@]}" -eq 4 ]; assert_line --index 3 "$(trailer 3)"; }
  # a count that disagrees, a line after the trailer, a trailer saying it failed: bad input
  { cat recs; trailer 2; } | { run --separate-stderr trainbox upload c1/; assert_failure 65; refute_output --partial '__end__'
                               [[ "$stderr" == *"line 4 of stdin: the trailer counts 2 records, 3 were received"* ]]; }
  { cat recs; trailer 3; echo src/f1.bin; } | { run --separate-stderr trainbox upload c2/; assert_failure 65; refute_output --partial '__end__'
                                                [[ "$stderr" == *"line 5 of stdin comes after the trailer"* ]]; }
  { cat recs; echo '{"__end__": {"records": 3, "ok": false}}'; } |
    { run --separate-stderr trainbox upload c3/; assert_failure 65; refute_output --partial '__end__'; [[ "$stderr" == *'"ok" is false'* ]]; }
}

@test "upload: S3 with signature checking, single and multipart objects, sha256 metadata" {
  mkfiles 5 20000
  head -c 12582912 /dev/urandom >src/big.bin   # 12 MiB: 3 parts of 5 MiB, the last smaller
  run --separate-stderr bash -c "ls src/* | trainbox upload --multipart-threshold 6MiB --part-size 5MiB s3://tb-mp/p/"
  assert_success
  [ "${#lines[@]}" -eq 7 ]
  assert_line --index 6 "$(trailer 6)"
  echo "$output" | jq -s -e 'map(select(.path == "src/big.bin")) | .[0].etag | endswith("-3")'
  echo "$output" | jq -s -e 'map(select(.path == "src/f1.bin")) | .[0].uri == "s3://tb-mp/p/f1.bin"'
  run s3util verify tb-mp p/ src
  assert_success
  assert_output "verified 6 bad 0"
  [ "$(s3util mpu tb-mp)" = 0 ]
  # S3 flexible checksums: every request carried its SHA-256 and the store kept them
  run s3util checksums tb-mp p/ src 5242880
  assert_output "checksums 6 bad 0"
}

@test "upload: every body's SHA-256 matches its signed payload hash and its checksum header, as S3 checks (moto does not)" {
  mkfiles 3 5000
  head -c 12582912 /dev/urandom >src/big.bin   # 3 parts, hashed in the same pass as the whole file
  start_proxy --rate 0 --check-payload
  run --separate-stderr bash -c "ls src/* | trainbox upload --multipart-threshold 6MiB --part-size 5MiB --endpoint $PROXY_URL s3://tb-mp/pc/"
  assert_success
  [ "${#lines[@]}" -eq 5 ]
  # 3 single PUTs + 3 parts carried a body hash, and every one matched
  [ "$(grep -c '^payload-checked$' "$BATS_TEST_TMPDIR/faults.log")" -ge 6 ]
  ! grep -q '^payload-mismatch$' "$BATS_TEST_TMPDIR/faults.log"
  # and the same digest as the S3 flexible checksum, checked as S3 does (moto does not)
  [ "$(grep -c '^checksum-checked$' "$BATS_TEST_TMPDIR/faults.log")" -ge 6 ]
  ! grep -q '^checksum-mismatch$' "$BATS_TEST_TMPDIR/faults.log"
  run s3util verify tb-mp pc/ src
  assert_output "verified 4 bad 0"
  # and the check itself works: a body that differs from its signed hash is refused
  sha=$(printf 'other' | sha256sum | cut -d' ' -f1)
  run curl -s -o /dev/null -w '%{http_code}' -X PUT -H "x-amz-content-sha256: $sha" --data-binary 'body' "$PROXY_URL/tb-mp/pc/x"
  assert_output 400
  grep -q '^payload-mismatch$' "$BATS_TEST_TMPDIR/faults.log"
  run curl -s -w '%{http_code}' -X PUT -H "x-amz-checksum-sha256: $(printf 'other' | openssl dgst -sha256 -binary | base64)" \
    --data-binary 'body' "$PROXY_URL/tb-mp/pc/x"
  assert_output --partial BadDigest
  assert_output --partial 400
  grep -q '^checksum-mismatch$' "$BATS_TEST_TMPDIR/faults.log"
}

@test "upload: a wrong secret exits 77 at once, with no secret printed and nothing left open" {
  mkfiles 2 10
  head -c 6000000 /dev/urandom >src/big.bin
  AWS_SECRET_ACCESS_KEY=wrongsecretwrongsecret run --separate-stderr trainbox upload --multipart-threshold 5MiB s3://tb-basic/w/ -- src/f01.bin src/big.bin
  assert_failure 77
  [[ "$stderr" == *"HTTP 403"* ]]
  [[ "$stderr" != *wrongsecret* && "$stderr" != *"$MOTO_SK"* ]]
  [ -z "$output" ]
  [ "$(s3util mpu tb-basic)" = 0 ]
}

@test "upload: missing credentials exit 77 naming the variables" {
  mkfiles 1 10
  run --separate-stderr env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY trainbox upload s3://tb-basic/x/ -- src/f1.bin
  assert_failure 77
  [[ "$stderr" == *AWS_ACCESS_KEY_ID* ]]
}

@test "upload: credentials from AWS_PROFILE in a credentials file" {
  mkfiles 1 10
  printf '[other]\naws_access_key_id = %s\naws_secret_access_key = %s\n' "$MOTO_AK" "$MOTO_SK" >creds
  run --separate-stderr env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY AWS_SHARED_CREDENTIALS_FILE=$PWD/creds AWS_PROFILE=other \
    trainbox upload s3://tb-basic/prof/ -- src/f1.bin
  assert_success
  [[ "$output" == *'"uri":"s3://tb-basic/prof/f1.bin"'* ]]
}

@test "upload: re-running sends nothing already stored (PUTs would all fail here)" {
  mkfiles 4 3000
  ls src/* | trainbox upload s3://tb-idem/r/ >first
  # every PUT/POST through this proxy fails: a second run can only succeed by skipping them all
  start_proxy --rate 1 --faults 500 --methods PUT,POST
  run --separate-stderr bash -c "ls src/* | trainbox upload --retries 2 --endpoint $PROXY_URL s3://tb-idem/r/"
  assert_success
  [ "${#lines[@]}" -eq 5 ]
  assert_line --index 4 "$(trailer 4)"
  [ "$(sort first | jq -c 'select(.path) | {uri,etag}')" = "$(echo "$output" | sort | jq -c 'select(.path) | {uri,etag}')" ]
  [ ! -s "$BATS_TEST_TMPDIR/faults.log" ]
}

@test "upload: --no-clobber refuses to replace different content, accepts identical content" {
  mkfiles 1 100
  s3util put tb-clob c/f1.bin "something else"
  run --separate-stderr trainbox upload --no-clobber s3://tb-clob/c/ -- src/f1.bin
  assert_failure 65
  [[ "$stderr" == *"--no-clobber refuses"* ]]
  run --separate-stderr trainbox upload --no-clobber s3://tb-clob/d/ -- src/f1.bin
  assert_success
  run --separate-stderr trainbox upload --no-clobber s3://tb-clob/d/ -- src/f1.bin
  assert_success
}

@test "upload: 100 files through 30% faults (503 SlowDown, 500, resets, truncation, delays) all verified" {
  mkfiles 100 3000
  head -c 11000000 /dev/urandom >src/big.bin
  start_proxy --rate 0.3 --seed 3
  run --separate-stderr bash -c "ls src/* | trainbox upload --jobs 8 --multipart-threshold 5MiB --part-size 5MiB --endpoint $PROXY_URL s3://tb-fault/f/"
  assert_success
  [ "${#lines[@]}" -eq 102 ]
  assert_line --index 101 "$(trailer 101)"
  [ "$(sort -u "$BATS_TEST_TMPDIR/faults.log" | wc -l)" -ge 4 ]   # several kinds were injected
  run s3util verify tb-fault f/ src
  assert_output "verified 101 bad 0"
  [ "$(s3util mpu tb-fault)" = 0 ]
}

@test "upload: a multipart upload that fails after retries is aborted (exit 69, nothing open)" {
  head -c 11000000 /dev/urandom >src/big.bin
  start_proxy --rate 1 --faults slowdown --methods PUT
  run --separate-stderr trainbox upload --retries 2 --multipart-threshold 5MiB --part-size 5MiB --endpoint "$PROXY_URL" s3://tb-abort/a/ -- src/big.bin
  assert_failure 69
  [[ "$stderr" == *SlowDown* ]]
  [ "$(s3util mpu tb-abort)" = 0 ]
}

@test "upload: S3, one file failing, the rest stored: exit 1 with the failure listed" {
  mkfiles 3 100
  head -c 6000000 /dev/urandom >src/big.bin
  sha=$(sha256sum src/f1.bin | cut -d' ' -f1)
  { echo "{\"path\":\"src/f1.bin\",\"sha256\":\"$sha\"}"; echo "src/f2.bin"; echo "src/missing.bin"; } >in
  run --separate-stderr trainbox upload s3://tb-part/p/ <in
  assert_failure 1
  [ "${#lines[@]}" -eq 2 ]
  [[ "$stderr" == *"src/missing.bin"* ]]
}

@test "upload: an unreachable store exits 69 after the retries" {
  mkfiles 1 10
  port=$(free_port)
  run --separate-stderr trainbox upload --retries 2 --endpoint "http://127.0.0.1:$port" s3://tb-basic/u/ -- src/f1.bin
  assert_failure 69
  [[ "$stderr" == *"after 2 attempts"* ]]
}

@test "upload: peers read back what was stored (aws s3 cp, rclone)" {
  mkfiles 3 70000
  ls src/* | trainbox upload s3://tb-peer/q/ >/dev/null
  for f in src/*; do
    aws --endpoint-url "$MOTO_URL" s3 cp "s3://tb-peer/q/$(basename "$f")" "got-$(basename "$f")" >/dev/null
    [ "$(sha256sum <"$f")" = "$(sha256sum <"got-$(basename "$f")")" ]
  done
  cat >rclone.conf <<EOF
[m]
type = s3
provider = Other
endpoint = $MOTO_URL
access_key_id = $MOTO_AK
secret_access_key = $MOTO_SK
force_path_style = true
region = us-east-1
EOF
  moto_auth off   # moto's quirk: listings with '/' in the query fail its signature check
  run rclone --config rclone.conf lsl m:tb-peer/q/
  moto_auth on
  assert_success
  for f in src/*; do
    echo "$output" | grep -Eq "^ *$(stat -c %s "$f") .* $(basename "$f")\$"
  done
}

@test "upload: SIGINT mid-multipart aborts the open upload and exits 75" {
  head -c 26000000 /dev/urandom >src/big.bin
  start_proxy --rate 1 --faults delay --methods PUT   # each part takes 0.3 s longer
  trainbox upload --jobs 1 --multipart-threshold 5MiB --part-size 5MiB --endpoint "$PROXY_URL" s3://tb-abort/i/ -- src/big.bin >out 2>err &
  pid=$!
  # wait until a part is on its way (the proxy logs each delayed PUT), then interrupt
  for _ in $(seq 100); do [ -s "$BATS_TEST_TMPDIR/faults.log" ] && break; sleep 0.05; done
  kill -INT "$pid"
  rc=0
  wait "$pid" || rc=$?
  [ "$rc" -eq 75 ]
  grep -q interrupted err
  [ ! -s out ]
  [ "$(s3util mpu tb-abort)" = 0 ]
}

@test "upload: with a listable prefix, fresh keys go straight to PUT and changed files are re-sent" {
  AUTH_WAS_OFF=1
  moto_auth off   # moto's quirk: a listing with '/' in its prefix fails while it checks signatures
  mkfiles 3 1000
  ls src/* | trainbox upload s3://tb-list/l/ >first
  echo changed >src/f2.bin
  run --separate-stderr bash -c "ls src/* | trainbox upload s3://tb-list/l/"
  assert_success
  [ "${#lines[@]}" -eq 4 ]
  e1=$(jq -r 'select(.path=="src/f1.bin").etag' first); e2=$(jq -r 'select(.path=="src/f2.bin").etag' first)
  [ "$(echo "$output" | jq -r 'select(.path=="src/f1.bin").etag')" = "$e1" ]
  [ "$(echo "$output" | jq -r 'select(.path=="src/f2.bin").etag')" != "$e2" ]
  run s3util verify tb-list l/ src
  assert_output "verified 3 bad 0"
}

@test "upload: --progress=json reports files, bytes and objects on stderr, stdout stays records" {
  mkfiles 3 1000
  run --separate-stderr trainbox upload --progress=json pj/ -- src/f1.bin src/f2.bin src/f3.bin
  assert_success
  [ "${#lines[@]}" -eq 4 ]
  assert_line --index 3 "$(trailer 3)"   # files given as arguments are complete input
  echo "$stderr" | tail -1 | jq -e '.event == "end" and .files == 3 and .objects == 3 and .bytes == 3000'
}

@test "store: a GET cut short by the network resumes with the remaining range (S3 backend)" {
  head -c 3000000 /dev/urandom >obj
  aws --endpoint-url "$MOTO_URL" s3 cp obj s3://tb-basic/get/obj >/dev/null
  start_proxy --rate 0.6 --faults truncate,reset --methods GET --seed 11
  run --separate-stderr env AWS_ENDPOINT_URL="$PROXY_URL" "$REPO/${TB_BUILD:-build}/drivers/store_cli" -r 20 sha s3://tb-basic/get/obj
  assert_success
  [ "${lines[0]}" = "3000000 $(sha256sum <obj | cut -d' ' -f1)" ]
  [ "${lines[1]}" = "1000 $(tail -c +1001 obj | head -c 1000 | sha256sum | cut -d' ' -f1)" ]
  grep -q truncate "$BATS_TEST_TMPDIR/faults.log"   # the cut actually happened
}

@test "store: CREATE_ROOT is a signed CreateBucket (with the region as location); again is not an error; public read is refused" {
  S="$REPO/${TB_BUILD:-build}/drivers/store_cli"
  run s3util location tb-made
  assert_output NoSuchBucket
  run "$S" mkroot s3://tb-made
  assert_success
  run s3util location tb-made
  assert_output us-east-1
  run "$S" mkroot s3://tb-made
  assert_success
  mkfiles 1 100
  run --separate-stderr trainbox upload --progress=none s3://tb-made/ -- src/f1.bin
  assert_success
  # outside us-east-1 the region goes in the body; a second create answers BucketAlreadyOwnedByYou
  run env AWS_REGION=eu-west-1 "$S" mkroot s3://tb-made-eu
  assert_success
  run s3util location tb-made-eu
  assert_output eu-west-1
  run env AWS_REGION=eu-west-1 "$S" mkroot s3://tb-made-eu
  assert_success
  # a wrong secret is refused (the request is signed)
  run env AWS_SECRET_ACCESS_KEY=wrong "$S" mkroot s3://tb-made-bad
  assert_failure 77
  run --separate-stderr "$S" caps s3://tb-made
  assert_output 'create_root=1 public_root=0 presign=1'
  run "$S" -P mkroot s3://tb-made-public
  assert_failure 64
  assert_output --partial 'public read access is not supported for s3://'
  run s3util location tb-made-public
  assert_output NoSuchBucket
}
