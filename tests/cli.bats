#!/usr/bin/env bats
# The multi-call binary as a whole: dispatch, help, version, exit codes, and the promise that help,
# man pages and completions list exactly the commands and options of the code's tables.
load helper

@test "no arguments prints usage on stderr and exits 64" {
  run --separate-stderr trainbox
  assert_failure 64
  [[ "$stderr" == *"Usage: trainbox COMMAND"* ]]
}

@test "--help lists every command and exits 0" {
  run trainbox --help
  assert_success
  for c in $(trainbox --list-commands); do assert_output --partial "  $c "; done
}

@test "--version prints the version" {
  run trainbox --version
  assert_success
  assert_output --regexp '^trainbox [0-9a-z.-]+'
}

@test "unknown command exits 64 with one line naming it and a hint" {
  run --separate-stderr trainbox frobnicate
  assert_failure 64
  [[ "${stderr_lines[0]}" == "trainbox: unknown command 'frobnicate'" ]]
  [[ "$stderr" == *"trainbox --help"* ]]
}

@test "unknown top-level option exits 64" {
  run --separate-stderr trainbox --frob
  assert_failure 64
  [[ "$stderr" == *"unknown option '--frob'"* ]]
}

@test "unknown subcommand option exits 64 naming it, with the hint" {
  for c in $(trainbox --list-commands); do
    trainbox help "$c" | grep -q 'not built yet' && continue
    run --separate-stderr trainbox "$c" --no-such-option
    assert_failure 64
    [[ "$stderr" == *"unknown option '--no-such-option'"* ]]
    [[ "$stderr" == *"try 'trainbox $c --help'"* ]]
  done
}

@test "commands not built yet say so and exit 69; their help exits 0" {
  for c in $(trainbox --list-commands); do
    trainbox help "$c" | grep -q 'not built yet' || continue
    run --separate-stderr trainbox "$c" x
    assert_failure 69
    [[ "$stderr" == *"not built yet"* ]]
    run trainbox "$c" --help
    assert_success
  done
}

@test "trainbox help NAME, trainbox NAME --help and trainbox-NAME --help agree" {
  ln -s "$(command -v trainbox)" "$BATS_TEST_TMPDIR/trainbox-split"
  a=$(trainbox help split); b=$(trainbox split --help); c=$("$BATS_TEST_TMPDIR/trainbox-split" --help)
  [ "$a" = "$b" ]; [ "$b" = "$c" ]
  [[ "$a" == *"Usage: trainbox split"* ]]
}

@test "a symlink named after a command in a private bin dir dispatches" {
  mkdir -p "$BATS_TEST_TMPDIR/bin"
  ln -s "$(command -v trainbox)" "$BATS_TEST_TMPDIR/bin/split"
  run bash -c "printf 'a\nb\nc\nd\n' | '$BATS_TEST_TMPDIR/bin/split' --rank 1 --world-size 2"
  assert_success
  assert_output $'b\nd'
}

@test "help unknown command exits 64" {
  run trainbox help nope
  assert_failure 64
}

# One option group, from lib/opts.h: every command takes -q/-v, every command that touches a store
# the store options (and those that make requests --retries/--timeout), with the same help text.
@test "every command lists -q and -v; every store command lists the store option group" {
  for c in $(trainbox --list-commands); do
    trainbox help "$c" | grep -q 'not built yet' && continue
    h=$(trainbox "$c" --help)
    [[ "$h" == *"-q, --quiet "* && "$h" == *"-v, --verbose "* ]] || fail "$c --help lacks -q/-v"
  done
  for c in upload manifest discover presign; do
    h=$(trainbox "$c" --help)
    for o in endpoint region profile; do
      [ "$(grep -c -- "--$o " <<<"$h")" = 1 ] || fail "$c --help lacks --$o"
      [ "$(grep -- "--$o " <<<"$h")" = "$(trainbox upload --help | grep -- "--$o ")" ] || fail "$c --$o differs from upload's"
    done
  done
  for c in upload manifest discover; do
    h=$(trainbox "$c" --help)
    [[ "$h" == *"--retries N "* && "$h" == *"--timeout SECONDS "* ]] || fail "$c --help lacks --retries/--timeout"
  done
  grep -q '^\.SH STORE OPTIONS' "$REPO/man/trainbox.1" || fail "trainbox.1 lacks STORE OPTIONS"
  for c in upload manifest discover presign; do
    grep -q 'STORE OPTIONS' "$REPO/man/trainbox-$c.1" || fail "trainbox-$c.1 does not refer to STORE OPTIONS"
  done
}

