#!/usr/bin/env bats
# sync: directory <-> store, store -> store, directory -> directory, on file://, moto (S3) and
# Azurite; change detection by size + mtime (rclone's X-Amz-Meta-Mtime, read by rclone too),
# --checksum, --size-only; --delete and its guards; --marker (and when a local checkpoint is
# complete); --keep-last (and what it does not copy); --every; the keys a remote names checked
# before anything is written locally; a file that changes while it is read.
# A local checkpoint directory gets its marker when the trainer wrote one (a .complete in it) or
# when nothing in it changed within --min-age (default 60s): tests that want markers at once
# write the trainer's .complete, as a trainer following the protocol does.
load helper
bats_require_minimum_version 1.5.0

setup_file() {
  start_moto
  python3 "$REPO/tests/s3util.py" mb sy-rt sy-az sy-noop sy-chg sy-del sy-fail sy-empty sy-max sy-keep \
    sy-mark sy-evil sy-every sy-torn sy-big sy-rclone sy-rclone2 sy-copy sy-copy2 sy-dry sy-incl sy-cache sy-age sy-rest \
    sy-kl sy-klr sy-roll sy-part
}

teardown_file() {
  stop_moto
}

setup() {
  export AWS_ENDPOINT_URL="$MOTO_URL"   # helper.bash unsets it on every load
  export XDG_CACHE_HOME="$BATS_TEST_TMPDIR/cache"   # sync's metadata cache, one per test
  cd "$BATS_TEST_TMPDIR"
}

teardown() {
  stop_proxy
  stop_azurite
  [ -z "${BG_PID:-}" ] || { kill "$BG_PID" 2>/dev/null; wait "$BG_PID" 2>/dev/null; BG_PID=; }
}

# mktree DIR: nested directories, an empty file, unicode and space names, a few sizes
mktree() {
  mkdir -p "$1/a/b/c" "$1/émoji ✓" "$1/a-b"
  printf 'hello\n' >"$1/top.txt"
  : >"$1/empty.bin"
  head -c 70000 /dev/urandom >"$1/a/b/c/deep.bin"
  printf 'x' >"$1/a/b/one"
  printf 'unicode\n' >"$1/émoji ✓/naïve file.txt"
  printf 'dash\n' >"$1/a-b/f"
  printf 'dot\n' >"$1/a.b"
}

# same_tree A B: same relative paths with the same bytes (and nothing else)
same_tree() {
  diff <(cd "$1" && find . -type f | LC_ALL=C sort) <(cd "$2" && find . -type f | LC_ALL=C sort) || return 1
  local f
  while IFS= read -r f; do cmp "$1/$f" "$2/$f" || return 1; done < <(cd "$1" && find . -type f)
}

# ops OUTPUT: the op of every action line, counted: "skip 3\nupload 2"
ops() { jq -r 'select(.op) | .op' <<<"$1" | sort | uniq -c | awk '{print $2, $1}'; }
count_op() { jq -r "select(.op == \"$2\") | .op" <<<"$1" | wc -l; }

@test "sync: directory -> directory round trip, then a second sync sends nothing" {
  mktree src
  run --separate-stderr trainbox sync src dst
  assert_success
  same_tree src dst
  assert_equal "$(count_op "$output" copy)" 7
  # mtimes are carried over
  [ "$(stat -c %Y src/a/b/c/deep.bin)" = "$(stat -c %Y dst/a/b/c/deep.bin)" ]
  run --separate-stderr trainbox sync src dst
  assert_success
  assert_equal "$(count_op "$output" copy)" 0
  assert_equal "$(count_op "$output" skip)" 7
  # every line names path, uri and bytes
  jq -e -s 'map(select(.op) | has("path") and has("uri") and has("bytes")) | all' <<<"$output"
}

@test "sync: directory -> S3 -> directory round trip on moto; a second sync sends nothing" {
  mktree src
  run --separate-stderr trainbox sync src s3://sy-rt/backup/
  assert_success
  assert_equal "$(count_op "$output" upload)" 7
  jq -e -s 'map(select(.op == "upload")) | map(.uri) | index("s3://sy-rt/backup/a/b/c/deep.bin") != null' <<<"$output"
  run --separate-stderr trainbox sync s3://sy-rt/backup/ restored
  assert_success
  assert_equal "$(count_op "$output" download)" 7
  same_tree src restored
  [ "$(stat -c %Y src/top.txt)" = "$(stat -c %Y restored/top.txt)" ]
  run --separate-stderr trainbox sync src s3://sy-rt/backup/
  assert_success
  assert_equal "$(count_op "$output" upload)" 0
  run --separate-stderr trainbox sync s3://sy-rt/backup/ restored
  assert_success
  assert_equal "$(count_op "$output" download)" 0
  # no temp names left behind
  run find restored -name '*.tmp*' -o -name '.trainbox*'
  assert_output ""
}

