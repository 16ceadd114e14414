#!/usr/bin/env python3
"""Recipes, proven: real servers from Debian's packages, each started by an
entrypoint script WITHOUT exec and with its official image's STOPSIGNAL,
restarted one replica after another behind HAProxy (retries 0) with the
endpoint removed a propagation lag after the stop signal (Kubernetes-like:
SIGTERM and endpoint removal race). Each server runs under
`docker run --init` (tini), dumb-init and drainit with its recipe.

    recipes.py full   [--only SERVERS] [--inits INITS]   docker/e2e/RESULTS.md
    recipes.py short                                     target/e2e-recipes-short.md
    options: --json PATH, --rows PATH (one row a line, key=value: for tests),
             --cycles N

SERVERS and INITS are comma lists (`--only nginx,apache --inits drainit`).
A full run (filtered or not) merges its rows into docker/e2e/recipes/
results.json and re-renders the "Recipes" section of RESULTS.md from it, so
one row can be re-measured alone. DRAINIT_BIN picks the drainit binary
(default target/static/drainit). Container logs of the last run are kept in
target/e2e-recipes/.

Load: two `hey` clients through HAProxy, short GET / and GET /slow (1.5 s of
the app's own work), so requests are in flight when the stop signal lands.
"""

import calendar
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402  (the rolling-restart harness: HAProxy, hey parsing)
from e2e import log, sh, wait_until, http_ok, free_port, parse_hey  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
RECIPES = os.path.join(HERE, "recipes")
REPLICAS = 3
LAG = 2.0  # seconds between the stop signal and endpoint removal
SLOW = 1.5  # seconds of work in GET /slow: the app's own drain
QUIET, DELAY, GRACE = 1, 10, 20  # the recipes' --drain-quiet/-delay, --grace
PLATFORM_GRACE = 30  # docker stop -t for tini and dumb-init (Kubernetes' default)
SHORT_LOAD = ("-c", "8", "-q", "5")  # ~40 short requests/s
SLOW_LOAD = ("-c", "6", "-q", "1")  # ~4 slow requests/s, ~2 in flight per replica
COMMON = ["--http=0.0.0.0:8081", f"--drain-quiet={QUIET}s", f"--drain-delay={DELAY}s",
          f"--grace={GRACE}s"]


@dataclass
class Server:
    name: str
    image: str  # directory under recipes/
    stopsignal: str
    graceful: list  # regexes that must all appear in the container's log
    own_exit: int  # the app's own exit status after its graceful stop
    extra: list = field(default_factory=list)  # drainit flags besides COMMON
    env: dict = field(default_factory=dict)
    note: str = ""


SERVERS = [
    Server("nginx", "nginx", "QUIT", [r"gracefully shutting down"], 0, ["--drain-signal=QUIT"]),
    Server("apache", "apache", "WINCH", [r"caught SIGWINCH, shutting down gracefully"], 0,
           ["--drain-signal=WINCH"]),
    Server("php-fpm", "php-fpm", "QUIT", [r"gracefully shutting down", r"NOTICE: Finishing"], 0,
           ["--drain-signal=QUIT"], note="nginx in front, both behind one script"),
    Server("gunicorn", "gunicorn", "TERM",
           [r"Handling signal: term", r"Shutting down: Master"], 0),
    Server("uvicorn", "uvicorn", "TERM", [r"Finished server process"], 0),
    Server("node", "node", "TERM", [r"graceful stop, all connections closed"], 0,
           env={"TERM_HANDLER": "1"}, note="SIGTERM handler closes the server"),
    Server("node-nohandler", "node", "TERM", [], 143,
           note="no handler: Node dies of TERM, no graceful stop to log"),
    Server("java", "java", "TERM", [r"java: graceful stop"], 143,
           note="shutdown hook; the JVM exits 143 after it"),
    Server("haproxy", "haproxy", "USR1", [r"Proxy app stopped", r"All workers exited\. Exiting\.\.\. \(0\)"], 0, ["--drain-signal=USR1"]),
]
INITS = ("tini", "dumb-init", "drainit")


