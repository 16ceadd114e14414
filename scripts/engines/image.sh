#!/usr/bin/env bash
# Builds engines-busybox:latest FROM scratch: Debian's static busybox and its
# applets, nothing else. No init inside: the engines under test bring drainit
# with --init (tests/engines.rs). The engine is the one DOCKER_HOST names
# (default: the machine's); other engines get it with `docker save`.
set -euo pipefail
image=${1:-engines-busybox:latest}
busybox=/bin/busybox
file -L "$busybox" 2>/dev/null | grep -q 'statically linked' ||
    { echo "image.sh: $busybox is not static: apt-get install busybox-static" >&2; exit 1; }
ctx=$(mktemp -d "${TMPDIR:-/tmp}/engines-image.XXXXXX")
trap 'rm -rf "$ctx"' EXIT
mkdir -p "$ctx/root/bin" "$ctx/root/tmp" "$ctx/root/proc" "$ctx/root/dev" "$ctx/root/sys"
cp "$busybox" "$ctx/root/bin/busybox"
for applet in sh cat echo sleep kill ls seq true false env printf test '[' grep wc \
    head tail date sed tr mkdir rm touch id ps sha256sum; do
    ln -s busybox "$ctx/root/bin/$applet"
done
chmod 1777 "$ctx/root/tmp"
cat >"$ctx/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY root/ /
ENV PATH=/bin
DOCKERFILE
if ! log=$(docker build -q -t "$image" "$ctx" 2>&1); then
    printf '%s\n' "$log" >&2
    echo "image.sh: docker build $image failed" >&2
    exit 1
fi
echo "image.sh: built $image"