@test "sync: directory -> Azure (Azurite) -> directory round trip; a second sync sends nothing" {
  start_azurite
  export AZURE_STORAGE_CONNECTION_STRING="$AZ_CONN"
  local d
  for d in drivers; do
    [ -x "$REPO/${TB_BUILD:-build}/$d/store_cli" ] && "$REPO/${TB_BUILD:-build}/$d/store_cli" mkroot az://devstoreaccount1/sync-ct && break
  done
  mktree src
  run --separate-stderr trainbox sync src az://devstoreaccount1/sync-ct/ck/
  assert_success
  assert_equal "$(count_op "$output" upload)" 7
  run --separate-stderr trainbox sync az://devstoreaccount1/sync-ct/ck/ back
  assert_success
  same_tree src back
  [ "$(stat -c %Y src/a/b/one)" = "$(stat -c %Y back/a/b/one)" ]
  run --separate-stderr trainbox sync src az://devstoreaccount1/sync-ct/ck/
  assert_success
  assert_equal "$(count_op "$output" upload)" 0
}

@test "sync: touch, a same-size change and a deletion are each synced; unchanged files are not sent" {
  mkdir src
  for i in 1 2 3 4; do printf 'v1-%s\n' $i >src/f$i; done
  touch -d '2026-01-01 00:00:00' src/f*
  trainbox sync src s3://sy-chg/p/ >/dev/null
  # same size, new content, new mtime
  printf 'v2-2\n' >src/f2; touch -d '2026-02-01 00:00:00' src/f2
  # new mtime only
  touch -d '2026-03-01 00:00:00' src/f3
  rm src/f4
  run --separate-stderr trainbox sync --delete src s3://sy-chg/p/
  assert_success
  assert_equal "$(jq -r 'select(.op == "upload") | .path' <<<"$output" | sort | tr '\n' ' ')" "f2 f3 "
  assert_equal "$(jq -r 'select(.op == "delete") | .path' <<<"$output")" "f4"
  assert_equal "$(jq -r 'select(.op == "skip") | .path' <<<"$output")" "f1"
  run aws --endpoint-url "$MOTO_URL" s3 cp s3://sy-chg/p/f2 -
  assert_output "v2-2"
  run aws --endpoint-url "$MOTO_URL" s3 ls s3://sy-chg/p/f4
  assert_failure
}

@test "sync: --size-only ignores mtimes; --checksum sends a same-size, same-mtime change" {
  mkdir src
  printf 'aaaa\n' >src/x; touch -d '2026-01-01' src/x
  trainbox sync src s3://sy-noop/c/ >/dev/null
  touch -d '2026-05-05' src/x
  run --separate-stderr trainbox sync --size-only src s3://sy-noop/c/
  assert_success
  assert_equal "$(count_op "$output" upload)" 0
  # content changes behind an unchanged size and mtime: only --checksum sees it
  printf 'bbbb\n' >src/x; touch -d '2026-01-01' src/x
  trainbox sync src s3://sy-noop/c/ >/dev/null   # the mtime from 2026-05-05 was not stored, so this one sends
  printf 'cccc\n' >src/x; touch -d '2026-01-01' src/x
  run --separate-stderr trainbox sync src s3://sy-noop/c/
  assert_equal "$(count_op "$output" upload)" 0
  run --separate-stderr trainbox sync --checksum src s3://sy-noop/c/
  assert_success
  assert_equal "$(count_op "$output" upload)" 1
  run aws --endpoint-url "$MOTO_URL" s3 cp s3://sy-noop/c/x -
  assert_output "cccc"
}

