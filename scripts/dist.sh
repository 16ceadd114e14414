#!/usr/bin/env bash
# make dist: every release artifact into dist/, then dist/SHA256SUMS.
#
#   scripts/dist.sh                all targets rustup has a std for here
#   scripts/dist.sh bin T...       only the static binaries of targets T
#
# Static binaries, one per architecture, built by scripts/link.sh as
# scripts/static.sh builds the host's: rust-lld with the musl crt and libc
# that rustup ships with each musl std (or, for an architecture without a
# musl std here, the static glibc 2.36 of Debian's cross packages), non-PIE,
# stripped by the release profile; beside each, drainit-drill
# (docs/drill.md) built the same way. Then the .debs of each architecture,
# drainit and drainit-drill (packaging/deb.sh), the
# PyPI wheels for x86_64 and aarch64 (scripts/dist-wheel.sh), the crate
# (cargo package) and, when a Docker engine answers, the images
# (docker/build.sh dist).
#
# Reproducible: paths are remapped (--remap-path-prefix), dates come from
# SOURCE_DATE_EPOCH (the commit's date), the lock file is used as is.
# scripts/dist-repro.sh builds twice and compares.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/dist-env.sh
. scripts/dist-env.sh

# The targets, in the order tini lists its architectures. Where rustup
# serves no musl std (s390x never has one; armv7, riscv64gc and powerpc64le
# answered 404 on the machine this was written on) the architecture is
# built for its gnu target instead (dist_gnu_fallback): a static, non-PIE
# glibc binary, see link_flags.
ALL_TARGETS=${DIST_TARGETS:-"x86_64-unknown-linux-musl aarch64-unknown-linux-musl armv7-unknown-linux-musleabihf
i686-unknown-linux-musl riscv64gc-unknown-linux-musl powerpc64le-unknown-linux-musl
loongarch64-unknown-linux-musl s390x-unknown-linux-gnu"}

# link_flags TARGET: the rustc flags for scripts/link.sh. musl:
# none (rust-lld, rustup's self-contained crt and libc, non-PIE). gnu:
# rust-lld with the static glibc 2.36, libgcc and crt objects of Debian's
# cross packages (scripts/dist-env.sh, dist_link_flags); returns 1 with the
# reason when they are not installed.
link_flags() {
    dist_link_flags "$1"
}

# The target an architecture is built for: its musl target, or its gnu
# fallback when only that one's std is installed.
pick() {
    local t=$1 gnu installed
    installed=$(rustup target list --installed 2>/dev/null)
    if ! printf '%s\n' "$installed" | grep -qx "$t" && gnu=$(dist_gnu_fallback "$t") &&
        printf '%s\n' "$installed" | grep -qx "$gnu"; then
        echo "$gnu"
    else
        echo "$t"
    fi
}

# build TARGET: dist/drainit-VERSION-ARCH, or a line saying why not.
build() {
    local t arch flags out gnu
    t=$(pick "$1")
    arch=$(dist_arch "$t")
    if ! rustup target list --installed 2>/dev/null | grep -qx "$t"; then
        gnu=$(dist_gnu_fallback "$t" || true)
        echo "dist: skipped $t: no rustup std installed${gnu:+, nor one for $gnu} (scripts/deps.d/dist.sh could not add it)" >&2
        return 0
    fi
    if ! flags=$(link_flags "$t"); then
        echo "dist: skipped $t: $flags" >&2
        return 0
    fi
    out="dist/drainit-$DIST_VERSION-$arch"
    # shellcheck disable=SC2086 # the flags are words
    CARGO_TARGET_DIR="$DIST_TARGET_DIR" bash scripts/link.sh "$t" "$out.new" $flags $DIST_REMAP
    touch -d "@$SOURCE_DATE_EPOCH" "$out.new"
    mv "$out.new" "$out"
    case ",${DIST_DRILL_ARCHES:-all}," in
    *,all,* | *,"$arch",*) build_drill "$t" "$arch" "$flags" ;;
    esac
    return 0
}

