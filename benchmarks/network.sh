#!/usr/bin/env bash
# Network suite (scripts/bench.sh network): delegation over a local Mosquitto broker beside the
# raw MQTT floor on the same broker.
#   floor       benchmarks/mqtt_echo.c: a QoS-1 request and reply between two libmosquitto
#               clients, TCP_NODELAY on both and on the broker, nothing else; the pinger runs its
#               own loop (also shown: the pinger on libmosquitto's thread, the floor until 2026-12-05);
#               then the same at a delegation's pace ("paced": the echo works as long as the
#               executor's raw steps before replying, the pinger sleeps as long as the raw durable
#               transaction and works as long as its other raw steps between round trips), whose
#               messages find broker and receivers asleep as a delegation's do
#   delegation  `dde-bench-network` (benchmarks/Sources): sequential delegations of the counter
#               dApp (create + sign, publish, execute on a `dde node` process, reply, verify, SQLite
#               commit), with 1 and with 3 executor processes, each beside its protocol floor:
#               the MQTT floor (back to back, and paced) + the executors' own execution time (their log lines) + raw
#               Ed25519 signs and verifies + (protocol v2) the task's state and proof read with
#               raw SELECTs and the proof's SHA-256s on the executor and in check 8 + one raw
#               durable SQLite transaction (the commit's rows, tree rows included) + (session 9) the
#               signed objects' SHA-256s at their real lengths, measured in
#               the same run (RawFloor)
#   raw         the protocol floor measured as one delegation instead of a sum: the 1-executor
#               row's mandated steps done raw and in order by a raw requester (in dde-bench-network,
#               alternating with its delegations) and a raw executor process (`dde-bench-network
#               raw-execute`) through the same broker (RawDelegation.swift: libsodium, sqlite3_* on
#               the commit's real rows, dde's C MQTT shim, the task run in dde's sandbox), timed
#               end to end
#   trace       the 1-executor row (and its raw delegations) run with DDE_TRACE set:
#               benchmarks/trace.py merges the latency probes of the requester and the executors
#               into a p50 per step, and sets dde's phases beside the raw delegation's (what dde
#               takes beyond the raw steps)
# Every row runs the profiling build (release, -Xcc -DDDE_TRACE, scratch .build-profile): the
# probes are compiled only into it (Sources/CDDE/include/cdde.h), and without DDE_TRACE in the
# environment each costs one branch. DDE_NO_BUILD=1 skips that build (of dde and dde-bench-network).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
source scripts/lib.sh
WORK=$ROOT/build/bench/network
rm -rf "$WORK"
mkdir -p "$WORK"
COUNT=${DDE_BENCH_COUNT:-300}

PROFILE=(-c release --scratch-path "$ROOT/.build-profile" -Xcc -DDDE_TRACE)
if [ "${DDE_NO_BUILD:-0}" != 1 ] && [ -z "${DDE_BENCH_BIN:-}" ]; then
    for product in dde dde-bench-network; do
        swift build "${PROFILE[@]}" --product "$product" >> "$WORK/build.log" 2>&1 || { tail -n 20 "$WORK/build.log" >&2; exit 1; }
    done
fi
# DDE_BENCH_BIN=dir runs the dde and dde-bench-network found there instead (A/B comparisons of
# two builds; implies DDE_NO_BUILD). Its dde-bench-network must have `raw-execute` and
# `--raw-port` (since 2026-12-06): for an older build, copy in this tree's dde-bench-network.
BIN=${DDE_BENCH_BIN:-$(swift build "${PROFILE[@]}" --show-bin-path)}
DDE=$BIN/dde
for tool in "$DDE" "$BIN/dde-bench-network"; do
    [ -x "$tool" ] || { echo "bench network: FAIL: $tool missing (swift build ${PROFILE[*]} --product $(basename "$tool"))" >&2; exit 1; }
done
gcc -O2 -Wall -Wextra -Werror -std=gnu11 benchmarks/mqtt_echo.c -lmosquitto -lpthread -o "$WORK/mqtt_echo"

pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    stop_broker
}
trap cleanup EXIT

# The broker every suite uses (scripts/broker.sh through start_broker): a free port, TCP_NODELAY.
BROKER_LIFETIME=3600 start_broker "$WORK"
PORT=$BROKER_PORT
BROKER=$BROKER_URL

floor=$("$WORK/mqtt_echo" "$PORT" 2000 1024 1536)
# For comparison only: the pinger on libmosquitto's own network thread, the floor until 2026-12-05.
threaded=$("$WORK/mqtt_echo" "$PORT" 2000 1024 1536 threaded)

