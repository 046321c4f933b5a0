#!/usr/bin/env bats
# The hostile-input corpus (tests/badinput/make.py, written at test time) through every subcommand
# that reads it: each input gets its documented exit code and one clear error line naming the
# command, no crash (no exit >= 128, no sanitizer report), nothing written outside the command's
# output directory, and bounded memory (peak RSS by /usr/bin/time) for the big cases.
load helper

setup_file() {
  export C="$BATS_FILE_TMPDIR/c"
  python3 "$REPO/tests/badinput/make.py" "$C"
}

setup() {
  W="$BATS_TEST_TMPDIR/w"
  mkdir -p "$W"
  cd "$W"
  export HOME="$W/home"
  mkdir -p "$HOME"
  STAMP="$BATS_TEST_TMPDIR/stamp"
  touch "$STAMP"
  BAD=()
}

# hostile CODE OUTDIR CMD...: run CMD (in $W) and check its code, its one error line, no crash, no
# write outside OUTDIR (a path below $W, or - when the command writes nothing but stdout), and its
# peak RSS below $RSS_MAX KB (default 200 MB). Failures are collected in BAD, reported by verdict.
RSS_MAX=200000
hostile() {
  local code=$1 out=$2; shift 2
  local rss="$BATS_TEST_TMPDIR/rss" what="$*"
  touch "$STAMP"
  sleep 0.01
  # address space capped so a regression cannot take the machine's memory (not under ASan, whose
  # shadow memory needs terabytes of it)
  local vlimit=8000000
  ldd "$(command -v trainbox)" 2>/dev/null | grep -q libasan && vlimit=unlimited
  run --separate-stderr bash -c 'ulimit -v '"$vlimit"'; exec /usr/bin/time -f %M -o "$0" "$@"' "$rss" "$@"
  local peak
  peak=$(tail -1 "$rss")
  local errs
  errs=$(printf '%s\n' "$stderr" | grep -v '^Command exited with non-zero status' || true)
  if [ "$status" -ne "$code" ]; then BAD+=("$what: exit $status, want $code: ${errs:0:300}"); fi
  if [ "$status" -ge 128 ]; then BAD+=("$what: crashed (exit $status)"); fi
  if grep -qE 'AddressSanitizer|runtime error:|LeakSanitizer' <<<"$errs"; then BAD+=("$what: sanitizer report"); fi
  if [ "$code" -ne 0 ]; then
    local n
    # (upload closes a failed run with its "N of M files failed" summary: upload(1))
    n=$(printf '%s' "$errs" | grep -vc '^trainbox upload: [0-9]* of [0-9]* files failed$' || true)
    [ "$n" -eq 1 ] || BAD+=("$what: $n error lines, want 1: ${errs:0:300}")
    [[ "$errs" == "trainbox "* ]] || BAD+=("$what: error line does not name the command: ${errs:0:200}")
  fi
  [ "${peak:-0}" -lt "$RSS_MAX" ] || BAD+=("$what: peak RSS $peak KB over $RSS_MAX KB")
  # nothing new anywhere under the test's files but in OUTDIR (or the rss file), nor in /tmp/tb-evil
  local stray
  stray=$(find "$BATS_FILE_TMPDIR" "$W" -newer "$STAMP" ! -type d ! -path "$rss" 2>/dev/null |
            { if [ "$out" = - ]; then cat; else grep -v "^$W/$out/" || true; fi; } | head -5)
  [ -z "$stray" ] || BAD+=("$what: wrote outside its output directory: $stray")
  [ ! -e /tmp/tb-evil ] || BAD+=("$what: created /tmp/tb-evil")
  LAST_ERR=$errs
}

# expect_msg TEXT: the last hostile run's error line contains TEXT.
expect_msg() {
  [[ "$LAST_ERR" == *"$1"* ]] || BAD+=("$1: not in the error line: ${LAST_ERR:0:300}")
}

