#!/usr/bin/env bash
# The audited mode against an executor written from docs/PROTOCOL.md alone
# (Tests/Adversary/liar_executor.py, Python, no dde code): it speaks MQTT to a real Mosquitto
# broker beside two honest `dde node` processes and signs consistent lies (they pass all ten
# checks of the verification). Everything is started here and stopped at the end. Checks:
#   A. the liar alone (one identity), a fresh requester in audited mode: 20 delegations, none
#      commits a lie;
#   B. two fresh identities of the liar with keys ground to sort first, against a requester that
#      has validated the honest executors: 20 delegations, no lie committed, no honest executor
#      banned or blacklisted, the liar identities that were asked are failed;
#   C. the same liars against a requester that pins one honest executor: no lie committed, each
#      liar asked is convicted (blacklisted for good) and the evidence names it.
# After each: every committed receipt re-executes (`dde audit`) and the chain verifies.
# Prints 'N passed, N failed'; exits non-zero on failure.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/scripts/lib.sh"
ROUNDS=${ADVERSARY_ROUNDS:-20}
DDE=$(dde_bin)
VENV=${DDE_VENV:-$ROOT/build/venv}
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$ROOT/Tests/Adversary/requirements.txt"
PY=$VENV/bin/python

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

start_broker "$W"
URL=$BROKER_URL
pk() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["publicKey"])' "$1"; }

for name in alpha bravo; do
    "$DDE" keygen -o "$name.key" >/dev/null
    timeout 600 "$DDE" node --broker "$URL" --key "$name.key" --code "code-$name" --name "$name" 2> "$name.log" &
    PIDS+=($!)
done
wait_for_log alpha.log ready 30
wait_for_log bravo.log ready 30
ALPHA=$(pk alpha.key)
BRAVO=$(pk bravo.key)
"$DDE" keygen -o r.key >/dev/null

start_liar() {  # LOG ARGS...: the liar in the background; waits until it announced itself
    local log=$1; shift
    timeout 600 "$PY" "$ROOT/Tests/Adversary/liar_executor.py" --broker "$URL" "$@" 2> "$log" &
    LIAR_PID=$!
    PIDS+=($LIAR_PID)
    wait_for_log "$log" "ready on" 30
    LIARS=$(sed -n 's/.*identities: //p' "$log" | head -1)
}
stop_liar() { kill -TERM "$LIAR_PID" 2>/dev/null || true; wait "$LIAR_PID" 2>/dev/null || true; }

# ROUNDS delegations into STORE with extra delegate arguments; every one must commit.
delegate_rounds() {
    local store=$1 rounds=$2; shift 2
    local i
    for i in $(seq "$rounds"); do
        if ! timeout 60 "$DDE" delegate --broker "$URL" --store "$store" --key r.key --dapp counter \
                --code "$ROOT/examples/dapps/counter.wat" --action increment --cap state.read --cap state.write \
                --discover 400 --timeout 5000 "$@" > "$store.$i.json" 2> "$store.$i.log"; then
            echo "delegation $i into $store failed:" >&2; cat "$store.$i.log" >&2; return 1
        fi
    done
}
# No committed receipt was signed by any of the liar keys, and every one re-executes.
no_lie_committed() {
    local store=$1 keys=$2 n=0 line
    "$DDE" chain verify --store "$store" >/dev/null || return 1
    "$DDE" chain export --store "$store" > "$store.export"
    while IFS= read -r line; do
        n=$((n + 1))
        "$PY" -c 'import json,sys; d=json.loads(sys.argv[1]); open("t.json","w").write(json.dumps(d["task"])); open("c.json","w").write(json.dumps(d["computeResult"])); print(d["receipt"]["remote"]["executorPublicKey"])' "$line" > signer.txt
        for k in $keys; do
            if grep -q "$k" signer.txt; then echo "receipt $n was signed by liar $k" >&2; return 1; fi
        done
        DDE_CODE_DIR=$W/code-alpha "$DDE" audit t.json c.json >/dev/null || { echo "receipt $n does not re-execute" >&2; return 1; }
    done < "$store.export"
    [ "$n" -ge 1 ]
}
peer_field() {  # STORE KEY FIELD
    "$DDE" peers --store "$1" --json | "$PY" -c 'import json,sys; r=[p for p in json.load(sys.stdin) if p["executorPublicKey"]==sys.argv[1]]; print(r[0][sys.argv[2]] if r else "none")' "$2" "$3"
}
export DDE PY
export -f peer_field
honest_untouched() {
    local store=$1 k
    for k in $ALPHA $BRAVO; do
        [ "$(peer_field "$store" "$k" blacklisted)" = False ] || { echo "$k blacklisted in $store" >&2; return 1; }
        [ "$(peer_field "$store" "$k" banned)" = False ] || { echo "$k banned in $store" >&2; return 1; }
        [ "$(peer_field "$store" "$k" failedProofs)" = 0 ] || { echo "$k has failures in $store" >&2; return 1; }
    done
}

