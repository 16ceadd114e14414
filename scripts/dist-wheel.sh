#!/usr/bin/env bash
# The PyPI wheels for x86_64 and aarch64 into dist/: maturin with
# bindings = "bin" (pyproject.toml). The binary is static musl, so one
# wheel carries both the manylinux and the musllinux tag, like dumb-init's.
# maturin builds with the same flags and target directory as
# scripts/dist.sh, so it reuses that build.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/dist-env.sh
command -v maturin >/dev/null || { echo "dist-wheel: maturin missing: run make deps" >&2; exit 1; }
for t in ${DIST_WHEEL_TARGETS:-x86_64-unknown-linux-musl aarch64-unknown-linux-musl}; do
    if ! rustup target list --installed 2>/dev/null | grep -qx "$t"; then
        echo "dist-wheel: skipped $t: no rustup std installed" >&2
        continue
    fi
    RUSTFLAGS="-C linker=rust-lld -C link-self-contained=yes -C relocation-model=static $DIST_REMAP" \
        CARGO_TARGET_DIR="$DIST_TARGET_DIR" \
        maturin build --quiet --release --locked --target "$t" \
        --compatibility manylinux2014 musllinux_1_2 --out dist >/dev/null
done
ls dist/*.whl | sed 's/^/dist: /'
