#!/usr/bin/env bats
# manifest and discover against real stores: moto (S3) and Azurite (Azure), the same cases as the
# directory suites: 2,500 objects crossing listing pages with two shard groups, a gap and noise;
# checkpoints; verify finding a deleted and a truncated shard; merge of rank manifests.
load helper

setup_file() {
  start_moto
  aws --endpoint-url "$MOTO_URL" s3api create-bucket --bucket idx >/dev/null
  start_azurite
  export AZURE_STORAGE_CONNECTION_STRING="$AZ_CONN"
  # one tree of local files, uploaded to both stores with trainbox itself
  T="$BATS_FILE_TMPDIR/tree"
  python3 - "$T" <<'PY'
import os, sys
d = sys.argv[1]
def w(p, n, c=b"x"):
    os.makedirs(os.path.dirname(p), exist_ok=True)
    open(p, "wb").write(c * n)
for i in range(2010):
    if i != 1234: w(f"{d}/data/train/train-{i:06d}.tar", 2048)
for i in range(480): w(f"{d}/data/val/val-{i:04d}.tar", 1500, b"y")
for i in range(12): w(f"{d}/logs/run-{i:03d}.log", 5)
w(f"{d}/data/README.md", 5)
for s in (9, 10, 100, 99): w(f"{d}/ckpt/step-{s}/model.pt", s, b"w")
w(f"{d}/ckpt/step-99/.complete", 0)
PY
  (cd "$T" && find . -type f | sed 's#^\./##' | sort > "$BATS_FILE_TMPDIR/files")
  (cd "$T" && trainbox upload --keep-dirs --jobs 16 s3://idx/t/ < "$BATS_FILE_TMPDIR/files" > "$BATS_FILE_TMPDIR/s3.records")
  "$REPO/${TB_BUILD:-build}/drivers/store_cli" mkroot az://devstoreaccount1/idx 2>/dev/null
  (cd "$T" && trainbox upload --keep-dirs --jobs 16 az://devstoreaccount1/idx/t/ < "$BATS_FILE_TMPDIR/files" > "$BATS_FILE_TMPDIR/az.records")
}

teardown_file() {
  stop_moto
  stop_azurite
}

setup() {
  cd "$BATS_TEST_TMPDIR"
  # helper.bash clears store settings each time it is loaded: point them at this file's servers again
  export AWS_ENDPOINT_URL="$MOTO_URL" AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AZURE_STORAGE_CONNECTION_STRING="$AZ_CONN"
}

@test "the fixture: 2,500 objects uploaded to both stores" {
  n=$(wc -l < "$BATS_FILE_TMPDIR/files")
  [ "$n" -ge 2500 ]
  # one record per file, then the trailer
  [ "$(wc -l < "$BATS_FILE_TMPDIR/s3.records")" -eq $((n + 1)) ]
  [ "$(wc -l < "$BATS_FILE_TMPDIR/az.records")" -eq $((n + 1)) ]
  [ "$(tail -1 "$BATS_FILE_TMPDIR/s3.records")" = "$(trailer "$n")" ]
  [ "$(tail -1 "$BATS_FILE_TMPDIR/az.records")" = "$(trailer "$n")" ]
}

@test "discover finds the groups, the gap and leaves noise out, across listing pages (S3, Azure)" {
  for root in s3://idx/t az://devstoreaccount1/idx/t; do
    run --separate-stderr trainbox discover "$root"
    assert_success
    assert_equal "${#lines[@]}" 2
    jq -e --arg r "$root" '.group == ($r + "/data/train/train-{000000..002009}.tar") and .count == 2009 and .missing == [1234] and .bytes == 2009 * 2048' <<<"${lines[0]}"
    jq -e --arg r "$root" '.group == ($r + "/data/val/val-{0000..0479}.tar") and .count == 480 and .missing == []' <<<"${lines[1]}"
    run bash -c "trainbox discover --objects '$root' | wc -l"
    assert_output "$(wc -l < "$BATS_FILE_TMPDIR/files")"
  done
}

@test "latest checkpoint on stores: marked step-99 beats unmarked step-100 (S3, Azure)" {
  for root in s3://idx/t/ckpt az://devstoreaccount1/idx/t/ckpt; do
    run --separate-stderr trainbox discover --latest-checkpoint "$root"
    assert_success
    jq -e --arg r "$root" '.uri == ($r + "/step-99/") and .step == 99 and .objects == 2' <<<"$output"
  done
  run --separate-stderr trainbox discover --latest-checkpoint s3://idx/t/logs
  assert_failure 66
}

@test "manifest on stores: written in one piece, verify finds a deleted and a truncated shard, merge of 4 ranks (S3, Azure)" {
  for store in s3 az; do
    recs="$BATS_FILE_TMPDIR/$store.records"
    root=$([ $store = s3 ] && echo s3://idx/m || echo az://devstoreaccount1/idx/m)
    # shard records for the val group, with sha256 from the local files
    (cd "$BATS_FILE_TMPDIR/tree" && grep '/val-' "$recs" | head -40 | while read -r l; do
        p=$(jq -r .path <<<"$l"); jq -c --arg s "$(sha256sum "$p" | cut -c1-64)" '. + {sha256: $s, samples: 3}' <<<"$l"; done) > recs.jsonl
    trailer 40 >> recs.jsonl
    run --separate-stderr trainbox manifest -o "$root/manifest.json" recs.jsonl
    assert_success
    run --separate-stderr trainbox manifest verify --deep --jobs 4 "$root/manifest.json"
    assert_success
    # ranks write their own manifests in parallel, then one merge
    # (split treats its input as samples: it passes no trailer on, so each rank's part is "partial")
    head -n 40 recs.jsonl > bare.jsonl
    for r in 0 1 2 3; do trainbox split --world-size 4 --rank $r bare.jsonl | trainbox manifest --allow-partial -o "$root/rank$r.json" & done; wait
    run --separate-stderr trainbox manifest merge -o "$root/all.json" "$root/rank0.json" "$root/rank1.json" "$root/rank2.json" "$root/rank3.json"
    assert_success
    run bash -c "trainbox manifest show '$root/all.json' | jq -c '[.shards, .samples]'"
    assert_output '[40,120]'
    # damage two shards in the store
    first=$(jq -r .uri < <(sed -n 1p recs.jsonl)); second=$(jq -r .uri < <(sed -n 2p recs.jsonl))
    if [ $store = s3 ]; then
      aws --endpoint-url "$MOTO_URL" s3 rm "$first" >/dev/null
      printf 'short' > short; aws --endpoint-url "$MOTO_URL" s3 cp short "$second" >/dev/null
    else
      "$REPO/${TB_BUILD:-build}/drivers/store_cli" delete "$first" 2>/dev/null
      printf 'short' > short; "$REPO/${TB_BUILD:-build}/drivers/store_cli" put "$second" short >/dev/null 2>&1
    fi
    run --separate-stderr trainbox manifest verify "$root/manifest.json"
    assert_failure 1
    assert_equal "${#lines[@]}" 2
    jq -se --arg a "$first" --arg b "$second" 'map({(.problem): .}) | add | .missing.uri == $a and .size.uri == $b and .size.bytes == 5 and .size.expected_bytes == 1500' <<<"$output"
  done
}
