#!/usr/bin/env bash
# bench/azure.sh: `trainbox upload` to Azure Blob (Azurite, local) side by side with Microsoft's
# @azure/storage-blob SDK for node (bench/azure_peer.js), in one run, same block size and parallelism:
#   1 x BIG MiB  (Put Block + Put Block List, 8 MiB blocks, 8 in flight)
#   N x 1 MiB    (one Put Blob each, 8 files in flight)
# Prints wall seconds, CPU seconds, peak RSS and the wall-time ratio. Azurite (node, one process) is
# the floor here: it shares the 2 cores with the client. Usage: bench/azure.sh [BIG_MIB] [N]
set -euo pipefail
cd "$(dirname "$0")/.."
BIG=${1:-256}
N=${2:-200}
REPO=$PWD
W=build/bench/azure
CACHE=$REPO/tests/.cache
[ -x ./trainbox ] || make >/dev/null
[ -x build/drivers/store_cli ] || make unit >/dev/null
# the same cache the tests use (tests/helper.bash azurite_install), plus the SDK for the peer
[ -x "$CACHE/node_modules/.bin/azurite-blob" ] && [ -d "$CACHE/node_modules/@azure/storage-blob" ] ||
  (mkdir -p "$CACHE" && cd "$CACHE" && npm install --no-audit --no-fund --loglevel=error azurite @azure/storage-blob >&2)
rm -rf "$W"; mkdir -p "$W/small" "$W/data"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$CACHE/node_modules/.bin/azurite-blob" --blobHost 127.0.0.1 --blobPort "$PORT" --location "$W/data" \
  --skipApiVersionCheck --disableTelemetry --silent >"$W/azurite.log" 2>&1 &
APID=$!
trap 'kill $APID 2>/dev/null || true' EXIT
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.1; done
KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
export AZURE_STORAGE_CONNECTION_STRING="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=$KEY;BlobEndpoint=http://127.0.0.1:$PORT/devstoreaccount1;"
build/drivers/store_cli mkroot az://devstoreaccount1/tbbench 2>/dev/null
build/drivers/store_cli mkroot az://devstoreaccount1/sdkbench 2>/dev/null

head -c $((BIG << 20)) /dev/urandom > "$W/big-000000.tar"
for i in $(seq -f '%06g' 1 "$N"); do head -c 1048576 /dev/urandom > "$W/small/s-$i.tar"; done

measure() { # cmd... -> "secs cpu_secs rss_kb"
  /usr/bin/time -o "$W/time.out" -f '%e %U %S %M' "$@" > /dev/null 2>"$W/cmd.err" ||
    { cat "$W/cmd.err" >&2; return 1; }
  awk '{ printf "%s %.2f %s\n", $1, $2 + $3, $4 }' "$W/time.out"
}
row() { # label t tcpu trss p pcpu prss
  awk -v l="$1" -v t="$2" -v tc="$3" -v tr="$4" -v r="$5" -v rc="$6" -v rr="$7" 'BEGIN {
    printf "%-20s trainbox %6.2f s %5.2f s CPU %6.1f MB | azure-sdk-js %6.2f s %5.2f s CPU %6.1f MB | %4.2fx\n",
      l, t, tc, tr / 1024, r, rc, rr / 1024, r / t }'
}
B=$((8 << 20))
read -r t tc tr < <(measure ./trainbox upload --progress=none -j 8 --part-size 8MiB --multipart-threshold 8MiB \
  az://devstoreaccount1/tbbench/ -- "$W/big-000000.tar")
read -r p pc pr < <(measure node bench/azure_peer.js sdkbench "" "$B" 8 "$W/big-000000.tar")
row "1 x $BIG MiB" "$t" "$tc" "$tr" "$p" "$pc" "$pr"
read -r t tc tr < <(measure ./trainbox upload --progress=none -j 8 az://devstoreaccount1/tbbench/small/ -- "$W"/small/*.tar)
read -r p pc pr < <(measure node bench/azure_peer.js sdkbench small/ "$B" 8 "$W"/small/*.tar)
row "$N x 1 MiB" "$t" "$tc" "$tr" "$p" "$pc" "$pr"
# both really stored everything
n=$(build/drivers/store_cli list az://devstoreaccount1/tbbench/small/ 2>/dev/null | wc -l)
m=$(build/drivers/store_cli list az://devstoreaccount1/sdkbench/small/ 2>/dev/null | wc -l)
[ "$n" -eq "$N" ] && [ "$m" -eq "$N" ] || { echo "stored $n and $m of $N" >&2; exit 1; }
echo "(ratio = SDK wall time / trainbox wall time; > 1 means trainbox is faster)"
