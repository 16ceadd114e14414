#!/usr/bin/env bash
# The part of make dist-test that CI runs: x86_64 and aarch64 only.
# Builds both static binaries, runs the unit tests and tests/core.rs and
# tests/drain.rs for aarch64 under qemu-user (x86_64's are make test's),
# then checks both binaries as PID 1, their --version and build paths, and
# the FROM scratch images of both platforms (the arm64 one run through
# Docker under qemu-user).
#
# drainit-drill is built for x86_64 only here (its image carries it and
# the images test runs it): about 1 min when only the drill changed, 2.5
# min cold, on two cores. The aarch64 drill is as much again (ring through
# clang), so it is gated: DIST_CI_DRILL_ARCHES=x86_64,aarch64 adds it,
# DIST_CI_DRILL_ARCHES=none leaves the drill out (make dist builds it for
# every architecture).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/dist-env.sh
drills=${DIST_CI_DRILL_ARCHES:-x86_64}
DIST_DRILL_ARCHES=$drills bash scripts/dist.sh bin x86_64-unknown-linux-musl aarch64-unknown-linux-musl
DIST_SETUP_DEBIAN=0 DIST_TEST_ARTIFACTS=0 bash scripts/dist-test.sh aarch64-unknown-linux-musl
DRAINIT_DIST_DIR="$PWD/dist" bash docker/build.sh dist
DRAINIT_DIST_ARCHES=x86_64,aarch64 DRAINIT_DIST_DRILL_ARCHES=$drills CARGO_TARGET_DIR=target/dist-host \
    cargo test --locked -p drainit --test dist -- --ignored \
    --test-threads=1 every_static_binary_runs_as_pid1 version_names_the_git_commit binaries_carry_no_build_paths \
    images_run_on_their_platforms