verdict() {
  if [ ${#BAD[@]} -gt 0 ]; then printf '%s\n' "${BAD[@]}"; return 1; fi
}

# the sample files (ndjson/*.jsonl) and which commands accept them: shard validates every sample
# (keys, fields, $base64), split routes lines and parses only what it hashes, cat checks JSON only
samples() { awk -F'\t' '$2 == "samples" && $1 ~ /\.jsonl$/ {print $1}' "$C/index.tsv"; }
VALID_JSON=' dup_key_field dup_member_field dup_consecutive_key key_number key_null key_array key_object key_bool key_empty key_dotdot key_dotdot_lead key_absolute key_nul_escape key_dot_in_base key_slash_only field_nul_escape field_slash field_empty bad_base64 '
SPLIT_REFUSES=' key_array key_object '
# lines not starting with '{' split routes whole, as plain lines (split(1): "of the whole line when it has no key")
SPLIT_PLAIN=' nul_line not_object '

@test "samples: shard refuses every hostile sample with 65 and the file and line, writes no shard" {
  # (JSON nested 100,000 deep is refused: deeper than TB_JSON_MAX_DEPTH, 1000, as cJSON's limit;
  # jsmn's closing-bracket walk made it quadratic, 34 s for a 600 KB line)
  for rel in $(samples); do
    n=$(basename "$rel" .jsonl)
    want=65
    rm -rf out
    hostile $want out trainbox shard -q -o out "$C/$rel"
    if [ $want = 65 ]; then
      expect_msg "$C/$rel"
      [ -z "$(find out -name '*.tar' 2>/dev/null)" ] || BAD+=("$n: a shard was left: $(ls out)")
    fi
  done
  verdict
}

@test "samples: split refuses invalid JSON objects with 65 and routes valid lines unchanged" {
  for rel in $(samples); do
    n=$(basename "$rel" .jsonl)
    want=65
    case "$VALID_JSON$SPLIT_PLAIN" in *" $n "*) want=0 ;; esac
    case "$SPLIT_REFUSES" in *" $n "*) want=65 ;; esac
    rm -rf out
    hostile $want out trainbox split -q --ratio a=1 -o out "$C/$rel"
    if [ $want = 0 ]; then
      cmp -s out/a.jsonl "$C/$rel" || BAD+=("$n: split changed the lines")
    else
      expect_msg "$C/$rel"
      [ ! -e out/a.jsonl ] || BAD+=("$n: split left out/a.jsonl")
    fi
  done
  verdict
}

@test "samples: cat refuses what is not JSON objects with 65 (plain, gzip and corrupt gzip files)" {
  for rel in $(samples) ndjson/truncated.jsonl.gz ndjson/bad_crc.jsonl.gz ndjson/trailing_garbage.jsonl.gz; do
    n=$(basename "$rel" .jsonl)
    want=65
    case "$VALID_JSON" in *" $n "*) want=0 ;; esac
    hostile $want - trainbox cat -q "$C/$rel"
    [ $want = 0 ] || expect_msg "$C/$rel"
  done
  verdict
}

@test "a 100 MB line: shard, split, cat, upload and manifest refuse it (65, --max-line) in bounded memory" {
  f="$C/ndjson/line_100mb.jsonl" r="$C/records/line_100mb.jsonl"
  hostile 65 out trainbox shard -q -o out "$f"; expect_msg "longer than --max-line"
  hostile 65 out trainbox split -q --ratio a=1 -o out "$f"; expect_msg "longer than --max-line"
  hostile 65 - trainbox cat -q "$f"; expect_msg "longer than --max-line"
  hostile 65 out bash -c 'exec trainbox upload -q out/ < "$0"' "$r"; expect_msg "longer than --max-line"
  hostile 65 - bash -c 'exec trainbox manifest -q < "$0"' "$r"; expect_msg "longer than --max-line"
  [ -z "$(ls out 2>/dev/null)" ] || BAD+=("something was written: $(ls out)")
  verdict
}

@test "bombs: gzip and zstd streams of 10 GiB of zeros are refused by cat (65) in bounded memory" {
  [ "$(stat -c %s "$C/bomb/zeros.jsonl.gz")" -lt 20000000 ]
  for b in zeros.jsonl.gz zeros.jsonl.zst newlines.jsonl.gz; do
    hostile 65 - trainbox cat -q "$C/bomb/$b"; expect_msg "longer than --max-line"
  done
  for b in member.tar.gz member.tar.zst; do
    hostile 65 - trainbox cat -q "$C/bomb/$b"; expect_msg "10737418240 bytes, more than a sample line may hold"
  done
  verdict
}

