#!/usr/bin/env bats
# scripts/start_vast.sh end to end on this machine: a fake nvidia-smi on PATH, a toy trainer (a git
# repository made here) writing step-N checkpoints with a .complete marker and honouring --resume,
# moto as the store. Train from scratch and back up; restore the latest on an empty directory and
# resume; SIGTERM mid-run leaves the last checkpoint with its marker in the bucket; the --max-hours
# watchdog; the instance destroys itself (a stub trainbox recording `vast destroy`, and the real
# `trainbox vast destroy` against tests/vast_mock.py once that command is built); no GPU without
# --allow-cpu; re-runs (clone updated, a second run refused, an earlier background sync adopted);
# dependencies (uv / pip, faked); installing trainbox from a URL. Nothing but 127.0.0.1 is reached.
load helper
bats_require_minimum_version 1.5.0

SCRIPT="$REPO/scripts/start_vast.sh"

setup_file() {
  start_moto
  # the toy job: a git repository with a trainer that checkpoints every step, atomically
  TOY="$BATS_FILE_TMPDIR/toy"
  mkdir -p "$TOY"
  cat >"$TOY/train.sh" <<'EOF'
#!/bin/sh
# toy trainer: [--steps N] [--sleep S] [--out DIR] [--resume PATH] [--keep N (locally, as HF's
# save_total_limit)]; logs to $TOY_LOG
steps=3 pause=0 out=checkpoints resume= keep=0
while [ $# -gt 0 ]; do
  case $1 in
    --steps) steps=$2; shift 2 ;; --sleep) pause=$2; shift 2 ;;
    --out) out=$2; shift 2 ;; --resume) resume=$2; shift 2 ;; --keep) keep=$2; shift 2 ;;
    *) echo "train.sh: bad argument $1" >&2; exit 64 ;;
  esac
done
start=0
if [ -n "$resume" ]; then
  [ -f "$resume/.complete" ] && [ -f "$resume/step" ] || { echo "train.sh: $resume is not a checkpoint" >&2; exit 65; }
  start=$(cat "$resume/step")
fi
echo "start=$start resume=$resume env=$TRAINBOX_RESUME" >>"$TOY_LOG"
mkdir -p "$out"
i=$start
while [ "$i" -lt $((start + steps)) ]; do
  i=$((i + 1))
  sleep "$pause"
  tmp="$out/../.tmp-step-$i"
  rm -rf "$tmp" && mkdir -p "$tmp"
  echo "weights $i" >"$tmp/model.pt"
  echo "$i" >"$tmp/step"
  : >"$tmp/.complete"
  mv "$tmp" "$out/step-$i"
  echo "step $i" >>"$TOY_LOG"
  [ "$keep" = 0 ] || [ "$i" -le "$keep" ] || rm -rf "$out/step-$((i - keep))"
done
EOF
  chmod +x "$TOY/train.sh"
  git -C "$TOY" init -q -b main
  git -C "$TOY" -c user.name=t -c user.email=t@t add train.sh
  git -C "$TOY" -c user.name=t -c user.email=t@t commit -q -m toy
  export TOY
}

teardown_file() {
  stop_moto
}

setup() {
  export AWS_ENDPOINT_URL="$MOTO_URL"   # helper.bash unsets it on every load
  export XDG_CACHE_HOME="$BATS_TEST_TMPDIR/cache"
  cd "$BATS_TEST_TMPDIR"
  REAL_TB=$(command -v trainbox)
  export REAL_TB
  # a fake GPU, and a trainbox that records `vast ...` and forwards the rest to the real binary
  mkdir -p bin
  printf '#!/bin/sh\necho "NVIDIA Fake 9000, 24576 MiB"\n' >bin/nvidia-smi
  cat >bin/trainbox <<'EOF'
#!/bin/bash
if [ "$1" = vast ]; then
  k=no; [ -n "${VAST_API_KEY:-}" ] && [ "$VAST_API_KEY" = "${EXPECT_KEY:-}" ] && k=yes
  echo "$* key=$k" >>"$STUB_LOG"
  exit 0
fi
exec "$REAL_TB" "$@"
EOF
  chmod +x bin/nvidia-smi bin/trainbox
  export PATH="$BATS_TEST_TMPDIR/bin:$PATH"
  export STUB_LOG="$BATS_TEST_TMPDIR/stub.log" TOY_LOG="$BATS_TEST_TMPDIR/toy.log" EXPECT_KEY=instkey-123
  : >"$STUB_LOG"
  : >"$TOY_LOG"
  BUCKET="sv-$BATS_TEST_NUMBER"
  python3 "$REPO/tests/s3util.py" mb "$BUCKET"
  URI="s3://$BUCKET/run/checkpoints"
  unset CONTAINER_ID CONTAINER_API_KEY VAST_URL
}

