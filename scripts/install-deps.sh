#!/usr/bin/env bash
# Installs the Debian 12 packages dde needs: host build (libsodium, SQLite), the brokers
# (Mosquitto, with openssl for the TLS tests' certificates and ca-certificates for the default
# trust store; RabbitMQ with its MQTT plugin for the clustered-broker test, scripts/rabbitmq.sh),
# the aarch64 and armv7 cross builds (cross gcc, arm64 and armhf libsodium/libsqlite3,
# libmosquitto for the MQTT client tests under qemu) and qemu for the cross tests.
# The tests start their own brokers as the calling user: the system services that the packages
# install are kept from starting (policy-rc.d during the install), and the RabbitMQ service is
# disabled, so no system broker or epmd holds ports (1883, 4369, 5672).
# Idempotent and quick when everything is present (no apt-get update then). The Swift 6.3
# toolchain itself is not an apt package: see docs/BUILDING.md.
set -euo pipefail

PACKAGES=(
    libsodium-dev libsqlite3-dev sqlite3 pkg-config cmake make
    mosquitto mosquitto-clients libmosquitto-dev openssl ca-certificates rabbitmq-server
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
# A failed update stops here (set -e), on purpose: with one architecture's list stale (a mirror
# caught mid-sync, "File has unexpected size") apt resolves the multi-arch versions apart and
# removes libc6-dev, g++ and the rest of the host toolchain to install the arm64/armhf packages.
$SUDO apt-get update -q
# No service starts during the install (invoke-rc.d asks policy-rc.d; 101: not allowed), unless
# the machine already has a policy of its own.
policy=
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod 755 /usr/sbin/policy-rc.d
    policy=/usr/sbin/policy-rc.d
fi
rc=0
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" || rc=$?
[ -z "$policy" ] || $SUDO rm -f "$policy"
[ "$rc" -eq 0 ] || exit "$rc"
# A RabbitMQ installed here stays off after a reboot too where systemd runs (the tests start
# their own nodes; one installed before is left as it was).
if [[ " ${missing[*]} " == *" rabbitmq-server "* ]] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
    $SUDO systemctl disable --now rabbitmq-server.service 2>/dev/null || true
fi
for p in "${PACKAGES[@]}"; do
    installed "$p" || { echo "install-deps: FAIL: $p is still not installed" >&2; exit 1; }
done
echo "install-deps: OK"
