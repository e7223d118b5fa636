#!/usr/bin/env bash
# Installs the C SDK into a prefix: the library as lib/libdde.so.X.Y.Z with the soname link
# lib/libdde.so.N (what programs load; N = DDE_ABI_VERSION_MAJOR) and the linker's lib/libdde.so ->
# libdde.so.N, include/dde.h, lib/pkgconfig/dde.pc and the CMake package lib/cmake/dde
# (find_package(dde) gives the imported target dde::dde). To deploy only the run-time part, copy
# libdde.so.X.Y.Z and the libdde.so.N link.
#
# The library is the Embedded Swift build of the architecture (scripts/build-embedded.sh), built
# if missing: the one C users get, and the one the wheels ship. build/host (scripts/build-lib.sh:
# the Swift runtime inside, 10 times the size and over the 4 MB resident target) is what the
# Swift package and its tests use; --arch host installs it, for comparison only.
#
#   scripts/install.sh PREFIX                 this machine's architecture (x86_64 here)
#   scripts/install.sh --arch x86_64 PREFIX   the Embedded Swift x86-64 library
#   scripts/install.sh --arch aarch64 PREFIX  the Embedded Swift aarch64 library (Raspberry Pi, 64-bit OS)
#   scripts/install.sh --arch armv7 PREFIX    the Embedded Swift armv7 library (Raspberry Pi, 32-bit OS)
#   scripts/install.sh --arch host PREFIX     build/host, the library with the Swift runtime inside
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
case $(uname -m) in
    x86_64) arch=x86_64 ;;
    aarch64) arch=aarch64 ;;
    armv7l) arch=armv7 ;;
    *) arch=host ;;
esac
if [ "${1:-}" = "--arch" ]; then arch=$2; shift 2; fi
[ $# -eq 1 ] || { echo "usage: scripts/install.sh [--arch x86_64|aarch64|armv7|host] PREFIX" >&2; exit 2; }
mkdir -p "$1"
PREFIX=$(cd "$1" && pwd)

case "$arch" in
    host) "$ROOT/scripts/build-lib.sh" >/dev/null ;;
    x86_64|aarch64|armv7) "$ROOT/scripts/build-embedded.sh" --arch "$arch" >/dev/null ;;
    *) echo "install: --arch is x86_64, aarch64, armv7 or host" >&2; exit 2 ;;
esac

source "$ROOT/scripts/abi.sh"   # VERSION, SONAME, link_chain
mkdir -p "$PREFIX/lib/pkgconfig" "$PREFIX/lib/cmake/dde" "$PREFIX/include"
rm -f "$PREFIX"/lib/libdde.so "$PREFIX"/lib/libdde.so.*
install -m 0755 "$ROOT/build/$arch/lib/libdde.so.$VERSION" "$PREFIX/lib/libdde.so.$VERSION"
link_chain "$PREFIX/lib"
install -m 0644 "$ROOT/include/dde.h" "$PREFIX/include/dde.h"

cat > "$PREFIX/lib/pkgconfig/dde.pc" <<PC
prefix=$PREFIX
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: dde
Description: Verifiable delegated compute for low-power devices
Version: $VERSION
Libs: -L\${libdir} -Wl,-rpath,\${libdir} -ldde
Cflags: -I\${includedir}
PC

cat > "$PREFIX/lib/cmake/dde/ddeConfig.cmake" <<CMAKE
# find_package(dde) for libdde $VERSION: defines the imported target dde::dde. The file is
# lib/libdde.so.$VERSION; programs record its soname, $SONAME (a link beside it).
get_filename_component(_dde_prefix "\${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)
if(NOT TARGET dde::dde)
    add_library(dde::dde SHARED IMPORTED)
    set_target_properties(dde::dde PROPERTIES
        IMPORTED_LOCATION "\${_dde_prefix}/lib/libdde.so.$VERSION"
        IMPORTED_SONAME "$SONAME"
        INTERFACE_INCLUDE_DIRECTORIES "\${_dde_prefix}/include")
endif()
set(dde_FOUND TRUE)
unset(_dde_prefix)
CMAKE

# Compatible: not older than asked, the same major version and, before 1.0 (where a minor release
# may change the ABI, and the soname with it), the same minor.
IFS=. read -r MAJOR MINOR _ <<< "$VERSION"
cat > "$PREFIX/lib/cmake/dde/ddeConfigVersion.cmake" <<CMAKE
set(PACKAGE_VERSION "$VERSION")
set(PACKAGE_VERSION_COMPATIBLE FALSE)
if(NOT PACKAGE_FIND_VERSION VERSION_GREATER PACKAGE_VERSION AND PACKAGE_FIND_VERSION_MAJOR EQUAL $MAJOR
   AND ($MAJOR GREATER 0 OR PACKAGE_FIND_VERSION_MINOR EQUAL $MINOR))
    set(PACKAGE_VERSION_COMPATIBLE TRUE)
    if(PACKAGE_FIND_VERSION STREQUAL PACKAGE_VERSION)
        set(PACKAGE_VERSION_EXACT TRUE)
    endif()
endif()
CMAKE
echo "install: $arch libdde $VERSION ($SONAME) -> $PREFIX"