teardown() {
  [ -z "${BG_PID:-}" ] || stop_pid "$BG_PID"
  [ -z "${MOCK_PID:-}" ] || stop_pid "$MOCK_PID"
  BG_PID='' MOCK_PID=''
}

# sv WORKDIR [OPTIONS...]: the script with the toy job against the bucket, bounded in time
sv() {
  local wd=$1; shift
  timeout -k 5 120 bash "$SCRIPT" --repo "$TOY" --workdir "$wd" --sync-to "$URI" --every 1h \
    --run './train.sh --out checkpoints' "$@" 3>&-
}

# sv_bg WORKDIR [OPTIONS...]: the same, for `sv_bg ... &`: $! is then the process to signal
sv_bg() {
  local wd=$1; shift
  exec timeout -k 5 120 bash "$SCRIPT" --repo "$TOY" --workdir "$wd" --sync-to "$URI" --every 1h \
    --run './train.sh --out checkpoints' "$@" 3>&-
}

# remote_steps: the complete checkpoints in the bucket, as step numbers, sorted
remote_steps() {
  trainbox discover --objects "$URI/" | jq -r '.uri' | sed -n 's#.*/step-\([0-9]*\)/\.complete$#\1#p' | sort -n | xargs
}
remote_cat() { curl -sf "$(trainbox presign "$URI/$1")"; }

# wait_for COND_COMMAND [SECONDS]: until the command succeeds
wait_for() {
  local i=0 limit=${2:-60}
  until eval "$1"; do
    sleep 0.1; i=$((i + 1))
    [ "$i" -lt $((limit * 10)) ] || { echo "never: $1" >&2; return 1; }
  done
}

@test "start_vast.sh: --help lists every option and its variable; shellcheck-clean" {
  run bash "$SCRIPT" --help
  assert_success
  for o in repo ref run workdir sync-dir sync-to every keep-last marker resume-arg allow-cpu keep max-hours \
           trainbox-url trainbox-repo trainbox-ref install-dir skip-deps stop-grace final-sync-timeout container-id; do
    assert_output --partial -- "--$o"
  done
  for v in REPO REF RUN WORKDIR SYNC_DIR SYNC_TO SYNC_EVERY KEEP_LAST MARKER RESUME_ARG ALLOW_CPU KEEP MAX_HOURS \
           TRAINBOX_URL TRAINBOX_REPO TRAINBOX_REF TRAINBOX_INSTALL_DIR SKIP_DEPS STOP_GRACE FINAL_SYNC_TIMEOUT \
           CONTAINER_ID CONTAINER_API_KEY; do
    assert_output --partial "$v"
    grep -q "^#   $v" "$SCRIPT"   # and in the header comment
  done
  run bash "$SCRIPT" --bogus
  assert_failure 64
  run bash "$SCRIPT" --workdir w
  assert_failure 64
  assert_output --partial "RUN"
  run bash "$SCRIPT" --run true --max-hours soon
  assert_failure 64
  if command -v shellcheck >/dev/null; then shellcheck "$SCRIPT"; fi
}

