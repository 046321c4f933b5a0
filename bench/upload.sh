#!/usr/bin/env bash
# bench/upload.sh: trainbox upload vs `aws s3 cp --recursive` vs `rclone copy --transfers 8`, in one
# run against one local moto server: 200 files of 1 MiB, then one 256 MiB file. Prints wall time,
# client CPU seconds (user+sys) and peak RSS of each, and trainbox's ratios to the best peer.
# Targets: wall <= best peer, CPU <= 1/4 of the best peer's, peak RSS < 32 MB.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/moto.bash

mkdir -p "$work/small" "$work/big"
for i in $(seq -w 1 200); do head -c 1048576 /dev/urandom >"$work/small/s$i.bin"; done
head -c 268435456 /dev/urandom >"$work/big/big.bin"
python3 - "$E" <<'PY'
import sys, boto3
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1")
for b in ("b-tb", "b-aws", "b-rc"):
    s3.create_bucket(Bucket=b)
PY

# measure NAME CMD...: runs CMD under /usr/bin/time, prints a row, records "wall cpu rss_kb"
declare -A WALL CPU RSS
measure() {
  local name=$1; shift
  /usr/bin/time -f '%e %U %S %M' -o "$work/time" "$@" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; echo "$name failed" >&2; exit 1; }
  read -r w u s m <"$work/time"
  WALL[$name]=$w; CPU[$name]=$(echo "$u + $s" | bc); RSS[$name]=$m
  printf '  %-10s wall %6.2f s   cpu %6.2f s   peak rss %6.1f MB\n' "$name" "$w" "${CPU[$name]}" "$(echo "$m / 1024" | bc -l)"
}
clear_buckets() {
  python3 - "$E" <<'PY'
import sys, boto3
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1")
for b in ("b-tb", "b-aws", "b-rc"):
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=b):
        for o in page.get("Contents", []):
            s3.delete_object(Bucket=b, Key=o["Key"])
PY
}
ratios() {
  local best_w best_c peer
  best_w=$(printf '%s\n%s\n' "${WALL[aws]}" "${WALL[rclone]}" | sort -g | head -1)
  best_c=$(printf '%s\n%s\n' "${CPU[aws]}" "${CPU[rclone]}" | sort -g | head -1)
  printf '  trainbox / best peer: wall %.2fx, cpu %.2fx, peak rss %.1f MB\n' \
    "$(echo "${WALL[trainbox]} / $best_w" | bc -l)" "$(echo "${CPU[trainbox]} / $best_c" | bc -l)" \
    "$(echo "${RSS[trainbox]} / 1024" | bc -l)"
}

echo "200 x 1 MiB files"
measure trainbox bash -c "ls '$work'/small/* | '$BIN' upload --progress=none --jobs 8 s3://b-tb/small/"
measure aws aws s3 cp --recursive --only-show-errors "$work/small" s3://b-aws/small/
measure rclone rclone --config "$work/rclone.conf" copy --transfers 8 "$work/small" m:b-rc/small
ratios
clear_buckets

echo "1 x 256 MiB file"
measure trainbox "$BIN" upload --progress=none --jobs 8 s3://b-tb/big/ -- "$work/big/big.bin"
measure aws aws s3 cp --only-show-errors "$work/big/big.bin" s3://b-aws/big/big.bin
measure rclone rclone --config "$work/rclone.conf" copy --transfers 8 "$work/big" m:b-rc/big
ratios
