#!/usr/bin/env bash
# The rolling-restart proof: `make e2e` runs `run.sh full` (results in
# docker/e2e/RESULTS.md); tests/docker.rs runs `run.sh short` (results in
# target/e2e-short.md). Extra arguments go to e2e.py (--only SUBSTRING,
# --json PATH). `run.sh recipes [ARGS]` runs the recipes matrix
# (recipes.py full ARGS: real servers from Debian packages; `make e2e-recipes`),
# `run.sh recipes-short` its CI sample (tests/recipes.rs).
set -euo pipefail
cd "$(dirname "$0")/../.."
mode=${1:-short}
shift || true
for tool in haproxy hey; do
    command -v "$tool" >/dev/null || {
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -qq haproxy hey >/dev/null 2>&1 ||
            { apt-get update -qq && apt-get install -y -qq haproxy hey >/dev/null; }
        break
    }
done
case "$mode" in
recipes) exec python3 docker/e2e/recipes.py full "$@" ;;
recipes-short) exec python3 docker/e2e/recipes.py short "$@" ;;
esac
bash docker/build.sh test
exec python3 docker/e2e/e2e.py "$mode" "$@"
