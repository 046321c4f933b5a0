#!/usr/bin/env bash
# The main job on the bundled data (data/samples.jsonl), with no account at all:
# split -> shard -> upload to a file:// store -> manifest -> verify, then read a sample back.
# The README's pipeline is the same job with an r2:// destination. STORE from the environment wins
# (STORE=s3://bucket/prefix/ make demo runs it against a bucket); every step after the upload reads
# the store through trainbox, so the same steps work for file:// and bucket stores.
set -euo pipefail
cd "$(dirname "$0")/.."
TB=$PWD/trainbox
OUT=$PWD/build/demo
STORE=${STORE:-file://$OUT/bucket/runs/$(date +%F)/}
case $STORE in */) ;; *) STORE=$STORE/ ;; esac
rm -rf "$OUT"; mkdir -p "$OUT"; cd "$OUT"
echo "== store: $STORE"

echo "== split 1000 samples 98/1/1 by a keyed hash of __key__, shard each split, upload, index"
"$TB" split --ratio train=98,val=1,test=1 --filter "'$TB' shard -o shards/\$SPLIT --max-samples 200" "$OLDPWD/data/samples.jsonl" \
  | "$TB" upload "$STORE" \
  | "$TB" manifest --name demo -o "${STORE}manifest.json"

echo "== verify every shard the manifest names (size and sha256)"
"$TB" manifest verify --deep -H "${STORE}manifest.json"

echo "== the manifest"
"$TB" manifest show -H "${STORE}manifest.json"

echo "== what is in the store"
"$TB" discover -H --min-count 2 "$STORE"

echo "== the first sample, read back from the stored shard"
first=$("$TB" manifest show "${STORE}manifest.json" | jq -r .first)
case $first in
  file://*) shard=${first#file://} ;;
  # cat reads local files only (remote sources are coming): fetch the shard by a presigned URL
  *) shard=$OUT/fetched/${first##*/}; mkdir -p "$OUT/fetched"
     url=$("$TB" presign "$first"); curl -fsS -o "$shard" "$url" ;;
esac
"$TB" cat --limit 1 "$shard" | cut -c1-200

echo "== rank 1 of 4 of the train shards, as torchrun's RANK/WORLD_SIZE would pick"
# (merge of one manifest prints it whole, read from wherever it is stored)
"$TB" manifest merge "${STORE}manifest.json" | jq -r '.shards[] | select(.split == "train") | .uri' \
  | RANK=1 WORLD_SIZE=4 "$TB" split --sort
