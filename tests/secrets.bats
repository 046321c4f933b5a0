#!/usr/bin/env bats
# No secret ever leaves trainbox: every subcommand run with -v against the test servers (moto with
# signature checking, Azurite with its account key, tests/hf_mock.py with a token, tests/vast_mock.py
# with a key), right and wrong credentials alike; the test fails if a secret key, a session token, a
# SigV4 or SAS signature, an HF or Vast token or an Authorization header value appears in stdout,
# stderr, or any file the run wrote (state files, records, manifests, caches, downloads).
load helper

HF_TOK=hf_FAKEtokenZQ7wv93LkXpBnRt5
VAST_KEY=vastFAKEkey0c6b1e4f9a7d2c58e3b
SESSION_TOK=FAKEsessionTOKENq8ZmW2xV5nJ0pLrTyU4
WRONG_SK=WRONGsecretKEYdoNotPrint0123456789abcdef
SAS_SIG=FAKEsasSIGxYz0987654321abcdefghijklmnopqr

setup_file() {
  start_moto --auth
  aws --endpoint-url "$MOTO_URL" s3api create-bucket --bucket tb-sec >/dev/null
  start_azurite
  "$REPO/${TB_BUILD:-build}/drivers/store_cli" mkroot az://devstoreaccount1/tb-sec >/dev/null \
    || AZURE_STORAGE_CONNECTION_STRING="$AZ_CONN" "$REPO/${TB_BUILD:-build}/drivers/store_cli" mkroot az://devstoreaccount1/tb-sec
  export MOTO_SK MOTO_AK
}

teardown_file() {
  stop_moto
  stop_azurite
}

setup() {
  W="$BATS_TEST_TMPDIR/w"
  mkdir -p "$W"
  cd "$W"
  export HOME="$W/home" XDG_CACHE_HOME="$W/cache"
  mkdir -p "$HOME"
  LOGS="$BATS_TEST_TMPDIR/logs"
  mkdir -p "$LOGS"
  N=0
  export AWS_ACCESS_KEY_ID="$MOTO_AK" AWS_SECRET_ACCESS_KEY="$MOTO_SK" AWS_ENDPOINT_URL="$MOTO_URL"
  export AZURE_STORAGE_CONNECTION_STRING="$AZ_CONN"
  gen_samples 20 >samples.jsonl
}

teardown() {
  stop_pid "${HF_PID:-}"
  stop_pid "${VAST_PID:-}"
}

# tb CODE CMD...: run CMD (the caller puts -v in), keep its stdout and stderr as files, and check its
# exit code (any: a failure below 128).
tb() {
  local code=$1; shift
  N=$((N + 1))
  run --separate-stderr "$@"
  printf '%s\n' "$output" >"$LOGS/$N.out"
  printf '%s\n' "$stderr" >"$LOGS/$N.err"
  printf '%s\n' "$*" >"$LOGS/$N.cmd"
  if [ "$code" = any ]; then
    [ "$status" -gt 0 ] && [ "$status" -lt 128 ] || fail "exit $status, want a failure: $* :: ${stderr:0:600}"
    return 0
  fi
  [ "$status" -eq "$code" ] || fail "exit $status, want $code: $* :: ${stderr:0:600}"
}

# a signature or credential value that tb_redact did not blank with '*' (a server's message may say
# "the Authorization header": only a header line, a scheme and its value count)
LEAK_RE='(X-Amz-Signature|X-Amz-Security-Token|X-Amz-Credential|Signature|[?&]sig|AccountKey)=[^*&[:space:]"]|[Aa]uthorization: *[^*[:space:]]|Bearer [A-Za-z0-9._~+/-]{6,}|SharedKey [A-Za-z0-9]+:[A-Za-z0-9+/=]{6,}|AWS4-HMAC-SHA256 Credential'

