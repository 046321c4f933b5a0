#!/usr/bin/env bats
# DESIGN.md's exit-code table, walked for every built command: one table of (command, condition, who
# runs it, command line, expected code), run against local files and a moto S3 server, and each man
# page's EXIT STATUS checked to list every code its rows expect.
load helper

# command | condition | as | command line (run in $W; {R} = a fast --retries option) | code
#   as: -       as the test user
#       nobody  as an unprivileged user (root ignores file permissions; tests and CI run as root)
#       auth    with moto's signature checking on and a wrong secret
#       rofs    as the test user, rofs/ being a read-only tmpfs (EROFS; skipped where mount is refused)
# Conditions that cannot happen for a command have no row (presign makes no request, so it never
# meets a missing bucket, a wrong secret or a closed port).
TABLE='
cat      | missing input                 | -      | trainbox cat nope.jsonl                                      | 66
cat      | unreadable input              | nobody | trainbox cat secret.jsonl                                    | 77
cat      | missing source object         | -      | trainbox cat s3://tb-exit/x.jsonl                            | 66
cat      | an empty bucket prefix        | -      | trainbox cat s3://tb-exit/none/                              | 66
cat      | an hf:// URI without ORG/NAME | -      | trainbox cat hf://datasets/o                                 | 64
cat      | the Hub unreachable           | -      | HF_ENDPOINT=http://127.0.0.1:$CLOSED trainbox cat {R} hf://datasets/o/n/x.jsonl | 69
cat      | a rank with no file           | -      | trainbox cat --rank 3 --world-size 4 bad.jsonl               | 65
cat      | a state for other inputs      | -      | trainbox cat --state cat.state secret.jsonl                  | 65
cat      | wrong credentials             | auth   | trainbox cat s3://tb-exit/x.jsonl                            | 77
cat      | unreachable endpoint          | -      | trainbox cat {R} --endpoint http://127.0.0.1:$CLOSED s3://tb-exit/x.jsonl | 69
cat      | bad data                      | -      | trainbox cat bad.jsonl                                       | 65
cat      | usage error                   | -      | trainbox cat --bogus x                                       | 64
split    | missing input                 | -      | trainbox split --ratio a=1 -o o/split1 nope.jsonl            | 66
split    | unreadable input              | nobody | trainbox split --ratio a=1 secret.jsonl                      | 77
split    | read-only output directory    | nobody | trainbox split --ratio a=1 -o ro good.jsonl                  | 77
split    | output under a read-only dir  | nobody | trainbox split --ratio a=1 -o ro/sub good.jsonl              | 77
split    | read-only file system         | rofs   | trainbox split --ratio a=1 -o rofs good.jsonl                | 77
split    | output dir cannot be created  | -      | trainbox split --ratio a=1 -o afile/sub good.jsonl           | 73
split    | bad data                      | -      | trainbox split --ratio a=1 -o o/split2 bad.jsonl             | 65
split    | usage error                   | -      | trainbox split --bogus                                       | 64
shard    | missing input                 | -      | trainbox shard -o o/shard1 nope.jsonl                        | 66
shard    | unreadable input              | nobody | trainbox shard -o rw/shard2 secret.jsonl                     | 77
shard    | read-only output directory    | nobody | trainbox shard -o ro good.jsonl                              | 77
shard    | output under a read-only dir  | nobody | trainbox shard -o ro/sub good.jsonl                          | 77
shard    | read-only file system         | rofs   | trainbox shard -o rofs/sub good.jsonl                        | 77
shard    | output dir cannot be created  | -      | trainbox shard -o afile/sub good.jsonl                       | 73
shard    | bad data                      | -      | trainbox shard -o o/shard3 bad.jsonl                         | 65
shard    | usage error                   | -      | trainbox shard good.jsonl                                    | 64
upload   | missing input                 | -      | trainbox upload o/up1/ -- nope.jsonl                         | 66
upload   | unreadable input              | nobody | trainbox upload rw/up2/ -- secret.jsonl                      | 77
upload   | read-only output directory    | nobody | trainbox upload ro/ -- good.jsonl                            | 77
upload   | read-only file system         | rofs   | trainbox upload rofs/ -- good.jsonl                          | 77
upload   | output dir cannot be created  | -      | trainbox upload afile/sub/ -- good.jsonl                     | 73
upload   | missing destination bucket    | -      | trainbox upload s3://tb-no-such-bucket/p/ -- good.jsonl      | 73
upload   | missing bucket, multipart     | -      | trainbox upload --multipart-threshold 1 --part-size 1 s3://tb-no-such-bucket/p/ -- good.jsonl | 73
upload   | wrong credentials             | auth   | trainbox upload s3://tb-exit/p/ -- good.jsonl                | 77
upload   | unreachable endpoint          | -      | trainbox upload {R} --endpoint http://127.0.0.1:$CLOSED s3://tb-exit/p/ -- good.jsonl | 69
upload   | bad data                      | -      | trainbox upload o/up3/ < badrec.jsonl                        | 65
upload   | usage error                   | -      | trainbox upload                                              | 64
manifest | missing input                 | -      | trainbox manifest nope.jsonl                                 | 66
manifest | unreadable input              | nobody | trainbox manifest secret.jsonl                               | 77
manifest | read-only output directory    | nobody | trainbox manifest -o ro/m.json rec.jsonl                     | 77
manifest | read-only file system         | rofs   | trainbox manifest -o rofs/m.json rec.jsonl                   | 77
manifest | output dir cannot be created  | -      | trainbox manifest -o afile/sub/m.json rec.jsonl              | 73
manifest | missing destination bucket    | -      | trainbox manifest -o s3://tb-no-such-bucket/m.json urirec.jsonl | 73
manifest | missing source bucket         | -      | trainbox manifest verify s3://tb-no-such-bucket/m.json       | 66
manifest | missing source object         | -      | trainbox manifest verify s3://tb-exit/none.json              | 66
manifest | wrong credentials             | auth   | trainbox manifest verify s3://tb-exit/none.json              | 77
manifest | unreachable endpoint          | -      | AWS_ENDPOINT_URL=http://127.0.0.1:$CLOSED trainbox manifest {R} verify s3://tb-exit/m.json | 69
manifest | bad data                      | -      | trainbox manifest bad.jsonl                                  | 65
manifest | usage error                   | -      | trainbox manifest --deep rec.jsonl                           | 64
discover | missing input                 | -      | trainbox discover nope                                       | 66
discover | unreadable input              | nobody | trainbox discover locked                                     | 77
discover | missing source bucket         | -      | trainbox discover s3://tb-no-such-bucket                     | 66
discover | wrong credentials             | auth   | trainbox discover s3://tb-exit                               | 77
discover | unreachable endpoint          | -      | AWS_ENDPOINT_URL=http://127.0.0.1:$CLOSED trainbox discover {R} s3://tb-exit | 69
discover | usage error                   | -      | trainbox discover                                            | 64
sync     | missing source                | -      | trainbox sync nope o/sy1                                     | 66
sync     | unreadable input              | nobody | trainbox sync locked rw/sy2                                  | 77
sync     | read-only output directory    | nobody | trainbox sync locked2 ro                                     | 77
sync     | read-only file system         | rofs   | trainbox sync locked2 rofs                                   | 77
sync     | output dir cannot be created  | -      | trainbox sync locked2 afile/sub                              | 73
sync     | missing destination bucket    | -      | trainbox sync locked2 s3://tb-no-such-bucket/p/              | 73
sync     | missing source bucket         | -      | trainbox sync s3://tb-no-such-bucket/p/ o/sy3                | 66
sync     | wrong credentials             | auth   | trainbox sync locked2 s3://tb-exit/sy/                       | 77
sync     | unreachable endpoint          | -      | trainbox sync {R} --endpoint http://127.0.0.1:$CLOSED locked2 s3://tb-exit/sy/ | 69
sync     | empty source with --delete    | -      | trainbox sync locked2 s3://tb-exit/sy2/ >/dev/null && trainbox sync --delete emptydir s3://tb-exit/sy2/ | 66
sync     | usage error                   | -      | trainbox sync onlyone                                        | 64
presign  | no credentials                | -      | env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY trainbox presign s3://tb-exit/k | 77
presign  | usage error                   | -      | trainbox presign                                             | 64
vast     | usage error                   | -      | trainbox vast --bogus                                        | 64
vast     | an unknown action             | -      | trainbox vast frob                                           | 64
vast     | no API key                    | -      | HOME=$W/emptydir trainbox vast list                          | 77
vast     | the API unreachable           | -      | VAST_API_KEY=k VAST_URL=http://127.0.0.1:$CLOSED trainbox vast list {R} | 69
vast     | a missing start script        | -      | VAST_API_KEY=k trainbox vast launch --offer 1 --image i --disk 1 --onstart nope.sh | 66
job      | usage error                   | -      | trainbox job --bogus                                         | 64
job      | an unknown kind               | -      | trainbox job frob                                            | 64
job      | an option of another kind     | -      | trainbox job slurm --ranks 2 --run x --nodes 2               | 64
job      | standard output unwritable    | -      | trainbox job slurm --ranks 2 --run x > /dev/full             | 74
'

