#!/usr/bin/env bash
# Set-up for make dist-test and scripts/ci-dist.sh, idempotent:
#  1. binfmt_misc: the kernel hands foreign ELF binaries to Debian's
#     qemu-user-static (flag F: the emulator is opened now, so it also
#     works inside containers and chroots).
#  2. a clean Debian root (debootstrap minbase, cached under
#     /var/cache/drainit-dist, outside the repository) imported as the
#     image dist-debian:bookworm, for `apt-get install ./drainit_*.deb`.
set -euo pipefail
cache=${DRAINIT_DIST_CACHE:-/var/cache/drainit-dist}
image=dist-debian:bookworm

binfmt=/proc/sys/fs/binfmt_misc
if [ ! -e "$binfmt/register" ]; then
    mount -t binfmt_misc binfmt_misc "$binfmt" ||
        { echo "dist-test-setup: cannot mount binfmt_misc (needs root): foreign binaries cannot run" >&2; exit 1; }
fi
for emu in aarch64 arm riscv64 ppc64le loongarch64 s390x; do
    [ -e "$binfmt/qemu-$emu" ] && grep -qx enabled "$binfmt/qemu-$emu" && continue
    update-binfmts --enable "qemu-$emu" >/dev/null 2>&1 ||
        echo "dist-test-setup: qemu-$emu not registered (is qemu-user-static installed?)" >&2
done

# scripts/ci-dist.sh needs no Debian root (no .deb test there).
[ "${DIST_SETUP_DEBIAN:-1}" = 1 ] || exit 0
if ! docker info >/dev/null 2>&1; then
    echo "dist-test-setup: no Docker engine answers: the .deb and image tests will skip" >&2
    exit 0
fi
if ! docker image inspect "$image" >/dev/null 2>&1; then
    tarball="$cache/bookworm-minbase.tar"
    if [ ! -s "$tarball" ]; then
        mkdir -p "$cache"
        root=$(mktemp -d "$cache/root.XXXXXX")
        mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)
        echo "dist-test-setup: debootstrap bookworm into $root (once per machine)" >&2
        debootstrap --variant=minbase bookworm "$root" "${mirror:-http://deb.debian.org/debian}" >"$cache/debootstrap.log" 2>&1 ||
            { tail -n 5 "$cache/debootstrap.log" >&2; echo "dist-test-setup: debootstrap failed (log: $cache/debootstrap.log)" >&2; exit 1; }
        tar -C "$root" -cf "$tarball.new" . && mv "$tarball.new" "$tarball"
        rm -rf "$root"
    fi
    docker import "$tarball" "$image" >/dev/null
    echo "dist-test-setup: image $image from $tarball" >&2
fi