@test "sync: rclone reads trainbox's mtimes and trainbox reads rclone's: neither sees anything to copy" {
  unset AWS_CA_BUNDLE
  cat >rclone.conf <<EOF
[m]
type = s3
provider = Other
endpoint = $MOTO_URL
force_path_style = true
region = us-east-1
access_key_id = testing
secret_access_key = testing
EOF
  mktree src
  touch -d '2025-12-24 10:11:12.123456789' src/top.txt
  trainbox sync src s3://sy-rclone/t/ >/dev/null
  run rclone --config rclone.conf copy --dry-run -v src m:sy-rclone/t
  assert_success
  refute_output --partial "Skipped copy"
  refute_output --partial "Skipped update"
  # the reverse: rclone uploads, trainbox finds everything current
  rclone --config rclone.conf copy src m:sy-rclone2/r
  run --separate-stderr trainbox sync src s3://sy-rclone2/r/
  assert_success
  assert_equal "$(count_op "$output" upload)" 0
  assert_equal "$(count_op "$output" skip)" 7
}

@test "sync: a 100 MiB file goes up in parts and comes back identical" {
  mkdir src
  head -c $((100 * 1024 * 1024)) /dev/urandom >src/big.bin
  run --separate-stderr trainbox sync src s3://sy-big/b/
  assert_success
  run --separate-stderr trainbox sync s3://sy-big/b/ back
  assert_success
  cmp src/big.bin back/big.bin
  [ "$(open_mpu sy-big)" = 0 ]
}

@test "sync: --delete is withheld when a copy of the pass failed" {
  mkdir src
  printf 'keep\n' >src/a
  trainbox sync src s3://sy-fail/p/ >/dev/null
  aws --endpoint-url "$MOTO_URL" s3 cp - s3://sy-fail/p/orphan <<<"orphan" >/dev/null
  printf 'new\n' >src/b
  start_proxy --rate 1 --faults 500 --methods PUT,POST
  run --separate-stderr trainbox sync --delete --retries 1 --endpoint "$PROXY_URL" src s3://sy-fail/p/
  assert_failure
  [[ "$stderr" == *"deletions withheld"* ]] || fail "$stderr"
  assert_equal "$(count_op "$output" delete)" 0
  stop_proxy
  run aws --endpoint-url "$MOTO_URL" s3 ls s3://sy-fail/p/orphan
  assert_success
}

@test "sync: --delete refuses a missing or empty source (66) unless --allow-empty-source" {
  mkdir full empty
  printf 'x\n' >full/a
  trainbox sync full s3://sy-empty/p/ >/dev/null
  run --separate-stderr trainbox sync --delete empty s3://sy-empty/p/
  assert_failure 66
  [[ "$stderr" == *"empty"* ]] || fail "$stderr"
  run --separate-stderr trainbox sync --delete not-there s3://sy-empty/p/
  assert_failure 66
  run aws --endpoint-url "$MOTO_URL" s3 ls s3://sy-empty/p/a
  assert_success
  run --separate-stderr trainbox sync --delete --allow-empty-source empty s3://sy-empty/p/
  assert_success
  assert_equal "$(count_op "$output" delete)" 1
}

@test "sync: --max-delete N and N% refuse a pass that would delete more" {
  mkdir src
  for i in 0 1 2 3 4 5 6 7 8 9; do echo $i >src/f$i; done
  trainbox sync src s3://sy-max/p/ >/dev/null
  rm src/f[0-3]
  run --separate-stderr trainbox sync --delete --max-delete 3 src s3://sy-max/p/
  assert_failure
  [[ "$stderr" == *"max-delete"* ]] || fail "$stderr"
  assert_equal "$(count_op "$output" delete)" 0
  run --separate-stderr trainbox sync --delete --max-delete 30% src s3://sy-max/p/
  assert_failure
  run --separate-stderr trainbox sync --delete --max-delete 40% src s3://sy-max/p/
  assert_success
  assert_equal "$(count_op "$output" delete)" 4
}

@test "sync: --include/--exclude with ** select what is copied and what may be deleted" {
  mkdir -p src/logs/a src/ckpt
  echo 1 >src/logs/a/x.log; echo 2 >src/logs/b.txt; echo 3 >src/ckpt/m.pt
  run --separate-stderr trainbox sync --include 'logs/**/*.log' --include 'ckpt/**' src s3://sy-incl/p/
  assert_success
  assert_equal "$(jq -r 'select(.op == "upload") | .path' <<<"$output" | sort | tr '\n' ' ')" "ckpt/m.pt logs/a/x.log "
  aws --endpoint-url "$MOTO_URL" s3 cp - s3://sy-incl/p/other.bin <<<"o" >/dev/null
  # other.bin is outside the filters: --delete leaves it alone
  run --separate-stderr trainbox sync --delete --exclude '**/*.txt' --exclude 'other.bin' src s3://sy-incl/p/
  assert_success
  assert_equal "$(count_op "$output" delete)" 0
}

