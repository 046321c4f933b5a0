#!/usr/bin/env bash
# tests/scale/rank.sh WORKDIR DEST: one rank of the scale test, as a scheduler would run it. The
# rank comes from the environment (JOB_COMPLETION_INDEX with TRAINBOX_WORLD_SIZE, as a Kubernetes
# Indexed Job sets them); nothing here computes it. The whole pipeline:
#   split --balance bytes  this rank's input files (WORKDIR/files.jsonl lists them with their bytes)
#   cat                    their samples
#   split --filter shard   train/val/test shards under WORKDIR/out/RANK/SPLIT, named SPLIT-RANK-N.tar
#   upload                 to DEST (s3://bucket/prefix/)
#   manifest               DEST/manifests/rank-RANK.json
# Re-running it after a kill continues: shard and upload resume, manifest is written last.
set -euo pipefail
W=$1 DEST=$2
R=$(printf %05d "${JOB_COMPLETION_INDEX:?}")
cd "$W"
mkdir -p "out/$R"
mapfile -t files < <(trainbox split --balance bytes files.jsonl | jq -r .path)
[ "${#files[@]}" -gt 0 ]
# cat reads the launcher's rank too: these files are already this rank's share, so it reads them all
trainbox cat -q --rank 0 --world-size 1 "${files[@]}" \
  | trainbox split --ratio train=98,val=1,test=1 \
      --filter "trainbox shard -q -o out/$R/\$SPLIT --prefix \$SPLIT-$R --max-samples 400" \
  | trainbox upload --progress=none "$DEST" \
  | trainbox manifest -q -o "${DEST}manifests/rank-$R.json"
