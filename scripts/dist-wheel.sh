#!/usr/bin/env bash
# The PyPI wheels for x86_64 and aarch64 into dist/: maturin with
# bindings = "bin" (pyproject.toml). The binary is static musl, so one
# wheel carries both the manylinux and the musllinux tag, like dumb-init's.
# maturin builds with the same flags and target directory as
# scripts/dist.sh, so it reuses that build. Each wheel also carries that
# architecture's dist/drainit-drill-VERSION-ARCH as a script (pyproject's
# data directory, <name>.data/scripts/: pip installs it into bin/).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/dist-env.sh
command -v maturin >/dev/null || { echo "dist-wheel: maturin missing: run make deps" >&2; exit 1; }
for t in ${DIST_WHEEL_TARGETS:-x86_64-unknown-linux-musl aarch64-unknown-linux-musl}; do
    if ! rustup target list --installed 2>/dev/null | grep -qx "$t"; then
        echo "dist-wheel: skipped $t: no rustup std installed" >&2
        continue
    fi
    data=target/dist/wheel-data # pyproject.toml names it
    rm -rf "$data"
    mkdir -p "$data/scripts"
    drill="dist/drainit-drill-$DIST_VERSION-$(dist_arch "$t")"
    [ -x "$drill" ] || { echo "dist-wheel: $drill missing: run scripts/dist.sh" >&2; exit 1; }
    install -m 755 "$drill" "$data/scripts/drainit-drill"
    touch -d "@$SOURCE_DATE_EPOCH" "$data/scripts/drainit-drill"
    RUSTFLAGS="-C linker=rust-lld -C link-self-contained=yes -C relocation-model=static $DIST_REMAP" \
        CARGO_TARGET_DIR="$DIST_TARGET_DIR" \
        maturin build --quiet --release --locked --target "$t" \
        --compatibility manylinux2014 musllinux_1_2 --out dist >/dev/null
done
ls dist/*.whl | sed 's/^/dist: /'
