#!/usr/bin/env bash
# start_vast.sh (bash): the onstart script of a Vast.ai instance that `trainbox vast launch` rents; also
# runnable by hand on any Linux box. It checks the GPU, installs trainbox if missing, clones the job's
# repository at a ref and installs its dependencies, restores the latest complete checkpoint when the
# local checkpoint directory is empty, backs checkpoints up in the background, runs the training command
# (resuming from the restored checkpoint), and on exit or SIGTERM stops the backup, runs one final sync
# and destroys its own instance. Every step logs one line with a UTC timestamp on stderr. Running it
# again is safe: the clone is updated, the background sync and watchdog are adopted, not doubled.
#
# Configuration: environment variables (what the launch sets), each overridden by its option.
#   REPO=URL             --repo URL           git repository of the job (none: run in WORKDIR)
#   REF=REF              --ref REF            branch, tag or commit (default: the remote's default branch)
#   RUN=CMD              --run CMD            the training command, run by bash in the checkout (required)
#   WORKDIR=DIR          --workdir DIR        where the job lives (default $HOME/trainbox-job): the clone
#                                             in DIR/repo, pid files and logs in DIR/.start_vast
#   SYNC_DIR=DIR         --sync-dir DIR       local checkpoint directory, relative to the checkout
#                                             (default checkpoints)
#   SYNC_TO=URI          --sync-to URI        store prefix the checkpoints are backed up to (none: no
#                                             restore and no backup)
#   SYNC_EVERY=DURATION  --every DURATION     background sync interval (default 5m; trainbox-sync(1))
#   KEEP_LAST=K          --keep-last K        checkpoints kept in SYNC_TO (default 3; 0 keeps all)
#   MARKER=NAME          --marker NAME        completion marker (default .complete)
#   RESUME_ARG=STR       --resume-arg STR     appended to RUN when resuming, {} replaced by the
#                                             checkpoint's local path, shell-quoted (default '--resume {}';
#                                             empty: nothing appended). TRAINBOX_RESUME holds the path too.
#   ALLOW_CPU=1          --allow-cpu          run even when nvidia-smi is missing or fails
#   KEEP=1               --keep               do not destroy the instance at the end (MAX_HOURS still
#                                             does: its watchdog then outlives the script)
#   MAX_HOURS=H          --max-hours H        watchdog: after H hours (decimals allowed) the job is stopped,
#                                             synced and the instance destroyed, whatever the job does
#   TRAINBOX_URL=URL     --trainbox-url URL   where to get trainbox when it is not on PATH: the binary
#                                             or a .tar.gz/.tgz holding it (curl or wget; file:// works)
#   TRAINBOX_REPO=URL    --trainbox-repo URL  or build it from this git repository (make) ...
#   TRAINBOX_REF=REF     --trainbox-ref REF   ... at this ref
#   TRAINBOX_INSTALL_DIR=DIR --install-dir DIR  where it is installed (default $HOME/.local/bin)
#   SKIP_DEPS=1          --skip-deps          do not install the job's dependencies
#   STOP_GRACE=S         --stop-grace S       seconds the training command gets after SIGTERM (default 30)
#   FINAL_SYNC_TIMEOUT=S --final-sync-timeout S  limit of the final sync, seconds (default 600)
#   CONTAINER_ID=ID      --container-id ID    this instance (Vast sets it; none: nothing to destroy)
#   CONTAINER_API_KEY=K                       the instance's API key (Vast sets it), passed to
#                                             `trainbox vast destroy` as VAST_API_KEY (else VAST_API_KEY)
#   VAST_URL, AWS_*, R2_*, AZURE_* ...        passed through to trainbox (store credentials, API base)
# Dependencies: `uv sync` when the checkout has pyproject.toml and uv exists, else `pip install -r
# requirements.txt` when it exists (after `uv sync`, the checkout's .venv/bin goes first on PATH).
# Exit status: the training command's; 64 usage; 69 no GPU (without --allow-cpu), trainbox missing, or a
# step failed (clone, dependencies, restore); 75 another start_vast.sh runs in WORKDIR; 128+N on signal N.
# shellcheck disable=SC2317  # cleanup and what it calls run from the traps
set -u

