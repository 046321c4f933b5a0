#!/usr/bin/env bats
# The README pipeline, split --filter shard | upload | manifest, is all-or-nothing: it publishes a
# manifest when every stage succeeded, and none when any stage fails (bad input, a killed process, a
# store error, split itself failing), through the record-stream trailer (DESIGN.md, Records).
load helper
bats_require_minimum_version 1.5.0

setup_file() {
  start_moto --auth
  python3 "$REPO/tests/s3util.py" mb tb-pipe
}

teardown_file() {
  stop_moto
}

setup() {
  export AWS_ENDPOINT_URL="$MOTO_URL"   # helper.bash unsets it on every load
  cd "$BATS_TEST_TMPDIR"
  gen_samples 100 > in.jsonl
  FEEDER=
}

teardown() {
  stop_pid "${FEEDER:-}"
}

# pipeline INPUT DEST: the README's pipeline; prints the stages' exit codes ("split upload manifest").
# Upload's records are kept in uploaded.jsonl.
pipeline() {
  bash -c "trainbox split --ratio train=8,val=1,test=1 --filter 'trainbox shard -o out/\$SPLIT --max-samples 10' $1 \
             | trainbox upload --progress=none --retries 2 '$2' | tee uploaded.jsonl \
             | trainbox manifest -o '$2manifest.json'; echo \${PIPESTATUS[0]} \${PIPESTATUS[1]} \${PIPESTATUS[3]}"
}

