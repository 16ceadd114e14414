#!/usr/bin/env python3
"""drainit side by side with tini, dumb-init and catatonit (issue 5).

Run through `bash bench/run.sh` (or `make bench`), which installs the anchors,
builds drainit and the probe, then calls this script from the repository root.
Python 3 standard library only. Writes bench/RESULTS.md and prints it.

Environment:
  DRAINIT_BIN          drainit binary (default: the static musl build)
  DRAINIT_BUILD_ERROR  set by run.sh when the build failed: drainit rows say n/a
  PROBE_BIN            the probe (default: target/release/drainit-bench-probe)
  BENCH_RUNS           start-up runs per command, over all rounds (default 1000)
  BENCH_STARTUP_ROUNDS start-up rounds (default 10)
  BENCH_SIGNALS        signals for the forwarding latency (default 1000)
  BENCH_ORPHANS        orphans for the reaping figure (default 20000)
  BENCH_INSTANCES      idle instances per init for the private-memory figure (default 20)
  BENCH_REAP_ROUNDS    reaping repetitions, the median is reported (default 21: single runs fall in two modes about 20 ms apart, for every init)
"""

import datetime
import json
import os
import platform
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DRAINIT = os.environ.get(
    "DRAINIT_BIN",
    os.path.join(ROOT, "target/x86_64-unknown-linux-musl/release/drainit"),
)
PROBE = os.environ.get("PROBE_BIN", os.path.join(ROOT, "target/release/drainit-bench-probe"))
RUNS = int(os.environ.get("BENCH_RUNS", "1000"))
STARTUP_ROUNDS = int(os.environ.get("BENCH_STARTUP_ROUNDS", "10"))
WARMUP = 10
SIGNALS = int(os.environ.get("BENCH_SIGNALS", "1000"))
ORPHANS = int(os.environ.get("BENCH_ORPHANS", "20000"))
REAP_ROUNDS = int(os.environ.get("BENCH_REAP_ROUNDS", "21"))
IDLE_SECONDS = 10
INSTANCES = int(os.environ.get("BENCH_INSTANCES", "20"))
SETTLE_SECONDS = 1.0
UNSHARE = ["unshare", "--pid", "--fork", "--mount-proc"]

# name -> argv prefix that precedes the child command
ANCHORS = {
    "tini": ["/usr/bin/tini", "--"],
    "tini-static": ["/usr/bin/tini-static", "--"],
    "dumb-init": ["/usr/bin/dumb-init", "--"],
    "catatonit": ["/usr/bin/catatonit", "--"],
}
# The anchor whose start-up is the yardstick (issue 5: the fastest of the three).
YARDSTICK = "catatonit"
# Anchors that count for "the fastest anchor" in reaping (tini-static is tini).
REAP_ANCHORS = ["tini", "dumb-init", "catatonit"]

COMMANDS = []  # every command run, for RESULTS.md
TEMP_NAMES = {}  # temporary file -> the name shown in RESULTS.md


def log(msg):
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def record(argv):
    def tidy(a):
        if a.startswith(ROOT + "/"):
            return os.path.relpath(a, ROOT)
        if a == sys.executable:
            return "python3"
        return TEMP_NAMES.get(a, a)

    line = " ".join(shlex.quote(tidy(a)) for a in argv)
    if line not in COMMANDS:
        COMMANDS.append(line)


def run(argv, timeout=None, **kw):
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kw)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def shorten(text, limit=120):
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --------------------------------------------------------------- drainit check


def drainit_error():
    """None when drainit runs `-- /bin/true` with status 0, else why not."""
    if os.environ.get("DRAINIT_BUILD_ERROR"):
        return "build failed: " + os.environ["DRAINIT_BUILD_ERROR"]
    if not os.access(DRAINIT, os.X_OK):
        return f"no binary at {DRAINIT}"
    try:
        r = run([DRAINIT, "--", "/bin/true"], timeout=10)
    except subprocess.TimeoutExpired:
        return "`drainit -- /bin/true` did not exit within 10 s"
    if r.returncode != 0:
        return f"`drainit -- /bin/true` exited {r.returncode}: {shorten(r.stderr)}"
    return None


# ------------------------------------------------------------------ figure 1


