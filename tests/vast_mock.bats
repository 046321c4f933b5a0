#!/usr/bin/env bats
# tests/vast_mock.py proven with curl: the Bearer key (401, or 404 auth_error), offers filtered and
# ordered as the official client's query asks, create -> loading -> running -> destroyed, the v1
# listing's next_token pages, the failure specs (lost-create, 429/500 counts, ":after", never-running,
# exits, balance=), the logs' result_url (404 first, then the tail, no Authorization there), --state.
load helper

setup() {
  cd "$BATS_TEST_TMPDIR"
  KEY="mock-key-$RANDOM$RANDOM"
}

teardown() {
  stop_pid "${MOCK_PID:-}"
}

# start_mock [OPTIONS]: vast_mock.py on a free port; sets VAST (http://127.0.0.1:P), PORT, MOCK_LOG.
start_mock() {
  PORT=$(free_port)
  MOCK_LOG="$BATS_TEST_TMPDIR/mock.log"
  python3 "$REPO/tests/vast_mock.py" --port "$PORT" --key "$KEY" --log "$MOCK_LOG" "$@" \
    > "$BATS_TEST_TMPDIR/mock.out" 2> "$BATS_TEST_TMPDIR/mock.err" 3>&- &
  MOCK_PID=$!
  wait_port "$PORT" 10
  VAST="http://127.0.0.1:$PORT"
  grep -q '^ready$' "$BATS_TEST_TMPDIR/mock.out"
}

# api METHOD PATH [BODY]: the answer's body on stdout, its status in $BATS_TEST_TMPDIR/status
api() {
  local args=(-sS -X "$1" -H "Authorization: Bearer $KEY" -o "$BATS_TEST_TMPDIR/body" -w '%{http_code}')
  [ -z "${3:-}" ] || args+=(-H 'Content-Type: application/json' --data-binary "$3")
  curl "${args[@]}" "$VAST$2" > "$BATS_TEST_TMPDIR/status"
  cat "$BATS_TEST_TMPDIR/body"
}
status_is() { assert_equal "$(cat "$BATS_TEST_TMPDIR/status")" "$1"; }
show_status() { api GET "/api/v0/instances/$1/?owner=me" | jq -r '.instances.actual_status'; }
state() { curl -sS "$VAST/__state"; }

# the body vast.py's `search offers` sends for the issue's example query (defaults, aliases, GB -> MB)
ISSUE_QUERY='{"verified":{"eq":true},"external":{"eq":false},"rentable":{"eq":true},"rented":{"eq":false},"gpu_name":{"eq":"RTX 4090"},"num_gpus":{"gte":"1"},"reliability":{"gt":"0.98"},"dph_total":{"lt":"1.0"},"geolocation":{"in":["US","CA"]},"gpu_ram":{"gte":24000.0},"order":[["score","desc"]],"type":"on-demand","allocated_storage":5.0}'

@test "mock: the Bearer key is checked: missing or wrong 401 auth_error (404 with --auth-404), logged" {
  start_mock
  run curl -sS -o body -w '%{http_code}' "$VAST/api/v0/users/current"
  assert_output 401
  assert_equal "$(jq -r .error body)" auth_error
  run curl -sS -o body -w '%{http_code}' -H "Authorization: Bearer wrong" "$VAST/api/v0/users/current"
  assert_output 401
  api GET /api/v0/users/current > user.json
  status_is 200
  assert_equal "$(jq -r '.balance, .credit' user.json | tr '\n' ' ')" "100 100 "
  assert_equal "$(jq -r '[.auth_ok, .auth] | @tsv' "$MOCK_LOG" | tr '\t\n' ', ')" "false,false false,true true,true "
  stop_pid "$MOCK_PID"
  start_mock --auth-404 --fail balance=3.5
  run curl -sS -o body -w '%{http_code}' -H "Authorization: Bearer wrong" "$VAST/api/v0/instances/1/?owner=me"
  assert_output 404
  assert_equal "$(jq -r .error body)" auth_error
  assert_equal "$(api GET /api/v0/users/current | jq .credit)" 3.5
}