nodes=()
start_nodes() {
    local n=$1
    for i in $(seq 1 "$n"); do
        "$DDE" keygen -o "$WORK/node$i.key" --force > /dev/null
        touch "$WORK/node$i.log"  # mark reads it at once; the node's redirection may come later
        "$DDE" node --broker "$BROKER" --key "$WORK/node$i.key" --code "$WORK/code$i" \
            --preload examples/dapps/counter.wat --name "node$i" 2>> "$WORK/node$i.log" &
        pids+=($!)
        nodes+=($!)
    done
}
stop_nodes() {
    for p in "${nodes[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${nodes[@]}"; do wait "$p" 2>/dev/null || true; done
    nodes=()
}
# DDE_BENCH_STORE_DIR puts the requester's store elsewhere (e.g. /dev/shm: no fsync cost).
STORE_DIR=${DDE_BENCH_STORE_DIR:-$WORK}
mkdir -p "$STORE_DIR"
run() { "$BIN/dde-bench-network" --broker "$BROKER" --code examples/dapps/counter.wat --workdir "$STORE_DIR" --count "$COUNT" "$@"; }
# The executors' own time per task ("executed in N us" in their log lines) during one run: the
# median over every node's lines written since `mark`.
mark() { cat "$WORK"/node*.log 2>/dev/null | wc -l; }
execution_us() {
    cat "$WORK"/node*.log | tail -n +"$(( $1 + 1 ))" | sed -n 's/.*executed in \([0-9]*\) us.*/\1/p' \
        | sort -n | awk '{ v[NR] = $1 } END { print (NR ? v[int((NR + 1) / 2)] : 0) }'
}

# The 1-executor row also records the latency probes of both processes (benchmarks/trace.py), and
# alternates its delegations with raw ones (the protocol floor as one delegation,
# RawDelegation.swift) against a raw executor process, probed too; the raw executor exits when the
# requester is done, writing its probes.
mkdir -p "$WORK/trace"
export DDE_TRACE=$WORK/trace/run
"$BIN/dde-bench-network" raw-execute --port "$PORT" --code examples/dapps/counter.wat &
rawexec=$!
pids+=("$rawexec")
start_nodes 1
m=$(mark); one=$(run --executors 1 --raw-port "$PORT"); one_ex=$(execution_us "$m")
stop_nodes
wait "$rawexec" || { echo "bench network: FAIL: the raw executor (dde-bench-network raw-execute) failed" >&2; exit 1; }
unset DDE_TRACE
# The MQTT floor at the pace of a delegation (mqtt_echo.c, "paced"): the echo works as long as
# the executor's raw steps take (its run, the task's check) before it replies; the pinger sleeps
# as long as the raw durable transaction takes (a requester waits for its fsync) and works as
# long as its other raw steps take (state read, task and receipt signatures, the result's check,
# the proof hashes) before the next request. All from the 1-executor row just measured.
pace=$(python3 benchmarks/protocol_floor.py pace "$one" "$one_ex")
# shellcheck disable=SC2086  # three numbers
paced=$("$WORK/mqtt_echo" "$PORT" 2000 1024 1536 paced $pace)
start_nodes 3
m=$(mark); three=$(run --executors 3); three_ex=$(execution_us "$m")
m=$(mark); quorum=$(run --executors 3 --mode quorum --k 2); quorum_ex=$(execution_us "$m")
stop_nodes

