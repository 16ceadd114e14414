#!/usr/bin/env bash
# Builds the drill's demo images FROM scratch: the demo app started by an
# entrypoint script WITHOUT exec that passes SIGTERM on with a trap (the way
# careful ones are written), one tag per --on-term mode:
#
#   drainit-drill-demo:immediate   exits at once on SIGTERM
#   drainit-drill-demo:graceful    stops accepting, finishes what it has
#   drainit-drill-demo:ignore      ignores SIGTERM (SIGKILLed at the grace)
#
#   drainit-drill-demo:noport      EXPOSEs no port
#
# The static drainit is NOT in the images: the drill injects it. Binaries
# from $DRAINIT_STATIC_DIR (default target/static, `make static`).
set -euo pipefail
cd "$(dirname "$0")/../.."
static=${DRAINIT_STATIC_DIR:-$PWD/target/static}
[ -x "$static/drainit-demo" ] || { echo "demo-image.sh: $static/drainit-demo missing: run 'make static'" >&2; exit 1; }
busybox=$(command -v busybox || echo /bin/busybox)
file -L "$busybox" 2>/dev/null | grep -q 'statically linked' ||
    { echo "demo-image.sh: $busybox is not static: apt-get install busybox-static" >&2; exit 1; }
ctx=$(mktemp -d "${TMPDIR:-/tmp}/drill-demo.XXXXXX")
trap 'rm -rf "$ctx"' EXIT
mkdir -p "$ctx/root/bin"
cp "$static/drainit-demo" "$ctx/root/drainit-demo"
cp "$busybox" "$ctx/root/bin/busybox"
for applet in sh echo sleep cat kill; do ln -s busybox "$ctx/root/bin/$applet"; done
# The script passes SIGTERM on to the app (a trap, as careful entrypoint
# scripts do) but does not exec it: the shell stays PID 1.
cat >"$ctx/root/app.sh" <<'SCRIPT'
#!/bin/sh
trap 'kill -TERM "$child" 2>/dev/null' TERM INT
/drainit-demo "$@" &
child=$!
wait "$child"
# A trapped signal ends the first wait early: wait for the app itself.
wait "$child"
status=$?
echo "app.sh: the app exited with $status"
exit "$status"
SCRIPT
chmod 755 "$ctx/root/app.sh"
for mode in immediate graceful ignore; do
    cat >"$ctx/Dockerfile" <<DOCKERFILE
FROM scratch
COPY root/ /
ENV PATH=/bin DEMO_ON_TERM=$mode DEMO_WORK=20ms DEMO_DRAIN_TIMEOUT=60s
EXPOSE 8080
ENTRYPOINT ["/app.sh"]
CMD ["--listen", "0.0.0.0:8080"]
DOCKERFILE
    if ! log=$(docker build -q -t "drainit-drill-demo:$mode" "$ctx" 2>&1); then
        printf '%s\n' "$log" >&2
        echo "demo-image.sh: docker build drainit-drill-demo:$mode failed" >&2
        exit 1
    fi
    echo "image drainit-drill-demo:$mode"
done
# An image that EXPOSEs no port (the drill asks for --port).
cat >"$ctx/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY root/ /
ENV PATH=/bin DEMO_WORK=20ms
ENTRYPOINT ["/app.sh"]
CMD ["--listen", "0.0.0.0:8080"]
DOCKERFILE
docker build -q -t drainit-drill-demo:noport "$ctx" >/dev/null
echo "image drainit-drill-demo:noport"
