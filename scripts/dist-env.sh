# Sourced by the dist scripts: the version, the commit, the reproducible-
# build settings and the architecture names, in one place.
DIST_VERSION=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
# The commit for `drainit --version` (src/cli/version.rs), `-dirty` when
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

# The gnu target an architecture is built for when rustup serves no musl
# std for it (scripts/deps.d/dist.sh adds it, scripts/dist.sh uses it).
dist_gnu_fallback() {
    case "$1" in
    armv7-unknown-linux-musleabihf) echo armv7-unknown-linux-gnueabihf ;;
    riscv64gc-unknown-linux-musl) echo riscv64gc-unknown-linux-gnu ;;
    powerpc64le-unknown-linux-musl) echo powerpc64le-unknown-linux-gnu ;;
    *) return 1 ;;
    esac
}
# Debian's GNU triple for a gnu target: /usr/TRIPLE/lib holds the libc.a
# and crt objects of libc6-dev-DEBARCH-cross, /usr/lib/gcc-cross/TRIPLE/N
# the libgcc.a, libgcc_eh.a, crtbeginT.o and crtend.o of
# libgcc-N-dev-DEBARCH-cross. Both are ordinary amd64 packages (data
# files, no compiler).
dist_gnu_triple() {
    case "$1" in
    armv7-unknown-linux-gnueabihf) echo arm-linux-gnueabihf ;;
    riscv64gc-unknown-linux-gnu) echo riscv64-linux-gnu ;;
    powerpc64le-unknown-linux-gnu) echo powerpc64le-linux-gnu ;;
    s390x-unknown-linux-gnu) echo s390x-linux-gnu ;;
    *) return 1 ;;
    esac
}
# The cross packages a gnu target's static link needs.
dist_gnu_packages() {
    local d
    d=$(dist_deb_arch "$1") || return 1
    echo "libc6-dev-$d-cross libgcc-12-dev-$d-cross"
}
# dist_link_flags TARGET: the rustc flags scripts/link.sh adds for
# TARGET (and scripts/dist-test.sh for its test binaries), or, returning 1,
# why TARGET cannot be linked here.
#
# musl: none (link.sh links with rustup's self-contained musl crt and
# libc). gnu: a static, non-PIE glibc executable linked by rust-lld (flavor
# gnu ld, no cross gcc): +crt-static makes rustc link libc.a, libgcc_eh.a
# and libgcc.a (-Bstatic -lc -lgcc_eh -lgcc) from the -L paths given here,
# but rustc adds no crt objects for gnu targets (gcc would), so they are
# given as -C link-arg. rustc puts every -C link-arg after the program's
# objects and libraries (there is no stable pre-link-args), so the link
# line is: program, libc.a..., crt1.o crti.o crtbeginT.o crtend.o crtn.o.
# That is sound with lld: its archives resolve symbols whatever their
# place (crt1.o's __libc_start_main comes from libc.a before it); crti.o
# and crtn.o still bracket .init and .fini, the only contributions to
# those sections (each disassembles to one prologue and one epilogue);
# crtend.o's zero word still ends .eh_frame. What moves is crtbeginT.o's
# __EH_FRAME_BEGIN__, which its frame_dummy may register with libgcc's
# unwinder: it now comes after the program's frames, and libgcc, which
# looks up registered frames first, finds the program's through
# PT_GNU_EH_FRAME (lld's --eh-frame-hdr), as for a binary built with
# crtbegin.o (checked on all four: a panic is caught, a backtrace taken).
# No rcrt1.o in Debian's cross libc: no static-pie.
dist_link_flags() {
    local t=$1 triple lib gcc pkgs
    case "$t" in
    *-musl*) return 0 ;;
    esac
    triple=$(dist_gnu_triple "$t") || { echo "no musl std, and no static glibc recipe for $t"; return 1; }
    pkgs=$(dist_gnu_packages "$t")
    lib=/usr/$triple/lib
    gcc=$(find "/usr/lib/gcc-cross/$triple" -mindepth 2 -maxdepth 2 -name crtbeginT.o -printf '%h\n' 2>/dev/null | sort -V | tail -n 1)
    if [ ! -f "$lib/libc.a" ] || [ ! -f "$lib/crt1.o" ] || [ -z "$gcc" ] || [ ! -f "$gcc/libgcc_eh.a" ]; then
        echo "no static glibc for it here ($lib/libc.a, crt1.o or gcc-cross/$triple/*/crtbeginT.o, libgcc_eh.a missing): apt-get install $pkgs (make deps)"
        return 1
    fi
    echo "-C target-feature=+crt-static -C relocation-model=static -L $lib -L $gcc" \
        "-C link-arg=$lib/crt1.o -C link-arg=$lib/crti.o -C link-arg=$gcc/crtbeginT.o" \
        "-C link-arg=$gcc/crtend.o -C link-arg=$lib/crtn.o"
}
