#!/usr/bin/env bash
# Builds libdde.so with Embedded Swift (no Swift runtime: the stdlib it uses is compiled in):
#   scripts/build-embedded.sh --arch aarch64   Raspberry Pi 3/4/5, Zero 2 W on a 64-bit OS (arm64)
#   scripts/build-embedded.sh --arch armv7     the same Pis and the Pi 2 on a 32-bit OS: Debian's
#                                              armhf ABI (armv7-a, VFPv3-D16, Thumb-2, hard float)
#   scripts/build-embedded.sh --arch x86_64    this machine: a 0.7 MB alternative to build/host's
#                                              7 MB library with the Swift runtime inside
# There is no Linux Swift SDK for these here, but the toolchain ships an embedded stdlib for
# aarch64-none-none-elf and armv7-none-none-eabi: the whole core (Sources/DDE, C API included) is
# compiled as one module against it, and GNU's cross gcc compiles the C shim and links everything
# against Debian's libc, libsodium and libsqlite3 of that architecture. Output:
#   build/ARCH/lib/libdde.so.X.Y.Z  stripped, only dde_* exported, soname libdde.so.N (DDE_SONAME)
#   build/ARCH/lib/libdde.so.N      -> libdde.so.X.Y.Z;  libdde.so -> libdde.so.N
#   build/ARCH/include/dde.h
# A library built from the same inputs is not built again: build/ARCH/inputs.sha256 records the
# hash of every input (the sources, the C shim, the version script, this script, the compilers'
# versions, the libraries it links) and of the library made from them; when both still match,
# this says "up to date" and stops. So a test run builds it once, however many suites ask
# (rm -rf build/ARCH forces a build). See docs/BUILDING.md, which says why each flag.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

