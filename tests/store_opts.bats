#!/usr/bin/env bats
# The store option group (--endpoint, --region, --profile, --retries, --timeout) that every command
# touching a store takes, -v's request log (which must never show a secret), and the bounded time
# an endpoint that accepts but never answers (or stalls a body) costs.
bats_require_minimum_version 1.5.0
load helper

setup_file() {
  start_moto
  moto_create_key   # signature checking stays off until a test turns it on
  mb tb-opts
}

teardown_file() {
  stop_moto
}

setup() {
  cd "$BATS_TEST_TMPDIR"
  # the endpoint comes from the command line only
  unset AWS_ENDPOINT_URL TRAINBOX_S3_ENDPOINT
}

# servers a test starts are its own: a server left running would keep bats waiting on its output
teardown() {
  stop_pid "${STALL_PID:-}"
  STALL_PID=
  stop_azurite
  moto_auth off
}

# a stored shard and its record, for manifests
stored_shard() {
  printf 'shard bytes\n' > "$1"
  trainbox upload --endpoint "$MOTO_URL" "s3://tb-opts/$2/" -- "$1" > rec.jsonl
}

@test "store options: manifest -o s3:// --endpoint writes the manifest (AWS_ENDPOINT_URL unset)" {
  stored_shard a.tar m1
  run --separate-stderr trainbox manifest -o s3://tb-opts/m1/manifest.json --endpoint "$MOTO_URL" rec.jsonl
  assert_success
  aws --endpoint-url "$MOTO_URL" s3 cp s3://tb-opts/m1/manifest.json got.json >/dev/null
  [ "$(jq -r '.shards[0].uri' got.json)" = "s3://tb-opts/m1/a.tar" ]
}

@test "store options: manifest show, verify and merge of remote manifests take --endpoint" {
  stored_shard b.tar m2
  trainbox manifest -o s3://tb-opts/m2/manifest.json --endpoint "$MOTO_URL" rec.jsonl
  run --separate-stderr trainbox manifest show --endpoint "$MOTO_URL" s3://tb-opts/m2/manifest.json
  assert_success
  [ "$(jq -r .shards <<<"$output")" = 1 ]
  run --separate-stderr trainbox manifest verify --deep -H --endpoint "$MOTO_URL" --retries 3 --timeout 5 s3://tb-opts/m2/manifest.json
  assert_success
  assert_output --partial 'all 1 shards ok'
  run --separate-stderr trainbox manifest merge --endpoint "$MOTO_URL" -o s3://tb-opts/m2/merged.json s3://tb-opts/m2/manifest.json
  assert_success
  aws --endpoint-url "$MOTO_URL" s3 cp s3://tb-opts/m2/merged.json merged.json >/dev/null
  [ "$(jq -r '.totals.shards' merged.json)" = 1 ]
}

@test "store options: discover --endpoint lists a prefix" {
  for i in 0 1 2; do printf 'x%.0s' $(seq 2000) > "p-00000$i.tar"; done
  trainbox upload --endpoint "$MOTO_URL" s3://tb-opts/d/ -- p-000000.tar p-000001.tar p-000002.tar >/dev/null
  run --separate-stderr trainbox discover --min-count 3 --endpoint "$MOTO_URL" --region us-east-1 --retries 2 --timeout 5 s3://tb-opts/d/
  assert_success
  [ "$(jq -r .group <<<"$output")" = 's3://tb-opts/d/p-{000000..000002}.tar' ]
}

@test "store options: upload and presign take the group; presign makes no request so has no --retries" {
  printf 'u\n' > u.txt
  run --separate-stderr trainbox upload --endpoint "$MOTO_URL" --region us-east-1 --retries 2 --timeout 5 s3://tb-opts/u/ -- u.txt
  assert_success
  run --separate-stderr trainbox presign --endpoint "$MOTO_URL" --region eu-west-3 s3://tb-opts/u/u.txt
  assert_success
  assert_output --partial "$MOTO_URL/tb-opts/u/u.txt?"
  assert_output --partial '%2Feu-west-3%2Fs3%2F'
  run --separate-stderr trainbox presign --retries 2 s3://tb-opts/u/u.txt
  assert_failure 64
}

