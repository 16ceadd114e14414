#!/usr/bin/env bash
# Reproducible builds: rebuilds the x86_64 and aarch64 binaries and their
# .debs from a copy of the tree at another path, with another target
# directory, and compares them byte for byte with dist/. Same commit and
# SOURCE_DATE_EPOCH; nothing else is shared.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/dist-env.sh
copy=$(mktemp -d /tmp/drainit-repro.XXXXXX)
trap 'rm -rf "$copy"' EXIT
git ls-files -z --cached --others --exclude-standard | grep -zv '^dist/' |
    xargs -0 tar -cf - | tar -C "$copy" -xf -
mkdir -p "$copy/dist"
targets=${DIST_REPRO_TARGETS:-x86_64-unknown-linux-musl aarch64-unknown-linux-musl}
(
    cd "$copy"
    export DIST_TARGET_DIR="$copy/target/dist"
    # shellcheck disable=SC2086
    bash scripts/dist.sh bin $targets
    bash scripts/dist-gen.sh >/dev/null
    for t in $targets; do
        bash packaging/deb.sh "dist/drainit-$DIST_VERSION-$(dist_arch "$t")" "$(dist_deb_arch "$t")" >/dev/null
    done
)
bad=0
for f in "$copy"/dist/*; do
    name=$(basename "$f")
    if cmp -s "$f" "dist/$name"; then
        echo "repro: $name identical ($(sha256sum <"$f" | cut -c1-16))"
    else
        echo "repro: $name DIFFERS from dist/$name" >&2
        bad=1
    fi
done
exit $bad
