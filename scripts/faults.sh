#!/usr/bin/env bash
# The whole syscall fault-injection matrix (issue 11): records which
# syscalls drainit makes in each phase (tests/faults/phases.tsv), then runs
# every case of tests/faults/matrix.py against the static drainit and
# prints the summary table. `make test` runs a sample (tests/faults.rs).
#
#   FAULTS_JOBS=5        cases run at once (mostly waiting: strace, timers)
#   FAULTS_RECORD=0      keep the committed phases.tsv instead of re-recording
#   FAULTS_ARGS="--phase drain"   any other matrix.py run options
set -euo pipefail
cd "$(dirname "$0")/.."
export DRAINIT_BIN="${DRAINIT_BIN:-$PWD/target/static/drainit}"
[ -x "$DRAINIT_BIN" ] || { echo "faults.sh: $DRAINIT_BIN missing: run 'make static'" >&2; exit 1; }
command -v strace >/dev/null || { echo "faults.sh: strace missing: run 'make deps'" >&2; exit 1; }
out=target/faults
mkdir -p "$out"
if [ "${FAULTS_RECORD:-1}" = 1 ]; then
    python3 tests/faults/matrix.py record
fi
start=$(date +%s)
status=0
# shellcheck disable=SC2086
python3 tests/faults/matrix.py run -j "${FAULTS_JOBS:-5}" --out "$out/results.tsv" ${FAULTS_ARGS:-} \
    | tee "$out/run.log" || status=$?
# The markdown of RELIABILITY.md section 8 (counts, failing groups).
python3 tests/faults/report.py "$out/run.log" >"$out/report.md"
echo "faults.sh: $(($(date +%s) - start)) s; the tables for RELIABILITY.md in $out/report.md; every case in $out/results.tsv, the log in $out/run.log"
exit "$status"
