#!/usr/bin/env bash
# Builds drainit's Docker images FROM scratch out of static binaries (the
# engine here has no registry, so nothing is pulled).
#
#   docker/build.sh release   drainit:latest and drainit:VERSION (the name the
#                             examples copy from): /drainit, and /drainit-drill
#                             when target/static has it (make image builds it)
#   docker/build.sh test      drainit-test:latest  drainit, the demo app, busybox,
#                                                  tini, dumb-init, /app.sh
#   docker/build.sh dist      drainit:VERSION-x86_64, drainit:VERSION-aarch64
#                             (each /drainit and, where it builds,
#                             /drainit-drill, for its platform) and
#                             drainit:VERSION for this machine's one
#
# drainit-drill (docs/drill.md) sits beside /drainit, where `drainit drill`
# finds it; both are one layer. The README's `COPY --from=` copies
# /drainit alone.
#
# Binaries come from $DRAINIT_STATIC_DIR (default target/static, built by
# `make static`); dist's from $DRAINIT_DIST_DIR (default dist/, built by
# `make dist`). The build context is a scratch directory under
# target/docker/: no binary is ever committed.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-release}
static=${DRAINIT_STATIC_DIR:-$PWD/target/static}
if [ "$mode" != dist ]; then
    for bin in drainit drainit-demo; do
        [ -x "$static/$bin" ] || { echo "build.sh: $static/$bin missing: run 'make static'" >&2; exit 1; }
    done
fi
docker info >/dev/null 2>&1 || { echo "build.sh: no Docker engine answers" >&2; exit 1; }

ctx=$(mktemp -d "${TMPDIR:-/tmp}/drainit-docker-$mode.XXXXXX")
trap 'rm -rf "$ctx"' EXIT

size() { docker image inspect -f '{{.Size}}' "$1"; }
# docker build, quiet unless it fails (the legacy builder's deprecation
# notice is noise here).
build() {
    local log
    if ! log=$(docker build -q -t "$1" "$ctx" 2>&1); then
        printf '%s\n' "$log" >&2
        echo "build.sh: docker build $1 failed" >&2
        exit 1
    fi
}

case "$mode" in
release)
    mkdir "$ctx/root"
    cp "$static/drainit" "$ctx/root/"
    # `make image` builds the drill first; the tests' images (the examples
    # copy /drainit only) do without it.
    drill="no drainit-drill"
    if [ -x "$static/drainit-drill" ]; then
        cp "$static/drainit-drill" "$ctx/root/"
        drill="drainit-drill $(stat -c %s "$static/drainit-drill") bytes"
    else
        echo "build.sh: no $static/drainit-drill ('bash scripts/static.sh drill' builds it): the image carries drainit only" >&2
    fi
    cat >"$ctx/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY root/ /
ENTRYPOINT ["/drainit", "--"]
DOCKERFILE
    build drainit:latest
    version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
    docker tag drainit:latest "drainit:$version"
    echo "image drainit:latest (drainit:$version): $(size drainit:latest) bytes (drainit $(stat -c %s "$static/drainit") bytes, $drill)"
    ;;
dist)
    # No registry, so no multi-platform manifest: one tag per platform, and
    # the plain version tag for this machine's platform.
    dist=${DRAINIT_DIST_DIR:-$PWD/dist}
    version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
    host=$(uname -m)
    cat >"$ctx/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY root/ /
ENTRYPOINT ["/drainit", "--"]
DOCKERFILE
    for arch in x86_64 aarch64; do
        bin="$dist/drainit-$version-$arch"
        [ -x "$bin" ] || { echo "build.sh: $bin missing: run 'make dist'" >&2; exit 1; }
        rm -rf "$ctx/root"
        mkdir "$ctx/root"
        cp "$bin" "$ctx/root/drainit"
        drill="$dist/drainit-drill-$version-$arch"
        if [ -x "$drill" ]; then
            cp "$drill" "$ctx/root/drainit-drill"
        else
            echo "build.sh: $drill missing: drainit:$version-$arch without drainit-drill" >&2
        fi
        case "$arch" in x86_64) platform=linux/amd64 ;; aarch64) platform=linux/arm64 ;; esac
        log=$(docker build -q --platform "$platform" -t "drainit:$version-$arch" "$ctx" 2>&1) ||
            { printf '%s\n' "$log" >&2; echo "build.sh: docker build drainit:$version-$arch failed" >&2; exit 1; }
        [ "$arch" = "$host" ] && docker tag "drainit:$version-$arch" "drainit:$version"
        echo "image drainit:$version-$arch ($platform): $(size "drainit:$version-$arch") bytes"
    done
    ;;
test)
    mkdir -p "$ctx/root/bin" "$ctx/root/tmp" "$ctx/root/usr/bin" "$ctx/root/lib64" \
        "$ctx/root/lib/x86_64-linux-gnu"
    cp "$static/drainit" "$static/drainit-demo" "$ctx/root/"
    busybox=$(command -v busybox || echo /bin/busybox)
    file -L "$busybox" 2>/dev/null | grep -q 'statically linked' ||
        { echo "build.sh: $busybox is not static: apt-get install busybox-static" >&2; exit 1; }
    cp "$busybox" "$ctx/root/bin/busybox"
    for applet in sh ash cat echo sleep kill ps ls seq true false wget env printf \
        test '[' grep wc head tail date sed tr mkdir rm touch id nc; do
        ln -s busybox "$ctx/root/bin/$applet"
    done
    # Docker's --init and Debian's tini are the same tini-static binary.
    cp /usr/bin/tini-static "$ctx/root/tini"
    # Debian's dumb-init is dynamically linked: bring its loader and libc.
    cp /usr/bin/dumb-init "$ctx/root/usr/bin/dumb-init"
    if ! file -L /usr/bin/dumb-init | grep -q 'statically linked'; then
        ldd /usr/bin/dumb-init | awk '$2 == "=>" {print $3} $1 ~ /^\// {print $1}' | while read -r lib; do
            [ -f "$lib" ] || continue
            mkdir -p "$ctx/root$(dirname "$lib")"
            cp -L "$lib" "$ctx/root$lib"
        done
    fi
    # The wrapper the tests and the e2e harness use: a shell that does NOT
    # exec the app, the way many entrypoint scripts are written.
    printf '#!/bin/sh\n/drainit-demo "$@"\necho wrapper done\n' >"$ctx/root/app.sh"
    chmod 755 "$ctx/root/app.sh"
    # A file that exists but cannot be executed (exit code 126).
    printf 'not a program\n' >"$ctx/root/not-executable"
    chmod 644 "$ctx/root/not-executable"
    chmod 1777 "$ctx/root/tmp"
    cat >"$ctx/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY root/ /
ENV PATH=/bin:/usr/bin
DOCKERFILE
    build drainit-test:latest
    echo "image drainit-test:latest: $(size drainit-test:latest) bytes"
    ;;
*)
    echo "usage: $0 release|test|dist" >&2
    exit 2
    ;;
esac
