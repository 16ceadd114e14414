# Sourced by the dist scripts: the version, the commit, the reproducible-
# build settings and the architecture names, in one place.
DIST_VERSION=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
# The commit for `drainit --version` (src/version.rs), `-dirty` when
# tracked files differ from it; empty outside a git checkout.
if [ -z "${DRAINIT_GIT_COMMIT+set}" ]; then
    DRAINIT_GIT_COMMIT=$(git rev-parse --short=7 HEAD 2>/dev/null || true)
    if [ -n "$DRAINIT_GIT_COMMIT" ] && ! git diff --quiet HEAD 2>/dev/null; then
        DRAINIT_GIT_COMMIT="$DRAINIT_GIT_COMMIT-dirty"
    fi
fi
# Every date in an artifact (file times in the .deb, the wheel's zip) is
# the commit's date, not the build's.
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
    SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || echo 0)
fi
export DRAINIT_GIT_COMMIT SOURCE_DATE_EPOCH DIST_VERSION
export LC_ALL=C TZ=UTC
# No path of this machine in a binary: the checkout and cargo's registry
# are renamed (panic locations, debug strings of dependencies).
DIST_REMAP="--remap-path-prefix=$PWD=/drainit --remap-path-prefix=${CARGO_HOME:-$HOME/.cargo}=/cargo"
DIST_TARGET_DIR=${DIST_TARGET_DIR:-$PWD/target/dist}

# The architecture in file names (as uname -m says it) and in Debian's.
dist_arch() {
    case "$1" in
    x86_64-*) echo x86_64 ;; aarch64-*) echo aarch64 ;; armv7-*) echo armv7 ;;
    i686-*) echo i686 ;; riscv64*) echo riscv64 ;; powerpc64le-*) echo ppc64le ;;
    loongarch64-*) echo loongarch64 ;; s390x-*) echo s390x ;; *) return 1 ;;
    esac
}
dist_deb_arch() {
    case "$1" in
    x86_64-*) echo amd64 ;; aarch64-*) echo arm64 ;; armv7-*) echo armhf ;;
    i686-*) echo i386 ;; riscv64*) echo riscv64 ;; powerpc64le-*) echo ppc64el ;;
    loongarch64-*) echo loong64 ;; s390x-*) echo s390x ;; *) return 1 ;;
    esac
}
# The qemu-user emulator for a foreign target, empty for the host's own.
dist_qemu() {
    case "$1" in
    x86_64-*) echo "" ;; aarch64-*) echo qemu-aarch64-static ;; armv7-*) echo qemu-arm-static ;;
    i686-*) echo "" ;; riscv64*) echo qemu-riscv64-static ;; powerpc64le-*) echo qemu-ppc64le-static ;;
    loongarch64-*) echo qemu-loongarch64-static ;; s390x-*) echo qemu-s390x-static ;; *) return 1 ;;
    esac
}
