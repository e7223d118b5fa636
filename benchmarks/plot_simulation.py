#!/usr/bin/env python3
"""Plots a dde-sim CSV: forged-accept rate (log scale) against extra executions per task, one
marker per mode (and error target), one panel per liar strategy.

    python3 -m venv build/sim-venv && build/sim-venv/bin/pip install matplotlib
    .build/release/dde-sim --quick --csv build/sim.csv
    build/sim-venv/bin/python benchmarks/plot_simulation.py build/sim.csv build/simulation.png

A cell that forged nothing cannot sit on a log axis: it is drawn as a hollow marker on the
bottom edge, at half of one forged commit in its run (the rate it could not resolve below),
labelled "0". Audited cells also draw their error target as a short dash at their x, so a
marker above its dash is a target missed.
"""
import csv
import math
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

STYLE = {
    "first_valid": ("o", "tab:red"),
    "quorum": ("s", "tab:blue"),
    "boinc": ("^", "tab:orange"),
    "audited": ("D", "tab:green"),
}


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: plot_simulation.py RESULTS.csv OUT.png")
    rows = list(csv.DictReader(open(sys.argv[1], newline="")))
    if not rows:
        sys.exit("no rows in " + sys.argv[1])
    strategies = []
    for r in rows:
        if r["strategy"] not in strategies:
            strategies.append(r["strategy"])
    # The smallest rate any run could resolve (half a forged commit), for the zero row.
    floor = min(0.5 / max(int(r["commits"]), 1) for r in rows)
    top = max([float(r["forged_rate"]) for r in rows] + [float(r["target"]) for r in rows if r["target"]] + [floor * 10])

    cols = min(3, len(strategies))
    nrows = math.ceil(len(strategies) / cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(5.2 * cols, 4.2 * nrows), squeeze=False, sharey=True)
    for i, strategy in enumerate(strategies):
        ax = axes[i // cols][i % cols]
        zeros = 0  # zero markers share the bottom edge: their labels are stacked upwards
        for r in (r for r in rows if r["strategy"] == strategy):
            marker, color = STYLE.get(r["kind"], ("x", "black"))
            x = float(r["extra_per_task"])
            rate = float(r["forged_rate"])
            zero = int(r["forged"]) == 0
            y = floor if zero else rate
            ax.scatter([x], [y], marker=marker, s=60, zorder=3,
                       facecolors="none" if zero else color, edgecolors=color)
            label = r["mode"] + (": 0" if zero else "")
            dy = 4
            if zero:
                dy += 9 * zeros
                zeros += 1
            ax.annotate(label, (x, y), textcoords="offset points", xytext=(5, dy), fontsize=7,
                        arrowprops=dict(arrowstyle="-", lw=0.4, color="grey") if dy > 4 else None)
            if r["target"]:
                ax.plot([x - 0.03, x + 0.03], [float(r["target"])] * 2, color=color, lw=1.5, zorder=2)
        ax.set_yscale("log")
        ax.set_ylim(floor / 2, top * 3)
        ax.set_title(strategy)
        ax.set_xlabel("extra executions per task")
        ax.grid(True, which="both", alpha=0.25)
        if i % cols == 0:
            ax.set_ylabel("forged-accept rate")
    for j in range(len(strategies), nrows * cols):
        axes[j // cols][j % cols].axis("off")
    r0 = rows[0]
    fig.suptitle(f"dde-sim: {r0['executors']} executors, {float(r0['liar_share']):.0%} liars, "
                 f"{r0['requesters']} requesters, {r0['tasks']} tasks per cell "
                 "(hollow: none forged; dash: audited error target)", fontsize=10)
    fig.tight_layout()
    fig.savefig(sys.argv[2], dpi=120)
    print("wrote", sys.argv[2])


if __name__ == "__main__":
    main()
