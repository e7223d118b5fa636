#!/usr/bin/env bash
# Scaling suite (issue 15; run it through scripts/bench.sh scaling): one wallet transfer against
# the number of accounts (10, 1,000, 100,000, 1,000,000 by default; BENCH_SCALING_SIZES): task
# bytes, task build, execution, verification, commit and in-process delegation p50 over
# BENCH_SCALING_ROUNDS (2000) transfers each, in BENCH_SCALING_PASSES (25) passes that take turns
# over the sizes (the growth judged pass by pass: dde-bench-scaling's header), as a Markdown table, and the plot
# build/scaling.png (matplotlib in build/sim-venv, installed on first use). The seeded stores
# are kept in build/scaling (the million-account one takes minutes to seed and about 1 GiB).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=$ROOT/build/scaling
mkdir -p "$WORK"
swift build -c release --product dde-bench-scaling > "$WORK/build.log" 2>&1 || { tail -n 20 "$WORK/build.log" >&2; exit 1; }
BIN=$(swift build -c release --show-bin-path)
"$BIN/dde-bench-scaling" --dir "$WORK" --sizes "${BENCH_SCALING_SIZES:-10,1000,100000,1000000}" \
    --rounds "${BENCH_SCALING_ROUNDS:-2000}" --passes "${BENCH_SCALING_PASSES:-25}" --csv "$WORK/scaling.csv" --wallet examples/dapps/wallet.wat
VENV=$ROOT/build/sim-venv
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import matplotlib' 2>/dev/null; then
    python3 -m venv "$VENV" && "$VENV/bin/pip" install -q matplotlib
fi
"$VENV/bin/python" benchmarks/plot_scaling.py "$WORK/scaling.csv" "$ROOT/build/scaling.png"
echo
echo "plot: build/scaling.png"