@test "sync: --dry-run prints the actions and changes nothing" {
  mktree src
  run --separate-stderr trainbox sync --dry-run src s3://sy-dry/p/
  assert_success
  assert_equal "$(count_op "$output" upload)" 7
  run aws --endpoint-url "$MOTO_URL" s3 ls --recursive s3://sy-dry/
  assert_output ""
}

@test "sync: --marker writes each checkpoint's marker after all its files, as the server saw it" {
  mkdir -p ck/step-100 ck/step-200
  for s in 100 200; do for f in model optim rng; do head -c 3000 /dev/urandom >ck/step-$s/$f.pt; done; done
  # the trainer's own markers (written last): the checkpoints are complete now, not in 60s
  for s in 100 200; do : >ck/step-$s/.complete; done
  log="${BATS_FILE_TMPDIR}/moto.log"
  run --separate-stderr trainbox sync --marker ck s3://sy-mark/run/
  assert_success
  run aws --endpoint-url "$MOTO_URL" s3 ls --recursive s3://sy-mark/run/
  assert_output --partial "run/step-100/.complete"
  assert_output --partial "run/step-200/.complete"
  # in the order the server received them, each marker comes after its checkpoint's files
  for s in 100 200; do
    m=$(grep -n "PUT /sy-mark/run/step-$s/.complete" "$log" | head -1 | cut -d: -f1)
    [ -n "$m" ] || fail "no marker PUT in $(grep sy-mark "$log")"
    last=$(grep -n "PUT /sy-mark/run/step-$s/[a-z]*\.pt" "$log" | tail -1 | cut -d: -f1)
    [ "$m" -gt "$last" ] || fail "marker of step-$s at line $m, a file at $last"
  done
  run trainbox discover --latest-checkpoint s3://sy-mark/run/
  assert_success
  assert_output --partial "step-200"
}

@test "sync: --keep-last keeps the newest checkpoints by step number, with and without markers" {
  mkdir -p ck
  for s in 5 40 300 1000; do mkdir ck/step-$s; echo $s >ck/step-$s/m.pt; done
  trainbox sync ck s3://sy-keep/a/ >/dev/null
  run --separate-stderr trainbox sync --keep-last 2 ck s3://sy-keep/a/
  assert_success
  assert_equal "$(jq -r 'select(.op == "delete") | .path' <<<"$output" | sort | tr '\n' ' ')" "step-40/m.pt step-5/m.pt "
  run aws --endpoint-url "$MOTO_URL" s3 ls s3://sy-keep/a/
  assert_output --partial "step-1000/"
  assert_output --partial "step-300/"
  refute_output --partial "step-40/"
  # with markers: a checkpoint without its marker neither counts nor is deleted
  mkdir -p ck2/step-1 ck2/step-2 ck2/step-3
  for s in 1 2 3; do echo $s >ck2/step-$s/m.pt; : >ck2/step-$s/.complete; done
  trainbox sync --marker ck2 s3://sy-keep/b/ >/dev/null
  aws --endpoint-url "$MOTO_URL" s3 cp - s3://sy-keep/b/step-9/m.pt <<<"partial" >/dev/null
  run --separate-stderr trainbox sync --marker --keep-last 1 ck2 s3://sy-keep/b/
  assert_success
  run aws --endpoint-url "$MOTO_URL" s3 ls s3://sy-keep/b/
  assert_output --partial "step-9/"
  assert_output --partial "step-3/"
  refute_output --partial "step-1/"
  refute_output --partial "step-2/"
}

