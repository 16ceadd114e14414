#!/usr/bin/env bash
# The crate as crates.io would get it: `cargo package` checks the
# metadata and builds the packaged source on its own; the .crate goes to
# dist/.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/dist-env.sh
# --allow-dirty: make dist also runs on a tree with changes (their commit
# says -dirty); a release is cut from a clean tree.
# The verification build is a host debug build: in target/dist-host, where
# scripts/dist-test.sh builds tests/dist.rs, so the two share it.
CARGO_TARGET_DIR=target/dist-host cargo package -q --locked --allow-dirty -p drainit
cp "target/dist-host/package/drainit-$DIST_VERSION.crate" dist/
echo "dist: dist/drainit-$DIST_VERSION.crate"
