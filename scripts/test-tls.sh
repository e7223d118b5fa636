#!/usr/bin/env bash
# TLS and credentials on MQTT, end to end, with the broker recipe of examples/broker: a test CA and
# device certificates made here (make-test-ca.sh; the CN of each is the device's dde public key),
# the fleet's ACL (make-acl.sh), and one Mosquitto (scripts/broker.sh --listeners) whose listeners
# are the recipe's configurations (mosquitto.conf, mosquitto-password.conf) with their paths
# pointed here, plus variants with a broken server certificate and a TLS-PSK listener:
#   +1 mutual TLS, certificates as user names, the ACL (mosquitto.conf)
#   +2 the same with a server certificate for another host name
#   +3 the same with an expired server certificate
#   +4 TLS, user names and passwords, the ACL (mosquitto-password.conf)
#   +5 TLS-PSK, the PSK identity as user name, the ACL
# and the plain anonymous listener of every test broker, with no ACL.
# Checks:
#   - delegations over mqtts:// with mutual TLS commit end to end from `dde delegate`, the C
#     example (examples/c/delegate.c) and the Python example (examples/python/delegate.py), with
#     `dde node` executors; a password-authenticated node and requester do too;
#   - a client with no certificate, a CA that did not sign the broker's, a wrong host name, an
#     expired certificate (the broker's, the client's), a client certificate of an untrusted CA, a
#     key of another certificate, a wrong or no password, a missing key file, a wrong PSK: each
#     fails with its own message and commits nothing;
#   - the ACL, with the real broker: an executor's presence under another key and its results on
#     the topic of a requester it does not serve never arrive (what it may send does); a
#     requester reads only its own results;
#   - forged presence (a bad signature; a genuine one replayed under another key), published
#     where no ACL applies, is ignored by the requester;
#   - no password, pre-shared key or secret key appears in any output, log line or process list;
#   - the broker's name lookup is bounded by the connect timeout (a DNS server that never answers,
#     in namespaces of its own: skipped where unshare is not permitted).
# Prints 'N passed, N failed'; exits non-zero on failure. About 20 s (40 s on a busy machine).
# DDE_KEEP=1 keeps the folder of certificates, logs and stores for a look.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/scripts/lib.sh"
for tool in openssl mosquitto_pub mosquitto_sub; do
    command -v "$tool" >/dev/null || { echo "test-tls: FAIL: $tool missing: scripts/install-deps.sh" >&2; exit 1; }
done
DDE=$(dde_bin)
ensure_lib
W=$(mktemp -d)
PIDS=()
cleanup() {
    # The broker last: on SIGTERM a node clears its presence through it.
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    stop_broker
    [ "${DDE_KEEP:-0}" = 1 ] && echo "test-tls: kept $W" || rm -rf "$W"
}
trap cleanup EXIT
cd "$W"
export LD_LIBRARY_PATH=$ROOT/build/host/lib

# ---- devices, certificates, the ACL, passwords, the broker
# Requesters: r (dde delegate), rc (the C example), rp (Python). Executors: e1, e2 (certificates),
# e3 (a password), x (serves r only: the one that tries what the ACL forbids).
declare -A PK
for d in r rc rp e1 e2 e3 x; do PK[$d]=$("$DDE" keygen -o "$d.key"); done
args=()
for d in r rc rp e1 e2 e3 x; do args+=("$d=${PK[$d]}"); done
"$ROOT/examples/broker/make-test-ca.sh" ca --bad "${args[@]}" >/dev/null
cat > fleet <<EOF
requester ${PK[r]}
requester ${PK[rc]}
requester ${PK[rp]}
executor ${PK[e1]}
executor ${PK[e2]}
executor ${PK[e3]}
executor ${PK[x]} ${PK[r]}
EOF
"$ROOT/examples/broker/make-acl.sh" fleet > ca/acl
# Passwords (random, test only) in files, never on a command line: the broker's password file is
# written here in Mosquitto's "$6$" form (SHA-512 of password and salt), not with
# `mosquitto_passwd -b`, which would put them in the process list this test inspects.
umask 077
for d in r e3; do openssl rand -hex 12 > "$d.password"; done
openssl rand -hex 12 > wrong.password
printf '%s:%s\n' "${PK[r]}" "$(openssl rand -hex 16)" > r.psk
printf '%s:%s\n' "${PK[r]}" "$(openssl rand -hex 16)" > wrong.psk
umask 022
python3 - "${PK[r]}" r.password "${PK[e3]}" e3.password > ca/passwords <<'PY'
import base64, hashlib, os, sys
args = sys.argv[1:]
for user, path in zip(args[::2], args[1::2]):
    password = open(path, "rb").read().strip()
    salt = os.urandom(12)
    digest = hashlib.sha512(password + salt).digest()
    print(f"{user}:$6${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}")
