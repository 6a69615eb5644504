#!/usr/bin/env bash
# test.sh — runs the test suite of build/ label by label (unit, golden, mpi, fault, slurm, hosts,
# fuzz, gpu), each under its time budget, and ends with one line "N passed, N failed, N skipped".
# Label `slow` is not run here; scripts/test-slow.sh runs it.
#   SF_BUILD_DIR          build directory (default: build)
#   SF_BUDGET_<label>     seconds allowed for a label (defaults below; .ci/run sets its own)
#   SF_TEST_LABELS        labels to run (default: "unit golden mpi fault slurm hosts fuzz gpu")
#   SF_TEST_TALLY         file to which "passed failed skipped" is appended (for .ci/run)
set -uo pipefail
cd "$(dirname "$0")/.."
build=${SF_BUILD_DIR:-build}
labels=${SF_TEST_LABELS:-unit golden mpi fault slurm hosts fuzz gpu}
declare -A default_budget=([unit]=240 [golden]=120 [mpi]=1320 [fault]=1080 [slurm]=360 [hosts]=240 [fuzz]=180
                           [gpu]=300 [slow]=3600)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
pass=0 fail=0 skip=0 status=0
mkdir -p "$build/test-results"
for label in $labels; do
    var="SF_BUDGET_$label"
    budget=${!var:-${default_budget[$label]:-600}}
    jobs=2
    case $label in mpi|fault|slurm|hosts) jobs=1 ;; esac
    junit="$build/test-results/$label.xml"
    rm -f "$junit"
    start=$(date +%s)
    timeout --signal=TERM --kill-after=10 "$budget" \
        ctest --test-dir "$build" -L "^${label}\$" -j "$jobs" --output-on-failure \
              --output-junit "$PWD/$junit" --no-tests=ignore
    rc=$?
    took=$(( $(date +%s) - start ))
    if [ $rc = 124 ] || [ $rc = 137 ]; then
        echo "test.sh: label '$label' exceeded its budget of ${budget}s"
        status=1
        fail=$((fail + 1))
        continue
    fi
    [ $rc = 0 ] || status=1
    if [ -f "$junit" ]; then
        p=$(grep -c '<testcase .*status="run"' "$junit"); f=$(grep -c '<testcase .*status="fail"' "$junit")
        s=$(grep -Ec '<testcase .*status="(notrun|disabled)"' "$junit")
        pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
        echo "test.sh: label $label: $p passed, $f failed, $s skipped in ${took}s (budget ${budget}s)"
    fi
done
echo
[ -n "${SF_TEST_TALLY:-}" ] && echo "$pass $fail $skip" >> "$SF_TEST_TALLY"
echo "$pass passed, $fail failed, $skip skipped"
exit $status