PROG=start_vast
log() { printf '%s %s: %s\n' "$(date -u '+%Y-%m-%dT%H:%M:%SZ')" "$PROG" "$*" >&2; }
# a URL with its user:password@ part hidden (git URLs may carry a token)
redact() { printf '%s' "$1" | sed -E 's#(://)[^/@]*@#\1***@#'; }

usage() {
  cat <<'EOF'
Usage: start_vast.sh [OPTIONS]
Bootstrap a training job on a Vast.ai instance (or any Linux box): check the GPU, install trainbox,
clone REPO at REF, install its dependencies, restore the latest complete checkpoint from SYNC_TO,
back up SYNC_DIR in the background, run RUN (resuming), then a final sync and destroy the instance.
Each option overrides the environment variable named before it.
  REPO          --repo URL            git repository of the job (none: run in WORKDIR)
  REF           --ref REF             branch, tag or commit (default: the remote's default branch)
  RUN           --run CMD             training command, run by bash in the checkout (required)
  WORKDIR       --workdir DIR         job directory (default $HOME/trainbox-job)
  SYNC_DIR      --sync-dir DIR        checkpoint directory, relative to the checkout (default checkpoints)
  SYNC_TO       --sync-to URI         store prefix for the checkpoints (none: no restore, no backup)
  SYNC_EVERY    --every DURATION      background sync interval (default 5m)
  KEEP_LAST     --keep-last K         checkpoints kept in SYNC_TO (default 3; 0 keeps all)
  MARKER        --marker NAME         completion marker (default .complete)
  RESUME_ARG    --resume-arg STR      appended to RUN when resuming; {} is the checkpoint's path
                                      (default '--resume {}'; empty: none; TRAINBOX_RESUME has it too)
  ALLOW_CPU=1   --allow-cpu           run without a GPU (nvidia-smi missing or failing)
  KEEP=1        --keep                do not destroy the instance at the end (MAX_HOURS still does)
  MAX_HOURS     --max-hours H         stop, sync and destroy after H hours whatever the job does
  TRAINBOX_URL  --trainbox-url URL    get trainbox from URL (binary or .tar.gz) when not on PATH
  TRAINBOX_REPO --trainbox-repo URL   or build it from this git repository
  TRAINBOX_REF  --trainbox-ref REF    at this ref
  TRAINBOX_INSTALL_DIR --install-dir DIR  install directory (default $HOME/.local/bin)
  SKIP_DEPS=1   --skip-deps           do not install the job's dependencies
  STOP_GRACE    --stop-grace S        seconds the training command gets after SIGTERM (default 30)
  FINAL_SYNC_TIMEOUT --final-sync-timeout S  limit of the final sync in seconds (default 600)
  CONTAINER_ID  --container-id ID     the instance to destroy (Vast sets it)
  CONTAINER_API_KEY                   its API key (Vast sets it), used as VAST_API_KEY
  -h, --help                          show this help
Exit status: the training command's; 64 usage; 69 no GPU, trainbox missing or a failed step;
75 already running in WORKDIR; 128+N on signal N.
EOF
}

die() { local rc=$1; shift; log "error: $*"; exit "$rc"; }
usage_err() { printf '%s: %s\n' "$PROG" "$*" >&2; printf "Try 'start_vast.sh --help'.\n" >&2; exit 64; }

# ---- configuration: environment, then options ----
REPO=${REPO:-} REF=${REF:-} RUN=${RUN:-}
WORKDIR=${WORKDIR:-${HOME:-/root}/trainbox-job}
SYNC_DIR=${SYNC_DIR:-checkpoints} SYNC_TO=${SYNC_TO:-} SYNC_EVERY=${SYNC_EVERY:-5m}
KEEP_LAST=${KEEP_LAST:-3} MARKER=${MARKER:-.complete}
[ "${RESUME_ARG+set}" = set ] || RESUME_ARG='--resume {}'
ALLOW_CPU=${ALLOW_CPU:-0} KEEP=${KEEP:-0} MAX_HOURS=${MAX_HOURS:-}
TRAINBOX_URL=${TRAINBOX_URL:-} TRAINBOX_REPO=${TRAINBOX_REPO:-} TRAINBOX_REF=${TRAINBOX_REF:-}
TRAINBOX_INSTALL_DIR=${TRAINBOX_INSTALL_DIR:-${HOME:-/root}/.local/bin}
SKIP_DEPS=${SKIP_DEPS:-0} STOP_GRACE=${STOP_GRACE:-30} FINAL_SYNC_TIMEOUT=${FINAL_SYNC_TIMEOUT:-600}
CONTAINER_ID=${CONTAINER_ID:-}

while [ $# -gt 0 ]; do
  opt=$1 val='' has_val=0
  case $opt in
    --*=*) val=${opt#*=}; opt=${opt%%=*}; has_val=1 ;;
  esac
  case $opt in
    -h|--help) usage; exit 0 ;;
    --allow-cpu|--keep|--skip-deps)
      [ $has_val = 0 ] || usage_err "$opt takes no value"
      case $opt in --allow-cpu) ALLOW_CPU=1 ;; --keep) KEEP=1 ;; --skip-deps) SKIP_DEPS=1 ;; esac
      shift; continue ;;
    --repo|--ref|--run|--workdir|--sync-dir|--sync-to|--every|--keep-last|--marker|--resume-arg|\
    --max-hours|--trainbox-url|--trainbox-repo|--trainbox-ref|--install-dir|--stop-grace|\
    --final-sync-timeout|--container-id)
      if [ $has_val = 0 ]; then
        [ $# -ge 2 ] || usage_err "$opt needs a value"
        val=$2; shift
      fi
      shift ;;
    *) usage_err "unknown option: $opt" ;;
  esac
  case $opt in
    --repo) REPO=$val ;; --ref) REF=$val ;; --run) RUN=$val ;; --workdir) WORKDIR=$val ;;
    --sync-dir) SYNC_DIR=$val ;; --sync-to) SYNC_TO=$val ;; --every) SYNC_EVERY=$val ;;
    --keep-last) KEEP_LAST=$val ;; --marker) MARKER=$val ;; --resume-arg) RESUME_ARG=$val ;;
    --max-hours) MAX_HOURS=$val ;; --trainbox-url) TRAINBOX_URL=$val ;;
    --trainbox-repo) TRAINBOX_REPO=$val ;; --trainbox-ref) TRAINBOX_REF=$val ;;
    --install-dir) TRAINBOX_INSTALL_DIR=$val ;; --stop-grace) STOP_GRACE=$val ;;
    --final-sync-timeout) FINAL_SYNC_TIMEOUT=$val ;; --container-id) CONTAINER_ID=$val ;;
  esac
