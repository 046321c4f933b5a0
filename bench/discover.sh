#!/usr/bin/env bash
# bench/discover.sh: list 20,000 objects on one local moto server with `trainbox discover --objects`
# vs `aws s3 ls --recursive` vs `rclone lsf -R`, side by side in one run. Prints wall time, client
# CPU seconds (user+sys) and peak RSS of each, and trainbox's ratios to the best peer.
# Targets: wall at least as fast as the fastest peer, a tenth of its CPU. Usage: bench/discover.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
BIN=${TB_BIN:-$REPO/trainbox}
N=${1:-20000}
work=$(mktemp -d)
moto_pid=
cleanup() { [ -n "$moto_pid" ] && kill "$moto_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
unset AWS_CA_BUNDLE AWS_PROFILE TRAINBOX_S3_ENDPOINT
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
E="http://127.0.0.1:$port"
export AWS_ENDPOINT_URL=$E
python3 -m moto.server -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
moto_pid=$!
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done

echo "populating $N objects..." >&2
python3 - "$E" "$N" <<'PY'
import sys, boto3
from concurrent.futures import ThreadPoolExecutor
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1")
s3.create_bucket(Bucket="bench")
n = int(sys.argv[2])
def put(i):
    s3.put_object(Bucket="bench", Key=f"data/train/train-{i:06d}.tar", Body=b"x" * (1 + i % 97))
with ThreadPoolExecutor(8) as ex:
    list(ex.map(put, range(n)))
PY
cat >"$work/rclone.conf" <<EOC
[m]
type = s3
provider = Other
endpoint = $E
access_key_id = bench
secret_access_key = bench
force_path_style = true
region = us-east-1
EOC

measure() { # label cmd... -> "label wall cpu rss_kb lines"
  local label=$1; shift
  /usr/bin/time -f '%e %U %S %M' -o "$work/time" "$@" > "$work/out"
  read -r wall u s rss < "$work/time"
  echo "$label $wall $(awk -v u="$u" -v s="$s" 'BEGIN { print u + s }') $rss $(wc -l < "$work/out")"
}
{
  measure trainbox "$BIN" discover --objects s3://bench/data/
  measure awscli aws --endpoint-url "$E" s3 ls --recursive s3://bench/data/
  measure rclone rclone --config "$work/rclone.conf" lsf -R m:bench/data/
} > "$work/results"
awk 'BEGIN { printf "%-9s %8s %8s %9s %8s\n", "tool", "wall s", "cpu s", "RSS MB", "objects" }
     { printf "%-9s %8.2f %8.2f %9.1f %8d\n", $1, $2, $3, $4 / 1024, $5; w[$1] = $2; c[$1] = $3 }
     END {
       bw = w["awscli"] < w["rclone"] ? w["awscli"] : w["rclone"]; bc = c["awscli"] < c["rclone"] ? c["awscli"] : c["rclone"]
       printf "trainbox / best peer: wall %.2fx, cpu %.2fx (targets: <= 1.00x wall, <= 0.10x cpu)\n", w["trainbox"] / bw, c["trainbox"] / bc }' "$work/results"
