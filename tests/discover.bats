#!/usr/bin/env bats
# trainbox discover: shard groups, objects, latest checkpoint (directory backend; stores in store suites).
load helper

# make_tree DIR: 2,500 objects: two shard groups (train with a gap, val), noise, and checkpoints.
make_tree() {
  local d=$1
  mkdir -p "$d/data/train" "$d/data/val" "$d/logs" "$d/ckpt"
  python3 - "$d" <<'PY'
import os, sys
d = sys.argv[1]
for i in range(2010):
    if i == 1234: continue                                   # the gap
    open(f"{d}/data/train/train-{i:06d}.tar", "wb").write(b"x" * 2048)
for i in range(480):
    open(f"{d}/data/val/val-{i:04d}.tar", "wb").write(b"y" * 1500)
for i in range(12):
    open(f"{d}/logs/run-{i:03d}.log", "wb").write(b"small")   # a group too small to count
open(f"{d}/data/README.md", "w").write("hello")
for s in (9, 10, 100, 99):
    os.makedirs(f"{d}/ckpt/step-{s}", exist_ok=True)
    open(f"{d}/ckpt/step-{s}/model.pt", "wb").write(b"w" * s)
open(f"{d}/ckpt/step-99/.complete", "w").close()
PY
}

setup() { cd "$BATS_TEST_TMPDIR"; }

@test "finds the two shard groups, their counts, bytes and the gap; noise is left out" {
  make_tree t
  [ "$(find t -type f | wc -l)" -ge 2500 ]
  run trainbox discover t
  assert_success
  assert_equal "${#lines[@]}" 2
  jq -e '.group == "t/data/train/train-{000000..002009}.tar" and .count == 2009 and .missing == [1234]
         and .bytes == 2009 * 2048 and .prefix == "t/data/train/" and .pattern == "train-%06d.tar" and .first == 0 and .last == 2009' <<<"${lines[0]}"
  jq -e '.group == "t/data/val/val-{0000..0479}.tar" and .count == 480 and .missing == []' <<<"${lines[1]}"
  run trainbox discover --min-count 3 --min-size 1 t
  assert_equal "${#lines[@]}" 3     # now the logs count too
  run trainbox discover -H t
  assert_line --index 1 --regexp '^t/data/train/train-\{000000..002009\}.tar +2009 +4114432 1234$'
}

@test "--objects lists every object; --depth limits it" {
  make_tree t
  run bash -c "trainbox discover --objects t | wc -l"
  assert_output "$(find t -type f | wc -l)"
  run bash -c "trainbox discover --objects --depth 0 t/data | jq -r .uri"
  assert_output "t/data/README.md"
  run bash -c "trainbox discover --objects file://$PWD/t/data | head -1 | jq -r .uri"
  assert_output "file://$PWD/t/data/README.md"
}

@test "latest checkpoint: marked step-99 beats unmarked step-100; without markers the highest number wins" {
  make_tree t
  run trainbox discover --latest-checkpoint t/ckpt
  assert_success
  jq -e '.uri == "t/ckpt/step-99/" and .step == 99 and .bytes == 99 and .objects == 2' <<<"$output"
  rm t/ckpt/step-99/.complete
  run trainbox discover --latest-checkpoint t/ckpt
  jq -e '.step == 100' <<<"$output"
  touch t/ckpt/step-10/DONE
  run trainbox discover --latest-checkpoint --marker DONE t/ckpt
  jq -e '.step == 10' <<<"$output"
}