@test "start_vast.sh: a first run trains from scratch, backs up every checkpoint with its marker, and logs each step" {
  export CONTAINER_ID=4242 CONTAINER_API_KEY=instkey-123
  run --separate-stderr sv w1 --keep-last 0
  assert_success
  assert_equal "$(head -n 1 "$TOY_LOG")" "start=0 resume= env="
  grep -qx 'step 3' "$TOY_LOG"
  assert_equal "$(remote_steps)" "1 2 3"
  assert_equal "$(remote_cat step-3/model.pt)" "weights 3"
  # every log line carries a timestamp (and nothing else was said: no warnings from trainbox)
  err=$stderr
  assert_equal "$(grep -cvE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z start_vast: ' <<<"$err")" 0
  [ "$(grep -c 'start_vast: ' <<<"$err")" -ge 12 ]
  [[ "$err" == *"gpu: NVIDIA Fake 9000"* ]]
  [[ "$err" == *"restore: no complete checkpoint under $URI"* ]]
  [[ "$err" == *"final sync: done"* ]]
  # the instance destroyed itself, with the instance's key
  assert_equal "$(cat "$STUB_LOG")" "vast destroy 4242 key=yes"
  # nothing left running, no pid files
  [ ! -e w1/.start_vast/sync.pid ] && [ ! -e w1/.start_vast/main.pid ]
}

@test "start_vast.sh: a second run on an empty directory restores the latest complete checkpoint and resumes from it" {
  run --separate-stderr sv w1 --keep-last 2 --run './train.sh --out checkpoints --keep 2'
  assert_success
  assert_equal "$(remote_steps)" "2 3"
  # a newer checkpoint without its marker (torn) must not be the one restored
  python3 "$REPO/tests/s3util.py" put "$BUCKET" run/checkpoints/step-9/model.pt torn
  : >"$TOY_LOG"
  # a new machine: environment variables instead of options this time
  run --separate-stderr env REPO="$TOY" WORKDIR=w2 SYNC_TO="$URI" SYNC_EVERY=1h KEEP_LAST=2 \
    RUN='./train.sh --steps 2 --out checkpoints --keep 2' timeout -k 5 120 bash "$SCRIPT" 3>&-
  assert_success
  ck="$BATS_TEST_TMPDIR/w2/repo/checkpoints/step-3"
  assert_equal "$(head -n 1 "$TOY_LOG")" "start=3 resume=$ck env=$ck"
  grep -qx 'step 5' "$TOY_LOG"
  [ ! -e w2/repo/checkpoints/step-1 ] && [ ! -e w2/repo/checkpoints/step-9 ]
  [[ "$stderr" == *"restore: $URI/step-3/ -> $ck"* ]]
  assert_equal "$(remote_steps)" "4 5"
  assert_equal "$(remote_cat step-5/model.pt)" "weights 5"
  # no CONTAINER_ID: a box of one's own, nothing destroyed
  [[ "$stderr" == *"no CONTAINER_ID"* ]]
  assert_equal "$(cat "$STUB_LOG")" ""
}

@test "start_vast.sh: RESUME_ARG is configurable ({} the restored path), and empty passes nothing" {
  run sv w1 --keep-last 0
  assert_success
  : >"$TOY_LOG"
  # the trainer takes the path from TRAINBOX_RESUME: no argument appended
  run sv w2 --resume-arg '' --run 'test -n "$TRAINBOX_RESUME" && ./train.sh --out checkpoints --resume "$TRAINBOX_RESUME" --steps 1'
  assert_success
  assert_equal "$(head -n 1 "$TOY_LOG")" "start=3 resume=$BATS_TEST_TMPDIR/w2/repo/checkpoints/step-3 env=$BATS_TEST_TMPDIR/w2/repo/checkpoints/step-3"
  : >"$TOY_LOG"
  run sv w3 --resume-arg '--steps 1 --resume {}'
  assert_success
  assert_equal "$(head -n 1 "$TOY_LOG")" "start=4 resume=$BATS_TEST_TMPDIR/w3/repo/checkpoints/step-4 env=$BATS_TEST_TMPDIR/w3/repo/checkpoints/step-4"
}

