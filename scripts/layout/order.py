#!/usr/bin/env python3
"""Writes lld's --symbol-ordering-file for a drainit binary.

Usage: order.py BINARY HOT_LIST OUT
       order.py demangle BINARY < MANGLED_NAMES   (what profile.sh uses)

HOT_LIST holds demangled function names without their hashes (as
`nm --demangle=rust` prints them), one per line, hottest first; lines starting
with `#` are comments. Every symbol of BINARY whose demangled name is listed goes into OUT,
mangled, in the list's order: the linker then places those functions first
in .text, next to each other. Names in the list that the binary lacks are
skipped. Prints one line: how many names matched and how many symbols.
"""
import subprocess
import sys


def symbols(binary, demangle):
    args = ["nm", "-p", "--defined-only"] + (["--demangle=rust"] if demangle else [])
    out = subprocess.run(args + [binary], check=True, capture_output=True, text=True).stdout
    rows = []
    for line in out.splitlines():
        parts = line.split(" ", 2)
        rows.append((parts[1], parts[2]) if len(parts) == 3 else None)
    return rows


def functions(binary):
    """(mangled, demangled) for every function symbol of BINARY."""
    mangled, demangled = symbols(binary, False), symbols(binary, True)
    if len(mangled) != len(demangled):
        sys.exit("order.py: nm listed the symbols differently with and without --demangle")
    return [(m[1], d[1]) for m, d in zip(mangled, demangled) if m and d and m[0] in "tTwW"]


def main():
    if sys.argv[1] == "demangle":
        names = dict(functions(sys.argv[2]))
        for line in sys.stdin:
            if line.rstrip("\n") in names:
                print(names[line.rstrip("\n")])
        return
    binary, hot_list, out = sys.argv[1:4]
    by_name = {}
    for m, d in functions(binary):
        by_name.setdefault(d, []).append(m)
    wanted = []
    for line in open(hot_list):
        name = line.rstrip("\n")
        if name and not name.startswith("#") and name not in wanted:
            wanted.append(name)
    order, seen, matched = [], set(), 0
    for name in wanted:
        syms = [s for s in by_name.get(name, []) if s not in seen]
        matched += name in by_name
        seen.update(syms)
        order.extend(syms)
    with open(out, "w") as f:
        f.write("".join(s + "\n" for s in order))
    print(f"layout: {matched} of {len(wanted)} hot functions found, {len(order)} symbols ordered")
    if wanted and matched < 0.8 * len(wanted):
        print("layout: scripts/layout/hot.txt looks stale for this build: run `make layout`",
              file=sys.stderr)


if __name__ == "__main__":
    main()
