#!/usr/bin/env bats
# trainbox manifest: build, merge, verify, show, wids/shardlist, bad manifests.
load helper

setup() {
  cd "$BATS_TEST_TMPDIR"
  mkdir -p out
  for i in 0 1 2 3 4 5; do head -c $((1000 + i * 10)) /dev/urandom > "out/train-00000$i.tar"; done
  for f in out/*.tar; do
    printf '{"path":"%s","bytes":%s,"sha256":"%s","md5":"%s","samples":%d,"split":"train","first_key":"a","last_key":"b"}\n' \
      "$f" "$(stat -c %s "$f")" "$(sha256sum "$f" | cut -c1-64)" "$(md5sum "$f" | cut -c1-32)" 10
  done > bare.jsonl
  # a complete record stream ends with its trailer, as upload and shard write it
  { cat bare.jsonl; trailer 6; } > records.jsonl
}

@test "builds a manifest in name order with totals, atomically, from shuffled records" {
  { shuf bare.jsonl; trailer 6; } > shuffled.jsonl
  run trainbox manifest --name ds -o m.json shuffled.jsonl
  assert_success
  assert_output ''
  run jq -r '.format, .version, .name, (.shards | map(.path) | join(",")), .totals.shards, .totals.samples, .totals.bytes' m.json
  assert_line --index 0 trainbox.manifest
  assert_line --index 1 1
  assert_line --index 2 ds
  assert_line --index 3 "$(ls out/*.tar | paste -sd,)"
  assert_line --index 4 6
  assert_line --index 5 60
  assert_line --index 6 "$(cat out/*.tar | wc -c)"
  jq -e '.created | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$")' m.json
  [ "$(ls | grep -c tmp)" -eq 0 ]
  # stdin works too, and records re-emitted after a resume count once
  run bash -c "{ cat bare.jsonl bare.jsonl; trailer 12; } | trainbox manifest | jq .totals.shards"
  assert_output 6
}

@test "refuses duplicate names, conflicting sha256, and records without uri for a store" {
  mkdir other; cp out/train-000000.tar other/
  { cat bare.jsonl; sed -n 1p bare.jsonl | sed 's#out/#other/#'; trailer 7; } > dup.jsonl
  run --separate-stderr trainbox manifest dup.jsonl
  assert_failure 65
  [[ "$stderr" == *"duplicate shard name train-000000.tar"* ]]
  { cat bare.jsonl; sed -n 2p bare.jsonl | sed 's/"sha256":"[0-9a-f]*"/"sha256":"'"$(printf 'f%.0s' {1..64})"'"/'; trailer 7; } > conflict.jsonl
  run --separate-stderr trainbox manifest conflict.jsonl
  assert_failure 65
  [[ "$stderr" == *"appears twice with different sha256"* ]]
  run --separate-stderr trainbox manifest -o s3://bucket/ds/manifest.json records.jsonl
  assert_failure 65
  [[ "$stderr" == *'line 1: record has no "uri"'* ]]
  run --separate-stderr trainbox manifest -o m.json < <(trailer 0)
  assert_failure 65
  [[ "$stderr" == *"no shard records"* ]]
  [ ! -e m.json ]
}

@test "records without their trailer write nothing (65) unless --allow-partial; a bad trailer is 65 even then" {
  # the stage before failed halfway: 4 of 6 records, no trailer
  head -4 bare.jsonl > partial.jsonl
  run --separate-stderr trainbox manifest -o m.json partial.jsonl
  assert_failure 65
  [ "$stderr" = "trainbox manifest: partial.jsonl ended without a trailer after 4 records: the stage before failed or was killed; nothing written (--allow-partial writes it anyway)" ]
  [ ! -e m.json ]
  run --separate-stderr bash -c "cat partial.jsonl | trainbox manifest -o m.json"
  assert_failure 65
  [[ "$stderr" == *"stdin ended without a trailer after 4 records"* ]]
  [ ! -e m.json ]
  run --separate-stderr trainbox manifest -o m.json < /dev/null
  assert_failure 65
  [ ! -e m.json ]
  # each input file is its own stream: each needs its trailer
  run --separate-stderr trainbox manifest -o m.json records.jsonl partial.jsonl
  assert_failure 65
  [ ! -e m.json ]
  run --separate-stderr trainbox manifest --allow-partial -o m.json partial.jsonl
  assert_success
  jq -e '.totals.shards == 4 and .totals.samples == 40' m.json
  rm m.json
  # the trailer is not a record, its count must agree, and nothing may follow it
  { head -4 bare.jsonl; trailer 5; } > miscount.jsonl
  { cat records.jsonl; sed -n 1p bare.jsonl; } > after.jsonl
  { cat bare.jsonl; echo '{"__end__": {"records": 6, "ok": false}}'; } > failed.jsonl
  for f in miscount after failed; do
    for partial in "" --allow-partial; do
      run --separate-stderr trainbox manifest $partial -o m.json $f.jsonl
      assert_failure 65
      [ ! -e m.json ]
    done
  done
  run --separate-stderr trainbox manifest miscount.jsonl
  [[ "$stderr" == *"miscount.jsonl line 5: the trailer counts 5 records, 4 came before it"* ]]
  run --separate-stderr trainbox manifest after.jsonl
  [[ "$stderr" == *"after.jsonl line 8: a line after the trailer"* ]]
  run --separate-stderr trainbox manifest failed.jsonl
  [[ "$stderr" == *'"ok" is false'* ]]
  run trainbox manifest merge --allow-partial records.jsonl
  assert_failure 64
}

@test "relative shard paths are relative to the manifest's own directory: verify works from any cwd" {
  trainbox manifest -o m.json records.jsonl          # beside the records' cwd: paths as given
  jq -e '.shards[0].path == "out/train-000000.tar"' m.json
  trainbox manifest -o out/m.json records.jsonl      # inside out/: the paths follow
  jq -e '.shards[0].path == "train-000000.tar"' out/m.json
  mkdir -p sub/deeper
  trainbox manifest -o sub/deeper/m.json records.jsonl
  jq -e '.shards[0].path == "../../out/train-000000.tar"' sub/deeper/m.json
  mkdir elsewhere; cd elsewhere
  for m in ../m.json ../out/m.json ../sub/deeper/m.json "$BATS_TEST_TMPDIR/out/m.json"; do
    run --separate-stderr trainbox manifest verify --deep "$m"
    assert_success
  done
  run --separate-stderr trainbox manifest verify -H ../out/m.json
  assert_output "all 6 shards ok (sizes)"
  rm ../out/train-000003.tar
  run trainbox manifest verify -H ../out/m.json
  assert_failure 1
  assert_line --index 0 --regexp '^missing +\.\./out/train-000003\.tar$'
  # merge: the inputs' paths are re-expressed relative to the merged manifest
  cd ..
  trainbox manifest merge -o sub/merged.json out/m.json
  jq -e '.shards[0].path == "../out/train-000000.tar"' sub/merged.json
  (cd / && trainbox manifest verify "$BATS_TEST_TMPDIR/sub/merged.json") || [ $? -eq 1 ]
  run trainbox manifest verify -H sub/merged.json
  assert_line --index 0 --regexp '^missing +out/train-000003\.tar$'
}

@test "verify finds a deleted and a truncated shard; --deep finds a corrupted one" {
  trainbox manifest -o m.json records.jsonl
  run trainbox manifest verify --deep m.json
  assert_success
  assert_output ''
  rm out/train-000002.tar
  truncate -s 100 out/train-000004.tar
  printf 'X' | dd of=out/train-000001.tar bs=1 seek=10 conv=notrunc 2>/dev/null
  run --separate-stderr trainbox manifest verify m.json
  assert_failure 1
  assert_equal "${#lines[@]}" 2
  assert_equal "$(jq -r .problem <<<"${lines[0]}") $(jq -r .shard <<<"${lines[0]}")" "missing train-000002.tar"
  assert_equal "$(jq -r '.problem, .bytes' <<<"${lines[1]}" | paste -sd' ')" "size 100"
  [[ "$stderr" == *"2 of 6 shards have problems"* ]]
  run --separate-stderr trainbox manifest verify --deep --jobs 3 m.json
  assert_failure 1
  assert_equal "${#lines[@]}" 3
  assert_equal "$(jq -r .problem <<<"${lines[0]}")" checksum
  run trainbox manifest verify -H m.json
  assert_failure 1
  assert_line --index 0 --regexp '^missing +out/train-000002.tar$'
}

@test "merge of 4 rank manifests recomputes totals; conflicts are errors" {
  # (split passes records on but writes no trailer: its input is taken as samples)
  for r in 0 1 2 3; do trainbox split --world-size 4 --rank $r bare.jsonl | trainbox manifest --allow-partial -o rank$r.json; done
  run trainbox manifest merge --name all -o all.json rank0.json rank1.json rank2.json rank3.json
  assert_success
  jq -e '.totals.shards == 6 and .totals.samples == 60 and .name == "all"' all.json
  diff <(jq -c '.shards' all.json) <(trainbox manifest records.jsonl | jq -c .shards)
  jq -c '.shards[0].bytes -= 1 | .totals.bytes -= 1' rank0.json > bad0.json
  run --separate-stderr trainbox manifest merge bad0.json rank0.json
  assert_failure 65
  [[ "$stderr" == *"merging rank0.json"*"different sizes"* ]]
  run --separate-stderr trainbox manifest merge nope.json
  assert_failure 66
}

@test "rank manifests record rank and world size; merge checks gaps and overlaps and records each shard's rank" {
  gen_samples 400 3 --text-bytes=50 > samples.jsonl
  # four ranks of an Indexed Job: split, shard and manifest all take the rank from the environment
  for r in 0 1 2 3; do
    JOB_COMPLETION_INDEX=$r TRAINBOX_WORLD_SIZE=4 bash -c "set -o pipefail
      trainbox split samples.jsonl | trainbox shard -o sh$r --prefix r$r --max-samples 30 | trainbox manifest -o m$r.json"
  done
  jq -e '.rank == 2 and .world_size == 4' m2.json
  jq -e '.shards[0] | has("first_key") and has("last_key") and (has("rank") | not)' m2.json
  run --separate-stderr trainbox manifest merge -o all.manifest.json m0.json m1.json m2.json m3.json
  assert_success
  jq -e '.world_size == 4 and (has("rank") | not) and .totals.samples == 400 and .totals.shards == 16' all.manifest.json
  jq -e '[.shards[] | select(.rank == (.path | capture("r(?<r>[0-9])-").r | tonumber))] | length == 16' all.manifest.json
  # every sample exactly once
  diff <(jq -r .__key__ samples.jsonl | sort) <(trainbox cat --keys-only all.manifest.json | jq -r .__key__ | sort)
  # show reports them; an old manifest (no rank) still merges as before
  trainbox manifest show all.manifest.json | jq -e '.world_size == 4 and (has("rank") | not)'
  trainbox manifest show m1.json | jq -e '.rank == 1 and .world_size == 4'
  run trainbox manifest show -H m1.json
  assert_line 'rank      1 of 4'
  # --rank/--world-size given as options, and -v says where they came from
  run --separate-stderr bash -c 'trainbox split --rank 1 --world-size 4 samples.jsonl | trainbox shard -o o1 --prefix r1 | trainbox manifest -v --rank 1 --world-size 4'
  assert_success
  jq -e '.rank == 1 and .world_size == 4' <<<"$output"
  [[ "$stderr" == *"rank 1 from --rank, world size 4 from --world-size"* ]] || fail "$stderr"
  # a gap: rank 2 missing, named; nothing written
  run --separate-stderr trainbox manifest merge -o gap.json m0.json m1.json m3.json
  assert_failure 65
  [[ "$stderr" == *"gap: no manifest for rank 2 (1 of 4 ranks missing)"* ]] || fail "$stderr"
  [ ! -e gap.json ]
  # --world-size says how many to expect
  run --separate-stderr trainbox manifest merge --world-size 5 m0.json m1.json m2.json m3.json
  assert_failure 65
  [[ "$stderr" == *"m0.json has world size 4, --world-size 5"* ]] || fail "$stderr"
  # the same rank run twice under another prefix: the rank twice, and its keys in two ranks
  JOB_COMPLETION_INDEX=2 TRAINBOX_WORLD_SIZE=4 bash -c 'trainbox split samples.jsonl | trainbox shard -o again --prefix again | trainbox manifest -o again.json'
  jq '.rank = 3' again.json > as3.json
  run --separate-stderr trainbox manifest merge m0.json m1.json m2.json as3.json
  assert_failure 65
  [[ "$stderr" == *"overlap: sample key"*"in rank 2 (shard r2-"*"and rank 3 (shard again-"* ]] || fail "$stderr"
  run --separate-stderr trainbox manifest merge m0.json m1.json m2.json m3.json again.json
  assert_failure 65
  [[ "$stderr" == *"rank 2 twice: m2.json and again.json"* ]] || fail "$stderr"
  # one shard listed by two ranks
  jq --slurpfile o m1.json '.shards += [$o[0].shards[0]] | .totals.shards += 1 | .totals.bytes += $o[0].shards[0].bytes' m0.json > m0x.json
  run --separate-stderr trainbox manifest merge m0x.json m1.json m2.json m3.json
  assert_failure 65
  [[ "$stderr" == *"overlap: shard r1-000000.tar is in rank 0 (m0x.json) and rank 1 (m1.json)"* ]] || fail "$stderr"
  # a manifest without a rank among rank manifests
  trainbox manifest records.jsonl > plain.json
  run --separate-stderr trainbox manifest merge m0.json m1.json m2.json m3.json plain.json
  assert_failure 65
  [[ "$stderr" == *"plain.json records no rank"* ]] || fail "$stderr"
  # a rank that got nothing writes an empty rank manifest: present, so no gap
  : | trainbox shard -o empty --prefix e | trainbox manifest --rank 3 --world-size 4 -o e3.json
  jq -e '.shards == [] and .rank == 3' e3.json
  run trainbox manifest merge m0.json m1.json m2.json e3.json
  assert_success
  # usage: --rank alone, --rank with merge
  run trainbox manifest --rank 1 records.jsonl
  assert_failure 64
  run trainbox manifest --world-size 2 records.jsonl
  assert_failure 64
  run trainbox manifest merge --rank 1 m0.json
  assert_failure 64
  run env RANK=5 WORLD_SIZE=4 trainbox manifest records.jsonl
  assert_failure 64
}

@test "bad manifests exit 65 with the reason" {
  echo 'not json' > a.json
  echo '{"format":"trainbox.manifest","version":2,"shards":[]}' > b.json
  echo '{"format":"trainbox.manifest","version":1,"shards":[{"path":"x.tar"}]}' > c.json
  echo '{"format":"other","version":1,"shards":[]}' > d.json
  echo '{"format":"trainbox.manifest","version":1}' > e.json
  for f in a b c d e; do
    run --separate-stderr trainbox manifest show $f.json
    assert_failure 65
  done
  run --separate-stderr trainbox manifest verify a.json; [[ "$stderr" == *"a.json: manifest is not valid JSON"* ]]
  run --separate-stderr trainbox manifest show b.json; [[ "$stderr" == *"unsupported manifest version 2"* ]]
  run --separate-stderr trainbox manifest show c.json; [[ "$stderr" == *'shard 0: record lacks "bytes"'* ]]
  run --separate-stderr trainbox manifest show d.json; [[ "$stderr" == *"not a trainbox manifest"* ]]
  run --separate-stderr trainbox manifest show e.json; [[ "$stderr" == *'lacks a "shards" array'* ]]
}

@test "show summarizes as JSON and as a table" {
  sed -n 1,2p records.jsonl | sed 's/"split":"train"/"split":"val"/' > val.jsonl
  sed -n 3,6p records.jsonl > train.jsonl
  { cat val.jsonl train.jsonl; trailer 6; } | trainbox manifest -o m.json
  run trainbox manifest show m.json
  assert_success
  jq -e '.shards == 6 and .splits.val.shards == 2 and .splits.train.samples == 40 and .first == "out/train-000000.tar" and .last == "out/train-000005.tar"' <<<"$output"
  run trainbox manifest show -H m.json
  assert_success
  assert_line --regexp '^shards +6$'
  assert_line --regexp '^val +2 +20 +[0-9]+$'
}

@test "wids index and shardlist parse and expand in Python as the readers do" {
  sed 's#"path":"out/#"uri":"s3://bkt/ds/#' records.jsonl > up.jsonl
  trainbox manifest --format wids --name ds -o s3idx.json up.jsonl 2>/dev/null || trainbox manifest --format wids --name ds up.jsonl > s3idx.json
  trainbox manifest --format wids --name ds -o out/index.json records.jsonl
  trainbox manifest --format shardlist up.jsonl > list.txt
  run python3 - <<'PY'
import json, re, itertools
idx = json.load(open("out/index.json"))
assert idx["wids_version"] == 1 and idx["__kind__"] == "wids-shard-index-v1" and idx["name"] == "ds"
urls = [s["url"] for s in idx["shardlist"]]
assert urls == ["train-%06d.tar" % i for i in range(6)], urls      # relative to the index's directory
assert all(s["nsamples"] == 10 and s["filesize"] > 0 and len(s["md5sum"]) == 32 for s in idx["shardlist"])
# the braceexpand rule: {lo..hi} with the width of lo
def braceexpand(p):
    m = re.search(r"\{(\d+)\.\.(\d+)\}", p)
    if not m: return [p]
    lo, hi = m.group(1), m.group(2)
    return [p[:m.start()] + str(i).zfill(len(lo)) + p[m.end():] for i in range(int(lo), int(hi) + 1)]
line = open("list.txt").read().strip()
assert braceexpand(line) == ["s3://bkt/ds/train-%06d.tar" % i for i in range(6)], line
print("ok")
PY
  assert_success
  assert_output ok
  # not consecutive: one url a line
  { sed -n '1p;3p' up.jsonl; trailer 2; } | trainbox manifest --format shardlist > list2.txt
  assert_equal "$(cat list2.txt)" $'s3://bkt/ds/train-000000.tar\ns3://bkt/ds/train-000002.tar'
}

@test "usage errors exit 64" {
  run trainbox manifest verify
  assert_failure 64
  run trainbox manifest show -o x m.json
  assert_failure 64
  run trainbox manifest --deep records.jsonl
  assert_failure 64
  run trainbox manifest --format xml records.jsonl
  assert_failure 64
}
