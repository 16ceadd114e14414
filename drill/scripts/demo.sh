#!/usr/bin/env bash
# make drill-demo: the demo app (exits at once on SIGTERM, behind an
# entrypoint script without exec) drilled as built and with drainit on the
# kubernetes preset with a short grace; the table on the terminal, the SVG
# and HTML in target/drill-demo/.
set -euo pipefail
cd "$(dirname "$0")/../.."
static=${DRAINIT_STATIC_DIR:-$PWD/target/static}
bash drill/scripts/demo-image.sh
out=target/drill-demo
rm -rf "$out"
set +e
target/release/drainit-drill drainit-drill-demo:immediate --drainit "$static/drainit" \
    --replicas 3 --rate 100 --lag 2s --grace 10s --warmup 2s \
    --json "$out/report.json" --report "$out" --junit "$out/junit.xml"
code=$?
set -e
echo
echo "exit status $code (1: the image as built dropped requests)"
echo "report: $out/report.html, $out/timeline.svg"
[ "$code" -le 1 ]
