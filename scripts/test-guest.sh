#!/usr/bin/env bash
# The guest SDKs (guest/c, guest/swift; docs/DAPPS.md) end to end, with the debug `dde`:
#   - builds the C dApps (make fragment; the CMake fragment must give the same bytes) and the
#     Embedded Swift dApps from source; the C header refuses clang's default CPU and floats;
#   - runs the C and Swift wallet and hashchain through `dde exec` on the same tasks as their WAT
#     twins (examples/dapps/*.wat), error paths included, and requires the same result, state
#     writes, trace hash and length, capabilities, result hash and next state root (fuel may
#     differ: it is printed); every proof passes `dde verify` and `dde audit`;
#   - sdk_tour (C and Swift) calls every helper of the SDKs (state with the retry rule, sha256,
#     ed25519_verify, log, delete, set): exact result, writes and trace length;
#   - `dde code check`: a C float, a C call_indirect built for clang's default wasm32 CPU and a Swift
#     Dictionary are refused with their place (checked against llvm-objdump) and the fix, with the
#     status `dde exec` gives; the integer, SDK-built version of the same C source loads and runs;
#   - delegates the C wallet over MQTT (`dde delegate` to two `dde node`s on a Mosquitto broker
#     started here) and `dde chain verify` passes.
# Prints 'N passed, N failed'; exits non-zero on failure.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/scripts/lib.sh"
for tool in make cmake python3; do
    command -v $tool >/dev/null || { echo "test-guest: FAIL: $tool missing: apt install $tool (scripts/install-deps.sh)" >&2; exit 1; }
done
DDE=$(dde_bin)
CLANG=${DDE_CLANG:-clang}
OBJDUMP=$(dirname "$(command -v "$CLANG")")/llvm-objdump
[ -x "$OBJDUMP" ] && "$CLANG" --print-targets 2>/dev/null | grep -q wasm32 || {
    echo "test-guest: FAIL: $CLANG does not target wasm32 or has no llvm-objdump beside it: put the Swift toolchain's usr/bin first on PATH, or set DDE_CLANG" >&2; exit 1; }
W=$(mktemp -d)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$W"
}
trap cleanup EXIT
cd "$W"
export DDE_CODE_DIR=$W/code
"$DDE" keygen -o r.key >/dev/null
"$DDE" keygen -o e.key >/dev/null

echo "---- Build from source (${SECONDS} s)"
check "C dApps build with the SDK's make fragment (-Werror)" make -s -C "$ROOT/examples/dapps-c" OUT="$W/c" CFLAGS_DAPP=-Werror
check "the CMake fragment builds the same bytes" bash -c "cmake -S '$ROOT/examples/dapps-c' -B '$W/cmake' >/dev/null && cmake --build '$W/cmake' >/dev/null && cmp '$W/cmake/wallet.wasm' '$W/c/wallet.wasm' && cmp '$W/cmake/hashchain.wasm' '$W/c/hashchain.wasm'"
check "Swift dApps build with the SDK's make fragment" make -s -C "$ROOT/examples/dapps-swift" OUT="$W/swift"
check "the header stops a build for clang's default wasm32 CPU and says which flags" bash -c \
    "! '$CLANG' --target=wasm32 -nostdlib -I'$ROOT/guest/c' -c '$ROOT/examples/dapps-c/wallet.c' -o x.o 2> cpu.txt && grep -q 'add -mcpu=mvp -mbulk-memory -msign-ext' cpu.txt"
printf '#include "dde_guest.h"\nDDE_ACTION(main) { double x = 1; return (int)x; }\n' > float.c
check "the header makes double a compile error" bash -c \
    "! make -s -f '$ROOT/guest/c/dde_guest.mk' float.wasm 2> poison.txt && grep -q 'poisoned' poison.txt"

echo "---- The twins (${SECONDS} s)"
declare -A MODULE=(
    [wallet.wat]=$ROOT/examples/dapps/wallet.wat [wallet.c]=$W/c/wallet.wasm [wallet.swift]=$W/swift/wallet.wasm
    [hashchain.wat]=$ROOT/examples/dapps/hashchain.wat [hashchain.c]=$W/c/hashchain.wasm [hashchain.swift]=$W/swift/hashchain.wasm
)
for m in "${MODULE[@]}"; do "$DDE" code add "$m" >/dev/null; done
check "code check: the C wallet loads, its actions and capabilities are named" bash -c \
    "'$DDE' code check '$W/c/wallet.wasm' > cc.txt && grep -q '^  actions: send, mint$' cc.txt && grep -q '^  a task must declare: --cap state.read --cap state.write$' cc.txt"