def drainit_flags(server):
    return COMMON + server.extra


def init_command(init, server):
    """The `docker run` options and command for one init."""
    if init == "tini":
        return ["--init"], ["/srv/app/entrypoint.sh"]
    if init == "dumb-init":
        return [], ["/usr/local/bin/dumb-init", "/srv/app/entrypoint.sh"]
    return [], ["/usr/local/bin/drainit", *drainit_flags(server), "--", "/srv/app/entrypoint.sh"]


def stop_timeout(init):
    return DELAY + GRACE + 2 if init == "drainit" else PLATFORM_GRACE


@dataclass
class Row:
    server: Server
    init: str
    cycles: int
    requests: int = 0
    failed: int = 0
    slow_requests: int = 0
    slow_failed: int = 0
    rollout: float = 0.0
    stops: list = field(default_factory=list)  # seconds from docker stop to exit
    exits: list = field(default_factory=list)
    graceful: int = 0  # replicas whose log has every graceful-stop line
    wrapper_done: int = 0  # replicas whose entrypoint ran its last line
    errors: dict = field(default_factory=dict)

    @property
    def budget(self):
        return LAG + QUIET + SLOW + 1.0



def goal_met(j):
    """The recipe's goal for a drainit row (issue 12): 0 failed, the app's
    own graceful stop logged by every replica, the app's own exit status
    (known to be the app's only when the wrapper ran on and passed it),
    every stop within lag + quiet + app drain + 1 s."""
    return (j["failed"] == 0 and j["requests"] > 0
            and (j["graceful"] == j["cycles"] or not j["graceful_expected"])
            and j["wrapper_done"] == j["cycles"]
            and all(c == j["own_exit"] for c in j["exits"])
            and all(t <= j["budget"] for t in j["stops"]))


# --- images -----------------------------------------------------------------

SHORT_SERVERS = ("nginx", "gunicorn")  # what packages-short.txt holds


def base_image(servers):
    env = dict(os.environ)
    if all(s in SHORT_SERVERS for s in servers):
        env["E2E_PACKAGES"] = "short"
    p = subprocess.run(["bash", os.path.join(RECIPES, "base.sh")], stdout=subprocess.PIPE,
                       text=True, env=env)
    if p.returncode != 0:
        raise RuntimeError("docker/e2e/recipes/base.sh failed")
    return p.stdout.strip().splitlines()[-1]