PY
cp r.psk ca/psk
# The recipe's listeners, pointed at this folder: `listener 8883 127.0.0.1` becomes `listener +K`.
recipe() { # FILE K
    sed -e "s#/etc/mosquitto/dde/#$W/ca/#g" -e "s/^listener 8883 127.0.0.1\$/listener +$2/" \
        -e '/^per_listener_settings/d' -e '/^#/d' -e '/^$/d' "$ROOT/examples/broker/$1"
}
{
    recipe mosquitto.conf 1
    recipe mosquitto.conf 2 | sed 's#/server.crt$#/server-wrongname.crt#'
    recipe mosquitto.conf 3 | sed 's#/server.crt$#/server-expired.crt#'
    recipe mosquitto-password.conf 4
    printf 'listener +5\npsk_hint dde\npsk_file %s/ca/psk\nuse_identity_as_username true\nacl_file %s/ca/acl\n' "$W" "$W"
} > listeners.conf
check "the recipe's listeners are all there" bash -c "[ \$(grep -c '^listener +' listeners.conf) -eq 5 ] && grep -q '^require_certificate true' listeners.conf && grep -q '^use_identity_as_username true' listeners.conf"
start_broker "$W/broker" --listeners listeners.conf
P=$BROKER_PORT
PLAIN=mqtt://127.0.0.1:$P
MTLS=mqtts://127.0.0.1:$((P + 1))
WRONGNAME=mqtts://127.0.0.1:$((P + 2))
EXPIRED=mqtts://127.0.0.1:$((P + 3))
PASSWORD=mqtts://127.0.0.1:$((P + 4))
PSK=mqtts://127.0.0.1:$((P + 5))
cert() { echo --ca-file ca/ca.crt --tls-cert "ca/$1.crt" --tls-key "ca/$1.key"; }

# ---- delegations over mutual TLS, from the three front ends
for n in e1 e2; do
    timeout 300 "$DDE" node --broker "$MTLS" $(cert $n) --key $n.key --code code-$n --name $n 2> $n.log &
    PIDS+=($!)
done
wait_for_log e1.log ready 30
wait_for_log e2.log ready 30
TASK=(--dapp counter --code "$ROOT/examples/dapps/counter.wat" --action increment --cap state.read --cap state.write)
# Receipts in a store's chain, after verifying it ("chain ok: N receipts" or "chain ok: empty").
receipts() { "$DDE" chain verify --store "$1" 2>/dev/null | sed -n 's/^chain ok: \([0-9]*\) receipts.*/\1/p; s/^chain ok: empty$/0/p'; }

rc=0
timeout 60 "$DDE" delegate --broker "$MTLS" $(cert r) --key r.key --store r.db "${TASK[@]}" --mode quorum --k 2 \
    > r-receipt.json 2> delegate-mtls.log || rc=$?
check "dde delegate over mqtts:// with mutual TLS: quorum(2) commits, exit 0 (exit $rc)" test "$rc" = 0
check "  both executors answered, the same result" bash -c "grep -q ' accepted ' delegate-mtls.log && grep -q ' agreed ' delegate-mtls.log"
check "  the chain verifies and holds the receipt" test "$(receipts r.db)" = 1

hash=$(DDE_CODE_DIR=$W/code "$DDE" code add "$ROOT/examples/dapps/counter.wat")
cp "code/$hash.wasm" counter.wasm
check "the C example builds with -Werror" cc -std=c99 -Wall -Wextra -Werror -I"$ROOT/build/host/include" \
    "$ROOT/examples/c/delegate.c" -L"$ROOT/build/host/lib" -ldde -o delegate
