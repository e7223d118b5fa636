#!/usr/bin/env bash
# Runs Tests/CAPI/capi_misuse.c (hostile arguments to every exported function) against the x86-64
# libdde.so (build/host) and each Embedded Swift one (x86_64 natively, aarch64 under
# qemu-aarch64, armv7 under qemu-arm).
#   scripts/test-capi-misuse.sh [--arch x86_64|aarch64|armv7]...   every one unless named
# Builds the libraries unless DDE_NO_BUILD=1.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=$ROOT/build/capi-misuse
source scripts/arch.sh
arches=()
while [ $# -gt 0 ]; do
    [ "$1" = --arch ] && [ $# -ge 2 ] || { echo "usage: scripts/test-capi-misuse.sh [--arch x86_64|aarch64|armv7]..." >&2; exit 2; }
    cross_arch "$2" >/dev/null || exit 2
    arches+=("$2"); shift 2
done
[ ${#arches[@]} -gt 0 ] || read -r -a arches <<< "$EMBEDDED_ARCHES"
mkdir -p "$WORK"
if [ "${DDE_NO_BUILD:-0}" != 1 ]; then
    scripts/build-lib.sh
    for arch in "${arches[@]}"; do scripts/build-embedded.sh --arch "$arch"; done
fi
CFLAGS="-O1 -g -Wall -Wextra -Werror -std=c11 -D_DEFAULT_SOURCE"
gcc $CFLAGS -I build/host/include Tests/CAPI/capi_misuse.c \
    -L build/host/lib -ldde -Wl,-rpath,"$ROOT/build/host/lib" -o "$WORK/capi_misuse-host"
status=0
"$WORK/capi_misuse-host" > "$WORK/host.out" 2>&1 || status=1
for arch in "${arches[@]}"; do
    cross_arch "$arch"
    "$GNU-gcc" $CFLAGS "${C_ARCH_FLAGS[@]}" -I "build/$arch/include" Tests/CAPI/capi_misuse.c \
        -L "build/$arch/lib" -ldde -Wl,-rpath-link,"$CROSS_LIBDIR" -o "$WORK/capi_misuse-$arch"
    env LD_LIBRARY_PATH="$ROOT/build/$arch/lib:$CROSS_LIBDIR" \
        "${RUN_PREFIX[@]}" "$WORK/capi_misuse-$arch" > "$WORK/$arch.out" 2>&1 || status=1
done
for side in host "${arches[@]}"; do
    # A crash leaves no closing line: that counts as a failure too.
    grep -q '^capi_misuse: [0-9]* passed, 0 failed$' "$WORK/$side.out" || status=1
    sed "s/^/$side: /" "$WORK/$side.out" | grep -E 'FAIL|passed' || echo "$side: no result (crashed?)"
done
[ $status -eq 0 ] || { echo "test-capi-misuse: FAIL" >&2; exit 1; }
echo "test-capi-misuse: OK on host ${arches[*]}"