def build_image(directory, base):
    """drainit-e2e-DIR:latest from recipes/DIR (see its Dockerfile for the
    context's layout). Built once per machine: the engine's cache keeps it
    while nothing in it changes. drainit itself is bind-mounted at run time."""
    tag = f"drainit-e2e-{directory}:latest"
    with tempfile.TemporaryDirectory(prefix="drainit-e2e-ctx-") as ctx:
        src = os.path.join(RECIPES, directory)
        app = os.path.join(ctx, "root", "srv", "app")
        shutil.copytree(src, app, ignore=shutil.ignore_patterns("Dockerfile"))
        shutil.copy(os.path.join(src, "Dockerfile"), ctx)
        os.makedirs(os.path.join(ctx, "root", "usr", "local", "bin"))
        shutil.copy("/usr/bin/dumb-init", os.path.join(ctx, "root", "usr", "local", "bin"))
        www = os.path.join(ctx, "root", "srv", "www")
        os.makedirs(www)
        with open(os.path.join(www, "index.html"), "w") as f:
            f.write("ok\n")
        # /slow for nginx and httpd: 128 KiB sent at 64 KiB/s, 1.5-2 s.
        with open(os.path.join(www, "slow"), "wb") as f:
            f.write(bytes(131072))
        # The same mtimes every time, so the engine's cache recognises them.
        for d, _, files in os.walk(os.path.join(ctx, "root")):
            for n in files:
                os.utime(os.path.join(d, n), (0, 0))
        t0 = time.monotonic()
        p = subprocess.run(["docker", "build", "-q", "--build-arg", f"BASE={base}", "-t", tag,
                            ctx], capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError(f"docker build {tag}: {p.stdout}{p.stderr}")
        log(f"image {tag} ({time.monotonic() - t0:.0f} s)")
    return tag


# --- one row: three replicas, the rollout -----------------------------------

def finished_at(stamp):
    """Seconds since the epoch from Docker's RFC 3339 time (nanoseconds, Z)."""
    day, _, frac = stamp.rstrip("Z").partition(".")
    whole = calendar.timegm(time.strptime(day, "%Y-%m-%dT%H:%M:%S"))
    return whole + float("0." + (frac or "0"))


@dataclass
class Slot:
    index: int
    app_port: int
    ready_port: int
    name: str = ""
    generation: int = 0


class Rollout:
    def __init__(self, row, image, logdir, drainit_bin):
        self.row = row
        self.drainit_bin = drainit_bin
        self.image = image
        self.logdir = logdir
        self.slots = [Slot(i, free_port(), free_port()) for i in range(REPLICAS)]

    def start(self, slot):
        slot.generation += 1
        r = self.row
        slot.name = f"e2e-rcp-{r.server.name}-{r.init}-{os.getpid()}-{slot.index}-{slot.generation}"
        opts, command = init_command(r.init, r.server)
        env = [a for k, v in r.server.env.items() for a in ("-e", f"{k}={v}")]
        sh("docker", "run", "-d", "--name", slot.name, "--label", e2e.LABEL,
           "-p", f"127.0.0.1:{slot.app_port}:8080", "-p", f"127.0.0.1:{slot.ready_port}:8081",
           "-v", f"{self.drainit_bin}:/usr/local/bin/drainit:ro", *env, *opts, self.image,
           *command)

    def wait_ready(self, slot, lb):
        """The kubelet's readiness probe passes, the endpoint comes back."""
        url = f"http://127.0.0.1:{slot.app_port}/"
        if self.row.init == "drainit":
            url = f"http://127.0.0.1:{slot.ready_port}/ready"
        wait_until(lambda: http_ok(url) and http_ok(f"http://127.0.0.1:{slot.app_port}/"), 90,
                   f"{slot.name} ready")
        lb.command(f"enable server be/s{slot.index}")
        wait_until(lambda: lb.status(slot.index).startswith(("UP", "no check")), 30,
                   f"HAProxy to route to s{slot.index}")

    def replace(self, slot, lb):
        r = self.row
        t0 = time.time()
        stopper = threading.Thread(target=sh, args=("docker", "stop", "-t",
                                                    str(stop_timeout(r.init)), slot.name),
                                   kwargs={"timeout": 120})
        stopper.start()
        time.sleep(LAG)
        lb.command(f"disable server be/s{slot.index}")
        stopper.join()
        code, finished = sh("docker", "inspect", "-f", "{{.State.ExitCode}} {{.State.FinishedAt}}",
                            slot.name).split()
        # The engine's exit time, not `docker stop` returning: tearing a
        # container down takes the loaded engine seconds more.
        r.stops.append(finished_at(finished) - t0)
        r.exits.append(int(code))
        self.judge_logs(slot)
        sh("docker", "rm", "-f", slot.name, check=False)
        self.start(slot)
        self.wait_ready(slot, lb)

    def judge_logs(self, slot):
        p = subprocess.run(["docker", "logs", slot.name], capture_output=True, text=True)
        text = p.stdout + p.stderr
        with open(os.path.join(self.logdir, f"{slot.name}.log"), "w") as f:
            f.write(text)
        pats = self.row.server.graceful
        if pats and all(re.search(pat, text) for pat in pats):
            self.row.graceful += 1
        if re.search(r"^entrypoint: .* exited with", text, re.M):
            self.row.wrapper_done += 1

    def execute(self):
        r = self.row
        lb = None
        clients = []
        try:
            for s in self.slots:
                self.start(s)
            # k8s-like: no health checks; the harness disables and enables.
            lbdir = os.path.join(self.logdir, f"haproxy-{r.server.name}-{r.init}")
            os.makedirs(lbdir, exist_ok=True)
            lb = e2e.HAProxy(lbdir, self.slots, "k8s", None)
            for s in self.slots:
                self.wait_ready(s, lb)
            base = f"http://127.0.0.1:{lb.port}"
            for path, load in (("/", SHORT_LOAD), ("/slow", SLOW_LOAD)):
                clients.append(e2e.spawn(["hey", "-z", "30m", *load, base + path],
                                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                         text=True))
            time.sleep(3)  # steady state: slow requests in flight everywhere
            t0 = time.monotonic()
            for s in self.slots[:r.cycles]:
                self.replace(s, lb)
            r.rollout = time.monotonic() - t0
            time.sleep(2)  # the last successor takes traffic
            outs = []
            for c in clients:
                c.send_signal(signal.SIGINT)
            for c in clients:
                out, _ = c.communicate(timeout=60)
                outs.append(out)
            clients = []
            for out, slow in zip(outs, (False, True)):
                part = e2e.Result(None)
                parse_hey(out, part)
                r.requests += part.requests
                r.failed += part.failed
                if slow:
                    r.slow_requests, r.slow_failed = part.requests, part.failed
                for k, v in part.errors.items():
                    r.errors[k] = r.errors.get(k, 0) + v
        finally:
            for c in clients:
                c.kill()
                c.wait()
            if lb:
                lb.stop()
            for s in self.slots:
                if s.name:
                    sh("docker", "rm", "-f", s.name, check=False)
        return r


# --- results ----------------------------------------------------------------

def binary_id(path):
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:10]
    p = subprocess.run([path, "--version"], capture_output=True, text=True)
    version = (p.stdout or p.stderr).strip().splitlines()[0] if p.returncode == 0 else "?"
    return f"{version} sha256:{digest}"