@test "store options: bad values are usage errors naming the option" {
  run --separate-stderr trainbox manifest show --retries 0 s3://tb-opts/x.json
  assert_failure 64
  [[ "$stderr" == *"--retries"* ]]
  run --separate-stderr trainbox discover --timeout 0 s3://tb-opts/
  assert_failure 64
  [[ "$stderr" == *"--timeout"* ]]
  run --separate-stderr trainbox upload --timeout soon s3://tb-opts/ -- x
  assert_failure 64
  run --separate-stderr trainbox presign --profile '' s3://tb-opts/x
  assert_failure 64
}

@test "store options: --profile reads the named profile of AWS_SHARED_CREDENTIALS_FILE (over the environment's keys)" {
  cat > creds <<EOF
[default]
aws_access_key_id = AKIAWRONGWRONGWRONG0
aws_secret_access_key = wrong
[tb]
aws_access_key_id = $MOTO_AK
aws_secret_access_key = $MOTO_SK
EOF
  export AWS_SHARED_CREDENTIALS_FILE="$BATS_TEST_TMPDIR/creds"
  export AWS_ACCESS_KEY_ID=AKIAWRONGWRONGWRONG1 AWS_SECRET_ACCESS_KEY=wrong
  printf 'p\n' > p.txt
  moto_auth on
  run --separate-stderr trainbox upload --endpoint "$MOTO_URL" s3://tb-opts/ -- p.txt
  assert_failure 77
  run --separate-stderr trainbox upload --profile tb --endpoint "$MOTO_URL" s3://tb-opts/ -- p.txt
  assert_success
  run --separate-stderr trainbox manifest show --profile tb --endpoint "$MOTO_URL" s3://tb-opts/nope.json
  assert_failure 66
  run --separate-stderr trainbox manifest show --profile default --endpoint "$MOTO_URL" s3://tb-opts/nope.json
  assert_failure 77
  run --separate-stderr trainbox manifest show --profile missing --endpoint "$MOTO_URL" s3://tb-opts/nope.json
  assert_failure 77
  [[ "$stderr" == *"profile 'missing'"* ]]
}

@test "-v: every request on stderr (method, URL, status, attempt, time) and no secret, with signature checking on" {
  stored_shard v.tar v
  moto_auth on
  run --separate-stderr trainbox manifest -v -o s3://tb-opts/vmanifest.json --endpoint "$MOTO_URL" rec.jsonl
  assert_success
  [[ "$stderr" =~ "trainbox manifest: PUT $MOTO_URL/tb-opts/vmanifest.json -> 200 (attempt 1/10, "[0-9.]+" s)" ]]
  printf 'v\n' > v.txt
  run --separate-stderr trainbox upload -v --endpoint "$MOTO_URL" s3://tb-opts/ -- v.txt
  assert_success
  [[ "$stderr" == *"trainbox upload: PUT $MOTO_URL/tb-opts/v.txt -> 200 (attempt 1/10, "* ]]
  [[ "$stderr" == *"trainbox upload: HEAD $MOTO_URL/tb-opts/v.txt -> 200 "* ]]
  all="$stderr"
  run --separate-stderr trainbox presign -v --endpoint "$MOTO_URL" s3://tb-opts/v.txt
  assert_success
  sig=$(grep -o 'X-Amz-Signature=[0-9a-f]*' <<<"$output" | cut -d= -f2)
  [ -n "$sig" ]
  all+="$stderr"
  [[ "$all" != *"$MOTO_SK"* ]] || fail "the secret key was printed"
  [[ "$all" != *"$sig"* ]] || fail "a presigned URL's signature was printed"
  [[ "$all" != *"Authorization"* && "$all" != *"AWS4-HMAC-SHA256"* && "$all" != *"Signature="[0-9a-f]* ]] || fail "signing material printed: $all"
  [[ "$all" != *"$MOTO_AK"* ]] || fail "the access key id was printed"
}

