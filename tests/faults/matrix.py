#!/usr/bin/env python3
"""Syscall fault-injection matrix for drainit, with Debian's strace.

  matrix.py record  [--bin DRAINIT]          which syscalls drainit makes in
                                             each phase -> phases.tsv
  matrix.py list    [--phase P]              the cases, one per line
  matrix.py run     [--bin DRAINIT] [--phase P] [--config C] [--sample N]
                    [--case ID] [-j N] [--out FILE]
                                             run cases, print a summary table;
                                             exit 1 if any case failed

A case is (config, phase, syscall, errno, when). drainit runs a real app
(child.py, which logs every signal it receives) through one scenario:

  start-up  drainit starts, the app says "ready"
  idle      a HUP and a USR1 (the app leaves an orphan) are forwarded;
            --http is probed
  drain     SIGTERM to drainit: readiness off, ready file removed, drain
            hook, traffic looks, the drain delay
  stopping  the app got the stop signal and keeps running: a HUP and an
            orphan more
  exit      the app exits (SIGUSR2 from the harness): reap, clean up, exit
  killing   (an app that ignores SIGTERM, --grace 1s) the SIGKILL sweep

strace injects the fault: for start-up it starts drainit (no -f: the app
is not traced, so only drainit's own calls fail); for the other phases it
attaches to the running drainit at the phase start (`strace -f -p PID`:
all of drainit's threads, not the app), so `when=1` is the first call of
that syscall in the phase and `when=1+` every call from the phase on.

Every case asserts: drainit is not killed by a signal and does not panic
(crash), it exits within a generous bound after the app's exit or its
deadline (hang), the app got SIGTERM and not before the drain delay (lost
or early stop signal), the exit code is the app's (0; 137 when killed) or
a documented set-up code (1, 2, 126, 127) when the app never started, and
a failure that was injected and not absorbed (the same call retried with
success in the same thread) is named by one line of drainit's on stderr
(`[drainit ...] WARN|ERROR ...` or `drainit: ...`).
"""
import argparse
import concurrent.futures
import http.server
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
CHILD = os.path.join(HERE, "child.py")
PHASES = ["startup", "idle", "drain", "stopping", "exit", "killing"]
WHENS = ["1", "1+"]
DELAY_MS = 300
# Hang detector only, never a timing assertion: strace slows drainit down.
BOUND = 10.0

# name -> (drainit options, PID 1?, app listens?)
CONFIGS = {
    "basic": (["--drain-delay", "300ms"], False, False),
    "pid1": (["--drain-delay", "300ms"], True, False),
    "group": (["-g", "--drain-delay", "300ms"], False, False),
    "file-http": (
        ["--drain-delay", "300ms", "--ready-file", "{dir}/ready", "--http", "127.0.0.1:{http}"],
        False,
        False,
    ),
    "hook-gate": (
        [
            "--drain-delay", "300ms",
            "--drain-url", "http://localhost:{srv}/drain",
            "--ready-url", "http://127.0.0.1:{srv}/ready",
            "--ready-interval", "100ms",
        ],
        False,
        False,
    ),
    "quiet": (["--drain-quiet", "100ms", "--drain-delay", "2s"], True, True),
}


def min_stop_ms(config):
    """The stop signal may not reach the app before this (ms after TERM)."""
    return 100 if config == "quiet" else DELAY_MS


# ---------------------------------------------------------------- helpers


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Hook(http.server.BaseHTTPRequestHandler):
    """The drain hook's and the readiness gate's server: always 200."""

    def do_GET(self):
        self._ok()

    def do_POST(self):
        self._ok()

    def _ok(self):
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *a):
        pass


class QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # drainit hanging up early (a timeout, an injected fault) is fine


_server = None


def server_port():
    global _server
    if _server is None:
        _server = QuietServer(("127.0.0.1", 0), Hook)
        threading.Thread(target=_server.serve_forever, daemon=True).start()
    return _server.server_address[1]