# clean [--presign-stdout N]: no secret in any log kept by tb, nor in any file under $W.
clean() {
  local skip_out=
  [ "${1:-}" = --presign-stdout ] && skip_out="$LOGS/$2.out"
  local files=()
  while IFS= read -r -d '' f; do files+=("$f"); done < <(find "$LOGS" "$W" -type f ! -name '*.cmd' ! -path "$W/samples.jsonl" -print0)
  local bad=()
  for f in "${files[@]}"; do
    [ "$f" = "$skip_out" ] && continue
    for s in "$MOTO_SK" "$AZ_DEV_KEY" "$HF_TOK" "$VAST_KEY" "$SESSION_TOK" "$WRONG_SK" "$SAS_SIG"; do
      grep -qaF -- "$s" "$f" && bad+=("$f holds a secret (${s:0:6}...): $(grep -aF -- "${s}" "$f" | head -1 | cut -c1-200)")
    done
    # signatures and header values not redacted (tb_redact blanks them with '*')
    if grep -qaE "$LEAK_RE" "$f"; then
      bad+=("$f: $(grep -aE "$LEAK_RE" "$f" | head -1 | cut -c1-200)")
    fi
  done
  if [ ${#bad[@]} -gt 0 ]; then printf '%s\n' "${bad[@]}"; return 1; fi
}

@test "s3 (moto, signatures checked): shard, split, upload, manifest, discover, cat, sync, presign with -v leak nothing" {
  B=s3://tb-sec/t$BATS_TEST_NUMBER
  tb 0 trainbox shard -v --max-samples 5 -o shards samples.jsonl
  cp "$LOGS/$N.out" records.jsonl
  tb 0 trainbox split -v --ratio a=1,b=1 -o splits samples.jsonl
  tb 0 bash -c "trainbox upload -v --progress=json $B/shards/ < records.jsonl > uploaded.jsonl"
  head -c $((11 << 20)) /dev/urandom >big.bin
  tb 0 trainbox upload -v --multipart-threshold 5MiB --part-size 5MiB "$B/big/" -- big.bin
  tb 0 trainbox manifest -v -o "$B/manifest.json" uploaded.jsonl
  tb 0 trainbox manifest -v -o manifest.json uploaded.jsonl
  tb 0 trainbox manifest verify -v --deep "$B/manifest.json"
  tb 0 trainbox manifest show -v "$B/manifest.json"
  tb 0 trainbox cat -v --state cat.state "$B/manifest.json"
  tb 0 trainbox cat -v --cache-dir cache-cat "$B/shards/shard-000000.tar"
  # listings with '/' in the query fail moto's signature check (TESTING.md): list with checking off
  moto_auth off
  tb 0 trainbox discover -v "$B/"
  tb 0 trainbox discover -v --objects "$B/"
  tb 0 trainbox cat -v "$B/shards/"
  moto_auth on
  mkdir -p ck/step-000100 && echo w >ck/step-000100/model.bin
  moto_auth off
  tb 0 trainbox sync -v --marker ck "$B/ck/"
  tb 0 trainbox sync -v "$B/ck/" down
  moto_auth on
  tb 0 trainbox presign -v "$B/manifest.json"
  local p=$N
  [[ "$output" == *X-Amz-Signature=* ]]
  # the presigned URL read back with -v (checking off: moto answers 500 to query signing) logs no signature
  url=$output
  moto_auth off
  tb 0 trainbox cat -v "$url"
  moto_auth on
  clean --presign-stdout $p
}

@test "s3: a session token and a wrong secret: 77 with messages and -v logs that carry neither" {
  B=s3://tb-sec/t$BATS_TEST_NUMBER
  echo '{"__key__":"k","txt":"x"}' >f.txt
  tb 77 env AWS_SECRET_ACCESS_KEY="$WRONG_SK" trainbox upload -v --retries 1 "$B/" -- f.txt
  tb 77 env AWS_SECRET_ACCESS_KEY="$WRONG_SK" trainbox cat -v --retries 1 "$B/x.jsonl"
  tb 77 env AWS_SECRET_ACCESS_KEY="$WRONG_SK" trainbox manifest verify -v --retries 1 "$B/manifest.json"
  tb 77 env AWS_SECRET_ACCESS_KEY="$WRONG_SK" trainbox sync -v --retries 1 "$W/home" "$B/s/"
  [[ "$stderr" == *"trainbox sync:"* ]]
  # a session token goes in X-Amz-Security-Token (moto with checking on refuses the unknown token
  # with 400: InvalidToken is 77 where the answer has a body, a HEAD's has none, so 65 or 77)
  tb any env AWS_SESSION_TOKEN="$SESSION_TOK" trainbox upload -v --retries 1 "$B/" -- f.txt
  tb 0 env AWS_SESSION_TOKEN="$SESSION_TOK" trainbox presign -v "$B/f.txt"
  local p=$N
  [[ "$output" == *"X-Amz-Security-Token=$SESSION_TOK"* ]]
  moto_auth off
  tb 0 env AWS_SESSION_TOKEN="$SESSION_TOK" trainbox upload -v "$B/" -- f.txt
  tb 0 env AWS_SESSION_TOKEN="$SESSION_TOK" trainbox cat -v "$B/f.txt"
  moto_auth on
  # a profile file holding the secret: read, never echoed, even when it is wrong
  printf '[p]\naws_access_key_id = %s\naws_secret_access_key = %s\n' "$MOTO_AK" "$WRONG_SK" >"$HOME/creds"
  tb 77 env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY AWS_SHARED_CREDENTIALS_FILE="$HOME/creds" \
    trainbox upload -v --retries 1 --profile p "$B/" -- f.txt
  rm "$HOME/creds"
  clean --presign-stdout $p
}

@test "azure (Azurite, Shared Key checked): upload, manifest, discover, cat, sync, presign with -v leak nothing" {
  B=az://devstoreaccount1/tb-sec/t$BATS_TEST_NUMBER
  tb 0 trainbox shard -v --max-samples 5 -o shards samples.jsonl
  cp "$LOGS/$N.out" records.jsonl
  tb 0 bash -c "trainbox upload -v $B/shards/ < records.jsonl > uploaded.jsonl"
  head -c $((3 << 20)) /dev/urandom >big.bin
  tb 0 trainbox upload -v --multipart-threshold 1MiB --part-size 1MiB "$B/big/" -- big.bin
  tb 0 trainbox manifest -v -o "$B/manifest.json" uploaded.jsonl
  tb 0 trainbox manifest verify -v --deep "$B/manifest.json"
  tb 0 trainbox discover -v "$B/"
  tb 0 trainbox cat -v --state cat.state "$B/manifest.json"
  tb 0 trainbox cat -v "$B/shards/"
  mkdir -p ck/step-000100 && echo w >ck/step-000100/model.bin
  tb 0 trainbox sync -v --marker ck "$B/ck/"
  tb 0 trainbox sync -v "$B/ck/" down
  # store to store: the copy's source travels as a URL with a read SAS (x-ms-copy-source)
  run trainbox sync -v "$B/ck/" "az://devstoreaccount1/tb-sec/t${BATS_TEST_NUMBER}copy/"
  printf '%s\n' "$output" >"$LOGS/copy.log"
  tb 0 trainbox presign -v "$B/manifest.json"
  local p=$N
  [[ "$output" == *"sig="* ]]
  tb 0 trainbox cat -v "$output"
  # a wrong key: 77, and neither key in the message
  wrong="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=$(printf '%s' "$WRONG_SK" | base64 -w0);BlobEndpoint=$AZURITE_ENDPOINT;"
  tb 77 env AZURE_STORAGE_CONNECTION_STRING="$wrong" trainbox cat -v --retries 1 "$B/manifest.json"
  tb 77 env AZURE_STORAGE_CONNECTION_STRING="$wrong" trainbox upload -v --retries 1 "$B/" -- big.bin
  # a SAS connection string is refused (64) without echoing the signature
  tb 64 env AZURE_STORAGE_CONNECTION_STRING="BlobEndpoint=$AZURITE_ENDPOINT;SharedAccessSignature=sv=2020-02-10&sr=c&sp=r&sig=$SAS_SIG" \
    trainbox cat -v "$B/manifest.json"
  # (the wrong key base64-encoded is what goes into the connection string: grep for that too)
  WRONG_B64=$(printf '%s' "$WRONG_SK" | base64 -w0)
  ! grep -rqaF -- "$WRONG_B64" "$LOGS" "$W"
  clean --presign-stdout $p
}

@test "hugging face (mock Hub with a token): cat -v sends the token, logs neither it nor the CDN's signature" {
  ROOT="$W/hub"
  mkdir -p "$ROOT/org/ds/main/data"
  gen_samples 5 >"$ROOT/org/ds/main/data/train.jsonl"
  port=$(free_port); cdn=$(free_port)
  python3 "$REPO/tests/hf_mock.py" --port "$port" --cdn-port "$cdn" --root "$ROOT" --token "$HF_TOK" \
    --log "$BATS_TEST_TMPDIR/hf.log" --lfs-min 1 >"$BATS_TEST_TMPDIR/hf.out" 2>&1 3>&- &
  HF_PID=$!
  wait_port "$port" 10
  wait_port "$cdn" 10
  export HF_ENDPOINT="http://127.0.0.1:$port"
  tb 0 env HF_TOKEN="$HF_TOK" trainbox cat -v 'hf://datasets/org/ds/data/*.jsonl'
  [ "$(printf '%s\n' "$output" | grep -c __key__)" = 5 ]
  tb 0 env HF_TOKEN="$HF_TOK" trainbox cat -v --cache-dir hfcache --state hf.state hf://datasets/org/ds/data/train.jsonl
  tb 0 env HF_TOKEN="$HF_TOK" trainbox discover -v --objects hf://datasets/org/ds/data/ || true
  tb 77 env HF_TOKEN="$WRONG_SK" trainbox cat -v --retries 1 hf://datasets/org/ds/data/train.jsonl
  # the token reached the Hub (auth true) and never the CDN
  jq -e -s 'any(.[]; .server == "hub" and .auth) and all(.[]; .server != "cdn" or (.auth | not))' "$BATS_TEST_TMPDIR/hf.log"
  grep -q 'X-Amz-Signature' "$BATS_TEST_TMPDIR/hf.log" # the CDN URLs carried one: the logs above must not
  clean
}

@test "vast (mock API with a key): offers, list, show, destroy with -v leak no key; a wrong key is 77" {
  port=$(free_port)
  python3 "$REPO/tests/vast_mock.py" --port "$port" --key "$VAST_KEY" --log "$BATS_TEST_TMPDIR/vast.log" \
    >"$BATS_TEST_TMPDIR/vast.out" 2>&1 3>&- &
  VAST_PID=$!
  wait_port "$port" 10
  export VAST_URL="http://127.0.0.1:$port"
  tb 0 env VAST_API_KEY="$VAST_KEY" trainbox vast offers -v gpu_name=RTX_4090 --limit 2
  tb 0 env VAST_API_KEY="$VAST_KEY" trainbox vast list -v
  mkdir -p "$HOME/.config/vastai" && printf '%s\n' "$VAST_KEY" >"$HOME/.config/vastai/vast_api_key"
  tb 0 trainbox vast list -v -H
  rm "$HOME/.config/vastai/vast_api_key"
  tb 66 env VAST_API_KEY="$VAST_KEY" trainbox vast show -v 999999
  tb 77 env VAST_API_KEY="$WRONG_SK" trainbox vast list -v
  tb 77 env VAST_API_KEY="$WRONG_SK" trainbox vast destroy -v 999999
  jq -e -s 'any(.[]; .auth_ok)' "$BATS_TEST_TMPDIR/vast.log"
  clean
}
