#!/usr/bin/env bash
# The article this project started from, replayed at a fifth of its
# timescale on the demo app (graceful on SIGTERM, 200 ms of work per
# request, behind an entrypoint script without exec) with the kubernetes
# preset and a 2 s endpoint lag: readiness only (grace 6 s, the default
# 30 s scaled); preStop sleep 8 s with the 6 s grace (the article: preStop
# 40 s, grace 30 s); preStop 8 s with a 10 s grace (40 s / 50 s); and
# drainit's one line with the 6 s grace. One table row each
# (docs/drill.md quotes a run).
set -euo pipefail
cd "$(dirname "$0")/../.."
static=${DRAINIT_STATIC_DIR:-$PWD/target/static}
drill=${DRILL_BIN:-$PWD/target/release/drainit-drill}
bash drill/scripts/demo-image.sh >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
common=(drainit-drill-demo:graceful --drainit "$static/drainit" --replicas 3 --rate 50 --lag 2s
    --warmup 2s --timeout 5s -e DEMO_WORK=200ms --quiet)
row() {
    local name=$1; shift
    "$drill" "${common[@]}" "$@" --json "$tmp/r.json" >/dev/null 2>&1 || true
    python3 - "$tmp/r.json" "$name" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
v = r["variants"][0]
kinds = ", ".join(f"{k} {n}" for k, n in v["failures"].items()) or "-"
stops = ", ".join(f'{x["stop_s"]:.1f}s' for x in v["replicas"])
ends = sorted({x["ending"] for x in v["replicas"]})
print(f'| {sys.argv[2]} | {v["requests"]} | {v["failed"]} | {kinds} | {stops} | {"; ".join(ends)} |')
PY
}
echo "| configuration | requests | failed | kinds | stop to exit | ending |"
echo "|---|---|---|---|---|---|"
row "readiness only, grace 6 s" --variants as-built --grace 6s
row "preStop sleep 8 s, grace 6 s" --variants as-built --grace 6s --prestop-sleep 8s
row "preStop sleep 8 s, grace 10 s" --variants as-built --grace 10s --prestop-sleep 8s
row "drainit (recommended flags), grace 6 s" --variants drainit --grace 6s
