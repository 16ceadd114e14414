#!/usr/bin/env bash
# scripts/layout/build.sh TARGET OUT [RUSTFLAGS...]
#
# The one build step for a static drainit: links drainit for TARGET with
# rust-lld, with its code layout, and writes the stripped binary to OUT.
# For a musl TARGET, with the musl crt and libc that rustup ships with the
# target's std (-C linker=rust-lld -C link-self-contained=yes: stable rustc
# flags, no cross gcc, no path inside the toolchain). For a gnu TARGET
# (static glibc, for architectures rustup has no musl std for), the caller
# passes the C library's paths and crt objects as the extra rustc flags
# (scripts/dist-env.sh, dist_link_flags). scripts/static.sh (the host's
# build) and scripts/dist.sh (every architecture) both use it.
#
# The layout: the functions of drainit's steady state (scripts/layout/hot.txt,
# demangled names without hashes, made by `make layout`) come first in .text,
# so an idle drainit touches a few adjacent pages of code instead of pages
# all over its 1 MB (`make bench`: idle VmRSS 388 kB with it, 1,000 kB
# without). lld's --symbol-ordering-file needs the mangled names of this very
# build, so the ordering file is made from the linked binary; when it differs
# from the one the link used, drainit is linked again with the new one. The
# ordering file's name carries a hash of its content and is passed to the
# binary's compilation only (`cargo rustc -- ...`), so a new ordering relinks
# drainit without rebuilding any dependency, and an unchanged one costs
# nothing. Names in hot.txt that a build lacks (another toolchain, another
# architecture, changed code) are skipped: a stale list costs memory, never
# correctness.
set -euo pipefail
cd "$(dirname "$0")/../.."
target=$1 out=$2
shift 2
extra="$*"
tdir=${CARGO_TARGET_DIR:-$PWD/target}
built="$tdir/$target/release/drainit"
state="$tdir/layout/$target"
mkdir -p "$state"
pie="-C relocation-model=static"
[ "${DRAINIT_PIE:-0}" = 1 ] && pie=""
case "$target" in
*-musl*) self="-C link-self-contained=yes" ;;
*-linux-gnu*)
    self=""
    case "$extra" in
    *crt1.o*) ;;
    *) echo "layout/build.sh: $target: a static glibc link needs its crt objects and libc.a (scripts/dist-env.sh dist_link_flags)" >&2; exit 2 ;;
    esac
    [ -z "$pie" ] && { echo "layout/build.sh: $target: no static-pie with glibc here (Debian's cross libc has no rcrt1.o)" >&2; exit 2; }
    ;;
*) echo "layout/build.sh: $target is neither a musl nor a linux-gnu target" >&2; exit 2 ;;
esac
export RUSTFLAGS="-C linker=rust-lld $self $pie $extra"
export CARGO_PROFILE_RELEASE_STRIP=false # the ordering is read from the symbols
[ -f "$state/current" ] || { : >"$state/drainit-empty.order" && echo drainit-empty.order >"$state/current"; }
link() {
    cargo rustc --release --locked --target "$target" -p drainit --bin drainit -q -- \
        -C "link-arg=--symbol-ordering-file=$state/$(cat "$state/current")" \
        -C link-arg=--no-warn-symbol-ordering
}
link
python3 scripts/layout/order.py "$built" scripts/layout/hot.txt "$state/new.order" >&2
sum=$(sha256sum "$state/new.order" | cut -c1-12)
if [ "drainit-$sum.order" != "$(cat "$state/current")" ]; then
    mv "$state/new.order" "$state/drainit-$sum.order"
    echo "drainit-$sum.order" >"$state/current"
    link
else
    rm -f "$state/new.order"
fi
strip -o "$out.new" "$built"
mv "$out.new" "$out"
