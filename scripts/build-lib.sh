#!/usr/bin/env bash
# Builds libdde.so for the host (x86-64 Linux) with the Swift runtime linked in statically, so a C
# program needs nothing from the Swift toolchain at run time. Output:
#   build/host/lib/libdde.so.X.Y.Z  stripped, only dde_* exported, soname libdde.so.N (DDE_SONAME)
#   build/host/lib/libdde.so.N      -> libdde.so.X.Y.Z (what programs load)
#   build/host/lib/libdde.so        -> libdde.so.N (what -ldde links against)
#   build/host/include/dde.h
# Then checks the result and fails loudly if it exports anything but dde_* or needs a library
# beyond libc, libm, libsodium, libsqlite3 and the dynamic loader. See docs/BUILDING.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/build/host
SCRATCH=${DDE_SCRATCH:-$ROOT/.build-lib}
source "$ROOT/scripts/abi.sh"   # VERSION, SONAME, after checking the generated copies of abi/dde.abi

# libstdc++ and libgcc_s come in through the static Swift runtime (it is C++). A folder that holds
# only a libstdc++.a symlink, first on the linker path, makes `-lstdc++` resolve to the archive;
# -static-libgcc does the same for libgcc_s.
LIBSTDCXX_A=$(g++ -print-file-name=libstdc++.a 2>/dev/null || true)
if [ ! -f "$LIBSTDCXX_A" ]; then
    LIBSTDCXX_A=$(ls /usr/lib/gcc/x86_64-linux-gnu/*/libstdc++.a 2>/dev/null | sort -V | tail -n1 || true)
fi
[ -f "$LIBSTDCXX_A" ] || { echo "build-lib: FAIL: libstdc++.a not found (apt install libstdc++-12-dev)" >&2; exit 1; }
STATICDIR=$SCRATCH/static-cxx
mkdir -p "$STATICDIR"
ln -sf "$LIBSTDCXX_A" "$STATICDIR/libstdc++.a"

echo "build-lib: swift build -c release --product DDECore (static Swift runtime), installed as libdde.so"
swift build -c release --product DDECore --scratch-path "$SCRATCH" \
    -Xswiftc -static-stdlib \
    -Xlinker -L"$STATICDIR" \
    -Xswiftc -Xclang-linker -Xswiftc -static-libgcc \
    -Xlinker --version-script="$ROOT/cmake/libdde.map" \
    -Xswiftc -use-ld=lld \
    -Xlinker --exclude-libs=ALL \
    -Xlinker -soname="$SONAME"

BIN=$(swift build -c release --scratch-path "$SCRATCH" --show-bin-path)
mkdir -p "$OUT/lib" "$OUT/include"
install_lib_chain "$OUT/lib" strip "$BIN/libDDECore.so"
cp include/dde.h "$OUT/include/dde.h"

"$ROOT/scripts/check-lib.sh" "$OUT/lib/libdde.so.$VERSION" nm readelf "$SONAME"
echo "build-lib: OK: $OUT/lib/libdde.so.$VERSION $(stat -c %s "$OUT/lib/libdde.so.$VERSION") bytes stripped (unstripped $(stat -c %s "$BIN/libDDECore.so")), soname $SONAME"