def wait_for(limit, f, step=0.005):
    deadline = time.monotonic() + limit
    while True:
        v = f()
        if v:
            return v
        if time.monotonic() > deadline:
            return None
        time.sleep(step)


def read_lines(path):
    try:
        with open(path) as f:
            return [l.split() for l in f.read().splitlines() if l.strip()]
    except FileNotFoundError:
        return []


def first_child(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            kids = f.read().split()
        return int(kids[0]) if kids else None
    except (FileNotFoundError, ProcessLookupError):
        return None


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def ppid(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def kill_quietly(pid, sig=signal.SIGKILL):
    if pid and pid > 0:
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def http_get(port, path):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.settimeout(0.5)
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while True:
                b = s.recv(4096)
                if not b:
                    break
                data += b
            return data.split(b" ", 2)[1].decode() if data else None
    except OSError:
        return None


# ---------------------------------------------------------------- one run


class Run:
    """drainit through the scenario, with strace injecting `inject` (a
    strace -e inject= value) from `phase` on, or recording when
    inject is None."""

    def __init__(self, drainit, config, phase, syscall=None, errno=None, when=None, record=False):
        self.drainit = drainit
        self.config = config
        self.phase = phase
        self.syscall = syscall
        self.errno = errno
        self.when = when
        self.record = record
        self.dir = tempfile.mkdtemp(prefix="drainit-faults-")
        self.applog = os.path.join(self.dir, "app.log")
        self.trace = os.path.join(self.dir, "strace.log")
        self.marks = {}
        self.problems = []
        self.procs = []
        self.app_pid = None
        self.pid = None
        self.strace = None
        self.strace_err = b""

    # -- set-up

    def argv(self):
        opts, pid1, listens = CONFIGS[self.config]
        ports = {"dir": self.dir, "http": free_port(), "srv": server_port()}
        self.http_port = ports["http"] if "--http" in opts else None
        args = [o.format(**ports) for o in opts]
        args += ["--grace", "1s" if self.phase == "killing" else "6s"]
        app = [sys.executable, CHILD, self.applog, "ignore" if self.phase == "killing" else "hold"]
        if listens:
            app += ["--listen", str(free_port())]
        return args + ["--"] + app, pid1

    def strace_opts(self):
        if self.record:
            return ["-ttt", "-o", self.trace]
        if self.errno == "none":
            # A control case: strace attached, nothing injected.
            return ["-o", self.trace, "-e", "trace=exit_group"]
        return [
            "-o", self.trace,
            "-e", f"trace={self.syscall}",
            "-e", f"inject={self.syscall}:error={self.errno}:when={self.when}",
        ]

    def start(self):
        args, pid1 = self.argv()
        self.marks["launch"] = time.time()
        if self.phase == "startup" or (self.record and self.phase == "startup"):
            # No -f: the app is not traced, only drainit's main thread.
            cmd = ["strace"] + self.strace_opts() + [self.drainit] + args
            self.top = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE)
            self.pid = wait_for(5, lambda: first_child(self.top.pid))
        elif pid1:
            cmd = ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child", self.drainit] + args
            self.top = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE)
            self.pid = wait_for(5, lambda: first_child(self.top.pid))
        else:
            self.top = subprocess.Popen([self.drainit] + args, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            self.pid = self.top.pid
        self.stderr_chunks = []
        threading.Thread(target=self._drain_stderr, daemon=True).start()

    def _drain_stderr(self):
        for chunk in iter(lambda: self.top.stderr.read1(65536), b""):
            self.stderr_chunks.append(chunk)

    def stderr(self):
        return b"".join(self.stderr_chunks).decode(errors="replace")

    def attach(self):
        """strace -f -p drainit, waiting until it reports every thread attached."""
        if self.pid is None:
            return
        cmd = ["strace", "-f"] + self.strace_opts() + ["-p", str(self.pid)]
        self.strace = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.PIPE)
        buf = b""
        deadline = time.monotonic() + 5
        os.set_blocking(self.strace.stderr.fileno(), False)
        while time.monotonic() < deadline:
            try:
                b = self.strace.stderr.read()
            except BlockingIOError:
                b = None
            if b:
                buf += b
            if b"attached" in buf:
                break
            if self.strace.poll() is not None:
                break
            time.sleep(0.005)
        self.strace_err = buf
        self.marks["attached"] = time.time()

    def at(self, phase):
        self.marks[phase] = time.time()
        if self.phase == phase and not self.record and phase != "startup":
            self.attach()

    # -- the app's log

    def app_events(self, kind):
        return [l for l in read_lines(self.applog) if l and l[0] == kind]

    def got(self, signo):
        return [int(l[2]) for l in self.app_events("sig") if int(l[1]) == signo]

    # -- the scenario

    def scenario(self):
        self.start()
        ready = wait_for(10, lambda: self.app_events("ready") or (self.top.poll() is not None))
        started = bool(self.app_events("ready"))
        if not started:
            return False
        # The host pid (the app's own getpid() is its namespace's as PID 1's child).
        self.app_pid = first_child(self.pid) if CONFIGS[self.config][1] and \
            self.phase != "startup" else int(self.app_events("ready")[0][1])
        if self.phase == "startup":
            # strace forks a helper before the tracee: drainit is the app's parent.
            self.pid = ppid(self.app_pid) or self.pid
        if self.record and self.phase != "startup":
            self.marks["startup"] = time.time()
            self.attach()
        self.at("idle")
        self.poke()
        self.at("drain")
        self.term_sent = time.monotonic_ns()
        kill_quietly(self.pid, signal.SIGTERM)
        limit = 2 + 5
        if not wait_for(limit, lambda: self.got(signal.SIGTERM) or not alive(self.pid)):
            pass
        if not self.got(signal.SIGTERM):
            return True
        if self.phase == "killing" or (self.record and self.phase == "killing"):
            self.at("killing")
            return True
        self.at("stopping")
        self.poke()
        self.at("exit")
        kill_quietly(self.app_pid, signal.SIGUSR2)
        return True

    def poke(self):
        """A HUP and an orphan, and an endpoint probe: work for the loop."""
        if not alive(self.pid):
            return
        n_hup = len(self.got(signal.SIGHUP))
        n_orphans = len(self.app_events("orphan"))
        kill_quietly(self.pid, signal.SIGHUP)
        # Bounded well inside the grace (6 s): the stopping phase must not
        # outlast it because a probe of a broken endpoint timed out.
        wait_for(1.0, lambda: len(self.got(signal.SIGHUP)) > n_hup or not alive(self.pid))
        kill_quietly(self.pid, signal.SIGUSR1)
        orphans = wait_for(1.0, lambda: self.app_events("orphan")[n_orphans:] or not alive(self.pid))
        if isinstance(orphans, list):
            # Reaped: drainit has no child left but the app.
            wait_for(1.0, lambda: set(children(self.pid)) <= {self.app_pid} or not alive(self.pid))
        if self.http_port:
            http_get(self.http_port, "/ready")
            http_get(self.http_port, "/metrics")

    def finish(self, started):
        """Waits for drainit's exit (bounded), then cleans everything up."""
        try:
            code = self.top.wait(timeout=BOUND)
            hung = False
        except subprocess.TimeoutExpired:
            hung = True
            code = None
        self.marks["end"] = time.time()
        if self.strace is not None:
            try:
                self.strace.wait(timeout=5)
            except subprocess.TimeoutExpired:
                kill_quietly(self.strace.pid)
                self.strace.wait()
        for p in [self.pid, self.app_pid]:
            kill_quietly(p)
        if self.app_pid:
            kill_quietly(-self.app_pid)
        kill_quietly(self.top.pid)
        self.top.wait()
        if self.strace is not None and self.strace.poll() is None:
            kill_quietly(self.strace.pid)
        time.sleep(0.01)
        return code, hung

    # -- verdict

    def run(self):
        try:
            started = self.scenario()
            code, hung = self.finish(started)
            return self.verdict(started, code, hung)
        except Exception as e:  # the harness itself: report, never hide
            self.finish(False)
            return {"result": "HARNESS", "detail": repr(e)}

    def trace_text(self):
        try:
            with open(self.trace) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def verdict(self, started, code, hung):
        trace = self.trace_text()
        err = self.stderr()
        lines = trace.splitlines()
        injected = [l for l in lines if "(INJECTED)" in l]
        out = {"injected": len(injected), "code": code, "stderr": err, "dir": self.dir,
               "strace_line": injected[0] if injected else "",
               # tokio's waker (an eventfd) failed too: no kernel does that
               # (report.py counts such cases apart).
               "eventfd": any(EVENTFD_WRITE.search(l) for l in injected)}
        problems = []
        # drainit's own death (strace's +++ line names it; the pid column
        # is there only with -f).
        killed = re.search(r"^(?:%d\s+)?\+\+\+ killed by (SIG\w+)( \(core dumped\))? \+\+\+" % self.pid,
                           trace, re.M) if self.pid else None
        if hung and killed and killed.group(1) == "SIGKILL":
            killed = None  # the harness's own SIGKILL after the hang bound
        if killed or (code is not None and code < 0 and not hung) or "panicked" in err:
            sig = killed.group(1) if killed else (f"signal {-code}" if code and code < 0 else "panic")
            problems.append(f"crash ({sig})")
        if hung:
            problems.append("hang")
        exited = re.search(r"^(?:%d\s+)?\+\+\+ exited with (\d+) \+\+\+" % self.pid, trace, re.M) \
            if self.pid else None
        if exited:
            code = int(exited.group(1))
        elif code is not None and code > 128 and self.phase == "startup":
            # strace re-raises the tracee's signal: 128+N is a death by N.
            pass
        out["code"] = code
        # What no init could do: deliver a signal when every kill(2)
        # fails, or log when every write(2) fails.
        no_kill = self.when == "1+" and self.syscall in ("kill", "tgkill", "tkill") \
            and PHASES.index(self.phase) <= PHASES.index("drain")
        no_log = self.when == "1+" and self.syscall in ("write", "writev")
        must_log = load_errnos().get(self.syscall, ([], True))[1] and not no_log
        if started:
            terms = self.got(signal.SIGTERM)
            if not terms and not no_kill:
                problems.append("lost stop signal")
            elif terms:
                after = (terms[0] - self.term_sent) / 1e6
                out["term_after_ms"] = round(after, 1)
                if after < min_stop_ms(self.config):
                    problems.append(f"early stop signal ({after:.0f} ms)")
            want = 137 if self.phase == "killing" else 0
            if not hung and code != want and not (no_kill or self.when == "1+" and self.syscall == "kill") and \
                    not any(p.startswith("crash") for p in problems):
                problems.append(f"exit {code}, want {want}")
        else:
            if not hung and code not in (1, 2, 126, 127) and not problems:
                problems.append(f"app never started and exit {code}")
        # A failed EPOLL_CTL_DEL needs no line: the descriptor is closed
        # right after, which removes it from the epoll set anyway.
        if injected and all("EPOLL_CTL_DEL" in l for l in injected):
            must_log = False
        if injected and must_log and not self.absorbed(lines):
            if not logged(err, self.errno):
                problems.append("silent (no [drainit line about the failure)")
        out["result"] = "ok" if not problems else "FAIL"
        out["detail"] = "; ".join(problems)
        out["started"] = started
        return out

    def absorbed(self, lines):
        """Whether every injected failure was followed by a successful
        call of the same syscall in the same thread (a retry)."""
        pat = re.compile(r"^(?:(\d+)\s+)?(?:[\d.]+ )?(?:<\.\.\. )?(\w+)[( ].*= (-?\d+|\?)")
        pending = {}
        for l in lines:
            m = pat.match(l)
            if not m or m.group(2) != self.syscall:
                continue
            tid = m.group(1) or "main"
            if "(INJECTED)" in l:
                pending[tid] = True
            elif pending.get(tid) and not m.group(3).startswith("-"):
                pending[tid] = False
        return not any(pending.values())