# A. The liar alone, a fresh requester, no pin.
start_liar liar-a.log
check "A: the liar announced one identity" bash -c "[ \$(echo $LIARS | wc -w) -eq 1 ]"
check "A: $ROUNDS audited delegations beside the liar all commit" delegate_rounds a.db "$ROUNDS" --mode audited
# The first task on an empty store carries no key; the counter reads "count", and the retry carries it.
check "A: the first delegation was sent twice, and says which key the second carried" \
    grep -q 'sent twice: the first task did not carry "count"' a.db.1.log
check "A: no lie committed; every receipt re-executes" no_lie_committed a.db "$LIARS"
check "A: the liar was asked, and lost" bash -c "grep -q 'answered' liar-a.log && f=\$(peer_field a.db $LIARS failedProofs) && [ -n \"\$f\" ] && [ \"\$f\" != none ] && [ \"\$f\" != 0 ]"
check "A: the honest executors were never failed, banned or blacklisted" honest_untouched a.db
stop_liar

# B. Two fresh colluding identities with ground keys against a requester with validated honest
#    executors (error target 5%: trusted after 5 validated results, built here with honest ones).
check "B: 6 audited delegations with only honest executors validate both" \
    delegate_rounds b.db 6 --mode audited --error-target 0.05
check "B: both honest executors validated" bash -c "[ \"\$(peer_field b.db $ALPHA validated)\" -ge 5 ] && [ \"\$(peer_field b.db $BRAVO validated)\" -ge 5 ]"
start_liar liar-b.log --identities 2 --grind
check "B: two ground identities (keys start 00)" bash -c "[ \$(echo $LIARS | wc -w) -eq 2 ] && for k in $LIARS; do case \$k in 00*) ;; *) exit 1;; esac; done"
check "B: $ROUNDS audited delegations beside the colluding pair all commit" \
    delegate_rounds b.db "$ROUNDS" --mode audited --error-target 0.05
check "B: no lie committed; every receipt re-executes" no_lie_committed b.db "$LIARS"
check "B: the colluders never got a validated executor failed, banned or blacklisted" honest_untouched b.db
check "B: the liars were asked and lost" bash -c "for k in $LIARS; do f=\$(peer_field b.db \$k failedProofs); [ \"\$f\" != none ] && [ \"\$f\" != 0 ] && exit 0; done; exit 1"

# C. The same pair against a requester that pins alpha (its own machine): caught liars are
#    convicted for good and the evidence names them.
check "C: $ROUNDS audited delegations with alpha pinned all commit" \
    delegate_rounds c.db "$ROUNDS" --mode audited --pin "$ALPHA"
check "C: no lie committed; every receipt re-executes" no_lie_committed c.db "$LIARS"
check "C: every liar asked is convicted, with portable evidence" bash -c "
    n=0
    for k in $LIARS; do
        c=\$(peer_field c.db \$k convicted)
        [ \"\$c\" = none ] && continue
        [ \"\$c\" = True ] || exit 1
        n=\$((n + 1))
    done
    [ \$n -ge 1 ] && '$DDE' evidence export --store c.db > c.evidence && [ -s c.evidence ]"
check "C: dde evidence check names the liar by re-execution" bash -c "
    DDE_CODE_DIR=$W/code-alpha '$DDE' evidence check --json c.evidence > verdicts.json &&
    for k in \$($PY -c 'import json; [print(l) for v in map(json.loads, open(\"verdicts.json\")) for l in v[\"liars\"]]'); do
        echo '$LIARS' | grep -q \$k || exit 1
    done"
check "C: the honest executors were never failed, banned or blacklisted" honest_untouched c.db
stop_liar
finish