# no_manifest URI: the manifest is not there (a local file, or an object: show exits 66 when missing)
no_manifest() {
  if [[ "$1" == s3://* ]]; then
    run --separate-stderr trainbox manifest show "$1"
    assert_failure 66
  else
    assert_file_not_exists "${1#file://}"
  fi
}

@test "pipeline: file:// store, every stage succeeds, the manifest names all 100 samples" {
  run --separate-stderr pipeline in.jsonl "file://$PWD/store/"
  assert_output "0 0 0"
  jq -e '.totals.samples == 100 and (.shards | all(.uri | startswith("file://")))' store/manifest.json
  assert_equal "$(tail -1 uploaded.jsonl)" "$(trailer "$(jq .totals.shards store/manifest.json)")"
  run trainbox manifest verify --deep store/manifest.json
  assert_success
}

@test "pipeline: moto with signature checking, every stage succeeds, verify --deep passes" {
  run --separate-stderr pipeline in.jsonl s3://tb-pipe/ok/
  assert_output "0 0 0"
  run trainbox manifest show s3://tb-pipe/ok/manifest.json
  assert_success
  jq -e '.samples == 100' <<<"$output"
  run trainbox manifest verify --deep s3://tb-pipe/ok/manifest.json
  assert_success
}

@test "pipeline: a bad sample halfway (shard 65, upload 1, manifest 65): no manifest; --allow-partial writes the partial one" {
  # valid JSON with a key, so split routes it, but a key shard must refuse
  sed -i '50s/.*/{"__key__":"bad.key","txt":"x"}/' in.jsonl
  for dest in "file://$PWD/store/" s3://tb-pipe/bad/; do
    rm -rf out
    run --separate-stderr pipeline in.jsonl "$dest"
    assert_output "65 1 65"
    [[ "$stderr" == *"bad sample at line"* ]]
    [[ "$stderr" == *"trainbox upload: input ended without a trailer"* ]]
    [[ "$stderr" == *"trainbox manifest: stdin ended without a trailer"* ]]
    no_manifest "${dest}manifest.json"
  done
  # the issue's own pipeline, without split: shard 65, upload 1, manifest 65
  rm -rf out
  run --separate-stderr bash -c "trainbox shard -o out --max-samples 10 in.jsonl | trainbox upload --progress=none plain/ | tee up.jsonl \
                                 | trainbox manifest -o plain/manifest.json; echo \${PIPESTATUS[*]}"
  assert_output "65 1 0 65"
  assert_file_not_exists plain/manifest.json
  [ "$(wc -l <up.jsonl)" -eq 4 ]   # 40 samples were stored, 4 shards
  # on purpose, the partial dataset can still be indexed
  run trainbox manifest --allow-partial -o plain/manifest.json up.jsonl
  assert_success
  jq -e '.totals.samples == 40 and .totals.shards == 4' plain/manifest.json
}

@test "pipeline: a shard child SIGKILLed mid-way: split fails, no manifest; a re-run resumes and publishes" {
  mkfifo samples
  # the input stalls after 2000 lines (more than split buffers for a child), so the shards are
  # killed while running
  gen_samples 3000 --text-bytes=1000 > big.jsonl
  head -n 2000 big.jsonl > first
  ( cat first; exec sleep 60 ) > samples &
  FEEDER=$!
  bash -c "trainbox split --ratio train=8,val=1,test=1 --filter 'echo \$\$ > pid.\$SPLIT; exec trainbox shard -o out/\$SPLIT --max-samples 100' samples \
             | trainbox upload --progress=none 'file://$PWD/store/' \
             | trainbox manifest -o '$PWD/store/manifest.json'; echo \${PIPESTATUS[*]} > codes" 2>err &
  pipe=$!
  for _ in $(seq 100); do [ -e out/train/train-000002.tar ] && break; sleep 0.1; done
  assert_file_exists out/train/train-000002.tar
  kill -9 "$(cat pid.train)"
  stop_pid "$FEEDER"   # end of input: split now collects its children
  wait "$pipe"
  [ "$(cut -d' ' -f2- codes)" = "1 65" ]
  [ "$(cut -d' ' -f1 codes)" -ne 0 ]
  grep -q "filter for split 'train' was killed by signal 9" err
  assert_file_not_exists store/manifest.json
  # the same command on the whole input: shards resume, and the dataset is published whole
  run --separate-stderr bash -c "trainbox split --ratio train=8,val=1,test=1 --filter 'trainbox shard -o out/\$SPLIT --max-samples 100' big.jsonl \
             | trainbox upload --progress=none 'file://$PWD/store/' | trainbox manifest -o '$PWD/store/manifest.json'; echo \${PIPESTATUS[*]}"
  assert_output "0 0 0"
  jq -e '.totals.samples == 3000' store/manifest.json
}

@test "pipeline: the shard stage SIGKILLed mid-way (upload 1, manifest 65): no manifest" {
  mkfifo samples recs
  ( head -n 50 in.jsonl; exec sleep 60 ) > samples &
  FEEDER=$!
  trainbox shard -o out --max-samples 10 < samples > recs &
  shard=$!
  bash -c "trainbox upload --progress=none s3://tb-pipe/killed/ < recs | trainbox manifest -o s3://tb-pipe/killed/manifest.json; echo \${PIPESTATUS[*]} > codes" 2>err &
  rest=$!
  for _ in $(seq 100); do [ -e out/shard-000004.tar ] && break; sleep 0.1; done
  assert_file_exists out/shard-000004.tar
  kill -9 "$shard"
  st=0; wait "$shard" || st=$?
  [ "$st" -eq 137 ]
  wait "$rest"
  [ "$(cat codes)" = "1 65" ]
  # 4 or 5 stored: shard prints a shard's record just after renaming it, and the kill may fall between
  grep -qE "trainbox upload: input ended without a trailer: the stage before failed or was killed; [45] files stored, no trailer written" err
  no_manifest s3://tb-pipe/killed/manifest.json
}

@test "pipeline: a store error (no such bucket, wrong credentials): upload fails, no manifest" {
  run --separate-stderr pipeline in.jsonl s3://tb-nosuchbucket/ds/
  [ "$(cut -d' ' -f1 <<<"$output")" = 0 ]
  [ "$(cut -d' ' -f2 <<<"$output")" -ne 0 ]
  [ "$(cut -d' ' -f3 <<<"$output")" = 65 ]
  refute [ -s uploaded.jsonl ]
  rm -rf out
  # wrong credentials for upload only: the manifest could be written, but must not be
  run --separate-stderr bash -c "trainbox split --ratio train=8,val=1,test=1 --filter 'trainbox shard -o out/\$SPLIT --max-samples 10' in.jsonl \
             | AWS_SECRET_ACCESS_KEY=wrongsecretwrongsecret trainbox upload --progress=none s3://tb-pipe/creds/ \
             | trainbox manifest -o s3://tb-pipe/creds/manifest.json; echo \${PIPESTATUS[*]}"
  assert_output "0 77 65"
  no_manifest s3://tb-pipe/creds/manifest.json
}

@test "pipeline: split itself fails on a bad line (split 65, upload 1, manifest 65): no manifest" {
  sed -i '50s/.*/{"__key__": not json/' in.jsonl
  run --separate-stderr pipeline in.jsonl "file://$PWD/store/"
  assert_output "65 1 65"
  [[ "$stderr" == *"trainbox split: "*"line 50"* ]]
  no_manifest "$PWD/store/manifest.json"
}

@test "split --filter: one trailer for all children; none for filters without record streams; a child without one fails" {
  run --separate-stderr trainbox split --ratio a=1,b=1 --filter 'trainbox shard -o out/$SPLIT --max-samples 7' in.jsonl
  assert_success
  n=$((${#lines[@]} - 1))
  assert_line --index "$n" "$(trailer "$n")"
  [ "$(grep -c __end__ <<<"$output")" -eq 1 ]
  # children that print no record stream: no trailer, and that is fine
  run --separate-stderr trainbox split --ratio a=1,b=1 --filter 'gzip > $SPLIT.gz' in.jsonl
  assert_success
  assert_output ''
  run --separate-stderr trainbox split --ratio a=1,b=1 --filter 'cat' in.jsonl
  assert_success
  refute_output --partial __end__
  # one child ends its records without a trailer (as if cut short) while the other wrote one
  run --separate-stderr trainbox split --ratio a=1,b=1 \
    --filter 'if [ $SPLIT = b ]; then trainbox shard -o out2/b | head -n 1; else trainbox shard -o out2/a; fi' in.jsonl
  assert_failure 65
  refute_output --partial __end__
  [[ "$stderr" == *"filter for split 'b' ended without a trailer after 1 records"* ]]
  # a child's trailer must count what it printed, and come last
  run --separate-stderr trainbox split --ratio a=1 --filter 'cat >/dev/null; echo "{\"path\":\"x\"}"; echo "{\"__end__\": {\"records\": 2, \"ok\": true}}"' in.jsonl
  assert_failure 65
  [[ "$stderr" == *"filter for split 'a' wrote a bad record stream: its trailer counts 2 records, it printed 1"* ]]
  run --separate-stderr trainbox split --ratio a=1 --filter 'cat >/dev/null; echo "{\"__end__\": {\"records\": 0, \"ok\": true}}"; echo x' in.jsonl
  assert_failure 65
  [[ "$stderr" == *"a line after its trailer"* ]]
  # -o writes files, no records: no trailer
  run --separate-stderr trainbox split --ratio a=1,b=1 -o files in.jsonl
  assert_success
  assert_output ''
}

@test "shard: the trailer only on success, counting records re-printed on resume" {
  run --separate-stderr trainbox shard -o out --max-samples 30 in.jsonl
  assert_success
  assert_line --index 4 "$(trailer 4)"
  # the same command again re-prints the finished records and counts them
  run --separate-stderr trainbox shard -o out --max-samples 30 in.jsonl
  assert_success
  [ "${#lines[@]}" -eq 5 ]
  assert_line --index 4 "$(trailer 4)"
  # a failed run prints what it finished, and no trailer
  sed -i '70s/.*/not json/' in.jsonl
  run --separate-stderr trainbox shard -o out2 --max-samples 30 in.jsonl
  assert_failure 65
  [ "${#lines[@]}" -eq 2 ]
  refute_output --partial __end__
}