@test "tar members: links, devices, fifos, unsafe names, sizes past the end and corrupt gzip are refused by cat (65)" {
  declare -A msg=(
    [symlink]="is a symlink" [symlink_rel]="is a symlink" [hardlink]="is a hard link" [hardlink_abs]="is a hard link"
    [chardev]="is a device" [blockdev]="is a device" [fifo]="is a fifo"
    [absolute]="unsafe member name" [dotdot]="unsafe member name" [dotdot_inner]="unsafe member name"
    [no_dot]="is not KEY.FIELD" [empty_key]="is not KEY.FIELD" [nul_pax_name]="is not KEY.FIELD"
    [size_beyond_eof]="truncated" [size_garbage]="not a tar shard" [bad_checksum]="not a tar shard"
    [size_base256_huge]="more than a sample line may hold" [truncated_header]="not a tar shard"
    [garbage]="not a tar shard" [truncated.tar.gz]="truncated gzip stream" [bad_crc.tar.gz]="CRC32"
    [gzip_of_garbage.tar.gz]="not a tar shard" [not_gzip.tar.gz]="gzip"
  )
  for n in "${!msg[@]}"; do
    f="$C/tar/$n"; [[ "$n" == *.gz ]] || f="$f.tar"
    hostile 65 - trainbox cat -q "$f"; expect_msg "${msg[$n]}"; expect_msg "$f"
    # --skip-corrupt reports it and goes on with the next input
    hostile 0 - trainbox cat -q --skip-corrupt "$f" "$C/good.jsonl"
    [ "$(printf '%s\n' "$output" | grep -c '"__key__"')" = 2 ] || BAD+=("$n --skip-corrupt: $output")
  done
  # a directory member is skipped (tar of a directory tree), its files read
  hostile 0 - trainbox cat -q "$C/tar/directory.tar"
  [ "$output" = '{"__key__":"s0","txt":"hello"}' ] || BAD+=("directory.tar: $output")
  verdict
}

@test "records: upload and manifest refuse malformed records and trailers (65) without sending anything" {
  for n in not_json path_number path_null path_empty path_missing bytes_negative bytes_string bytes_float \
           bytes_huge sha256_short sha256_not_hex deep; do
    hostile 65 out bash -c 'exec trainbox upload -q out/ < "$0"' "$C/records/$n.jsonl"
    [ -z "$(ls out 2>/dev/null)" ] || BAD+=("upload $n stored: $(ls out)")
  done
  for n in not_json not_object bytes_negative bytes_string bytes_float bytes_huge samples_negative sha256_short \
           sha256_not_hex deep trailer_wrong_count trailer_bad_shape trailer_not_ok line_after_trailer two_trailers no_trailer; do
    hostile 65 out bash -c 'exec trainbox manifest -q -o out/m.json < "$0"' "$C/records/$n.jsonl"
    [ ! -e out/m.json ] || BAD+=("manifest $n wrote out/m.json")
  done
  # upload's trailer checks, on records of a real file (plain path records)
  cp "$C/good.jsonl" g.jsonl
  for t in '{"__end__": {"records": 7, "ok": true}}' '{"__end__": "yes"}' '{"__end__": {"records": 1, "ok": false}}'; do
    printf 'g.jsonl\n%s\n' "$t" >in.jsonl
    hostile 65 out bash -c 'exec trainbox upload -q out/ < in.jsonl'
  done
  printf 'g.jsonl\n{"__end__": {"records": 1, "ok": true}}\ng.jsonl\n' >in.jsonl
  hostile 65 out bash -c 'exec trainbox upload -q out/ < in.jsonl'; expect_msg "after the trailer"
  verdict
}

@test "records: a path holding NUL, duplicate path fields or invalid UTF-8 is refused by upload and manifest" {
  skip "known: upload opens 'a' for {\"path\":\"a\\u0000b.tar\"} and for a raw NUL (exit 66 'open a'), takes the first of two \"path\" fields, and opens a non-UTF-8 path (66); manifest builds from all of them with exit 0 and writes the bytes into the manifest (lib/manifest.c, cmd/manifest.c)"
  for n in path_nul_escape path_raw_nul dup_path_field trunc_utf8; do
    hostile 65 out bash -c 'exec trainbox upload -q out/ < "$0"' "$C/records/$n.jsonl"
    hostile 65 out bash -c 'exec trainbox manifest -q -o out/m.json < "$0"' "$C/records/$n.jsonl"
  done
  verdict
}

manifest_cases_ok=' not_json empty array string format_wrong format_missing version_2 version_string shards_missing shards_object shards_numbers shard_no_uri shard_bytes_negative totals_wrong trunc_utf8 nul_byte deep wids_bad '

