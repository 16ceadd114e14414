#!/usr/bin/env bash
# Installs what the tests, benchmarks and packaging need: the Debian
# packages listed in scripts/deps.d/*.txt (one per line, # comments), then
# runs scripts/deps.d/*.sh (Rust targets, Python modules, ...).
set -euo pipefail
cd "$(dirname "$0")"
mapfile -t pkgs < <(cat deps.d/*.txt | sed 's/#.*//' | tr -s ' \t' '\n' | grep -v '^$' | sort -u)
missing=()
for p in "${pkgs[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "deps: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 ||
        { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }
fi
# cargo-nextest runs `make test` (scripts/test.sh): each test in a process
# of its own.
if ! cargo nextest --version >/dev/null 2>&1; then
    echo "deps: installing cargo-nextest" >&2
    cargo install --locked cargo-nextest
fi
for s in deps.d/*.sh; do
    [ -e "$s" ] && bash "$s"
done
exit 0