@test "sync: --keep-last with file checkpoints and JSON sidecars keeps and deletes them in pairs" {
  mkdir -p fk
  for s in 100 200 300; do echo "w$s" > fk/step-$s.pt; echo "{\"step\": $s}" > fk/step-$s.json; done
  trainbox sync fk s3://sy-keep/f/ >/dev/null
  run --separate-stderr trainbox sync --keep-last 2 fk s3://sy-keep/f/
  assert_success
  assert_equal "$(jq -r 'select(.op == "delete") | .path' <<<"$output" | sort | tr '\n' ' ')" "step-100.json step-100.pt "
  run aws --endpoint-url "$MOTO_URL" s3 ls s3://sy-keep/f/
  for k in step-200.pt step-200.json step-300.pt step-300.json; do assert_output --partial "$k"; done
  refute_output --partial "step-100"
  # discover agrees: the latest is step-300 with its sidecar
  run --separate-stderr trainbox discover --latest-checkpoint s3://sy-keep/f/
  assert_success
  [[ "$output" == *"step-300.pt"* ]] || fail "$output"
}

@test "sync: keys that would escape the destination are refused, the rest synced, nothing written outside" {
  python3 - "$MOTO_URL" <<'PY'
import sys, boto3
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1")
for k in ["p/../evil", "p//abs", "p/a/../../b", "p/ok/fine.txt", "p/back\\slash"]:
    s3.put_object(Bucket="sy-evil", Key=k, Body=b"x")
PY
  mkdir -p work/dst
  cd work
  run --separate-stderr trainbox sync s3://sy-evil/p/ dst
  assert_failure 1
  [ -f dst/ok/fine.txt ]
  [ ! -e evil ] && [ ! -e ../evil ] && [ ! -e /abs ] && [ ! -e b ] && [ ! -e ../b ]
  [[ "$stderr" == *"refused"* ]] || fail "$stderr"
  run find . -type f
  assert_output "./dst/ok/fine.txt"
}

@test "sync: a symlink in the destination is never followed out of it" {
  aws --endpoint-url "$MOTO_URL" s3 cp - s3://sy-evil/q/link/x <<<"x" >/dev/null
  mkdir -p outside dst
  ln -s "$PWD/outside" dst/link
  run --separate-stderr trainbox sync s3://sy-evil/q/ dst
  assert_failure 1
  [ ! -e outside/x ]
}

@test "sync: --every syncs until SIGTERM, then makes one final pass and exits 0" {
  mkdir src
  echo 1 >src/a
  trainbox sync --every 1s src s3://sy-every/p/ >every.out 2>every.err &
  BG_PID=$!
  for i in $(seq 50); do grep -q '"path":"a"' every.out 2>/dev/null && break; sleep 0.2; done
  echo 2 >src/b
  kill -TERM "$BG_PID"
  rc=0; wait "$BG_PID" || rc=$?
  BG_PID=
  [ "$rc" = 0 ] || fail "exit $rc: $(cat every.err)"
  run aws --endpoint-url "$MOTO_URL" s3 ls s3://sy-every/p/b
  assert_success
}

@test "sync: a file rewritten while it is uploaded is never stored torn" {
  mkdir src
  python3 - <<'PY'
open("src/ck.bin", "wb").write(b"A" * (24 << 20))
PY
  # a writer that rewrites the file in place with one byte value after another, as long as it runs
  python3 - <<'PY' &
import os, time
v = 0
end = time.time() + 30
while time.time() < end:
    v = (v + 1) % 26
    with open("src/ck.bin", "r+b") as f:
        for _ in range(24):
            f.write(bytes([65 + v]) * (1 << 20))
            f.flush()
    if not os.path.exists("writing"):
        open("writing", "w").close()
PY
  BG_PID=$!
  # the sync starts once the writer is rewriting (else, on a busy machine, the whole upload could
  # be over before the writer's first byte, and nothing would be changing)
  for i in $(seq 100); do [ -e writing ] && break; sleep 0.1; done
  [ -e writing ] || fail "the writer never started"
  run --separate-stderr trainbox sync --multipart-threshold 8MiB src s3://sy-torn/p/
  kill "$BG_PID" 2>/dev/null || true; wait "$BG_PID" 2>/dev/null || true; BG_PID=
  assert_failure 1
  [[ "$stderr" == *"changed while"* ]] || fail "$stderr"
  # the object is absent, or holds one complete version of the file
  if aws --endpoint-url "$MOTO_URL" s3 cp s3://sy-torn/p/ck.bin got.bin 2>/dev/null; then
    [ "$(tr -d "$(head -c1 got.bin)" <got.bin | wc -c)" = 0 ] || fail "torn object"
  fi
}