@test "manifests of bad shapes: show, verify, merge and cat refuse them (65) and write nothing" {
  for n in $manifest_cases_ok; do
    f="$C/manifest/$n.json"
    hostile 65 - trainbox manifest show "$f"; expect_msg "$f"
    hostile 65 - trainbox manifest verify "$f"
    hostile 65 out trainbox manifest merge -o out/m.json "$f" "$f"
    [ ! -e out/m.json ] || BAD+=("merge $n wrote out/m.json")
    # cat reads a file named manifest.json as a manifest
    mkdir -p m && cp "$f" m/manifest.json
    touch "$STAMP"
    hostile 65 - trainbox cat -q m/manifest.json
  done
  verdict
}

@test "manifests with a non-string uri, a NUL in a uri, duplicate shards or duplicate keys are refused" {
  skip "known: manifest show/merge exit 0 on {\"uri\": 5}, on a uri holding \\u0000, on the same shard twice (the man page promises 65 for duplicate shards) and on two \"format\" keys (the first wins); verify says 1 or 77 for them (lib/manifest.c)"
  for n in shard_uri_number shard_uri_nul shard_dup dup_format; do
    hostile 65 - trainbox manifest show "$C/manifest/$n.json"
    hostile 65 out trainbox manifest merge -o out/m.json "$C/manifest/$n.json"
  done
  verdict
}

@test "state files of garbage: shard and cat refuse them (65) and leave them as they were" {
  for n in empty garbage json_array json_wrong json_trunc deep huge_numbers; do
    mkdir -p out && cp "$C/state/$n" out/st
    hostile 65 out trainbox shard -q -o out --state out/st "$C/good.jsonl"; expect_msg "not a shard state"
    cmp -s out/st "$C/state/$n" || BAD+=("shard changed the state $n")
    [ -z "$(find out -name '*.tar')" ] || BAD+=("shard wrote a shard with the state $n")
    rm -rf out; mkdir -p out && cp "$C/state/$n" out/st
    hostile 65 out trainbox cat -q --state out/st "$C/good.jsonl"; expect_msg "out/st"
    cmp -s out/st "$C/state/$n" || BAD+=("cat changed the state $n")
    [ -z "$output" ] || BAD+=("cat printed samples with the state $n")
    rm -rf out
  done
  verdict
}

# a source tree of things that are not regular files: a fifo (a reader opening it would hang), a
# symlink loop, a dangling link, links to outside the tree, names with a newline and invalid UTF-8
hostile_tree() {
  mkdir -p tree/src/d outside
  echo secret >outside/s
  mkfifo tree/src/fifo
  ln -s ../../../outside tree/src/d/out
  ln -s loop tree/src/loop
  ln -s nowhere tree/src/dangling
  ln -s ../../outside/s tree/src/flink
  printf x >"tree/src/nl
name"
  for i in 0 1 2 3 4 5 6 7 8 9; do head -c 2000 /dev/urandom >"tree/src/d/shard-00000$i.tar"; done
}

@test "discover and sync over fifos, symlink loops and links out of the tree: no hang, nothing followed" {
  hostile_tree
  hostile 0 - timeout 30 trainbox discover tree/src
  [[ "$output" == *'"count":10'* ]] || BAD+=("discover: $output")
  hostile 0 - timeout 30 trainbox discover --objects tree/src
  [[ "$output" != *outside* && "$output" != *fifo* ]] || BAD+=("discover --objects listed a link or fifo: $output")
  [ "$(printf '%s\n' "$output" | jq -r .uri | grep -c .)" -eq 12 ] || BAD+=("discover --objects output is not JSON lines: $output")
  run --separate-stderr timeout 30 trainbox sync -q tree/src tree/dst
  [ "$status" -eq 0 ] || BAD+=("sync: exit $status: $stderr")
  [ -z "$(grep -rl secret tree/dst 2>/dev/null)" ] || BAD+=("sync followed a link out of the tree")
  [ ! -e tree/dst/fifo ] && [ ! -e tree/dst/loop ] && [ ! -L tree/dst/flink ] || BAD+=("sync copied a fifo or link: $(ls -la tree/dst)")
  [ "$(find tree/dst -type f -printf x | wc -c)" -eq 11 ] || BAD+=("sync: $(find tree/dst)")
  verdict
}

@test "discover and sync print a name that is not UTF-8 as valid JSON" {
  skip "known: discover --objects and sync print the raw byte 0xff of a file name inside their JSON strings, so the line is not valid JSON (jq refuses it) (lib/discover.c, cmd/sync.c)"
  mkdir -p src && printf y >$'src/bad\xffname'
  run trainbox discover --objects src
  jq -e . <<<"$output"
  run trainbox sync -q src dst
  jq -e . <<<"$output"
}