rc=0
timeout 60 ./delegate $(cert rc) "$MTLS" rc.db rc.key counter.wasm 2 > c.log 2>&1 || rc=$?
check "the C example over mqtts:// with mutual TLS commits two tasks (exit $rc)" \
    bash -c "[ $rc = 0 ] && [ \$(grep -c '^task [0-9]: DDE_OK' c.log) = 2 ] && grep -q '^chain verified: 2 receipts' c.log"

rc=0
PYTHONPATH=$ROOT/bindings/python/src DDE_LIBRARY=$ROOT/build/host/lib/libdde.so timeout 60 \
    python3 "$ROOT/examples/python/delegate.py" --broker "$MTLS" $(cert rp) --store rp.db --key rp.key \
    counter.wasm --count 2 > py.log 2>&1 || rc=$?
check "the Python example over mqtts:// with mutual TLS commits two tasks (exit $rc)" \
    bash -c "[ $rc = 0 ] && [ \$(grep -c '^task [0-9]: DDE_OK' py.log) = 2 ] && grep -q '^chain verified: 2 receipts' py.log"
if [ "$FAILED" != 0 ]; then
    for f in delegate-mtls.log c.log py.log e1.log; do echo "     --- $f"; tail -n 6 "$f" | sed 's/^/     /'; done
fi

# ---- each failure with its own message, and nothing committed
# fails NAME PATTERN [dde delegate options]: a non-zero exit, one error line matching PATTERN
# (grep -E), no receipt added to r.db.
fails() {
    local name=$1 pattern=$2 before after rc=0
    shift 2
    before=$(receipts r.db)
    timeout 60 "$DDE" delegate --key r.key --store r.db "${TASK[@]}" "$@" > fail.out 2> fail.err || rc=$?
    cat fail.err >> failures.log
    after=$(receipts r.db)
    if [ "$rc" != 0 ] && [ "$(wc -l < fail.err)" = 1 ] && grep -qE "$pattern" fail.err && [ "$before" = "$after" ]; then
        PASSED=$((PASSED + 1)); echo "ok   $name (exit $rc)"
    else
        FAILED=$((FAILED + 1)); echo "FAIL $name: exit $rc, receipts $before -> $after, wanted one line matching /$pattern/:"
        sed 's/^/     /' fail.err | tail -n 5
    fi
}
fails "no client certificate: the broker requires one" \
    "DDE_ERR_TRANSPORT: .*(the broker requires a client certificate|probably requires a client certificate, and none was given)" \
    --broker "$MTLS" --ca-file ca/ca.crt
fails "a CA that did not sign the broker's certificate: unknown CA" \
    "DDE_ERR_TRANSPORT: TLS with the MQTT broker at .* failed: the broker's certificate is not signed by a CA this client trusts \(unknown CA" \
    --broker "$MTLS" --ca-file ca/other-ca.crt --tls-cert ca/r.crt --tls-key ca/r.key
fails "no CA given: the system store does not know the test CA" \
    "DDE_ERR_TRANSPORT: .*the broker's certificate is not signed by a CA this client trusts" \
    --broker "$MTLS" --tls-cert ca/r.crt --tls-key ca/r.key
fails "a host name the broker's certificate lacks" \
    "DDE_ERR_TRANSPORT: .*the broker's certificate is not valid for the host name '127.0.0.1' \(host name mismatch\)" \
    --broker "$WRONGNAME" $(cert r)
fails "the broker's certificate has expired" \
    "DDE_ERR_TRANSPORT: .*the broker's certificate has expired \(certificate verify failed: certificate has expired\)" \
    --broker "$EXPIRED" $(cert r)
fails "this client's certificate has expired" \
    "DDE_ERR_TRANSPORT: the client certificate ca/r-expired.crt has expired: make a new one" \
    --broker "$MTLS" --ca-file ca/ca.crt --tls-cert ca/r-expired.crt --tls-key ca/r.key