@test "sync: store -> store copies (S3 to S3, S3 to file://), a second pass sends nothing" {
  mktree src
  trainbox sync src s3://sy-copy/from/ >/dev/null
  run --separate-stderr trainbox sync s3://sy-copy/from/ s3://sy-copy2/to/
  assert_success
  assert_equal "$(count_op "$output" copy)" 7
  run --separate-stderr trainbox sync s3://sy-copy2/to/ "file://$PWD/mirror/"
  assert_success
  same_tree src mirror
  run --separate-stderr trainbox sync s3://sy-copy/from/ s3://sy-copy2/to/
  assert_equal "$(count_op "$output" copy)" 0
}

@test "sync: usage errors exit 64 with one line" {
  run --separate-stderr trainbox sync onlyone
  assert_failure 64
  run --separate-stderr trainbox sync --size-only --checksum a b
  assert_failure 64
  run --separate-stderr trainbox sync --every nonsense a b
  assert_failure 64
  run --separate-stderr trainbox sync --max-delete 120% a b
  assert_failure 64
  run --separate-stderr trainbox sync http://example.invalid/x b
  assert_failure 64
}

@test "sync: a no-op pass asks no HEAD (the metadata cache); an object another tool rewrote is still seen" {
  mkdir src
  for i in 1 2 3 4 5; do echo "v$i" >src/f$i; done
  trainbox sync src s3://sy-cache/p/ >/dev/null
  run --separate-stderr trainbox sync -v src s3://sy-cache/p/
  assert_success
  assert_equal "$(count_op "$output" skip)" 5
  [ "$(grep -c ' HEAD ' <<<"$stderr")" = 0 ] || fail "HEADs in a no-op pass: $stderr"
  # rewritten behind our back with the same size: a new ETag, so asked again and sent again
  aws --endpoint-url "$MOTO_URL" s3 cp - s3://sy-cache/p/f3 <<<"XX" >/dev/null
  run --separate-stderr trainbox sync -v src s3://sy-cache/p/
  assert_success
  assert_equal "$(jq -r 'select(.op == "upload") | .path' <<<"$output")" "f3"
  [ "$(grep -c ' HEAD ' <<<"$stderr")" = 1 ] || fail "$stderr"
  # --no-cache asks every object
  run --separate-stderr trainbox sync -v --no-cache src s3://sy-cache/p/
  assert_success
  [ "$(grep -c ' HEAD ' <<<"$stderr")" = 5 ] || fail "$stderr"
  assert_equal "$(count_op "$output" skip)" 5
}

@test "sync: --min-age leaves files modified too recently for the next pass, and their checkpoint unmarked" {
  mkdir -p ck/step-1 ck/step-2
  echo old >ck/step-1/m.pt; touch -d '-1 hour' ck/step-1/m.pt
  # an old mtime alone no longer makes step-1 complete (its ctime is new: a copy keeping mtimes,
  # rsync -a or cp -p, looks the same): the trainer's marker says it is
  : >ck/step-1/.complete
  echo new >ck/step-2/m.pt
  run --separate-stderr trainbox sync --marker --min-age 10m ck s3://sy-age/p/
  assert_success
  assert_equal "$(jq -r 'select(.op == "upload") | .path' <<<"$output" | sort | tr '\n' ' ')" "step-1/.complete step-1/m.pt "
  jq -s -e 'map(select(.path == "step-2/m.pt")) | .[0].op == "skip" and .[0].reason == "modified within --min-age"' <<<"$output"
  run aws --endpoint-url "$MOTO_URL" s3 ls --recursive s3://sy-age/p/
  refute_output --partial "step-2"
}

@test "sync: a restore with --marker copies only marked checkpoints, and writes each marker last" {
  mkdir -p ck/step-1 ck/step-2
  echo a >ck/step-1/m.pt; echo b >ck/step-2/m.pt
  : >ck/step-1/.complete; : >ck/step-2/.complete   # the trainer's markers: complete now
  trainbox sync --marker ck s3://sy-rest/run/ >/dev/null
  # a checkpoint torn by a crash: files, no marker
  aws --endpoint-url "$MOTO_URL" s3 cp - s3://sy-rest/run/step-3/m.pt <<<"torn" >/dev/null
  run --separate-stderr trainbox sync --marker s3://sy-rest/run/ restored
  assert_success
  [ -f restored/step-1/.complete ] && [ -f restored/step-2/.complete ] && [ -f restored/step-2/m.pt ]
  [ ! -e restored/step-3 ] || fail "an unmarked checkpoint was restored"
  [[ "$stderr" == *"step-3/: no .complete in the source"* ]] || fail "$stderr"
  run trainbox discover --latest-checkpoint restored
  assert_success
  assert_output --partial "step-2"
}