done

is_uint() { case $1 in ''|*[!0-9]*) return 1 ;; *) return 0 ;; esac; }
is_flag() { case $1 in 0|1) return 0 ;; *) return 1 ;; esac; }
[ -n "$RUN" ] || usage_err "no training command: set RUN or pass --run CMD"
is_uint "$KEEP_LAST" || usage_err "KEEP_LAST / --keep-last: not a whole number: $KEEP_LAST"
is_uint "$STOP_GRACE" || usage_err "STOP_GRACE / --stop-grace: not a whole number of seconds: $STOP_GRACE"
is_uint "$FINAL_SYNC_TIMEOUT" || usage_err "FINAL_SYNC_TIMEOUT / --final-sync-timeout: not a whole number of seconds"
for f in ALLOW_CPU KEEP SKIP_DEPS; do is_flag "${!f}" || usage_err "$f must be 0 or 1, not ${!f}"; done
{ [ -n "$MARKER" ] && [ "${MARKER#*/}" = "$MARKER" ]; } || usage_err "MARKER / --marker: a file name, not '$MARKER'"
[ -n "$SYNC_DIR" ] || usage_err "SYNC_DIR / --sync-dir is empty"
WATCH_SECS=
if [ -n "$MAX_HOURS" ]; then
  case $MAX_HOURS in *[!0-9.]*|.|*.*.*) usage_err "MAX_HOURS / --max-hours: not a number of hours: $MAX_HOURS" ;; esac
  WATCH_SECS=$(awk -v h="$MAX_HOURS" 'BEGIN { s = h * 3600; printf "%d", (s == int(s)) ? s : int(s) + 1 }')
  [ "$WATCH_SECS" -gt 0 ] || usage_err "MAX_HOURS / --max-hours must be above 0"
fi

