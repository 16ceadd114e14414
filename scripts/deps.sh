#!/usr/bin/env bash
# Installs the Debian packages and the Rust target the tests need.
set -euo pipefail
pkgs=(tini dumb-init catatonit busybox-static haproxy hey hyperfine strace musl-tools util-linux procps curl)
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
if ! rustup target list --installed 2>/dev/null | grep -qx x86_64-unknown-linux-musl; then
    rustup target add x86_64-unknown-linux-musl >/dev/null 2>&1 ||
        echo "deps: musl target unavailable; static builds use gnu +crt-static" >&2
fi
# The Kubernetes example is parsed with PyYAML in tests/docker.rs.
python3 -c 'import yaml' 2>/dev/null || python3 -m pip install -q pyyaml ||
    echo "deps: PyYAML unavailable; the k8s example check will skip" >&2