@test "-v: retries are logged with their delay" {
  port=$(free_port)
  run --separate-stderr trainbox manifest show -v --retries 3 --endpoint "http://127.0.0.1:$port" s3://tb-opts/m.json
  assert_failure 69
  [ "$(grep -c "GET http://127.0.0.1:$port/tb-opts/m.json -> error: " <<<"$stderr")" = 3 ]
  [ "$(grep -c 'retrying in [0-9.]* s$' <<<"$stderr")" = 2 ]
  [[ "$stderr" == *"(attempt 3/3, "* ]]
}

@test "-v: Azure Shared Key requests on Azurite are logged without the key or the signature" {
  start_azurite
  export AZURE_STORAGE_CONNECTION_STRING="$AZ_CONN"
  "$REPO/${TB_BUILD:-build}/drivers/store_cli" mkroot az://devstoreaccount1/vlog
  printf 'az\n' > az.txt
  run --separate-stderr trainbox upload -v az://devstoreaccount1/vlog/ -- az.txt
  assert_success
  [[ "$stderr" == *"trainbox upload: PUT $AZURITE_ENDPOINT/vlog/az.txt"*" -> 201 (attempt 1/10, "* ]]
  trainbox upload az://devstoreaccount1/vlog/ -- az.txt > rec.jsonl
  run --separate-stderr trainbox manifest -v -o az://devstoreaccount1/vlog/m.json rec.jsonl
  assert_success
  all="$stderr"
  run --separate-stderr trainbox manifest verify -v az://devstoreaccount1/vlog/m.json
  assert_success
  all+="$stderr"
  [[ "$all" == *"HEAD $AZURITE_ENDPOINT/vlog/az.txt"* ]]
  [[ "$all" != *"$AZ_DEV_KEY"* && "$all" != *"${AZ_DEV_KEY:0:20}"* ]] || fail "the account key was printed"
  [[ "$all" != *"SharedKey"* && "$all" != *"Authorization"* ]] || fail "the Authorization header was printed"
}

# stall_server MODE: tests/stall_server.py on a free port (silent: never answers; body: headers and
# 100 bytes of a 1 MB body, then nothing). Sets STALL_URL; requests are logged to stall.log.
stall_server() {
  local port
  port=$(free_port)
  python3 "$REPO/tests/stall_server.py" "$port" "$1" "$BATS_TEST_TMPDIR/stall.log" 3>&- &
  STALL_PID=$!
  wait_port "$port" 10
  STALL_URL="http://127.0.0.1:$port"
}

@test "--timeout: an endpoint that accepts and never answers fails with 69 in bounded time" {
  stall_server silent
  printf 't\n' > t.txt
  start=$(date +%s%N)
  run --separate-stderr trainbox upload --timeout 1 --retries 2 --endpoint "$STALL_URL" s3://tb-opts/t/ -- t.txt
  elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
  assert_failure 69
  [[ "$stderr" == *"after 2 attempts"* ]]
  # a correctness bound, not a benchmark: 2 attempts of 1 s plus backoff, generously
  [ "$elapsed_ms" -lt 20000 ] || fail "took $elapsed_ms ms"
  [ "$(wc -l < stall.log)" -ge 2 ]
}

@test "--timeout: a body that stalls after the headers is cut by the low-speed limit (69)" {
  stall_server body
  start=$(date +%s%N)
  run --separate-stderr trainbox manifest show --timeout 1 --retries 2 --endpoint "$STALL_URL" s3://tb-opts/m.json
  elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
  assert_failure 69
  [[ "$stderr" == *"too slow"* ]]
  [ "$elapsed_ms" -lt 20000 ] || fail "took $elapsed_ms ms"
  [ "$(grep -c '^GET /tb-opts/m.json' stall.log)" = 2 ]
}
