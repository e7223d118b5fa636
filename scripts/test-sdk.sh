#!/usr/bin/env bash
# The C SDK as a user gets it: install into a prefix, build examples/c with CMake (find_package)
# and with pkg-config, run both; then the same for aarch64 through the CMake toolchain file, run
# under qemu-aarch64.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/scripts/lib.sh"
DDE=$(dde_bin)
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
export DDE_CODE_DIR=$W/code

check "install (host)" "$ROOT/scripts/install.sh" "$W/prefix"
check "cmake configure + build against the install" bash -c \
    "cmake -S '$ROOT/examples/c' -B '$W/cmake' -DCMAKE_PREFIX_PATH='$W/prefix' >/dev/null && cmake --build '$W/cmake' >/dev/null"
check "pkg-config build" bash -c \
    "PKG_CONFIG_PATH='$W/prefix/lib/pkgconfig' cc -std=c99 -Wall -Werror '$ROOT/examples/c/verify_task.c' -o '$W/pc_verify' \$(PKG_CONFIG_PATH='$W/prefix/lib/pkgconfig' pkg-config --cflags --libs dde)"

hash=$("$DDE" code add "$ROOT/examples/dapps/counter.wat")
printf '{"dappId":"counter","dappCodeHash":"%s","action":"increment","requiredCapabilities":["state.read","state.write"],"timestamp":1764000000000}' "$hash" > "$W/spec.json"
"$DDE" keygen -o "$W/e.key" >/dev/null
for build in cmake pc; do
    bin=$W/cmake/verify_task; [ $build = pc ] && bin=$W/pc_verify
    check "$build example: keygen, create" bash -c "cd '$W' && '$bin' keygen $build.key >/dev/null && '$bin' create $build.key spec.json > $build-task.json"
    check "$build example: verify a real executor's result" bash -c \
        "cd '$W' && '$DDE' exec --key e.key $build-task.json > $build-result.json && '$bin' verify $build-task.json $build-result.json | grep -q ^VALID"
done

check "install (aarch64)" "$ROOT/scripts/install.sh" --arch aarch64 "$W/prefix-pi"
check "cmake cross build through cmake/aarch64-linux-gnu.cmake" bash -c \
    "cmake -S '$ROOT/examples/c' -B '$W/pi' -DCMAKE_TOOLCHAIN_FILE='$ROOT/cmake/aarch64-linux-gnu.cmake' -DCMAKE_PREFIX_PATH='$W/prefix-pi' -DDDE_AARCH64_PREFIX='$W/prefix-pi' >/dev/null && cmake --build '$W/pi' >/dev/null && file '$W/pi/verify_task' | grep -q aarch64"
QEMU="qemu-aarch64 -L /usr/aarch64-linux-gnu -E LD_LIBRARY_PATH=$W/prefix-pi/lib:/usr/lib/aarch64-linux-gnu"
check "aarch64 example under qemu: create" bash -c "cd '$W' && $QEMU '$W/pi/verify_task' keygen pi.key >/dev/null && $QEMU '$W/pi/verify_task' create pi.key spec.json > pi-task.json"
check "aarch64 example under qemu: verify an x86-64 executor's result" bash -c \
    "cd '$W' && '$DDE' exec --key e.key pi-task.json > pi-result.json && $QEMU '$W/pi/verify_task' verify pi-task.json pi-result.json | grep -q ^VALID"
finish
