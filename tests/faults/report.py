#!/usr/bin/env python3
"""Turns a `matrix.py run` log (target/faults/run.log) into the markdown of
RELIABILITY.md: the tried table (syscalls x errnos x phases), the counts,
and every failing case grouped by (syscall, when, symptom), each group with
its phases, errnos, one reproduction and its strace line.

usage: report.py RUN_LOG [RERUN_LOG...]   (a later log's verdict of a case wins)
"""
import re
import sys

from matrix import EVENTFD_WRITE  # tokio's waker write, as matrix.py marks it

CASE = re.compile(r"^(\S+/\S+/\S+/\S+/\S+)\s+injected=(\S+)\s+exit=(\S+)\s+(ok|FAIL)\s*(.*)$")
PHASES = ["startup", "idle", "drain", "stopping", "exit", "killing"]


def parse(paths):
    cases = {}
    for path in paths:
        last = None
        with open(path) as f:
            for line in f:
                m = CASE.match(line.rstrip("\n"))
                if m:
                    cid, inj, code, res, detail = m.groups()
                    last = cid
                    cases[cid] = {"injected": inj, "code": code, "ok": res == "ok",
                                  "detail": detail, "strace": "", "stderr": [], "eventfd": False}
                    continue
                if last and line.startswith("    strace: "):
                    cases[last]["strace"] = line[len("    strace: "):].strip()
                elif last and line.startswith("    eventfd: "):
                    cases[last]["eventfd"] = True
                elif last and line.startswith("    stderr: "):
                    cases[last]["stderr"].append(line[len("    stderr: "):].rstrip())
    return cases


def symptoms(detail):
    out = []
    for key in ["crash", "hang", "lost stop signal", "early", "exit ", "never started", "silent",
                "Error"]:
        if key in detail:
            out.append({"exit ": "wrong exit code", "Error": "harness error"}.get(key, key))
    return out




def impossible(k, c):
    """Why the kernel never fails this call this way, or None. Such cases
    are run and listed, and counted apart: no real fault looks like them."""
    syscall, errno, when = k[2], k[3], k[4]
    if syscall == "close":
        return "close: strace skips the call, so the descriptor stays open; Linux frees it even on EINTR/EIO"
    if syscall == "write" and (c["eventfd"] or EVENTFD_WRITE.search(c["strace"])):
        return ("tokio's eventfd waker: adding 1 to an eventfd fails only when the counter is at "
                "2^64-2 (EAGAIN, which mio handles); EINTR, EIO, ENOSPC never")
    if syscall == "getrandom" and errno == "EAGAIN" and "GRND_INSECURE" in c["strace"]:
        return ("getrandom(GRND_INSECURE) never says EAGAIN: it does not wait for the entropy pool "
                "(std asks for it for HashMap keys)")
    if syscall == "kill" and errno == "ESRCH":
        return "kill ESRCH for a process that exists: the kernel says ESRCH only when there is none (drainit takes it as gone)"
    if syscall == "wait4" and errno == "ECHILD":
        return "wait4 ECHILD while drainit has a child: the kernel says ECHILD only when there is none"
    if syscall == "rt_sigaction" and errno == "EINVAL":
        return "rt_sigaction EINVAL for a valid, catchable signal: the kernel refuses only invalid ones"
    if syscall == "read" and when == "1+" and errno in ("EAGAIN", "EIO"):
        return ("every read for ever, the signalfd's included: EAGAIN while epoll says it is "
                "readable, or EIO, which a signalfd never returns (drainit logs it and retries)")
    if errno == "EINTR" and when == "1+":
        return "EINTR on every call for ever: a signal interrupts one call, not all of them"
    return None


BEFORE_MAIN = ("before main: the process's first mmap, at exec (musl's static start-up maps "
               "the thread block and does not check the result); the app is not started; "
               "every anchor dies on its own first start-up mmap, brk or mprotect the same "
               "way (tests/faults/anchors.sh)")