def to_json(r, binary):
    return {"server": r.server.name, "init": r.init, "stopsignal": r.server.stopsignal,
            "flags": " ".join(drainit_flags(r.server)) if r.init == "drainit" else "",
            "cycles": r.cycles, "requests": r.requests, "failed": r.failed,
            "slow_requests": r.slow_requests, "slow_failed": r.slow_failed,
            "rollout": round(r.rollout, 2), "stops": [round(t, 2) for t in r.stops],
            "stop_clock": "engine", "budget": r.budget, "exits": r.exits, "own_exit": r.server.own_exit,
            "graceful": r.graceful, "graceful_expected": bool(r.server.graceful),
            "wrapper_done": r.wrapper_done, "errors": r.errors,
            "binary": binary if r.init == "drainit" else "",
            "date": time.strftime("%Y-%m-%d")}


def render(rows):
    lines = ["| server (STOPSIGNAL) | init | requests (slow) | failed (slow) | rollout "
             "| stop, max | exit codes | graceful stop logged | wrapper finished | goal |",
             "|---|---|---:|---:|---:|---:|---|---|---|---|"]
    order = {s.name: i for i, s in enumerate(SERVERS)}
    rows = sorted(rows, key=lambda j: (order.get(j["server"], 99), INITS.index(j["init"])))
    for j in rows:
        init = j["init"] if j["init"] != "tini" else "`--init` (tini)"
        if j["init"] == "drainit":
            init = f"drainit `{j['flags']}`"
        graceful = f"{j['graceful']}/{j['cycles']}" if j["graceful_expected"] else "n/a"
        goal = ""
        if j["init"] == "drainit":
            goal = "**met**" if goal_met(j) else "**not met**"
        stop = f"{max(j['stops']) if j['stops'] else 0:.1f} s"
        if j.get("stop_clock") != "engine":
            stop += " †"
        lines.append(
            f"| {j['server']} ({j['stopsignal']}) | {init} | {j['requests']} "
            f"({j['slow_requests']}) | {j['failed']} ({j['slow_failed']}) | {j['rollout']:.1f} s "
            f"| {stop} | {' '.join(map(str, j['exits']))} (app's own: {j['own_exit']}) "
            f"| {graceful} | {j['wrapper_done']}/{j['cycles']} | {goal} |")
    return "\n".join(lines)