@test "mock: offers filtered by the official client's query, ordered, limited; the defaults matter" {
  start_mock
  api POST /api/v0/bundles/ "$ISSUE_QUERY" > offers.json
  status_is 200
  # RTX 4090 in US/CA, verified, rentable, not external, reliable, under $1: 5001 and 5002, by score desc
  assert_equal "$(jq -c '[.offers[].id]' offers.json)" "[5002,5001]"
  jq -e '.offers[0] | .gpu_ram == 24564 and .cpu_ram == 128000 and .geolocation == "Quebec, CA"
         and .ask_contract_id == 5002 and .reliability2 == .reliability and .cuda_max_good == 12.4
         and (.machine_id | type) == "number" and (.inet_down | type) == "number" and .verified' offers.json
  q=$(jq -c '.order = [["dph_total","asc"]] | .limit = 1' <<<"$ISSUE_QUERY")
  assert_equal "$(api POST /api/v0/bundles/ "$q" | jq -c '[.offers[].id]')" "[5001]"
  # without the defaults the unverified 4x4090 in TW appears; notin and neq work too
  q='{"gpu_name":{"eq":"RTX 4090"},"geolocation":{"notin":["CN"]},"num_gpus":{"neq":"2"},"order":[["id","asc"]]}'
  assert_equal "$(api POST /api/v0/bundles/ "$q" | jq -c '[.offers[].id]')" "[5001,5009]"
  q='{"rentable":{"eq":true},"verified":{"eq":true},"external":{"eq":false},"num_gpus":{"in":["8"]},"driver_version":{"gte":535086005},"order":[["dph_total","desc"]]}'
  assert_equal "$(api POST /api/v0/bundles/ "$q" | jq -c '[.offers[].id]')" "[5005,5004]"
  q='{"rentable":{"eq":true},"num_gpus":{"lte":1},"dph_total":{"lte":"0.25"},"gpu_ram":{"lt":24000.0},"order":[]}'
  assert_equal "$(api POST /api/v0/bundles/ "$q" | jq -c '[.offers[].id] | sort')" "[5008,5012]"
  api POST /api/v0/bundles/ '{"num_gpus":{"like":"1"}}' > /dev/null
  status_is 400
}

@test "mock: create -> loading -> running after --boot-polls shows; the create body kept; destroy" {
  start_mock --boot-polls 2
  body='{"client_id":"me","image":"pytorch/pytorch:latest","env":{"A":"1","-p 22:22":"1"},"price":null,"disk":40.0,"label":"tb-1","onstart":"bash start_vast.sh\n","runtype":"ssh","cancel_unavail":true}'
  api PUT /api/v0/asks/5001/ "$body" > made.json
  status_is 200
  assert_equal "$(jq -c . made.json)" '{"success":true,"new_contract":31000001}'
  id=31000001
  assert_equal "$(show_status $id)" loading
  assert_equal "$(show_status $id)" loading
  assert_equal "$(show_status $id)" running
  api GET "/api/v0/instances/$id/?owner=me" > show.json
  jq -e '.instances | .label == "tb-1" and .intended_status == "running" and .cur_state == "running"
         and .dph_total == 0.35 and (.start_date | type) == "number" and .extra_env == [["A","1"]]
         and .image_uuid == "pytorch/pytorch:latest" and .disk_space == 40.0' show.json
  state > st.json
  jq -e --argjson b "$body" '.creates == 1 and .instances[0].create_body == $b and .instances[0].show_polls == 3' st.json
  # stop, start (boots again), label
  api PUT "/api/v0/instances/$id/" '{"state":"stopped"}' > /dev/null
  status_is 200
  api GET "/api/v0/instances/$id/?owner=me" | jq -e '.instances | .actual_status == "exited" and .intended_status == "stopped"'
  api PUT "/api/v0/instances/$id/" '{"state":"running"}' > /dev/null
  assert_equal "$(show_status $id)" loading
  api PUT "/api/v0/instances/$id/" '{"label":"renamed"}' > /dev/null
  api GET "/api/v0/instances/$id/?owner=me" | jq -e '.instances.label == "renamed"'
  api DELETE "/api/v0/instances/$id/" '{}' | jq -e '.success == true'
  api GET "/api/v0/instances/$id/?owner=me" | jq -e '.instances == null'
  api DELETE "/api/v0/instances/$id/" '{}' > /dev/null
  status_is 404
  state | jq -e '.instances[0].destroyed == true and .creates == 1'
  # a create without an image, or for an unknown offer, makes nothing
  api PUT /api/v0/asks/5001/ '{"client_id":"me"}' > /dev/null
  status_is 400
  api PUT /api/v0/asks/999/ '{"image":"x"}' > /dev/null
  status_is 404
  state | jq -e '.creates == 1'
  # the log has every request with its parsed body
  jq -e -s '[.[] | select(.method == "PUT" and .path == "/api/v0/asks/5001/")][0] | .body.label == "tb-1" and .status == 200 and .auth_ok' "$MOCK_LOG"
}

