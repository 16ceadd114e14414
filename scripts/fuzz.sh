#!/usr/bin/env bash
# `make fuzz`: the property tests of src/core/supervisor/proptests.rs with many
# more cases than CI runs (CI: 200,000 state-machine sequences and 20,000
# inputs per parser property, about 25 s).
#
#   PROPTEST_CASES=N   cases per property (default 2,000,000: ~5 min on 2 cores)
#
# Properties: the drain contract of the supervisor over random configs and
# random sequences of signals, child exits, tree-empty reports, probe
# results, traffic looks and clock advances (stop signal never before the
# delay unless cut short, no SIGKILL before the grace deadline, always an
# exit, exit code per the table), and the signal / rewrite / duration
# parsers (never panic, round trips). A failure prints the shrunk case with
# its whole timeline.
set -euo pipefail
cd "$(dirname "$0")/.."
export PROPTEST_CASES="${PROPTEST_CASES:-2000000}"
echo "fuzz: PROPTEST_CASES=$PROPTEST_CASES (release build, overflow checks off)"
start=$(date +%s)
cargo test -p drainit --release --bin drainit proptests -- --test-threads=2
echo "fuzz: release run passed in $(($(date +%s) - start)) s"
# The parsers once more with overflow checks on: the debug build panics on
# arithmetic overflow where the release build silently wraps.
PROPTEST_CASES=$((PROPTEST_CASES / 20)) \
    cargo test -p drainit --bin drainit -- --test-threads=2 \
    proptests::signal_parser proptests::duration_parser
echo "fuzz: done in $(($(date +%s) - start)) s"
