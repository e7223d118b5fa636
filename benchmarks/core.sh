#!/usr/bin/env bash
# Core suite (run it through scripts/bench.sh core): builds the release libdde.so for the host
# and the aarch64 one (for its size), compiles benchmarks/core_bench.c and the C example against
# build/host, and runs the benchmark once. DDE_NO_BUILD=1 skips the library builds.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=$ROOT/build/bench
mkdir -p "$WORK"

if [ "${DDE_NO_BUILD:-0}" != 1 ]; then
    scripts/build-lib.sh > "$WORK/build-lib.log" 2>&1 || { tail -n 20 "$WORK/build-lib.log" >&2; exit 1; }
    scripts/build-aarch64.sh > "$WORK/build-aarch64.log" 2>&1 || { tail -n 20 "$WORK/build-aarch64.log" >&2; exit 1; }
fi
for lib in build/host/lib/libdde.so build/aarch64/lib/libdde.so; do
    [ -f "$lib" ] || { echo "bench core: FAIL: $lib missing (scripts/build-lib.sh, scripts/build-aarch64.sh)" >&2; exit 1; }
done

CFLAGS="-O2 -Wall -Wextra -Werror -std=c11"
LINK=(-L build/host/lib -ldde -Wl,-rpath,"$ROOT/build/host/lib")
gcc $CFLAGS -I build/host/include benchmarks/core_bench.c "${LINK[@]}" -lsodium -o "$WORK/core_bench"
gcc $CFLAGS -I build/host/include examples/c/verify_task.c "${LINK[@]}" -o "$WORK/verify_task"

"$WORK/core_bench" --host-lib build/host/lib/libdde.so --aarch64-lib build/aarch64/lib/libdde.so \
    --example "$WORK/verify_task" --workdir "$WORK"
