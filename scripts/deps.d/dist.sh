# make dist: the rustup std for every release target (rust-lld links them,
# no cross gcc), and maturin for the PyPI wheel.
#
# An architecture whose musl std rustup does not serve (armv7, riscv64gc,
# powerpc64le on some machines; s390x has none) is built for its gnu target
# as a static glibc binary: that target's std, and Debian's cross C library
# and libgcc for it (libc6-dev-DEBARCH-cross, libgcc-12-dev-DEBARCH-cross:
# libc.a, libgcc.a, libgcc_eh.a and crt objects as data files, no
# compiler). They are installed here, one architecture at a time, and not
# listed in dist.txt: a package this machine's apt lacks only skips its
# architecture, with one line, as make dist does.
. "$(dirname "${BASH_SOURCE[0]}")/../dist-env.sh" >/dev/null 2>&1 || true
targets="x86_64-unknown-linux-musl aarch64-unknown-linux-musl armv7-unknown-linux-musleabihf
i686-unknown-linux-musl riscv64gc-unknown-linux-musl powerpc64le-unknown-linux-musl
loongarch64-unknown-linux-musl s390x-unknown-linux-gnu"
installed=$(rustup target list --installed 2>/dev/null)
has() { printf '%s\n' "$installed" | grep -qx "$1"; }
add() { has "$1" || rustup target add "$1" >/dev/null 2>&1; }
cross() {
    local pkgs missing="" p
    pkgs=$(dist_gnu_packages "$1") || return 0
    for p in $pkgs; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
    [ -z "$missing" ] && return 0
    # shellcheck disable=SC2086 # the package names are words
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null 2>&1 ||
        echo "deps: apt has no$missing; make dist skips $1" >&2
}
for t in $targets; do
    if add "$t"; then
        case "$t" in *-gnu*) cross "$t" ;; esac
        continue
    fi
    if gnu=$(dist_gnu_fallback "$t") && add "$gnu"; then
        cross "$gnu"
    else
        echo "deps: rustup target $t unavailable${gnu:+, nor $gnu}; make dist skips it" >&2
    fi
done
command -v maturin >/dev/null 2>&1 || python3 -m pip install -q 'maturin>=1.5,<2' ||
    echo "deps: maturin unavailable; the wheel is not built" >&2
