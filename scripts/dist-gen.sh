#!/usr/bin/env bash
# The man page and shell completions, generated from drainit's clap
# definitions by tools/gen, into target/dist/gen/ (packaging/deb.sh reads
# them). Built for the host in the dev profile: its output is text.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/dist-env.sh
out="$DIST_TARGET_DIR/gen"
rm -rf "$out"
# Without the commit: the man page names the version only, and a new
# commit does not rebuild the generator.
env -u DRAINIT_GIT_COMMIT cargo run -q --locked -p drainit-gen -- "$out"
echo "dist: man page and completions in $out"
