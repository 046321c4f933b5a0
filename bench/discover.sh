#!/usr/bin/env bash
# bench/discover.sh: list 20,000 objects on one local moto server with `trainbox discover --objects`
# vs `aws s3 ls --recursive` vs `rclone lsf -R`, side by side in one run. Prints wall time, client
# CPU seconds (user+sys) and peak RSS of each, and trainbox's ratios to the best peer.
# Targets: wall at least as fast as the fastest peer, a tenth of its CPU. Usage: bench/discover.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-20000}
. bench/moto.bash

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