@test "mock: never-running stays loading; exits goes to exited" {
  start_mock --boot-polls 0 --fail never-running
  api PUT /api/v0/asks/5003/ '{"image":"x"}' > /dev/null
  for _ in 1 2 3 4; do assert_equal "$(show_status 31000001)" loading; done
  stop_pid "$MOCK_PID"
  start_mock --boot-polls 1 --fail exits
  api PUT /api/v0/asks/5003/ '{"image":"x"}' > /dev/null
  assert_equal "$(show_status 31000001)" loading
  assert_equal "$(show_status 31000001)" exited
  assert_equal "$(show_status 31000001)" exited
}

@test "mock: the v1 listing pages with next_token / after_token and filters by select_filters" {
  start_mock --page-size 2
  for i in 1 2 3 4 5; do
    api PUT /api/v0/asks/5001/ "{\"image\":\"x\",\"label\":\"$([ $i -le 3 ] && echo run-a || echo run-b)\"}" > /dev/null
  done
  : > ids.txt
  token="" pages=0
  while :; do
    q="select_filters=%7B%7D&order_by=%5B%7B%22col%22%3A%22id%22%2C%22dir%22%3A%22asc%22%7D%5D&limit=25"
    [ -z "$token" ] || q="$q&after_token=$token"
    api GET "/api/v1/instances/?$q" > page.json
    status_is 200
    jq -r '.instances[].id' page.json >> ids.txt
    assert_equal "$(jq .total_instances page.json)" 5
    pages=$((pages + 1))
    [ "$pages" -lt 10 ] || fail "paging never ends"
    token=$(jq -r '.next_token // empty' page.json)
    [ -n "$token" ] || break
  done
  assert_equal "$pages" 3
  assert_equal "$(tr '\n' ' ' < ids.txt)" "31000001 31000002 31000003 31000004 31000005 "
  jq -e '.label_counts == {"run-a": 3, "run-b": 2}' page.json
  f=$(jq -rn '{"label":{"in":["run-b"]}} | @uri')
  assert_equal "$(api GET "/api/v1/instances/?select_filters=$f" | jq -c '[.instances[].id]')" "[31000004,31000005]"
  api GET "/api/v1/instances/?after_token=zz" > /dev/null
  status_is 400
}

@test "mock: lost-create makes the instance and drops the connection unanswered" {
  start_mock --fail lost-create
  run curl -sS -X PUT -H "Authorization: Bearer $KEY" --data-binary '{"image":"x","label":"lost"}' "$VAST/api/v0/asks/5001/"
  assert_failure 52  # empty reply from server
  state | jq -e '.creates == 1 and .instances[0].label == "lost" and .instances[0].destroyed == false'
  jq -e -s '[.[] | select(.path == "/api/v0/asks/5001/")] | length == 1 and .[0].status == 0' "$MOCK_LOG"
  # only the first create is lost
  api PUT /api/v0/asks/5001/ '{"image":"x"}' | jq -e '.new_contract == 31000002'
}

