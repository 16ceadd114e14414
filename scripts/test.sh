#!/usr/bin/env bash
# The test suite: unit tests, PID-namespace integration tests, Docker tests,
# each test in a process of its own (cargo-nextest, .config/nextest.toml:
# the integration suites 2 at a time on this 2-core machine).
# DRAINIT_REQUIRE_ALL=1 (set by CI) turns "skipped: no Docker / not root"
# into failures.
#
#   scripts/test.sh [NEXTEST ARGS...]   the whole suite (`make test`)
#   scripts/test.sh stress              `make test-stress`, see below
set -euo pipefail
cd "$(dirname "$0")/.."
export DRAINIT_STATIC_DIR="$PWD/target/static"

if ! cargo nextest --version >/dev/null 2>&1; then
    echo "test.sh: cargo-nextest is missing: run \`make deps\` (scripts/deps.sh installs it)" >&2
    exit 1
fi

# `make test-stress`: each integration suite STRESS_ROUNDS times in a row
# (default 20; STRESS_SUITES="routing core drain" by default; STRESS_FILTER
# a nextest filterset within them, e.g. 'test(/killpg/)') while a busy loop
# keeps a second core loaded, then a summary: rounds, and for every test
# that failed, how often. Exit 1 on any failure.
stress() {
    local rounds=${STRESS_ROUNDS:-20}
    local suites=${STRESS_SUITES:-routing core drain}
    local filter=${STRESS_FILTER:-all()}
    local out=target/stress
    rm -rf "$out"
    mkdir -p "$out"
    local suite args=()
    for suite in $suites; do args+=(--test "$suite"); done
    # Built once: every round runs the same binaries, whatever is edited
    # (or rebuilt by someone else) meanwhile.
    cargo nextest archive --release "${args[@]}" --archive-file "$out/tests.tar.zst"
    # The load: one process spinning on a core of its own for the whole run.
    bash -c 'while :; do :; done' &
    local load=$!
    trap 'kill "$load" 2>/dev/null || true' EXIT
    local round started=$SECONDS
    for suite in $suites; do
        for ((round = 1; round <= rounds; round++)); do
            local log="$out/$suite-$round.log"
            if cargo nextest run --archive-file "$out/tests.tar.zst" --workspace-remap . \
                --profile stress -E "binary_id(drainit::$suite) & ($filter)" "$@" >"$log" 2>&1; then
                echo "stress: $suite round $round/$rounds passed" >&2
            else
                echo "stress: $suite round $round/$rounds FAILED (see $log)" >&2
            fi
            cp target/nextest/stress/junit.xml "$out/$suite-$round.xml" 2>/dev/null || true
        done
    done
    kill "$load" 2>/dev/null || true
    trap - EXIT
    python3 - "$out" "$rounds" "$((SECONDS - started))" $suites <<'EOF'
import glob, os, sys
import xml.etree.ElementTree as ET

out, rounds, secs, suites = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
bad = 0
print(f"test-stress: {rounds} rounds of {', '.join(suites)} with a second core loaded ({secs} s)")
for suite in suites:
    runs, failed, missing = 0, {}, 0
    for r in range(1, rounds + 1):
        path = os.path.join(out, f"{suite}-{r}.xml")
        if not os.path.exists(path):
            missing += 1
            continue
        for case in ET.parse(path).getroot().iter("testcase"):
            runs += 1
            if case.find("failure") is not None or case.find("error") is not None:
                failed[case.get("name")] = failed.get(case.get("name"), 0) + 1
    total = sum(failed.values())
    bad += total + missing
    print(f"  {suite}: {runs} test runs, {total} failed" + (f", {missing} rounds without a report" if missing else ""))
    for name, n in sorted(failed.items(), key=lambda kv: -kv[1]):
        print(f"    {n}/{rounds}  {name}")
sys.exit(1 if bad else 0)
EOF
}

if [ "${1:-}" = stress ]; then
    shift
    stress "$@"
    exit
fi

cargo nextest run --workspace --release "$@"
# Doctests are not nextest's: run them when the crates have any.
if grep -rqE '^\s*//[/!] ```' src demo/src tools bench/probe/src 2>/dev/null; then
    cargo test --workspace --release --doc
fi
