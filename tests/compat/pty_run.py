"""Runs an init on a real pty, types keys at it, and reports what happened.

usage: pty_run.py LOG KEYS -- INIT ARGS...

KEYS is a comma-separated list of key names (intr, quit, susp). The init
runs as the session leader of a new pty (as under `docker run -t`); once
the probe child logs "ready", each key is typed on the terminal, followed by
the sentinel signal (64) sent to the init: its arrival in the child's log
says the key has been dealt with (or the init or child is stopped). At the
end the init gets SIGCONT and SIGTERM. Prints one JSON object: the exit
status, the child's log, and the states of the init after each key.
"""
import json
import os
import pty
import select
import signal
import sys
import time

KEYS = {"intr": b"\x03", "quit": b"\x1c", "susp": b"\x1a"}
SENTINEL = 64
LIMIT = 15.0

log, keys = sys.argv[1], sys.argv[2].split(",") if sys.argv[2] else []
cmd = sys.argv[sys.argv.index("--") + 1:]


def lines():
    try:
        with open(log) as f:
            return f.read().split()
    except OSError:
        return []


def state(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(") ", 1)[1][0]
    except OSError:
        return "gone"


pid, master = pty.fork()
if pid == 0:
    os.execvp(cmd[0], cmd)
output = b""


def pump(until):
    """Reads the terminal while waiting for until() (or the time limit)."""
    global output
    deadline = time.monotonic() + LIMIT
    while time.monotonic() < deadline:
        if until():
            return True
        r, _, _ = select.select([master], [], [], 0.002)
        if r:
            try:
                output += os.read(master, 4096)
            except OSError:
                pass
    return False


def exited():
    return state(pid) in ("Z", "gone")


STOPS = sum(1 << (n - 1) for n in (19, 20, 21, 22))


def child_pid():
    """The init's first child (the probe), if any."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return int(f.read().split()[0])
    except (OSError, IndexError, ValueError):
        return None


def stops_pending():
    """A stop signal is pending at the probe: it has not stopped on it or
    logged it yet (a SIGCONT now would discard it)."""
    c = child_pid()
    if c is None:
        return False
    try:
        with open(f"/proc/{c}/status") as f:
            for line in f:
                if line.startswith(("SigPnd:", "ShdPnd:")) and int(line.split()[1], 16) & STOPS:
                    return True
    except OSError:
        pass
    return False


pump(lambda: "ready" in lines() or exited())
states = []
for key in keys:
    if exited():
        break
    # The terminal signals its foreground group (maybe the init with the
    # child): once the child has logged something new, every copy is at
    # least pending at the init, and the sentinel comes after them.
    grown = len(lines())
    os.write(master, KEYS[key])
    pump(lambda: exited() or ((len(lines()) > grown or state(pid) == "T") and not stops_pending()))
    before = lines().count(str(SENTINEL))
    os.kill(pid, SENTINEL)
    pump(lambda: exited() or ((lines().count(str(SENTINEL)) > before or state(pid) == "T") and not stops_pending()))
    states.append(f"{key}: init={'stopped' if state(pid) == 'T' else ('gone' if exited() else 'run')}")
if not exited():
    if state(pid) == "T":
        os.kill(pid, signal.SIGCONT)
    os.kill(pid, signal.SIGTERM)
pump(exited)
if not exited():
    os.kill(pid, signal.SIGKILL)
_, status = os.waitpid(pid, 0)
code = os.waitstatus_to_exitcode(status)
# A standard signal that is already pending merges with a second copy (the
# terminal's and the init's forwarded one): whether the child saw one or two
# is timing, so runs of one signal count once.
log_lines = [x for i, x in enumerate(lines()) if i == 0 or x != lines()[i - 1]]
print(json.dumps({"code": code, "log": log_lines, "states": states}))
