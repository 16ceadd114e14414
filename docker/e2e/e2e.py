#!/usr/bin/env python3
"""The rolling-restart proof: replicas behind HAProxy, restarted one after
another while `hey` sends POST requests at a fixed rate; every failed request
is counted.

    e2e.py full    the whole matrix, written to docker/e2e/RESULTS.md
    e2e.py short   one replica cycle per entrypoint, to target/e2e-short.md

Each replica is the demo app (~200 ms per request) started by /app.sh, a
wrapper shell that does NOT exec it. HAProxy runs on loopback with retries
off and no redispatch, so no failure is hidden. Two ways the load balancer
learns a replica goes away:

  hc    health checks (`option httpchk`, inter 1s fall 2 rise 2) against
        drainit's /ready, or the app's own /health when there is no drainit;
  k8s   no checks: the harness stops the container and, after a propagation
        lag L, disables the server through HAProxy's runtime API -- SIGTERM
        and endpoint removal race as they do in Kubernetes.

Only the Python standard library is used. Needs the image drainit-test:latest
(docker/build.sh test), haproxy and hey.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field

IMAGE = os.environ.get("E2E_IMAGE", "drainit-test:latest")
WORK = os.environ.get("E2E_WORK", "200ms")
REPLICAS = 3
# hey: CONCURRENCY workers, each at most RATE requests/s (a 200 ms request
# caps a worker at 5/s): ~100 requests/s offered through the rollout.
CONCURRENCY = int(os.environ.get("E2E_CONCURRENCY", "24"))
RATE = int(os.environ.get("E2E_RATE", "4"))
BASELINE_STOP_TIMEOUT = 10  # docker stop -t for entrypoints without a grace
GRACE = 10  # drainit --grace in the drain rows
LABEL = f"drainit-e2e={os.getpid()}"
# RESULTS.md ends with the recipes matrix (recipes.py) after this line: a
# full run here rewrites what is above it and keeps the rest.
RECIPES_MARK = "<!-- recipes: written by docker/e2e/recipes.py; keep at the end -->"
PROCS = []  # haproxy and hey processes, killed on any exit


def spawn(args, **kw):
    p = subprocess.Popen(args, **kw)
    PROCS.append(p)
    return p


def cleanup():
    for p in PROCS:
        if p.poll() is None:
            p.kill()
            p.wait()
    subprocess.run(["sh", "-c", f"docker ps -aq --filter label={LABEL} | xargs -r docker rm -f"],
                   capture_output=True)


def on_signal(signum, _frame):
    cleanup()
    os._exit(128 + signum)


def log(msg):
    print(f"e2e: {msg}", file=sys.stderr, flush=True)


@dataclass
class Entrypoint:
    name: str
    run_args: list  # extra `docker run` options
    command: list  # before the app's arguments
    readiness: str  # "ready" (drainit's --http endpoint) or "health" (app)
    stop_timeout: int
    drain: bool = False  # a drain row: must fail 0 requests


def drainit_cmd(*opts):
    return ["/drainit", "--http", "0.0.0.0:8081", *opts, "--", "/app.sh"]


def entry_sh():
    return Entrypoint("sh as PID 1", [], ["/app.sh"], "health", BASELINE_STOP_TIMEOUT)


def entry_init():
    return Entrypoint("docker run --init (tini)", ["--init"], ["/app.sh"], "health",
                      BASELINE_STOP_TIMEOUT)


def entry_dumb():
    return Entrypoint("dumb-init", [], ["/usr/bin/dumb-init", "/app.sh"], "health",
                      BASELINE_STOP_TIMEOUT)


def entry_drainit():
    return Entrypoint("drainit (no drain options)", [], drainit_cmd(), "ready",
                      BASELINE_STOP_TIMEOUT)


def entry_delay(delay):
    return Entrypoint(f"drainit --drain-delay {delay}s --grace {GRACE}s", [],
                      drainit_cmd(f"--drain-delay={delay}s", f"--grace={GRACE}s"),
                      "ready", delay + GRACE + 2, drain=True)


def entry_quiet(quiet=1, delay=10):
    return Entrypoint(f"drainit --drain-quiet {quiet}s --drain-delay {delay}s --grace {GRACE}s",
                      [], drainit_cmd(f"--drain-quiet={quiet}s", f"--drain-delay={delay}s",
                                      f"--grace={GRACE}s"),
                      "ready", delay + GRACE + 2, drain=True)


@dataclass
class Scenario:
    entry: Entrypoint
    lb: str  # "hc" or "k8s"
    app: str  # "immediate" or "graceful"
    lag: float  # k8s mode: seconds between SIGTERM and endpoint removal
    cycles: int = REPLICAS


@dataclass
class Result:
    scenario: Scenario
    requests: int = 0
    failed: int = 0
    p99: float = 0.0
    rollout: float = 0.0
    exits: list = field(default_factory=list)
    errors: dict = field(default_factory=dict)


def matrix(mode):
    """The scenarios of a run."""
    if mode == "short":
        # The hardest app (drops in-flight requests on SIGTERM), one cycle.
        rows = [Scenario(e, "k8s", "immediate", 2, 1) for e in
                (entry_sh(), entry_init(), entry_dumb(), entry_drainit(), entry_delay(5),
                 entry_quiet())]
        rows.append(Scenario(entry_delay(5), "hc", "immediate", 0, 1))
        return rows
    rows = []
    for lb in ("hc", "k8s"):
        for app in ("immediate", "graceful"):
            lag = 2 if lb == "k8s" else 0
            for e in (entry_sh(), entry_init(), entry_dumb(), entry_drainit(), entry_delay(5),
                      entry_quiet()):
                rows.append(Scenario(e, lb, app, lag))
    # Adaptive against fixed delay for propagation lags of 1, 2 and 5 s
    # (lag 2 is in the matrix above).
    for lag in (1, 5):
        for app in ("immediate", "graceful"):
            rows.append(Scenario(entry_delay(lag + 3), "k8s", app, lag))
            rows.append(Scenario(entry_quiet(), "k8s", app, lag))
    return rows


# --- small helpers ----------------------------------------------------------

def sh(*args, check=True, timeout=120):
    p = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {p.returncode}: {p.stderr.strip()}")
    return p.stdout.strip()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_ok(url, timeout=1.0):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return 200 <= r.status < 300
    except Exception:
        return False


def wait_until(pred, limit, what):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.05)
    raise RuntimeError(f"timed out after {limit}s waiting for {what}")


class HAProxy:
    def __init__(self, workdir, slots, lb, entry):
        self.sock = os.path.join(workdir, "haproxy.sock")
        self.port = free_port()
        self.cfg = os.path.join(workdir, "haproxy.cfg")
        check = ""
        if lb == "hc":
            path = "/ready" if entry.readiness == "ready" else "/health"
            check = f"    option httpchk GET {path}\n"
        servers = []
        for i, s in enumerate(slots):
            line = f"    server s{i} 127.0.0.1:{s.app_port}"
            if lb == "hc":
                port = s.ready_port if entry.readiness == "ready" else s.app_port
                line += f" check port {port}"
            servers.append(line)
        with open(self.cfg, "w") as f:
            f.write(f"""global
    maxconn 4096
    stats socket {self.sock} mode 600 level admin
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    retries 0
frontend fe
    bind 127.0.0.1:{self.port}
    default_backend be