SECTION = e2e.RECIPES_MARK


def notes(rows):
    binaries = sorted({j["binary"] for j in rows if j["binary"]})
    dates = sorted({j["date"] for j in rows})
    return f"""Servers from Debian bookworm's packages in an image made by debootstrap +
`docker import` (docker/e2e/recipes/base.sh), each started by an entrypoint
script **without exec** (docker/e2e/recipes/SERVER/) with its official image's
STOPSIGNAL. {REPLICAS} replicas behind HAProxy (`retries 0`, no redispatch),
each replaced in turn: `docker stop`, the endpoint disabled {LAG:g} s later
(Kubernetes-like), the successor enabled once ready. Load: `hey {' '.join(SHORT_LOAD)}`
on `/` and `hey {' '.join(SLOW_LOAD)}` on `/slow` ({SLOW:g} s of the app's own work).
`docker stop -t {PLATFORM_GRACE}` for tini and dumb-init, `-t {DELAY + GRACE + 2}` for drainit.
Measured {', '.join(dates)}; drainit binary: {'; '.join(binaries) or '-'}.

- failed: non-2xx answers and connection errors seen by hey (slow: of `/slow`).
- rollout: the first `docker stop` to the last successor taking traffic
  (includes the successors' start-up); stop, max: the longest time from
  `docker stop` to the container's exit (the engine's FinishedAt; in rows
  marked † it is until `docker stop` returned, which adds the loaded
  engine's teardown, up to 4 s here).
- graceful stop logged: replicas whose log has the app's own graceful-stop
  line(s) (nginx "gracefully shutting down", httpd "caught SIGWINCH, shutting
  down gracefully", php-fpm "Finishing", gunicorn "Handling signal: term" +
  "Shutting down: Master", uvicorn "Finished server process", the Node and
  Java apps' own lines, HAProxy "Proxy app stopped" + "All workers
  exited. Exiting... (0)").
- wrapper finished: replicas whose entrypoint script ran its last line
  (`entrypoint: APP exited with N`), i.e. the wrapper was not killed.
- goal (drainit rows): 0 failed, graceful stop logged by every replica, the
  wrapper finished and every exit code the app's own (the code is the app's
  only when the wrapper ran on and passed it: a shell killed by TERM also
  exits 143), every stop within lag + quiet + app drain + 1 s
  = {LAG + QUIET + SLOW + 1:g} s.
- Re-run: `DRAINIT_BIN=path make e2e-recipes` (all), or
  `python3 docker/e2e/recipes.py full --only nginx --inits drainit` (one row;
  rows are merged into docker/e2e/recipes/results.json).
"""


def write_results(new_rows, binary):
    store = os.path.join(RECIPES, "results.json")
    rows = []
    if os.path.exists(store):
        with open(store) as f:
            rows = json.load(f)
    keys = {(j["server"], j["init"]) for j in new_rows}
    rows = [j for j in rows if (j["server"], j["init"]) not in keys] + new_rows
    with open(store, "w") as f:
        json.dump(rows, f, indent=1)
        f.write("\n")
    section = (f"{SECTION}\n## Recipes under rolling restarts\n\n{notes(rows)}\n"
               f"{render(rows)}\n")
    path = os.path.join(HERE, "RESULTS.md")
    text = open(path).read() if os.path.exists(path) else ""
    text = text.split(SECTION)[0].rstrip("\n")
    with open(path, "w") as f:
        f.write(f"{text}\n\n{section}")
    log(f"written to {path} and {store}")
    return section


# --- main ---------------------------------------------------------------------

