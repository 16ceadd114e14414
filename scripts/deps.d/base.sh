# The musl target for static builds; PyYAML for the k8s example check.
if ! rustup target list --installed 2>/dev/null | grep -qx x86_64-unknown-linux-musl; then
    rustup target add x86_64-unknown-linux-musl >/dev/null 2>&1 ||
        echo "deps: musl target unavailable; static builds use gnu +crt-static" >&2
fi
python3 -c 'import yaml' 2>/dev/null || python3 -m pip install -q pyyaml ||
    echo "deps: PyYAML unavailable; the k8s example check will skip" >&2