@test "start_vast.sh: SIGTERM mid-run stops the trainer, and the final sync leaves its last checkpoint, with its marker, in the bucket" {
  export CONTAINER_ID=77 CONTAINER_API_KEY=instkey-123
  sv_bg w1 --keep-last 0 --run './train.sh --out checkpoints --steps 100000 --sleep 0.2' 2>err.log &
  BG_PID=$!
  wait_for '[ -e w1/repo/checkpoints/step-3 ]'
  # the background sync's first pass ran on an empty directory, its next one is an hour away
  kill -TERM "$BG_PID"
  rc=0; wait "$BG_PID" || rc=$?
  BG_PID=''
  cat err.log
  assert_equal "$rc" 143
  grep -q 'stopping: SIGTERM received' err.log
  last=$(ls w1/repo/checkpoints | sed -n 's/^step-//p' | sort -n | tail -n 1)
  [ "$last" -ge 3 ]
  [ "$(remote_steps | awk '{print $NF}')" = "$last" ]
  assert_equal "$(remote_cat "step-$last/model.pt")" "weights $last"
  # the trainer is gone, and did not go on after the signal
  n=$(grep -c '^step ' "$TOY_LOG"); sleep 0.5; assert_equal "$(grep -c '^step ' "$TOY_LOG")" "$n"
  assert_equal "$(cat "$STUB_LOG")" "vast destroy 77 key=yes"
}

@test "start_vast.sh: --max-hours: the watchdog stops the job, syncs and destroys the instance" {
  export CONTAINER_ID=88 CONTAINER_API_KEY=instkey-123
  # 0.0005 h = 1.8 s
  run --separate-stderr sv w1 --keep-last 0 --max-hours 0.0005 --run './train.sh --out checkpoints --steps 100000 --sleep 0.2'
  assert_failure 143
  [[ "$stderr" == *"MAX_HOURS=0.0005 reached (watchdog)"* ]]
  last=$(ls w1/repo/checkpoints | sed -n 's/^step-//p' | sort -n | tail -n 1)
  [ "$(remote_steps | awk '{print $NF}')" = "$last" ]
  assert_equal "$(cat "$STUB_LOG")" "vast destroy 88 key=yes"
  [ ! -e w1/.start_vast/watchdog.pid ] && [ ! -e w1/.start_vast/deadline ]
}

@test "start_vast.sh: --max-hours holds past --keep: during the job, and after it ended" {
  export CONTAINER_ID=89 CONTAINER_API_KEY=instkey-123
  run --separate-stderr sv w1 --keep --max-hours 0.0005 --run './train.sh --out checkpoints --steps 100000 --sleep 0.2'
  assert_failure 143
  [[ "$stderr" == *"KEEP=1 does not hold past it"* ]]
  assert_equal "$(cat "$STUB_LOG")" "vast destroy 89 key=yes"
  : >"$STUB_LOG"
  # the job ends first: the watchdog stays behind and destroys the instance at the deadline
  run --separate-stderr sv w2 --keep --max-hours 0.0005
  assert_success
  [[ "$stderr" == *"watchdog: pid"*"stays: it destroys instance 89"* ]]
  assert_equal "$(cat "$STUB_LOG")" ""
  wait_for '[ -s "$STUB_LOG" ]' 30
  assert_equal "$(cat "$STUB_LOG")" "vast destroy 89 key=yes"
}

@test "start_vast.sh: --keep (or KEEP=1) does not destroy the instance" {
  export CONTAINER_ID=99 CONTAINER_API_KEY=instkey-123
  run --separate-stderr sv w1 --keep
  assert_success
  [[ "$stderr" == *"destroy: skipped (KEEP=1"* ]]
  assert_equal "$(cat "$STUB_LOG")" ""
  KEEP=1 run --separate-stderr sv w2
  assert_success
  assert_equal "$(cat "$STUB_LOG")" ""
}