# ---- one run per WORKDIR ----
mkdir -p "$WORKDIR" || die 73 "cannot create WORKDIR $WORKDIR"
WORKDIR=$(cd "$WORKDIR" && pwd)
STATE=$WORKDIR/.start_vast
mkdir -p "$STATE" || die 73 "cannot create $STATE"
pid_alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }
read_pid() { [ -s "$1" ] && tr -dc 0-9 <"$1"; }
# pid_is PID WORD: the live process PID has WORD in its command line (a stale pid file may name a reused pid)
pid_is() {
  pid_alive "$1" || return 1
  [ -r "/proc/$1/cmdline" ] || return 0
  tr '\0' ' ' <"/proc/$1/cmdline" | grep -q -- "$2"
}
if command -v flock >/dev/null 2>&1; then
  exec 9>"$STATE/lock"
  flock -n 9 || die 75 "another start_vast.sh runs in $WORKDIR (pid $(read_pid "$STATE/main.pid")): not starting a second"
else
  old=$(read_pid "$STATE/main.pid")
  if [ "$old" != $$ ] && pid_is "$old" start_vast; then die 75 "another start_vast.sh runs in $WORKDIR (pid $old)"; fi
fi
echo $$ >"$STATE/main.pid"

# ---- the end: stop the job, stop the background sync, final sync, destroy (unless KEEP) ----
TRAIN_PID='' SYNC_PID='' WATCH_PID='' SYNC_STARTED=0 CK='' CLEANED=0 TB=trainbox SIGNAME=''
stop_tree() { # stop_tree PID GRACE: TERM (its process group when it leads one), KILL after GRACE seconds
  local pid=$1 grace=$2 i=0 target=$1
  pid_alive "$pid" || return 0
  [ "$(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ')" = "$pid" ] && target=-$pid
  kill -TERM -- "$target" 2>/dev/null
  while pid_alive "$pid" && [ "$i" -lt $((grace * 10)) ]; do sleep 0.1; i=$((i + 1)); done
  if pid_alive "$pid"; then log "pid $pid still running after ${grace}s: killing it"; kill -KILL -- "$target" 2>/dev/null; fi
  wait "$pid" 2>/dev/null
  return 0
}
sync_args() { # the backup's options, the same for the background and the final pass
  SARGS=(--marker="$MARKER")
  [ "$KEEP_LAST" -gt 0 ] && SARGS+=(--keep-last "$KEEP_LAST")
}
destroy_self() {
  if [ "$KEEP" = 1 ]; then log "destroy: skipped (KEEP=1 / --keep): instance ${CONTAINER_ID:-?} keeps running and billing"; return 0; fi
  if [ -z "$CONTAINER_ID" ]; then log "destroy: no CONTAINER_ID (not a Vast instance): nothing to destroy"; return 0; fi
  if ! command -v "$TB" >/dev/null 2>&1; then
    # no trainbox (its install failed): the API call itself, so a failed bootstrap never bills on
    local key=${CONTAINER_API_KEY:-${VAST_API_KEY:-}} url="${VAST_URL:-https://console.vast.ai}/api/v0/instances/$CONTAINER_ID/"
    log "destroy: no trainbox: DELETE $url with curl or wget"
    if command -v curl >/dev/null 2>&1 && curl -fsS -X DELETE -H "Authorization: Bearer $key" "$url" >/dev/null 9>&-; then
      log "destroy: instance $CONTAINER_ID destroyed"; return 0
    elif command -v wget >/dev/null 2>&1 && wget -q -O /dev/null --method=DELETE --header="Authorization: Bearer $key" "$url" 9>&-; then
      log "destroy: instance $CONTAINER_ID destroyed"; return 0
    fi
    log "destroy: FAILED: instance $CONTAINER_ID may still be billing"; return 1
  fi
  log "destroy: trainbox vast destroy $CONTAINER_ID"
  local rc=0
  VAST_API_KEY=${CONTAINER_API_KEY:-${VAST_API_KEY:-}} "$TB" vast destroy "$CONTAINER_ID" >&2 9>&- || rc=$?
  if [ $rc = 0 ]; then log "destroy: instance $CONTAINER_ID destroyed"
  else log "destroy: FAILED (exit $rc): instance $CONTAINER_ID may still be billing"; fi
  return $rc
}
cleanup() {
  local rc=$?
  [ "$CLEANED" = 1 ] && return
  CLEANED=1
  # a second signal must not cut the final sync short (Vast gives a grace period, then kills)
  trap 'log "signal received during the final steps: ignored"' TERM INT HUP
  if [ -n "$SIGNAME" ]; then
    if [ -e "$STATE/watchdog.fired" ]; then log "stopping: MAX_HOURS=$MAX_HOURS reached (watchdog)"
    else log "stopping: SIG$SIGNAME received"; fi
  fi
  if pid_alive "$TRAIN_PID"; then
    log "training: stopping pid $TRAIN_PID (SIGTERM, ${STOP_GRACE}s grace)"
    stop_tree "$TRAIN_PID" "$STOP_GRACE"
    log "training: stopped"
  fi
  rm -f "$STATE/train.pid"
  if pid_alive "$SYNC_PID"; then
    log "background sync: stopping pid $SYNC_PID (it runs its own last pass)"
    stop_tree "$SYNC_PID" "$FINAL_SYNC_TIMEOUT"
  fi
  rm -f "$STATE/sync.pid"
  if [ "$SYNC_STARTED" = 1 ]; then
    local src=0 to=()
    command -v timeout >/dev/null 2>&1 && to=(timeout -k 10 "$FINAL_SYNC_TIMEOUT")
    sync_args
    log "final sync: $CK -> $SYNC_TO"
    "${to[@]}" "$TB" sync "${SARGS[@]}" "$CK" "$SYNC_TO" >>"$STATE/sync.log" 9>&- || src=$?
    if [ "$src" = 0 ]; then log "final sync: done"
    else log "final sync: FAILED (exit $src): checkpoints newer than the last backup exist only on this machine"; fi
  fi
  if [ -e "$STATE/watchdog.fired" ]; then
    rm -f "$STATE/watchdog.pid" "$STATE/deadline" # it fired: it ends with this process (destroys only if this hangs)
  elif pid_alive "$WATCH_PID"; then
    if [ "$KEEP" = 1 ] && [ -n "$CONTAINER_ID" ]; then
      log "watchdog: pid $WATCH_PID stays: it destroys instance $CONTAINER_ID at $(cat "$STATE/deadline" 2>/dev/null) (MAX_HOURS)"
    else
      kill -TERM "$WATCH_PID" 2>/dev/null; wait "$WATCH_PID" 2>/dev/null
      rm -f "$STATE/watchdog.pid" "$STATE/deadline"
    fi
  fi
  if [ -e "$STATE/watchdog.fired" ] && [ "$KEEP" = 1 ]; then log "destroy: MAX_HOURS reached: KEEP=1 does not hold past it"; KEEP=0; fi
  destroy_self
  rm -f "$STATE/main.pid" "$STATE/watchdog.fired"
  log "exit $rc"
  exit "$rc"
}
on_signal() { SIGNAME=$1; exit "$2"; }
trap cleanup EXIT
trap 'on_signal TERM 143' TERM
trap 'on_signal INT 130' INT
trap 'on_signal HUP 129' HUP
log "start: pid $$, WORKDIR $WORKDIR, instance ${CONTAINER_ID:-none}"

