#!/usr/bin/env bash
# Installs the C SDK into a prefix: lib/libdde.so, include/dde.h, lib/pkgconfig/dde.pc and the
# CMake package lib/cmake/dde (find_package(dde) gives the imported target dde::dde).
#
#   scripts/install.sh PREFIX                 the host (x86-64) library, built if missing
#   scripts/install.sh --arch aarch64 PREFIX  the Embedded Swift aarch64 library (Raspberry Pi)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
arch=host
if [ "${1:-}" = "--arch" ]; then arch=$2; shift 2; fi
[ $# -eq 1 ] || { echo "usage: scripts/install.sh [--arch host|aarch64] PREFIX" >&2; exit 2; }
mkdir -p "$1"
PREFIX=$(cd "$1" && pwd)

case "$arch" in
    host) "$ROOT/scripts/build-lib.sh" >/dev/null ;;
    aarch64) "$ROOT/scripts/build-aarch64.sh" >/dev/null ;;
    *) echo "install: --arch is host or aarch64" >&2; exit 2 ;;
esac

VERSION=$(sed -n 's/^#define DDE_VERSION_STRING "\(.*\)"/\1/p' "$ROOT/include/dde.h")
mkdir -p "$PREFIX/lib/pkgconfig" "$PREFIX/lib/cmake/dde" "$PREFIX/include"
install -m 0755 "$ROOT/build/$arch/lib/libdde.so" "$PREFIX/lib/libdde.so"
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

cat > "$PREFIX/lib/cmake/dde/ddeConfig.cmake" <<'CMAKE'
# find_package(dde) for libdde: defines the imported target dde::dde.
get_filename_component(_dde_prefix "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)
if(NOT TARGET dde::dde)
    add_library(dde::dde SHARED IMPORTED)
    set_target_properties(dde::dde PROPERTIES
        IMPORTED_LOCATION "${_dde_prefix}/lib/libdde.so"
        IMPORTED_SONAME "libdde.so"
        INTERFACE_INCLUDE_DIRECTORIES "${_dde_prefix}/include")
endif()
set(dde_FOUND TRUE)
unset(_dde_prefix)
CMAKE

cat > "$PREFIX/lib/cmake/dde/ddeConfigVersion.cmake" <<CMAKE
set(PACKAGE_VERSION "$VERSION")
if(PACKAGE_FIND_VERSION VERSION_GREATER PACKAGE_VERSION)
    set(PACKAGE_VERSION_COMPATIBLE FALSE)
else()
    set(PACKAGE_VERSION_COMPATIBLE TRUE)
    if(PACKAGE_FIND_VERSION STREQUAL PACKAGE_VERSION)
        set(PACKAGE_VERSION_EXACT TRUE)
    endif()
endif()
CMAKE
echo "install: $arch libdde $VERSION -> $PREFIX"
