#!/usr/bin/env bash
# examples/c/delegate.c (the C client over MQTT, dde_client_new_mqtt_v2 with no options) against the built
# libdde.so, a Mosquitto broker on 127.0.0.1 (a free port) and two `dde node` processes, all
# started here and stopped at the end (every process is bounded by `timeout`). Checks: it builds
# with -Werror; a key is created when absent and reused after; three tasks are committed with the
# right counts and verdicts, the chain head and the verified chain are printed; `dde chain verify`
# agrees; the next run continues the chain; no executor left (nodes stopped) gives
# DDE_ERR_NO_EXECUTOR; a broker that is not there gives DDE_ERR_TRANSPORT; a malformed URL gives
# DDE_ERR_ARGUMENT and creates no store. Prints 'N passed, N failed'; exits non-zero on failure.
#
#   scripts/test-c-delegate.sh                 the x86-64 libdde.so (build/host)
#   scripts/test-c-delegate.sh --arch aarch64  the same checks with the client cross-compiled
#   scripts/test-c-delegate.sh --arch armv7    against the Embedded Swift libdde.so of that
#                                              architecture (build/ARCH) and run under qemu-aarch64
#                                              or qemu-arm (libmosquitto1 of that architecture
#                                              from apt); the broker and the nodes stay x86-64,
#                                              as a Raspberry Pi would meet them on the network
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/scripts/lib.sh"
source "$ROOT/scripts/arch.sh"
ARCH=host
if [ $# -gt 0 ]; then
    [ "$1" = --arch ] && [ $# -eq 2 ] || { echo "usage: scripts/test-c-delegate.sh [--arch aarch64|armv7]" >&2; exit 2; }
    ARCH=$2
fi
if [ "$ARCH" != host ]; then
    cross_arch "$ARCH" || exit 2
    if [ "${DDE_NO_BUILD:-0}" != 1 ]; then "$ROOT/scripts/build-embedded.sh" --arch "$ARCH" >/dev/null; fi
    [ -f "$ROOT/build/$ARCH/lib/libdde.so" ] || { echo "test-c-delegate: FAIL: build/$ARCH/lib/libdde.so missing (scripts/build-embedded.sh --arch $ARCH)" >&2; exit 1; }
    [ -e "$CROSS_LOADER" ] || { echo "test-c-delegate: FAIL: no $CROSS_LOADER: apt install libc6:$DEB_ARCH (scripts/install-deps.sh)" >&2; exit 1; }
    [ -e "$CROSS_LIBDIR/libmosquitto.so.1" ] || { echo "test-c-delegate: FAIL: no $DEB_ARCH libmosquitto.so.1: apt install libmosquitto1:$DEB_ARCH (scripts/install-deps.sh)" >&2; exit 1; }
    LIBDIR=$ROOT/build/$ARCH
    CC="$GNU-gcc ${C_ARCH_FLAGS[*]} -Wl,-rpath-link,$CROSS_LIBDIR"
    # Debian's loader and libc of that architecture (libc6:DEB_ARCH, $CROSS_LOADER), not the
    # cross sysroot's: its ld.so is another glibc build than $CROSS_LIBDIR's libc.so.6, and that
    # mix spins forever in the first pthread_create (libmosquitto's network thread).
    RUN="$QEMU -E LD_LIBRARY_PATH=$LIBDIR/lib"
else
    ensure_lib
    LIBDIR=$ROOT/build/host
    CC=cc
    RUN=
fi
DDE=$(dde_bin)
W=$(mktemp -d)
PIDS=()
cleanup() {
    # The broker last: on SIGTERM a node clears its presence through it.
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    stop_broker
    rm -rf "$W"
}
trap cleanup EXIT
cd "$W"
export LD_LIBRARY_PATH=$ROOT/build/host/lib

check "builds with -Wall -Werror ($ARCH)" $CC -std=c99 -Wall -Wextra -Werror -I"$LIBDIR/include" \
    "$ROOT/examples/c/delegate.c" -L"$LIBDIR/lib" -ldde -o delegate
hash=$(DDE_CODE_DIR=$W/code "$DDE" code add "$ROOT/examples/dapps/counter.wat")
cp "code/$hash.wasm" counter.wasm

# The broker (scripts/broker.sh): a free port, no persistence, TCP_NODELAY.
start_broker "$W"
URL=$BROKER_URL
port=$BROKER_PORT

# Two executor nodes (no code preloaded: they fetch it by hash from the broker).
NODES=()
for name in alpha bravo; do
    "$DDE" keygen -o "$name.key" >/dev/null
    timeout 300 "$DDE" node --broker "$URL" --key "$name.key" --code "code-$name" --name "$name" 2> "$name.log" &
    PIDS+=($!)
    NODES+=($!)
done
wait_for_log alpha.log ready 30
wait_for_log bravo.log ready 30

check "three tasks committed (first_valid), exit 0" bash -c "timeout 60 $RUN ./delegate '$URL' r.db r.key counter.wasm 3 > run1.txt 2>&1"
cat run1.txt | sed 's/^/     | /' | head -40
check "the key was created (mode 0600)" bash -c "grep -q '^created key r.key' run1.txt && [ \"\$(stat -c %a r.key)\" = 600 ]"
check "both executors known" grep -q "^2 executor(s) on $URL" run1.txt
check "every task DDE_OK" bash -c "[ \$(grep -c '^task [0-9]*: DDE_OK' run1.txt) -eq 3 ]"
check "one accepted verdict per task, with a latency" bash -c "[ \$(grep -cE '^  executor [0-9a-f]{8}  accepted +[0-9]+ ms  DDE_OK' run1.txt) -eq 3 ]"
check "the counts are 1, 2, 3" bash -c "grep -q 'result {\"count\":1}' run1.txt && grep -q 'result {\"count\":2}' run1.txt && grep -q 'result {\"count\":3}' run1.txt"
check "the receipts are printed" bash -c "[ \$(grep -c '^  receipt {\"action\":\"increment\"' run1.txt) -eq 3 ]"
check "chain head: 3 receipts" grep -qE '^chain head: 3 receipts, last [0-9a-f]{64}, state root [0-9a-f]{64}$' run1.txt
check "chain verified by the example" grep -q '^chain verified: 3 receipts' run1.txt
check "dde chain verify agrees" "$DDE" chain verify --store r.db
head=$(sed -n 's/^chain head: 3 receipts, last \([0-9a-f]*\),.*/\1/p' run1.txt)
check "the head is the last receipt dde chain verify reports" bash -c "'$DDE' chain verify --store r.db 2>&1 | grep -q '$head'"

check "a second run reuses the key and continues the chain" bash -c "timeout 60 $RUN ./delegate '$URL' r.db r.key counter.wasm > run2.txt 2>&1 && ! grep -q 'created key' run2.txt && grep -q 'result {\"count\":4}' run2.txt && grep -q '^chain head: 4 receipts' run2.txt"

# The nodes stop (SIGTERM: they clear their presence and exit 0); nobody is left to ask.
for pid in "${NODES[@]}"; do kill -TERM "$pid"; done
node_rc=0
for pid in "${NODES[@]}"; do wait "$pid" || node_rc=$?; done
check "the nodes exit 0 on SIGTERM" [ "$node_rc" -eq 0 ]
check_exit "no executor left: DDE_ERR_NO_EXECUTOR" 105 timeout 60 $RUN ./delegate "$URL" r.db r.key counter.wasm
check "the chain is unchanged" bash -c "'$DDE' chain verify --store r.db 2>&1 | grep -q '4 receipts'"

closed=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
check_exit "no broker there: DDE_ERR_TRANSPORT" 100 timeout 60 $RUN ./delegate "mqtt://127.0.0.1:$closed" r.db r.key counter.wasm
check_exit "malformed URL: DDE_ERR_ARGUMENT" 1 timeout 60 $RUN ./delegate "http://127.0.0.1:$port" fresh.db r.key counter.wasm
check "a malformed URL creates no store" [ ! -e fresh.db ]
finish
