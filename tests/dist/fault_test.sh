#!/usr/bin/env bash
# Runs tests/dist/fault_main.cpp under mpirun with a rank that fails (throw, kill or hang) and
# checks that the whole job stops within a bound, with a non-zero status, naming the failed rank.
# Usage: fault_test.sh MPIEXEC PROGRAM MODE RANKS
set -uo pipefail
mpiexec=$1 program=$2 mode=$3 ranks=$4
last=$((ranks - 1))
bound=40
start=$(date +%s)
output=$(timeout --kill-after=5 "$bound" "$mpiexec" --oversubscribe --bind-to none -np "$ranks" "$program" "$mode" 2>&1)
status=$?
elapsed=$(( $(date +%s) - start ))
echo "$output"
echo "fault_test: mode $mode, $ranks ranks: status $status after ${elapsed} s"
fail() { echo "fault_test: FAIL: $*"; exit 1; }
# (mpirun itself returns 137 for a rank killed by signal 9: tell a timeout by the clock)
((elapsed >= bound)) && fail "the job did not stop within $bound s"
((status == 0)) && fail "the job reported success"
grep -q "the fit ended without the failure" <<<"$output" && fail "a rank finished its fit as if nothing happened"
case $mode in
  throw)
    # the thrower's own error, and every other rank's naming it
    grep -q "rank $last: fit stopped: .*a failure injected at step 5" <<<"$output" || fail "rank $last's error is missing"
    for ((r = 0; r < last; ++r)); do
      grep -q "rank $r: fit stopped: dist: rank $last of $ranks failed" <<<"$output" ||
        fail "rank $r did not report rank $last's failure"
    done ;;
  kill)
    grep -q "process rank $last .*exited on signal 9" <<<"$output" || fail "mpirun did not name rank $last" ;;
  hang)
    grep -q "waited more than .* s: a rank did not reach it" <<<"$output" || fail "no rank timed out" ;;
  *) fail "unknown mode $mode" ;;
esac
echo "fault_test: PASS"
