#!/usr/bin/env bash
# `make soak`: long runs that CI does not do. Not part of `make test`.
#
#   1. The orphan storm of tests/hardening.rs for ORPHAN_SECS (default 60):
#      zombies sampled every 100 ms, bounded, 0 at the end.
#   2. One long-lived drainit for SOAK_SECS (default 1800 = 30 min) with
#      --http, a drain delay and a grace; its child makes orphans all the
#      time; HUP/USR1/USR2/WINCH/RTMIN+1 arrive ~500/s; /ready and /metrics
#      are probed every 100 ms. drainit's RSS and open fds are printed first,
#      every 5 min and last; at the end TERM must drain it cleanly.
#   3. Meanwhile, when Docker and docker/e2e/run.sh are there (and
#      SOAK_E2E is not 0): the
#      rolling-restart scenario (drainit rows) over and over until step 2
#      ends; the failed requests of each drainit row are printed and summed.
#
# Exit status: non-zero when a check fails. Figures go to stdout and to
# target/soak.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
SOAK_SECS=${SOAK_SECS:-1800}
ORPHAN_SECS=${ORPHAN_SECS:-60}
out=target/soak.txt
mkdir -p target
: >"$out"
say() { echo "soak: $*" | tee -a "$out"; }

cargo build --release -p drainit
say "1/3 orphan storm for ${ORPHAN_SECS}s"
DRAINIT_ORPHAN_SECS=$ORPHAN_SECS cargo test --release -p drainit --test hardening \
    continuous_orphan_storm -- --nocapture 2>&1 | tee /dev/stderr | grep FIGURES >>"$out"

e2e_pid=
if [ "${SOAK_E2E:-1}" != 0 ] && [ -x "$(command -v docker)" ] && docker info >/dev/null 2>&1 && [ -f docker/e2e/run.sh ]; then
    say "3/3 rolling restarts (docker/e2e/run.sh short --only drainit) in the background"
    (
        end=$(($(date +%s) + SOAK_SECS))
        n=0
        while [ "$(date +%s)" -lt "$end" ]; do
            n=$((n + 1))
            bash docker/e2e/run.sh short --only drainit --json "target/soak-e2e-$n.json" \
                >"target/soak-e2e-$n.log" 2>&1 || echo "e2e round $n failed" >>target/soak-e2e.err
        done
    ) &
    e2e_pid=$!
else
    say "3/3 skipped: SOAK_E2E=0, no Docker engine, or no docker/e2e/run.sh"
fi

say "2/3 one drainit for ${SOAK_SECS}s with orphans, signals and probes"
python3 - "$SOAK_SECS" target/release/drainit <<'EOF' | tee -a "$out"
import os, signal, socket, subprocess, sys, threading, time, urllib.request

secs, drainit = float(sys.argv[1]), sys.argv[2]
CHILD = r"""
import os, signal, time
ALL = signal.valid_signals() - {signal.SIGKILL, signal.SIGSTOP}
signal.pthread_sigmask(signal.SIG_BLOCK, ALL)
got = 0
while True:
    # An orphan every 5 ms: fork, the middle exits, the grandchild is ours.
    p = os.fork()
    if p == 0:
        if os.fork() == 0:
            time.sleep(0.01)
            os._exit(0)
        os._exit(0)
    os.waitpid(p, 0)
    info = signal.sigtimedwait(ALL, 0.005)
    if info is not None:
        got += 1
        if info.si_signo == signal.SIGTERM:
            print("child: %d signals, exiting on TERM" % got, flush=True)
            os._exit(0)
"""
s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
d = subprocess.Popen([drainit, "--http", f"127.0.0.1:{port}", "--drain-delay", "1s",
                      "--grace", "10s", "--", sys.executable, "-c", CHILD])

def status(field):
    with open(f"/proc/{d.pid}/status") as f:
        return int(next(l for l in f if l.startswith(field + ":")).split()[1])

def rss():
    return status("VmRSS")

def mem():
    return f"RSS {rss()} KiB (anon {status('RssAnon')} KiB)"

def fds():
    return len(os.listdir(f"/proc/{d.pid}/fd"))

