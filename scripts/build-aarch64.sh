#!/usr/bin/env bash
# Cross-builds libdde.so for aarch64 Linux (Raspberry Pi 3/4/5, 64-bit OS) with Embedded Swift.
# There is no aarch64 Linux Swift SDK here, but the toolchain ships an embedded stdlib for
# aarch64-none-none-elf: the whole core (Sources/DDE, C API included) is compiled as one module
# against it, and GNU's cross gcc compiles the C shim and links everything against Debian's arm64
# libc, libsodium and libsqlite3. Output:
#   build/aarch64/lib/libdde.so.X.Y.Z  stripped, only dde_* exported, soname libdde.so.N (DDE_SONAME)
#   build/aarch64/lib/libdde.so.N      -> libdde.so.X.Y.Z;  libdde.so -> libdde.so.N
#   build/aarch64/include/dde.h
# A library built from the same inputs is not built again: build/aarch64/inputs.sha256 records
# the hash of every input (the sources, the C shim, the version script, this script, the
# compilers' versions, the arm64 libraries it links) and of the library made from them; when
# both still match, this says "up to date" and stops. So a test run builds it once, however many
# suites ask (rm -rf build/aarch64 forces a build). See docs/BUILDING.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/build/aarch64
OBJ=$OUT/obj
CC=${AARCH64_CC:-aarch64-linux-gnu-gcc}
STRIP=${AARCH64_STRIP:-aarch64-linux-gnu-strip}
ARM64_LIBDIR=${ARM64_LIBDIR:-/usr/lib/aarch64-linux-gnu}
source "$ROOT/scripts/abi.sh"   # VERSION, SONAME, after checking the generated copies of abi/dde.abi

SWIFTC=${SWIFTC:-$(command -v swiftc || true)}
[ -x "$SWIFTC" ] || { echo "build-aarch64: FAIL: swiftc not found (Swift 6.3 toolchain on PATH)" >&2; exit 1; }
command -v "$CC" >/dev/null || { echo "build-aarch64: FAIL: $CC not found (scripts/install-deps.sh)" >&2; exit 1; }
# The embedded stdlib lives in the toolchain next to the regular one: <root>/usr/lib/swift/embedded.
TOOLCHAIN_ROOT=$(cd "$(dirname "$(readlink -f "$SWIFTC")")/../.." && pwd)
UNICODE_TABLES=$TOOLCHAIN_ROOT/usr/lib/swift/embedded/aarch64-none-none-elf/libswiftUnicodeDataTables.a
[ -f "$UNICODE_TABLES" ] || { echo "build-aarch64: FAIL: $UNICODE_TABLES missing (toolchain without embedded aarch64 stdlib)" >&2; exit 1; }
for lib in libsodium.so libsqlite3.so; do
    [ -e "$ARM64_LIBDIR/$lib" ] || { echo "build-aarch64: FAIL: $ARM64_LIBDIR/$lib missing: apt install libsodium-dev:arm64 libsqlite3-dev:arm64 (scripts/install-deps.sh)" >&2; exit 1; }
done