# Every code of DESIGN.md's table: trainbox(1) lists them all.
ALL_CODES="0 1 2 64 65 66 69 70 73 74 75 77"

setup_file() {
  start_moto --auth
  moto_auth off
  mb tb-exit
  # a world-traversable tree (bats' temp dirs are private to root), with the binary copied in, so
  # the unprivileged rows can run it whatever the checkout's permissions
  W=$(mktemp -d /tmp/tb-exitcodes.XXXXXX)
  chmod 755 "$W"
  mkdir -p "$W/bin" "$W/o" "$W/ro" "$W/rw" "$W/locked/x" "$W/rofs"
  ROFS=0
  mount -t tmpfs -o ro,size=1m tmpfs "$W/rofs" 2>/dev/null && ROFS=1
  cp "$(command -v trainbox)" "$W/bin/trainbox"
  cd "$W"
  printf '{"__key__":"a","txt":"x"}\n' > good.jsonl
  printf '{"__key__":"a","txt":"x"}\n{"__key__":"b",\n' > bad.jsonl
  cp good.jsonl secret.jsonl; chmod 000 secret.jsonl
  printf '{"version":1,"command":"cat","list":"%064d","inputs":1,"input":0,"offset":0,"samples":0,"seen":0,"emitted":0}\n' 0 > cat.state
  touch afile locked/x/y-000.tar
  mkdir -p locked2 emptydir; cp good.jsonl locked2/   # locked2: a readable source tree
  chmod 555 ro; chmod 1777 rw; chmod 700 locked
  printf '{"path":"good.jsonl","bytes":%d}\n' "$(stat -c %s good.jsonl)" > rec.jsonl
  printf '{"uri":"s3://tb-exit/good.jsonl","bytes":%d}\n' "$(stat -c %s good.jsonl)" > urirec.jsonl
  trailer 1 >> rec.jsonl; trailer 1 >> urirec.jsonl   # complete record streams
  printf '{"path":"good.jsonl","sha256":"%064d"}\n' 0 > badrec.jsonl
  CLOSED=$(free_port)   # nothing listens there
  export W CLOSED ROFS
}

