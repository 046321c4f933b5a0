#!/usr/bin/env bats
# The README's two commands as a new user meets them: `make demo` and `make check` on a machine
# whose packages are not installed yet (the Makefile must not read pkg-config before `deps` ran),
# and the demo against a bucket (STORE=s3://...).
load helper

teardown() { stop_moto; }
# a make of our own, not a sub-make of the `make check` that may be running these tests
unset MAKEFLAGS MFLAGS MAKELEVEL

# stub_pkg_config DIR MARKER: a pkg-config in DIR that fails, as on a fresh machine, until MARKER
# exists (what the deps stub creates), and logs every call as "before ..." or "after ..." in DIR/log.
stub_pkg_config() {
  local dir=$1 marker=$2 real
  real=$(command -v pkg-config)
  mkdir -p "$dir"
  cat > "$dir/pkg-config" <<EOF
#!/bin/sh
if [ -e '$marker' ]; then echo "after \$*" >> '$dir/log'; exec '$real' "\$@"; fi
echo "before \$*" >> '$dir/log'
exit 1
EOF
  chmod +x "$dir/pkg-config"
  : > "$dir/log"
}

# copy_tree DEST: the tracked files of the worktree (as a fresh clone would have them, with the
# working tree's edits), without build products.
copy_tree() {
  mkdir -p "$1"
  git -C "$REPO" ls-files -z | tar -C "$REPO" --null -T - -cf - | tar -C "$1" -xf -
}

@test "reading the Makefile and running deps asks pkg-config nothing (flags are read only when a build needs them)" {
  stub_pkg_config "$BATS_TEST_TMPDIR/stub" "$BATS_TEST_TMPDIR/marker"
  printf '#!/bin/sh\necho deps ran\n' > "$BATS_TEST_TMPDIR/deps"; chmod +x "$BATS_TEST_TMPDIR/deps"
  # on PATH too, so a Makefile that ignored PKG_CONFIG would still be caught
  PATH="$BATS_TEST_TMPDIR/stub:$PATH" run make -C "$REPO" --no-print-directory \
    PKG_CONFIG="$BATS_TEST_TMPDIR/stub/pkg-config" DEPS="$BATS_TEST_TMPDIR/deps" deps
  assert_success
  assert_output 'deps ran'
  [ ! -s "$BATS_TEST_TMPDIR/stub/log" ] || fail "pkg-config was run before deps: $(cat "$BATS_TEST_TMPDIR/stub/log")"
}

@test "make with packages pkg-config cannot find stops before compiling, with one line saying to run make deps" {
  stub_pkg_config "$BATS_TEST_TMPDIR/stub" "$BATS_TEST_TMPDIR/never"
  b="$BATS_TEST_TMPDIR/build"
  PATH="$BATS_TEST_TMPDIR/stub:$PATH" run --separate-stderr make -C "$REPO" --no-print-directory \
    PKG_CONFIG="$BATS_TEST_TMPDIR/stub/pkg-config" BUILD="$b" BIN="$b/trainbox" "$b/trainbox"
  assert_failure
  [ "${#stderr_lines[@]}" -eq 1 ] || fail "expected one line, got: $stderr"
  [[ "$stderr" == *"missing build packages"*"libcjson"*"run 'make deps' (scripts/install-deps.sh)"* ]] || fail "$stderr"
  [ ! -e "$b" ] || fail "compiled before finding the packages missing"
}