# Everything the library is made from, hashed: file contents (with their names), the tools'
# versions, the packages of the headers and libraries. Any change means a build.
STAMP=$OUT/inputs.sha256
inputs_hash() {
    {
        find Sources/DDE -name '*.swift' | LC_ALL=C sort | xargs -d '\n' sha256sum
        sha256sum Sources/CDDE/*.c Sources/CDDE/include/* scripts/aarch64/* cmake/libdde.map include/dde.h \
            scripts/build-aarch64.sh scripts/check-lib.sh
        "$SWIFTC" --version 2>&1
        "$CC" --version | head -n 1
        "$STRIP" --version | head -n 1
        stat -L -c '%n %s %Y' "$UNICODE_TABLES"
        # The headers and libraries it compiles and links against (dpkg knows their versions).
        dpkg-query -W -f '${binary:Package} ${Version}\n' libc6-dev-arm64-cross libsodium-dev libsodium-dev:arm64 \
            libsqlite3-dev libsqlite3-dev:arm64 2>/dev/null || true
        stat -L -c '%n %s %Y' "$ARM64_LIBDIR/libsodium.so" "$ARM64_LIBDIR/libsqlite3.so"
    } | sha256sum | cut -d' ' -f1
}
want_inputs=$(inputs_hash)
if [ -f "$STAMP" ] && [ -f "$OUT/lib/libdde.so" ] && [ -f "$OUT/include/dde.h" ] &&
   [ "$(cat "$STAMP")" = "$want_inputs $(sha256sum < "$OUT/lib/libdde.so" | cut -d' ' -f1)" ] &&
   cmp -s include/dde.h "$OUT/include/dde.h"; then
    echo "build-aarch64: up to date: $OUT/lib/libdde.so (built from these inputs; $STAMP)"
    exit 0
fi

rm -rf "$OBJ"
rm -f "$STAMP"
mkdir -p "$OBJ" "$OUT/lib" "$OUT/include"

echo "build-aarch64: swiftc (Embedded, aarch64-none-none-elf, -Osize) Sources/DDE"
# -I/usr/aarch64-linux-gnu/include first: libc headers of the target; /usr/include after it only
# for the architecture-independent sodium.h and sqlite3.h. The __INT64_C redefinition warnings
# this produces are harmless and filtered out.
find Sources/DDE -name '*.swift' | LC_ALL=C sort > "$OBJ/sources.txt"
set +e
"$SWIFTC" -target aarch64-none-none-elf -enable-experimental-feature Embedded \
    -wmo -parse-as-library -Osize -module-name DDE \
    -I Sources/CDDE/include \
    -Xcc -I/usr/aarch64-linux-gnu/include -Xcc -I/usr/include \
    -c $(cat "$OBJ/sources.txt") -o "$OBJ/DDE.o" 2> "$OBJ/swiftc.log"
rc=$?
set -e
# Show everything except the known-harmless macro redefinition notes.
grep -v -E '__U?INT(8|16|32|64|MAX)_(C|MAX|FMT)|previous definition is here|^[0-9 ]+\||^ *\||^ *`-|^<built-in>' "$OBJ/swiftc.log" >&2 || true
[ $rc -eq 0 ] || { echo "build-aarch64: FAIL: swiftc exited $rc (full log: $OBJ/swiftc.log)" >&2; exit 1; }

echo "build-aarch64: $CC the C shim"
CFLAGS="-fPIC -O2 -Wall -Wextra -fstack-protector-strong -D_FORTIFY_SOURCE=2"
for c in Sources/CDDE/*.c scripts/aarch64/embedded-support.c; do
    "$CC" $CFLAGS -I Sources/CDDE/include -c "$c" -o "$OBJ/$(basename "${c%.c}").c.o"
done

echo "build-aarch64: $CC -shared libdde.so"
"$CC" -shared -o "$OBJ/libdde.so" \
    -Wl,-soname,"$SONAME" \
    "$OBJ/DDE.o" "$OBJ"/*.c.o "$UNICODE_TABLES" \
    -L"$ARM64_LIBDIR" -lsodium -lsqlite3 \
    -Wl,--version-script="$ROOT/cmake/libdde.map" \
    -Wl,--no-undefined -Wl,--gc-sections -Wl,-z,relro -Wl,-z,now -Wl,-z,noexecstack

install_lib_chain "$OUT/lib" "$STRIP" "$OBJ/libdde.so"
cp include/dde.h "$OUT/include/dde.h"

"$ROOT/scripts/check-lib.sh" "$OUT/lib/libdde.so.$VERSION" aarch64-linux-gnu-nm aarch64-linux-gnu-readelf "$SONAME"
# Newest glibc symbol version the library asks for: the Pi's glibc must be at least this.
glibc=$(aarch64-linux-gnu-objdump -T "$OUT/lib/libdde.so.$VERSION" | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -n1)
echo "$want_inputs $(sha256sum < "$OUT/lib/libdde.so" | cut -d' ' -f1)" > "$STAMP"
echo "build-aarch64: OK: $OUT/lib/libdde.so.$VERSION $(stat -c %s "$OUT/lib/libdde.so.$VERSION") bytes stripped (needs $glibc or newer), soname $SONAME"
