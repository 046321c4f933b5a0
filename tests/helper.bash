# Shared bats helper: assertions, the freshly built binary first on PATH, temp dirs, free ports,
# and the test servers (started on 127.0.0.1, stopped by PID).
bats_require_minimum_version 1.5.0
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'
load '/usr/lib/bats/bats-file/load'

REPO="$(cd "$BATS_TEST_DIRNAME/.." && pwd)"
export PATH="${TB_BIN_DIR:-$REPO}:$PATH"
export LC_ALL=C.UTF-8
# never let a developer's real credentials or endpoints leak into a test
unset AWS_PROFILE AWS_ENDPOINT_URL TRAINBOX_S3_ENDPOINT AWS_CA_BUNDLE AZURE_STORAGE_CONNECTION_STRING HF_TOKEN VAST_API_KEY
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null

# A free TCP port on 127.0.0.1 (the kernel picks it).
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# wait_port PORT [SECONDS]: until something accepts on 127.0.0.1:PORT.
wait_port() {
  local port=$1 limit=${2:-30} i=0
  # (a `while ! probe; do ...; [ ] && return 1; done` loop would return the last test's status 1)
  until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    sleep 0.1; i=$((i + 1))
    if [ "$i" -ge $((limit * 10)) ]; then echo "port $port never opened" >&2; return 1; fi
  done
  return 0
}

# stop_pid PID: TERM, then KILL if still alive after 3 s.
stop_pid() {
  local pid=$1 i=0
  [ -n "$pid" ] || return 0
  kill "$pid" 2>/dev/null || return 0
  while kill -0 "$pid" 2>/dev/null && [ $i -lt 30 ]; do sleep 0.1; i=$((i + 1)); done
  kill -9 "$pid" 2>/dev/null || true
}

# gen_samples N [SEED]: N NDJSON samples with keys, text, nested JSON, unicode and binary fields.
gen_samples() {
  python3 "$REPO/tests/gen_samples.py" "$@"
}

# trailer N: the record-stream trailer line for N records, exactly as every stage writes it.
trailer() { printf '{"__end__": {"records": %s, "ok": true}}\n' "$1"; }
export -f trailer

# ---- servers (moto S3, Azurite, HTTP mocks): see below, owned by the store layer's tests ----

# ---- Azure: Azurite (npm package, installed once into the gitignored tests/.cache) ----
# start_azurite: Azurite's blob service on a free port with a fresh data dir. Sets AZURITE_PORT,
# AZURITE_PID, AZURITE_ENDPOINT (path-style, .../devstoreaccount1) and AZ_CONN (a connection string
# for it). Call from setup_file (one server per .bats file), stop_azurite from teardown_file.
AZURITE_CACHE="$REPO/tests/.cache"
AZ_DEV_KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
azurite_install() {
  local bin="$AZURITE_CACHE/node_modules/.bin/azurite-blob"
  [ -x "$bin" ] && return 0
  mkdir -p "$AZURITE_CACHE"
  # the lock keeps two suites started at once from installing into the same directory together
  ( flock 9
    [ -x "$bin" ] || (cd "$AZURITE_CACHE" && npm install --no-audit --no-fund --loglevel=error azurite >&2)
  ) 9>"$AZURITE_CACHE/.azurite.lock"
  [ -x "$bin" ]
}
# az_wait_port PORT [SECONDS]: like wait_port, whose loop returns 1 whenever it had to wait at all.
az_wait_port() {
  local port=$1 limit=${2:-30} i=0
  while ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    sleep 0.1; i=$((i + 1))
    if [ "$i" -ge $((limit * 10)) ]; then echo "port $port never opened" >&2; return 1; fi
  done
  return 0
}
start_azurite() {
  azurite_install || { echo "azurite install failed" >&2; return 1; }
  AZURITE_PORT=$(free_port)
  AZURITE_DATA=$(mktemp -d "${BATS_FILE_TMPDIR:-/tmp}/azurite.XXXXXX")
  "$AZURITE_CACHE/node_modules/.bin/azurite-blob" --blobHost 127.0.0.1 --blobPort "$AZURITE_PORT" \
    --location "$AZURITE_DATA" --skipApiVersionCheck --disableTelemetry --silent \
    >"$AZURITE_DATA/azurite.log" 2>&1 &
  AZURITE_PID=$!
  az_wait_port "$AZURITE_PORT" 60 || { cat "$AZURITE_DATA/azurite.log" >&2; return 1; }
  AZURITE_ENDPOINT="http://127.0.0.1:$AZURITE_PORT/devstoreaccount1"
  AZ_CONN="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=$AZ_DEV_KEY;BlobEndpoint=$AZURITE_ENDPOINT;"
  export AZURITE_PORT AZURITE_PID AZURITE_ENDPOINT AZ_CONN
}
stop_azurite() {
  stop_pid "${AZURITE_PID:-}"
  AZURITE_PID=
}
# ---- end Azure ----