# ---- watchdog (first, so that a step stuck below still ends within MAX_HOURS) ----
if [ -n "$WATCH_SECS" ]; then
  old=$(read_pid "$STATE/watchdog.pid")
  if pid_alive "$old" && [ -s "$STATE/deadline" ]; then
    WATCH_PID=$old
    log "watchdog: adopted pid $old from an earlier run (deadline $(cat "$STATE/deadline"))"
  else
    rm -f "$STATE/watchdog.fired"
    date -u -d "@$(( $(date +%s) + WATCH_SECS ))" '+%Y-%m-%dT%H:%M:%SZ' >"$STATE/deadline" 2>/dev/null ||
      echo "in ${WATCH_SECS}s" >"$STATE/deadline"
    (
      trap - EXIT INT HUP
      sp=
      trap 'kill "$sp" 2>/dev/null; exit 0' TERM
      sleep "$WATCH_SECS" & sp=$!
      wait "$sp"
      log "watchdog: MAX_HOURS=$MAX_HOURS reached"
      : >"$STATE/watchdog.fired"
      trap '' TERM
      main=$(read_pid "$STATE/main.pid")
      if pid_alive "$main"; then
        kill -TERM "$main"
        # the job's own shutdown: stop, final sync, destroy; if it hangs, destroy from here
        limit=$((STOP_GRACE + FINAL_SYNC_TIMEOUT + 120)) i=0
        while pid_alive "$main" && [ $i -lt $limit ]; do sleep 1; i=$((i + 1)); done
        pid_alive "$main" || exit 0
        log "watchdog: the job did not stop within ${limit}s: destroying anyway"
      fi
      KEEP=0 destroy_self
    ) >>"$STATE/watchdog.log" 2>&1 9>&- &
    WATCH_PID=$!
    echo "$WATCH_PID" >"$STATE/watchdog.pid"
    log "watchdog: pid $WATCH_PID stops the job and destroys the instance at $(cat "$STATE/deadline") (MAX_HOURS=$MAX_HOURS)"
  fi
