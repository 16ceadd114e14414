#!/usr/bin/env bash
# Builds the Debian root filesystem the recipe images start FROM, once per
# machine: debootstrap bookworm (minbase) from the mirror the host's apt
# uses, the servers of packages.txt (or packages-short.txt) installed in a chroot, `docker import`
# as drainit-e2e-base:VERSION, VERSION being a hash of packages.txt, the
# suite and REVISION (bump it when a change here changes the image; a
# comment does not). Cached: the .debs and the root tarball under $E2E_CACHE
# (/var/cache/drainit-e2e), the image in the engine. Prints the tag.
#
#   base.sh          build if missing, print the tag
#   base.sh --tag    print the tag only
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${E2E_CACHE:-/var/cache/drainit-e2e}
suite=bookworm
REVISION=1
# E2E_PACKAGES=short: only the servers of the CI sample (packages-short.txt),
# a third of the full image's build time on a fresh machine.
set=${E2E_PACKAGES:-full}
case "$set" in
full) list=$here/packages.txt prefix="" ;;
short) list=$here/packages-short.txt prefix=short- ;;
*) echo "base.sh: E2E_PACKAGES=$set: use full or short" >&2; exit 2 ;;
esac
version=$prefix$( (cat "$list"; echo "$suite $REVISION") | sha256sum | cut -c1-12)
tag=drainit-e2e-base:$version
if [ "${1:-}" = --tag ]; then
    echo "$tag"
    exit 0
fi
log() { echo "base.sh: $*" >&2; }

# The host's Debian mirror (deb822 or one-line sources), else deb.debian.org.
mirror() {
    local m
    m=$(grep -hsE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null |
        awk '{print $2}' | grep -v security | head -1)
    [ -n "$m" ] || m=$(grep -hsE '^deb +http' /etc/apt/sources.list 2>/dev/null |
        awk '{print $2}' | grep -v security | head -1)
    echo "${m:-http://deb.debian.org/debian}"
}

build_rootfs() {
    local root=$1 m
    m=$(mirror)
    command -v debootstrap >/dev/null || {
        log "installing debootstrap"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null 2>&1 ||
            { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; }
    }
    mkdir -p "$cache/debs"
    log "debootstrap $suite from $m"
    debootstrap --variant=minbase --cache-dir="$cache/debs" "$suite" "$root" "$m" >"$cache/debootstrap.log" 2>&1 ||
        { tail -20 "$cache/debootstrap.log" >&2; log "debootstrap failed (log: $cache/debootstrap.log)"; return 1; }
    local sec=${m%/debian}/debian-security
    cat >"$root/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $m
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $sec
Suites: $suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
    rm -f "$root/etc/apt/sources.list"
    # No service may start inside the chroot (postinst scripts try).
    printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
    chmod 755 "$root/usr/sbin/policy-rc.d"
    mount -t proc proc "$root/proc"
    trap 'umount "$root/proc" 2>/dev/null || true' RETURN
    mkdir -p "$root/var/cache/apt/archives"
    mapfile -t pkgs < <(sed 's/#.*//' "$list" | tr -s ' \t' '\n' | grep -v '^$')
    log "installing ${pkgs[*]}"
    # The .debs are kept in the cache between builds (bind-mounted archives).
    mkdir -p "$cache/archives"
    mount --bind "$cache/archives" "$root/var/cache/apt/archives"
    trap 'umount "$root/var/cache/apt/archives" 2>/dev/null || true; umount "$root/proc" 2>/dev/null || true' RETURN
    if ! chroot "$root" sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends ${pkgs[*]}" >"$cache/apt.log" 2>&1; then
        tail -20 "$cache/apt.log" >&2
        log "apt-get install in the chroot failed (log: $cache/apt.log)"
        return 1
    fi
    rm -f "$root/usr/sbin/policy-rc.d"
    rm -rf "$root/var/lib/apt/lists/"*
}

main() {
    if docker image inspect "$tag" >/dev/null 2>&1; then
        echo "$tag"
        return 0
    fi
    mkdir -p "$cache"
    exec 9>"$cache/lock"
    flock 9
    # Another build may have finished while this one waited for the lock.
    if docker image inspect "$tag" >/dev/null 2>&1; then
        echo "$tag"
        return 0
    fi
    local tarball=$cache/base-$version.tar
    if [ ! -s "$tarball" ]; then
        local root=$cache/root-$version
        rm -rf "$root"
        local t0=$SECONDS
        build_rootfs "$root"
        tar -C "$root" -cf "$tarball.tmp" .
        mv "$tarball.tmp" "$tarball"
        rm -rf "$root"
        # Older versions' tarballs are of no use any more.
        find "$cache" -maxdepth 1 -name "base-$prefix*.tar" ! -name "base-$version.tar" \
            ${prefix:+} $([ -z "$prefix" ] && echo "! -name base-short-*.tar") -delete
        log "root filesystem built in $((SECONDS - t0)) s"
    fi
    docker import -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        -c 'CMD ["bash"]' "$tarball" "$tag" >/dev/null
    log "imported $tag ($(docker image inspect -f '{{.Size}}' "$tag") bytes)"
    echo "$tag"
}
main