# ==== BEGIN store servers (moto S3 + auth helpers; owned by the store layer's tests) ====
# start_moto [--auth]: moto's S3 server on a free port. Sets MOTO_PORT, MOTO_PID, MOTO_URL, and
# exports AWS_ENDPOINT_URL + AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_DEFAULT_REGION. With --auth,
# creates an IAM user with an access key (exported as the credentials, also MOTO_AK/MOTO_SK) and turns
# signature checking on (a wrong secret then gets 403 SignatureDoesNotMatch).
start_moto() {
  MOTO_PORT=$(free_port)
  MOTO_URL="http://127.0.0.1:$MOTO_PORT"
  python3 -m moto.server -H 127.0.0.1 -p "$MOTO_PORT" >"${BATS_FILE_TMPDIR:-$BATS_TEST_TMPDIR}/moto.log" 2>&1 &
  MOTO_PID=$!
  wait_port "$MOTO_PORT" 30
  export MOTO_URL MOTO_PORT MOTO_PID AWS_ENDPOINT_URL="$MOTO_URL" AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1
  export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
  unset AWS_SESSION_TOKEN
  if [ "${1:-}" = --auth ]; then
    moto_create_key
    moto_auth on
  fi
}

stop_moto() { stop_pid "${MOTO_PID:-}"; MOTO_PID=; }

# moto_create_key: an IAM user allowed everything, and its access key (exported as the credentials).
moto_create_key() {
  local out
  # one python process instead of four awscli runs (each costs about a second)
  out=$(python3 - "$MOTO_URL" <<'PY'
import json, sys, boto3
iam = boto3.client("iam", endpoint_url=sys.argv[1], region_name="us-east-1",
                   aws_access_key_id="testing", aws_secret_access_key="testing")
pol = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
iam.create_user(UserName="tb")
arn = iam.create_policy(PolicyName="tball", PolicyDocument=json.dumps(pol))["Policy"]["Arn"]
iam.attach_user_policy(UserName="tb", PolicyArn=arn)
k = iam.create_access_key(UserName="tb")["AccessKey"]
print(k["AccessKeyId"], k["SecretAccessKey"])
PY
)
  MOTO_AK=${out%% *}
  MOTO_SK=${out#* }
  export MOTO_AK MOTO_SK AWS_ACCESS_KEY_ID="$MOTO_AK" AWS_SECRET_ACCESS_KEY="$MOTO_SK"
}

# moto_auth on|off: signature checking (moto's quirk: listings with '/' in the query need it off).
moto_auth() {
  local v=0
  [ "$1" = off ] && v=inf
  curl -sf -X POST -H 'Content-Type: text/plain' --data-binary "$v" "$MOTO_URL/moto-api/reset-auth" >/dev/null
}

# mb BUCKET: create a bucket with awscli.
mb() { aws --endpoint-url "$MOTO_URL" s3api create-bucket --bucket "$1" >/dev/null; }

# open_mpu BUCKET: the number of multipart uploads still open (must be 0 after every failure).
open_mpu() {
  aws --endpoint-url "$MOTO_URL" s3api list-multipart-uploads --bucket "$1" --output json |
    jq '(.Uploads // []) | length'
}
# start_proxy [fault_proxy.py options...]: the fault-injecting proxy in front of moto. Sets
# PROXY_PORT, PROXY_PID, PROXY_URL; faults drawn are logged one per line to $BATS_TEST_TMPDIR/faults.log.
start_proxy() {
  PROXY_PORT=$(free_port)
  PROXY_URL="http://127.0.0.1:$PROXY_PORT"
  python3 "$REPO/tests/fault_proxy.py" --listen "$PROXY_PORT" --upstream "$MOTO_URL" \
    --log "$BATS_TEST_TMPDIR/faults.log" "$@" >"$BATS_TEST_TMPDIR/proxy.log" 2>&1 &
  PROXY_PID=$!
  wait_port "$PROXY_PORT" 10
}

stop_proxy() { stop_pid "${PROXY_PID:-}"; PROXY_PID=; }
# ==== END store servers ====