fi

# ---- GPU ----
if command -v nvidia-smi >/dev/null 2>&1 && gpus=$(nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>&1); then
  log "gpu: $(printf '%s' "$gpus" | paste -sd ';' -)"
elif [ "$ALLOW_CPU" = 1 ]; then
  log "gpu: none usable (nvidia-smi missing or failing): running on the CPU (ALLOW_CPU=1 / --allow-cpu)"
elif command -v nvidia-smi >/dev/null 2>&1; then
  die 69 "gpu: nvidia-smi failed: $(printf '%s' "${gpus:-}" | head -n 1); pass --allow-cpu (ALLOW_CPU=1) to run without a GPU"
else
  die 69 "gpu: no GPU: nvidia-smi not found; pass --allow-cpu (ALLOW_CPU=1) to run without a GPU"
fi

# ---- trainbox ----
fetch_url() { # fetch_url URL FILE
  if command -v curl >/dev/null 2>&1; then curl -fsSL --retry 3 -o "$2" "$1"
  elif command -v wget >/dev/null 2>&1; then wget -q -O "$2" "$1"
  else log "trainbox: neither curl nor wget to download with"; return 1; fi
}
install_trainbox() {
  local tmp
  tmp=$(mktemp -d "$STATE/tbinstall.XXXXXX") || return 1
  if [ -n "$TRAINBOX_URL" ]; then
    log "trainbox: downloading $(redact "$TRAINBOX_URL")"
    fetch_url "$TRAINBOX_URL" "$tmp/dl" || { rm -rf "$tmp"; return 1; }
    case $TRAINBOX_URL in
      *.tar.gz|*.tgz|*.tar.gz\?*|*.tgz\?*)
        { mkdir "$tmp/x" && tar -xzf "$tmp/dl" -C "$tmp/x"; } || { rm -rf "$tmp"; return 1; }
        find "$tmp/x" -type f -name trainbox -exec mv {} "$tmp/trainbox" \; -quit ;;
      *) mv "$tmp/dl" "$tmp/trainbox" ;;
    esac
  else
    log "trainbox: building from $(redact "$TRAINBOX_REPO")${TRAINBOX_REF:+ at $TRAINBOX_REF}"
    if ! git clone -q "$TRAINBOX_REPO" "$tmp/src" ||
       { [ -n "$TRAINBOX_REF" ] && ! git -C "$tmp/src" checkout -q --detach "$TRAINBOX_REF"; }; then
      rm -rf "$tmp"; return 1
    fi
    if ! make -C "$tmp/src" -j"$(nproc 2>/dev/null || echo 2)" trainbox >&2; then
      if [ -x "$tmp/src/scripts/install-deps.sh" ] && [ "$(id -u)" = 0 ]; then
        log "trainbox: build failed: installing its build dependencies (scripts/install-deps.sh)"
        { "$tmp/src/scripts/install-deps.sh" >&2 && make -C "$tmp/src" trainbox >&2; } || { rm -rf "$tmp"; return 1; }
      else rm -rf "$tmp"; return 1; fi
    fi
    cp "$tmp/src/trainbox" "$tmp/trainbox"
  fi
  [ -f "$tmp/trainbox" ] || { log "trainbox: no trainbox binary in what was downloaded"; rm -rf "$tmp"; return 1; }
  chmod +x "$tmp/trainbox"
  { mkdir -p "$TRAINBOX_INSTALL_DIR" && mv -f "$tmp/trainbox" "$TRAINBOX_INSTALL_DIR/trainbox"; } || { rm -rf "$tmp"; return 1; }
  rm -rf "$tmp"
  "$TRAINBOX_INSTALL_DIR/trainbox" --version >/dev/null 2>&1 || { log "trainbox: the installed binary does not run"; return 1; }
}
case ":$PATH:" in *":$TRAINBOX_INSTALL_DIR:"*) ;; *) PATH=$TRAINBOX_INSTALL_DIR:$PATH; export PATH ;; esac
if command -v "$TB" >/dev/null 2>&1; then
  log "trainbox: found $(command -v "$TB") ($("$TB" --version 2>/dev/null | head -n 1))"