teardown_file() {
  stop_moto
  [ "${ROFS:-0}" = 1 ] && umount "$W/rofs"
  [ -n "${W:-}" ] && rm -rf "$W"
}

# fast_retries CMD: the option that makes CMD give up on an unreachable store after one attempt, or
# nothing when CMD has no --retries (yet: the shared store options add it to every store command).
fast_retries() {
  trainbox "$1" --help | grep -q -- '--retries' && echo "--retries 1"
}

# run_rows CMD: every row of CMD; all rows run, then each wrong code is reported with its row.
run_rows() {
  local want=$1 bad=0 n=0 cmd cond as line code out rc r
  cd "$W"
  export AWS_ENDPOINT_URL="$MOTO_URL"   # helper.bash unsets it for every test
  while IFS='|' read -r cmd cond as line code; do
    cmd=$(echo $cmd); [ "$cmd" = "$want" ] || continue
    cond=$(echo $cond); as=$(echo $as); code=$(echo $code); line=$(echo "$line" | sed 's/^ *//; s/ *$//')
    if [[ "$line" == *"{R}"* ]]; then
      r=$(fast_retries "$cmd" || true)
      if [ -z "$r" ]; then echo "# $cmd: $cond: skipped: $cmd has no --retries yet" >&3; continue; fi
      line=${line//\{R\}/$r}
    fi
    if [ "$as" = rofs ] && [ "$ROFS" != 1 ]; then echo "# $cmd: $cond: skipped: cannot mount a read-only tmpfs here" >&3; continue; fi
    n=$((n + 1)); rc=0
    case $as in
      nobody)
        if [ "$(id -u)" = 0 ]; then
          out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups env PATH="$W/bin:$PATH" HOME="$W" bash -c "$line" 2>&1 </dev/null) || rc=$?
        else
          out=$(bash -c "$line" 2>&1 </dev/null) || rc=$?
        fi ;;
      auth)
        moto_auth on
        out=$(AWS_SECRET_ACCESS_KEY=wrong-secret bash -c "$line" 2>&1 </dev/null) || rc=$?
        moto_auth off ;;
      *)
        out=$(bash -c "$line" 2>&1 </dev/null) || rc=$? ;;
    esac
    if [ "$rc" != "$code" ]; then
      echo "$cmd: $cond: expected $code, got $rc: $line"; echo "  $out" | head -3; bad=1
    elif [ "$rc" != 0 ] && ! grep -q "^trainbox" <<<"$out"; then
      echo "$cmd: $cond: exit $rc without a 'trainbox ...' message: $out"; bad=1
    fi
  done <<<"$TABLE"
  [ "$n" -gt 0 ] || { echo "no rows for $want"; return 1; }
  return $bad
}