@test "sync: -H prints the actions and a summary for people" {
  mkdir src; echo 1 >src/a; echo 22 >src/b
  run --separate-stderr trainbox sync -H src "file://$PWD/dst"
  assert_success
  assert_line --partial "copy"
  assert_line "2 copied (5 bytes), 0 unchanged, 0 deleted, 0 failed"
  refute_output --partial '{"op"'
}

# store_keys BUCKET PREFIX: every key under the prefix, sorted, space-separated
store_keys() {
  aws --endpoint-url "$MOTO_URL" s3 ls --recursive "s3://$1/$2" | awk '{print $4}' | sed "s#^$2##" | LC_ALL=C sort | xargs
}

@test "sync: --keep-last never uploads a checkpoint it would delete; a second pass uploads nothing" {
  mkdir -p ckpt
  for s in 1 2 3; do mkdir ckpt/step-$s; echo "w$s" >ckpt/step-$s/model.pt; echo "o$s" >ckpt/step-$s/optim.pt; : >ckpt/step-$s/.complete; done
  echo log >ckpt/train.log
  run --separate-stderr trainbox sync -v --marker --keep-last 2 ckpt/ s3://sy-kl/run/ckpt/
  assert_success
  assert_equal "$(store_keys sy-kl run/ckpt/)" \
    "step-2/.complete step-2/model.pt step-2/optim.pt step-3/.complete step-3/model.pt step-3/optim.pt train.log"
  # step-1 was never sent (nor deleted: it never got there), and -v says why
  assert_equal "$(jq -r 'select(.path | startswith("step-1")) | .op' <<<"$output")" ""
  [[ "$stderr" == *"step-1/: older than the 2 newest checkpoints (--keep-last): not copied"* ]] || fail "$stderr"
  run --separate-stderr trainbox sync --marker --keep-last 2 ckpt/ s3://sy-kl/run/ckpt/
  assert_success
  assert_equal "$(count_op "$output" upload)" 0
  assert_equal "$(count_op "$output" delete)" 0
  assert_equal "$(store_keys sy-kl run/ckpt/)" \
    "step-2/.complete step-2/model.pt step-2/optim.pt step-3/.complete step-3/model.pt step-3/optim.pt train.log"
  # the trainer writes step-4 and keeps the old ones: step-4 goes up, step-2 goes, nothing comes back
  mkdir ckpt/step-4; echo w4 >ckpt/step-4/model.pt; : >ckpt/step-4/.complete
  run --separate-stderr trainbox sync --marker --keep-last 2 ckpt/ s3://sy-kl/run/ckpt/
  assert_success
  assert_equal "$(jq -r 'select(.op == "upload") | .path' <<<"$output" | sort | xargs)" "step-4/.complete step-4/model.pt"
  assert_equal "$(jq -r 'select(.op == "delete") | .path' <<<"$output" | sort | xargs)" \
    "step-2/.complete step-2/model.pt step-2/optim.pt"
  assert_equal "$(store_keys sy-kl run/ckpt/)" \
    "step-3/.complete step-3/model.pt step-3/optim.pt step-4/.complete step-4/model.pt train.log"
  # without --marker, the same rule: only the newest K of both sides are sent (the trainer's
  # .complete is then a file like any other)
  run --separate-stderr trainbox sync --keep-last 1 ckpt/ s3://sy-kl/plain/
  assert_success
  assert_equal "$(store_keys sy-kl plain/)" "step-4/.complete step-4/model.pt train.log"
  run --separate-stderr trainbox sync --keep-last 1 ckpt/ s3://sy-kl/plain/
  assert_success
  assert_equal "$(count_op "$output" upload)" 0
  assert_equal "$(count_op "$output" delete)" 0
}

