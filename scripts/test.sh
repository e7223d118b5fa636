#!/usr/bin/env bash
# Runs every test of dde, from a clean clone on Debian 12 with the Swift toolchain on PATH:
# installs what it needs, builds once, then runs each suite against the real components
# (SQLite files, libdde.so loaded from C and Python, the aarch64 and armv7 builds under qemu,
# WebAssembly modules, a Mosquitto broker and a two-node RabbitMQ cluster on 127.0.0.1 that the
# tests start themselves).
#
#   scripts/test.sh            everything
#   scripts/test.sh swift c    only the named groups (swift cli guest c crash python adversary cross
#                              fuzz rabbitmq; or DDE_TEST_ONLY="swift c"); the MQTT end-to-end tests
#                              are part of swift (alone: scripts/test-e2e.sh), the RabbitMQ cluster's
#                              are rabbitmq. The sources-of-truth check
#                              (scripts/check-sources-of-truth.sh) runs always.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

case ${1:-} in
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
esac
only=${*:-${DDE_TEST_ONLY:-}}
for name in $only; do
    case $name in
        swift|cli|guest|c|crash|python|adversary|cross|fuzz|rabbitmq) ;;
        *) echo "test.sh: unknown group '$name' (swift cli guest c crash python adversary cross fuzz rabbitmq)" >&2; exit 2 ;;
    esac
done
want() { [ -z "$only" ] || [[ " $only " == *" $1 "* ]]; }

passed=0
failed=0
failures=()
suite() {
    local name=$1; shift
    echo
    echo "==== suite: $name"
    local start=$SECONDS
    if "$@"; then
        passed=$((passed + 1))
        echo "==== suite $name: OK ($((SECONDS - start)) s)"
    else
        failed=$((failed + 1))
        failures+=("$name")
        echo "==== suite $name: FAILED ($((SECONDS - start)) s)"
    fi
}

scripts/install-deps.sh

# Every group, whatever DDE_TEST_ONLY says (well under a second): the copies of abi/dde.abi (status
# codes, versions, sizes and limits in dde.h, Status.swift, ABITable.swift, _abi.py, errors.py,
# the CMake example and the README) agree with it.
suite sources-of-truth scripts/check-sources-of-truth.sh

if want swift; then
    # The Swift unit and component tests: the core (JSON conformance, protocol, verifier, store,
    # reputation, delegation), the executor (WasmKit), and the network end to end (a Mosquitto
    # broker the tests start on 127.0.0.1 and `dde node` processes, hence the dde build first).
    # `swift test` builds with other settings than `swift build --product` (switching recompiles
    # WasmKit and the rest): every suite builds with `swift build --build-tests` (scripts/lib.sh
    # dde_bin), which also makes `dde` and `dde-sim`, and the tests run with --skip-build.
    suite swift bash -c "swift build --build-tests && swift test --skip-build"
fi

if want fuzz; then
    # Every libFuzzer harness with AddressSanitizer for 5 s (docs/FUZZING.md; the long run is
    # scripts/fuzz.sh --long): about 70 s once built, the first build about 2 minutes.
    suite fuzz scripts/fuzz.sh --quick
fi

if want cli; then
    suite cli scripts/test-cli.sh
    # TLS and credentials on MQTT with the broker recipe (examples/broker): mutual TLS, passwords,
    # PSK, the ACL, each failure's message, no secret in any log or process list, the name lookup
    # bounded (about 20 s).
    suite tls scripts/test-tls.sh
fi

if want rabbitmq; then
    # The clustered broker: a two-node RabbitMQ cluster (MQTT plugin) started here, the requester
    # on node 1 and `dde node` executors on node 2; QoS 1 and kept sessions across the nodes,
    # retained messages per node and never through wildcards (docs/NETWORK.md, Brokers):
    # first_valid, quorum(2), discovery without retained presence. 35-40 s once dde is built.
    suite rabbitmq scripts/test-rabbitmq.sh
fi

if want guest; then
    # dApps from source (guest/c, guest/swift): C and Embedded Swift twins of the WAT wallet and
    # hashchain agree with them byte for byte, `dde code check` names refusals, MQTT delegation.
    suite guest scripts/test-guest.sh
fi

if want c || want cross; then
    # The Embedded Swift libdde.so for x86_64, aarch64 and armv7, built once for this run: c-sdk,
    # crossarch, c-api-misuse and the cross delegate suites use them, and their own
    # scripts/build-embedded.sh only checks that each is up to date (the hash of its inputs)
    # instead of building it again.
    source scripts/arch.sh   # CROSS_ARCHES, EMBEDDED_ARCHES
    for arch in $EMBEDDED_ARCHES; do
        suite "$arch-lib" scripts/build-embedded.sh --arch "$arch"
    done
fi

if want c; then
    scripts/build-lib.sh
    suite c-example scripts/test-c-example.sh
    suite c-sdk scripts/test-sdk.sh
    # The C client over MQTT: examples/c/delegate.c against a broker and two dde node processes.
    suite c-delegate scripts/test-c-delegate.sh
fi

if want crash; then
    # A committing child SIGKILLed at random moments, many times; the chain must verify and hold
    # every commit the child reported after every kill.
    suite crash scripts/test-crash.sh
fi

if want python; then
    # The Python package (ctypes over libdde.so), cross-checked against rfc8785 and PyNaCl.
    suite python scripts/test-python.sh
    # The x86-64 wheel (libdde, libsodium and libsqlite3 inside, auditwheel's manylinux tag) in a
    # fresh venv: the same tests with no DDE_LIBRARY, no Swift on PATH, no build tree.
    suite python-wheel scripts/test-wheel.sh
fi

if want adversary; then
    # An executor written from docs/PROTOCOL.md alone (Python, over MQTT) signs consistent lies
    # beside honest `dde node`s: the audited mode never commits one (alone, as two fresh ground
    # identities, against a pinned executor) and the evidence names the liar.
    suite adversary scripts/test-adversary.sh
    # The Byzantine simulation's quick preset (dde-sim --quick) twice with one seed: the table
    # reproduces, quorum(2) forges nothing against non-colluding liars, no honest executor is
    # blacklisted, the audited mode stays under its target.
    suite sim scripts/test-sim.sh
fi

if want cross; then
    # The same C program on the host library and on the Embedded Swift ones (x86_64; aarch64 and
    # armv7 under qemu-aarch64 and qemu-arm): byte-identical output required.
    suite crossarch scripts/test-crossarch.sh
    # Hostile arguments to every exported function, on every build.
    suite c-api-misuse scripts/test-capi-misuse.sh
    # The C client over MQTT on the aarch64 and armv7 libdde.so under qemu (a Pi, 64-bit or
    # 32-bit OS, against x86-64 nodes).
    for arch in $CROSS_ARCHES; do
        suite "$arch-delegate" scripts/test-c-delegate.sh --arch "$arch"
    done
    # The aarch64 and armv7 wheels in Debian's Python of that architecture under qemu: a task
    # created, an x86-64 executor's result verified, a forged one refused, a commit.
    for arch in $CROSS_ARCHES; do
        suite "$arch-wheel" scripts/test-wheel.sh --arch "$arch"
    done
fi

echo
echo "==== failed suites: ${failures[*]:-none}"
echo "suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
