#!/usr/bin/env bash
# Installs the Debian 12 packages dde needs: host build (libsodium, SQLite), the broker, the
# aarch64 and armv7 cross builds (cross gcc, arm64 and armhf libsodium/libsqlite3, libmosquitto
# for the MQTT client tests under qemu) and qemu for the cross tests.
# Idempotent and quick when everything is present (no apt-get update then). The Swift 6.3
# toolchain itself is not an apt package: see docs/BUILDING.md.
set -euo pipefail

PACKAGES=(
    libsodium-dev libsqlite3-dev sqlite3 pkg-config cmake make
    mosquitto mosquitto-clients libmosquitto-dev
    gcc g++ binutils python3 python3-venv file
    gcc-aarch64-linux-gnu libc6-dev-arm64-cross binutils-aarch64-linux-gnu qemu-user
    libsodium-dev:arm64 libsqlite3-dev:arm64 libmosquitto1:arm64
    gcc-arm-linux-gnueabihf libc6-dev-armhf-cross binutils-arm-linux-gnueabihf
    libsodium-dev:armhf libsqlite3-dev:armhf libmosquitto1:armhf
)

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

missing=()
for p in "${PACKAGES[@]}"; do installed "$p" || missing+=("$p"); done
if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: all ${#PACKAGES[@]} packages present"
    exit 0
fi

SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "install-deps: installing ${missing[*]}"
# arm64 and armhf packages (libsodium-dev:arm64 ...) need the architectures enabled first.
for arch in arm64 armhf; do
    if ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
        $SUDO dpkg --add-architecture "$arch"
    fi
done
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
for p in "${PACKAGES[@]}"; do
    installed "$p" || { echo "install-deps: FAIL: $p is still not installed" >&2; exit 1; }
done
echo "install-deps: OK"