# build_drill TARGET ARCH FLAGS: dist/drainit-drill-VERSION-ARCH
# (docs/drill.md), the same static link as drainit's (rust-lld, the musl
# crt and libc or the static glibc of FLAGS, non-PIE), or a line saying
# why not. A binary of its own: drainit's build and crate list are
# untouched by it. DIST_DRILL_ARCHES=x86_64,aarch64 builds only those
# (default all; scripts/ci-dist.sh sets it).
#
# The drill's TLS (ring, for an https:// --url) compiles C and assembly for
# TARGET: the host's cc for x86_64, clang --target=TRIPLE for the others
# (no cross gcc; the gnu targets' headers from Debian's cross libc).
build_drill() {
    local t=$1 arch=$2 flags=$3 self="" out log var cflags triple
    case "$t" in *-musl*) self="-C link-self-contained=yes" ;; esac
    out="dist/drainit-drill-$DIST_VERSION-$arch"
    var=$(echo "$t" | tr 'a-z-' 'A-Z_' | tr 'A-Z' 'a-z')
    case "$t" in
    x86_64-*) cflags="" ;;
    *-musl*) cflags="--target=$(echo "$t" | sed 's/-unknown-/-/; s/^riscv64gc/riscv64/')" ;;
    *)
        triple=$(dist_gnu_triple "$t")
        cflags="--target=$triple -isystem /usr/$triple/include"
        ;;
    esac
    if [ -n "$cflags" ] && ! command -v clang >/dev/null; then
        echo "dist: drainit-drill skipped for $t: its TLS (ring) needs clang to cross-compile C: apt-get install clang llvm (make deps)" >&2
        return 0
    fi
    if ! log=$(env ${cflags:+"CC_$var=clang" "CFLAGS_$var=$cflags" "AR_$var=llvm-ar"} \
        RUSTFLAGS="-C linker=rust-lld $self -C relocation-model=static $flags $DIST_REMAP" \
        CARGO_TARGET_DIR="$DIST_TARGET_DIR" cargo build --release --locked -q --target "$t" \
        -p drainit-drill --bin drainit-drill 2>&1); then
        echo "dist: drainit-drill skipped for $t: the build failed: $(printf '%s\n' "$log" | grep -m1 -E '^error' || printf '%s\n' "$log" | tail -n 1)" >&2
        return 0
    fi
    install -m 755 "$DIST_TARGET_DIR/$t/release/drainit-drill" "$out.new"
    touch -d "@$SOURCE_DATE_EPOCH" "$out.new"
    mv "$out.new" "$out"
}

sums() {
    (cd dist && find . -maxdepth 1 -type f ! -name SHA256SUMS -printf '%P\n' | sort |
        xargs -r sha256sum >SHA256SUMS)
}

sizes() {
    echo "dist/ ($DIST_VERSION, git.$DRAINIT_GIT_COMMIT):"
    (cd dist && find . -maxdepth 1 -type f -printf '%P %s\n' | sort | awk '{printf "  %-44s %9d bytes\n", $1, $2}')
}

mkdir -p dist
if [ "${1:-}" = bin ]; then
    shift
    for t in "$@"; do build "$t"; done
    exit 0
fi
# A release is one version: stale artifacts of another version go.
find dist -maxdepth 1 -type f ! -name "*$DIST_VERSION*" ! -name SHA256SUMS -delete
for t in $ALL_TARGETS; do build "$t"; done
bash scripts/dist-gen.sh
for t in $ALL_TARGETS; do
    bin="dist/drainit-$DIST_VERSION-$(dist_arch "$t")"
    [ -f "$bin" ] && bash packaging/deb.sh "$bin" "$(dist_deb_arch "$t")"
    drill="dist/drainit-drill-$DIST_VERSION-$(dist_arch "$t")"
    [ -f "$bin" ] && [ -f "$drill" ] && bash packaging/deb.sh --drill "$drill" "$(dist_deb_arch "$t")"
done
bash scripts/dist-wheel.sh
bash scripts/dist-crate.sh
if docker info >/dev/null 2>&1; then
    DRAINIT_DIST_DIR="$PWD/dist" bash docker/build.sh dist
else
    echo "dist: no Docker engine answers: images not built" >&2
fi
sums
sizes