fails "this client's certificate is signed by a CA the broker does not trust" \
    "DDE_ERR_TRANSPORT: .*(does not trust the CA that signed this client's certificate|did not accept this client's certificate)" \
    --broker "$MTLS" --ca-file ca/ca.crt --tls-cert ca/r-untrusted.crt --tls-key ca/r.key
fails "a key that is not the certificate's" \
    "DDE_ERR_TRANSPORT: .*the client key ca/e1.key does not belong to the client certificate ca/r.crt" \
    --broker "$MTLS" --ca-file ca/ca.crt --tls-cert ca/r.crt --tls-key ca/e1.key
fails "a key file that cannot be read" \
    "DDE_ERR_IO: cannot read the client key file ca/missing.key: No such file or directory" \
    --broker "$MTLS" --ca-file ca/ca.crt --tls-cert ca/r.crt --tls-key ca/missing.key
fails "a wrong password: the CONNACK reason" \
    "DDE_ERR_TRANSPORT: the MQTT broker at .* refused user '${PK[r]}' \(CONNACK 5, Connection Refused: not authorised.\): check the user name and the password" \
    --broker "$PASSWORD" --ca-file ca/ca.crt --username "${PK[r]}" --password-file wrong.password
fails "no credentials where the broker wants them" \
    "DDE_ERR_TRANSPORT: .*refused the connection \(CONNACK 5, .*\): it needs credentials" \
    --broker "$PASSWORD" --ca-file ca/ca.crt
fails "a password file that cannot be read" \
    "DDE_ERR_IO: cannot read the password file missing.password: No such file or directory" \
    --broker "$PASSWORD" --ca-file ca/ca.crt --username "${PK[r]}" --password-file missing.password
fails "a password for plain mqtt:// is refused before connecting" \
    "DDE_ERR_ARGUMENT: a password over mqtt:// would cross the network in clear text" \
    --broker "$PLAIN" --username "${PK[r]}" --password-file r.password
fails "a wrong pre-shared key" \
    "DDE_ERR_TRANSPORT: .*the broker refused the pre-shared key" \
    --broker "$PSK" --psk-file wrong.psk
fails "TLS to a plain listener" "DDE_ERR_TRANSPORT: TLS with the MQTT broker at 127.0.0.1:$P failed" \
    --broker "mqtts://127.0.0.1:$P" --ca-file ca/ca.crt
fails "no broker listening" "DDE_ERR_TRANSPORT: cannot connect to the MQTT broker at 127.0.0.1:$((P + 9)): Connection refused" \
    --broker "mqtts://127.0.0.1:$((P + 9))" $(cert r)
# The name lookup is bounded by the connect timeout (5 s): a DNS server that never answers, in a
# mount and network namespace of its own (resolv.conf bound over, a silent server on its
# 127.0.0.1:53), where glibc alone would wait 2 x 15 s. Needs unshare (root); skipped without it.
cat > silent-dns.py <<'PY'
import socket
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); udp.bind(("127.0.0.1", 53))
tcp = socket.socket(); tcp.bind(("127.0.0.1", 53)); tcp.listen(8)
print("ready", flush=True)
while True:
    udp.recvfrom(4096)
PY
printf 'nameserver 127.0.0.1\noptions timeout:15 attempts:2\n' > resolv-silent.conf
if unshare -mn true 2>/dev/null && command -v ip >/dev/null; then
    start=$SECONDS
    unshare -mn bash -c "ip link set lo up && mount --bind resolv-silent.conf /etc/resolv.conf || exit 1
        timeout 60 python3 silent-dns.py > dns.out 2>&1 & dns=\$!
        for i in \$(seq 50); do grep -q ready dns.out && break; sleep 0.1; done
        timeout 60 '$DDE' code publish --broker mqtts://broker.dde-test.example --ca-file ca/ca.crt counter.wasm 2> dns.err
        kill \$dns" || true
    took=$((SECONDS - start))
    check "the name lookup is bounded by the connect timeout ($took s for a DNS server that never answers)" \
        bash -c "[ $took -le 10 ] && grep -q \"DDE_ERR_TRANSPORT: looking up the MQTT broker's host name 'broker.dde-test.example' did not finish within 5000 ms\" dns.err"
else
    echo "skip the name lookup bound: unshare -mn is not permitted here"
