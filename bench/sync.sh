#!/usr/bin/env bash
# bench/sync.sh: trainbox sync vs `aws s3 sync` vs `rclone sync --transfers 8`, in one run against
# one local moto server: 2,000 small files (FILES=), three phases per tool, each into its own bucket:
#   first   an empty bucket filled from the directory
#   noop    the same again: nothing to send
#   change  10 files rewritten (same size, new content, new mtime), then synced
# Prints wall time, client CPU (user+sys) and peak RSS of each, and trainbox's ratios to the best peer.
# Targets: every phase at least as fast as the best peer, the no-op re-sync at most half its time,
# peak RSS <= 32 MB.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/moto.bash

FILES=${FILES:-2000}
export XDG_CACHE_HOME="$work/cache"   # trainbox's sync metadata cache starts empty
src="$work/src"
mkdir -p "$src"
python3 - "$src" "$FILES" <<'PY'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    sub = os.path.join(d, "d%02d" % (i % 20))
    os.makedirs(sub, exist_ok=True)
    with open(os.path.join(sub, "f%05d.bin" % i), "wb") as f:
        f.write(os.urandom(1024 + (i * 37) % 4096))
PY
python3 - "$E" <<'PY'
import sys, boto3
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1")
for b in ("s-tb", "s-aws", "s-rc"):
    s3.create_bucket(Bucket=b)
PY

declare -A WALL CPU RSS
# run_one NAME CMD...
run_one() {
  local name=$1 w u s m; shift
  /usr/bin/time -f '%e %U %S %M' -o "$work/time" "$@" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; echo "$name failed" >&2; exit 1; }
  read -r w u s m <"$work/time"
  WALL[$name]=$w CPU[$name]=$(echo "$u + $s" | bc) RSS[$name]=$m
}
tb()  { run_one trainbox "$BIN" sync --progress=none --jobs 8 "$src" s3://s-tb/p/; }
aw()  { run_one aws aws s3 sync --only-show-errors "$src" s3://s-aws/p/; }
rc()  { run_one rclone rclone --config "$work/rclone.conf" sync --transfers 8 --checkers 8 "$src" m:s-rc/p; }
report() {
  local name best_w best_c
  echo "$1"
  for name in trainbox aws rclone; do
    printf '  %-10s wall %6.2f s   cpu %6.2f s   peak rss %6.1f MB\n' "$name" "${WALL[$name]}" "${CPU[$name]}" "$(echo "${RSS[$name]} / 1024" | bc -l)"
  done
  best_w=$(printf '%s\n%s\n' "${WALL[aws]}" "${WALL[rclone]}" | sort -g | head -1)
  best_c=$(printf '%s\n%s\n' "${CPU[aws]}" "${CPU[rclone]}" | sort -g | head -1)
  printf '  trainbox / best peer: wall %.2fx, cpu %.2fx, peak rss %.1f MB\n' \
    "$(echo "${WALL[trainbox]} / $best_w" | bc -l)" "$(echo "${CPU[trainbox]} / $best_c" | bc -l)" \
    "$(echo "${RSS[trainbox]} / 1024" | bc -l)"
}

tb; aw; rc; report "first sync of $FILES files"
tb; aw; rc; report "no-op re-sync"
python3 - "$src" <<'PY'
import os, sys, time
d = sys.argv[1]
names = sorted(os.path.join(r, f) for r, _, fs in os.walk(d) for f in fs)
t = time.time() + 5
for p in names[::len(names) // 10][:10]:
    n = os.path.getsize(p)
    with open(p, "wb") as f:
        f.write(os.urandom(n))
    os.utime(p, (t, t))
PY
# each tool sees the same 10 changes: the first one to run must not hide them from the others
tb; aw; rc; report "re-sync after 10 files changed (same size, new mtime)"