backend be
    balance roundrobin
    no option redispatch
{check}    default-server inter 1s fall 2 rise 2
""" + "\n".join(servers) + "\n")
        self.proc = spawn(["haproxy", "-db", "-f", self.cfg],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_until(lambda: os.path.exists(self.sock), 10, "the HAProxy stats socket")

    def command(self, cmd):
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(self.sock)
            s.sendall((cmd + "\n").encode())
            out = b""
            while chunk := s.recv(65536):
                out += chunk
        return out.decode()

    def status(self, i):
        """The server's status column from `show stat` (UP, DOWN, MAINT...)."""
        lines = self.command("show stat").splitlines()
        header = lines[0].lstrip("# ").split(",")
        for line in lines[1:]:
            row = dict(zip(header, line.split(",")))
            if row.get("pxname") == "be" and row.get("svname") == f"s{i}":
                return row.get("status", "")
        return ""

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@dataclass
class Slot:
    index: int
    app_port: int
    ready_port: int
    name: str = ""
    generation: int = 0


class Run:
    """One scenario: replicas, HAProxy, hey, the rollout."""

    def __init__(self, sc, row):
        self.sc = sc
        self.row = row
        self.workdir = tempfile.mkdtemp(prefix="drainit-e2e-")
        self.slots = [Slot(i, free_port(), free_port()) for i in range(REPLICAS)]

    def start(self, slot):
        slot.generation += 1
        slot.name = f"drainit-e2e-{os.getpid()}-{self.row}-{slot.index}-{slot.generation}"
        e = self.sc.entry
        args = ["docker", "run", "-d", "--name", slot.name, "--label", LABEL,
                "-p", f"127.0.0.1:{slot.app_port}:8080",
                "-p", f"127.0.0.1:{slot.ready_port}:8081",
                *e.run_args, IMAGE, *e.command,
                "--work", WORK, "--on-term", self.sc.app]
        sh(*args)

    def readiness_url(self, slot):
        if self.sc.entry.readiness == "ready":
            return f"http://127.0.0.1:{slot.ready_port}/ready"
        return f"http://127.0.0.1:{slot.app_port}/health"

    def wait_ready(self, slot, lb):
        """Until the replica is ready and HAProxy routes to it again."""
        wait_until(lambda: http_ok(self.readiness_url(slot)), 30, f"{slot.name} ready")
        if self.sc.lb == "k8s":
            # The kubelet's readiness probe passed: the endpoint comes back.
            lb.command(f"enable server be/s{slot.index}")
        # "no check": enabled without health checks (k8s-like mode).
        wait_until(lambda: lb.status(slot.index).startswith(("UP", "no check")), 30,
                   f"HAProxy to see s{slot.index} UP")

    def replace(self, slot, lb, result):
        """Stop one replica the way the platform does, start its successor."""
        e = self.sc.entry
        stopper = threading.Thread(target=sh, args=("docker", "stop", "-t", str(e.stop_timeout),
                                                    slot.name), kwargs={"timeout": 120})
        stopper.start()
        if self.sc.lb == "k8s":
            time.sleep(self.sc.lag)
            lb.command(f"disable server be/s{slot.index}")
        stopper.join()
        code = sh("docker", "inspect", "-f", "{{.State.ExitCode}}", slot.name)
        result.exits.append(int(code))
        self.keep_logs(slot)
        sh("docker", "rm", "-f", slot.name, check=False)
        if self.sc.lb == "hc":
            # A replacement is a new endpoint (a new pod IP): the load
            # balancer must first find the old one dead through its checks.
            # Reusing the port at once would hide that window.
            wait_until(lambda: lb.status(slot.index).startswith("DOWN"), 30,
                       f"HAProxy to mark s{slot.index} DOWN")
        self.start(slot)
        self.wait_ready(slot, lb)

    def keep_logs(self, slot):
        p = subprocess.run(["docker", "logs", slot.name], capture_output=True, text=True)
        with open(os.path.join(self.workdir, f"{slot.name}.log"), "w") as f:
            f.write(p.stdout + p.stderr)

    def execute(self):
        sc = self.sc
        result = Result(sc)
        lb = None
        hey = None
        try:
            for s in self.slots:
                self.start(s)
            lb = HAProxy(self.workdir, self.slots, sc.lb, sc.entry)
            for s in self.slots:
                self.wait_ready(s, lb)
            url = f"http://127.0.0.1:{lb.port}/work"
            hey = spawn(["hey", "-z", "30m", "-c", str(CONCURRENCY), "-q", str(RATE),
                                    "-m", "POST", url],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            time.sleep(2)  # steady state before the rollout
            t0 = time.monotonic()
            for s in self.slots[:sc.cycles]:
                self.replace(s, lb, result)
            result.rollout = time.monotonic() - t0
            time.sleep(2)  # let the last replica take traffic
            hey.send_signal(signal.SIGINT)
            out, _ = hey.communicate(timeout=60)
            hey = None
            parse_hey(out, result)
            with open(os.path.join(self.workdir, "hey.txt"), "w") as f:
                f.write(out)
        finally:
            if hey:
                hey.kill()
                hey.wait()
            if lb:
                lb.stop()
            for s in self.slots:
                if s.name:
                    sh("docker", "rm", "-f", s.name, check=False)
        if os.environ.get("E2E_KEEP") != "1" and result.failed == 0:
            shutil.rmtree(self.workdir, ignore_errors=True)
        else:
            log(f"logs kept in {self.workdir}")
        return result


def parse_hey(out, result):
    codes = re.findall(r"^\s+\[(\d+)\]\s+(\d+) responses", out, re.M)
    ok = sum(int(n) for c, n in codes if c.startswith("2"))
    bad_status = sum(int(n) for c, n in codes if not c.startswith("2"))
    errors = {}
    if "Error distribution:" in out:
        for count, msg in re.findall(r"^\s+\[(\d+)\]\s+(.*)$",
                                     out.split("Error distribution:", 1)[1], re.M):
            # Group "read tcp A->B: ..." style messages by their kind.
            kind = re.sub(r".*: ", "", msg) if ": " in msg else msg
            errors[kind] = errors.get(kind, 0) + int(count)
    for c, n in codes:
        if not c.startswith("2"):
            errors[f"HTTP {c}"] = errors.get(f"HTTP {c}", 0) + int(n)
    result.errors = errors
    result.failed = bad_status + sum(v for k, v in errors.items() if not k.startswith("HTTP "))
    result.requests = ok + result.failed
    m = re.search(r"99% in ([\d.]+) secs", out)
    slowest = re.search(r"Slowest:\s+([\d.]+) secs", out)
    p99 = float(m.group(1)) if m else 0.0
    if p99 == 0.0 and slowest:
        p99 = float(slowest.group(1))
    result.p99 = p99


def table(results):
    lines = ["| entrypoint | LB mode | app on SIGTERM | lag | requests | failed | p99 | rollout | exit codes |",
             "|---|---|---|---|---:|---:|---:|---:|---|"]
    for r in results:
        sc = r.scenario
        lb = "health checks" if sc.lb == "hc" else "k8s-like"
        lag = f"{sc.lag:g} s" if sc.lb == "k8s" else "(fall 2 × 1 s)"
        failed = f"**{r.failed}**" if sc.entry.drain else str(r.failed)
        lines.append(f"| {sc.entry.name} | {lb} | {sc.app} | {lag} | {r.requests} | {failed} | "
                     f"{r.p99 * 1000:.0f} ms | {r.rollout:.1f} s | "
                     f"{' '.join(str(c) for c in r.exits)} |")
    return "\n".join(lines)


NOTES = """How to read it:
- failed = non-2xx answers (HAProxy's 503 when a server refuses the
  connection, 502 when it dies mid-response) plus connection errors (EOF,
  resets) seen by hey. Latencies (p99) are of successful requests only.
- rollout = first `docker stop` to the last replacement taking traffic. In
  health-check mode the harness waits for HAProxy to mark the old server DOWN
  before starting its successor (a new pod is a new endpoint); in k8s-like
  mode it disables the server after the lag and enables the successor once
  it is ready.
- sh as PID 1 in k8s-like mode fails 0: the kernel drops SIGTERM for a PID 1
  without a handler, so the app keeps serving until `docker stop -t 10`
  SIGKILLs it (exit 137), long after the endpoint was removed. The cost is
  the rollout time (10 s per replica, the platform's whole grace, 30 s by
  default in Kubernetes) and no clean shutdown; with health checks the same
  SIGKILL hits a server HAProxy still routes to.
- The --drain-quiet rows need the adaptive watcher (src/io/traffic/); with a
  binary whose watcher never reports connections they forward after
  --drain-min and fail like the no-delay rows.
"""


def ensure_tools():
    missing = [t for t in ("haproxy", "hey") if shutil.which(t) is None]
    if missing:
        log(f"installing {' '.join(missing)}")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        if subprocess.run(["apt-get", "install", "-y", "-qq", *missing], env=env).returncode:
            subprocess.run(["apt-get", "update", "-qq"], env=env, check=True)
            subprocess.run(["apt-get", "install", "-y", "-qq", *missing], env=env, check=True)


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "short"
    if mode not in ("full", "short"):
        sys.exit("usage: e2e.py full|short [--only SUBSTRING] [--json PATH]")
    only = None
    json_out = None
    args = sys.argv[2:]
    while args:
        a = args.pop(0)
        if a == "--only":
            only = args.pop(0)
        elif a == "--json":
            json_out = args.pop(0)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    ensure_tools()
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    out_path = os.path.join(here, "RESULTS.md") if mode == "full" \
        else os.path.join(root, "target", "e2e-short.md")
    rows = matrix(mode)
    if only:
        rows = [r for r in rows if only in r.entry.name]
    results = []
    started = time.monotonic()
    try:
        for i, sc in enumerate(rows):
            log(f"[{i + 1}/{len(rows)}] {sc.entry.name} | {sc.lb} | {sc.app} | lag {sc.lag}")
            r = Run(sc, i).execute()
            log(f"    {r.requests} requests, {r.failed} failed, p99 {r.p99 * 1000:.0f} ms, "
                f"rollout {r.rollout:.1f} s, exits {r.exits} {r.errors or ''}")
            results.append(r)
    finally:
        cleanup()
    elapsed = time.monotonic() - started
    header = (f"Rolling restart of {REPLICAS} replicas ({rows[0].cycles if rows else 0} "
              f"replaced per row), demo app --work {WORK} behind /app.sh (no exec), "
              f"HAProxy retries 0 / no redispatch, hey -c {CONCURRENCY} -q {RATE} -m POST "
              f"(~{CONCURRENCY * min(RATE, 5)} req/s). Run: {mode}, {elapsed / 60:.1f} min, "
              f"{time.strftime('%Y-%m-%d')}.")
    md = f"# drainit rolling-restart results ({mode})\n\n{header}\n\n{table(results)}\n\n{NOTES}"
    print(md)
    os.makedirs(os.path.dirname(out_path), exist_ok=True)
    kept = ""
    if mode == "full" and os.path.exists(out_path):
        with open(out_path) as f:
            old = f.read()
        if RECIPES_MARK in old:
            kept = "\n" + old[old.index(RECIPES_MARK):]
    with open(out_path, "w") as f:
        f.write(md + kept)
    log(f"written to {out_path}")
    if json_out:
        with open(json_out, "w") as f:
            json.dump([{"entrypoint": r.scenario.entry.name, "drain": r.scenario.entry.drain,
                        "lb": r.scenario.lb, "app": r.scenario.app, "lag": r.scenario.lag,
                        "requests": r.requests, "failed": r.failed, "p99": r.p99,
                        "rollout": r.rollout, "exits": r.exits, "errors": r.errors}
                       for r in results], f, indent=1)


if __name__ == "__main__":
    main()
