#!/usr/bin/env bash
# Run the C unit tests and the bats suites; print one closing "N passed, N failed" line.
#   scripts/run-tests.sh fast   unit + bats without the tests tagged slow (what `make check` runs)
#   scripts/run-tests.sh slow   only the bats tests tagged slow
#   scripts/run-tests.sh unit   only the unit tests (under valgrind when TB_VALGRIND=1)
set -u
mode=${1:-fast}
cd "$(dirname "$0")/.."
build=${TB_BUILD:-build}
pass=0 fail=0
failed_names=()

if [ "$mode" != slow ]; then
  for t in "$build"/unit/test_*; do
    [ -x "$t" ] || continue
    if [ "${TB_VALGRIND:-0}" = 1 ]; then
      out=$(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite "$t" 2>&1); rc=$?
    else
      out=$("$t" 2>&1); rc=$?
    fi
    p=$(grep -c '^ok ' <<<"$out"); f=$(grep -c '^not ok ' <<<"$out")
    [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
    pass=$((pass + p)); fail=$((fail + f))
    if [ "$f" -ne 0 ]; then echo "$out"; failed_names+=("$t"); fi
    echo "unit $(basename "$t"): $p passed, $f failed (exit $rc)"
  done
fi

if [ "$mode" != unit ]; then
  filter='!slow'
  [ "$mode" = slow ] && filter='slow'
  shopt -s nullglob
  suites=(tests/*.bats)
  if [ ${#suites[@]} -gt 0 ]; then
    out=$(bats --tap --filter-tags "$filter" "${suites[@]}" 2>&1); rc=$?
    echo "$out"
    p=$(grep -c '^ok ' <<<"$out"); f=$(grep -c '^not ok ' <<<"$out")
    [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && { f=1; failed_names+=("bats exited $rc"); }
    pass=$((pass + p)); fail=$((fail + f))
  fi
fi
[ ${#failed_names[@]} -gt 0 ] && printf 'failed: %s\n' "${failed_names[@]}"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
