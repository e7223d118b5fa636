#!/usr/bin/env python3
"""Where a delegation's time goes, across processes, from the latency probes (cdde_trace).

    trace.py HEADER PREFIX [--skip N]

HEADER is Sources/CDDE/include/cdde.h (the probe names come from its CDDE_TRACE_* lines).
PREFIX is the DDE_TRACE value the requester and its executor(s) ran with: every PREFIX*.<pid>
file is read. Events of all processes are merged on CLOCK_MONOTONIC and cut into delegations at
each DELEGATE_START; the first N (default 20, the warm-up) are skipped. Over the delegations
whose probe sequence is the most common one, prints the p50 of every step between consecutive
probes as a Markdown table, R for the requester's process and E for an executor's.
"""
import collections, glob, re, statistics, sys

def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    header, prefix = sys.argv[1], sys.argv[2]
    skip = int(sys.argv[sys.argv.index("--skip") + 1]) if "--skip" in sys.argv else 20
    names = {int(n): name.lower().replace("_", " ") for name, n in
             re.findall(r"#define CDDE_TRACE_(\w+) (\d+)", open(header).read())}
    start = next(n for n, name in names.items() if name == "delegate start")
    files = glob.glob(glob.escape(prefix) + "*.[0-9]*")
    if not files:
        sys.exit(f"trace.py: no trace files {prefix}*.<pid> (was DDE_TRACE set?)")
    events, requester = [], set()
    for path in files:
        pid = path.rsplit(".", 1)[1]
        for line in open(path):
            ns, point = line.split()
            events.append((int(ns), pid, int(point)))
            if int(point) == start:
                requester.add(pid)
    events.sort()
    delegations, current = [], None
    for ns, pid, point in events:
        if point == start and pid in requester:
            if current:
                delegations.append(current)
            current = []
        if current is not None:
            side = "R" if pid in requester else "E"
            current.append((ns, f"{side} {names.get(point, point)}"))
    if current:
        delegations.append(current)
    delegations = delegations[skip:]
    if not delegations:
        sys.exit("trace.py: no delegations after the warm-up")
    shapes = collections.Counter(tuple(label for _, label in d) for d in delegations)
    shape, count = shapes.most_common(1)[0]
    chosen = [d for d in delegations if tuple(label for _, label in d) == shape]
    print(f"{count} of {len(delegations)} delegations share the most common probe sequence; p50 of each step:")
    print()
    print("| from | to | p50 |")
    print("|---|---|---:|")
    for i in range(1, len(shape)):
        p50 = statistics.median((d[i][0] - d[i - 1][0]) / 1000 for d in chosen)
        print(f"| {shape[i - 1]} | {shape[i]} | {p50:.1f} us |")
    total = statistics.median((d[-1][0] - d[0][0]) / 1000 for d in chosen)
    print(f"| {shape[0]} | {shape[-1]} (whole delegation) | {total:.1f} us |")

main()
