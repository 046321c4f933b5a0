#!/usr/bin/env bats
# Many machines on one: N ranks as N process pipelines (tests/scale/rank.sh: split --balance bytes |
# cat | split --filter shard | upload | manifest) against one moto bucket, each finding its rank in
# JOB_COMPLETION_INDEX and TRAINBOX_WORLD_SIZE as an Indexed Job's pods do; K of them killed with
# SIGKILL midway (the whole pipeline) and started again; then the rank manifests merged. Checked: the
# merged manifest lists every input sample exactly once (sorted keys, and a hash of every sample's
# bytes against a one-process reference), the bucket holds no object the manifests do not name, no
# multipart upload is left open, and the ranks' input bytes are within 5% of each other.
# Both sizes run in `make check` (the 16-rank one takes about half a minute here).
load helper
bats_require_minimum_version 1.5.0

setup() {
  cd "$BATS_TEST_TMPDIR"
}

teardown() {
  local p
  for p in ${RANK_PIDS:-}; do kill -9 -- "-$p" 2>/dev/null || true; done
  stop_pid "${MOTO_PID:-}"
}

# make_input FILES: FILES NDJSON files of skewed sizes (40 to 400 samples) and files.jsonl listing
# them with their bytes; ref.sorted: the samples as shards give them back, sorted (the reference)
make_input() {
  mkdir -p in
  local i n
  for i in $(seq -w 0 $(($1 - 1))); do
    n=$(( 40 + (10#$i * 7919) % 361 ))
    python3 "$REPO/tests/gen_samples.py" "$n" "$((10#$i + 1))" "--key-prefix=f$i-" > "in/f$i.jsonl"
  done
  for f in in/*.jsonl; do printf '{"path":"%s","bytes":%d}\n' "$f" "$(stat -c %s "$f")"; done > files.jsonl
  trainbox cat in | trainbox shard -q -o ref --max-samples 1000000 > /dev/null
  trainbox cat ref | LC_ALL=C sort > ref.sorted
}

# run_scale RANKS KILLS: the test itself (see the header); prints its figures on fd 3
run_scale() {
  local ranks=$1 kills=$2 t0 r
  start_moto
  mb tb-scale
  export AWS_ENDPOINT_URL="$MOTO_URL"
  local dest=s3://tb-scale/ds/
  t0=$EPOCHREALTIME
  declare -A pid
  RANK_PIDS=""
  for r in $(seq 0 $((ranks - 1))); do
    JOB_COMPLETION_INDEX=$r TRAINBOX_WORLD_SIZE=$ranks setsid "$REPO/tests/scale/rank.sh" "$PWD" "$dest" \
      > "rank$r.out" 2> "rank$r.err" 3>&- &
    pid[$r]=$!
    RANK_PIDS="$RANK_PIDS ${pid[$r]}"
  done
  # kill the first KILLS ranks midway: once a shard of theirs is finished, before their manifest
  local killed=0 k
  for k in $(seq 0 $((kills - 1))); do
    r=$(( (k * 7 + 1) % ranks ))
    local R
    R=$(printf %05d "$r")
    for _ in $(seq 600); do
      compgen -G "out/$R/train/train-$R-000001.tar" > /dev/null && break
      kill -0 "${pid[$r]}" 2>/dev/null || break
      sleep 0.05
    done
    if kill -0 "${pid[$r]}" 2>/dev/null; then
      kill -9 -- "-${pid[$r]}" 2>/dev/null || true
      wait "${pid[$r]}" 2>/dev/null || true
      killed=$((killed + 1))
      JOB_COMPLETION_INDEX=$r TRAINBOX_WORLD_SIZE=$ranks setsid "$REPO/tests/scale/rank.sh" "$PWD" "$dest" \
        > "rank$r.out" 2> "rank$r.err.2" 3>&- &
      pid[$r]=$!
      RANK_PIDS="$RANK_PIDS ${pid[$r]}"
    fi
  done
  for r in $(seq 0 $((ranks - 1))); do
    wait "${pid[$r]}" || fail "rank $r failed: $(cat "rank$r.err" "rank$r.err.2" 2>/dev/null | tail -5)"
  done
  [ "$killed" -eq "$kills" ] || fail "only $killed of $kills ranks were still running to be killed"
  trainbox manifest merge --world-size "$ranks" -o "${dest}manifest.json" $(for r in $(seq 0 $((ranks - 1))); do printf '%smanifests/rank-%05d.json ' "$dest" "$r"; done)
  local wall
  wall=$(python3 -c "print('%.1f' % ($EPOCHREALTIME - $t0))")
  # the merged manifest says who made what
  aws --endpoint-url "$MOTO_URL" s3 cp "${dest}manifest.json" - |
    jq -e --argjson n "$ranks" '.world_size == $n and all(.shards[]; .rank >= 0 and .rank < $n) and ([.shards[].rank] | unique | length) == $n' > /dev/null ||
    fail "the merged manifest does not record the world size and every shard's rank"
  # every sample exactly once, byte for byte
  trainbox cat "${dest}manifest.json" | LC_ALL=C sort > got.sorted
  [ "$(wc -l < got.sorted)" -eq "$(wc -l < ref.sorted)" ] || fail "$(wc -l < got.sorted) samples, want $(wc -l < ref.sorted)"
  [ "$(jq -r .__key__ got.sorted | LC_ALL=C sort | uniq -d | wc -l)" -eq 0 ] || fail "duplicate keys"
  [ "$(sha256sum < got.sorted)" = "$(sha256sum < ref.sorted)" ] || fail "the samples differ from the reference"
  # no object the manifests do not name, no open multipart upload
  python3 "$REPO/tests/s3util.py" keys tb-scale | LC_ALL=C sort > keys
  { aws --endpoint-url "$MOTO_URL" s3 cp "${dest}manifest.json" - | jq -r '.shards[].uri' | sed 's|^s3://tb-scale/||'
    echo ds/manifest.json
    for r in $(seq 0 $((ranks - 1))); do printf 'ds/manifests/rank-%05d.json\n' "$r"; done; } | LC_ALL=C sort > named
  diff named keys || fail "the bucket holds objects no manifest names (or lacks named ones)"
  [ "$(python3 "$REPO/tests/s3util.py" mpu tb-scale)" -eq 0 ] || fail "multipart uploads left open"
  # the ranks' shares of the input, by bytes (split --balance bytes): within 5%
  local spread
  spread=$(for r in $(seq 0 $((ranks - 1))); do
      JOB_COMPLETION_INDEX=$r TRAINBOX_WORLD_SIZE=$ranks trainbox split --balance bytes files.jsonl | jq -s 'map(.bytes) | add'
    done | jq -s '(max - min) / max * 100')
  python3 -c "import sys; sys.exit(0 if $spread <= 5 else 1)" || fail "per-rank bytes spread $spread% > 5%"
  echo "# scale: $ranks ranks, $(wc -l < ref.sorted) samples, $killed killed and restarted, ${wall} s, per-rank input bytes spread ${spread}%" >&3
}

@test "scale: 4 ranks, one killed with SIGKILL midway and restarted: every sample exactly once, nothing extra in the bucket" {
  make_input 24
  run_scale 4 1
}

@test "scale: 16 ranks, two killed with SIGKILL midway and restarted: every sample exactly once, per-rank bytes within 5%" {
  make_input 160
  run_scale 16 2
}