elif [ -n "$TRAINBOX_URL" ] || [ -n "$TRAINBOX_REPO" ]; then
  install_trainbox || die 69 "trainbox: install failed"
  log "trainbox: installed $TRAINBOX_INSTALL_DIR/trainbox ($("$TB" --version 2>/dev/null | head -n 1))"
elif [ -n "$SYNC_TO" ] || { [ -n "$CONTAINER_ID" ] && [ "$KEEP" != 1 ]; }; then
  die 69 "trainbox: not found on PATH and neither TRAINBOX_URL nor TRAINBOX_REPO is set: it is needed to back up and to destroy the instance"
else
  log "trainbox: not found and not needed (no SYNC_TO, nothing to destroy): install skipped"
fi

# ---- the job's repository ----
JOB=$WORKDIR
if [ -n "$REPO" ]; then
  JOB=$WORKDIR/repo
  if [ -d "$JOB/.git" ]; then
    have=$(git -C "$JOB" remote get-url origin 2>/dev/null)
    [ "$have" = "$REPO" ] || die 69 "repo: $JOB is a clone of $(redact "$have"), not of $(redact "$REPO")"
    log "repo: updating $JOB from $(redact "$REPO")"
    git -C "$JOB" fetch -q --tags --force origin || die 69 "repo: git fetch failed"
  else
    log "repo: cloning $(redact "$REPO") into $JOB"
    rm -rf "$JOB.part"
    { git clone -q "$REPO" "$JOB.part" && mv "$JOB.part" "$JOB"; } || die 69 "repo: git clone failed"
  fi
  if [ -n "$REF" ]; then
    if git -C "$JOB" rev-parse -q --verify "refs/remotes/origin/$REF^{commit}" >/dev/null; then target=origin/$REF
    elif git -C "$JOB" rev-parse -q --verify "$REF^{commit}" >/dev/null; then target=$REF
    else
      git -C "$JOB" fetch -q origin "$REF" || die 69 "repo: no ref $REF in $(redact "$REPO")"
      target=FETCH_HEAD
    fi
  else
    git -C "$JOB" remote set-head origin --auto >/dev/null 2>&1
    target=origin/HEAD
  fi
  git -C "$JOB" checkout -q --detach "$target" || die 69 "repo: cannot check out ${REF:-the default branch} (local changes?)"
  if [ -f "$JOB/.gitmodules" ]; then
    git -C "$JOB" submodule update -q --init --recursive || die 69 "repo: submodule update failed"
  fi
  log "repo: at ${REF:-the default branch} ($(git -C "$JOB" rev-parse --short HEAD))"
else
  log "repo: no REPO: the job runs in $JOB"
fi

# ---- dependencies ----
if [ "$SKIP_DEPS" = 1 ]; then
  log "deps: skipped (SKIP_DEPS=1 / --skip-deps)"
elif [ -f "$JOB/pyproject.toml" ] && command -v uv >/dev/null 2>&1; then
  log "deps: uv sync"
  (cd "$JOB" && uv sync) >&2 9>&- || die 69 "deps: uv sync failed"
elif [ -f "$JOB/requirements.txt" ]; then
  pip=(pip)
  command -v pip >/dev/null 2>&1 || pip=(python3 -m pip)
  log "deps: ${pip[*]} install -r requirements.txt"
  (cd "$JOB" && "${pip[@]}" install -r requirements.txt) >&2 9>&- || die 69 "deps: pip install failed"
else
  log "deps: none to install (no pyproject.toml with uv, no requirements.txt)"
fi
if [ -x "$JOB/.venv/bin/python" ]; then
  export VIRTUAL_ENV=$JOB/.venv PATH=$JOB/.venv/bin:$PATH
fi

