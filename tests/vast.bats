#!/usr/bin/env bats
# trainbox vast against tests/vast_mock.py: the query language as the body the official client
# sends, offers' output, launch + wait + destroy, the failure paths of a launch (timeout, exited, a
# lost or 5xx create answer: exactly one instance, adopted or destroyed), the money refusals,
# label-based destroy, list's reminder of old instances, the key never printed, 401/404 -> 77, 429s.
load helper

setup() {
  cd "$BATS_TEST_TMPDIR"
  KEY="mock-key-$RANDOM$RANDOM$RANDOM"
  export VAST_API_KEY=$KEY TRAINBOX_VAST_POLL_MS=20
  printf '#!/bin/bash\necho "my start script" "$@"\n' > start.sh
}

teardown() {
  stop_pid "${MOCK_PID:-}"
}

# start_mock [OPTIONS]: the mock on a free port; VAST_URL points at it; MOCK_LOG logs every request.
start_mock() {
  PORT=$(free_port)
  MOCK_LOG="$BATS_TEST_TMPDIR/mock.log"
  : > "$MOCK_LOG"
  python3 "$REPO/tests/vast_mock.py" --port "$PORT" --key "$KEY" --log "$MOCK_LOG" "$@" \
    > "$BATS_TEST_TMPDIR/mock.out" 2> "$BATS_TEST_TMPDIR/mock.err" 3>&- &
  MOCK_PID=$!
  wait_port "$PORT" 10
  export VAST_URL="http://127.0.0.1:$PORT"
}
state() { curl -sS "$VAST_URL/__state"; }
live() { state | jq '[.instances[] | select(.destroyed != true)] | length'; }
creates() { jq -s '[.[] | select(.method == "PUT" and (.path | test("^/api/v0/asks/")))] | length' "$MOCK_LOG"; }
# the last body POSTed to /bundles/, keys sorted
search_body() { jq -cS -s '[.[] | select(.path == "/api/v0/bundles/")] | last | .body' "$MOCK_LOG"; }
# the start script an onstart carries (gzip + base64), decoded
onstart_script() { sed -n "s/^echo '\([A-Za-z0-9+/=]*\)' | base64 -d | gunzip.*/\1/p" | base64 -d | gunzip; }

LAUNCH="trainbox vast launch --offer 5001 --image pytorch/pytorch:2.3 --disk 40 --onstart start.sh"

@test "offers: the query language becomes the body the official client sends (spot checks)" {
  start_mock
  d='"verified":{"eq":true},"external":{"eq":false},"rentable":{"eq":true},"rented":{"eq":false}'
  tail='"order":[["score","desc"]],"type":"on-demand","allocated_storage":5.0'
  check() { # WANT QUERY...
    local want=$1; shift
    run --separate-stderr trainbox vast offers "$@"
    assert_success
    assert_equal "$(search_body)" "$(jq -cS . <<<"$want")"
  }
  check "{$d,$tail}"
  check "{$d,\"gpu_name\":{\"eq\":\"RTX 4090\"},$tail}" gpu_name=RTX_4090
  check "{$d,\"num_gpus\":{\"gte\":\"2\"},\"dph_total\":{\"lt\":\"1.0\"},$tail}" 'num_gpus>=2' 'dph<1.0'
  check "{$d,\"gpu_ram\":{\"gte\":24000.0},$tail}" 'gpu_ram>=24'
  check "{$d,\"geolocation\":{\"in\":[\"US\",\"CA\"]},$tail}" geolocation in '[US,CA]'
  check "{$d,\"reliability\":{\"gt\":\"0.98\"},\"order\":[[\"dph_total\",\"asc\"]],\"limit\":3,\"type\":\"on-demand\",\"allocated_storage\":5.0}" \
    'reliability>0.98' --order dph --limit 3
  check "{$d,\"order\":[[\"dph_total\",\"desc\"]],\"type\":\"on-demand\",\"allocated_storage\":5.0}" --order dph-
  # a word that is no query is a usage error, and nothing is asked of the API
  n=$(wc -l < "$MOCK_LOG")
  run --separate-stderr trainbox vast offers 'gpu_name~~x'
  assert_failure 64
  assert_equal "$(wc -l < "$MOCK_LOG")" "$n"
}