EVENTFD_WRITE = re.compile(r'write\(\d+, "\\1\\0\\0\\0\\0\\0\\0\\0", 8\)')


def logged(err, errno):
    """A line of drainit's own naming a problem: a warning or an error, a
    set-up error (`drainit: ...`), or any line of its naming a failure or
    the error itself."""
    text = os.strerror(getattr(__import__("errno"), errno, 0)).lower()
    for l in err.splitlines():
        low = l.lower()
        if l.startswith("drainit:"):
            return True
        if not l.startswith("[drainit"):
            continue
        if " WARN " in l or "ERROR " in l or text in low or \
                any(w in low for w in ("fail", "error", "cannot", "unable")):
            return True
    return False


# ---------------------------------------------------------------- record


SYSCALL_RE = re.compile(r"^(\d+)\s+(\d+\.\d+)\s+(?:<\.\.\. )?(\w+)(\(| resumed>)")
STARTUP_RE = re.compile(r"^(\d+\.\d+)\s+(\w+)\(")


def record(drainit, runs=1):
    """Runs every config once per phase scenario with strace recording,
    and splits drainit's syscalls by phase (wall-clock marks)."""
    table = {}
    for config in CONFIGS:
        for phase in (["idle"] if CONFIGS[config][1] else ["startup", "idle"]):
            # "idle" records idle..exit in one attach; "killing" needs the
            # app that ignores TERM.
            for scenario in ([phase] if phase == "startup" else ["idle", "killing"]):
                r = Run(drainit, config, scenario, record=True)
                r.run()
                split(r, table, config, scenario)
    return table