@test "latest checkpoint: checkpoint-<step>/ directories, step-<N>.pt files and their step-<N>.json sidecars, by number" {
  # Hugging Face Trainer's output directory
  mkdir -p hf/checkpoint-500 hf/checkpoint-1000 hf/checkpoint-999 hf/runs
  for s in 500 999 1000; do head -c $s /dev/zero > hf/checkpoint-$s/model.safetensors; echo '{}' > hf/checkpoint-$s/trainer_state.json; done
  echo x > hf/runs/events
  run trainbox discover --latest-checkpoint hf
  assert_success
  jq -e '.uri == "hf/checkpoint-1000/" and .step == 1000 and .objects == 2 and (has("sidecar") | not)' <<<"$output"
  # weights with sidecars in a run's checkpoints prefix: the sidecar comes last, so it marks the pair complete
  d=runs/exp/framework=pytorch/checkpoints
  mkdir -p "$d"
  for s in 9 10 100; do head -c 1000 /dev/zero > "$d/step-$s.pt"; echo "{\"step\": $s}" > "$d/step-$s.json"; done
  head -c 1000 /dev/zero > "$d/step-200.pt"          # weights of step 200 stored, its sidecar not yet
  echo '{"step": 300}' > "$d/step-300.json"           # a sidecar whose weights are still on their way
  run trainbox discover --latest-checkpoint runs/exp
  assert_success
  jq -e --arg d "$d" '.uri == "\($d)/step-100.pt" and .step == 100 and .objects == 2 and .sidecar == "\($d)/step-100.json" and .bytes == 1014' <<<"$output" || fail "$output"
  run trainbox discover -H --latest-checkpoint runs/exp
  assert_output --partial "step-100.pt  step 100  1014 bytes in 2 objects  sidecar $d/step-100.json"
  echo '{"step": 200}' > "$d/step-200.json"
  run trainbox discover --latest-checkpoint runs/exp
  jq -e '.step == 200' <<<"$output"
  # without sidecars at all, the highest number among the files (not the name order: step-9 < step-10)
  rm "$d"/*.json "$d/step-200.pt" "$d/step-100.pt"
  run trainbox discover --latest-checkpoint runs/exp
  jq -e '.step == 10 and (.uri | endswith("step-10.pt"))' <<<"$output" || fail "$output"
}

@test "no checkpoint exits 66, so '|| echo fresh start' reads naturally" {
  mkdir -p empty/x
  run bash -c "trainbox discover --latest-checkpoint empty || echo fresh start"
  assert_output --partial "fresh start"
  run --separate-stderr trainbox discover --latest-checkpoint empty
  assert_failure 66
  [[ "$stderr" == *"no checkpoint"* ]]
  run --separate-stderr trainbox discover nowhere
  assert_failure 66
}

@test "usage errors exit 64" {
  run trainbox discover
  assert_failure 64
  run trainbox discover --objects --latest-checkpoint x
  assert_failure 64
  run trainbox discover --marker M x
  assert_failure 64
  run trainbox discover --min-size lots x
  assert_failure 64
}

@test "no group found: one line on stderr with the count, exit 0; -H says why" {
  mkdir -p few/a few/none empty
  for i in 1 2 3; do head -c 2000 /dev/zero > few/a/s-00$i.tar; done
  run --separate-stderr trainbox discover few
  assert_success
  assert_equal "$output" ""
  assert_equal "$stderr" "trainbox discover: no shard group of at least 8 objects under few (found 3 objects)"
  run --separate-stderr trainbox discover -H few
  assert_success
  assert_equal "$output" "no group: the largest set of objects differing only in their number has 3 (--min-count 8)"
  [[ "$stderr" == *"found 3 objects"* ]]
  run --separate-stderr trainbox discover -H --min-count 2 --min-size 1MiB few
  assert_output --regexp '^no group: 1 set of at least 2 numbered objects, but a median size \(largest: 2000 bytes\) below --min-size'
  touch few/none/readme few/none/notes
  run --separate-stderr trainbox discover -H few/none
  assert_output "no group: none of the 2 objects has a number in its name"
  run --separate-stderr trainbox discover -H empty
  assert_output "no group: empty holds no objects"
  assert_equal "$stderr" "trainbox discover: no shard group of at least 8 objects under empty (found 0 objects)"
  # a group found: nothing on stderr
  run --separate-stderr trainbox discover --min-count 3 --min-size 1 few
  assert_success
  assert_equal "$stderr" ""
}