@test "offers: NDJSON with the issue's fields (RAM in GB), or a table with -H" {
  start_mock
  run --separate-stderr trainbox vast offers gpu_name=RTX_3090
  assert_success
  assert_equal "${#lines[@]}" 1
  assert_equal "$(jq -c 'keys_unsorted' <<<"$output")" \
    '["id","gpu_name","num_gpus","gpu_ram","cpu_ram","disk_space","dph_total","reliability","inet_down","inet_up","geolocation","cuda_max_good","machine_id"]'
  assert_equal "$(jq -c '[.id, .gpu_name, .gpu_ram, .cpu_ram, .dph_total]' <<<"$output")" '[5003,"RTX 3090",24.576,32,0.2]'
  run --separate-stderr trainbox vast offers -H 'num_gpus>=8'
  assert_success
  assert_equal "${#lines[@]}" 3
  [[ "${lines[0]}" == "ID "*"GPU"*'$/HOUR'* ]]
  [[ "$output" == *"H100 SXM"* && "$output" == *"A100 SXM4"* ]]
}

@test "launch --wait: the create body, the instance runs, destroy by id removes it" {
  start_mock --boot-polls 3
  export AWS_ACCESS_KEY_ID=AKIDTEST AWS_SECRET_ACCESS_KEY=aws-secret-value HF_TOKEN=hf_secret_value
  run --separate-stderr $LAUNCH --env WANDB_MODE=offline --max-hours 2 --repo https://example.com/r.git --ref v1 \
    --run 'python train.py --lr 0.1' --sync-dir ckpt --sync-to s3://b/run1 --wait
  assert_success
  assert_equal "$(jq -r .actual_status <<<"$output")" running
  id=$(jq -r .id <<<"$output"); label=$(jq -r .label <<<"$output")
  [[ "$label" =~ ^tb-[0-9]{8}-[0-9]{6}-[0-9a-f]{8}$ ]] || fail "label $label"
  assert_equal "$(creates)" 1
  state > st.json
  b=$(jq -c --argjson id "$id" '.instances[] | select(.id == $id) | .create_body' st.json)
  assert_equal "$(jq -c '[.client_id, .image, .disk, .label == "'"$label"'", .runtype, .cancel_unavail, .price]' <<<"$b")" \
    '["me","pytorch/pytorch:2.3",40,true,"ssh_proxy",true,null]'
  # the store credentials present are passed, VAST_API_KEY is not
  assert_equal "$(jq -c '.env | [.AWS_ACCESS_KEY_ID, .AWS_SECRET_ACCESS_KEY, .HF_TOKEN, .WANDB_MODE, .VAST_API_KEY]' <<<"$b")" \
    '["AKIDTEST","aws-secret-value","hf_secret_value","offline",null]'
  # the onstart: the watchdog, then our script with the options
  jq -r .onstart <<<"$b" > onstart.sh
  grep -q 'sleep 7200' onstart.sh
  grep -q 'CONTAINER_API_KEY' onstart.sh
  assert_equal "$(onstart_script < onstart.sh)" "$(cat start.sh)"
  assert_equal "$(grep '^exec ' onstart.sh)" \
    "exec /root/trainbox/start_vast.sh --repo https://example.com/r.git --ref v1 --run 'python train.py --lr 0.1' --sync-dir ckpt --sync-to s3://b/run1 --max-hours 2"
  bash -n onstart.sh
  # polled until running: boot-polls 3 loading answers, then running
  [ "$(jq -s '[.[] | select(.method == "GET" and (.path | test("/api/v0/instances/'"$id"'/")))] | length' "$MOCK_LOG")" -ge 4 ]
  # no secret in what was printed
  [[ "$output$stderr" != *aws-secret-value* && "$output$stderr" != *hf_secret_value* ]]
  run --separate-stderr trainbox vast destroy "$id"
  assert_success
  assert_equal "$(jq -c '[.id, .action]' <<<"$output")" "[$id,\"destroy\"]"
  assert_equal "$(live)" 0
  run --separate-stderr trainbox vast show "$id"
  assert_failure 66
}

@test "launch --wait --timeout: never running -> the last log lines are printed and the instance destroyed" {
  start_mock --fail never-running
  run --separate-stderr $LAUNCH --wait --timeout 1s
  assert_failure 69
  [[ "$stderr" == *"not running after --timeout"* ]]
  [[ "$stderr" == *"last log lines"* && "$stderr" == *"mock: pulling image"* ]]
  [[ "$stderr" == *"destroyed instance"* ]]
  assert_output ''
  assert_equal "$(creates)" 1
  assert_equal "$(state | jq '[.instances[] | select(.destroyed == true)] | length')" 1
  assert_equal "$(live)" 0
}