@test "start_vast.sh: without a GPU it stops with a clear message unless --allow-cpu" {
  rm bin/nvidia-smi
  if command -v nvidia-smi >/dev/null; then skip "this machine has a real nvidia-smi"; fi
  export CONTAINER_ID=5 CONTAINER_API_KEY=instkey-123
  run --separate-stderr sv w1
  assert_failure 69
  [[ "$stderr" == *"no GPU: nvidia-smi not found; pass --allow-cpu (ALLOW_CPU=1)"* ]]
  [ ! -e "$TOY_LOG" ] || [ ! -s "$TOY_LOG" ]
  assert_equal "$(cat "$STUB_LOG")" "vast destroy 5 key=yes"   # a rented box without a GPU is no use
  # an nvidia-smi that fails (driver gone) is no GPU either
  printf '#!/bin/sh\necho "NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver" >&2\nexit 9\n' >bin/nvidia-smi
  chmod +x bin/nvidia-smi
  run --separate-stderr sv w1 --keep
  assert_failure 69
  [[ "$stderr" == *"nvidia-smi failed: NVIDIA-SMI has failed"* ]]
  run --separate-stderr sv w1 --keep --allow-cpu
  assert_success
  [[ "$stderr" == *"running on the CPU"* ]]
  grep -qx 'step 3' "$TOY_LOG"
  ALLOW_CPU=1 run --separate-stderr sv w2 --keep
  assert_success
}

@test "start_vast.sh: re-running is safe: the clone is updated to REF, resumes locally, a second concurrent run is refused" {
  run sv w1 --keep-last 0 --ref main
  assert_success
  # a new commit on the branch: the next run checks it out
  git -C "$TOY" checkout -q -b feature
  echo 'echo v2 >>"$TOY_LOG"' >"$TOY/v2.sh"
  git -C "$TOY" -c user.name=t -c user.email=t@t add v2.sh
  git -C "$TOY" -c user.name=t -c user.email=t@t commit -q -m v2
  git -C "$TOY" checkout -q main
  : >"$TOY_LOG"
  run --separate-stderr sv w1 --keep-last 0 --ref feature --run 'sh v2.sh && ./train.sh --out checkpoints --steps 1'
  assert_success
  assert_equal "$(git -C w1/repo rev-parse HEAD)" "$(git -C "$TOY" rev-parse feature)"
  assert_equal "$(head -n 1 "$TOY_LOG")" "v2"
  # the checkpoint directory was not empty: nothing restored, resumed from the local latest
  assert_equal "$(sed -n 2p "$TOY_LOG")" "start=3 resume=$BATS_TEST_TMPDIR/w1/repo/checkpoints/step-3 env=$BATS_TEST_TMPDIR/w1/repo/checkpoints/step-3"
  [[ "$stderr" == *"is not empty: resuming from its latest complete checkpoint"* ]]
  assert_equal "$(remote_steps)" "1 2 3 4"
  git -C "$TOY" branch -q -D feature
  # while one run is going, a second one in the same WORKDIR refuses and destroys nothing
  export CONTAINER_ID=11 CONTAINER_API_KEY=instkey-123
  sv_bg w1 --keep-last 0 --run 'sleep 30' 2>err.log &
  BG_PID=$!
  wait_for 'grep -q "training: sleep 30" err.log'
  run --separate-stderr sv w1
  assert_failure 75
  [[ "$stderr" == *"another start_vast.sh runs in"* ]]
  assert_equal "$(cat "$STUB_LOG")" ""
  stop_pid "$BG_PID"; BG_PID=''
  assert_equal "$(cat "$STUB_LOG")" "vast destroy 11 key=yes"
}

@test "start_vast.sh: a background sync left by a killed earlier run is adopted, not doubled, and stopped at the end" {
  mkdir -p w1/.start_vast w1/repo
  git clone -q "$TOY" w1/repo
  mkdir -p w1/repo/checkpoints
  (exec trainbox sync --every 1h --marker w1/repo/checkpoints "$URI" >/dev/null 2>&1 3>&-) &
  orphan=$!
  echo "$orphan" >w1/.start_vast/sync.pid
  run --separate-stderr sv w1 --keep-last 0
  assert_success
  [[ "$stderr" == *"background sync pid $orphan from an earlier run adopted"* ]]
  [[ "$stderr" != *"backup: trainbox sync --every"* ]]
  ! kill -0 "$orphan" 2>/dev/null
  assert_equal "$(remote_steps)" "1 2 3"
}

