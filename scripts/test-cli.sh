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

# Bounded input (issue 12): the limit applies while reading, so endless or huge input ends with a
# clear error at once and small memory; pipes and process substitution work.
# bounded NAME COMMAND...: DDE_ERR_LIMIT (21) within a second, under 64 MB (the kernel's max RSS),
# with a message that gives the limit and what to do.
bounded() {
    local name=$1; shift
    check "$name: refused at the limit, within 1 s and 64 MB, saying the limit and what to do" bash -c '
        /usr/bin/time -f "%e %M" -o time.txt "$@" > /dev/null 2> err.txt; rc=$?
        read -r secs kb < <(tail -1 time.txt)
        echo "exit $rc, $secs s, $kb KB: $(head -1 err.txt)"
        [ $rc -eq 21 ] && awk -v s="$secs" -v k="$kb" "BEGIN { exit !(s <= 1.0 && k < 65536) }" &&
            grep -q "larger than 1048576 bytes (1 MiB)" err.txt && grep -Eq "max-bytes|cannot be raised|make" err.txt' _ "$@"
}
truncate -s 1G big.json
bounded "canon < /dev/zero" bash -c "'$DDE' canon < /dev/zero"
bounded "verify TASK - < /dev/zero" bash -c "'$DDE' verify task.json - < /dev/zero"
bounded "canon on a 1 GB file" "$DDE" canon big.json
bounded "verify on a 1 GB result file" "$DDE" verify task.json big.json
bounded "canon from an endless pipe" bash -c "yes '[1,' | '$DDE' canon"
bounded "verify from an endless pipe" bash -c "cat /dev/zero | '$DDE' verify task.json -"
rm -f big.json
check "canon names the way to read larger documents" bash -c "'$DDE' canon < /dev/zero 2>&1 | grep -q 'dde canon --max-bytes N reads larger ones'"
check "verify says a result cannot be raised past the protocol's limit" bash -c "'$DDE' verify task.json - < /dev/zero 2>&1 | grep -q 'no peer accepts a larger one'"
check "verify reads the result from a pipe" bash -c "cat result.json | '$DDE' verify task.json -"
check "verify reads a process substitution" bash -c "'$DDE' verify task.json <(cat result.json)"
check "canon reads a process substitution" bash -c "'$DDE' canon <(echo '{\"b\":1,\"a\":2}') | grep -qx '{\"a\":2,\"b\":1}'"
python3 -c "import json; json.dump({'k': 'x' * 1500000}, open('large.json', 'w'))"
check_exit "canon refuses a 1.5 MB document by default" 21 "$DDE" canon large.json
check "canon --max-bytes reads it" bash -c "'$DDE' canon --max-bytes 2000000 large.json | wc -c | grep -qx 1500009"
check_exit "canon --max-bytes 0 is refused (DDE_ERR_ARGUMENT)" 1 "$DDE" canon --max-bytes 0 large.json
check_exit "a missing file is an I/O error (DDE_ERR_IO)" 4 "$DDE" verify task.json nothere.json
check "a missing file's error names it" bash -c "'$DDE' verify task.json nothere.json 2>&1 | grep -q 'result nothere.json: no such file'"
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
# Portable evidence: the honest proof and the lie, as one document anyone can check.
"$DDE" keygen -o liar.key >/dev/null
"$DDE" exec --key liar.key --test-behaviour lie task.json > lie2.json
check "evidence make: two signed proofs that disagree" bash -c "'$DDE' evidence make task.json result.json lie2.json > ev.jsonl"
check "evidence check names the liar by re-execution" bash -c "'$DDE' evidence check --json ev.jsonl | grep -q \"\$(python3 -c 'import json; print(json.load(open(\"liar.key\"))[\"publicKey\"])')\" && '$DDE' evidence check ev.jsonl | grep -q reexecution"
check "evidence import blacklists the liar for good in a store never cheated" bash -c "'$DDE' evidence import --store ev.db ev.jsonl && '$DDE' peers --store ev.db | grep -q convicted && '$DDE' evidence list --store ev.db | grep -q CONVICTED"
check "evidence import again: already known, nothing changes" bash -c "'$DDE' evidence import --store ev.db ev.jsonl | grep -q 'already known' && [ \$('$DDE' evidence list --store ev.db --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))') -eq 1 ]"
check "evidence export gives the document back" bash -c "'$DDE' evidence export --store ev.db | cmp - ev.jsonl"
check_exit "evidence make refuses two proofs that agree" 110 "$DDE" evidence make task.json result.json result.json
check_exit "evidence make refuses a proof whose signature does not verify" 52 "$DDE" evidence make task.json result.json alt-trace.json
check_exit "evidence import without the code keeps it unjudged" 111 bash -c "DDE_CODE_DIR='$W/empty' '$DDE' evidence import --store ev2.db ev.jsonl"
check "an unjudged document blacklists nobody" bash -c "! '$DDE' peers --store ev2.db | grep -q blacklisted"
python3 - <<'PY'
import json
d = json.loads(open("ev.jsonl").read())
d["proofs"][0]["signature"] = "0" * 128
open("ev-bad.jsonl", "w").write(json.dumps(d) + "\n")
PY
check_exit "evidence check refuses a forged signature" 52 "$DDE" evidence check ev-bad.jsonl

