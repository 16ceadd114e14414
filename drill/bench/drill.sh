#!/usr/bin/env bash
# make drill-bench: the drill's load generator and balancer against hey
# (Debian's), on one local server (the demo app, no work per request).
#
#  1. throughput: hey's closed-loop maximum (-c 64), then at rising
#     target rates the drill's open-model generator (--rate R: the highest
#     rate it sustains, >= 97% of the requests due and none failed) beside
#     hey rate-limited to the same target (-c 50 -q R/50);
#  2. the balancer's added latency: hey -c 1 (one request at a time)
#     straight to the server, then through `drainit-drill --balance`; p50
#     and p99 of each; then the same with the drill's generator at
#     1000/s (hey rounds to 0.1 ms).
#
# Not a timed test: the figures depend on the machine (and on who else
# uses it). Prints a table; docs/drill.md quotes a run.
set -euo pipefail
cd "$(dirname "$0")/../.."
demo=${DRAINIT_STATIC_DIR:-$PWD/target/static}/drainit-demo
drill=${DRILL_BIN:-$PWD/target/release/drainit-drill}
secs=${BENCH_SECONDS:-5}
for bin in "$demo" "$drill"; do
    [ -x "$bin" ] || { echo "drill.sh: $bin missing: make static drill" >&2; exit 1; }
done
command -v hey >/dev/null || { echo "drill.sh: hey missing: make deps" >&2; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# wait_port PORT [PID]: until PORT accepts (or PID has exited: fail).
wait_port() {
    until (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; do
        if [ -n "${2:-}" ] && ! kill -0 "$2" 2>/dev/null; then
            echo "drill.sh: process $2 exited before port $1 answered" >&2
            exit 1
        fi
        sleep 0.05
    done
}
port=$(free_port)
tmp=$(mktemp -d)
"$demo" --listen "127.0.0.1:$port" --work 0ms >/dev/null 2>&1 &
server=$!
lb=
trap 'kill $server ${lb:-} 2>/dev/null || true; rm -rf "$tmp"' EXIT
wait_port "$port" "$server"
url="http://127.0.0.1:$port/"

hey_rps=$(hey -z "${secs}s" -c 64 "$url" | awk '/Requests\/sec/ {print $2}')
printf '%-44s %10.0f requests/s\n' "hey -c 64 (closed loop, its maximum)" "$hey_rps"

best=0
for rate in ${BENCH_RATES:-2000 5000 10000 15000 20000 30000 40000}; do
    "$drill" --url "$url" --during "sleep $secs" --rate "$rate" --warmup 0.5s --timeout 2s \
        --quiet --json "$tmp/r.json" >/dev/null 2>&1 || true
    read -r achieved failed p99 < <(python3 - "$tmp/r.json" "$rate" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
v = r["variants"][0]
span = r["command_s"] + 1.0  # the warm-up and the tail, 0.5 s each
print(f'{v["requests"] / span:.0f} {v["failed"]} {v["latency_ms"]["p99"]:.2f}')
PY
)
    printf '%-44s %10s requests/s  failed %s  p99 %s ms\n' "drill --rate $rate" "$achieved" "$failed" "$p99"
    # hey at the same target rate: 50 workers of rate/50 each.
    hey_at=$(hey -z "${secs}s" -c 50 -q $((rate / 50)) "$url" | awk '/Requests\/sec/ {printf "%.0f", $2}')
    printf '%-44s %10s requests/s\n' "hey -c 50 -q $((rate / 50)) (target $rate)" "$hey_at"
    if [ "$failed" = 0 ] && [ "$achieved" -ge $((rate * 97 / 100)) ]; then best=$rate; else break; fi
done
printf '%-44s %10s requests/s\n' "drill: highest sustained rate" "$best"

# Picked now: the overload steps above used up many ephemeral ports.
lbport=$(free_port)
"$drill" --balance "127.0.0.1:$port" --listen "127.0.0.1:$lbport" >/dev/null 2>&1 &
lb=$!
wait_port "$lbport" "$lb"
latency() {
    hey -n 5000 -c 1 "$1" | awk '/ 50%/ {p50=$3} / 99%/ {p99=$3} END {printf "%.3f %.3f\n", p50*1000, p99*1000}'
}
read -r d50 d99 < <(latency "$url")
read -r b50 b99 < <(latency "http://127.0.0.1:$lbport/")
printf '%-44s p50 %.3f ms  p99 %.3f ms\n' "hey -c 1 straight to the server" "$d50" "$d99"
printf '%-44s p50 %.3f ms  p99 %.3f ms\n' "hey -c 1 through the drill's balancer" "$b50" "$b99"
awk -v a="$b50" -v b="$d50" 'BEGIN {printf "%-44s %+.3f ms at p50 (hey: 0.1 ms resolution)\n", "balancer added", a - b}'
# The same with the drill's generator (microsecond resolution), 1000/s.
p50() {
    "$drill" --url "$1" --during "sleep $secs" --rate 1000 --warmup 0.5s --quiet --json "$tmp/l.json" >/dev/null 2>&1 || true
    python3 -c 'import json,sys; v=json.load(open(sys.argv[1]))["variants"][0]["latency_ms"]; print("%.3f %.3f" % (v["p50"], v["p99"]))' "$tmp/l.json"
}
read -r g50 g99 < <(p50 "$url")
read -r gb50 gb99 < <(p50 "http://127.0.0.1:$lbport/")
printf '%-44s p50 %.3f ms  p99 %.3f ms\n' "drill generator 1000/s straight" "$g50" "$g99"
printf '%-44s p50 %.3f ms  p99 %.3f ms\n' "drill generator 1000/s through the balancer" "$gb50" "$gb99"
awk -v a="$gb50" -v b="$g50" 'BEGIN {printf "%-44s %+.3f ms at p50\n", "balancer added", a - b}'
