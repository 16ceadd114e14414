#!/usr/bin/env bash
# Builds static, stripped drainit and drainit-demo into target/static/.
# musl when its target is installed, else the gnu target with +crt-static.
#
# drainit is linked with rust-lld and a symbol ordering file made from
# scripts/layout/hot.txt: the functions of its steady state come first in
# .text, so an idle drainit touches a few adjacent pages of code instead of
# one here and there across 1 MB (see scripts/layout/profile.sh). The
# ordering file names the symbols of this very build, so the first link
# writes it and, when it changed, a second link uses it.
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
fi
pie=""
[ "${DRAINIT_PIE:-0}" = 1 ] || pie="-C relocation-model=static"
built=target/$target/release
gcc_ld="$(rustc --print sysroot)/lib/rustlib/x86_64-unknown-linux-gnu/bin/gcc-ld"
order="$PWD/target/drainit.order"
layout="$pie"
ordered=""
if [ "$target" = x86_64-unknown-linux-musl ] && [ -x "$gcc_ld/ld.lld" ]; then
    [ -f "$order" ] || : >"$order"
    ordered=1
    layout="$pie -C link-arg=-fuse-ld=lld -C link-arg=-B$gcc_ld -C link-arg=-Wl,--symbol-ordering-file=$order -C link-arg=-Wl,--no-warn-symbol-ordering"
else
    echo "static.sh: no rust-lld for $target: drainit is linked without its code layout" >&2
fi
# Unstripped here (order.py reads the symbols), stripped into $out below.
build() {
    CARGO_PROFILE_RELEASE_STRIP=false RUSTFLAGS="${RUSTFLAGS:-} $flags $2" \
        cargo build --release --target "$target" -p "$1" -q
}
# One package per build: cargo unifies features within a build, and the
# demo's tokio features (signal, ...) must not leak into drainit.
build drainit "$layout"
if [ -n "$ordered" ]; then
    python3 scripts/layout/order.py "$built/drainit" scripts/layout/hot.txt "$order.new"
    if ! cmp -s "$order.new" "$order"; then
        mv "$order.new" "$order"
        touch src/main.rs # the ordering file is not one of cargo's inputs
        build drainit "$layout"
    fi
    rm -f "$order.new"
fi
build drainit-demo ""
for pkg in drainit drainit-demo; do
    strip -o "$out/$pkg.new" "$built/$pkg" && mv "$out/$pkg.new" "$out/$pkg"
done
printf 'static (%s): drainit %s bytes, drainit-demo %s bytes\n' "$target" \
    "$(stat -c %s "$out/drainit")" "$(stat -c %s "$out/drainit-demo")"
