#!/usr/bin/env python3
"""Where a delegation's time goes, across processes, from the latency probes (cdde_trace).

    trace.py HEADER PREFIX [--skip N] [--raw-executor PID]

HEADER is Sources/CDDE/include/cdde.h (the probe names come from its CDDE_TRACE_* lines).
PREFIX is the DDE_TRACE value the requester and its executor(s) ran with: every PREFIX*.<pid>
file is read. Events of all processes are merged on CLOCK_MONOTONIC and cut into delegations at
each DELEGATE_START; the first N (default 20, the warm-up) are skipped. Over the delegations
whose probe sequence is the most common one, prints the p50 of every step between consecutive
probes as a Markdown table, R for the requester's process and E for an executor's.

With --raw-executor, PID is the process of `dde-bench-network raw-execute`: the delegations it
answered are the raw delegations the requester alternated with dde's (benchmarks/Sources/
dde-bench-network/RawDelegation.swift: the protocol's mandated steps done raw, with the same
probes at the same points). The table above is then of dde's delegations only, and a second one
sets the p50 of each phase of a delegation in both side by side, with what dde takes beyond the
raw steps (the first N of each kind skipped).
"""
import collections, glob, re, statistics, sys

# The phases both traces have, each from the first probe named to the first after it named.
PHASES = [
    ("build: the state and its proof read, the task made and signed", "R delegate start", "R offer publish"),
    ("the offer's hop, to the executor taking it", "R offer publish", "E node taken"),
    ("executor: the task checked (hashes, proof, signature)", "E node taken", "E node task checked"),
    ("executor: run, next root, proof and its signature", "E node task checked", "E node executed"),
    ("the answer's hop, to the requester taking it", "E node executed", "R answer taken"),
    ("requester: the answer judged (hashes, check 8, signature)", "R answer taken", "R answer judged"),
    ("requester: the commit (receipt signed, rows, one fsync)", "R answer judged", "R delegate end"),
]


def delegations_of(prefix, names):
    """Every delegation in PREFIX*.<pid>: (the executor pids in it, [(ns, label)])."""
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
            current = (set(), [])
        if current is not None:
            side = "R" if pid in requester else "E"
            if side == "E":
                current[0].add(pid)
            current[1].append((ns, f"{side} {names.get(point, point)}"))
    if current:
        delegations.append(current)
    return delegations


def most_common(delegations, skip, what):
    """The delegations after the first `skip` whose probe sequence is the most common one."""
    delegations = delegations[skip:]
    if not delegations:
        sys.exit(f"trace.py: no {what} after the warm-up")
    shapes = collections.Counter(tuple(label for _, label in d) for d in delegations)
    shape, count = shapes.most_common(1)[0]
    chosen = [d for d in delegations if tuple(label for _, label in d) == shape]
    return shape, chosen, len(delegations)


def phase_p50(shape, chosen, first, last):
    """p50 microseconds from the first probe `first` to the next `last`; None if a trace lacks them."""
    try:
        i = shape.index(first)
        j = shape.index(last, i + 1)
    except ValueError:
        return None
    return statistics.median((d[j][0] - d[i][0]) / 1000 for d in chosen)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    header, prefix = sys.argv[1], sys.argv[2]
    skip = int(sys.argv[sys.argv.index("--skip") + 1]) if "--skip" in sys.argv else 20
    names = {int(n): name.lower().replace("_", " ") for name, n in
             re.findall(r"#define CDDE_TRACE_(\w+) (\d+)", open(header).read())}
    raw_pid = sys.argv[sys.argv.index("--raw-executor") + 1] if "--raw-executor" in sys.argv else None
    everything = delegations_of(prefix, names)
    ours = [d for pids, d in everything if raw_pid not in pids]
    shape, chosen, total_count = most_common(ours, skip, "delegations")
    print(f"{len(chosen)} of {total_count} delegations share the most common probe sequence; p50 of each step:")
    print()
    print("| from | to | p50 |")
    print("|---|---|---:|")
    for i in range(1, len(shape)):
        p50 = statistics.median((d[i][0] - d[i - 1][0]) / 1000 for d in chosen)
        print(f"| {shape[i - 1]} | {shape[i]} | {p50:.1f} us |")
    total = statistics.median((d[-1][0] - d[0][0]) / 1000 for d in chosen)
    print(f"| {shape[0]} | {shape[-1]} (whole delegation) | {total:.1f} us |")
    if raw_pid is None:
        return
    raw = [d for pids, d in everything if raw_pid in pids]
    raw_shape, raw_chosen, raw_count = most_common(raw, skip, f"raw delegations (answered by pid {raw_pid})")
    print()
    print(f"dde beside the raw delegation, phase by phase: p50 over the delegations of each kind's most common "
          f"probe sequence (dde: {len(chosen)} of {total_count}; raw: {len(raw_chosen)} of {raw_count}):")
    print()
    print("| phase | dde | raw delegation | dde beyond raw |")
    print("|---|---:|---:|---:|")
    for label, first, last in PHASES + [("whole delegation", "R delegate start", "R delegate end")]:
        a, b = phase_p50(shape, chosen, first, last), phase_p50(raw_shape, raw_chosen, first, last)
        if a is None or b is None:
            print(f"| {label} | - | - | - |")
        else:
            print(f"| {label} | {a:.1f} us | {b:.1f} us | {a - b:+.1f} us |")

main()