fi
check "the PSK listener takes the right pre-shared key" "$DDE" code publish --broker "$PSK" --psk-file r.psk counter.wasm
check "the C example names the cause too (wrong host name)" \
    bash -c "! ./delegate $(cert rc) '$WRONGNAME' rc.db rc.key counter.wasm > c-fail.log 2>&1 && grep -q 'host name mismatch' c-fail.log"
check "  and commits nothing" test "$(receipts rc.db)" = 2

# ---- the ACL, with the real broker
# A witness on the plain listener (no ACL) sees everything published under dde/v1/.
timeout 120 mosquitto_sub -h 127.0.0.1 -p "$P" -v -t 'dde/v1/#' -t 'fence/#' > witness.log 2>&1 &
PIDS+=($!)
# mosquitto_sub says nothing once subscribed: publish until a message comes back.
for i in $(seq 100); do
    mosquitto_pub -h 127.0.0.1 -p "$P" -t fence/witness -m "fence-$i"
    grep -q '^fence/witness' witness.log && break
    sleep 0.1
done
as() { # DEVICE mosquitto_pub options: publish as DEVICE, by its certificate, on the mTLS listener
    local d=$1; shift
    mosquitto_pub -h 127.0.0.1 -p "$((P + 1))" --cafile ca/ca.crt --cert "ca/$d.crt" --key "ca/$d.key" -q 1 "$@"
}
# One message after the other, each acknowledged (QoS 1) before the next is sent: the broker
# handles them in that order, so when the last has arrived the refused ones would have too.
as x -t "dde/v1/executors/${PK[e1]}" -m forged-presence-under-e1
as x -t "dde/v1/results/${PK[rc]}" -m forged-result-for-rc
as x -t "dde/v1/executors/${PK[x]}" -m own-presence-of-x
as x -t "dde/v1/results/${PK[r]}" -m result-for-r-whom-x-serves
wait_for_log witness.log result-for-r-whom-x-serves 10 || true
check "ACL: an executor's presence under its own key arrives" grep -q "^dde/v1/executors/${PK[x]} own-presence-of-x" witness.log
check "ACL: its results for a requester it serves arrive" grep -q "^dde/v1/results/${PK[r]} result-for-r-whom-x-serves" witness.log
check "ACL: its presence under another executor's key never arrives" bash -c "! grep -q forged-presence-under-e1 witness.log"
check "ACL: its results on another requester's topic never arrive" bash -c "! grep -q forged-result-for-rc witness.log"
# A requester reads only its own results: rc subscribes to its topic and to r's.
timeout 120 mosquitto_sub -h 127.0.0.1 -p "$((P + 1))" --cafile ca/ca.crt --cert ca/rc.crt --key ca/rc.key -v \
    -t "dde/v1/results/${PK[r]}" -t "dde/v1/results/${PK[rc]}" > rc-reads.log 2>&1 &
PIDS+=($!)
for i in $(seq 100); do
    as e1 -t "dde/v1/results/${PK[rc]}" -m "fence-$i"
    grep -q fence- rc-reads.log && break
    sleep 0.1
done
as e1 -t "dde/v1/results/${PK[r]}" -m for-r-only
as e1 -t "dde/v1/results/${PK[rc]}" -m for-rc
wait_for_log rc-reads.log for-rc 10 || true
check "ACL: a requester reads its own results" grep -q "^dde/v1/results/${PK[rc]} for-rc" rc-reads.log
check "ACL: a requester never reads another requester's results" bash -c "! grep -q for-r-only rc-reads.log"
check "  (the broker did deliver them, to the witness)" grep -q "^dde/v1/results/${PK[r]} for-r-only" witness.log

# ---- forged presence, where no ACL applies, is ignored by the requester
# e1's genuine presence, retained on the broker.
for i in $(seq 20); do
    timeout 10 mosquitto_sub -h 127.0.0.1 -p "$P" -t "dde/v1/executors/${PK[e1]}" -C 1 -W 5 > e1-presence.json 2>/dev/null || true
    [ -s e1-presence.json ] && break
    sleep 0.2
