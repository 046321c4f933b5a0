#!/usr/bin/env bash
# The main job on the bundled data (data/samples.jsonl), with no account: what works so far.
set -euo pipefail
cd "$(dirname "$0")/.."
TB=./trainbox
OUT=build/demo
rm -rf "$OUT"; mkdir -p "$OUT"
echo "== split data/samples.jsonl into train/val/test (98/1/1 by a keyed hash of __key__)"
$TB split --ratio train=98,val=1,test=1 -o "$OUT/splits" data/samples.jsonl
wc -l "$OUT"/splits/*.jsonl
echo "== the train split across 4 ranks (as torchrun's RANK/WORLD_SIZE would pick), shuffled for epoch 0"
for r in 0 1 2 3; do
  n=$(RANK=$r WORLD_SIZE=4 $TB split --shuffle --seed 1 "$OUT/splits/train.jsonl" | tee "$OUT/rank$r.jsonl" | wc -l)
  echo "rank $r: $n samples, first key $(head -1 "$OUT/rank$r.jsonl" | jq -r .__key__)"
done
echo "== check: the ranks together hold every train sample exactly once"
diff <(sort "$OUT"/rank*.jsonl) <(sort "$OUT/splits/train.jsonl") && echo ok
