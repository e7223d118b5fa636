#!/usr/bin/env bash
# The `dde` command end to end: keys, canonical JSON, tasks, execution, verification, audit.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/scripts/lib.sh"
DDE=$(dde_bin)
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
cd "$W"
export DDE_CODE_DIR=$W/code

check "help on every level" bash -c "'$DDE' --help && '$DDE' task create --help && '$DDE' verify --help && '$DDE' audit --help"
check "keygen writes a 0600 key" bash -c "'$DDE' keygen -o r.key >/dev/null && [ \$(stat -c %a r.key) = 600 ]"
check_exit "keygen refuses to overwrite" 4 "$DDE" keygen -o r.key
"$DDE" keygen -o e.key >/dev/null
check "canon sorts keys and normalises numbers" bash -c "echo '{\"b\":1E2,\"a\":\"\\u00e9\"}' | '$DDE' canon | grep -qx '{\"a\":\"é\",\"b\":100}'"
check_exit "canon refuses duplicate keys" 22 bash -c "echo '{\"a\":1,\"a\":2}' | '$DDE' canon"
check_exit "canon refuses bad JSON" 20 bash -c "echo '{' | '$DDE' canon"

check "code add" "$DDE" code add "$ROOT/examples/dapps/counter.wat"
check "task create" bash -c "'$DDE' task create --key r.key --dapp counter --code '$ROOT/examples/dapps/counter.wat' --action increment --cap state.read --cap state.write > task.json"
check "exec" bash -c "'$DDE' exec --key e.key task.json > result.json"
check "verify accepts the executor's proof" "$DDE" verify task.json result.json
check "audit: the proof holds" "$DDE" audit task.json result.json

# Altered after signing: result, writes, trace.
python3 - <<'PY'
import json
r = json.load(open("result.json"))
a = json.loads(json.dumps(r)); a["result"] = {"count": 999}; json.dump(a, open("alt-result.json", "w"))
b = json.loads(json.dumps(r)); b["stateWrites"] = {"count": "OTk5"}; json.dump(b, open("alt-writes.json", "w"))
c = json.loads(json.dumps(r)); t = c["proof"]["executionTraceHash"]; c["proof"]["executionTraceHash"] = ("0" if t[0] != "0" else "1") + t[1:]
json.dump(c, open("alt-trace.json", "w"))
PY
check_exit "verify refuses an altered result" 48 "$DDE" verify task.json alt-result.json
check_exit "verify refuses altered writes" 49 "$DDE" verify task.json alt-writes.json
check_exit "verify refuses an altered trace" 52 "$DDE" verify task.json alt-trace.json
# A validly signed but wrong proof: verify cannot tell, re-execution can.
"$DDE" exec --key e.key --test-behaviour lie task.json > lie.json
check "verify accepts a consistent signed lie (a signature proves who, not what)" "$DDE" verify task.json lie.json
check_exit "audit catches the signed lie and names the field" 95 "$DDE" audit task.json lie.json
check "audit names resultHash" bash -c "'$DDE' audit --json task.json lie.json | grep -q '\"field\":\"resultHash\"'"
check_exit "exec refuses a task whose code is missing" 80 bash -c "DDE_CODE_DIR='$W/empty' '$DDE' exec --key e.key task.json"

# Latency probes: with DDE_TRACE a run writes PREFIX.<pid>; benchmarks/trace.py orders the steps
# of each delegation (the demo delegates its tasks in one process).
check "DDE_TRACE writes the probes of a demo run" bash -c "mkdir -p '$W/tr' && DDE_TRACE='$W/tr/run' '$DDE' demo --store '$W/tr.db' > /dev/null && [ \$(ls '$W'/tr | wc -l) -eq 1 ]"
check "trace.py: delegate start to end, task signed and commit durable between" bash -c "python3 '$ROOT/benchmarks/trace.py' '$ROOT/Sources/CDDE/include/cdde.h' '$W/tr/run' --skip 0 > trace.txt && grep -q '^| R delegate start | R task signed |' trace.txt && grep -q '| R commit durable |' trace.txt && grep -q '(whole delegation)' trace.txt"
finish
