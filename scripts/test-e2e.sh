#!/usr/bin/env bash
# End-to-end tests of the peer network: a Mosquitto broker on 127.0.0.1 (scripts/broker.sh: a
# free port, its own config and persistence folder), `dde node` executor processes, and a
# requester (the core Delegator over MQTTTransport) in the test process. Builds `dde` and the
# tests, runs the DDEMQTTTests target (Tests/DDEMQTTTests), prints "N passed, N failed" and exits
# non-zero on any failure. Every process the tests start is stopped by the tests; anything left in this
# script's process group (a crashed test's children) is killed on exit.
#
#   scripts/test-e2e.sh                 all of DDEMQTTTests
#   scripts/test-e2e.sh NodeEndToEnd    only tests whose name matches
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
filter=${1:-DDEMQTTTests}

for tool in /usr/sbin/mosquitto /usr/bin/mosquitto_pub; do
    [ -x "$tool" ] || { echo "test-e2e: FAIL: $tool missing: apt install mosquitto mosquitto-clients libmosquitto1" >&2; exit 1; }
done

echo "test-e2e: swift build --build-tests (dde with the tests, one build mode), then the tests"
swift build --build-tests

log=$(mktemp)
cleanup() {
    # The test process and its children (brokers, nodes) run in their own process group.
    if [ -n "${pid:-}" ]; then kill -TERM -- "-$pid" 2>/dev/null || true; fi
    rm -f "$log"
}
trap cleanup EXIT

set +e
set -m   # the test run gets its own process group, so cleanup can reach all of it
DDE_BIN="$(swift build --show-bin-path)/dde" timeout 900 swift test --skip-build --filter "$filter" > "$log" 2>&1 &
pid=$!
set +m
wait "$pid"
rc=$?
pid=
set -e

grep -E "^Test Case .*(passed|failed)|error:|^---- |^node-|^[a-z]+: " "$log" | grep -v "^\[" || true
passed=$(grep -cE "^Test Case '.*' passed" "$log" || true)
failed=$(grep -cE "^Test Case '.*' failed" "$log" || true)
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
    if [ "$rc" -eq 124 ]; then
        echo "test-e2e: gave up after 900 s waiting for swift test to finish; last lines:" >&2
    else
        echo "test-e2e: swift test exited $rc without a failed test case (a crash?); last lines:" >&2
    fi
    tail -n 30 "$log" >&2
    failed=$((failed + 1))
fi
if [ "$passed" -eq 0 ] && [ "$failed" -eq 0 ]; then
    echo "test-e2e: no test matched '$filter'" >&2
    failed=1
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