@test "start_vast.sh: dependencies: uv sync with pyproject.toml and uv, else pip install -r requirements.txt" {
  cp -r "$TOY" dep
  echo 'numpy' >dep/requirements.txt
  git -C dep -c user.name=t -c user.email=t@t add requirements.txt
  git -C dep -c user.name=t -c user.email=t@t commit -q -m deps
  printf '#!/bin/sh\necho "pip $*" >>"$STUB_LOG"\n' >bin/pip
  chmod +x bin/pip
  run --separate-stderr bash "$SCRIPT" --repo "$BATS_TEST_TMPDIR/dep" --workdir w1 --run true 3>&-
  assert_success
  assert_equal "$(cat "$STUB_LOG")" "pip install -r requirements.txt"
  : >"$STUB_LOG"
  printf '[project]\nname = "toy"\nversion = "0"\n' >dep/pyproject.toml
  git -C dep -c user.name=t -c user.email=t@t add pyproject.toml
  git -C dep -c user.name=t -c user.email=t@t commit -q -m uv
  printf '#!/bin/sh\necho "uv $* in $(basename "$PWD")" >>"$STUB_LOG"\n' >bin/uv
  chmod +x bin/uv
  run --separate-stderr bash "$SCRIPT" --repo "$BATS_TEST_TMPDIR/dep" --workdir w1 --run true 3>&-
  assert_success
  assert_equal "$(cat "$STUB_LOG")" "uv sync in repo"
  : >"$STUB_LOG"
  run --separate-stderr bash "$SCRIPT" --repo "$BATS_TEST_TMPDIR/dep" --workdir w1 --run true --skip-deps 3>&-
  assert_success
  assert_equal "$(cat "$STUB_LOG")" ""
}

@test "start_vast.sh: trainbox missing: installed from TRAINBOX_URL, else a clear exit" {
  # a PATH without any trainbox
  nobin="$BATS_TEST_TMPDIR/nobin"
  mkdir -p "$nobin"
  cp bin/nvidia-smi "$nobin/"
  p=$nobin
  IFS=: read -ra parts <<<"$PATH"
  for d in "${parts[@]}"; do [ -x "$d/trainbox" ] || p="$p:$d"; done
  run --separate-stderr env PATH="$p" bash "$SCRIPT" --workdir w1 --sync-to "$URI" --run true \
    --install-dir "$BATS_TEST_TMPDIR/inst" 3>&-
  assert_failure 69
  [[ "$stderr" == *"neither TRAINBOX_URL nor TRAINBOX_REPO is set"* ]]
  run --separate-stderr env PATH="$p" TRAINBOX_URL="file://$REAL_TB" bash "$SCRIPT" --workdir w1 --sync-to "$URI" \
    --run 'echo step >checkpoints/x' --install-dir "$BATS_TEST_TMPDIR/inst" 3>&-
  assert_success
  [[ "$stderr" == *"trainbox: installed $BATS_TEST_TMPDIR/inst/trainbox"* ]]
  cmp "$REAL_TB" inst/trainbox
  # a tarball holding it works too
  mkdir -p tb/trainbox-x && cp "$REAL_TB" tb/trainbox-x/trainbox && tar -czf tb.tar.gz -C tb trainbox-x
  run --separate-stderr env PATH="$p" bash "$SCRIPT" --workdir w2 --run true --trainbox-url "file://$BATS_TEST_TMPDIR/tb.tar.gz" \
    --install-dir "$BATS_TEST_TMPDIR/inst2" 3>&-
  assert_success
  cmp "$REAL_TB" inst2/trainbox
}

