#!/usr/bin/env bash
# Benchmarks drainit against tini, dumb-init and catatonit (issue 5).
# Usage (as root, from anywhere): bash bench/run.sh
# Writes bench/RESULTS.md and prints it. Environment knobs: see bench/bench.py.
#   DRAINIT_BIN=/path/to/drainit   measure that binary instead of building one
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
    echo "bench/run.sh: run as root (apt-get, unshare --pid)" >&2
    exit 1
fi

# --- tools ------------------------------------------------------------------
need=()
for bin in tini:tini tini-static:tini dumb-init:dumb-init catatonit:catatonit \
    hyperfine:hyperfine strace:strace unshare:util-linux file:file python3:python3; do
    command -v "${bin%%:*}" >/dev/null 2>&1 || need+=("${bin##*:}")
done
if [ ${#need[@]} -gt 0 ]; then
    echo "bench: installing ${need[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y --no-install-recommends "${need[@]}" ||
        { apt-get update && apt-get install -y --no-install-recommends "${need[@]}"; }
fi

# --- drainit (static) -------------------------------------------------------
build_log=$(mktemp)
trap 'rm -f "$build_log"' EXIT
if [ -z "${DRAINIT_BIN:-}" ]; then
    if [ -f Makefile ] && grep -qE '^static:' Makefile; then
        build=(make static)   # static, stripped copy in target/static/
        export DRAINIT_BIN="$PWD/target/static/drainit"
    else
        build=(cargo build --release --target x86_64-unknown-linux-musl --bin drainit)
        export DRAINIT_BIN="$PWD/target/x86_64-unknown-linux-musl/release/drainit"
    fi
    echo "bench: ${build[*]}" >&2
    if ! "${build[@]}" 2>&1 | tee "$build_log" >&2; then
        # bench.py reports the drainit rows as n/a instead of failing the run.
        DRAINIT_BUILD_ERROR="\`${build[*]}\` failed: $(grep -m1 -E '^error' "$build_log" || tail -n1 "$build_log")"
        export DRAINIT_BUILD_ERROR
    fi
fi

# --- probe --------------------------------------------------------------------
cargo build --release -p drainit-bench-probe >&2
export PROBE_BIN="$PWD/target/release/drainit-bench-probe"

exec python3 bench/bench.py
