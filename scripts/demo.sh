#!/usr/bin/env bash
# make demo: drainit wrapping the demo app behind a shell wrapper (no exec),
# a client routing through a health-checked "load balancer", and a SIGTERM
# in the middle of the traffic. Shows drainit's shutdown timeline and the
# failed requests, then the same shutdown under tini for comparison.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=target/static
[ -x "$bin/drainit" ] && [ -x "$bin/drainit-demo" ] || bash scripts/static.sh
APP=127.0.0.1:18080
HTTP=127.0.0.1:18081
wrapper="$PWD/$bin/drainit-demo --listen $APP --work 200ms --on-term graceful; echo 'wrapper: app exited'"

run() { # $1 title, $2 health URL, rest: the init command line
    local title=$1 health=$2
    shift 2
    echo
    echo "=== $title ==="
    "$@" sh -c "$wrapper" &
    local init=$!
    python3 scripts/demo_lb.py --app "$APP" --health "$health" --seconds 9 &
    local lb=$!
    sleep 3
    echo "[demo] sending SIGTERM to PID $init (as the platform would)"
    kill -TERM "$init"
    set +e
    wait "$init"
    local code=$?
    set -e
    echo "[demo] init exited with $code"
    wait "$lb"
}

[ -n "${SKIP_DRAINIT:-}" ] || run "drainit --drain-delay 2s --grace 10s (health checks on drainit's /ready)" \
    "http://$HTTP/ready" \
    "$bin/drainit" --http "$HTTP" --drain-delay 2s --grace 10s --
if command -v tini >/dev/null; then
    run "tini -g (health checks on the app's /health): no drain" \
        "http://$APP/health" tini -g --
fi