@test "launch --wait: an instance that exits fails at once and is destroyed" {
  start_mock --fail exits --boot-polls 1
  run --separate-stderr $LAUNCH --wait --timeout 1h
  assert_failure 69
  [[ "$stderr" == *"went to 'exited'"* ]]
  assert_equal "$(live)" 0
  assert_equal "$(creates)" 1
}

@test "a lost create answer: never sent again, the instance found by its label and adopted (exactly one)" {
  start_mock --fail lost-create
  run --separate-stderr $LAUNCH --wait
  assert_success
  assert_equal "$(jq -r '[.adopted, .actual_status] | @tsv' <<<"$output")" $'true\trunning'
  [[ "$stderr" == *"adopted instance"* ]]
  assert_equal "$(creates)" 1
  assert_equal "$(state | jq .creates)" 1
  assert_equal "$(live)" 1
  assert_equal "$(state | jq '.instances[0].id')" "$(jq .id <<<"$output")"
}

@test "a lost create answer, then the wait fails: the one instance made is destroyed" {
  start_mock --fail lost-create --fail exits
  run --separate-stderr $LAUNCH --wait
  assert_failure 69
  assert_equal "$(creates)" 1
  assert_equal "$(state | jq .creates)" 1
  assert_equal "$(live)" 0
}

@test "a 5xx create answer is not retried: made anyway -> adopted; not made -> nothing rented" {
  start_mock --fail '500:PUT:/asks/:1:after'
  run --separate-stderr $LAUNCH
  assert_success
  assert_equal "$(jq -r .adopted <<<"$output")" true
  assert_equal "$(creates)" 1
  assert_equal "$(live)" 1
  stop_pid "$MOCK_PID"
  start_mock --fail '503:PUT:/asks/:1'
  run --separate-stderr $LAUNCH
  assert_failure 69
  [[ "$stderr" == *"none was rented"* ]]
  assert_equal "$(creates)" 1
  assert_equal "$(state | jq .creates)" 0
}

@test "a 429 is retried, for a create too (it was refused, not acted on)" {
  start_mock --fail '429:POST:/bundles/:2' --fail '429:PUT:/asks/:1'
  run --separate-stderr trainbox vast offers gpu_name=RTX_3090
  assert_success
  assert_equal "$(jq -s '[.[] | select(.path == "/api/v0/bundles/")] | map(.status) | join(",")' -r "$MOCK_LOG")" "429,429,200"
  run --separate-stderr $LAUNCH
  assert_success
  assert_equal "$(jq -r .adopted <<<"$output")" false
  assert_equal "$(creates)" 2
  assert_equal "$(state | jq .creates)" 1
}

@test "--max-dph and the balance refuse before anything is rented" {
  start_mock --fail balance=5
  run --separate-stderr $LAUNCH --max-dph 0.30
  assert_failure 69
  [[ "$stderr" == *'costs $0.3500/h, more than --max-dph $0.3000/h'* ]]
  run --separate-stderr trainbox vast launch --cheapest 'gpu_name=RTX_4090 num_gpus>=2' --image i --disk 10 --onstart start.sh --max-dph 0.5
  assert_failure 69
  [[ "$stderr" == *"offer 5002 costs"* ]]
  run --separate-stderr $LAUNCH --max-hours 20
  assert_failure 77
  [[ "$stderr" == *'balance $5.00 does not cover 20 h at $0.3500/h ($7.00)'* ]]
  assert_equal "$(creates)" 0
  # within both limits it rents the cheapest match
  run --separate-stderr trainbox vast launch --cheapest 'gpu_name=RTX_4090' --image i --disk 10 --onstart start.sh --max-dph 0.5 --max-hours 10
  assert_success
  assert_equal "$(jq .offer <<<"$output")" 5007
  assert_equal "$(creates)" 1
}

@test "destroy --label destroys every instance with the label, only those; a used label is refused for launch" {
  printf '{"instances":[{"id":7001,"label":"exp"},{"id":7002,"label":"exp"},{"id":7003,"label":"other"}]}\n' > seed.json
  start_mock --state seed.json --page-size 1
  run --separate-stderr $LAUNCH --label exp
  assert_failure 64
  [[ "$stderr" == *"label 'exp' is in use"* ]]
  assert_equal "$(creates)" 0
  run --separate-stderr trainbox vast destroy --label exp
  assert_success
  assert_equal "$(jq -s -c 'map(.id)' <<<"$output")" '[7001,7002]'
  assert_equal "$(state | jq -c '[.instances[] | select(.destroyed != true) | .id]')" '[7003]'
  run --separate-stderr trainbox vast destroy --label exp
  assert_failure 66
  run --separate-stderr trainbox vast destroy --dry-run 7003
  assert_success
  assert_equal "$(jq -r '[.method, .url] | @tsv' <<<"$output")" "DELETE	$VAST_URL/api/v0/instances/7003/"
  assert_equal "$(live)" 1
}