check "code check: the Swift dApps load with their actions" bash -c \
    "'$DDE' code check --action send --cap state.read --cap state.write '$W/swift/wallet.wasm' && '$DDE' code check --action run '$W/swift/hashchain.wasm'"

b64() { printf '%s' "$1" | base64 -w0; }
# run NAME VARIANT ACTION PAYLOAD STATE-JSON [dde task create options...]: exec, verify and audit;
# writes NAME.VARIANT.out: the exit status and, on success, what must match between twins.
run() {
    local name=$1 variant=$2 action=$3 payload=$4 state=$5; shift 5
    local dapp=${variant%%.*} rc=0
    printf '%s' "$state" > "$name.state.json"
    "$DDE" task create --key r.key --dapp "$dapp" --code "${MODULE[$variant]}" --action "$action" \
        --payload "$payload" --state "$name.state.json" --timestamp 1767225600000 "$@" > "$name.$variant.task"
    "$DDE" exec --key e.key "$name.$variant.task" > "$name.$variant.result" 2> "$name.$variant.err" || rc=$?
    if [ "$rc" -ne 0 ]; then
        echo "exit $rc" > "$name.$variant.out"
        return
    fi
    "$DDE" verify "$name.$variant.task" "$name.$variant.result" > /dev/null || { echo "verify failed" > "$name.$variant.out"; return; }
    if [ "${NO_AUDIT:-0}" != 1 ]; then
        "$DDE" audit "$name.$variant.task" "$name.$variant.result" > /dev/null || { echo "audit failed" > "$name.$variant.out"; return; }
    fi
    python3 - "$name.$variant.result" "$name.$variant.fuel" > "$name.$variant.out" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); p = r["proof"]
open(sys.argv[2], "w").write(str(p["fuelUsed"]))
same = {"result": r["result"], "stateWrites": r["stateWrites"], "resultHash": r["resultHash"]}
for k in ("executionTraceHash", "traceLength", "capabilitiesUsed", "nextStateRoot", "stateWritesHash"):
    same[k] = p[k]
print(json.dumps(same, sort_keys=True))
PY
}
# twins NAME DAPP EXPECT ACTION PAYLOAD STATE [options]: the three variants agree, and the WAT's
# outcome contains each &-separated fragment of EXPECT (of the result and writes, or "exit N").
twins() {
    local name=$1 dapp=$2 expect; shift 2
    IFS='&' read -r -a expect <<< "$1"; shift
    for lang in wat c swift; do run "$name" "$dapp.$lang" "$@"; done
    local fuel
    fuel=$(for lang in wat c swift; do [ -f "$name.$dapp.$lang.fuel" ] && printf '%s=%s ' "$lang" "$(cat "$name.$dapp.$lang.fuel")"; done; true)
    check "$dapp $name: C and Swift give the WAT's result, writes and trace${fuel:+ (fuel $fuel)}" bash -c \
        "$(for e in "${expect[@]}"; do printf "grep -qF -- '%s' '%s' && " "$e" "$name.$dapp.wat.out"; done) cmp '$name.$dapp.wat.out' '$name.$dapp.c.out' && cmp '$name.$dapp.wat.out' '$name.$dapp.swift.out' || { head -3 $name.$dapp.*.out $name.$dapp.*.err; false; }"
}
CAPS=(--cap state.read --cap state.write)
alice100="{\"balance/alice\":\"$(b64 100)\"}"
twins mint-fresh wallet '"result": {"ok": true, "to": 100}&"stateWrites": {"balance/alice": "MTAw"}' mint '{"amount":100,"to":"alice"}' '{}' "${CAPS[@]}"
twins send wallet '"result": {"from": 70, "ok": true, "to": 30}&"stateWrites": {"balance/alice": "NzA=", "balance/bob": "MzA="}' send '{"to":"bob","from":"alice","amount":30}' "$alice100" "${CAPS[@]}"
twins send-existing wallet '"result": {"from": 1, "ok": true, "to": 106}' send '{"amount":99,"from":"alice","to":"bob"}' \
    "{\"balance/alice\":\"$(b64 100)\",\"balance/bob\":\"$(b64 7)\"}" "${CAPS[@]}"