done
FAKE1=$(openssl rand -hex 32)
FAKE2=$(openssl rand -hex 32)
python3 - "$FAKE1" e1-presence.json > forged-presence.json <<'PY' || true
import json, sys
envelope = json.load(open(sys.argv[2]))
envelope["payload"]["executorPublicKey"] = sys.argv[1]   # a key nobody runs, a signature that is not its
print(json.dumps(envelope, separators=(",", ":"), sort_keys=True))
PY
mosquitto_pub -h 127.0.0.1 -p "$P" -q 1 -r -t "dde/v1/executors/$FAKE1" -f forged-presence.json
mosquitto_pub -h 127.0.0.1 -p "$P" -q 1 -r -t "dde/v1/executors/$FAKE2" -f e1-presence.json  # genuine, replayed elsewhere
check "the forged presences are on the broker (retained)" bash -c "timeout 10 mosquitto_sub -h 127.0.0.1 -p $P -t 'dde/v1/executors/+' -C 4 -W 5 -v | grep -c -e $FAKE1 -e $FAKE2 | grep -qx 2"
rc=0
timeout 60 "$DDE" delegate --broker "$MTLS" $(cert r) --key r.key --store r.db "${TASK[@]}" --fanout 4 --discover 1500 \
    > /dev/null 2> delegate-forged.log || rc=$?
check "forged presence is ignored: two executors known, the delegation commits (exit $rc)" \
    bash -c "[ $rc = 0 ] && grep -q '2 executor(s) announced' delegate-forged.log"
check "  and neither forged key is asked" bash -c "! grep -q -e ${FAKE1:0:8} -e ${FAKE2:0:8} delegate-forged.log"

# ---- passwords end to end, and no secret anywhere
# The process list, all along the password-authenticated runs.
(while :; do ps -ww -eo args; sleep 0.05; done) > ps.log 2>&1 &
PSLOOP=$!
PIDS+=($PSLOOP)
DDE_TEST_PASSWORD=$(cat e3.password) timeout 300 "$DDE" node --broker "$PASSWORD" --ca-file ca/ca.crt \
    --username "${PK[e3]}" --password-env DDE_TEST_PASSWORD --key e3.key --code code-e3 --name e3 2> e3.log &
PIDS+=($!)
wait_for_log e3.log ready 30 || true
rc=0
timeout 60 "$DDE" delegate --broker "$PASSWORD" --ca-file ca/ca.crt --username "${PK[r]}" --password-file r.password \
    --key r.key --store r.db "${TASK[@]}" --fanout 4 > /dev/null 2> delegate-password.log || rc=$?
check "a user name and password file over mqtts:// commits, and the password node (variable) is known (exit $rc)" \
    bash -c "[ $rc = 0 ] && grep -q '3 executor(s) announced' delegate-password.log"
kill "$PSLOOP" 2>/dev/null || true
check "the process list was captured (the node and the requester in it)" \
    bash -c "grep -q -- '--password-env DDE_TEST_PASSWORD' ps.log && grep -q -- '--password-file r.password' ps.log"
# Every secret of this test, in the forms a leak would take: passwords, pre-shared keys, the dde
# secret keys (seed in hex and base64, seed||public key in hex and base64), the TLS private keys.
secrets() {
    cat r.password e3.password wrong.password
    cut -d: -f2 r.psk wrong.psk
    for d in r rc rp e1 e2 e3 x; do
        python3 - "$d.key" <<'PY'
import base64, json, sys
k = json.load(open(sys.argv[1]))
seed, pk = bytes.fromhex(k["seed"]), bytes.fromhex(k["publicKey"])
for raw in (seed, seed + pk):
    print(raw.hex()); print(base64.b64encode(raw).decode()); print(base64.urlsafe_b64encode(raw).decode().rstrip("="))
PY
        sed -n '2p' "ca/$d.key"
    done
}
secrets > secrets.txt
logs=(*.log *.err *.out *.json broker/broker.log)
check "the logs are there to search ($(cat "${logs[@]}" | wc -l) lines)" bash -c "[ \$(cat ${logs[*]} | wc -l) -gt 50 ]"
check "no password, pre-shared key or secret key in any output, log line or process list" \
    bash -c "! grep -F -f secrets.txt ${logs[*]}"

finish