@test "list: every page, old instances marked (--older-than), with a reminder on stderr" {
  now=$(date +%s)
  printf '{"instances":[{"id":7001,"label":"old","start_date":%s,"actual_status":"running"},{"id":7002,"label":"new","start_date":%s,"actual_status":"running"}]}\n' \
    $((now - 13 * 3600)) $((now - 600)) > seed.json
  start_mock --state seed.json --page-size 1
  run --separate-stderr trainbox vast list
  assert_success
  assert_equal "$(jq -s -c 'map([.id, .old])' <<<"$output")" '[[7001,true],[7002,false]]'
  [[ "$stderr" == *"instance 7001 (old) has been up 13.0 h"* ]]
  [[ "$stderr" != *7002* ]]
  run --separate-stderr trainbox vast list --older-than 5m
  assert_equal "$(jq -s -c 'map(.old)' <<<"$output")" '[true,true]'
  run --separate-stderr trainbox vast list -H --older-than 1d
  assert_success
  [[ "${lines[0]}" == "ID "*"LABEL"* ]]
  [[ "$output" != *"<-"* ]]
}

@test "show, logs, stop, start map to their endpoints" {
  printf '{"instances":[{"id":7001,"label":"x","actual_status":"running","extra_env":[["HF_TOKEN","hf_seeded_secret"],["MODE","a"]]}]}\n' > seed.json
  start_mock --state seed.json
  run --separate-stderr trainbox vast show 7001
  assert_success
  assert_equal "$(jq -r .label <<<"$output")" x
  [[ "$output" != *hf_seeded_secret* ]]
  run --separate-stderr trainbox vast logs 7001 --tail 2
  assert_success
  assert_equal "${#lines[@]}" 2
  assert_equal "$(jq -s -c '[.[] | select(.path | test("request_logs")) | .body.tail]' "$MOCK_LOG")" '["2"]'
  # the result_url gets no key
  assert_equal "$(jq -s -c '[.[] | select(.path | test("^/__logs/")) | .auth] | unique' "$MOCK_LOG")" '[false]'
  run --separate-stderr trainbox vast stop 7001
  assert_success
  assert_equal "$(state | jq -r '.instances[0].actual_status')" exited   # how Vast.ai shows a stopped instance
  run --separate-stderr trainbox vast start 7001
  assert_success
  assert_equal "$(jq -s -c '[.[] | select(.method == "PUT" and .path == "/api/v0/instances/7001/") | .body.state]' "$MOCK_LOG")" '["stopped","running"]'
  run --separate-stderr trainbox vast show 99
  assert_failure 66
}

@test "the key is never printed: -v on every action, --dry-run, errors" {
  printf '{"instances":[{"id":7001,"label":"x","actual_status":"running"}]}\n' > seed.json
  start_mock --state seed.json --fail '502:GET:/users/current:1'
  all=""
  for a in "offers" "list" "show 7001" "logs 7001" "stop 7001" "start 7001" "launch --offer 5001 --image i --disk 1 --onstart start.sh --dry-run" "destroy 7001"; do
    run --separate-stderr trainbox vast -v $a
    all="$all$output$stderr"
  done
  [[ "$all" == *"trainbox vast: GET $VAST_URL/api/v1/instances/"* ]]  # -v did print the requests
  [[ "$all" == *'"Authorization":"Bearer <redacted>"'* ]]
  [[ "$all" != *"$KEY"* ]] || fail "the key was printed"
  # a wrong key's error names where the key comes from, not the key
  VAST_API_KEY=wrong-key-value run --separate-stderr trainbox vast -v list
  assert_failure 77
  [[ "$stderr" != *wrong-key-value* ]]
}

@test "a rejected key is 77: 401, and 404 with auth_error; no key at all is 77 too" {
  start_mock
  VAST_API_KEY=nope run --separate-stderr trainbox vast list
  assert_failure 77
  [[ "$stderr" == *"refused the key (HTTP 401"* ]]
  stop_pid "$MOCK_PID"
  start_mock --auth-404
  VAST_API_KEY=nope run --separate-stderr trainbox vast show 5
  assert_failure 77
  [[ "$stderr" == *"HTTP 404"*"auth_error"* ]]
  # the key file when VAST_API_KEY is not set
  mkdir -p home/.config/vastai
  echo "$KEY" > home/.config/vastai/vast_api_key
  HOME=$PWD/home VAST_API_KEY= run --separate-stderr trainbox vast list
  assert_success
  HOME=$PWD/nohome VAST_API_KEY= run --separate-stderr trainbox vast list
  assert_failure 77
  [[ "$stderr" == *"VAST_API_KEY"* ]]
}