twins insufficient wallet '"result": {"error": "insufficient funds", "ok": false}&"stateWrites": {},' send '{"amount":101,"from":"alice","to":"bob"}' "$alice100" "${CAPS[@]}"
twins to-self wallet '"result": {"from": 100, "ok": true, "to": 100}&"stateWrites": {},' send '{"amount":40,"from":"alice","to":"alice"}' "$alice100" "${CAPS[@]}"
twins unicode-name wallet '"result": {"ok": true, "to": 5}' mint '{"amount":5,"to":"zoë ☃"}' '{}' "${CAPS[@]}"
twins malformed wallet 'exit 94' send '{"amount":"x","from":"alice","to":"bob"}' "$alice100" "${CAPS[@]}"
twins extra-field wallet 'exit 94' mint '{"amount":5,"memo":"hi","to":"bob"}' '{}' "${CAPS[@]}"
twins bad-balance wallet 'exit 94' send '{"amount":1,"from":"alice","to":"bob"}' "{\"balance/alice\":\"$(b64 12a)\"}" "${CAPS[@]}"
twins overflow wallet 'exit 94' mint '{"amount":1,"to":"bob"}' "{\"balance/bob\":\"$(b64 999999999999999999)\"}" "${CAPS[@]}"
twins undeclared wallet 'exit 84' mint '{"amount":1,"to":"bob"}' '{}' --cap state.read
twins n0 hashchain '"hash": "0000000000000000000000000000000000000000000000000000000000000000", "n": 0' run '0' '{}'
twins n1 hashchain '"hash": "66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925", "n": 1' run '1' '{}'
twins n12 hashchain '"n": 12' run '12' '{}'
twins out-of-fuel hashchain 'exit 87' run '50' '{}' --max-fuel 20000
# The default N (4000: ~35 million fuel units, a few seconds each in a debug build; not audited).
NO_AUDIT=1 twins default hashchain '"hash": "e41edf43e0f4f7cc8103f71ca384cbf1db6ac8111feb250810ff159075963dfb", "n": 4000' run '{"n":"x"}' '{}'
check "hashchain n=1 is SHA-256 of 32 zero bytes" bash -c \
    "[ \"\$(head -c 32 /dev/zero | sha256sum | cut -d' ' -f1)\" = 66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925 ]"

echo "---- Every helper of the SDKs (sdk_tour.c, sdk_tour.swift) (${SECONDS} s)"
# RFC 8032 test 1: an Ed25519 signature of the empty message.
tour() {
    local name=$1 big_len=$2 module=$3
    python3 - "$big_len" > "$name.state.json" <<'PY'
import base64, json, sys
b = lambda x: base64.b64encode(x).decode()
big = (bytes(range(256)) * 2)[:int(sys.argv[1])]
pk = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
sig = bytes.fromhex("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b")
print(json.dumps({"big": b(big), "old": b(b"x"), "pk": b(pk), "sig": b(sig)}))
PY
    "$DDE" task create --key r.key --dapp tour --code "$module" --action tour --payload '{"b":[1,2],"a":"é"}' \
        --state "$name.state.json" --cap crypto.hash --cap crypto.verify --cap log --cap state.read --cap state.write > "$name.task" &&
    "$DDE" exec --key e.key "$name.task" > "$name.result" && "$DDE" verify "$name.task" "$name.result" > /dev/null &&
    "$DDE" audit "$name.task" "$name.result" > /dev/null &&
    python3 - "$name.result" "$big_len" <<'PY'
import base64, hashlib, json, sys
r = json.load(open(sys.argv[1])); n = int(sys.argv[2]); p = r["proof"]
big = (bytes(range(256)) * 2)[:n]
payload = '{"a":"é","b":[1,2]}'.encode()
want = {"big": n, "had": True, "input": len(payload), "sha": hashlib.sha256(big).hexdigest(), "tampered": False, "valid": True}
assert r["result"] == want, (r["result"], want)
assert r["stateWrites"] == {"old": None, "seen": base64.b64encode(payload).decode()}, r["stateWrites"]
assert p["capabilitiesUsed"] == ["crypto.hash", "crypto.verify", "log", "state.read", "state.write"], p["capabilitiesUsed"]
steps = 13 if n > 256 else 12   # the retry rule: a second state_get when the value is over 256 bytes
assert p["traceLength"] == steps, (p["traceLength"], steps)
PY
}
for lang in c swift; do
    "$DDE" code add "$W/$lang/sdk_tour.wasm" > /dev/null
    check "sdk_tour ($lang): state (retry rule on a 300-byte value), sha256, ed25519, log, delete, set: exact result, writes, 13 steps" tour tour300-$lang 300 "$W/$lang/sdk_tour.wasm"
    check "sdk_tour ($lang): a 200-byte value takes one state_get (12 steps)" tour tour200-$lang 200 "$W/$lang/sdk_tour.wasm"
