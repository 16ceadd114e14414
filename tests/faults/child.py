"""The app of the fault-injection cases: logs every signal it receives.

usage: child.py OUTFILE MODE [--listen PORT] [--fork-storm]

One line per event in OUTFILE, then CLOCK_MONOTONIC and CLOCK_REALTIME
nanoseconds (the second compares with drainit's JSON timestamps):
  ready PID MONO REAL    the signal mask is in place (and the port listens)
  sig SIGNO MONO REAL    a signal arrived
  orphan PID MONO REAL   an orphan was left behind (on SIGUSR1)

MODE says what the stop signal (SIGTERM) does:
  exit    exit 0 at once
  hold    log it and keep running; exit 0 on SIGUSR2 (sent by the harness
          straight to this process, so drainit's stopping phase lasts as
          long as the harness wants)
  ignore  log it and keep running until SIGKILL

SIGUSR1 makes an orphan: a double fork whose grandchild exits once its
parent is gone, so drainit (PID 1 or subreaper) reaps it. --fork-storm
makes one orphan every ~5 ms from the start (orphans' SIGCHLDs during a
drain). Signals are blocked and read with sigwaitinfo: nothing is lost to
a handler race.
"""
import os
import signal
import socket
import sys
import threading
import time

args = sys.argv[1:]
out, mode = args[0], args[1]
listen = None
storm = False
rest = args[2:]
while rest:
    flag = rest.pop(0)
    if flag == "--listen":
        listen = int(rest.pop(0))
    elif flag == "--fork-storm":
        storm = True

every = set(range(1, signal.SIGRTMAX + 1)) - {signal.SIGKILL, signal.SIGSTOP, 32, 33}
signal.pthread_sigmask(signal.SIG_BLOCK, every)
fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)


def note(*words):
    stamps = " %d %d\n" % (time.monotonic_ns(), time.time_ns())
    os.write(fd, (" ".join(str(w) for w in words) + stamps).encode())


def orphan():
    pid = os.fork()
    if pid == 0:
        middle = os.getpid()
        grand = os.fork()
        if grand == 0:
            # Exit once re-parented away from the middle process.
            while os.getppid() == middle:
                time.sleep(0.001)
            os._exit(0)
        note("orphan", grand)
        os._exit(0)
    os.waitpid(pid, 0)


def storm_loop():
    while True:
        orphan()
        time.sleep(0.005)


sock = None
if listen:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", listen))
    sock.listen(16)
note("ready", os.getpid())
if storm:
    threading.Thread(target=storm_loop, daemon=True).start()
while True:
    info = signal.sigwaitinfo(every)
    if info.si_signo == signal.SIGCHLD:
        continue
    note("sig", info.si_signo)
    if info.si_signo == signal.SIGTERM and mode == "exit":
        sys.exit(0)
    if info.si_signo == signal.SIGUSR2 and mode == "hold":
        sys.exit(0)
    if info.si_signo == signal.SIGUSR1:
        orphan()