@test "-q silences warnings and progress, not errors" {
  cd "$BATS_TEST_TMPDIR"
  printf '{"__key__":"a","txt":"x"}\n{not json\n' > in.jsonl
  run --separate-stderr trainbox split --ratio a=1 -o sp1 --skip-invalid --progress=json in.jsonl
  assert_success
  [[ "$stderr" == *"skipped"* ]]
  run --separate-stderr trainbox split --ratio a=1 -o sp2 -q --skip-invalid --progress=json in.jsonl
  assert_success
  [ -z "$stderr" ] || fail "split -q printed: $stderr"
  assert_equal "$(cat sp2/a.jsonl)" '{"__key__":"a","txt":"x"}'
  run --separate-stderr trainbox shard -q --skip-invalid --progress=json -o out in.jsonl
  assert_success
  [ -z "$stderr" ] || fail "shard -q printed: $stderr"
  run --separate-stderr trainbox shard --skip-invalid --progress=json -o out2 in.jsonl
  [[ "$stderr" == *"skipped"* ]]
  echo "not a tar" > bad.tar
  run --separate-stderr trainbox cat -q --skip-corrupt bad.tar out/shard-000000.tar
  assert_success
  [ -z "$stderr" ] || fail "cat -q printed: $stderr"
  run --separate-stderr trainbox cat -q bad.tar
  assert_failure 65
  [[ "$stderr" == "trainbox cat: "* ]]
}

# Every built command's --help options match its man page's OPTIONS section, both ways, and its
# SYNOPSIS names the command (the idea of git's t0450 and curl's test1139).
@test "man pages exist for every command and match the option tables" {
  [ -f "$REPO/man/trainbox.1" ]
  for c in $(trainbox --list-commands); do
    [ -f "$REPO/man/trainbox-$c.1" ] || trainbox help "$c" | grep -q 'not built yet' || fail "no man page for $c"
    [ -f "$REPO/man/trainbox-$c.1" ] || continue
    # a draft page of a command not built yet has no option table to match
    trainbox help "$c" | grep -q 'not built yet' && continue
    grep -q "^trainbox $c\|^\\\\fBtrainbox $c\|^\\.B trainbox $c" "$REPO/man/trainbox-$c.1" || fail "SYNOPSIS of $c does not name it"
    opts_section=$(awk '/^\.SH OPTIONS/{f=1;next} /^\.SH /{f=0} f' "$REPO/man/trainbox-$c.1")
    in_man=$(grep -o '\\-\\-[a-z0-9]*\(\\-[a-z0-9]*\)*' <<<"$opts_section" | sed 's/\\//g' | sort -u)
    in_code=$(trainbox --list-options "$c" | grep -- '^--' | sort -u)
    [ "$in_man" = "$(printf '%s\n--help' "$in_code" | sort -u)" ] || [ "$in_man" = "$in_code" ] || \
      fail "$c: man OPTIONS differ from code: $(diff <(echo "$in_code") <(echo "$in_man"))"
    grep -q '^\.SH EXIT STATUS' "$REPO/man/trainbox-$c.1" || fail "$c man page lacks EXIT STATUS"
  done
  # the top page lists every command
  for c in $(trainbox --list-commands); do grep -qF "trainbox\\-$c" "$REPO/man/trainbox.1" || fail "trainbox.1 lacks $c"; done
}

