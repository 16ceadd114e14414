"""The app of tests/launchers.rs: a graceful server stand-in.

usage: app.py LOG [CODE] [ANY...]

Appends "start PID" at once, "ready PID" once TERM, INT and HUP are
blocked (it reads them with sigwait, so it reacts the moment one arrives,
whatever it is doing), "got SIG PID" for the first of them, then drains
for 0.3 s and appends "exit CODE PID" and exits with CODE (default 0).
Extra arguments (xargs adds one) are ignored.
"""
import os
import signal
import sys
import time

DRAIN = 0.3
log = sys.argv[1]
code = int(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2].isdigit() else 0


def put(line):
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666)
    os.write(fd, (line + "\n").encode())
    os.close(fd)


me = os.getpid()
put(f"start {me}")
stops = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP}
signal.pthread_sigmask(signal.SIG_BLOCK, stops)
put(f"ready {me}")
sig = signal.sigwait(stops)
put(f"got {int(sig)} {me}")
time.sleep(DRAIN)
put(f"exit {code} {me}")
sys.exit(code)
