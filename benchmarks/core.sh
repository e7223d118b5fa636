#!/usr/bin/env bash
# Core suite (run it through scripts/bench.sh core): builds the release libdde.so for the host
# and the aarch64 one (for its size), compiles benchmarks/core_bench.c and the C example against
# build/host, and runs the benchmark once. DDE_NO_BUILD=1 skips the library builds;
# DDE_BENCH_CLOCK=cpu times with the process CPU time (a loaded shared machine), not the wall clock.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=$ROOT/build/bench
mkdir -p "$WORK"

if [ "${DDE_NO_BUILD:-0}" != 1 ]; then
    scripts/build-lib.sh > "$WORK/build-lib.log" 2>&1 || { tail -n 20 "$WORK/build-lib.log" >&2; exit 1; }
    scripts/build-embedded.sh --arch aarch64 > "$WORK/build-aarch64.log" 2>&1 || { tail -n 20 "$WORK/build-aarch64.log" >&2; exit 1; }
fi
for lib in build/host/lib/libdde.so build/aarch64/lib/libdde.so; do
    [ -f "$lib" ] || { echo "bench core: FAIL: $lib missing (scripts/build-lib.sh, scripts/build-embedded.sh --arch aarch64)" >&2; exit 1; }
done

CFLAGS="-O2 -Wall -Wextra -Werror -std=c11"
LINK=(-L build/host/lib -ldde -Wl,-rpath,"$ROOT/build/host/lib")
gcc $CFLAGS -I build/host/include benchmarks/core_bench.c "${LINK[@]}" -lsodium -o "$WORK/core_bench"
gcc $CFLAGS -I build/host/include examples/c/verify_task.c "${LINK[@]}" -o "$WORK/verify_task"

"$WORK/core_bench" --host-lib build/host/lib/libdde.so --aarch64-lib build/aarch64/lib/libdde.so \
    --example "$WORK/verify_task" --workdir "$WORK"

# Instructions per call under callgrind (repeatable, unlike the timings on a shared machine):
# (count at N calls - count at 0 calls) / N, against build/host/lib/libdde.so (core_bench's rpath).
if command -v valgrind > /dev/null 2>&1 && [ "${DDE_BENCH_CALLGRIND:-1}" = 1 ]; then
    N=256
    instructions() {
        valgrind --tool=callgrind --callgrind-out-file=/dev/null "$WORK/core_bench" --profile "$1" "$2" 2>&1 \
            | sed -n 's/.*I *refs: *//p' | tr -d ,
    }
    per_call() { echo $(( ($(instructions "$1" "$N") - $(instructions "$1" 0)) / N )); }
    raw=$(per_call raw-verify)
    dde=$(per_call verify)
    echo
    echo "| instructions per call (callgrind, $N calls) | instructions | ratio |"
    echo "|---|---:|---:|"
    echo "| raw crypto_sign_verify_detached (200-byte messages, $N different) | $raw | 1.00 |"
    echo "| dde_verify | $dde | $(awk -v a="$dde" -v b="$raw" 'BEGIN { printf "%.3fx", a / b }') |"
    awk -v a="$dde" -v b="$raw" 'BEGIN { r = a / b; printf "\nverify instruction ratio %.3fx against the 1.3x target: %s\n", r, (r <= 1.3 ? "MET" : "NOT MET") }'
fi