# The copy builds from scratch twice (make check's build with the unit tests, then make demo's):
# 15 s on a quiet 2-core machine, over a minute on a busy one, so slow; the two tests above are the
# cheap guard of the same structure. (Against the old Makefile: demo failed with 211 undefined
# references, and both runs asked pkg-config before deps.)
# bats test_tags=slow
@test "on a fresh machine make check and make demo work on the first run" {
  t="$BATS_TEST_TMPDIR/tree"
  copy_tree "$t"
  marker="$BATS_TEST_TMPDIR/installed"
  stub_pkg_config "$BATS_TEST_TMPDIR/stub" "$marker"
  # deps "installs" the packages; the test suite itself is not what is tested here
  printf '#!/bin/sh\ntouch %q\n' "$marker" > "$t/scripts/install-deps.sh"
  printf '#!/bin/sh\necho "tests ran"\n' > "$t/scripts/run-tests.sh"
  export PATH="$BATS_TEST_TMPDIR/stub:$PATH"

  run make -C "$t" -s -j2 check
  assert_success
  assert_output --partial "tests ran"
  [ -x "$t/trainbox" ] && [ -x "$t/build/unit/test_core" ]
  run grep '^before' "$BATS_TEST_TMPDIR/stub/log"
  assert_failure

  rm -rf "$t/build" "$t/trainbox" "$marker"; : > "$BATS_TEST_TMPDIR/stub/log"
  run make -C "$t" -s -j2 demo
  assert_success
  assert_output --partial "all 7 shards ok (sizes and sha256)"
  assert_output --partial '"__key__":"sample'
  run grep '^before' "$BATS_TEST_TMPDIR/stub/log"
  assert_failure
}

@test "STORE=s3://bucket/prefix/ make demo runs the job against the bucket, not a local store" {
  start_moto
  mb demo-bucket
  rm -rf "$REPO/build/demo"
  # (no trailing slash: the demo adds it)
  STORE=s3://demo-bucket/runs/first run make -s -C "$REPO" --no-print-directory demo
  assert_success
  demo=$output
  # the shards and the manifest are in the bucket
  run aws --endpoint-url "$MOTO_URL" s3 ls --recursive s3://demo-bucket/
  assert_success
  assert_output --partial "runs/first/manifest.json"
  for s in test-000000 val-000000 train-000000 train-000004; do assert_output --partial "runs/first/$s.tar"; done
  assert_equal "$(grep -c '\.tar$' <<<"$output")" 7
  # nothing written to the local file:// store the demo uses by default
  [ -d "$REPO/build/demo" ] && [ ! -e "$REPO/build/demo/bucket" ] || fail "$(find "$REPO/build/demo" -maxdepth 2)"
  # and every step read the bucket: verify, the sample read back, the rank's shard list
  output=$demo
  refute_output --partial "file://"
  assert_output --partial "== store: s3://demo-bucket/runs/first/"
  assert_output --partial "all 7 shards ok (sizes and sha256)"
  assert_output --partial '"__key__":"sample'
  assert_output --partial "s3://demo-bucket/runs/first/train-000001.tar"
}

# The README's headline pipeline, run as the README shows it (set -o pipefail included), on local
# .jsonl.gz files; only its r2:// bucket becomes an s3:// bucket on moto.
@test "the README's headline pipeline works today, as written" {
  start_moto
  mb bucket
  cd "$BATS_TEST_TMPDIR"
  mkdir data
  head -n 500 "$REPO/data/samples.jsonl" | gzip > data/a.jsonl.gz
  tail -n +501 "$REPO/data/samples.jsonl" | gzip > data/b.jsonl.gz
  awk '/^    set -o pipefail$/{f=1} f && /^$/{exit} f{sub(/^    /, ""); print}' "$REPO/README.md" |
    sed 's#r2://#s3://#g' > pipeline.sh
  grep -q '^trainbox cat data/\*\.jsonl\.gz' pipeline.sh || fail "README pipeline not found: $(cat pipeline.sh)"
  grep -q 'trainbox manifest -o s3://' pipeline.sh || fail "README pipeline not found: $(cat pipeline.sh)"
  run bash pipeline.sh
  assert_success
  run aws --endpoint-url "$MOTO_URL" s3 cp s3://bucket/runs/2026-11-22/manifest.json -
  assert_success
  assert_equal "$(jq .totals.samples <<<"$output")" 1000
  assert_equal "$(jq '[.shards[].split] | unique | join(",")' <<<"$output")" '"test,train,val"'
}