check_exit "exec refuses a task whose code is missing" 80 bash -c "DDE_CODE_DIR='$W/empty' '$DDE' exec --key e.key task.json"

# Latency probes are compiled only into a profiling build (-DDDE_TRACE; benchmarks/network.sh
# builds and runs one): the shipped `dde` records nothing even with DDE_TRACE set, while the
# recorder built with -DDDE_TRACE writes PREFIX.<pid> and benchmarks/trace.py orders the steps of
# each delegation from it (here stand-ins: a requester process and two executor processes firing
# a delegation's probes in order).
check "the shipped dde has no probes: a demo run with DDE_TRACE set writes no trace" bash -c "mkdir -p '$W/tr' && DDE_TRACE='$W/tr/run' '$DDE' demo --store '$W/tr.db' > /dev/null && [ \$(ls '$W'/tr | wc -l) -eq 0 ]"
cat > probes.c <<'C'
// A requester and two executors (pipes stand in for the broker): delegation d goes to executor
// d % 2, as a benchmark run alternates dde's delegations with raw ones. Prints the second
// executor's pid (the "raw executor" of trace.py --raw-executor).
#include "cdde.h"
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
static void fire(const int32_t *steps, size_t n) {
    const struct timespec pause = {0, 20000};
    for (size_t i = 0; i < n; i++) { cdde_trace(steps[i]); nanosleep(&pause, NULL); }
}
int main(void) {
    const int32_t before[] = {CDDE_TRACE_DELEGATE_START, CDDE_TRACE_TASK_SIGNED, CDDE_TRACE_OFFER_PUBLISH};
    const int32_t run[] = {CDDE_TRACE_NODE_TAKEN, CDDE_TRACE_NODE_TASK_CHECKED, CDDE_TRACE_NODE_EXECUTED,
                           CDDE_TRACE_NODE_RESULT_PUBLISH};
    const int32_t after[] = {CDDE_TRACE_ANSWER_TAKEN, CDDE_TRACE_ANSWER_JUDGED, CDDE_TRACE_SCORES_WRITTEN,
                             CDDE_TRACE_COMMIT_CHECKED, CDDE_TRACE_COMMIT_DURABLE, CDDE_TRACE_DELEGATE_END};
    int to[2][2], from[2][2];
    pid_t child[2];
    for (int e = 0; e < 2; e++) {
        if (pipe(to[e]) || pipe(from[e])) return 1;
        child[e] = fork();
        if (child[e] < 0) return 1;
        if (child[e] == 0) {
            char c;
            while (read(to[e][0], &c, 1) == 1 && c == 'd') { fire(run, 4); if (write(from[e][1], &c, 1) != 1) return 1; }
            return 0;  // 'q': done (not EOF: the other executor holds this pipe's write end too)
        }
    }
    for (int d = 0; d < 6; d++) {
        char c = 'd';
        fire(before, 3);
        if (write(to[d % 2][1], &c, 1) != 1 || read(from[d % 2][0], &c, 1) != 1) return 1;
        fire(after, 6);
    }
    for (int e = 0; e < 2; e++) { char q = 'q'; if (write(to[e][1], &q, 1) != 1) return 1; waitpid(child[e], NULL, 0); }
    printf("%d\n", (int)child[1]);
    return 0;
}
C
check "the probe recorder builds with -DDDE_TRACE and writes PREFIX.<pid> for each process" bash -c "gcc -O2 -Wall -Wextra -Werror -std=gnu11 -DDDE_TRACE -I '$ROOT/Sources/CDDE/include' probes.c '$ROOT/Sources/CDDE/cdde_trace.c' -lpthread -o probes && mkdir -p '$W/tp' && DDE_TRACE='$W/tp/run' ./probes > raw.pid && [ \$(ls '$W'/tp | wc -l) -eq 3 ]"
check "trace.py: delegate start to end, task signed, the executor's run and commit durable between" bash -c "python3 '$ROOT/benchmarks/trace.py' '$ROOT/Sources/CDDE/include/cdde.h' '$W/tp/run' --skip 0 > trace.txt && grep -q '^6 of 6 delegations' trace.txt && grep -q '^| R delegate start | R task signed |' trace.txt && grep -q '^| E node task checked | E node executed |' trace.txt && grep -q '| R commit durable |' trace.txt && grep -q '(whole delegation)' trace.txt"
check "trace.py --raw-executor: dde's delegations apart from the raw ones, their phases side by side" bash -c "python3 '$ROOT/benchmarks/trace.py' '$ROOT/Sources/CDDE/include/cdde.h' '$W/tp/run' --skip 0 --raw-executor \$(cat raw.pid) > phases.txt && grep -q '^3 of 3 delegations' phases.txt && grep -q '(dde: 3 of 3; raw: 3 of 3)' phases.txt && grep -Eq '^\| executor: the task checked [^|]*\| [0-9.]+ us \| [0-9.]+ us \| [-+][0-9.]+ us \|' phases.txt && grep -Eq '^\| whole delegation \| [0-9.]+ us \| [0-9.]+ us \|' phases.txt"
finish
