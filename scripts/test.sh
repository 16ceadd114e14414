#!/usr/bin/env bash
# The test suite: unit tests, PID-namespace integration tests, Docker tests.
# DRAINIT_REQUIRE_ALL=1 (set by CI) turns "skipped: no Docker / not root"
# into failures.
set -euo pipefail
cd "$(dirname "$0")/.."
export DRAINIT_STATIC_DIR="$PWD/target/static"
# Timing-sensitive integration tests share 2 cores: run 2 at a time.
cargo test --workspace --release -- --test-threads="${TEST_THREADS:-2}"