done

echo "---- dde code check: refusals with their place (${SECONDS} s)"
SDK_FLAGS=(--target=wasm32 -mcpu=mvp -mbulk-memory -msign-ext -Os -nostdlib -ffreestanding -I"$ROOT/guest/c"
           -Wl,--no-entry -Wl,--export-memory -Wl,--global-base=4096)
R=$ROOT/examples/dapps-c/refused
"$CLANG" "${SDK_FLAGS[@]}" "$R/average.c" -o average.wasm
check_exit "code check refuses the C float: DDE_ERR_CODE_NONDETERMINISTIC" 83 "$DDE" code check average.wasm --action main
"$DDE" code check average.wasm > average.txt 2> average.err || true
add_at=$("$OBJDUMP" -d average.wasm | sed -n 's/^ *\([0-9a-f]*\):.*f64\.add.*/\1/p' | head -1)
check "it names f64.add, its function and its byte (as llvm-objdump -d shows it), and what to change" bash -c \
    "grep -q 'float instruction f64.add in function [0-9]* (dde_action_main) at byte 0x$add_at: dApps must use integer arithmetic' average.txt"
check "every float instruction is listed, and stderr says how many" bash -c \
    "[ \$(grep -c '^DDE_ERR_CODE_NONDETERMINISTIC: float instruction' average.txt) -ge 5 ] && grep -q 'would be refused at load: [0-9]* findings above' average.err"
check "the JSON report carries the function index and offset" bash -c \
    "'$DDE' code check --json average.wasm | python3 -c 'import json,sys; d=json.load(sys.stdin); f=[x for x in d[\"findings\"] if \"f64.add\" in x[\"message\"]][0]; assert not d[\"loads\"] and f[\"offset\"] == 0x$add_at and f[\"functionName\"] == \"dde_action_main\", f'"
"$DDE" code add average.wasm > /dev/null
"$DDE" task create --key r.key --dapp avg --code average.wasm --action main --payload 12 > avg.task
check_exit "dde exec refuses it the same way" 83 "$DDE" exec --key e.key avg.task

"$CLANG" --target=wasm32 -Os -nostdlib -ffreestanding -Wl,--no-entry -Wl,--export-memory "$R/dispatch.c" -o dispatch-default.wasm
"$CLANG" "${SDK_FLAGS[@]}" "$R/dispatch.c" -o dispatch.wasm
check_exit "code check refuses call_indirect from clang's default CPU: DDE_ERR_CODE_INVALID" 82 "$DDE" code check dispatch-default.wasm --action main
"$DDE" code check dispatch-default.wasm > dispatch.txt 2>&1 || true
ci_at=$("$OBJDUMP" -d dispatch-default.wasm | sed -n 's/^ *\([0-9a-f]*\):.*call_indirect.*/\1/p' | head -1)
check "it names call_indirect, its place and the flags to build with" bash -c \
    "grep -q 'call_indirect in function [0-9]* (main_action) at byte 0x$ci_at encodes its table index the reference-types way.*build with -mcpu=mvp -mbulk-memory -msign-ext' dispatch.txt"
"$DDE" code add dispatch-default.wasm > /dev/null
"$DDE" task create --key r.key --dapp dispatch --code dispatch-default.wasm --action main --payload 3 > dd.task
check_exit "dde exec refuses it too" 82 "$DDE" exec --key e.key dd.task
check "built with the SDK's flags the same source loads" "$DDE" code check dispatch.wasm --action main
"$DDE" code add dispatch.wasm > /dev/null
for d in 3 4; do
    "$DDE" task create --key r.key --dapp dispatch --code dispatch.wasm --action main --payload $d > d$d.task
    "$DDE" exec --key e.key d$d.task > d$d.result || true
