# make dist: the rustup std for every release target (rust-lld links them,
# no cross gcc), and maturin for the PyPI wheel.
targets="x86_64-unknown-linux-musl aarch64-unknown-linux-musl armv7-unknown-linux-musleabihf
i686-unknown-linux-musl riscv64gc-unknown-linux-musl powerpc64le-unknown-linux-musl
loongarch64-unknown-linux-musl s390x-unknown-linux-gnu"
installed=$(rustup target list --installed 2>/dev/null)
for t in $targets; do
    printf '%s\n' "$installed" | grep -qx "$t" && continue
    rustup target add "$t" >/dev/null 2>&1 || echo "deps: rustup target $t unavailable; make dist skips it" >&2
done
command -v maturin >/dev/null 2>&1 || python3 -m pip install -q 'maturin>=1.5,<2' ||
    echo "deps: maturin unavailable; the wheel is not built" >&2
