#!/usr/bin/env bash
# packaging/deb.sh BINARY DEBARCH: dist/drainit_VERSION_DEBARCH.deb.
# packaging/deb.sh --drill BINARY DEBARCH: dist/drainit-drill_VERSION_DEBARCH.deb.
#
# dpkg-deb and a ten-line control file rather than cargo-deb: the static
# binary is already built (scripts/dist.sh), dpkg-deb is on every Debian
# machine, and cargo-deb would be one more tool to compile on each fresh
# machine only to write the same control file. The package has no Depends:
# the binary is static, so one .deb per architecture installs anywhere.
#
# Contents: /usr/bin/drainit, the man page and shell completions made by
# scripts/dist-gen.sh from the clap definitions, README and license.
# The drill is a package of its own, drainit-drill (/usr/bin/drainit-drill,
# docs/drill.md, license), depending on drainit of the same version: the
# drainit .deb goes into container images, where a 2 MB Docker client and
# load generator would be dead weight; the drill goes on the machine or CI
# runner that drills them, and injects the drainit it depends on.
# Reproducible: file times are SOURCE_DATE_EPOCH, owners root, modes fixed,
# the man page gzipped without a name or time (gzip -n).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/dist-env.sh
drill=0
[ "$1" = --drill ] && { drill=1; shift; }
bin=$1
arch=$2
gen="$DIST_TARGET_DIR/gen"
[ -f "$gen/drainit.1" ] || { echo "deb.sh: $gen/drainit.1 missing: run scripts/dist-gen.sh" >&2; exit 1; }
root=$(mktemp -d "${TMPDIR:-/tmp}/drainit-deb.XXXXXX")
trap 'rm -rf "$root"' EXIT
umask 022
chmod 0755 "$root"
homepage=$(sed -n 's/^repository = "\(.*\)"$/\1/p' Cargo.toml)
# finish PACKAGE CONTROL-FIELDS: md5sums, control, times, the .deb.
finish() {
    local package=$1 size out
    install -d "$root/DEBIAN"
    (cd "$root" && find usr -type f | sort | xargs md5sum >DEBIAN/md5sums)
    size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
    {
        echo "Package: $package"
        echo "Version: $DIST_VERSION"
        echo "Architecture: $arch"
        echo "Maintainer: The drainit authors <drainit@users.noreply.invalid>"
        echo "Installed-Size: $size"
        cat
    } >"$root/DEBIAN/control"
    chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/md5sums"
    find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
    out="dist/${package}_${DIST_VERSION}_$arch.deb"
    dpkg-deb --root-owner-group -Zxz --build "$root" "$out.new" >/dev/null
    mv "$out.new" "$out"
    echo "dist: $out"
}
if [ "$drill" = 1 ]; then
    install -D -m 0755 "$bin" "$root/usr/bin/drainit-drill"
    install -D -m 0644 docs/drill.md "$root/usr/share/doc/drainit-drill/drill.md"
    install -D -m 0644 LICENSE "$root/usr/share/doc/drainit-drill/copyright"
    finish drainit-drill <<CONTROL
Depends: drainit (= $DIST_VERSION)
Section: devel
Priority: optional
Homepage: $homepage
Description: shutdown drill for container images (drainit drill)
 drainit-drill stops an image's replicas under load the way Kubernetes,
 Docker or ECS does, counts the requests dropped, as built and with drainit
 in front, and prints the drainit settings that drop none. Run it as
 drainit drill IMAGE. Needs a Docker engine. Static binary.
CONTROL
    exit 0
fi
install -D -m 0755 "$bin" "$root/usr/bin/drainit"
install -d "$root/usr/share/man/man1"
gzip -9n <"$gen/drainit.1" >"$root/usr/share/man/man1/drainit.1.gz"
install -D -m 0644 "$gen/completions/drainit.bash" "$root/usr/share/bash-completion/completions/drainit"
install -D -m 0644 "$gen/completions/_drainit" "$root/usr/share/zsh/vendor-completions/_drainit"
install -D -m 0644 "$gen/completions/drainit.fish" "$root/usr/share/fish/vendor_completions.d/drainit.fish"
install -D -m 0644 README.md "$root/usr/share/doc/drainit/README.md"
install -D -m 0644 LICENSE "$root/usr/share/doc/drainit/copyright"
finish drainit <<CONTROL
Section: admin
Priority: optional
Homepage: $homepage
Description: PID-1 init for containers that drains gracefully
 drainit runs as PID 1 in a container: it reaps zombies, forwards signals
 like tini and dumb-init, and on SIGTERM drains (fails readiness, waits for
 connections to finish) before stopping the application. Static binary.
CONTROL