done
check "and runs both branches of its call_indirect, verified" bash -c \
    "'$DDE' verify d3.task d3.result && '$DDE' verify d4.task d4.result && grep -q '\"result\":{\"r\":9}' d3.result && grep -q '\"result\":{\"r\":8}' d4.result"

make -s -C "$ROOT/examples/dapps-swift" OUT="$W/swift" "$W/swift/refused/tally.wasm" > /dev/null 2>&1 || true
check_exit "code check refuses a Swift Dictionary (Double inside): DDE_ERR_CODE_NONDETERMINISTIC" 83 "$DDE" code check "$W/swift/refused/tally.wasm" --action main
check "and names the Swift function that holds the float" bash -c \
    "'$DDE' code check '$W/swift/refused/tally.wasm' 2>&1 | grep -q 'float instruction f64\.[a-z_0-9]* in function [0-9]* (\$[a-zA-Z0-9_]*_HashTable'"
check_exit "code check --cap: an undeclared capability is named with the option to add" 84 "$DDE" code check "$W/c/wallet.wasm" --cap state.read
check "  ... which says --cap state.write" bash -c "'$DDE' code check '$W/c/wallet.wasm' --cap state.read 2>&1 | grep -q 'dde task create --cap state.write'"
check_exit "code check --action: a missing action is named with the module's actions" 86 "$DDE" code check "$W/c/wallet.wasm" --action burn
check "  ... which lists send and mint" bash -c "'$DDE' code check '$W/c/wallet.wasm' --action burn 2>&1 | grep -q 'its actions: \[send, mint\]'"

echo "---- The C wallet delegated over MQTT (${SECONDS} s)"
if [ -x /usr/sbin/mosquitto ]; then
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    printf 'listener %s 127.0.0.1\nallow_anonymous true\nset_tcp_nodelay true\n' "$port" > mosquitto.conf
    [ "$(id -u)" -eq 0 ] && printf 'user root\n' >> mosquitto.conf
    timeout 300 /usr/sbin/mosquitto -c mosquitto.conf > broker.log 2>&1 &
    PIDS+=($!)
    for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done
    URL=mqtt://127.0.0.1:$port
    for name in alpha bravo; do
        "$DDE" keygen -o "$name.key" >/dev/null
        timeout 300 "$DDE" node --broker "$URL" --key "$name.key" --code "code-$name" --name "$name" 2> "$name.log" &
        PIDS+=($!)
    done
    for _ in $(seq 100); do
        grep -q ready alpha.log 2>/dev/null && grep -q ready bravo.log 2>/dev/null && break
        sleep 0.1
    done
    delegate() {
        local out=$1; shift
        timeout 60 "$DDE" delegate --broker "$URL" --store mqtt.db --key r.key --dapp cwallet --code "$W/c/wallet.wasm" \
            "${CAPS[@]}" --timeout 10000 --json "$@" > "$out.json" 2> "$out.err"
    }
    check "MQTT: the C wallet's mint is delegated and committed" delegate m1 --action mint --payload '{"amount":100,"to":"alice"}'
    check "MQTT: a send is delegated and committed" delegate m2 --action send --payload '{"amount":30,"from":"alice","to":"bob"}'
    check "MQTT: an overdraft is committed as the signed normal answer" delegate m3 --action send --payload '{"amount":500,"from":"alice","to":"bob"}'
    check "MQTT: the committed results are the wallet's" bash -c \
        "grep -qF '{\"ok\":true,\"to\":100}' m1.json && grep -qF '{\"from\":70,\"ok\":true,\"to\":30}' m2.json && grep -qF '{\"error\":\"insufficient funds\",\"ok\":false}' m3.json || { cat m*.json m*.err | head -20; false; }"
    check "MQTT: dde chain verify passes over the three receipts" bash -c "'$DDE' chain verify --store mqtt.db > chain.txt 2>&1 && grep -q '3 receipts' chain.txt || { cat chain.txt; false; }"
else
    check "MQTT: mosquitto is installed (apt install mosquitto; scripts/install-deps.sh)" false
fi
finish
