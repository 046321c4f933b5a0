#!/usr/bin/env bash
# bench/cat.sh: `trainbox cat URL` streaming a big .jsonl.gz from a loopback HTTP server to /dev/null,
# against `curl -s URL | gzip -dc` and a Python urllib + gzip line loop (what a training loader's
# reader does). The file (CAT_BENCH_MB, default 1024 MB of gzip -6: generated samples, 100k of them
# repeated, more than gzip's window apart) is made once into a cache dir (CAT_BENCH_CACHE, default
# tests/.cache/bench-cat) and served by python3 -m http.server. Prints the best of RUNS (3) wall
# times, the ratios to the best peer and peak RSS.   Targets: trainbox at most 0.6x the best peer's
# wall time, peak RSS at most 32 MB.   TRAINBOX_GUNZIP=zlib|isal to pick trainbox's decoder.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${TB_BIN:-./trainbox}
MB=${CAT_BENCH_MB:-1024}
CACHE=${CAT_BENCH_CACHE:-tests/.cache/bench-cat}
RUNS=${RUNS:-3}
W=$(mktemp -d "${TMPDIR:-/tmp}/tb-bench-cat.XXXXXX")
SRV_PID=""
trap '[ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null; rm -rf "$W"' EXIT

mkdir -p "$CACHE"
F="$CACHE/cat-$MB.jsonl.gz"
if [ ! -s "$F" ]; then
  echo "generating $F (once)" >&2
  python3 tests/gen_samples.py 100000 3 > "$W/chunk.jsonl"
  per=$(gzip -6 -c "$W/chunk.jsonl" | wc -c)
  copies=$(( (MB * 1000000 + per / 2) / per ))
  [ "$copies" -ge 1 ] || copies=1
  for _ in $(seq "$copies"); do cat "$W/chunk.jsonl"; done | gzip -6 > "$F.tmp"
  mv "$F.tmp" "$F"
  rm -f "$W/chunk.jsonl"
fi
GZ_MB=$(python3 -c "import os; print('%.0f' % (os.path.getsize('$F') / 1e6))")

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -m http.server --bind 127.0.0.1 --directory "$CACHE" "$PORT" > /dev/null 2>&1 &
SRV_PID=$!
URL="http://127.0.0.1:$PORT/$(basename "$F")"
for _ in $(seq 100); do curl -s -o /dev/null -I "$URL" && break; sleep 0.1; done
cat "$F" > /dev/null  # the page cache holds it for every run

cat > "$W/peer.py" <<'PY'
import gzip, sys, urllib.request
n = 0
with urllib.request.urlopen(sys.argv[1]) as r, gzip.GzipFile(fileobj=r) as f:
    for line in f:
        n += 1
PY

# "seconds peak-RSS-KB" of a command, the best of $RUNS runs (this machine is shared: the best run is
# the one least disturbed); output discarded
measure() {
  local best="" i
  for i in $(seq "$RUNS"); do
    /usr/bin/time -f '%e %M' -o "$W/time" "$@" > /dev/null
    if [ -z "$best" ] || python3 -c "import sys; sys.exit(0 if $(cut -d' ' -f1 "$W/time") < ${best%% *} else 1)"; then best=$(cat "$W/time"); fi
  done
  echo "$best"
}

read -r t_tb rss_tb < <(measure "$BIN" cat "$URL")
read -r t_curl rss_curl < <(measure sh -c "curl -s '$URL' | gzip -dc")
read -r t_py rss_py < <(measure python3 "$W/peer.py" "$URL")
best=$(printf '%s\n%s\n' "$t_curl" "$t_py" | sort -g | head -1)
echo "cat $URL: $GZ_MB MB of gzip, best of $RUNS"
printf '  %-22s %7.2f s   peak rss %6.1f MB\n' "trainbox cat" "$t_tb" "$(echo "$rss_tb / 1024" | bc -l)"
printf '  %-22s %7.2f s   peak rss %6.1f MB\n' "curl | gzip -dc" "$t_curl" "$(echo "$rss_curl / 1024" | bc -l)"
printf '  %-22s %7.2f s   peak rss %6.1f MB\n' "python urllib+gzip" "$t_py" "$(echo "$rss_py / 1024" | bc -l)"
printf '  trainbox / best peer: %.2fx (target <= 0.60x), peak rss %.1f MB (target <= 32 MB)\n' \
  "$(echo "$t_tb / $best" | bc -l)" "$(echo "$rss_tb / 1024" | bc -l)"
