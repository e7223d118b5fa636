#!/usr/bin/env bash
# Runs Tests/CAPI/capi_misuse.c (hostile arguments to every exported function) against the x86-64
# and the aarch64 libdde.so (the latter under qemu-aarch64). Builds both unless DDE_NO_BUILD=1.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=$ROOT/build/capi-misuse
SYSROOT=${AARCH64_SYSROOT:-/usr/aarch64-linux-gnu}
ARM64_LIBDIR=${ARM64_LIBDIR:-/usr/lib/aarch64-linux-gnu}
mkdir -p "$WORK"
if [ "${DDE_NO_BUILD:-0}" != 1 ]; then
    scripts/build-lib.sh
    scripts/build-aarch64.sh
fi
CFLAGS="-O1 -g -Wall -Wextra -Werror -std=c11 -D_DEFAULT_SOURCE"
gcc $CFLAGS -I build/host/include Tests/CAPI/capi_misuse.c \
    -L build/host/lib -ldde -Wl,-rpath,"$ROOT/build/host/lib" -o "$WORK/capi_misuse-x86_64"
aarch64-linux-gnu-gcc $CFLAGS -I build/aarch64/include Tests/CAPI/capi_misuse.c \
    -L build/aarch64/lib -ldde -Wl,-rpath-link,"$ARM64_LIBDIR" -o "$WORK/capi_misuse-aarch64"

status=0
"$WORK/capi_misuse-x86_64" > "$WORK/x86_64.out" 2>&1 || status=1
env LD_LIBRARY_PATH="$ROOT/build/aarch64/lib:$ARM64_LIBDIR" \
    qemu-aarch64 -L "$SYSROOT" "$WORK/capi_misuse-aarch64" > "$WORK/aarch64.out" 2>&1 || status=1
for side in x86_64 aarch64; do
    # A crash leaves no closing line: that counts as a failure too.
    grep -q '^capi_misuse: [0-9]* passed, 0 failed$' "$WORK/$side.out" || status=1
    sed "s/^/$side: /" "$WORK/$side.out" | grep -E 'FAIL|passed' || echo "$side: no result (crashed?)"
done
[ $status -eq 0 ] || { echo "test-capi-misuse: FAIL" >&2; exit 1; }
echo "test-capi-misuse: OK on x86_64 and aarch64"