def level_page_cache(inits):
    """Puts every init's binary in the page cache the same way: evicted, then
    read once from start to end. How a binary came into the page cache (cp,
    a linker's writes, an image layer's extraction, a cold exec) decides the
    size of its page-cache folios, and with them how many page faults an exec
    takes and how much of the file a process maps: otherwise the table would
    measure each file's history. Shared libraries stay as they are."""
    for argv in inits.values():
        path = os.path.realpath(argv[0])
        fd = os.open(path, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            while os.read(fd, 1 << 20):
                pass
        finally:
            os.close(fd)


def startup(inits):
    """Median wall time of `X -- /bin/true` and of `/bin/true`, via hyperfine.

    STARTUP_ROUNDS short rounds rather than one long block per command: the
    machine's background load drifts over minutes, and a block of runs lands
    on one init only. Each round levels the page cache again and runs the
    commands in a rotated order (reversed every other round); the figure is
    the median of all runs of a command, pooled over the rounds."""
    names = list(inits)
    cmds = ["/bin/true"] + [" ".join(inits[n] + ["/bin/true"]) for n in names]
    times = {c: [] for c in cmds}
    per_round = max(10, RUNS // STARTUP_ROUNDS)
    for k in range(STARTUP_ROUNDS):
        level_page_cache(inits)
        order = cmds[k % len(cmds):] + cmds[:k % len(cmds)]
        if k % 2:
            order.reverse()
        with tempfile.NamedTemporaryFile(suffix=".json") as out:
            TEMP_NAMES[out.name] = "results.json"
            argv = ["hyperfine", "-N", "--warmup", str(WARMUP), "--runs", str(per_round),
                    "--export-json", out.name] + order
            if k < 2:
                record(argv)
            log(f"start-up: round {k + 1}/{STARTUP_ROUNDS}, {len(cmds)} commands x {per_round} runs")
            r = run(argv, timeout=600)
            if r.returncode != 0:
                raise RuntimeError(f"hyperfine failed: {shorten(r.stderr, 300)}")
            for res in json.load(open(out.name))["results"]:
                times[res["command"]].extend(res["times"])
    median = {c: statistics.median(v) for c, v in times.items()}
    return median["/bin/true"], {n: median[cmds[i + 1]] for i, n in enumerate(names)}


# -------------------------------------------------------------- figures 2, 3


def proc_status(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            fields[k] = v.strip()
    return fields


def kb(fields, key):
    return int(fields.get(key, "0 kB").split()[0])


def ctxt_switches(pid):
    """(voluntary, nonvoluntary) summed over every thread of pid."""
    vol = nonvol = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            st = proc_status(f"{pid}/task/{tid}")
        except FileNotFoundError:
            continue
        vol += int(st.get("voluntary_ctxt_switches", 0))
        nonvol += int(st.get("nonvoluntary_ctxt_switches", 0))
    return vol, nonvol


def child_of(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            kids = f.read().split()
        return int(kids[0]) if kids else None
    except FileNotFoundError:
        return None


def idle(configs):
    """RSS after a settle, then context switches over IDLE_SECONDS, with the
    init as PID 1 of a fresh PID namespace and `sleep` as its child. All
    configurations run at once: an idle process's counters do not depend on
    its neighbours."""
    started = {}
    for name, prefix in configs.items():
        argv = UNSHARE + prefix + ["sleep", str(IDLE_SECONDS + 20)]
        record(argv)
        err = tempfile.TemporaryFile(mode="w+")
        started[name] = (subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err), err)
    log(f"idle: {len(configs)} inits as PID 1, {SETTLE_SECONDS} s settle + {IDLE_SECONDS} s")
    time.sleep(SETTLE_SECONDS)
    results, before = {}, {}
    for name, (p, err) in started.items():
        pid = child_of(p.pid)
        try:
            if pid is None or p.poll() is not None:
                raise FileNotFoundError
            st = proc_status(pid)
            before[name] = (pid, ctxt_switches(pid))
            results[name] = {
                "rss_kb": kb(st, "VmRSS"),
                "anon_kb": kb(st, "RssAnon"),
                "file_kb": kb(st, "RssFile"),
                "threads": int(st.get("Threads", "1")),
            }
        except (FileNotFoundError, ProcessLookupError):
            results[name] = {"error": "init exited early"}
    time.sleep(IDLE_SECONDS)
    for name, (pid, (v0, n0)) in before.items():
        try:
            v1, n1 = ctxt_switches(pid)
            results[name].update(voluntary=v1 - v0, nonvoluntary=n1 - n0)
        except FileNotFoundError:
            results[name] = {"error": "init exited during the measurement"}
    for name, (p, err) in started.items():
        pid = child_of(p.pid)
        if pid:
            try:
                os.kill(pid, signal.SIGKILL)  # PID 1 dies: the namespace goes
            except ProcessLookupError:
                pass
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        if "error" in results[name]:
            err.seek(0)
            results[name]["error"] += f" (status {p.returncode}): {shorten(err.read())}"
        err.close()
    return results


# ------------------------------------------------------------- figure 3b

SMAPS_KEYS = ("Rss", "Pss", "Private_Dirty", "Private_Clean", "Shared_Clean")


def smaps_rollup(pid):
    out = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in SMAPS_KEYS:
                out[k] = int(v.split()[0])
    return out


def dirty_map(pid, binary):
    """Private_Dirty per mapping of pid, named by what it holds."""
    rows, name, prev_end, prev_name = [], None, None, None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            head = re.match(r"^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$", line)
            if head:
                start, end = int(head.group(1), 16), int(head.group(2), 16)
                path, perm = head.group(4).strip(), head.group(3)
                if path == binary or path.endswith("/" + os.path.basename(binary)):
                    name = f"binary {perm} (.data, .got, relro)" if "w" in perm else f"binary {perm}"
                elif path:
                    name = path
                elif prev_name and prev_name.startswith("binary rw") and prev_end == start:
                    name = ".bss (anonymous, after the binary)"
                else:
                    name = "anonymous (malloc, a library's .bss)"
                prev_end, prev_name = end, name
                span = (end - start) // 1024
                continue
            if line.startswith("Private_Dirty:"):
                kb_ = int(line.split()[1])
                if kb_:
                    rows.append((name, span, kb_))
    return rows


def private_memory(configs):
    """INSTANCES idle instances of each init at once, each PID 1 of its own
    namespace with `sleep` as its child, all mapping the same binary: what
    one more container costs is its private dirty memory, and its share of
    the pages it maps with the others is its Pss. Read after the settle and
    again after one forwarded signal (SIGWINCH, which `sleep` ignores): the
    idle state after the init has done its work once."""
    os.sync()  # a freshly built binary's page-cache pages are dirty until written
    started = {name: [] for name in configs}
    for name, prefix in configs.items():
        argv = UNSHARE + prefix + ["sleep", "120"]
        record(argv)
        for _ in range(INSTANCES):
            started[name].append(subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                                                   stderr=subprocess.DEVNULL))
    log(f"private memory: {INSTANCES} instances of {len(configs)} inits, "
        f"{SETTLE_SECONDS} s settle")
    time.sleep(SETTLE_SECONDS)
    results = {}
    try:
        pids = {}
        for name, procs in started.items():
            pids[name] = [p for p in (child_of(q.pid) for q in procs) if p]
        for phase in ("idle", "after"):
            if phase == "after":
                for name in pids:
                    for pid in pids[name]:
                        try:
                            os.kill(pid, signal.SIGWINCH)
                        except ProcessLookupError:
                            pass
                time.sleep(0.5)
            for name, plist in pids.items():
                rows = []
                for pid in plist:
                    try:
                        r = smaps_rollup(pid)
                        r["VmRSS"] = kb(proc_status(pid), "VmRSS")
                        rows.append(r)
                    except (FileNotFoundError, ProcessLookupError):
                        pass
                if len(rows) < INSTANCES:
                    results.setdefault(name, {})["error"] = (
                        f"{INSTANCES - len(rows)} of {INSTANCES} instances exited early")
                    continue
                med = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
                results.setdefault(name, {})[phase] = med
                if phase == "idle":
                    binary = os.path.realpath(configs[name][0])
                    results[name]["map"] = dirty_map(plist[0], binary)
    finally:
        for procs in started.values():
            for q in procs:
                pid = child_of(q.pid)
                if pid:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
        for procs in started.values():
            for q in procs:
                try:
                    q.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    q.kill()
                    q.wait()
    return results


# ------------------------------------------------------------------ figure 4


def latency(prefix):
    argv = [PROBE, "latency", str(SIGNALS)] + prefix
    record(argv)
    r = run(argv, timeout=300)
    m = re.search(r"p50_us=(\S+) p99_us=(\S+) max_us=(\S+) lost=(\d+)", r.stdout)
    if not m:
        raise RuntimeError(shorten(r.stderr or r.stdout or f"status {r.returncode}"))
    return {"p50": float(m[1]), "p99": float(m[2]), "max": float(m[3]), "lost": int(m[4])}


# ------------------------------------------------------------------ figure 5


def reap_once(prefix):
    argv = UNSHARE + prefix + [PROBE, "orphans", str(ORPHANS)]
    record(argv)
    r = run(argv, timeout=300)
    m = re.search(r"reap_ms=(\S+) zombies_left=(\d+) forked=(\d+) handover_ms=(\S+)", r.stdout)
    if not m:
        raise RuntimeError(shorten(r.stderr or r.stdout or f"status {r.returncode}"))
    if int(m[3]) != ORPHANS:
        raise RuntimeError(f"only {m[3]} of {ORPHANS} orphans could be forked")
    if m[1] == "timeout":
        raise RuntimeError(f"zombies still there after 60 s ({m[2]} left)")
    return float(m[1]), int(m[2]), float(m[4])


def reaping(inits):
    """REAP_ROUNDS rounds, the inits interleaved within each round so that
    load from elsewhere on the machine spreads over all of them."""
    raw = {n: [] for n in inits}
    errors = {}
    for _ in range(REAP_ROUNDS):
        for n, prefix in inits.items():
            if n in errors:
                continue
            try:
                raw[n].append(reap_once(prefix))
            except Exception as e:  # noqa: BLE001 - report, do not crash
                errors[n] = {"error": str(e)}
    out = {}
    for n in inits:
        if n in errors:
            out[n] = errors[n]
            continue
        times = [t for t, _, _ in raw[n]]
        out[n] = {"ms": statistics.median(times), "all": times,
                  "zombies": max(z for _, z, _ in raw[n]),
                  "handover": statistics.median(h for _, _, h in raw[n])}
    return out


# ------------------------------------------------------------------ figure 6


def size(path):
    real = os.path.realpath(path)
    desc = run(["file", "-b", real]).stdout
    linkage = "static" if "statically linked" in desc or "static-pie" in desc else (
        "dynamic" if "dynamically linked" in desc else "?")
    stripped = "stripped" if re.search(r"(?<!not )stripped", desc) else "not stripped"
    return {"bytes": os.stat(real).st_size, "linkage": linkage, "stripped": stripped}


# ------------------------------------------------------------- diagnostics


def drainit_diagnostics():
    """What drainit's start-up costs: syscalls of drainit itself (not the child)."""
    if not shutil.which("strace"):
        return None
    with tempfile.NamedTemporaryFile(mode="r") as out:
        TEMP_NAMES[out.name] = "strace.txt"
        argv = ["strace", "-c", "-o", out.name, DRAINIT, "--", "/bin/true"]
        record(argv)
        run(argv, timeout=30)
        text = out.read()
    lines = [l for l in text.splitlines() if re.match(r"\s*[\d.]+\s+[\d.]+", l)]
    total = re.search(r"^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(\d+)?\s*total", text, re.M)
    calls = []
    for l in lines:
        cols = l.split()
        if cols[-1] == "total":
            continue
        calls.append((int(cols[3]), cols[-1]))
    calls.sort(reverse=True)
    return {"total": int(total[1]) if total else sum(c for c, _ in calls), "top": calls[:12]}


# ------------------------------------------------------------------ report


def mb(nbytes):
    return nbytes / 1e6


def verdict(ok):
    return "**met**" if ok else "**not met**"


def machine():
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = 0
    with open("/proc/meminfo") as f:
        mem = int(f.readline().split()[1]) // 1024
    return {"nproc": os.cpu_count(), "kernel": platform.release(), "cpu": cpu, "mem_mb": mem}


def versions():
    out = {}
    for pkg in ("tini", "dumb-init", "catatonit", "hyperfine"):
        r = run(["dpkg-query", "-W", "-f=${Version}", pkg])
        out[pkg] = r.stdout.strip() or "?"
    r = run(["git", "-C", ROOT, "describe", "--always", "--dirty"])
    out["drainit"] = r.stdout.strip() or "?"
    return out


def main():
    os.chdir(ROOT)
    if os.geteuid() != 0:
        sys.exit("bench.py: run as root (unshare --pid needs it)")
    for tool in ("hyperfine", "unshare", "file"):
        if not shutil.which(tool):
            sys.exit(f"bench.py: {tool} missing: run bash bench/run.sh")
    if not os.access(PROBE, os.X_OK):
        sys.exit(f"bench.py: no probe at {PROBE}: cargo build --release -p drainit-bench-probe")

    t_start = time.time()
    d_err = drainit_error()
    if d_err:
        log(f"drainit unavailable: {d_err}")
    else:
        log(f"drainit: {DRAINIT}")
    anchors = {n: p for n, p in ANCHORS.items() if os.access(p[0], os.X_OK)}
    inits = dict(anchors)
    if not d_err:
        inits = {"drainit": [DRAINIT, "--"], **anchors}
    na = f"n/a (error: {d_err})" if d_err else None

    # 1. start-up
    try:
        base, start = startup(inits)
    except Exception as e:  # noqa: BLE001 - report, do not crash
        base, start = None, {}
        log(f"start-up failed: {e}")

    # 2 + 3. idle memory and wakeups
    http_port, target_port = free_port(), free_port()
    idle_cfg = dict(anchors)
    drainit_rows = {
        "drainit": [DRAINIT, "--"],
        "drainit --http + --ready-url": [DRAINIT, "--http", f"127.0.0.1:{http_port}",
                                         "--ready-url", f"http://127.0.0.1:{target_port}/", "--"],
        "drainit --drain-delay 5s --grace 10s": [DRAINIT, "--drain-delay", "5s",
                                                 "--grace", "10s", "--"],
    }
    if not d_err:
        idle_cfg = {**drainit_rows, **idle_cfg}
    target = subprocess.Popen(
        [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(target_port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tempfile.gettempdir())
    record([sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(target_port)])
    try:
        time.sleep(0.3)
        idle_res = idle(idle_cfg)
    finally:
        target.terminate()
        target.wait()

    # 3b. private memory, INSTANCES instances sharing each binary
    # (one configuration per init: the `--http` row's instances would share its port)
    priv_cfg = {n: p for n, p in inits.items()}
    try:
        priv = private_memory(priv_cfg)
    except Exception as e:  # noqa: BLE001 - report, do not crash
        priv = {}
        log(f"private memory failed: {e}")

    # 4. forwarding latency
    log(f"forwarding latency: {SIGNALS} signals per init")
    lat = {}
    for n, p in inits.items():
        try:
            lat[n] = latency(p)
        except Exception as e:  # noqa: BLE001
            lat[n] = {"error": str(e)}

    # 5. reaping
    log(f"reaping: {ORPHANS} orphans, {REAP_ROUNDS} rounds per init")
    # tini-static is the same code as tini
    reap = reaping({n: p for n, p in inits.items() if n != "tini-static"})

    # 6. size
    sizes = {n: size(p[0]) for n, p in anchors.items()}
    if os.access(DRAINIT, os.R_OK):
        sizes = {"drainit": size(DRAINIT), **sizes}

    diag = None if d_err else drainit_diagnostics()
    elapsed = time.time() - t_start

    # ------------------------------------------------------------ render
    m, v = machine(), versions()
    out = []
    w = out.append
    w("# drainit benchmarks\n")
    w(f"Generated by `make bench` (`bash bench/run.sh`) on "
      f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M UTC} in {elapsed:.0f} s.\n")
    w(f"- Machine: {m['nproc']} CPUs ({m['cpu']}), {m['mem_mb']} MB RAM, Linux {m['kernel']}")
    w(f"- drainit {v['drainit']} (`{os.path.relpath(DRAINIT, ROOT)}`), tini {v['tini']}, "
      f"dumb-init {v['dumb-init']}, catatonit {v['catatonit']} (Debian packages), "
      f"hyperfine {v['hyperfine']}")
    if d_err:
        w(f"- **drainit rows: n/a (error: {d_err})**")
    w("")

    targets = []  # (figure, target, value, ok)

    # 1
    w("## 1. Start-up overhead: `X -- /bin/true`\n")
    w(f"hyperfine `-N`, {RUNS} runs per command in {STARTUP_ROUNDS} rounds of "
      f"{max(10, RUNS // STARTUP_ROUNDS)} (after {WARMUP} warm-up runs each), the commands "
      f"in a rotated order every round and reversed every other one, so that the "
      f"machine's drifting background load spreads over all inits; the median of all "
      f"runs of a command. Before each round every init's binary is evicted from the "
      f"page cache and read once sequentially, so all start from the same page-cache state. "
      f"Overhead = median minus `/bin/true` alone"
      + (f" ({base * 1e3:.3f} ms)." if base else "."))
    w("")
    w("| init | median | overhead | median / catatonit | overhead / catatonit |")
    w("|---|---:|---:|---:|---:|")
    y = start.get(YARDSTICK)
    for n in (["drainit"] if "drainit" not in inits else []) + list(inits):
        if n not in start:
            w(f"| {n} | {na or 'n/a (hyperfine failed)'} | | | |")
            continue
        t = start[n]
        ratio = f"{t / y:.3f}" if y else "?"
        oratio = f"{(t - base) / (y - base):.2f}" if y and y > base else "?"
        w(f"| {n} | {t * 1e3:.3f} ms | {(t - base) * 1e3:.3f} ms | {ratio} | {oratio} |")
    if "drainit" in start and y:
        r = start["drainit"] / y
        targets.append(("start-up", "median / catatonit ≤ 1.05", f"{r:.3f}", r <= 1.05))
    else:
        targets.append(("start-up", "median / catatonit ≤ 1.05", na or "n/a", False))
    w("")

    # 2 + 3
    w("## 2–3. Idle memory and wakeups (init as PID 1, child `sleep`)\n")
    w(f"Each init runs as PID 1 of a fresh PID namespace (`unshare --pid --fork --mount-proc`). "
      f"VmRSS (RssAnon + RssFile) from `/proc/PID/status` after {SETTLE_SECONDS:.0f} s; "
      f"context switches summed over all threads (`/proc/PID/task/*/status`) over the next "
      f"{IDLE_SECONDS} s. The readiness target of `--ready-url` is `python3 -m http.server` "
      f"on loopback. The binaries' page-cache state is the levelled one of figure 1: "
      f"RssFile counts the page-cache folios a process maps, and their size comes from "
      f"how the file was read.\n")
    w("| init | VmRSS | RssAnon | RssFile | threads | voluntary switches / 10 s | nonvoluntary |")
    w("|---|---:|---:|---:|---:|---:|---:|")
    rows = list(idle_cfg)
    if d_err:
        for n in drainit_rows:
            w(f"| {n} | {na} | | | | | |")
    for n in rows:
        r = idle_res.get(n, {"error": "not run"})
        if "error" in r:
            w(f"| {n} | n/a (error: {r['error']}) | | | | | |")
            continue
        w(f"| {n} | {r['rss_kb']} kB | {r['anon_kb']} kB | {r['file_kb']} kB | {r['threads']} "
          f"| {r.get('voluntary', '?')} | {r.get('nonvoluntary', '?')} |")
    w("")

    def idle_target(row, label, fn, limit_txt):
        r = idle_res.get(row)
        if not r or "error" in r:
            targets.append((label, limit_txt, na or f"n/a ({(r or {}).get('error')})", False))
        else:
            val, ok = fn(r)
            targets.append((label, limit_txt, val, ok))

    idle_target("drainit --http + --ready-url", "idle RSS, --http + readiness gate",
                lambda r: (f"{r['rss_kb'] / 1024:.2f} MB", r["rss_kb"] <= 2.5 * 1024), "≤ 2.5 MB")
    idle_target("drainit", "idle wakeups, basic", lambda r: (
        f"{r['voluntary'] + r['nonvoluntary']}", r["voluntary"] + r["nonvoluntary"] == 0), "0")
    idle_target("drainit --drain-delay 5s --grace 10s", "idle wakeups, drain options",
                lambda r: (f"{r['voluntary'] + r['nonvoluntary']}",
                           r["voluntary"] + r["nonvoluntary"] == 0), "0")

    # 3b
    w(f"## 3b. Memory per container: {INSTANCES} idle instances sharing each binary\n")
    w(f"{INSTANCES} instances of each init run at once, each PID 1 of its own PID namespace "
      f"with `sleep` as its child, all mapping the same binary file (as containers of one "
      f"image do). From `/proc/PID/smaps_rollup` after {SETTLE_SECONDS:.0f} s, the median "
      f"instance: **Private_Dirty** is what one more container costs (anonymous and written "
      f"pages: heap, stack, .data, .bss; never shared, never reclaimed without swap); "
      f"**Pss** adds its share of the pages it maps with the other instances (clean code "
      f"and read-only data: page cache, shared and reclaimable); VmRSS counts every mapped "
      f"page in full. *After a signal*: the same instances 0.5 s after one forwarded "
      f"SIGWINCH (`sleep` ignores it), the idle state once the init has done its work.\n")
    w("| init | Private_Dirty | Pss | VmRSS | Private_Dirty after a signal | Pss after | VmRSS after |")
    w("|---|---:|---:|---:|---:|---:|---:|")
    if d_err:
        w(f"| drainit | {na} | | | | | |")
    for n in priv_cfg:
        r = priv.get(n, {"error": "not run"})
        if "error" in r or "idle" not in r or "after" not in r:
            w(f"| {n} | n/a (error: {r.get('error', 'incomplete')}) | | | | | |")
            continue
        a, b = r["idle"], r["after"]
        w(f"| {n} | {a['Private_Dirty']:.0f} kB | {a['Pss']:.0f} kB | {a['VmRSS']:.0f} kB "
          f"| {b['Private_Dirty']:.0f} kB | {b['Pss']:.0f} kB | {b['VmRSS']:.0f} kB |")
    w("")
    maps = [(n, priv[n]["map"]) for n in ("drainit", YARDSTICK) if "map" in priv.get(n, {})]
    if maps:
        w("Where the private dirty pages are (one idle instance, `/proc/PID/smaps`):\n")
        w("| init | mapping | size | Private_Dirty |")
        w("|---|---|---:|---:|")
        for n, rows in maps:
            for name, span, dirty in rows:
                w(f"| {n} | {name} | {span} kB | {dirty} kB |")
        w("")
    d, y = priv.get("drainit", {}), priv.get(YARDSTICK, {})
    if "idle" in d and "idle" in y:
        pd, py = d["idle"]["Private_Dirty"], y["idle"]["Private_Dirty"]
        targets.append(("private dirty, basic", f"≤ {YARDSTICK}'s", f"{pd:.0f} kB ({YARDSTICK} {py:.0f} kB)",
                        pd <= py))
    else:
        targets.append(("private dirty, basic", f"≤ {YARDSTICK}'s", na or "n/a", False))

    # 4
    w("## 4. Signal forwarding latency\n")
    w(f"`drainit-bench-probe latency {SIGNALS} X --`: the probe spawns `X -- probe child FD`, "
      f"then {SIGNALS} times (after 20 unrecorded warm-up signals) reads CLOCK_MONOTONIC, sends "
      f"SIGUSR1 to the init and waits for the CLOCK_MONOTONIC that the child's SIGUSR1 handler "
      f"writes to a pipe. The init is not PID 1 here (same for all).\n")
    w("| init | p50 | p99 | max | lost |")
    w("|---|---:|---:|---:|---:|")
    if d_err:
        w(f"| drainit | {na} | | | |")
    for n, r in lat.items():
        if "error" in r:
            w(f"| {n} | n/a (error: {r['error']}) | | | |")
        else:
            w(f"| {n} | {r['p50']:.1f} µs | {r['p99']:.1f} µs | {r['max']:.1f} µs | {r['lost']} |")
    r = lat.get("drainit")
    if r and "error" not in r:
        targets.append(("forwarding p99", "≤ 200 µs", f"{r['p99']:.1f} µs",
                        r["p99"] <= 200 and r["lost"] == 0))
    else:
        targets.append(("forwarding p99", "≤ 200 µs", na or f"n/a ({(r or {}).get('error')})", False))
    w("")

    # 5
    w(f"## 5. Reaping {ORPHANS:,} orphans as PID 1\n")
    w(f"`unshare --pid --fork --mount-proc X -- drainit-bench-probe orphans {ORPHANS}`: the probe "
      f"(the init's child, PID 2) forks a spawner that forks {ORPHANS:,} children which exit at "
      f"once; when all are dead the spawner exits and the kernel hands the {ORPHANS:,} zombies to "
      f"PID 1 in one go. Time from the spawner's exit until PID 1 has no child left but the probe "
      f"(polling `/proc/1/task/*/children`); then zombies left by a full `/proc/*/stat` scan. "
      f"Median of {REAP_ROUNDS} rounds. *Hand-over* is the kernel's re-parenting share "
      f"(spawner exit → its parent's `waitpid` returns), the same work for every init.\n")
    w("| init | time to no zombie | rounds | hand-over | zombies left |")
    w("|---|---:|---|---:|---:|")
    if d_err:
        w(f"| drainit | {na} | | | |")
    for n, r in reap.items():
        if "error" in r:
            w(f"| {n} | n/a (error: {r['error']}) | | | |")
        else:
            rounds = ", ".join(f"{t:.0f}" for t in r["all"])
            w(f"| {n} | {r['ms']:.1f} ms | {rounds} | {r['handover']:.1f} ms | {r['zombies']} |")
    fastest = min((reap[n]["ms"] for n in REAP_ANCHORS if n in reap and "error" not in reap[n]),
                  default=None)
    r = reap.get("drainit")
    if r and "error" not in r and fastest:
        ratio = r["ms"] / fastest
        targets.append(("reaping", "≤ 1.1 × fastest anchor, 0 zombies",
                        f"{ratio:.2f} ×, {r['zombies']} zombies",
                        ratio <= 1.1 and r["zombies"] == 0))
    else:
        targets.append(("reaping", "≤ 1.1 × fastest anchor, 0 zombies",
                        na or f"n/a ({(r or {}).get('error')})", False))
    w("")

    # 6
    w("## 6. Binary size\n")
    w("`stat -c %s` of the binary as installed / built; linkage and stripping from `file`. "
      "A dynamic binary's size leaves out the libc it loads.\n")
    w("| init | bytes | MB | linkage | stripped |")
    w("|---|---:|---:|---|---|")
    if "drainit" not in sizes:
        w(f"| drainit | {na or 'n/a'} | | | |")
    for n, s in sizes.items():
        w(f"| {n} | {s['bytes']:,} | {mb(s['bytes']):.2f} | {s['linkage']} | {s['stripped']} |")
    s = sizes.get("drainit")
    if s:
        ok = s["bytes"] <= 2_000_000 and s["linkage"] == "static" and s["stripped"] == "stripped"
        targets.append(("binary size", "static, stripped, ≤ 2.0 MB",
                        f"{mb(s['bytes']):.2f} MB, {s['linkage']}, {s['stripped']}", ok))
    else:
        targets.append(("binary size", "static, stripped, ≤ 2.0 MB", na or "n/a", False))
    w("")

    # targets
    w("## Targets (issues 5 and 20)\n")
    w("| figure | target | drainit | |")
    w("|---|---|---|---|")
    for fig, tgt, val, ok in targets:
        w(f"| {fig} | {tgt} | {val} | {verdict(ok)} |")
    w("")

    if diag:
        w("## drainit start-up syscalls\n")
        w(f"`strace -c drainit -- /bin/true` (drainit only, not the child): "
          f"{diag['total']} syscalls. Most frequent:\n")
        w("| syscall | calls |")
        w("|---|---:|")
        for c, name in diag["top"]:
            w(f"| {name} | {c} |")
        w("")

    w("## Commands\n")
    w("```")
    w("bash bench/run.sh   # installs the anchors, builds drainit and the probe, runs:")
    w("python3 bench/bench.py")
    for c in COMMANDS:
        w(c)
    w("```")
    text = "\n".join(out) + "\n"
    with open(os.path.join(ROOT, "bench", "RESULTS.md"), "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