@test "mock: 429 and 500 specs answer COUNT times then pass; :after carries the request out first" {
  start_mock --fail '429:POST:/bundles/:2' '500:PUT:^/api/v0/asks/:1' --fail '502:PUT:/asks/:1:after'
  api POST /api/v0/bundles/ "$ISSUE_QUERY" > /dev/null; status_is 429
  api POST /api/v0/bundles/ "$ISSUE_QUERY" > /dev/null; status_is 429
  api POST /api/v0/bundles/ "$ISSUE_QUERY" | jq -e '.offers | length == 2'
  status_is 200
  api PUT /api/v0/asks/5001/ '{"image":"x"}' > /dev/null; status_is 500
  state | jq -e '.creates == 0'
  api PUT /api/v0/asks/5001/ '{"image":"x"}' > /dev/null; status_is 502
  state | jq -e '.creates == 1'
  api PUT /api/v0/asks/5001/ '{"image":"x"}' | jq -e '.new_contract == 31000002'
  status_is 200
  # the method must match too: a GET of the same path is untouched by a PUT spec
  stop_pid "$MOCK_PID"
  start_mock --fail '500:DELETE:/instances/:1'
  api GET /api/v0/instances/1/?owner=me > /dev/null; status_is 200
  api DELETE /api/v0/instances/1/ '{}' > /dev/null; status_is 500
  api DELETE /api/v0/instances/1/ '{}' > /dev/null; status_is 404
}

@test "mock: logs answer a result_url on another host name that 404s once, then gives the tail" {
  start_mock --boot-polls 0
  api PUT /api/v0/asks/5001/ '{"image":"img:1","onstart":"echo hello\nmore"}' > /dev/null
  api PUT /api/v0/instances/request_logs/31000001/ '{"tail":"3"}' > logs.json
  status_is 200
  url=$(jq -r .result_url logs.json)
  [[ "$url" == "http://localhost:$PORT/__logs/"* ]]
  run curl -sS -o out.txt -w '%{http_code}' "$url"
  assert_output 404
  # a bearer token sent to the (presigned) URL is refused as S3 refuses a second auth mechanism
  run curl -sS -o out.txt -w '%{http_code}' -H "Authorization: Bearer $KEY" "$url"
  assert_output 400
  run curl -sS -o out.txt -w '%{http_code}' "$url"
  assert_output 200
  assert_equal "$(cat out.txt)" "$(printf 'train: step 2\ntrain: step 3\ntrain: saving checkpoint step-3')"
  api PUT /api/v0/instances/request_logs/31000001/ '{"tail":100}' | jq -r .result_url > url2
  curl -sS -o /dev/null "$(cat url2)"
  curl -sS "$(cat url2)" | grep -qx 'onstart: echo hello'
  api PUT /api/v0/instances/request_logs/999/ '{"tail":1}' > /dev/null; status_is 404
  # --log-text replaces the log
  stop_pid "$MOCK_PID"
  printf 'one\ntwo\nthree\n' > text.log
  start_mock --log-text text.log
  api PUT /api/v0/asks/5001/ '{"image":"x"}' > /dev/null
  url=$(api PUT /api/v0/instances/request_logs/31000001/ '{"tail":2}' | jq -r .result_url)
  curl -sS -o /dev/null "$url"
  assert_equal "$(curl -sS "$url")" "$(printf 'two\nthree')"
}

@test "mock: --state seeds instances and keeps every change" {
  cat > st.json <<'EOF'
{"instances": [{"id": 777, "label": "old-run", "actual_status": "running", "start_date": 1000.0},
               {"id": 778, "label": "old-run", "actual_status": "running", "destroyed": true}]}
EOF
  start_mock --state st.json
  api GET /api/v0/instances/777/?owner=me | jq -e '.instances | .label == "old-run" and .start_date == 1000.0 and .gpu_name == "RTX 4090"'
  api GET /api/v0/instances/778/?owner=me | jq -e '.instances == null'
  api PUT /api/v0/asks/5002/ '{"image":"x"}' | jq -e '.new_contract == 779'
  api DELETE /api/v0/instances/777/ '{}' > /dev/null
  jq -e '[.instances[] | select(.destroyed | not) | .id] == [779]' st.json
  stop_pid "$MOCK_PID"
  start_mock --state st.json
  api GET /api/v1/instances/ | jq -e '[.instances[].id] == [779]'
}
