#!/usr/bin/env bash
# Run every libFuzzer target of tests/fuzz/ (built by `make fuzz` into $FUZZ_BUILD/fuzz/) for
# FUZZ_SECONDS each from its seed corpus, FUZZ_JOBS at a time; one summary line per target and a
# closing "N targets, N crashed". New inputs go to a scratch corpus under the build dir (the
# committed seeds stay as they are); a crashing input is saved as tests/fuzz/crashes/NAME-crash-*
# (copy it into tests/fuzz/regress/NAME/ once fixed: `make unit` then replays it as a test).
#   scripts/run-fuzz.sh [NAME...]     (default: every target)
# Environment: FUZZ_SECONDS (30), FUZZ_JOBS (2), FUZZ_BUILD (build-fuzz).
set -u
cd "$(dirname "$0")/.."
secs=${FUZZ_SECONDS:-30}
jobs=${FUZZ_JOBS:-2}
build=${FUZZ_BUILD:-build-fuzz}
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for f in tests/fuzz/fuzz_*.c; do n=${f#tests/fuzz/fuzz_}; names+=("${n%.c}"); done
fi
mkdir -p tests/fuzz/crashes "$build/logs"

run_one() {
  local n=$1 bin="$build/fuzz/fuzz_$1" log="$build/logs/$1.log" work="$build/corpus/$1"
  local max_len
  max_len=$(sed -n 's/^#define FUZZ_MAX_LEN \([0-9]*\).*/\1/p' "tests/fuzz/fuzz_$n.c")
  mkdir -p "$work" "tests/fuzz/corpus/$n"
  [ -x "$bin" ] || { echo "fuzz $n: FAILED (no $bin: run make fuzz)"; return 1; }
  # -timeout: one input running 10 s is a hang; -rss_limit_mb: memory must stay bounded
  "$bin" -max_total_time="$secs" -max_len="${max_len:-4096}" -timeout=10 -rss_limit_mb=512 \
    -print_final_stats=1 -artifact_prefix="tests/fuzz/crashes/$n-" "$work" "tests/fuzz/corpus/$n" >"$log" 2>&1
  local rc=$?
  local execs speed
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  if [ "$rc" -eq 0 ]; then
    echo "fuzz $n: ok, ${execs:-?} executions (${speed:-?}/s) in ${secs} s"
  else
    echo "fuzz $n: CRASHED (exit $rc) after ${execs:-?} executions; log $log, input:"
    grep -E '^(==[0-9]+==ERROR|SUMMARY|.*invariant failed|artifact_prefix|Test unit written)' "$log" | head -8 | sed 's/^/  /'
    return 1
  fi
}

export -f run_one
export secs build
printf '%s\n' "${names[@]}" | xargs -P "$jobs" -I{} bash -c 'run_one "$@"' _ {} >"$build/logs/summary" 2>&1
cat "$build/logs/summary"
bad=$(grep -c ': CRASHED\|: FAILED' "$build/logs/summary")
echo "${#names[@]} targets, $bad crashed"
[ "$bad" -eq 0 ]
