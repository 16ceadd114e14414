#!/usr/bin/env bash
# A second Docker engine with drainit as its init, isolated from the
# machine's engine (tests/engines.rs, `make engines`):
#
#   dockerd.sh start DIR INIT   socket DIR/docker.sock, data and exec roots
#                               under DIR, DIR/daemon.json with "init-path"
#                               pointing at DIR/docker-init -> INIT
#   dockerd.sh stop DIR         stops it and waits until it is gone
#
# It runs in network and mount namespaces of its own: with --bridge none a
# dockerd deletes any interface named docker0 it sees (the machine's engine
# lost its bridge that way), and its mounts stay out of the machine's table.
# The link is named docker-init because Docker runs `INIT --version` under
# that path for `docker info`, and the name is what selects drainit's tini
# mode (inside containers it is always /sbin/docker-init).
set -euo pipefail
cmd=${1:-}
dir=${2:-}
[ -n "$dir" ] || { echo "usage: $0 start DIR INIT | stop DIR" >&2; exit 2; }
sock="unix://$dir/docker.sock"

ready() { docker -H "$sock" info >/dev/null 2>&1; }

start() {
    local init=$1
    [ -x "$init" ] || { echo "dockerd.sh: $init is not executable: run 'make static'" >&2; exit 1; }
    command -v dockerd >/dev/null || { echo "dockerd.sh: no dockerd: apt-get install docker.io" >&2; exit 1; }
    mkdir -p "$dir/data" "$dir/exec"
    ln -sfn "$(realpath "$init")" "$dir/docker-init"
    printf '{"init-path": "%s"}\n' "$dir/docker-init" >"$dir/daemon.json"
    setsid unshare --net --mount --propagation private --fork \
        dockerd --config-file "$dir/daemon.json" --host "$sock" \
        --data-root "$dir/data" --exec-root "$dir/exec" --pidfile "$dir/docker.pid" \
        --bridge none --iptables=false --ip6tables=false --storage-driver vfs \
        </dev/null >"$dir/dockerd.log" 2>&1 &
    echo $! >"$dir/unshare.pid"
    local i
    for i in $(seq 600); do
        ready && { echo "dockerd.sh: engine up on $sock"; return 0; }
        kill -0 $! 2>/dev/null || break
        sleep 0.1
    done
    echo "dockerd.sh: the engine did not answer on $sock; its log:" >&2
    tail -20 "$dir/dockerd.log" >&2
    stop
    exit 1
}

# TERM to dockerd (it stops its containers and containerd), then wait for
# the pid to go; KILL after a minute. Before dockerd wrote its pid file,
# the unshare that runs it is the one to stop.
stop() {
    local pid i
    pid=$(cat "$dir/docker.pid" 2>/dev/null || cat "$dir/unshare.pid" 2>/dev/null) || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for i in $(seq 600); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    echo "dockerd.sh: dockerd $pid ignored TERM for 60 s: killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
}

case "$cmd" in
start) start "${3:?INIT missing}" ;;
stop) stop ;;
*) echo "usage: $0 start DIR INIT | stop DIR" >&2; exit 2 ;;
esac