def before_main(k, c):
    """The cases whose injected call is made before drainit's main: at
    start-up strace runs drainit from exec, so the first mmap is the C
    library's. (std's start-up, with its signal-stack mprotect, does not
    run: no_main.)"""
    return k[1] == "startup" and k[2] == "mmap"


def counts(rows, title):
    print(title)
    print()
    print("| phase | cases | failure injected | crashes | hangs | lost stop signals | wrong exit code | silent | pass |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for phase in PHASES + ["all"]:
        rs = [c for k, c in rows if phase in ("all", k[1])]
        if not rs:
            continue
        s = [symptoms(c["detail"]) for c in rs]
        inj = sum(1 for c in rs if c["injected"] not in ("0", "None"))
        print("| %s | %d | %d | %d | %d | %d | %d | %d | %d |" % (
            phase if phase != "all" else "**all**", len(rs), inj,
            sum("crash" in x for x in s), sum("hang" in x for x in s),
            sum("lost stop signal" in x for x in s), sum("wrong exit code" in x for x in s),
            sum("silent" in x for x in s), sum(1 for c in rs if c["ok"])))
    print()


def main():
    cases = parse(sys.argv[1:])
    rows = [(cid.split("/"), c) for cid, c in cases.items()]
    real = [(k, c) for k, c in rows if not impossible(k, c)]
    after = [(k, c) for k, c in real if not before_main(k, c)]
    before = [(k, c) for k, c in real if before_main(k, c)]
    counts(after, "Faults a kernel can produce, from drainit's main on (%d cases):" % len(after))
    print("- apart, %d cases (%d failed): %s" % (
        len(before), sum(1 for _, c in before if not c["ok"]), BEFORE_MAIN))
    print()
    counts(rows, "Every case, including the %d that no kernel produces (see below):" % (len(rows) - len(real)))
    apart = {}
    for k, c in rows:
        why = impossible(k, c)
        if why:
            apart.setdefault(why, [0, 0])
            apart[why][0] += 1
            apart[why][1] += 0 if c["ok"] else 1
    for why, (n, bad) in sorted(apart.items()):
        print("- counted apart, %d cases (%d failed): %s" % (n, bad, why))
    syscalls = sorted({k[2] for k, _ in rows if k[2] != "-"})
    errnos = sorted({k[3] for k, _ in rows if k[3] != "none"})
    configs = sorted({k[0] for k, _ in rows})
    print()
    print("Tried: %d syscalls (%s) x %d errnos (%s) x %d phases x %d configurations (%s), "
          "`when=1` and `when=1+`, plus one control case (nothing injected) per configuration "
          "and phase." % (len(syscalls), ", ".join(syscalls), len(errnos), ", ".join(errnos),
                          len({k[1] for k, _ in rows}), len(configs), ", ".join(configs)))
    groups = {}
    for k, c in after:
        if c["ok"]:
            continue
        key = (k[2], k[4], ", ".join(symptoms(c["detail"])))
        groups.setdefault(key, []).append((k, c))
    print()
    print("Every failing group of the faults a kernel can produce, from main on:")
    print()
    print("| syscall | when | symptom | cases | phases | errnos | reproduction | strace line |")
    print("|---|---|---|---:|---|---|---|---|")
    for (syscall, when, sym), members in sorted(groups.items(),
                                                key=lambda kv: (-("crash" in kv[0][2]),
                                                                -("hang" in kv[0][2]),
                                                                -len(kv[1]))):
        phases = sorted({k[1] for k, _ in members}, key=PHASES.index)
        errs = sorted({k[3] for k, _ in members})
        k, c = members[0]
        strace = c["strace"].replace("|", "\\|")[:140]
        print("| %s | %s | %s | %d | %s | %s | `python3 tests/faults/matrix.py run --case %s` | `%s` |" % (
            syscall, when, sym, len(members), " ".join(phases), " ".join(errs), "/".join(k), strace))


if __name__ == "__main__":
    main()
