#!/usr/bin/env bash
# The benchmark command. Each suite is a script benchmarks/<suite>.sh that builds what it needs
# (release builds) and prints its figures as Markdown tables; BENCHMARKS.md records the runs.
#
#   scripts/bench.sh            every suite there is
#   scripts/bench.sh core       the named suite(s): core, executor, store, network, size
#
# Benchmarks want a quiet machine: other processes on the same cores show up in the figures.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

available=()
for f in benchmarks/*.sh; do
    [ -e "$f" ] && available+=("$(basename "${f%.sh}")")
done
[ ${#available[@]} -gt 0 ] || { echo "bench: FAIL: no suites in benchmarks/" >&2; exit 1; }

suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=("${available[@]}")
for s in "${suites[@]}"; do
    [ -f "benchmarks/$s.sh" ] || { echo "bench: FAIL: no suite '$s' (available: ${available[*]})" >&2; exit 2; }
done

echo "bench: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')), load $(cut -d' ' -f1-3 /proc/loadavg)"
for s in "${suites[@]}"; do
    echo
    echo "==== bench suite: $s"
    bash "benchmarks/$s.sh"
done
