#!/usr/bin/env bash
# packaging/deb.sh BINARY DEBARCH: dist/drainit_VERSION_DEBARCH.deb.
#
# dpkg-deb and a ten-line control file rather than cargo-deb: the static
# binary is already built (scripts/dist.sh), dpkg-deb is on every Debian
# machine, and cargo-deb would be one more tool to compile on each fresh
# machine only to write the same control file. The package has no Depends:
# the binary is static, so one .deb per architecture installs anywhere.
#
# Contents: /usr/bin/drainit, the man page and shell completions made by
# scripts/dist-gen.sh from the clap definitions, README and license.
# Reproducible: file times are SOURCE_DATE_EPOCH, owners root, modes fixed,
# the man page gzipped without a name or time (gzip -n).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/dist-env.sh
bin=$1
arch=$2
gen="$DIST_TARGET_DIR/gen"
[ -f "$gen/drainit.1" ] || { echo "deb.sh: $gen/drainit.1 missing: run scripts/dist-gen.sh" >&2; exit 1; }
root=$(mktemp -d "${TMPDIR:-/tmp}/drainit-deb.XXXXXX")
trap 'rm -rf "$root"' EXIT
umask 022
chmod 0755 "$root"
install -D -m 0755 "$bin" "$root/usr/bin/drainit"
install -d "$root/usr/share/man/man1"
gzip -9n <"$gen/drainit.1" >"$root/usr/share/man/man1/drainit.1.gz"
install -D -m 0644 "$gen/completions/drainit.bash" "$root/usr/share/bash-completion/completions/drainit"
install -D -m 0644 "$gen/completions/_drainit" "$root/usr/share/zsh/vendor-completions/_drainit"
install -D -m 0644 "$gen/completions/drainit.fish" "$root/usr/share/fish/vendor_completions.d/drainit.fish"
install -D -m 0644 README.md "$root/usr/share/doc/drainit/README.md"
install -D -m 0644 LICENSE "$root/usr/share/doc/drainit/copyright"
install -d "$root/DEBIAN"
(cd "$root" && find usr -type f | sort | xargs md5sum >DEBIAN/md5sums)
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat >"$root/DEBIAN/control" <<CONTROL
Package: drainit
Version: $DIST_VERSION
Architecture: $arch
Maintainer: The drainit authors <drainit@users.noreply.invalid>
Installed-Size: $size
Section: admin
Priority: optional
Homepage: $(sed -n 's/^repository = "\(.*\)"$/\1/p' Cargo.toml)
Description: PID-1 init for containers that drains gracefully
 drainit runs as PID 1 in a container: it reaps zombies, forwards signals
 like tini and dumb-init, and on SIGTERM drains (fails readiness, waits for
 connections to finish) before stopping the application. Static binary.
CONTROL
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/md5sums"
find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
out="dist/drainit_${DIST_VERSION}_$arch.deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$out.new" >/dev/null
mv "$out.new" "$out"
echo "dist: $out"
