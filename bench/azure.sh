#!/usr/bin/env bash
# bench/azure.sh: uploads to Azurite through trainbox's Azure backend (build/unit/azure_cli, until
# `trainbox upload` drives it) side by side with rclone's azureblob backend, in one run:
#   1 x BIG MiB (Put Block + Put Block List, 8 MiB blocks) and N x 1 MiB files (Put Blob each).
# rclone 1.60 reaches Azurite only in its emulator mode, which is fixed on 127.0.0.1:10000, so the
# server runs there (the bench stops if the port is taken). Prints seconds, CPU, peak RSS and ratios.
# Usage: bench/azure.sh [BIG_MIB] [N]
set -euo pipefail
cd "$(dirname "$0")/.."
BIG=${1:-256}
N=${2:-100}
REPO=$PWD
W=build/bench/azure
AZ=build/unit/azure_cli
[ -x "$AZ" ] || make unit >/dev/null
if (exec 3<>/dev/tcp/127.0.0.1/10000) 2>/dev/null; then
  echo "port 10000 is in use; rclone's emulator mode needs it" >&2
  exit 1
fi
rm -rf "$W"; mkdir -p "$W/small" "$W/data"
# the Azurite install the tests use (tests/helper.bash: azurite_install)
AZURITE_CACHE="$REPO/tests/.cache"
if [ ! -x "$AZURITE_CACHE/node_modules/.bin/azurite-blob" ]; then
  mkdir -p "$AZURITE_CACHE"
  (cd "$AZURITE_CACHE" && npm install --no-audit --no-fund --loglevel=error azurite >&2)
fi
"$AZURITE_CACHE/node_modules/.bin/azurite-blob" --blobHost 127.0.0.1 --blobPort 10000 --location "$W/data" \
  --skipApiVersionCheck --disableTelemetry --silent >"$W/azurite.log" 2>&1 &
APID=$!
trap 'kill $APID 2>/dev/null || true' EXIT
for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/10000) 2>/dev/null && break; sleep 0.1; done

export AZURE_STORAGE_CONNECTION_STRING="UseDevelopmentStorage=true"
export RCLONE_CONFIG="$W/rclone.conf"
printf '[az]\ntype = azureblob\nuse_emulator = true\n' > "$RCLONE_CONFIG"
"$AZ" mkcontainer az://devstoreaccount1/tbbench 2>/dev/null
"$AZ" mkcontainer az://devstoreaccount1/rcbench 2>/dev/null

head -c $((BIG << 20)) /dev/urandom > "$W/big.bin"
for i in $(seq -w 1 "$N"); do head -c 1048576 /dev/urandom > "$W/small/f$i.bin"; done

measure() { # cmd... -> "secs cpu_secs rss_kb"
  /usr/bin/time -o "$W/time.out" -f '%e %U %S %M' "$@" > /dev/null 2>"$W/cmd.err" ||
    { cat "$W/cmd.err" >&2; return 1; }
  awk '{ printf "%s %.2f %s\n", $1, $2 + $3, $4 }' "$W/time.out"
}
row() { # label t tcpu trss r rcpu rrss
  awk -v l="$1" -v t="$2" -v tc="$3" -v tr="$4" -v r="$5" -v rc="$6" -v rr="$7" 'BEGIN {
    printf "%-22s trainbox %6.2f s %5.2f s CPU %6.1f MB | rclone %6.2f s %5.2f s CPU %6.1f MB | %4.2fx faster\n",
      l, t, tc, tr / 1024, r, rc, rr / 1024, r / t }'
}

read -r t tc tr < <(measure "$AZ" -b 8388608 -j 4 put "$W/big.bin" az://devstoreaccount1/tbbench/big.bin)
read -r r rc rr < <(measure rclone copyto --azureblob-chunk-size 8M --azureblob-upload-concurrency 4 \
  "$W/big.bin" az:rcbench/big.bin)
row "1 x $BIG MiB (blocks)" "$t" "$tc" "$tr" "$r" "$rc" "$rr"

# one process per file on trainbox's side until `upload` exists: this favours rclone
upload_each() { for f in "$W"/small/*.bin; do "$AZ" put "$f" "az://devstoreaccount1/tbbench/small/${f##*/}" || return 1; done; }
export -f upload_each; export AZ W
read -r t tc tr < <(measure bash -c upload_each)
read -r r rc rr < <(measure rclone copy --transfers 4 "$W/small" az:rcbench/small)
row "$N x 1 MiB (serial)" "$t" "$tc" "$tr" "$r" "$rc" "$rr"
echo "note: the $N-file row runs trainbox one file per process, serially; rclone runs 4 transfers at once"