@test "man pages render without warnings" {
  command -v man >/dev/null || skip "man not installed"
  for f in "$REPO"/man/*.1; do
    run bash -c "MANWIDTH=80 man --warnings -l '$f' 2>&1 >/dev/null"
    assert_output ''
  done
}

# The EXAMPLES of each man page are run (as jq does): lines "$ cmd" inside .EX/.EE blocks run in a
# scratch directory holding the repo's data/; a block preceded by '.\" norun' is skipped (remote stores).
@test "man page EXAMPLES run" {
  for f in "$REPO"/man/trainbox-*.1; do
    d="$BATS_TEST_TMPDIR/ex-$(basename "$f")"; mkdir -p "$d"; ln -s "$REPO/data" "$d/data"
    awk '/^\.\\" norun/{skip=1} /^\.EX/{inex=1; next} /^\.EE/{inex=0; skip=0; next} inex && !skip && /^\$ /{sub(/^\$ /,""); gsub(/\\-/,"-"); gsub(/\\e/,"\\\\"); print}' "$f" > "$d/examples.sh"
    [ -s "$d/examples.sh" ] || continue
    run bash -c "cd '$d' && set -e -o pipefail && . ./examples.sh"
    [ "$status" -eq 0 ] || fail "$(basename "$f") EXAMPLES failed: $output"
  done
}

# completions/ is checked in (installed by make install, read by packagers); it must be what the
# binary's tables generate, as curl and git keep theirs honest.
@test "the checked-in completions are what the binary generates (else: make completions)" {
  for f in bash:trainbox.bash zsh:_trainbox fish:trainbox.fish; do
    sh=${f%%:*} file=$REPO/completions/${f#*:}
    [ -f "$file" ] || fail "completions/${f#*:} is missing: run 'make completions' and commit it"
    d=$(diff <(trainbox --completion "$sh") "$file") ||
      fail "completions/${f#*:} differs from 'trainbox --completion $sh': run 'make completions' and commit it
$d"
  done
}

@test "bash completion offers every command and each command's options" {
  source "$REPO/completions/trainbox.bash"
  COMP_WORDS=(trainbox ""); COMP_CWORD=1; _trainbox
  for c in $(trainbox --list-commands); do [[ " ${COMPREPLY[*]} " == *" $c "* ]] || fail "completion lacks $c"; done
  for c in $(trainbox --list-commands); do
    COMP_WORDS=(trainbox "$c" "-"); COMP_CWORD=2; _trainbox
    for o in $(trainbox --list-options "$c"); do [[ " ${COMPREPLY[*]} " == *" $o "* ]] || fail "completion of $c lacks $o"; done
  done
}

@test "zsh and fish completions name every command and option" {
  for c in $(trainbox --list-commands); do
    grep -q "'$c:" "$REPO/completions/_trainbox" || fail "zsh lacks $c"
    grep -q -- "-a $c " "$REPO/completions/trainbox.fish" || fail "fish lacks $c"
    for o in $(trainbox --list-options "$c" | grep -- '^--'); do
      grep -q -- "'$o" "$REPO/completions/_trainbox" || fail "zsh lacks $c $o"
      grep -q -- "from $c' -l ${o#--}" "$REPO/completions/trainbox.fish" || fail "fish lacks $c $o"
    done
  done
  if command -v fish >/dev/null; then fish -n "$REPO/completions/trainbox.fish"; fi
  if command -v zsh >/dev/null; then zsh -n "$REPO/completions/_trainbox"; fi
  bash -n "$REPO/completions/trainbox.bash"
}

@test "make install puts binary, symlinks, man pages and completions in place; symlinks dispatch" {
  dest="$BATS_TEST_TMPDIR/dest"
  run make -C "$REPO" -s install PREFIX=/usr DESTDIR="$dest"
  assert_success
  assert_file_executable "$dest/usr/bin/trainbox"
  for c in $(trainbox --list-commands); do
    assert_link_exists "$dest/usr/libexec/trainbox/trainbox-$c"
    [ -f "$REPO/man/trainbox-$c.1" ] && assert_file_exists "$dest/usr/share/man/man1/trainbox-$c.1"
  done
  assert_file_exists "$dest/usr/share/man/man1/trainbox.1"
  assert_file_exists "$dest/usr/share/bash-completion/completions/trainbox"
  assert_file_exists "$dest/usr/share/zsh/site-functions/_trainbox"
  assert_file_exists "$dest/usr/share/fish/vendor_completions.d/trainbox.fish"
  # from the checked-in completions/
  cmp "$REPO/completions/trainbox.bash" "$dest/usr/share/bash-completion/completions/trainbox"
  cmp "$REPO/completions/_trainbox" "$dest/usr/share/zsh/site-functions/_trainbox"
  cmp "$REPO/completions/trainbox.fish" "$dest/usr/share/fish/vendor_completions.d/trainbox.fish"
  run "$dest/usr/libexec/trainbox/trainbox-split" --help
  assert_success
  assert_output --partial "Usage: trainbox split"
}

@test "make demo runs the whole data path with no account and verifies it" {
  run make -s -C "$REPO" demo
  assert_success
  assert_output --partial "all 7 shards ok (sizes and sha256)"
  assert_output --partial '"__key__":"sample'
}

@test "the binary starts without libcurl, libarchive and libcrypto; commands that need them load them on first use" {
  # their ~45 libraries cost ~8 ms at every start (lib/lazy_curl.c, lib/lazy_archive.c); libcrypto's
  # start-up alone cost more than a millisecond (lib/lazy_crypto.c)
  cd "$BATS_TEST_TMPDIR"
  run ldd "$(command -v trainbox)"
  assert_success
  refute_output --partial libcurl
  refute_output --partial libarchive
  refute_output --partial libcrypto
  # libcrypto: a shard's record carries the sha256 and md5 of its bytes
  printf '{"__key__":"a","txt":"x"}\n' | trainbox shard -o sums > recs.jsonl
  head -1 recs.jsonl > rec.json   # (the second line is the stream's trailer)
  f=$(jq -r .path rec.json)
  assert_equal "$(jq -r .sha256 rec.json)" "$(sha256sum "$f" | cut -d' ' -f1)"
  assert_equal "$(jq -r .md5 rec.json)" "$(md5sum "$f" | cut -d' ' -f1)"
  # and the commands that need them get them: curl's own message for a refused connection
  echo hi > f.txt
  AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=x run trainbox upload --endpoint http://127.0.0.1:1 --retries 1 s3://b/ -- f.txt
  assert_failure 69
  assert_output --partial "Couldn't connect to server"
  # libarchive: a gzip shard written and read back, and its error text for a file that is no tar
  printf '{"__key__":"a","txt":"x"}\n' | trainbox shard -o out --compress gzip > /dev/null
  run trainbox cat out/shard-000000.tar.gz
  assert_success
  assert_output '{"__key__":"a","txt":"x"}'
  echo "not a tar" > bad.tar
  run trainbox cat bad.tar
  assert_failure 65
  assert_output --partial "Unrecognized archive format"
}

@test "--max-line is one shared option: every NDJSON reader takes it, checks it the same way, and honours it" {
  cd "$BATS_TEST_TMPDIR"
  for c in split shard upload manifest cat; do
    trainbox $c --help | grep -q -- '--max-line SIZE' || fail "$c --help lacks --max-line"
    run --separate-stderr trainbox $c --max-line 0 x
    [ "$status" -eq 64 ] || fail "$c --max-line 0: status $status"
    [[ "$stderr" == *"option '--max-line' wants a size from 1 byte to 1TiB"* ]] || fail "$c: $stderr"
  done
  grep -q '^\.SH COMMON OPTIONS' "$REPO/man/trainbox.1"
  printf '{"__key__":"a","txt":"%s"}\n' "$(head -c 300 /dev/zero | tr '\0' x)" > long.jsonl
  run --separate-stderr trainbox cat --max-line 100 long.jsonl
  [ "$status" -eq 65 ]; [[ "$stderr" == *"line 1 is longer than --max-line (100 bytes)"* ]]
  run --separate-stderr trainbox shard -o out --max-line 100 long.jsonl
  [ "$status" -eq 65 ]; [[ "$stderr" == *"line 1 is longer than --max-line (100 bytes)"* ]]
  printf '{"path":"%s"}\n' "$(head -c 300 /dev/zero | tr '\0' x)" > recs.jsonl
  run --separate-stderr trainbox manifest --max-line 100 recs.jsonl
  [ "$status" -eq 65 ]; [[ "$stderr" == *"longer than --max-line"* ]]
  run --separate-stderr bash -c "trainbox upload --max-line 100 file://$BATS_TEST_TMPDIR/st/ < recs.jsonl"
  [ "$status" -eq 65 ]; [[ "$stderr" == *"longer than --max-line"* ]]
}