def split(r, table, config, scenario):
    marks = r.marks
    text = r.trace_text()
    if scenario == "startup":
        end = marks.get("idle", marks["end"])
        for l in text.splitlines():
            m = STARTUP_RE.match(l)
            if m and float(m.group(1)) <= end:
                add(table, config, "startup", m.group(2))
        return
    order = ["idle", "drain", "stopping", "exit", "end"] if scenario == "idle" else \
        ["killing", "end"]
    bounds = [(p, marks[p]) for p in order if p in marks]
    for l in text.splitlines():
        m = SYSCALL_RE.match(l)
        if not m or m.group(4) != "(":
            continue
        t = float(m.group(2))
        if scenario == "idle" and t < marks.get("idle", 0):
            continue
        phase = None
        for (p, start), nxt in zip(bounds, bounds[1:] + [("", 1e18)]):
            if start <= t < nxt[1] and p != "end":
                phase = p
        if phase:
            add(table, config, phase, m.group(3))


def add(table, config, phase, syscall):
    key = (config, phase, syscall)
    table[key] = table.get(key, 0) + 1


def load_errnos():
    out = {}
    with open(os.path.join(HERE, "errnos.tsv")) as f:
        for l in f:
            if l.startswith("#") or not l.strip():
                continue
            name, errs, log = l.rstrip("\n").split("\t")
            out[name] = (errs.split(), log == "log")
    return out


