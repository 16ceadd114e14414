#!/usr/bin/env bash
# Podman with drainit as its init and every bit of its state under one
# directory (tests/engines.rs, `make engines`):
#
#   podman.sh setup DIR INIT   writes DIR/containers.conf (init_path = INIT),
#                              DIR/no-init.conf (the same without init_path,
#                              for --init-path) and DIR/storage.conf (vfs)
#   podman.sh DIR ARGS...      podman ARGS with those two files
#   podman.sh load DIR         podman load < stdin, image cache kept in DIR
#   podman.sh clean DIR CGROUP removes every container, the cgroup parent
#                              CGROUP the runs used and DIR
#
# Nothing of the machine changes: storage, run root, events, tmp and network
# configs live in DIR, conmon gets no cgroup (no libpod_parent left in
# /sys/fs/cgroup), containers run under the --cgroup-parent the caller gives
# (removed by clean; runc cannot run them without cgroups, and crun cannot
# run on this hybrid cgroup v1+v2 machine) and get no network.
set -euo pipefail
cmd=${1:-}

# CONTAINERS_CONF already set (e.g. to DIR/no-init.conf) is kept.
conf() {
    export CONTAINERS_CONF="${CONTAINERS_CONF:-$1/containers.conf}" CONTAINERS_STORAGE_CONF="$1/storage.conf"
}

setup() {
    local dir=$1 init=$2
    [ -x "$init" ] || { echo "podman.sh: $init is not executable: run 'make static'" >&2; exit 1; }
    command -v podman >/dev/null || { echo "podman.sh: no podman: apt-get install podman" >&2; exit 1; }
    mkdir -p "$dir/root" "$dir/run" "$dir/tmp" "$dir/net" "$dir/cache"
    # The ulimits: Podman raises nofile and nproc to 1048576 by default,
    # which needs CAP_SYS_RESOURCE; a sandboxed root (this machine) lacks it.
    cat >"$dir/containers.conf" <<CONF
[containers]
init_path = "$(realpath "$init")"
cgroups = "no-conmon"
netns = "none"
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$dir/events.log"
tmp_dir = "$dir/tmp"
image_copy_tmp_dir = "$dir/tmp"

[network]
network_config_dir = "$dir/net"
CONF
    grep -v '^init_path' "$dir/containers.conf" >"$dir/no-init.conf"
    cat >"$dir/storage.conf" <<CONF
[storage]
driver = "vfs"
graphroot = "$dir/root"
runroot = "$dir/run"
CONF
    echo "podman.sh: $dir/containers.conf with init_path = $(realpath "$init")"
}

# containers/image writes a blob cache to /var/lib/containers/cache for
# root, whatever the storage root: hide that directory behind DIR/cache in a
# mount namespace of this command's own.
load() {
    local dir=$1
    conf "$dir"
    mkdir -p "$dir/cache"
    exec unshare --mount --propagation private sh -c '
        if [ ! -d /var/lib/containers ]; then
            mount -t tmpfs engines-varlib /var/lib && mkdir /var/lib/containers || exit 1
        fi
        mount --bind "$1" /var/lib/containers && exec podman load' sh "$dir/cache"
}

clean() {
    local dir=$1 parent=$2 h
    # Only a parent of our own: rmdir on any other cgroup tree is not ours.
    case "${parent#/}" in engines-?*) ;; *) echo "podman.sh: cgroup parent $parent must start with engines-" >&2; exit 2 ;; esac
    if [ -f "$dir/containers.conf" ]; then
        conf "$dir"
        podman rm -a -f -t 0 >/dev/null 2>&1 || true
    fi
    for h in /sys/fs/cgroup/*/"${parent#/}"; do
        [ -d "$h" ] && find "$h" -depth -type d -exec rmdir {} + 2>/dev/null
    done
    rm -rf "$dir"
}

case "$cmd" in
setup) setup "${2:?DIR missing}" "${3:?INIT missing}" ;;
load) load "${2:?DIR missing}" ;;
clean) clean "${2:?DIR missing}" "${3:?CGROUP missing}" ;;
"") echo "usage: $0 setup DIR INIT | load DIR | clean DIR CGROUP | DIR ARGS..." >&2; exit 2 ;;
*)
    conf "$cmd"
    shift
    exec podman "$@"
    ;;
esac
