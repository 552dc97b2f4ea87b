#!/usr/bin/env bash
# The whole test suite three times in a row with two busy processes beside it, as on a
# loaded machine: a test that depends on timing shows up here.  Prints each run's result
# and time; exits non-zero if any run failed.  The busy loops are killed on exit, however
# the script ends.
#
#   bash bench/stress_suite.sh                 # 3 runs of `pytest -q`
#   RUNS=5 BUSY=3 bash bench/stress_suite.sh -x tests/test_store_kill.py
#
# Extra arguments go to pytest.  Takes about three times the suite's time: run it on a
# machine nobody else is using.
set -u
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
RUNS=${RUNS:-3}
BUSY=${BUSY:-2}

busy=()
cleanup() {
    for pid in "${busy[@]}"; do
        kill "$pid" 2>/dev/null
    done
    wait 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for _ in $(seq "$BUSY"); do
    "$PYTHON" -c 'while True: pass' &
    busy+=("$!")
done
echo "stress: $BUSY busy processes (${busy[*]}) beside $RUNS runs of pytest -q $*"

failed=0
results=()
for run in $(seq "$RUNS"); do
    start=$(date +%s)
    "$PYTHON" -m pytest -q -p no:cacheprovider "$@" > "/tmp/stress-suite-run-$run.log" 2>&1
    code=$?
    took=$(( $(date +%s) - start ))
    summary=$(tail -n 1 "/tmp/stress-suite-run-$run.log")
    if [ "$code" -eq 0 ]; then word=PASS; else word=FAIL; failed=1; fi
    line="run $run/$RUNS: $word (exit $code) in ${took} s: $summary"
    results+=("$line")
    echo "$line"
    if [ "$code" -ne 0 ]; then
        grep -E '^(FAILED|ERROR) ' "/tmp/stress-suite-run-$run.log" | sed 's/^/    /'
    fi
done

echo
printf '%s\n' "${results[@]}"
echo "logs: /tmp/stress-suite-run-{1..$RUNS}.log; load average now: $(cut -d' ' -f1-3 /proc/loadavg)"
exit "$failed"