source "$ROOT/scripts/arch.sh"   # cross_arch: the flags of each architecture's ABI
usage() { echo "usage: scripts/build-embedded.sh --arch x86_64|aarch64|armv7" >&2; exit 2; }
[ "${1:-}" = --arch ] && [ $# -eq 2 ] || usage
ARCH=$2
cross_arch "$ARCH" || usage
OUT=$ROOT/build/$ARCH
OBJ=$OUT/obj
CC=${CROSS_CC:-$GNU-gcc}
STRIP=${CROSS_STRIP:-$GNU-strip}
source "$ROOT/scripts/abi.sh"   # VERSION, SONAME, after checking the generated copies of abi/dde.abi

SWIFTC=${SWIFTC:-$(command -v swiftc || true)}
[ -x "$SWIFTC" ] || { echo "build-embedded: FAIL: swiftc not found (Swift 6.3 toolchain on PATH)" >&2; exit 1; }
command -v "$CC" >/dev/null || { echo "build-embedded: FAIL: $CC not found (scripts/install-deps.sh)" >&2; exit 1; }
# The embedded stdlib lives in the toolchain next to the regular one: <root>/usr/lib/swift/embedded.
TOOLCHAIN_ROOT=$(cd "$(dirname "$(readlink -f "$SWIFTC")")/../.." && pwd)
EMBEDDED_MODULE=$TOOLCHAIN_ROOT/usr/lib/swift/embedded/Swift.swiftmodule/$SWIFT_TARGET.swiftmodule
[ -f "$EMBEDDED_MODULE" ] || { echo "build-embedded: FAIL: $EMBEDDED_MODULE missing (toolchain without the embedded $SWIFT_TARGET stdlib)" >&2; exit 1; }
for lib in libsodium.so libsqlite3.so; do
    [ -e "$CROSS_LIBDIR/$lib" ] || { echo "build-embedded: FAIL: $CROSS_LIBDIR/$lib missing: apt install libsodium-dev:$DEB_ARCH libsqlite3-dev:$DEB_ARCH (scripts/install-deps.sh)" >&2; exit 1; }
done

# Everything the library is made from, hashed: file contents (with their names), the tools'
# versions, the packages of the headers and libraries. Any change means a build.
STAMP=$OUT/inputs.sha256
inputs_hash() {
    {
        echo "arch $ARCH"
        find Sources/DDE -name '*.swift' | LC_ALL=C sort | xargs -d '\n' sha256sum
        sha256sum Sources/CDDE/*.c Sources/CDDE/include/* scripts/embedded/* cmake/libdde.map include/dde.h \
            scripts/build-embedded.sh scripts/arch.sh scripts/check-lib.sh
        "$SWIFTC" --version 2>&1
        "$CC" --version | head -n 1
        "$STRIP" --version | head -n 1
        stat -L -c '%n %s %Y' "$EMBEDDED_MODULE"
        # The headers and libraries it compiles and links against (dpkg knows their versions).
        dpkg-query -W -f '${binary:Package} ${Version}\n' "libc6-dev-$DEB_ARCH-cross" libc6-dev libsodium-dev \
            "libsodium-dev:$DEB_ARCH" libsqlite3-dev "libsqlite3-dev:$DEB_ARCH" 2>/dev/null || true
        stat -L -c '%n %s %Y' "$CROSS_LIBDIR/libsodium.so" "$CROSS_LIBDIR/libsqlite3.so"
    } | sha256sum | cut -d' ' -f1
}
want_inputs=$(inputs_hash)
if [ -f "$STAMP" ] && [ -f "$OUT/lib/libdde.so" ] && [ -f "$OUT/include/dde.h" ] &&
   [ "$(cat "$STAMP")" = "$want_inputs $(sha256sum < "$OUT/lib/libdde.so" | cut -d' ' -f1)" ] &&
   cmp -s include/dde.h "$OUT/include/dde.h"; then
    echo "build-embedded: up to date: $OUT/lib/libdde.so (built from these inputs; $STAMP)"
    exit 0
fi

rm -rf "$OBJ"
rm -f "$STAMP"
mkdir -p "$OBJ" "$OUT/lib" "$OUT/include"

echo "build-embedded: swiftc (Embedded, $SWIFT_TARGET, -Osize) Sources/DDE"
# SWIFT_INCLUDE_FLAGS (arch.sh): the cross libc's headers first, /usr/include after them only
# for the architecture-independent sodium.h and sqlite3.h. The __INT64_C redefinition warnings
# this produces are harmless and filtered out. -function-sections: one section per function, so that
# --gc-sections below drops every public function the C API does not reach (the CLI's helpers).
# The -Xllvm flags trade a little speed for size (docs/BUILDING.md has the bytes each saves):
# no closure specialisation (a copy of a function per closure literal passed to it), and traps
# that LLVM may merge: the runtime checks of a function (an overflow, an index out of range) may
# share one trap instruction, still a trap, but a crash report then names the function rather
# than the check; and the SIL inliner's caller benefit divided by 4 instead of 2 (less inlining:
# 9 KB less, and callgrind counts no more instructions per dde_verify or dde_task_create). The
# machine outliner's flags differ by architecture (SWIFT_ARCH_FLAGS in scripts/arch.sh): on
# aarch64 it also runs over the specialised generics (linkonce_odr, which it skips by default)
# and twice; on armv7 once, over ordinary functions only.
SIZE_FLAGS=(-Xllvm -sil-disable-pass=closure-specialize -Xfrontend -mergeable-traps
            -Xfrontend -sil-inline-caller-benefit-reduction-factor -Xfrontend 4)
find Sources/DDE -name '*.swift' | LC_ALL=C sort > "$OBJ/sources.txt"
set +e
"$SWIFTC" -target "$SWIFT_TARGET" -enable-experimental-feature Embedded \
    -wmo -parse-as-library -Osize -module-name DDE -Xfrontend -function-sections \
    "${SIZE_FLAGS[@]}" "${SWIFT_ARCH_FLAGS[@]}" \
    -I Sources/CDDE/include "${SWIFT_INCLUDE_FLAGS[@]}" \
    -c $(cat "$OBJ/sources.txt") -o "$OBJ/DDE.o" 2> "$OBJ/swiftc.log"
rc=$?
set -e
# Show everything except the known-harmless macro redefinition notes.
grep -v -E '__U?INT(8|16|32|64|MAX)_(C|MAX|FMT)|previous definition is here|^[0-9 ]+\||^ *\||^ *`-|^<built-in>' "$OBJ/swiftc.log" >&2 || true
[ $rc -eq 0 ] || { echo "build-embedded: FAIL: swiftc exited $rc (full log: $OBJ/swiftc.log)" >&2; exit 1; }

echo "build-embedded: $CC the C shim"
# -Os: nothing in the shim is hot (the MQTT thread waits on the network), 1.8 KB less than -O2.
CFLAGS="-fPIC -Os -Wall -Wextra -fstack-protector-strong -D_FORTIFY_SOURCE=2 -ffunction-sections -fdata-sections"
for c in Sources/CDDE/*.c scripts/embedded/embedded-support.c; do
    "$CC" $CFLAGS "${C_ARCH_FLAGS[@]}" -I Sources/CDDE/include -c "$c" -o "$OBJ/$(basename "${c%.c}").c.o"
done

# The functions a verification runs first in .text (scripts/embedded/hot-functions.txt, made by
# scripts/gen-hot-functions.sh), then every function the machine outliner made (their numbers
# change with the code, so they cannot be listed; all of them together are about 40 KB): a
# process that verifies touches two or three 64 KiB windows of the library's code, not all of it.
HOT=scripts/embedded/hot-functions.txt
grep -v '^#' "$HOT" > "$OBJ/hot.txt" || true
"$GNU-nm" --defined-only "$OBJ/DDE.o" "$OBJ"/*.c.o | awk 'NF == 3 { print $3 }' | LC_ALL=C sort -u > "$OBJ/defined.txt"
{ cat "$OBJ/hot.txt"; grep '^OUTLINED_FUNCTION_' "$OBJ/defined.txt" || true; } > "$OBJ/symbol-order.txt"
hot_listed=$(wc -l < "$OBJ/hot.txt")
hot_found=$(LC_ALL=C sort -u "$OBJ/hot.txt" | LC_ALL=C comm -12 - "$OBJ/defined.txt" | wc -l)

echo "build-embedded: $CC -shared libdde.so (ld.lld; $hot_found of the $hot_listed hot functions listed are here)"
# Linked by the toolchain's lld (through -B, a folder whose `ld` is ld.lld: gcc 12 has no
# --ld-path): GNU ld 2.40 pads the file so that RELRO ends on a 64 KB boundary, which made the
# size jump in 64 KB steps (595,368 bytes for what lld writes in 554,016); lld aligns segments
# in memory as well (any page size up to 64 KB loads it) without padding the file.
mkdir -p "$OBJ/lld"
ln -sfn "$TOOLCHAIN_ROOT/usr/bin/ld.lld" "$OBJ/lld/ld"
# No libswiftUnicodeDataTables.a: with function sections, nothing the C API reaches normalises
# Unicode (docs/BUILDING.md); should a change need it, --no-undefined fails the link on the
# missing _swift_stdlib_* symbol instead of a load failing on the Pi.
"$CC" -B"$OBJ/lld/" -shared -o "$OBJ/libdde.so" \
    -Wl,-soname,"$SONAME" \
    "$OBJ/DDE.o" "$OBJ"/*.c.o \
    -L"$CROSS_LIBDIR" -lsodium -lsqlite3 "${LINK_ARCH_LIBS[@]}" \
    -Wl,--version-script="$ROOT/cmake/libdde.map" \
    -Wl,--no-undefined -Wl,--gc-sections -Wl,-z,relro -Wl,-z,now -Wl,-z,noexecstack \
    -Wl,--symbol-ordering-file="$OBJ/symbol-order.txt" -Wl,--no-warn-symbol-ordering \
    -Wl,-T,"$ROOT/scripts/embedded/hot-first.ld" \
    2> "$OBJ/link.log" || {
    cat "$OBJ/link.log" >&2
    if grep -q '_swift_stdlib_get\(NormData\|Composition\|Decomposition\)' "$OBJ/link.log"; then
        echo "build-embedded: FAIL: the core now normalises Unicode: a String comparison (==, !=, hasPrefix, a switch on a String) in Sources/DDE; compare bytes with sameScalars instead (docs/BUILDING.md)" >&2
    fi
    exit 1
}

install_lib_chain "$OUT/lib" "$STRIP" "$OBJ/libdde.so"
cp include/dde.h "$OUT/include/dde.h"

"$ROOT/scripts/check-lib.sh" "$OUT/lib/libdde.so.$VERSION" "$GNU-nm" "$GNU-readelf" "$SONAME"
# Newest glibc symbol version the library asks for: the Pi's glibc must be at least this.
glibc=$("$GNU-objdump" -T "$OUT/lib/libdde.so.$VERSION" | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -n1)
echo "$want_inputs $(sha256sum < "$OUT/lib/libdde.so" | cut -d' ' -f1)" > "$STAMP"
echo "build-embedded: OK: $OUT/lib/libdde.so.$VERSION $(stat -c %s "$OUT/lib/libdde.so.$VERSION") bytes stripped ($ARCH, needs $glibc or newer), soname $SONAME"