@test "launch --dry-run prints the create, key and secrets redacted, and rents nothing" {
  start_mock
  AWS_SECRET_ACCESS_KEY=aws-secret-value run --separate-stderr $LAUNCH --dry-run --env MODE=x
  assert_success
  assert_equal "$(jq -r '[.method, .url] | @tsv' <<<"$output")" "PUT	$VAST_URL/api/v0/asks/5001/"
  assert_equal "$(jq -r '.body.env | [.MODE, .AWS_SECRET_ACCESS_KEY] | @tsv' <<<"$output")" $'x\t<redacted>'
  assert_equal "$(creates)" 0
}

@test "the start script: --onstart, else PREFIX/share/trainbox/start_vast.sh beside the binary; missing -> 66" {
  start_mock
  mkdir -p inst/bin inst/share/trainbox bare/bin
  cp "$(command -v trainbox)" inst/bin/; cp "$(command -v trainbox)" bare/bin/
  printf '#!/bin/bash\necho installed\n' > inst/share/trainbox/start_vast.sh
  run --separate-stderr inst/bin/trainbox vast launch --offer 5001 --image i --disk 1 --dry-run
  assert_success
  assert_equal "$(jq -r .body.onstart <<<"$output" | onstart_script)" "$(cat inst/share/trainbox/start_vast.sh)"
  run --separate-stderr bare/bin/trainbox vast launch --offer 5001 --image i --disk 1
  assert_failure 66
  [[ "$stderr" == *"--onstart FILE"* ]]
  n=$(wc -l < "$MOCK_LOG")
  run --separate-stderr trainbox vast launch --offer 5001 --image i --disk 1 --onstart nope.sh
  assert_failure 66
  assert_equal "$(wc -l < "$MOCK_LOG")" "$n"   # nothing asked of the API
}

@test "usage errors exit 64 before any request" {
  start_mock
  for args in "" "frob" "launch --image i --disk 1" "launch --offer 1 --cheapest x --image i --disk 1" "launch --offer 1 --disk 1" \
              "launch --offer 1 --image i" "launch --offer 1 --image i --disk 1 --sync-dir d" "launch --offer x --image i --disk 1" \
              "launch --offer 1 --image i --disk 1 --env =x" "launch --offer 1 --image i --disk 1 --timeout 5m" \
              "show" "show x" "logs 1 2" "destroy" "destroy 1 --label a" "list --tail 3" "offers --image x" \
              "launch --offer 1 --image i --disk 1 --max-dph -1"; do
    run --separate-stderr trainbox vast $args
    [ "$status" = 64 ] || fail "vast $args: status $status ($stderr)"
    [[ "$stderr" == *"try 'trainbox vast --help'"* ]] || fail "vast $args: $stderr"
  done
  assert_equal "$(wc -l < "$MOCK_LOG")" 0
}

@test "the onstart runs: the start script gets its arguments; --max-hours' watchdog destroys the instance" {
  start_mock
  run --separate-stderr $LAUNCH --max-hours 0.0003 --run 'echo "a b"' --sync-dir ck --sync-to s3://b/x
  assert_success
  id=$(jq .id <<<"$output")
  state | jq -r --argjson id "$id" '.instances[] | select(.id == $id) | .create_body.onstart' > onstart.sh
  grep -q 'sleep 1;' onstart.sh
  # run it here, /root/trainbox moved into the test's directory, as the instance would
  sed "s|/root/trainbox|$PWD/box|g" onstart.sh > here.sh
  CONTAINER_ID=$id CONTAINER_API_KEY=$KEY run bash here.sh
  assert_success
  assert_output 'my start script --run echo "a b" --sync-dir ck --sync-to s3://b/x --max-hours 0.0003'
  cmp start.sh box/start_vast.sh
  for i in $(seq 50); do [ "$(live)" = 0 ] && break; sleep 0.1; done
  assert_equal "$(live)" 0
  jq -e -s --argjson id "$id" 'any(.[]; .method == "DELETE" and .path == "/api/v0/instances/\($id)/" and .auth_ok)' "$MOCK_LOG"
}