def load_phases():
    rows = []
    with open(os.path.join(HERE, "phases.tsv")) as f:
        for l in f:
            if l.startswith("#") or not l.strip():
                continue
            config, phase, syscall, count = l.split()
            rows.append((config, phase, syscall, int(count)))
    return rows


def cases():
    """Every (config, phase, syscall, errno, when) of the recording, plus a
    control case (strace attached, nothing injected) per (config, phase)."""
    errnos = load_errnos()
    out = []
    seen = set()
    for config, phase, syscall, _ in load_phases():
        if (config, phase) not in seen:
            seen.add((config, phase))
            out.append((config, phase, "-", "none", "-"))
        for errno in errnos.get(syscall, ([], False))[0]:
            for when in WHENS:
                out.append((config, phase, syscall, errno, when))
    return out


def case_id(c):
    return "%s/%s/%s/%s/%s" % c


# Left out of `--sample` (make test), kept in the full run (make faults):
# failures drainit's own code cannot handle. Rust's std start-up before
# main (its SIGPIPE rt_sigaction, the stack-guard mprotect and sigaltstack,
# the poll of fds 0-2, HashMap's getrandom), and close, whose injected
# failure leaves the descriptor open, which a real close(2) never does.
# Allocation failures (mmap, brk) are sampled from the idle phase on, for
# good (`1+`) too: src/os/alloc.rs's reserve serves them; at start-up the
# first mmap is musl's, before main.
NOT_SAMPLED = {"rt_sigaction", "mprotect", "sigaltstack", "poll", "getrandom", "close"}
ALLOCATION = {"mmap", "brk"}