def metric(name):
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read().decode()
    return sum(float(l.rsplit(" ", 1)[1]) for l in body.splitlines() if l.startswith(name))

stop = threading.Event()
sent = [0]
probes = {"ok": 0, "failed": 0, "slow": 0}

def signals():
    kinds = [signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2, signal.SIGWINCH, signal.SIGRTMIN + 1]
    while not stop.is_set():
        os.kill(d.pid, kinds[sent[0] % len(kinds)])
        sent[0] += 1
        time.sleep(0.002)

def prober():
    while not stop.is_set():
        t = time.monotonic()
        try:
            for path in ("/ready", "/metrics"):
                urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2).read()
            probes["ok"] += 1
            if time.monotonic() - t > 0.1:
                probes["slow"] += 1
        except Exception:
            probes["failed"] += 1
        time.sleep(0.1)

time.sleep(1.0)
print(f"soak: drainit pid {d.pid} at start: {mem()}, {fds()} fds", flush=True)
threads = [threading.Thread(target=f) for f in (signals, prober)]
for t in threads:
    t.start()
start = time.monotonic()
# drainit drops its start-up code pages 100 ms after start (src/memory.rs);
# the pages the loop needs fault back in under load. The baseline is taken
# once that warm-up is over: a leak is growth after it.
warmup = min(60.0, secs / 10)
time.sleep(warmup)
first = (rss(), fds(), status("RssAnon"))
print(f"soak: first (after {warmup:.0f}s of load): {mem()}, {first[1]} fds", flush=True)
next_report = start + 300
while time.monotonic() - start < secs:
    time.sleep(1)
    if d.poll() is not None:
        print(f"soak: FAIL drainit exited early with {d.returncode}")
        sys.exit(1)
    if time.monotonic() >= next_report:
        next_report += 300
        print(f"soak: +{(time.monotonic() - start) / 60:.0f} min: {mem()}, {fds()} fds, "
              f"{sent[0]} signals sent, reaped {metric('drainit_processes_reaped_total'):.0f}, "
              f"probes {probes}", flush=True)
stop.set()
for t in threads:
    t.join()
time.sleep(0.5)
last = (rss(), fds(), status("RssAnon"))
reaped = metric("drainit_processes_reaped_total")
received = metric("drainit_signals_received_total")
print(f"soak: last: {mem()}, {last[1]} fds after {secs:.0f}s; {sent[0]} signals sent, "
      f"{received:.0f} received (standard ones coalesce), {reaped:.0f} orphans reaped, "
      f"probes {probes}", flush=True)
t = time.monotonic()
d.send_signal(signal.SIGTERM)
code = d.wait(timeout=30)
took = time.monotonic() - t
print(f"soak: TERM -> exit {code} after {took:.2f}s (drain delay 1s)", flush=True)
ok = (code == 0 and 1.0 <= took < 5 and probes["failed"] == 0
      and last[0] <= first[0] * 1.10 and last[2] <= first[2] * 1.10 and last[1] <= first[1])
print("soak: " + ("PASS" if ok else "FAIL") + ": RSS within 10 %, fds not above the first "
      "sample, no failed probe, clean drain", flush=True)
sys.exit(0 if ok else 1)
EOF
status=${PIPESTATUS[0]}

if [ -n "$e2e_pid" ]; then
    say "waiting for the current rolling-restart round"
    wait "$e2e_pid" || true
    python3 - <<'EOF' | tee -a "$out"
import glob, json
rows = failed = requests = 0
for path in sorted(glob.glob("target/soak-e2e-*.json")):
    for r in json.load(open(path)):
        if "drainit" in r["entrypoint"]:
            rows += 1
            failed += r["failed"]
            requests += r["requests"]
            print(f"soak: e2e {path}: {r['entrypoint']} {r['lb']} {r['app']}: "
                  f"{r['requests']} requests, {r['failed']} failed")
print(f"soak: e2e total: {rows} drainit rows, {requests} requests, {failed} failed")
EOF
    [ -f target/soak-e2e.err ] && cat target/soak-e2e.err
fi
say "figures written to $out"
exit "$status"