def main():
    args = sys.argv[1:]
    mode = args.pop(0) if args and not args[0].startswith("-") else "full"
    if mode not in ("full", "short"):
        sys.exit("usage: recipes.py full|short [--only SERVERS] [--inits INITS] "
                 "[--cycles N] [--json PATH]")
    only, inits, cycles, json_out, rows_out = None, None, None, None, None
    while args:
        a = args.pop(0)
        if a == "--only":
            only = args.pop(0).split(",")
        elif a == "--inits":
            inits = args.pop(0).split(",")
        elif a == "--cycles":
            cycles = int(args.pop(0))
        elif a == "--json":
            json_out = args.pop(0)
        elif a == "--rows":
            rows_out = args.pop(0)
        else:
            sys.exit(f"recipes.py: unknown argument {a}")
    if mode == "short":
        only = only or ["nginx", "gunicorn"]
        inits = inits or ["tini", "drainit"]
        cycles = cycles or 1
    names = [s.name for s in SERVERS]
    for n in only or []:
        if n not in names:
            sys.exit(f"recipes.py: unknown server {n} (one of {', '.join(names)})")
    for n in inits or []:
        if n not in INITS:
            sys.exit(f"recipes.py: unknown init {n} (one of {', '.join(INITS)})")
    drainit_bin = os.path.abspath(os.environ.get("DRAINIT_BIN",
                                                 os.path.join(ROOT, "target/static/drainit")))
    if not os.access(drainit_bin, os.X_OK):
        sys.exit(f"recipes.py: {drainit_bin} is not executable: run `make static` or set "
                 "DRAINIT_BIN")
    signal.signal(signal.SIGTERM, e2e.on_signal)
    signal.signal(signal.SIGINT, e2e.on_signal)
    e2e.ensure_tools()
    t_base = time.monotonic()
    servers = [s for s in SERVERS if not only or s.name in only]
    base = base_image([s.name for s in servers])
    log(f"base image {base} ({time.monotonic() - t_base:.0f} s)")
    images = {}
    for s in servers:
        if s.image not in images:
            images[s.image] = build_image(s.image, base)
    logdir = os.path.join(ROOT, "target", "e2e-recipes" + ("-short" if mode == "short" else ""))
    shutil.rmtree(logdir, ignore_errors=True)
    os.makedirs(logdir)
    binary = binary_id(drainit_bin)
    results = []
    started = time.monotonic()
    try:
        plan = [(s, i) for s in servers for i in INITS if not inits or i in inits]
        for n, (s, init) in enumerate(plan):
            log(f"[{n + 1}/{len(plan)}] {s.name} under {init}")
            row = Rollout(Row(s, init, cycles or REPLICAS), images[s.image], logdir,
                          drainit_bin).execute()
            j = to_json(row, binary)
            log(f"    {row.requests} requests, {row.failed} failed ({row.slow_failed} slow), "
                f"rollout {row.rollout:.1f} s, stops {j['stops']}, exits {row.exits}, "
                f"graceful {row.graceful}/{row.cycles}, wrapper {row.wrapper_done}/{row.cycles}"
                f"{', goal met' if goal_met(j) else ''} {row.errors or ''}")
            results.append(j)
            if mode == "full":
                # Row by row: an interrupted matrix keeps what it measured.
                write_results([j], binary)
    finally:
        e2e.cleanup()
    log(f"{len(results)} rows in {(time.monotonic() - started) / 60:.1f} min; logs in {logdir}")
    if mode == "full":
        print(write_results([], binary))
    else:
        md = f"# Recipes, short run\n\n{notes(results)}\n{render(results)}\n"
        path = os.path.join(ROOT, "target", "e2e-recipes-short.md")
        with open(path, "w") as f:
            f.write(md)
        print(md)
    if json_out:
        with open(json_out, "w") as f:
            json.dump(results, f, indent=1)
    if rows_out:
        keys = ("server", "init", "cycles", "requests", "failed", "graceful",
                "graceful_expected", "wrapper_done", "own_exit")
        with open(rows_out, "w") as f:
            for j in results:
                exits = ",".join(map(str, j["exits"]))
                f.write(" ".join(f"{k}={j[k]}" for k in keys) + f" exits={exits}\n")


if __name__ == "__main__":
    main()
