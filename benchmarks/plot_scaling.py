#!/usr/bin/env python3
"""Plots a dde-bench-scaling CSV: the cost of one wallet transfer against the number of accounts
(log scale on both axes): task bytes on the left, the time of each step on the right.

    python3 -m venv build/sim-venv && build/sim-venv/bin/pip install matplotlib
    .build/release/dde-bench-scaling --csv build/scaling.csv
    build/sim-venv/bin/python benchmarks/plot_scaling.py build/scaling.csv benchmarks/scaling.png
"""
import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

STEPS = [("task_us", "task build (proofs from the store, sign)"), ("execute_us", "execute (WasmKit)"),
         ("verify_us", "verify (checks 2-10)"), ("commit_us", "commit (tree paths, fsync)"),
         ("delegate_us", "delegation end to end (in-process)")]


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: plot_scaling.py RESULTS.csv OUT.png")
    rows = list(csv.DictReader(open(sys.argv[1], newline="")))
    if not rows:
        sys.exit("no rows in " + sys.argv[1])
    n = [float(r["accounts"]) for r in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8))
    left.plot(n, [float(r["task_bytes"]) for r in rows], marker="o", color="tab:blue", label="v2 task, one transfer")
    left.axhline(4096, color="tab:red", linestyle="--", linewidth=1, label="4 KB (issue 15)")
    left.set_xscale("log")
    left.set_xlabel("accounts in the wallet")
    left.set_ylabel("bytes")
    left.set_ylim(0, 4600)
    left.set_title("task size")
    left.legend(loc="lower right")
    left.grid(True, which="both", alpha=0.3)
    for key, label in STEPS:
        right.plot(n, [float(r[key]) for r in rows], marker="o", label=label)
    right.set_xscale("log")
    right.set_yscale("log")
    right.set_xlabel("accounts in the wallet")
    right.set_ylabel("microseconds (p50)")
    right.set_title("time per transfer")
    right.legend(loc="upper left", fontsize=8)
    right.grid(True, which="both", alpha=0.3)
    fig.suptitle("dde: one wallet transfer against the state size (dde-bench-scaling)")
    fig.tight_layout()
    fig.savefig(sys.argv[2], dpi=110)


if __name__ == "__main__":
    main()
