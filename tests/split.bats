#!/usr/bin/env bats
# trainbox split: ratio splits, rank partitions, shuffles, filters, bad input.
load helper

setup() {
  cd "$BATS_TEST_TMPDIR"
  gen_samples 2000 5 --text-bytes=20 > in.jsonl
}

@test "ratio split to -o writes every split atomically; the union is the input" {
  run trainbox split --ratio train=80,val=10,test=10 -o out in.jsonl
  assert_success
  assert_output ''
  for s in train val test; do assert_file_exists "out/$s.jsonl"; done
  [ "$(ls out | wc -l)" -eq 3 ]       # no temp files left
  diff <(sort in.jsonl) <(cat out/*.jsonl | sort)
  n=$(wc -l < out/train.jsonl); [ "$n" -gt 1500 ] && [ "$n" -lt 1700 ]
}

@test "the same key lands in the same split whatever the input order" {
  trainbox split --ratio a=1,b=1,c=1 -o one in.jsonl
  tac in.jsonl > rev.jsonl
  trainbox split --ratio a=1,b=1,c=1 -o two rev.jsonl
  for s in a b c; do diff <(sort one/$s.jsonl) <(sort two/$s.jsonl); done
  # and a different seed gives a different assignment
  trainbox split --ratio a=1,b=1,c=1 --seed 9 -o three in.jsonl
  ! diff -q one/a.jsonl three/a.jsonl
}

@test "assignment is pinned: known keys go to known splits (portable across machines and versions)" {
  printf '{"__key__":"sample%08d"}\n' 0 1 2 3 4 5 6 7 8 9 > k.jsonl
  run trainbox split --ratio a=1,b=1 k.jsonl
  assert_success
  # computed once with SipHash-2-4 as documented; any change here breaks users' existing splits
  expected=$(python3 - <<'PY'
import struct
def rotl(x,b): return ((x<<b)|(x>>(64-b))) & (2**64-1)
def sip(key, m):
    k0,k1 = struct.unpack('<QQ', key)
    v0=0x736f6d6570736575^k0; v1=0x646f72616e646f6d^k1; v2=0x6c7967656e657261^k0; v3=0x7465646279746573^k1
    M=2**64-1
    def rnd():
        nonlocal v0,v1,v2,v3
        v0=(v0+v1)&M; v1=rotl(v1,13); v1^=v0; v0=rotl(v0,32)
        v2=(v2+v3)&M; v3=rotl(v3,16); v3^=v2
        v0=(v0+v3)&M; v3=rotl(v3,21); v3^=v0
        v2=(v2+v1)&M; v1=rotl(v1,17); v1^=v2; v2=rotl(v2,32)
    n=len(m); end=n-n%8
    for i in range(0,end,8):
        w=struct.unpack('<Q',m[i:i+8])[0]; v3^=w; rnd(); rnd(); v0^=w
    b=(n&0xff)<<56
    for i,c in enumerate(m[end:]): b|=c<<(8*i)
    v3^=b; rnd(); rnd(); v0^=b; v2^=0xff
    for _ in range(4): rnd()
    return v0^v1^v2^v3
seed = 0 ^ 0x74696c7073
key = struct.pack('<QQ', seed, (~seed) & (2**64-1))
for i in range(10):
    h = sip(key, b'sample%08d' % i)
    x = (h * 2000000) >> 64
    print('{"__key__":"sample%08d","split":"%s"}' % (i, 'a' if x < 1000000 else 'b'))
PY
)
  assert_output "$expected"
}

@test "without -o or --filter each line gets a split field; an existing one is replaced" {
  printf '%s\n' '{"__key__":"x","split":"old","v":1}' '{}' '{"a":{"split":1}, "split" : "z"}' > s.jsonl
  run trainbox split --ratio only=1 s.jsonl
  assert_success
  assert_line --index 0 '{"__key__":"x","v":1,"split":"only"}'
  assert_line --index 1 '{"split":"only"}'
  assert_line --index 2 '{"a":{"split":1},"split":"only"}'
  run bash -c "trainbox split --ratio a=1,b=2 in.jsonl | jq -r .split | sort | uniq -c | wc -l"
  assert_output 2
}

@test "--key FIELD hashes that field; lines lacking it are invalid" {
  printf '{"id":%d,"g":"x"}\n' 1 2 3 4 5 6 7 8 > ids.jsonl
  run trainbox split --ratio a=1,b=1 --key id -o o1 ids.jsonl
  assert_success
  # the same ids with other content split the same way
  printf '{"g":"other","id":%d}\n' 1 2 3 4 5 6 7 8 > ids2.jsonl
  trainbox split --ratio a=1,b=1 --key id -o o2 ids2.jsonl
  diff <(jq -c .id o1/a.jsonl) <(jq -c .id o2/a.jsonl)
  echo '{"nokey":1}' >> ids.jsonl
  run --separate-stderr trainbox split --ratio a=1,b=1 --key id -o o3 ids.jsonl
  assert_failure 65
  [[ "$stderr" == *"line 9 of ids.jsonl: no field \"id\""* ]]
  [ ! -e o3/a.jsonl ]
}

@test "plain lines (file names) split and partition by the whole line" {
  seq -f 'file-%04g.tar' 1 100 > files.txt
  run trainbox split --ratio a=1,b=1 -o fo files.txt
  assert_success
  [ "$(cat fo/*.jsonl | wc -l)" -eq 100 ]
  run bash -c "trainbox split --world-size 4 --rank 3 files.txt | wc -l"
  assert_output 25
}

@test "--filter pipes each split into its own child with SPLIT set, output passed through whole" {
  run trainbox split --ratio train=8,val=1,test=1 --filter 'wc -l | sed "s/^ */$SPLIT /"' in.jsonl
  assert_success
  [ "${#lines[@]}" -eq 3 ]
  total=0
  for l in "${lines[@]}"; do total=$((total + ${l#* })); done
  [ "$total" -eq 2000 ]
  # large volumes through several children: no line is torn or lost
  gen_samples 20000 1 --text-bytes=300 > big.jsonl
  trainbox split --ratio a=1,b=1,c=1 --filter 'cat' big.jsonl > through.jsonl
  diff <(sort big.jsonl) <(sort through.jsonl)
}

@test "--filter child failure is reported with its status" {
  run --separate-stderr trainbox split --ratio a=1,b=1 --filter 'if [ "$SPLIT" = b ]; then cat >/dev/null; exit 3; fi; cat >/dev/null' in.jsonl
  assert_failure 3
  [[ "$stderr" == *"filter for split 'b' exited with status 3"* ]]
}

@test "rank partitions are disjoint and complete, by index and by hash" {
  for by in index hash; do
    for r in 0 1 2 3 4; do trainbox split --world-size 5 --rank $r --by $by in.jsonl > "r$r.$by"; done
    diff <(sort in.jsonl) <(sort r*.$by)
    [ "$(sort r*.$by | uniq -d | wc -l)" -eq 0 ]
  done
  # index mode: line i to rank i mod N, in order
  diff <(awk 'NR % 5 == 2' in.jsonl) r1.index
}

@test "rank and world size come from torchrun, Slurm and Kubernetes environments" {
  a=$(RANK=2 WORLD_SIZE=4 trainbox split in.jsonl | md5sum)
  b=$(trainbox split --rank 2 --world-size 4 in.jsonl | md5sum)
  c=$(SLURM_PROCID=2 SLURM_NTASKS=4 trainbox split in.jsonl | md5sum)
  d=$(JOB_COMPLETION_INDEX=2 trainbox split --world-size 4 in.jsonl | md5sum)
  [ "$a" = "$b" ] && [ "$b" = "$c" ] && [ "$c" = "$d" ]
  # explicit options win over the environment
  e=$(RANK=0 WORLD_SIZE=4 trainbox split --rank 2 in.jsonl | md5sum)
  [ "$e" = "$b" ]
}

@test "ranks from the environment: Slurm arrays by (ID - MIN) / STEP, Indexed Jobs, torchrun, srun; conflicts are 64" {
  b=$(trainbox split --rank 2 --world-size 4 in.jsonl | md5sum)
  # --array=0-30:2 (16 tasks): task 30 is rank 15, not 30; its share is rank 15's
  a=$(SLURM_ARRAY_TASK_ID=30 SLURM_ARRAY_TASK_MIN=0 SLURM_ARRAY_TASK_MAX=30 SLURM_ARRAY_TASK_STEP=2 \
      SLURM_ARRAY_TASK_COUNT=16 SLURM_PROCID=0 SLURM_NTASKS=1 trainbox split in.jsonl | md5sum)
  [ "$a" = "$(trainbox split --rank 15 --world-size 16 in.jsonl | md5sum)" ]
  # every task of 1-7:2 (4 tasks) gets one rank's share; together they are the input, once
  : > union
  for id in 1 3 5 7; do
    SLURM_ARRAY_TASK_ID=$id SLURM_ARRAY_TASK_MIN=1 SLURM_ARRAY_TASK_MAX=7 SLURM_ARRAY_TASK_STEP=2 SLURM_ARRAY_TASK_COUNT=4 \
      trainbox split in.jsonl >> union
  done
  diff <(sort in.jsonl) <(sort union)
  # Kubernetes Indexed Job: the world size from TRAINBOX_WORLD_SIZE
  [ "$(JOB_COMPLETION_INDEX=2 TRAINBOX_WORLD_SIZE=4 trainbox split in.jsonl | md5sum)" = "$b" ]
  # torchrun before the Indexed Job, srun last
  [ "$(RANK=2 WORLD_SIZE=4 JOB_COMPLETION_INDEX=0 TRAINBOX_WORLD_SIZE=9 trainbox split in.jsonl | md5sum)" = "$b" ]
  [ "$(SLURM_PROCID=2 SLURM_NTASKS=4 trainbox split in.jsonl | md5sum)" = "$b" ]
  # -v says where they came from
  run --separate-stderr env JOB_COMPLETION_INDEX=2 TRAINBOX_WORLD_SIZE=4 trainbox split -v in.jsonl
  assert_success
  [[ "$stderr" == *"rank 2 from JOB_COMPLETION_INDEX=2, world size 4 from TRAINBOX_WORLD_SIZE=4"* ]] || fail "$stderr"
  # conflicts: usage errors naming the variables, nothing written
  run --separate-stderr env JOB_COMPLETION_INDEX=2 trainbox split in.jsonl
  assert_failure 64
  assert_output ''
  [[ "$stderr" == *JOB_COMPLETION_INDEX*TRAINBOX_WORLD_SIZE* ]] || fail "$stderr"
  run --separate-stderr env SLURM_ARRAY_TASK_ID=3 SLURM_ARRAY_TASK_MIN=0 SLURM_ARRAY_TASK_STEP=2 SLURM_ARRAY_TASK_COUNT=16 trainbox split in.jsonl
  assert_failure 64
  [[ "$stderr" == *"SLURM_ARRAY_TASK_ID=3 is not on the grid"* ]] || fail "$stderr"
  run --separate-stderr env RANK=4 WORLD_SIZE=4 trainbox split in.jsonl
  assert_failure 64
  [[ "$stderr" == *"rank 4 (RANK=4) is not below world size 4 (WORLD_SIZE=4)"* ]] || fail "$stderr"
  run --separate-stderr env JOB_COMPLETION_INDEX=5 trainbox split --world-size 4 in.jsonl
  assert_failure 64
  [[ "$stderr" == *"JOB_COMPLETION_INDEX=5"*"--world-size"* ]] || fail "$stderr"
  run --separate-stderr env RANK=one WORLD_SIZE=4 trainbox split in.jsonl
  assert_failure 64
  [[ "$stderr" == *"RANK='one'"* ]] || fail "$stderr"
  # a ratio split alone reads no rank variable: a bad one does not matter
  run env RANK=junk trainbox split --ratio a=1,b=1 -o o in.jsonl
  assert_success
}

@test "--sort partitions a list identically whatever its order" {
  seq -f 'shard-%06g.tar' 1 97 > l1
  shuf --random-source=<(yes) l1 > l2
  for r in 0 1 2; do
    diff <(trainbox split --sort --world-size 3 --rank $r l1) <(trainbox split --sort --world-size 3 --rank $r l2)
  done
}

@test "--balance bytes gives ranks near-equal byte totals, deterministically" {
  python3 -c '
import random
r = random.Random(3)
for i in range(200): print("{\"path\": \"s%03d.tar\", \"bytes\": %d}" % (i, r.randint(1, 10**6)))' > recs.jsonl
  for r in 0 1 2 3; do trainbox split --balance bytes --world-size 4 --rank $r recs.jsonl > b$r; done
  diff <(sort recs.jsonl) <(sort b0 b1 b2 b3)
  max=$(jq -s 'map(.bytes)|max' recs.jsonl)
  totals=$(for r in 0 1 2 3; do jq -s 'map(.bytes)|add' b$r; done | sort -n)
  lo=$(head -1 <<<"$totals"); hi=$(tail -1 <<<"$totals")
  [ $((hi - lo)) -le "$max" ]
  run --separate-stderr bash -c 'echo "{\"path\":\"x\",\"bytes\":-3}" | trainbox split --balance bytes --world-size 2'
  assert_failure 65
  [[ "$stderr" == *'"bytes" is not a non-negative integer'* ]]
  run --separate-stderr bash -c 'echo "[1]" | trainbox split --balance bytes --world-size 2'
  assert_failure 65
}

@test "--balance bytes keeps ranks within 5% in bytes on skewed samples (a few 100x larger), by line length" {
  # 3000 samples of about 1 KB, 15 of them about 100 KB; no "bytes" field: a sample weighs its line
  python3 -c '
import json, random
r = random.Random(11)
for i in range(3000):
    n = r.randint(600, 1400) * (100 if i % 200 == 17 else 1)
    print(json.dumps({"__key__": "s%05d" % i, "txt": "x" * n}))' > skew.jsonl
  for w in 4 16; do
    : > union
    totals=$(for r in $(seq 0 $((w - 1))); do
      trainbox split --balance bytes --world-size $w --rank $r skew.jsonl | tee -a union | wc -c
    done | sort -n)
    diff <(sort skew.jsonl) <(sort union)
    lo=$(head -1 <<<"$totals"); hi=$(tail -1 <<<"$totals")
    echo "# $w ranks: $lo to $hi bytes" >&3
    [ $(( (hi - lo) * 100 )) -le $(( hi * 5 )) ] || fail "$w ranks: $lo to $hi bytes, more than 5% apart"
  done
  # a plain index split of the same input is far from balanced: the test can tell
  totals=$(for r in $(seq 0 15); do trainbox split --world-size 16 --rank $r skew.jsonl | wc -c; done | sort -n)
  lo=$(head -1 <<<"$totals"); hi=$(tail -1 <<<"$totals")
  [ $(( (hi - lo) * 100 )) -gt $(( hi * 5 )) ]
}

@test "--require-each fails with the counts when a rank would get nothing, and outputs nothing" {
  printf 'a\nb\n' > two
  run --separate-stderr trainbox split --world-size 3 --rank 0 --require-each two
  assert_failure 65
  assert_output ''
  [[ "$stderr" == *"rank 2 of 3 would get nothing (2 items for 3 ranks)"* ]]
  run trainbox split --world-size 2 --rank 1 --require-each two
  assert_success
  assert_output b
  run --separate-stderr trainbox split --world-size 3 --rank 0 --require-each --sort two
  assert_failure 65
}

@test "--shuffle is deterministic per seed and epoch, differs across epochs, and --skip resumes" {
  a=$(trainbox split --world-size 2 --rank 0 --shuffle --seed 7 --epoch 1 in.jsonl)
  b=$(trainbox split --world-size 2 --rank 0 --shuffle --seed 7 --epoch 1 in.jsonl)
  c=$(trainbox split --world-size 2 --rank 0 --shuffle --seed 7 --epoch 2 in.jsonl)
  [ "$a" = "$b" ]
  [ "$a" != "$c" ]
  # like DistributedSampler: one global permutation, ranks disjoint and complete within an epoch
  o=$(trainbox split --world-size 2 --rank 1 --shuffle --seed 7 --epoch 1 in.jsonl)
  diff <(sort in.jsonl) <(printf '%s\n%s\n' "$a" "$o" | sort) > /dev/null
  d=$(trainbox split --world-size 2 --rank 0 --shuffle --seed 7 --epoch 1 --skip 600 in.jsonl)
  diff <(tail -n +601 <<<"$a") <(echo "$d")
  # shuffle alone, with no ranks
  run bash -c "trainbox split --shuffle in.jsonl | sort | diff - <(sort in.jsonl)"
  assert_success
}

@test "--skip in streaming mode skips the first K of this rank's items" {
  diff <(trainbox split --world-size 4 --rank 1 --skip 10 in.jsonl) <(trainbox split --world-size 4 --rank 1 in.jsonl | tail -n +11)
}

@test "invalid JSON exits 65 naming the line; nothing is written" {
  head -3 in.jsonl > bad.jsonl; echo '{"__key__": "x", ' >> bad.jsonl; tail -3 in.jsonl >> bad.jsonl
  run --separate-stderr trainbox split --ratio a=1,b=1 -o o bad.jsonl
  assert_failure 65
  [[ "$stderr" == "trainbox split: line 4 of bad.jsonl: not valid JSON"* ]]
  [ ! -e o/a.jsonl ] && [ -z "$(ls -A o 2>/dev/null)" ]
}

@test "every input error names the file and the line, on every read path" {
  printf '{"__key__":"a"}\n{"__key__":"b",\n' > bad.jsonl
  python3 -c 'print("{\"__key__\":\"a\"}"); print("{\"x\":\"" + "y"*5000 + "\"}")' > long.jsonl
  # mapped file (classify), the line reader, a pipe, hold mode (--sort), two inputs
  for args in "--ratio a=1 -o o bad.jsonl" "--ratio a=1 bad.jsonl" "--world-size 2 --sort bad.jsonl" \
              "--world-size 2 --by hash in.jsonl bad.jsonl"; do
    run --separate-stderr trainbox split $args
    assert_failure 65
    [[ "$stderr" == "trainbox split: line 2 of bad.jsonl: not valid JSON"* ]] || { echo "$args: $stderr"; false; }
  done
  TRAINBOX_NO_MAP=1 run --separate-stderr trainbox split --ratio a=1 -o o bad.jsonl
  [[ "$stderr" == "trainbox split: line 2 of bad.jsonl: not valid JSON"* ]]
  run --separate-stderr bash -c 'cat bad.jsonl | trainbox split --ratio a=1 -o o'
  [[ "$stderr" == "trainbox split: line 2 of stdin: not valid JSON"* ]]
  run --separate-stderr trainbox split --ratio a=1 --key id bad.jsonl
  [[ "$stderr" == "trainbox split: line 1 of bad.jsonl: no field \"id\" (--key)" ]]
  # index mode (lib/split_linepick), the mapped classifier and the line reader bound lines by --max-line
  for args in "--world-size 2 --rank 0" "--ratio a=1 -o o" "--ratio a=1"; do
    run --separate-stderr trainbox split $args --max-line 1k long.jsonl
    assert_failure 65
    [[ "$stderr" == *"long.jsonl"*"line 2"*"longer than --max-line"* || "$stderr" == *"line 2 of long.jsonl is longer than --max-line"* ]] || { echo "$args: $stderr"; false; }
  done
  run --separate-stderr trainbox split --ratio a=1 --skip-invalid bad.jsonl
  [[ "$stderr" == *"line 2 of bad.jsonl: not valid JSON"*"(skipped)"* ]]
}

@test "--skip-invalid counts, reports and writes rejects" {
  { head -3 in.jsonl; echo '{garbage'; echo '{"a":1,}'; tail -3 in.jsonl; } > bad.jsonl
  run --separate-stderr trainbox split --ratio a=1,b=1 -o o --skip-invalid --rejects rej.jsonl bad.jsonl
  assert_success
  [[ "$stderr" == *"line 4 of bad.jsonl: not valid JSON"*"(skipped)"* ]]
  [[ "$stderr" == *"line 5 of bad.jsonl: not valid JSON (comma before '}'"* ]]
  [[ "$stderr" == *"skipped 2 invalid lines"* ]]
  [ "$(cat o/*.jsonl | wc -l)" -eq 6 ]
  assert_equal "$(cat rej.jsonl)" $'{garbage\n{"a":1,}'
}

@test "the JSON validator agrees with Python's json module on 20,000 mutated lines" {
  # seeded mutations of valid documents (stray separators, broken literals and numbers, control
  # bytes, invalid UTF-8, surrogates); Python decides which lines are JSON objects
  for seed in 1 2 3 4; do
    python3 "$BATS_TEST_DIRNAME/json_diff.py" 5000 all.jsonl bad.jsonl "$seed"
    run --separate-stderr trainbox split --ratio a=1 --skip-invalid --rejects rej.jsonl all.jsonl
    assert_success
    [ "$(wc -l < bad.jsonl)" -gt 1000 ]            # both kinds are well represented
    [ "$(wc -l < all.jsonl)" -gt "$(( $(wc -l < bad.jsonl) + 500 ))" ]
    diff <(sort bad.jsonl) <(sort rej.jsonl)
  done
}

@test "CRLF and empty lines are tolerated; --max-line bounds a line with its number" {
  printf '{"__key__":"a"}\r\n\r\n\n{"__key__":"b"}\r\n' > crlf.jsonl
  run trainbox split --ratio x=1 -o o crlf.jsonl
  assert_success
  assert_equal "$(cat o/x.jsonl)" $'{"__key__":"a"}\n{"__key__":"b"}'
  python3 -c 'print("{\"__key__\":\"a\"}"); print("{\"x\":\"" + "y"*5000 + "\"}")' > long.jsonl
  run --separate-stderr trainbox split --ratio x=1 --max-line 1k long.jsonl
  assert_failure 65
  [[ "$stderr" == *"line 2 is longer than --max-line"* ]]
}

@test "a missing input file exits 66 before anything is written" {
  run --separate-stderr trainbox split --ratio a=1 -o o in.jsonl nope.jsonl
  assert_failure 66
  [[ "$stderr" == *"nope.jsonl"* ]]
  [ ! -e o/a.jsonl ]
}

@test "usage errors exit 64" {
  for args in "--ratio a=0,b=0" "--ratio a" "--ratio a=1,a=1" "--ratio a=x" "" "--world-size 2 --rank 2" \
              "--world-size 0" "--ratio a=1 -o d --filter cat" "-o d --world-size 2" "--by foo --world-size 2" \
              "--rejects r --ratio a=1" "--rank 1"; do
    run --separate-stderr trainbox split $args in.jsonl
    [ "$status" -eq 64 ] || fail "'$args' gave $status: $stderr"
    [[ "$stderr" == *"try 'trainbox split --help'"* ]]
  done
}

@test "--progress=json emits NDJSON progress events on stderr" {
  run --separate-stderr trainbox split --ratio a=1 -o o --progress=json in.jsonl
  assert_success
  last=$(tail -1 <<<"$stderr")
  assert_equal "$(jq -r .event <<<"$last")" end
  assert_equal "$(jq -r .lines <<<"$last")" 2000
  # index mode over two regular files (the chunked two-thread path) counts the lines of both
  run --separate-stderr env TRAINBOX_SPLIT_CHUNK=4096 trainbox split --world-size 3 --rank 1 --progress=json in.jsonl in.jsonl
  assert_success
  assert_equal "$(tail -1 <<<"$stderr" | jq -r .lines)" 4000
}

@test "SIGTERM mid-run leaves no temp files behind" {
  mkfifo fifo
  (head -100 in.jsonl; sleep 3) > fifo & writer=$!
  trainbox split --ratio a=1,b=1 -o o fifo & pid=$!
  for i in $(seq 50); do [ "$(ls -A o 2>/dev/null | wc -l)" -eq 2 ] && break; sleep 0.1; done
  [ "$(ls -A o | wc -l)" -eq 2 ]      # the two temps exist while it runs
  kill -TERM $pid
  st=0; wait $pid || st=$?
  [ "$st" -eq 143 ]
  kill $writer 2>/dev/null || true
  [ -z "$(ls -A o)" ]
}

@test "a mapped regular file, a pipe and read() give the same output in every streaming mode" {
  # > 2 MiB so several blocks go to both classifying threads; CRLF, empty and whitespace lines,
  # invalid and keyless lines, a long line and no final newline all on the mapped path
  gen_samples 30000 7 --text-bytes=60 > big.jsonl
  awk 'NR % 997 == 0 { print "not json {"; print "" } NR % 1499 == 0 { printf "%s\r\n", $0; next }
       NR % 2003 == 0 { print "\"a string\""; print "{\"k\":[1,2]}" } { print }' big.jsonl > mixed.jsonl
  { head -c 70000 /dev/zero | tr '\0' x | sed 's/^/{"__key__":"long","v":"/; s/$/"}/'; echo; } >> mixed.jsonl
  printf '{"__key__":"last","v":1}' >> mixed.jsonl
  [ "$(stat -c %s mixed.jsonl)" -gt 3000000 ]
  for args in "--world-size 7 --rank 2" "--world-size 7 --rank 2 --by hash --skip-invalid" \
              "--world-size 4 --rank 1 --skip 10 --skip-invalid --by hash" \
              "--ratio a=5,b=3,c=2 --world-size 2 --rank 0 --skip-invalid --key __key__" \
              "--world-size 3 --rank 0 --require-each"; do
    trainbox split $args mixed.jsonl > mapped.out 2> mapped.err
    TRAINBOX_NO_MAP=1 trainbox split $args mixed.jsonl > read.out 2> read.err
    cat mixed.jsonl | trainbox split $args > pipe.out 2> pipe.err
    cmp mapped.out read.out
    cmp mapped.out pipe.out
    diff mapped.err read.err
    [ -s mapped.out ]
  done
  for d in m r; do
    [ $d = m ] && unset TRAINBOX_NO_MAP || export TRAINBOX_NO_MAP=1
    trainbox split --ratio a=5,b=3,c=2 --key __key__ --skip-invalid --rejects rej-$d.txt -o out-$d mixed.jsonl 2> err-$d
  done
  unset TRAINBOX_NO_MAP
  for s in a b c; do cmp out-m/$s.jsonl out-r/$s.jsonl; done
  cmp rej-m.txt rej-r.txt
  diff err-m err-r
  [ "$(grep -c 'not json' rej-m.txt)" -eq 30 ]
  # errors name the same line either way
  run --separate-stderr trainbox split --world-size 2 --by hash --key __key__ mixed.jsonl
  [ "$status" -eq 65 ]
  [[ "$stderr" == *"line 997 of mixed.jsonl:"* ]]
  run --separate-stderr trainbox split --world-size 2 --rank 1 --max-line 64k mixed.jsonl
  [ "$status" -eq 65 ]
  n=$(wc -l < mixed.jsonl)   # the long line is the last with a newline
  [[ "$stderr" == *"line $n of mixed.jsonl is longer than --max-line"* ]]
  # the last line, with no newline, is a line like any other
  [ "$(trainbox split --world-size 1 --skip-invalid mixed.jsonl 2>/dev/null | tail -n 1)" = '{"__key__":"last","v":1}' ]
  # an over-long line is an invalid line like any other: --skip-invalid skips it on every path, and
  # --rejects names it by line number and length instead of copying it
  for args in "--world-size 2 --rank 1" "--world-size 3 --rank 0 --by hash" "--ratio a=5,b=3,c=2 --key __key__ -o split-out"; do
    for d in m r p; do
      rm -rf split-out
      case $d in
        m) trainbox split $args --max-line 64k --skip-invalid --rejects rej-$d mixed.jsonl > so-$d 2> err-$d ;;
        r) TRAINBOX_NO_MAP=1 trainbox split $args --max-line 64k --skip-invalid --rejects rej-$d mixed.jsonl > so-$d 2> err-$d ;;
        p) cat mixed.jsonl | trainbox split $args --max-line 64k --skip-invalid --rejects rej-$d > so-$d 2> err-$d ;;
      esac
      [ ! -d split-out ] || cat split-out/*.jsonl > so-$d
    done
    cmp so-m so-r; cmp so-m so-p
    # the pipe is named stdin in its messages, the file by its name: otherwise the same lines
    diff err-m err-r; diff err-m <(sed 's/ of stdin:/ of mixed.jsonl:/' err-p)
    [ -s so-m ]
    n=$(wc -l < mixed.jsonl); len=$(awk -v n=$n 'NR == n { print length($0) }' mixed.jsonl)
    grep -qx "{\"__rejected__\":{\"file\":\"mixed.jsonl\",\"line\":$n,\"bytes\":$len,\"reason\":\"longer than --max-line (64000 bytes)\"}}" rej-m
    cmp rej-m rej-r
    [ "$(stat -c %s rej-m)" -lt 5000 ]
    ! grep -q '"long"' so-m
  done
}

@test "index mode on regular files: chunk edges anywhere give the line reader's output, on one thread or two" {
  # lib/split_linepick reads a file in chunks on two threads; TRAINBOX_SPLIT_CHUNK shrinks the chunks so
  # that every kind of line meets a chunk edge: CRLF split in two, empty and lone-CR lines, a line
  # longer than many chunks, no final newline, and a second file continuing the item count
  gen_samples 600 3 --text-bytes=30 > a.jsonl
  awk 'NR % 7 == 0 { print "" } NR % 11 == 0 { printf "\r\n" } NR % 5 == 0 { printf "%s\r\n", $0; next } { print }' a.jsonl > m.jsonl
  { head -c 9000 /dev/zero | tr '\0' x; printf '\r\n\n'; } >> m.jsonl
  printf 'last-without-newline\r' >> m.jsonl
  head -n 50 a.jsonl > b.jsonl; printf '\r' >> b.jsonl
  for args in "--world-size 7 --rank 2" "--world-size 4 --rank 3 --skip 5" "--world-size 1" "--world-size 3 --rank 1 --skip 400"; do
    TRAINBOX_NO_MAP=1 trainbox split $args m.jsonl b.jsonl > read.out
    [ -s read.out ] || [[ "$args" == *"--skip 400"* ]]
    for chunk in 1 2 7 333 4096 65536 0; do
      for cpus in 0 0-1; do
        TRAINBOX_SPLIT_CHUNK=$chunk taskset -c $cpus trainbox split $args m.jsonl b.jsonl > pick.out
        cmp read.out pick.out || { echo "differs: $args, chunk $chunk, cpus $cpus"; false; }
      done
    done
  done
  # a line over --max-line: the same line number, after the same lines
  for chunk in 3 4096; do
    run --separate-stderr env TRAINBOX_SPLIT_CHUNK=$chunk trainbox split --world-size 2 --rank 1 --max-line 8k m.jsonl
    [ "$status" -eq 65 ]
    [[ "$stderr" == *"line $(( $(wc -l < m.jsonl) - 1 )) of m.jsonl is longer than --max-line"* ]]
    printf '%s\n' "$output" > pick.out
    TRAINBOX_NO_MAP=1 trainbox split --world-size 2 --rank 1 --max-line 8k m.jsonl > read.out 2>/dev/null || true
    cmp read.out pick.out
  done
  # with --skip-invalid the over-long lines are skipped, counted and named in the same order, whatever
  # the chunks and threads (two of them here, one spanning many chunks, one inside a chunk)
  { head -n 100 a.jsonl; head -c 6000 /dev/zero | tr '\0' y; echo; head -n 100 a.jsonl; } > m2.jsonl
  TRAINBOX_NO_MAP=1 trainbox split --world-size 3 --rank 1 --max-line 5000 --skip-invalid --rejects rej-read m.jsonl m2.jsonl > read.out 2> read.err
  [ "$(wc -l < rej-read)" -eq 2 ]
  grep -q '"file":"m.jsonl","line":'"$(( $(wc -l < m.jsonl) - 1 ))"',"bytes":9001,' rej-read
  grep -q '"file":"m2.jsonl","line":101,"bytes":6000,' rej-read
  for chunk in 3 100 4096 0; do
    for cpus in 0 0-1; do
      TRAINBOX_SPLIT_CHUNK=$chunk taskset -c $cpus trainbox split --world-size 3 --rank 1 --max-line 5000 --skip-invalid --rejects rej-pick m.jsonl m2.jsonl > pick.out 2> pick.err
      cmp read.out pick.out; cmp rej-read rej-pick; diff read.err pick.err
    done
  done
}

@test "stdin redirected from a file is read from its current offset" {
  printf '{"__key__":"a"}\n{"__key__":"b"}\n{"__key__":"c"}\n{"__key__":"d"}\n' > s.jsonl
  run bash -c '{ head -n 1 > /dev/null; trainbox split --world-size 1; } < s.jsonl'
  assert_success
  assert_output $'{"__key__":"b"}\n{"__key__":"c"}\n{"__key__":"d"}'
  run bash -c '{ trainbox split --world-size 2 --rank 1; cat; } < s.jsonl'
  assert_output $'{"__key__":"b"}\n{"__key__":"d"}'
}