@test "sync: a restore with --keep-last downloads only the checkpoints it keeps" {
  mkdir -p ck
  for s in 1 2 3 4; do mkdir ck/step-$s; echo "w$s" >ck/step-$s/m.pt; : >ck/step-$s/.complete; done
  trainbox sync --marker ck s3://sy-klr/run/ >/dev/null
  aws --endpoint-url "$MOTO_URL" s3 cp - s3://sy-klr/run/step-5/m.pt <<<"torn" >/dev/null
  run --separate-stderr trainbox sync --marker --keep-last 2 s3://sy-klr/run/ restored
  assert_success
  assert_equal "$(jq -r 'select(.op == "download") | .path' <<<"$output" | sort | xargs)" \
    "step-3/.complete step-3/m.pt step-4/.complete step-4/m.pt"
  assert_equal "$(cd restored && find . -type f | LC_ALL=C sort | xargs)" \
    "./step-3/.complete ./step-3/m.pt ./step-4/.complete ./step-4/m.pt"
  run --separate-stderr trainbox sync --marker --keep-last 2 s3://sy-klr/run/ restored
  assert_success
  assert_equal "$(count_op "$output" download)" 0
}

@test "sync: --keep-last keeps a run resumed from an older step: its newest checkpoint is sent and never deleted" {
  for s in 300 400; do
    aws --endpoint-url "$MOTO_URL" s3 cp - "s3://sy-roll/run/step-$s/m.pt" <<<"abandoned" >/dev/null
    aws --endpoint-url "$MOTO_URL" s3 cp - "s3://sy-roll/run/step-$s/.complete" </dev/null >/dev/null
  done
  mkdir -p ck/step-200 ck/step-250
  for s in 200 250; do echo "w$s" >ck/step-$s/m.pt; : >ck/step-$s/.complete; done
  run --separate-stderr trainbox sync --marker --keep-last 2 ck s3://sy-roll/run/
  assert_success
  assert_equal "$(jq -r 'select(.op == "upload") | .path' <<<"$output" | sort | xargs)" "step-250/.complete step-250/m.pt"
  run aws --endpoint-url "$MOTO_URL" s3 ls s3://sy-roll/run/
  assert_output --partial "step-250/"
  refute_output --partial "step-200/"
  # the next pass keeps it and sends nothing
  run --separate-stderr trainbox sync --marker --keep-last 2 ck s3://sy-roll/run/
  assert_success
  assert_equal "$(count_op "$output" upload)" 0
  assert_equal "$(count_op "$output" delete)" 0
}

@test "sync: --marker never marks a local checkpoint still being written: the trainer's marker, or --min-age of quiet" {
  mkdir -p ck/step-5
  # the trainer wrote model.pt and pauses before optim.pt: the file goes up, the marker does not
  echo w5 >ck/step-5/model.pt
  run --separate-stderr trainbox sync --marker ck s3://sy-part/run/
  assert_success
  assert_equal "$(jq -r 'select(.op == "upload") | .path' <<<"$output")" "step-5/model.pt"
  jq -s -e 'map(select(.path == "step-5/.complete")) | .[0].op == "skip" and (.[0].reason | test("changed within 60s"))' <<<"$output"
  run aws --endpoint-url "$MOTO_URL" s3 ls s3://sy-part/run/step-5/.complete
  assert_failure
  # a copy that keeps old mtimes (rsync -a, cp -p) is not old: its ctime is new
  echo o5 >ck/step-5/optim.pt; touch -d '-1 hour' ck/step-5/*.pt ck/step-5
  run --separate-stderr trainbox sync --marker ck s3://sy-part/run/
  assert_success
  run aws --endpoint-url "$MOTO_URL" s3 ls s3://sy-part/run/step-5/.complete
  assert_failure
  # the trainer's own marker completes it at once (and is not copied as a file: sync writes its own)
  : >ck/step-5/.complete
  run --separate-stderr trainbox sync --marker ck s3://sy-part/run/
  assert_success
  assert_equal "$(jq -r 'select(.op == "upload") | .reason' <<<"$output")" "marker"
  run aws --endpoint-url "$MOTO_URL" s3 ls s3://sy-part/run/step-5/.complete
  assert_success
  # without the trainer's marker: complete once nothing in it changed for --min-age
  mkdir ck/step-6; echo w6 >ck/step-6/model.pt
  sleep 2
  run --separate-stderr trainbox sync --marker --min-age 1s ck s3://sy-part/run/
  assert_success
  assert_equal "$(jq -r 'select(.op == "upload") | .path' <<<"$output" | sort | xargs)" "step-6/.complete step-6/model.pt"
  run trainbox discover --latest-checkpoint --marker .complete s3://sy-part/run/
  assert_success
  assert_output --partial "step-6"
}