@test "start_vast.sh: the instance destroys itself through the Vast API (tests/vast_mock.py, trainbox vast destroy)" {
  out=$("$REAL_TB" vast destroy --help 2>&1) && rc=0 || rc=$?
  if [ "$rc" = 69 ] || [[ "$out" == *"not built yet"* ]]; then skip "trainbox vast destroy is not built yet"; fi
  port=$(free_port)
  python3 "$REPO/tests/vast_mock.py" --port "$port" --key instkey-123 --log "$BATS_TEST_TMPDIR/vast.log" >mock.out 2>mock.err 3>&- &
  MOCK_PID=$!
  wait_for 'grep -q ready mock.out' 30
  api="http://127.0.0.1:$port"
  # rent an instance from the mock's first offer, as the official client does
  offer=$(curl -sf -H 'Authorization: Bearer instkey-123' -X POST -d '{}' "$api/api/v0/bundles/" | jq -r '.offers[0].id')
  id=$(curl -sf -H 'Authorization: Bearer instkey-123' -X PUT \
    -d '{"client_id": "me", "image": "toy", "disk": 10, "label": "sv-test", "runtype": "ssh"}' \
    "$api/api/v0/asks/$offer/" | jq -r '.new_contract')
  [ -n "$id" ] && [ "$id" != null ]
  rm bin/trainbox   # the real one this time
  run --separate-stderr env VAST_URL="$api" CONTAINER_ID="$id" CONTAINER_API_KEY=instkey-123 \
    timeout -k 5 120 bash "$SCRIPT" --repo "$TOY" --workdir w1 --sync-to "$URI" --run './train.sh --out checkpoints' 3>&-
  assert_success
  [[ "$stderr" == *"destroy: instance $id destroyed"* ]]
  [[ "$stderr" != *instkey-123* ]]
  jq -se --arg p "/api/v0/instances/$id/" 'map(select(.method == "DELETE" and .path == $p and .auth_ok and .status == 200)) | length == 1' "$BATS_TEST_TMPDIR/vast.log"
  curl -sf "$api/__state" | jq -e --arg id "$id" '[.instances[] | select((.id|tostring) == $id)] | length == 1 and .[0].destroyed == true'
  assert_equal "$(remote_steps)" "1 2 3"
}

@test "start_vast.sh: trainbox missing and not installable: exit 69, and the instance is destroyed through the API anyway" {
  port=$(free_port)
  python3 "$REPO/tests/vast_mock.py" --port "$port" --key instkey-9 --log "$BATS_TEST_TMPDIR/vast.log" >mock.out 2>mock.err 3>&- &
  MOCK_PID=$!
  wait_for 'grep -q ready mock.out' 30
  api="http://127.0.0.1:$port"
  offer=$(curl -sf -H 'Authorization: Bearer instkey-9' -X POST -d '{}' "$api/api/v0/bundles/" | jq -r '.offers[0].id')
  id=$(curl -sf -H 'Authorization: Bearer instkey-9' -X PUT -d '{"client_id": "me", "image": "toy", "disk": 10}' \
    "$api/api/v0/asks/$offer/" | jq -r '.new_contract')
  nobin="$BATS_TEST_TMPDIR/nobin"
  mkdir -p "$nobin"
  cp bin/nvidia-smi "$nobin/"
  p=$nobin
  IFS=: read -ra parts <<<"$PATH"
  for d in "${parts[@]}"; do [ -x "$d/trainbox" ] || p="$p:$d"; done
  run --separate-stderr env PATH="$p" VAST_URL="$api" CONTAINER_ID="$id" CONTAINER_API_KEY=instkey-9 \
    bash "$SCRIPT" --workdir w1 --sync-to "$URI" --run true --install-dir "$BATS_TEST_TMPDIR/inst" 3>&-
  assert_failure 69
  [[ "$stderr" == *"destroy: instance $id destroyed"* ]] || fail "$stderr"
  [[ "$stderr" != *instkey-9* ]]
  curl -sf "$api/__state" | jq -e --arg id "$id" '[.instances[] | select((.id|tostring) == $id)] | .[0].destroyed == true'
}
