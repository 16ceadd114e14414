#!/usr/bin/env bash
# Builds static, stripped drainit and drainit-demo into target/static/.
# musl when its target is installed, else the gnu target with +crt-static.
#
# drainit is one cargo build, linked by rust-lld (scripts/link.sh); without
# the musl target, by cargo with the gnu target and +crt-static.
#
# drainit is a static non-PIE executable, like tini-static (Docker's
# docker-init) and catatonit: nothing to relocate at start-up, and its
# read-only data stays clean page cache instead of private copies. That is
# about a sixth of its start-up. The price is a fixed address for its own
# code and data (stack, heap and mappings are still randomised);
# DRAINIT_PIE=1 builds a static-pie instead.
set -euo pipefail
cd "$(dirname "$0")/.."
export LC_ALL=C
# `drainit --version` names the commit (Docker parses tini's
# `tini version X - git.Y` line); scripts/dist-env.sh says how.
if [ -z "${DRAINIT_GIT_COMMIT+set}" ]; then
    DRAINIT_GIT_COMMIT=$(git rev-parse --short=7 HEAD 2>/dev/null || true)
fi
export DRAINIT_GIT_COMMIT
out=target/static
mkdir -p "$out"
if rustup target list --installed 2>/dev/null | grep -qx x86_64-unknown-linux-musl; then
    target=x86_64-unknown-linux-musl
    flags=""
else
    target=x86_64-unknown-linux-gnu
    flags="-C target-feature=+crt-static"
    [ "${DRAINIT_PIE:-0}" = 1 ] || flags="$flags -C relocation-model=static"
fi
built=target/$target/release
# scripts/static.sh drill: target/static/drainit-drill alone (make image
# puts it beside /drainit), with the demo's flags (one set of RUSTFLAGS in
# target/, so neither rebuilds the other's dependencies).
if [ "${1:-}" = drill ]; then
    RUSTFLAGS="${RUSTFLAGS:-} $flags" cargo build --release --locked --target "$target" -p drainit-drill -q
    cp "$built/drainit-drill" "$out/drainit-drill"
    printf 'static (%s): drainit-drill %s bytes\n' "$target" "$(stat -c %s "$out/drainit-drill")"
    exit 0
fi
# One package per build: cargo unifies features within a build, and the
# demo's tokio features (signal, ...) must not leak into drainit.
if [ "$target" = x86_64-unknown-linux-musl ]; then
    bash scripts/link.sh "$target" "$out/drainit"
else
    RUSTFLAGS="${RUSTFLAGS:-} $flags" cargo build --release --target "$target" -p drainit -q
    cp "$built/drainit" "$out/drainit"
fi
RUSTFLAGS="${RUSTFLAGS:-} $flags" cargo build --release --target "$target" -p drainit-demo -q
cp "$built/drainit-demo" "$out/drainit-demo"
printf 'static (%s): drainit %s bytes, drainit-demo %s bytes\n' "$target" \
    "$(stat -c %s "$out/drainit")" "$(stat -c %s "$out/drainit-demo")"
