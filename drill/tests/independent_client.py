#!/usr/bin/env python3
"""An independent open-model HTTP client for the drill's tests: sends RATE
requests a second to URL (a thread each, so a slow answer does not slow the
arrival rate) until SIGTERM, then waits for those in flight and prints
{"requests": N, "failed": M} (failed: a status of 500 or more, or any
transport error). Shares no code with the drill."""

import json
import signal
import sys
import threading
import time
import urllib.error
import urllib.request

url, rate, timeout = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
lock = threading.Lock()
counts = {"requests": 0, "failed": 0}


def one():
    ok = False
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            r.read()
            ok = r.status < 500
    except urllib.error.HTTPError as e:
        ok = e.code < 500
    except Exception:
        ok = False
    with lock:
        counts["requests"] += 1
        counts["failed"] += 0 if ok else 1


threads = []
start = time.monotonic()
n = 0
while not stop.is_set():
    due = start + n / rate
    now = time.monotonic()
    if due > now:
        stop.wait(due - now)
        continue
    t = threading.Thread(target=one, daemon=True)
    t.start()
    threads.append(t)
    n += 1
for t in threads:
    t.join(timeout + 1)
print(json.dumps(counts), flush=True)
