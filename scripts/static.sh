#!/usr/bin/env bash
# Builds static, stripped drainit and drainit-demo into target/static/.
# musl when its target is installed, else the gnu target with +crt-static.
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/static
mkdir -p "$out"
if rustup target list --installed 2>/dev/null | grep -qx x86_64-unknown-linux-musl; then
    target=x86_64-unknown-linux-musl
    flags=""
else
    target=x86_64-unknown-linux-gnu
    flags="-C target-feature=+crt-static"
fi
# One package per build: cargo unifies features within a build, and the
# demo's tokio features (signal, ...) must not leak into drainit.
for pkg in drainit drainit-demo; do
    RUSTFLAGS="${RUSTFLAGS:-} $flags" cargo build --release --target "$target" -p "$pkg" -q
    cp "target/$target/release/$pkg" "$out/$pkg.new" && mv "$out/$pkg.new" "$out/$pkg"
done
printf 'static (%s): drainit %s bytes, drainit-demo %s bytes\n' "$target" \
    "$(stat -c %s "$out/drainit")" "$(stat -c %s "$out/drainit-demo")"