@test "exit codes: cat" { run_rows cat; }
@test "exit codes: split" { run_rows split; }
@test "exit codes: shard" { run_rows shard; }
@test "exit codes: upload" { run_rows upload; }
@test "exit codes: manifest" { run_rows manifest; }
@test "exit codes: discover" { run_rows discover; }
@test "exit codes: presign" { run_rows presign; }
@test "exit codes: sync" { run_rows sync; }
@test "exit codes: vast" { run_rows vast; }
@test "exit codes: job" { run_rows job; }

# the codes listed under EXIT STATUS in a man page
man_codes() {
  awk '/^\.SH "?EXIT STATUS/{p=1; next} /^\.SH/{p=0} p && prev ~ /^\.TP/ && /^\.B [0-9]+$/ {print $2} {prev=$0}' "$1"
}

@test "every man page's EXIT STATUS lists every code its rows expect; trainbox(1) and --help the whole table" {
  local bad=0
  for c in $(awk -F'|' 'NF>=5 {gsub(/ /,"",$1); print $1}' <<<"$TABLE" | sort -u); do
    have=" $(man_codes "$REPO/man/trainbox-$c.1" | tr '\n' ' ')"
    for code in $(awk -F'|' -v c="$c" '{gsub(/ /,"",$1); gsub(/ /,"",$5)} $1==c {print $5}' <<<"$TABLE" | sort -u); do
      [[ "$have" == *" $code "* ]] || { echo "trainbox-$c.1 EXIT STATUS lacks $code (has:$have)"; bad=1; }
    done
  done
  have=" $(man_codes "$REPO/man/trainbox.1" | tr '\n' ' ')"
  for code in $ALL_CODES; do
    [[ "$have" == *" $code "* ]] || { echo "trainbox.1 EXIT STATUS lacks $code"; bad=1; }
  done
  help=$(trainbox --help)
  for code in $ALL_CODES; do
    [ "$code" = 2 ] && continue   # reserved, no command returns it yet
    grep -Eq "(^|[ ,:])$code [A-Za-z]" <<<"$help" || { echo "trainbox --help does not name exit code $code"; bad=1; }
  done
  [ $bad = 0 ]
}