PYTHONPATH="$ROOT/benchmarks" python3 - "$floor" "$one" "$one_ex" "$three" "$three_ex" "$quorum" "$quorum_ex" "$threaded" "$paced" "$pace" <<'PY'
import json, sys
import protocol_floor
floor = json.loads(sys.argv[1])
rows = [(json.loads(sys.argv[i]), float(sys.argv[i + 1])) for i in (2, 4, 6)]
threaded = json.loads(sys.argv[8])
paced = json.loads(sys.argv[9])
serve, idle, busy = sys.argv[10].split()
f50 = floor["p50_us"]
p50 = paced["p50_us"]
print(f"broker: Mosquitto on 127.0.0.1, set_tcp_nodelay; {rows[0][0]['count']} timed delegations per row after 20 untimed")
print()
print("| what | p50 | p99 | per second | execution (executor's, p50) | protocol floor, round trips back to back | p50 / it | protocol floor, round trip at a delegation's pace | p50 / it | protocol floor as a raw delegation | p50 / it |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
print(f"| raw MQTT QoS-1 request + reply (1 KiB / 1.5 KiB), back to back: MQTT floor | {f50:.0f} us | {floor['p99_us']:.0f} us | {1e6 / floor['mean_us']:.0f} | - | - | - | - | - | - | - |")
print(f"| the same at a delegation's pace (echo works {serve} us before replying; pinger sleeps {idle} us, works {busy} us): paced MQTT floor | {p50:.0f} us | {paced['p99_us']:.0f} us | - | - | - | - | - | - | - | - |")
print(f"| (back to back, pinger on libmosquitto's network thread: not a floor) | {threaded['p50_us']:.0f} us | {threaded['p99_us']:.0f} us | {1e6 / threaded['mean_us']:.0f} | - | - | - | - | - | - | - |")
one = rows[0][0]
raw = one["rawDelegationP50Us"]
print(f"| raw delegation: the 1-executor row's mandated steps done raw, in order, by two processes, alternating with its delegations (RawDelegation.swift; its durable transaction {one['rawDelegationTransactionP50Us']:.0f} us) | {raw:.0f} us | {one['rawDelegationP99Us']:.0f} us | - | (dde's sandbox) | - | - | - | - | - | - |")
position = (f"by position in each pair (each kind first in half the pairs): dde {one['ddeFirstP50Us']:.0f} us first, {one['ddeSecondP50Us']:.0f} us second; "
            f"raw {one['rawDelegationFirstP50Us']:.0f} us first, {one['rawDelegationSecondP50Us']:.0f} us second; "
            f"median of the {one['rawDelegationCount']:.0f} pairs' ratios (dde / raw): {one['pairRatioP50']:.2f}x")
notes = []
for r, ex in rows:
    label = f"delegation, counter dApp, {r['executors']} executor{'s' if r['executors'] > 1 else ''}, {r['mode']}"
    k = r["needed"]  # results the requester verifies before it commits
    # What no implementation of the protocol can skip, each measured raw in this run: the MQTT
    # round trip, the executor's run (its sandbox, proof and signature), signing the task,
    # verifying it on the executor, verifying k results, signing the receipt, one durable
    # SQLite transaction writing the commit's rows.
    # Protocol v2 adds: reading the task's state and proof (raw SELECTs), the executor's check of
    # the proof and the requester's next root from it (check 8), as raw SHA-256s, and the tree
    # rows in the transaction (in rawCommitP50Us). Since session 9: the signed objects' own
    # SHA-256s at their real lengths (task id, inputHash, proof, result, stateWrites, receipt).
    steps = sum(protocol_floor.parts(r, ex))
    notes.append(f"{label}: MQTT + {ex:.0f} execution + 2 x {r['rawSignUs']:.1f} sign + {1 + k} x "
                 f"{r['rawVerifyUs']:.1f} verify + {r['rawReadP50Us']:.1f} state and proof read + {r['proofHashes']:.0f} x "
                 f"{r['rawSha256Us']:.2f} proof SHA-256 + {r['rawSignedHashesUs']:.1f} signed objects' SHA-256 ({r['signedHashes']:.0f}, {r['signedHashBytes']:.0f} bytes) + {r['rawCommitP50Us']:.0f} durable SQLite transaction = "
                 f"{steps:.0f} us + MQTT ({f50:.0f} back to back: {f50 + steps:.0f} us; {p50:.0f} paced: {p50 + steps:.0f} us)")
    as_raw = f"{raw:.0f} us | {r['p50Us'] / raw:.2f}x" if r is one else "- | -"
    print(f"| {label} | {r['p50Us']:.0f} us | {r['p99Us']:.0f} us | {r['tasksPerSecond']:.0f} | {ex:.0f} us | "
          f"{f50 + steps:.0f} us | {r['p50Us'] / (f50 + steps):.2f}x | {p50 + steps:.0f} us | {r['p50Us'] / (p50 + steps):.2f}x | {as_raw} |")
    if r["failures"]:
        print(f"| (failures in that row: {r['failures']}) | | | | | | | | | | |")
print()
print("protocol floor = " + notes[0])
for n in notes[1:]:
    print("                 " + n)
print("(the paced round trip is measured at the 1-executor row's pace; the 3-executor rows use it too)")
print()
print("protocol floor as a raw delegation, " + position)
PY

echo
echo "where the time goes: the 1-executor row, probes of the requester (R) and the executor (E) merged"
echo
python3 benchmarks/trace.py Sources/CDDE/include/cdde.h "$WORK/trace/run" --raw-executor "$rawexec" > "$WORK/trace.md"
cat "$WORK/trace.md"
# The profiling build must have recorded both sides: the requester's delegation and the
# executor's run (a build without -DDDE_TRACE records nothing and trace.py fails above).
for step in '| R delegate start | R task signed |' '| E node executed |' '| R commit durable |' '(whole delegation)' '| requester: the commit'; do
    grep -qF "$step" "$WORK/trace.md" || { echo "bench network: FAIL: no '$step' step in the trace" >&2; exit 1; }
done