# ---- checkpoints: restore the latest complete one when the directory is empty ----
case $SYNC_DIR in /*) CK=$SYNC_DIR ;; *) CK=$JOB/$SYNC_DIR ;; esac
mkdir -p "$CK" || die 73 "checkpoints: cannot create $CK"
CK=$(cd "$CK" && pwd)
json_str() { # json_str FIELD: a string field of the one JSON line on stdin
  if command -v jq >/dev/null 2>&1; then jq -r --arg f "$1" '.[$f] // empty'
  elif command -v python3 >/dev/null 2>&1; then python3 -c 'import json,sys; print(json.loads(sys.stdin.readline()).get(sys.argv[1], ""))' "$1"
  else sed -n "s/.*\"$1\": *\"\\([^\"]*\\)\".*/\\1/p"; fi
}
latest() { # latest URI: the latest complete checkpoint's uri (exit 66: none)
  local out rc=0
  out=$("$TB" discover --latest-checkpoint --marker "$MARKER" "$1" 2>"$STATE/discover.err" 9>&-) || rc=$?
  # "no checkpoint" (66) is news for the log line, not an error; anything else is shown
  [ $rc = 0 ] || [ $rc = 66 ] || cat "$STATE/discover.err" >&2
  [ $rc = 0 ] || return $rc
  printf '%s\n' "$out" | head -n 1 | json_str uri
}
RESUME=
if [ -z "$(ls -A "$CK")" ]; then
  if [ -n "$SYNC_TO" ]; then
    rc=0; uri=$(latest "$SYNC_TO") || rc=$?
    if [ $rc = 66 ]; then
      log "restore: no complete checkpoint under $SYNC_TO: training from scratch"
    elif [ $rc != 0 ] || [ -z "$uri" ]; then
      die 69 "restore: cannot look for checkpoints under $SYNC_TO (discover exit $rc): not training over the backup"
    else
      base=${uri%/} name=${base##*/}
      log "restore: $uri -> $CK/$name"
      if [ "$uri" != "$base" ]; then # a directory checkpoint: its files and its marker
        "$TB" sync -q "$uri" "$CK/$name/" >>"$STATE/sync.log" 9>&- || die 69 "restore: sync of $uri failed"
      else # a file checkpoint
        "$TB" sync -q --include "/$name" "${base%/*}/" "$CK/" >>"$STATE/sync.log" 9>&- || die 69 "restore: sync of $uri failed"
      fi
      [ -e "$CK/$name" ] || die 69 "restore: $uri did not arrive in $CK"
      RESUME=$CK/$name
      log "restore: done: resuming from $RESUME"
    fi
  else
    log "restore: no SYNC_TO: training from scratch"
  fi
else
  rc=0; uri=$(latest "$CK") || rc=$?
  if [ $rc = 0 ] && [ -n "$uri" ]; then
    RESUME=${uri%/}
    log "restore: $CK is not empty: resuming from its latest complete checkpoint $RESUME"
  else
    log "restore: $CK is not empty but holds no complete checkpoint: not restoring, no resume"
  fi
fi

# ---- background backup ----
if [ -n "$SYNC_TO" ]; then
  old=$(read_pid "$STATE/sync.pid")
  if pid_is "$old" sync; then
    SYNC_PID=$old
    log "backup: background sync pid $old from an earlier run adopted (not starting a second)"
  else
    sync_args
    "$TB" sync --every "$SYNC_EVERY" "${SARGS[@]}" "$CK" "$SYNC_TO" >>"$STATE/sync.log" 9>&- &
    SYNC_PID=$!
    echo "$SYNC_PID" >"$STATE/sync.pid"
    log "backup: trainbox sync --every $SYNC_EVERY ${SARGS[*]} $CK $SYNC_TO (pid $SYNC_PID, log $STATE/sync.log)"
  fi
  SYNC_STARTED=1
else
  log "backup: no SYNC_TO: checkpoints are not backed up"
fi

# ---- training ----
cmd=$RUN
if [ -n "$RESUME" ] && [ -n "$RESUME_ARG" ]; then
  q=$(printf '%q' "$RESUME")
  cmd="$RUN ${RESUME_ARG//\{\}/$q}"
fi
export TRAINBOX_RESUME=$RESUME TRAINBOX_CHECKPOINT_DIR=$CK
log "training: $cmd (in $JOB)"
if command -v setsid >/dev/null 2>&1; then
  (cd "$JOB" && exec setsid bash -c "$cmd") 9>&- &
else
  (cd "$JOB" && exec bash -c "$cmd") 9>&- &
fi
TRAIN_PID=$!
echo "$TRAIN_PID" >"$STATE/train.pid"
rc=0
wait "$TRAIN_PID" || rc=$?
TRAIN_PID=
log "training: exited with $rc"
exit "$rc"
