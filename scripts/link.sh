#!/usr/bin/env bash
# scripts/link.sh TARGET OUT [RUSTFLAGS...]
#
# The one build step for a static drainit: one ordinary cargo build of
# drainit for TARGET, linked by rust-lld, stripped by the release profile,
# copied to OUT. For a musl TARGET, with the musl crt and libc that rustup
# ships with the target's std (-C linker=rust-lld -C link-self-contained=yes:
# stable rustc flags, no cross gcc, no path inside the toolchain). For a gnu
# TARGET (static glibc, for architectures rustup has no musl std for), the
# caller passes the C library's paths and crt objects as the extra rustc
# flags (scripts/dist-env.sh, dist_link_flags). scripts/static.sh (the
# host's build) and scripts/dist.sh (every architecture) both use it.
#
# No code layout, no second link: the clean pages of the binary are page
# cache that every container running it shares; what a container costs is
# its private dirty memory, which the order of the code does not change
# (`make bench`, figure 3).
set -euo pipefail
cd "$(dirname "$0")/.."
target=$1 out=$2
shift 2
extra="$*"
tdir=${CARGO_TARGET_DIR:-$PWD/target}
built="$tdir/$target/release/drainit"
pie="-C relocation-model=static"
[ "${DRAINIT_PIE:-0}" = 1 ] && pie=""
case "$target" in
*-musl*) self="-C link-self-contained=yes" ;;
*-linux-gnu*)
    self=""
    case "$extra" in
    *crt1.o*) ;;
    *) echo "link.sh: $target: a static glibc link needs its crt objects and libc.a (scripts/dist-env.sh dist_link_flags)" >&2; exit 2 ;;
    esac
    [ -z "$pie" ] && { echo "link.sh: $target: no static-pie with glibc here (Debian's cross libc has no rcrt1.o)" >&2; exit 2; }
    ;;
*) echo "link.sh: $target is neither a musl nor a linux-gnu target" >&2; exit 2 ;;
esac
# x86 musl: musl's static start-up never write-protects the RELRO segment
# (it stays rw-p in /proc/PID/maps), so -z norelro gives up nothing, and
# with -z separate-loadable-segments the writable data starts on a page of
# its own: two private pages in every drainit instead of three (`make
# bench`, figure 3b) for 5 kB more file. Not where lld pads segments to
# 64 kB pages (aarch64, ppc64le), nor with glibc, which does protect RELRO.
case "$target" in
x86_64-*-musl* | i686-*-musl*) self="$self -C link-arg=-znorelro -C link-arg=-zseparate-loadable-segments" ;;
esac
RUSTFLAGS="-C linker=rust-lld $self $pie $extra" \
    cargo build --release --locked --target "$target" -p drainit --bin drainit -q
cp "$built" "$out.new"
mv "$out.new" "$out"
