#!/usr/bin/env bash
# The C SDK as a user gets it: install into a prefix (the Embedded Swift x86-64 library, what
# install.sh installs by default here), build examples/c with CMake (find_package) and with
# pkg-config, run both; then the same for aarch64 and armv7 through the CMake toolchain
# files, run under qemu-aarch64 and qemu-arm.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/scripts/lib.sh"
DDE=$(dde_bin)
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
export DDE_CODE_DIR=$W/code

check "install (default: the Embedded x86_64 library)" "$ROOT/scripts/install.sh" "$W/prefix"
check "the installed library is the Embedded x86_64 one" cmp -s "$W/prefix/lib/libdde.so" "$ROOT/build/x86_64/lib/libdde.so"
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

# The Raspberry Pi builds, 64-bit and 32-bit OS: install, cross-build through the CMake toolchain
# file, run under qemu, verify a result an x86-64 executor signed.
source "$ROOT/scripts/arch.sh"
for arch in $CROSS_ARCHES; do
    cross_arch "$arch"
    toolchain=$ROOT/$CMAKE_TOOLCHAIN
    prefix_var=DDE_$(echo "$arch" | tr a-z A-Z)_PREFIX
    check "install ($arch)" "$ROOT/scripts/install.sh" --arch "$arch" "$W/prefix-$arch"
    check "cmake cross build through $CMAKE_TOOLCHAIN" bash -c \
        "cmake -S '$ROOT/examples/c' -B '$W/$arch' -DCMAKE_TOOLCHAIN_FILE='$toolchain' -DCMAKE_PREFIX_PATH='$W/prefix-$arch' -D$prefix_var='$W/prefix-$arch' >/dev/null && cmake --build '$W/$arch' >/dev/null && readelf -h '$W/$arch/verify_task' | grep -q 'Machine:.*$ELF_MACHINE'"
    QEMU_RUN="$QEMU -L $CROSS_SYSROOT -E LD_LIBRARY_PATH=$W/prefix-$arch/lib:$CROSS_LIBDIR"
    check "$arch example under qemu: create" bash -c "cd '$W' && $QEMU_RUN '$W/$arch/verify_task' keygen $arch.key >/dev/null && $QEMU_RUN '$W/$arch/verify_task' create $arch.key spec.json > $arch-task.json"
    check "$arch example under qemu: verify an x86-64 executor's result" bash -c \
        "cd '$W' && '$DDE' exec --key e.key $arch-task.json > $arch-result.json && $QEMU_RUN '$W/$arch/verify_task' verify $arch-task.json $arch-result.json | grep -q ^VALID"
done
finish
