#!/usr/bin/env bash
# Builds static, stripped drainit and drainit-demo into target/static/.
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/static
mkdir -p "$out"
if rustup target list --installed 2>/dev/null | grep -qx x86_64-unknown-linux-musl; then
    target=x86_64-unknown-linux-musl
    cargo build --release --target "$target" -p drainit -p drainit-demo -q
else
    target=x86_64-unknown-linux-gnu
    RUSTFLAGS="-C target-feature=+crt-static" \
        cargo build --release --target "$target" -p drainit -p drainit-demo -q
fi
for bin in drainit drainit-demo; do
    cp "target/$target/release/$bin" "$out/$bin.new" && mv "$out/$bin.new" "$out/$bin"
done
printf 'static (%s): drainit %s bytes, drainit-demo %s bytes\n' "$target" \
    "$(stat -c %s "$out/drainit")" "$(stat -c %s "$out/drainit-demo")"
