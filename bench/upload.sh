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

# Each tool runs RUNS times (default 3), the tools taking turns, into an emptied bucket each time;
# a row shows the best wall time and the least CPU (user+sys) over the runs, and the largest peak RSS.
# (One run each was too noisy here: whichever tool ran first paid moto's first touch of new memory.)
RUNS=${RUNS:-3}
declare -A WALL CPU RSS
clear_bucket() {
  python3 - "$E" "$1" <<'PY'
import sys, boto3
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1")
for page in s3.get_paginator("list_objects_v2").paginate(Bucket=sys.argv[2]):
    for o in page.get("Contents", []):
        s3.delete_object(Bucket=sys.argv[2], Key=o["Key"])
PY
}
# run_one NAME BUCKET CMD...
run_one() {
  local name=$1 bucket=$2 w u s m c; shift 2
  clear_bucket "$bucket"
  /usr/bin/time -f '%e %U %S %M' -o "$work/time" "$@" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; echo "$name failed" >&2; exit 1; }
  read -r w u s m <"$work/time"
  c=$(echo "$u + $s" | bc)
  if [ -z "${WALL[$name]:-}" ] || [ "$(echo "$w < ${WALL[$name]}" | bc)" = 1 ]; then WALL[$name]=$w; fi
  if [ -z "${CPU[$name]:-}" ] || [ "$(echo "$c < ${CPU[$name]}" | bc)" = 1 ]; then CPU[$name]=$c; fi
  if [ -z "${RSS[$name]:-}" ] || [ "$m" -gt "${RSS[$name]}" ]; then RSS[$name]=$m; fi
}
rows() {
  local name
  for name in trainbox aws rclone; do
    printf '  %-10s wall %6.2f s   cpu %6.2f s   peak rss %6.1f MB\n' "$name" "${WALL[$name]}" "${CPU[$name]}" "$(echo "${RSS[$name]} / 1024" | bc -l)"
  done
}
reset_stats() { WALL=(); CPU=(); RSS=(); }
ratios() {
  local best_w best_c
  best_w=$(printf '%s\n%s\n' "${WALL[aws]}" "${WALL[rclone]}" | sort -g | head -1)
  best_c=$(printf '%s\n%s\n' "${CPU[aws]}" "${CPU[rclone]}" | sort -g | head -1)
  printf '  trainbox / best peer: wall %.2fx, cpu %.2fx, peak rss %.1f MB\n' \
    "$(echo "${WALL[trainbox]} / $best_w" | bc -l)" "$(echo "${CPU[trainbox]} / $best_c" | bc -l)" \
    "$(echo "${RSS[trainbox]} / 1024" | bc -l)"
}

echo "200 x 1 MiB files (best of $RUNS runs each)"
reset_stats
for _ in $(seq "$RUNS"); do
  # the files as arguments, as the peers get a directory: a `ls | trainbox` pipe would also time bash and ls
  run_one trainbox b-tb "$BIN" upload --progress=none --jobs 8 s3://b-tb/small/ -- "$work"/small/*
  run_one aws b-aws aws s3 cp --recursive --only-show-errors "$work/small" s3://b-aws/small/
  run_one rclone b-rc rclone --config "$work/rclone.conf" copy --transfers 8 "$work/small" m:b-rc/small
done
rows
ratios
for b in b-tb b-aws b-rc; do clear_bucket $b; done

echo "1 x 256 MiB file (best of $RUNS runs each)"
reset_stats
for _ in $(seq "$RUNS"); do
  run_one trainbox b-tb "$BIN" upload --progress=none --jobs 8 s3://b-tb/big/ -- "$work/big/big.bin"
  run_one aws b-aws aws s3 cp --only-show-errors "$work/big/big.bin" s3://b-aws/big/big.bin
  run_one rclone b-rc rclone --config "$work/rclone.conf" copy --transfers 8 "$work/big" m:b-rc/big
done
rows
ratios
