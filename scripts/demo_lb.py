"""A tiny load balancer's view of one replica, for `make demo`.

Sends requests from several workers at a steady rate, routing to the app
only while the last health check said "up" (checked every --check-every,
like an ALB target group or a Kubernetes endpoint update). Prints a summary:
requests sent, failed (connection errors or non-2xx), and when routing
stopped.

usage: demo_lb.py --app HOST:PORT --health URL --seconds N [--workers 4] [--rate 30]
"""
import argparse
import http.client
import threading
import time
import urllib.request

p = argparse.ArgumentParser()
p.add_argument("--app", required=True)
p.add_argument("--health", required=True)
p.add_argument("--seconds", type=float, required=True)
p.add_argument("--workers", type=int, default=4)
p.add_argument("--check-every", type=float, default=1.0)
p.add_argument("--rate", type=float, default=30.0, help="requests per second, all workers")
a = p.parse_args()

start = time.monotonic()
up = threading.Event()
lock = threading.Lock()
stats = {"sent": 0, "ok": 0, "failed": 0, "errors": {}}
routing_stopped = [None]


def t():
    return time.monotonic() - start


def checker():
    while t() < a.seconds:
        try:
            with urllib.request.urlopen(a.health, timeout=1) as r:
                ok = r.status == 200
        except Exception:
            ok = False
        if ok:
            up.set()
        elif up.is_set():
            up.clear()
            routing_stopped[0] = t()
            print(f"[lb +{t():.3f}s] health check failed: routing stopped", flush=True)
        time.sleep(a.check_every)


def worker():
    host, port = a.app.rsplit(":", 1)
    interval = a.workers / a.rate
    next_at = t()
    while t() < a.seconds:
        # A fixed rate, as a real client population sends: a refused
        # connection does not make the next request come sooner.
        time.sleep(max(0.0, next_at - t()))
        next_at += interval
        if not up.is_set():
            time.sleep(0.01)
            continue
        try:
            c = http.client.HTTPConnection(host, int(port), timeout=5)
            c.request("POST", "/work", body=b"x")
            r = c.getresponse()
            r.read()
            c.close()
            good = 200 <= r.status < 300
            err = None if good else f"HTTP {r.status}"
        except Exception as e:  # connection refused / reset: a dropped request
            good, err = False, type(e).__name__
        with lock:
            stats["sent"] += 1
            if good:
                stats["ok"] += 1
            else:
                stats["failed"] += 1
                stats["errors"][err] = stats["errors"].get(err, 0) + 1


threads = [threading.Thread(target=checker, daemon=True)]
threads += [threading.Thread(target=worker, daemon=True) for _ in range(a.workers)]
for th in threads:
    th.start()
for th in threads[1:]:
    th.join()
errs = ", ".join(f"{k}: {v}" for k, v in stats["errors"].items()) or "none"
print(f"[lb] requests sent: {stats['sent']}, succeeded: {stats['ok']}, failed: {stats['failed']} ({errs})", flush=True)