# The sample also holds only transient faults (`when=1`: one call fails),
# which drainit must absorb completely. A syscall that fails from some
# point on for good (`when=1+`: every wait4, every epoll_pwait, every kill)
# leaves no way to learn of the child's exit or deliver a signal; those
# cases are in the full run and its table. kill's ESRCH is left out too:
# it says the target is gone, which drainit rightly takes as done.
#
# KNOWN: transient faults that still fail, listed in RELIABILITY.md (open):
# reported as KNOWN by the sample, not counted as its failures. None now.
KNOWN: set = set()


def sampled(c):
    if c[2] in ALLOCATION:
        return c[1] != "startup"
    return c[2] not in NOT_SAMPLED and c[4] in ("1", "-") and not (c[2] == "kill" and c[3] == "ESRCH")


def sample(all_cases, n, seed):
    """n cases spread over the phases and syscalls, the same ones for a seed."""
    rng = random.Random(seed)
    by_phase = {}
    for c in all_cases:
        if not sampled(c):
            continue
        by_phase.setdefault(c[1], []).append(c)
    picked = []
    phases = sorted(by_phase)
    per = max(1, n // max(1, len(phases)))
    for p in phases:
        pool = by_phase[p][:]
        rng.shuffle(pool)
        seen = set()
        # One case per syscall first, so a small sample still covers them.
        for c in pool:
            if len([x for x in picked if x[1] == p]) >= per:
                break
            if c[2] not in seen:
                seen.add(c[2])
                picked.append(c)
    return picked


# ---------------------------------------------------------------- main


def summary(results):
    """The table: per phase, cases, injected, crashes, hangs, lost, other."""
    print("\n%-9s %6s %9s %7s %6s %5s %6s %6s %7s" % (
        "phase", "cases", "injected", "crashes", "hangs", "lost", "early", "code", "silent"))
    tot = [0] * 8
    for phase in PHASES + ["all"]:
        rs = [r for c, r in results if phase == "all" or c[1] == phase]
        if not rs:
            continue
        row = [
            len(rs),
            sum(1 for r in rs if r.get("injected")),
            sum(1 for r in rs if "crash" in r.get("detail", "")),
            sum(1 for r in rs if "hang" in r.get("detail", "")),
            sum(1 for r in rs if "lost stop" in r.get("detail", "")),
            sum(1 for r in rs if "early" in r.get("detail", "")),
            sum(1 for r in rs if "exit " in r.get("detail", "") or "never started" in r.get("detail", "")),
            sum(1 for r in rs if "silent" in r.get("detail", "")),
        ]
        print("%-9s %6d %9d %7d %6d %5d %6d %6d %7d" % tuple([phase] + row))
    syscalls = sorted({c[2] for c, _ in results})
    errs = sorted({c[3] for c, _ in results})
    print("\nsyscalls (%d): %s" % (len(syscalls), " ".join(syscalls)))
    print("errnos (%d): %s" % (len(errs), " ".join(errs)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["record", "list", "run"])
    ap.add_argument("--bin", default=os.environ.get("DRAINIT_BIN", os.path.join(REPO, "target/static/drainit")))
    ap.add_argument("--phase")
    ap.add_argument("--config")
    ap.add_argument("--sample", type=int)
    ap.add_argument("--seed", default=os.environ.get("FAULTS_SEED", "11"))
    ap.add_argument("--case", action="append")
    ap.add_argument("--syscall", action="append", help="only these syscalls (repeatable)")
    ap.add_argument("-j", type=int, default=2)
    ap.add_argument("--out")
    a = ap.parse_args()
    if a.cmd == "record":
        table = record(a.bin)
        with open(os.path.join(HERE, "phases.tsv"), "w") as f:
            f.write("# config\tphase\tsyscall\tcalls (one recorded run; matrix.py record)\n")
            for (config, phase, syscall), n in sorted(table.items(),
                                                      key=lambda kv: (list(CONFIGS).index(kv[0][0]),
                                                                      PHASES.index(kv[0][1]),
                                                                      kv[0][2])):
                f.write(f"{config}\t{phase}\t{syscall}\t{n}\n")
        print(f"recorded {len(table)} (config, phase, syscall) rows")
        return 0
    todo = cases()
    if a.phase:
        todo = [c for c in todo if c[1] == a.phase]
    if a.config:
        todo = [c for c in todo if c[0] == a.config]
    if a.syscall:
        todo = [c for c in todo if c[2] in a.syscall]
    if a.case:
        todo = [tuple(x.split("/")) for x in a.case]
    if a.sample:
        todo = sample(todo, a.sample, a.seed)
    if a.cmd == "list":
        for c in todo:
            print(case_id(c))
        return 0
    results = []
    lock = threading.Lock()

    def one(c):
        r = Run(a.bin, c[0], c[1], c[2], c[3], c[4]).run()
        with lock:
            mark = r["result"] if r["result"] == "ok" else "FAIL " + r.get("detail", "")
            print("%-55s injected=%-3s exit=%-4s %s" % (case_id(c), r.get("injected"), r.get("code"),
                                                     mark), flush=True)
            if r["result"] != "ok":
                print("    strace: %s" % r.get("strace_line", "")[:300])
                if r.get("eventfd"):
                    print("    eventfd: tokio's waker write was failed too")
                for l in r.get("stderr", "").splitlines()[-6:]:
                    print("    stderr: %s" % l[:300])
                print("    repro: python3 tests/faults/matrix.py run --case %s" % case_id(c))
            else:
                import shutil
                shutil.rmtree(r.get("dir", "/nonexistent"), ignore_errors=True)
        return c, r

    with concurrent.futures.ThreadPoolExecutor(max_workers=a.j) as ex:
        results = list(ex.map(one, todo))
    summary(results)
    if a.out:
        with open(a.out, "w") as f:
            for c, r in results:
                f.write("%s\t%s\t%s\t%s\t%s\n" % (case_id(c), r["result"], r.get("injected"),
                                                  r.get("code"), r.get("detail", "")))
    failed = [c for c, r in results if r["result"] != "ok"]
    known = [c for c in failed if a.sample and case_id(c) in KNOWN]
    for c in known:
        print("KNOWN (open, RELIABILITY.md): %s" % case_id(c))
    print("\n%d cases, %d failed (%d of them known and open)" % (len(results), len(failed), len(known)))
    return 1 if len(failed) > len(known) else 0


if __name__ == "__main__":
    sys.exit(main())
