#!/usr/bin/env python3
"""liar_executor.py: an independent, dishonest DDE executor, written from the docs alone.

It speaks the dde protocol over MQTT (docs/PROTOCOL.md sections 2, 3, 5, 6, 10; docs/NETWORK.md;
tasks of taskVersion 1 and 2, the second with the v2 state tree of section 6.2)
and answers every compute_task offer addressed to it with a *consistent lie*: a compute_result
whose proof is validly signed and passes every check of PROTOCOL.md section 7 (no re-execution),
but whose result and state writes were never computed. It runs no WebAssembly at all; only a
re-execution (`dde audit`, EXECUTION.md section 7) exposes the lie, by `executionTraceHash` or by
whichever field it reaches first.

With --identities N it holds N Ed25519 keys that all return the SAME lie for a task (colluding:
they agree on resultHash, nextStateRoot, stateWritesHash and executionTraceHash, which is what a
quorum compares, PROTOCOL.md section 11). With --grind each key is ground so its public key bytes
sort first (0x00..., as low as a bounded search gets).

Modes:
  network: --broker mqtt://127.0.0.1:PORT [--identities N] [--grind] [--lie-kind K]
  offline: --task task.json --out result.json   (one lying compute_result, for `dde verify`)

Written without reading the dde executor's source; no dde library is used. Dependencies:
PyNaCl (Ed25519), rfc8785 (JCS), paho-mqtt (1.x or 2.x callback API). Licence: as the project.
"""

import argparse
import base64
import hashlib
import json
import os
import signal
import sys
import threading
import time

import nacl.signing
import rfc8785

# --------------------------------------------------------------------------------------------
# Encodings (PROTOCOL.md section 2)
# --------------------------------------------------------------------------------------------

CAPABILITIES = ["crypto.hash", "crypto.verify", "log", "state.read", "state.write"]  # sorted by bytes
EMPTY_ROOT = hashlib.sha256(b"").hexdigest()


def jcs(obj) -> bytes:
    """RFC 8785 canonical bytes (section 2: 'Canonical JSON')."""
    return rfc8785.dumps(obj)


def H(obj) -> str:
    """H(x) = lowercase hex SHA-256 of the JCS bytes of x (section 2)."""
    return hashlib.sha256(jcs(obj)).hexdigest()


def now_ms() -> int:
    return int(time.time() * 1000)


class Identity:
    """One Ed25519 key the liar controls (section 2: 'Signing')."""

    def __init__(self, seed: bytes):
        self.seed = seed
        self.sk = nacl.signing.SigningKey(seed)
        self.pk = self.sk.verify_key.encode()
        self.pk_hex = self.pk.hex()

    def sign(self, kind: str, hash_hex: str) -> str:
        """Signature over "dde/v1/" || KIND || 0x00 || raw32(hash), 128 lowercase hex (section 2)."""
        msg = b"dde/v1/" + kind.encode("ascii") + b"\x00" + bytes.fromhex(hash_hex)
        return self.sk.sign(msg).signature.hex()


def load_key_file(path: str) -> Identity:
    """A `dde keygen` file: {"kind":"dde-ed25519-key","publicKey":…,"seed":…} (seen in its output)."""
    with open(path) as f:
        doc = json.load(f)
    ident = Identity(bytes.fromhex(doc["seed"]))
    if doc.get("publicKey") and doc["publicKey"] != ident.pk_hex:
        raise SystemExit(f"{path}: publicKey does not match the seed")
    return ident


def grind_identity(tries: int) -> Identity:
    """A key whose public key sorts low by bytes: at least `tries` random seeds, keeping the lowest
    public key, and never stopping before its first byte is 0x00 (about 256 tries expected)."""
    best_seed, best_pk = None, None
    n = 0
    while n < tries or best_pk[0] != 0:
        seed = os.urandom(32)
        pk = nacl.signing.SigningKey(seed).verify_key.encode()
        if best_pk is None or pk < best_pk:
            best_seed, best_pk = seed, pk
        n += 1
    return Identity(best_seed)


# --------------------------------------------------------------------------------------------
# State root (PROTOCOL.md section 6): RFC 6962 Merkle tree over entries sorted by key bytes
# --------------------------------------------------------------------------------------------

def _leaf(key: bytes, value: bytes) -> bytes:
    # leaf(key, value) = SHA-256(0x00 || u32be(len(key)) || key || SHA-256(value))
    return hashlib.sha256(b"\x00" + len(key).to_bytes(4, "big") + key + hashlib.sha256(value).digest()).digest()


def _mth(leaves):
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return leaves[0]
    k = 1
    while k * 2 < n:  # k = the largest power of two < n
        k *= 2
    return hashlib.sha256(b"\x01" + _mth(leaves[:k]) + _mth(leaves[k:])).digest()


def state_root(entries: dict) -> str:
    """entries: key (str) -> value (bytes). Lowercase hex root."""
    items = sorted(((k.encode("utf-8"), v) for k, v in entries.items()), key=lambda kv: kv[0])
    return _mth([_leaf(k, v) for k, v in items]).hex()


def decode_state(state) -> dict:
    """Task `state` (key -> standard base64 with padding, section 2 'Bytes'; in a taskVersion 2
    task null for a key proven absent, section 3) -> key -> bytes, absent keys left out."""
    return {k: base64.b64decode(v, validate=True) for k, v in (state or {}).items() if v is not None}


# --------------------------------------------------------------------------------------------
# The v2 state tree (PROTOCOL.md section 6.2): a taskVersion 2 task carries some keys and one
# proof of them against previousStateRoot; the root after writes to those keys follows from the
# proof alone. Items of the proof, in pre-order after the 32-byte root:
#   0x00 empty | 0x01 node (left, right) | 0x02 valueHash: the one proven key's leaf |
#   0x03 path valueHash: another leaf | 0x04 hash: one-leaf subtree | 0x05 hash: larger subtree
# --------------------------------------------------------------------------------------------

_EMPTY = (0, hashlib.sha256(b"").digest())


def _bit(path: bytes, i: int) -> int:
    return (path[i // 8] >> (7 - i % 8)) & 1


def _v2_leaf(path: bytes, value_hash: bytes) -> tuple:
    return (1, hashlib.sha256(b"\x02" + path + value_hash).digest())


def _combine(l: tuple, r: tuple) -> tuple:
    """The compact rule: nothing, one leaf (that leaf's hash), or a node hashing the kinds."""
    if l[0] == 0 and r[0] == 0:
        return _EMPTY
    if l[0] == 0 and r[0] == 1:
        return r
    if l[0] == 1 and r[0] == 0:
        return l
    return (2, hashlib.sha256(bytes([3, l[0], r[0]]) + l[1] + r[1]).digest())


def _parse_proof(data: bytes, proven: list):
    """The proof's tree: ("E",), ("B", l, r), ("L", path, valueHash), ("S", (kind, hash))."""
    pos = [32]

    def item(paths, depth):
        tag = data[pos[0]]
        pos[0] += 1
        if tag == 0:
            return ("E",)
        if tag == 1:
            left = [p for p in paths if _bit(p, depth) == 0]
            right = [p for p in paths if _bit(p, depth) == 1]
            return ("B", item(left, depth + 1), item(right, depth + 1))
        if tag == 2:
            vh = data[pos[0]:pos[0] + 32]
            pos[0] += 32
            return ("L", paths[0], vh)
        if tag == 3:
            path, vh = data[pos[0]:pos[0] + 32], data[pos[0] + 32:pos[0] + 64]
            pos[0] += 64
            return ("L", path, vh)
        h = data[pos[0]:pos[0] + 32]
        pos[0] += 32
        return ("S", (1 if tag == 4 else 2, h))

    return item(sorted(proven), 0)


def _fold(node) -> tuple:
    if node[0] == "E":
        return _EMPTY
    if node[0] == "L":
        return _v2_leaf(node[1], node[2])
    if node[0] == "S":
        return node[1]
    return _combine(_fold(node[1]), _fold(node[2]))


def _write(node, path: bytes, value_hash, depth: int):
    """The subtree with `path`'s leaf set to value_hash (None: removed)."""
    if node[0] == "E":
        return ("E",) if value_hash is None else ("L", path, value_hash)
    if node[0] == "L":
        if node[1] == path:
            return ("E",) if value_hash is None else ("L", path, value_hash)
        if value_hash is None:
            return node
        mine, other = ("L", path, value_hash), node
        d = depth
        while _bit(path, d) == _bit(other[1], d):
            d += 1
        out = ("B", other, mine) if _bit(path, d) else ("B", mine, other)
        while d > depth:
            d -= 1
            out = ("B", ("E",), out) if _bit(path, d) else ("B", out, ("E",))
        return out
    if node[0] == "B":
        if _bit(path, depth):
            return ("B", node[1], _write(node[2], path, value_hash, depth + 1))
        return ("B", _write(node[1], path, value_hash, depth + 1), node[2])
    return node


def next_root_v2(task: dict, writes: dict) -> str:
    """nextStateRoot of a taskVersion 2 task: its proof's tree with the writes applied, folded."""
    proof = base64.b64decode(task["stateProof"], validate=True)
    tree = _parse_proof(proof, [hashlib.sha256(k.encode()).digest() for k in task["state"]])
    for k, v in sorted(writes.items()):
        vh = None if v is None else hashlib.sha256(base64.b64decode(v)).digest()
        tree = _write(tree, hashlib.sha256(k.encode()).digest(), vh, 0)
    return _fold(tree)[1].hex()


def apply_writes(state: dict, writes: dict) -> dict:
    """stateWrites: key -> base64 new value, or None (JSON null) for a delete (section 5)."""
    out = dict(state)
    for k, v in writes.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = base64.b64decode(v)
    return out


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# --------------------------------------------------------------------------------------------
# The lies. Each returns (result, writes, capabilitiesUsed-wish). Writes hold only keys whose
# value really changes (EXECUTION.md section 6), so the lie even looks like an honest write set.
# --------------------------------------------------------------------------------------------

def _dec(state: dict, key: str) -> int:
    raw = state.get(key)
    try:
        return int(raw.decode("ascii")) if raw else 0
    except ValueError:
        return 0


def lie_counter(task, state):
    # Honest: count+1 under "count" (EXECUTION.md section 8). Lie: count+1000.
    n = _dec(state, "count") + 1000
    return {"count": n}, {"count": b64(str(n).encode())}, ["state.read", "state.write"]


def lie_wallet(task, state):
    # Honest send: F -= A, T += A, or an "insufficient funds" answer (EXECUTION.md section 8).
    # Lie: T is credited, F is never debited, and overdrafts "succeed". Mint: T gets A + 1000.
    payload = task["intent"].get("payload")
    if not isinstance(payload, dict) or not isinstance(payload.get("to"), str):
        return lie_generic(task, state)
    amount = payload.get("amount") if isinstance(payload.get("amount"), int) else 0
    to_key = "balance/" + payload["to"]
    if task["intent"]["action"] == "mint":
        t = _dec(state, to_key) + amount + 1000
        return {"ok": True, "to": t}, {to_key: b64(str(t).encode())}, ["state.read", "state.write"]
    frm = payload.get("from") if isinstance(payload.get("from"), str) else payload["to"]
    f = _dec(state, "balance/" + frm)
    t = _dec(state, to_key) + amount
    if frm == payload["to"]:
        t = f  # sending to oneself: one key, leave it
    writes = {} if frm == payload["to"] or amount == 0 else {to_key: b64(str(t).encode())}
    return {"from": f, "ok": True, "to": t}, writes, ["state.read", "state.write"]


def lie_hashchain(task, state):
    # Honest: {"hash": SHA-256^N(32 zero bytes), "n": N}. Lie: a hash nobody computed.
    p = task["intent"].get("payload")
    n = p if isinstance(p, int) and 1 <= p <= 999_999_999 else 4000
    return {"hash": hashlib.sha256(b"liar/" + task["taskId"].encode()).hexdigest(), "n": n}, {}, []


def lie_generic(task, state):
    # Any dApp: a made-up result; one made-up write when the task may write state.
    writes = {}
    if "state.write" in task["requiredCapabilities"] and state.get("liar") != b"1":
        writes = {"liar": b64(b"1")}
    return {"liar": True, "ok": True}, writes, ["state.write"] if writes else []


LIES = {"counter": lie_counter, "wallet": lie_wallet, "hashchain": lie_hashchain, "generic": lie_generic}


def pick_lie(kind: str, task):
    if kind != "auto":
        return LIES[kind]
    dapp, action = task["dappId"], task["intent"]["action"]
    if dapp == "counter" and action == "increment":
        return lie_counter
    if dapp == "wallet" and action in ("send", "mint"):
        return lie_wallet
    if dapp == "hashchain" and action == "run":
        return lie_hashchain
    return lie_generic


class Lie:
    """The part of an answer every colluding identity shares for one task: what a quorum compares
    (resultHash, nextStateRoot, stateWritesHash, executionTraceHash) and everything else that is
    not per-executor. Deterministic in the task, so N identities agree byte for byte."""

    def __init__(self, task: dict, kind: str):
        fn = pick_lie(kind, task)
        self.kind = fn.__name__[4:]
        state = decode_state(task.get("state"))
        result, writes, used = fn(task, state)
        declared = task["requiredCapabilities"]
        self.result = result
        self.writes = writes
        # Check 5: capabilitiesUsed must be a subset of capabilitiesDeclared (sorted, unique).
        self.used = sorted({c for c in used if c in declared}, key=lambda c: c.encode())
        # Check 7: resultHash = H(result), stateWritesHash = H(stateWrites).
        self.result_hash = H(result)
        self.writes_hash = H(writes)
        if task.get("taskVersion") == 2:
            # A v2 task: only keys it carries can be written (check 8), and the next root comes
            # from its proof and the writes (section 6.2).
            writes = {k: v for k, v in writes.items() if k in task["state"]}
            self.writes = writes
            self.writes_hash = H(writes)
            self.next_root = next_root_v2(task, writes)
        else:
            # Check 8: nextStateRoot = root(task state + writes), section 6.1.
            self.next_root = state_root(apply_writes(state, writes))
        # Not checked without re-execution: any 32-byte hash (EXECUTION.md section 4 is skipped).
        self.trace_hash = hashlib.sha256(b"liar/trace/" + task["taskId"].encode()).hexdigest()
        # Check 6: traceLength <= maxExecutionSteps, fuelUsed <= maxFuel; plausible small values.
        self.trace_length = min(task["maxExecutionSteps"], 4)
        self.fuel_used = min(task["maxFuel"], 1000 + int(self.trace_hash[:4], 16) % 1000)


def make_result(task: dict, lie: Lie, ident: Identity, latency_ms: int) -> dict:
    """A compute_result (PROTOCOL.md section 5) carrying a proof signed with kind `proof`."""
    proof = {
        "proofVersion": 1,
        # Checks 2-4: copied from the task.
        "taskId": task["taskId"],
        "dappId": task["dappId"],
        "dappCodeHash": task["dappCodeHash"],
        "action": task["intent"]["action"],
        "inputHash": task["inputHash"],
        # Check 5: declared = the task's requiredCapabilities.
        "capabilitiesDeclared": task["requiredCapabilities"],
        "capabilitiesUsed": lie.used,
        "executionTraceHash": lie.trace_hash,
        "traceLength": lie.trace_length,
        "fuelUsed": lie.fuel_used,
        "resultHash": lie.result_hash,
        # Check 8: previousStateRoot = the task's.
        "previousStateRoot": task["previousStateRoot"],
        "nextStateRoot": lie.next_root,
        "stateWritesHash": lie.writes_hash,
        "executorPublicKey": ident.pk_hex,
        "timestamp": now_ms(),
    }
    # Check 9: signature of kind `proof` over H(proof without signature).
    proof["signature"] = ident.sign("proof", H(proof))
    # Check 1: the outer taskId, resultHash, executorPublicKey equal the proof's.
    return {
        "taskId": task["taskId"],
        "proof": proof,
        "result": lie.result,
        "stateWrites": lie.writes,
        "resultHash": lie.result_hash,
        "executorPublicKey": ident.pk_hex,
        "executionLatency": latency_ms,  # unsigned, advisory (section 5 Decision)
    }


# --------------------------------------------------------------------------------------------
# Messages (PROTOCOL.md section 10)
# --------------------------------------------------------------------------------------------

T_TASKS = "dde/v1/tasks"


def envelope(msg_type: str, payload) -> bytes:
    """{"payload":…,"type":…,"v":1} as its RFC 8785 bytes (section 10, Envelope)."""
    return jcs({"payload": payload, "type": msg_type, "v": 1})


def presence_message(ident: Identity, max_tasks: int, capabilities=None) -> bytes:
    """The retained presence on dde/v1/executors/<pk> (section 10, Decision (presence)): dated,
    and signed with kind `presence` over H(payload without signature). No capabilities: the
    identity withdraws (requesters ignore the unsigned empty payload)."""
    payload = {
        "capabilities": CAPABILITIES if capabilities is None else capabilities,  # the liar "grants" everything
        "executorPublicKey": ident.pk_hex,
        "maxComputeTasksPerPeer": max_tasks,
        "timestamp": int(time.time() * 1000),
    }
    payload["signature"] = ident.sign("presence", H(payload))
    return envelope("presence", payload)


def presence_topic(ident: Identity) -> str:
    return "dde/v1/executors/" + ident.pk_hex


def results_topic(requester_pk: str) -> str:
    return "dde/v1/results/" + requester_pk


# --------------------------------------------------------------------------------------------
# Network mode
# --------------------------------------------------------------------------------------------

def log(line: str):
    sys.stderr.write("liar: " + line + "\n")
    sys.stderr.flush()


def parse_broker(url: str):
    if not url.startswith("mqtt://"):
        raise SystemExit("--broker must be mqtt://host[:port]")
    rest = url[len("mqtt://"):].rstrip("/")
    if rest.startswith("["):
        host, _, port = rest[1:].partition("]")
        port = port.lstrip(":")
    else:
        host, _, port = rest.rpartition(":") if ":" in rest else (rest, "", "")
    return host, int(port) if port else 1883


class LiarNode:
    def __init__(self, identities, lie_kind: str, max_tasks: int, broker: str):
        import socket

        import paho.mqtt.client as mqtt

        self.mqtt = mqtt
        self.ids = {i.pk_hex: i for i in identities}
        self.lie_kind = lie_kind
        self.max_tasks = max_tasks
        self.seen = set()  # (taskId, pk): QoS 1 may deliver an offer twice (section 10)
        self.lock = threading.Lock()
        self.host, self.port = parse_broker(broker)
        self.connected = threading.Event()
        client_id = "dde-liar-" + identities[0].pk_hex[:12]  # <= 23 bytes
        if hasattr(mqtt, "CallbackAPIVersion"):  # paho-mqtt 2.x
            self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                                      clean_session=True, protocol=mqtt.MQTTv311)
        else:  # paho-mqtt 1.x
            self.client = mqtt.Client(client_id=client_id, clean_session=True, protocol=mqtt.MQTTv311)
        self.client.max_inflight_messages_set(1000)
        self.client.max_queued_messages_set(0)

        def on_socket_open(client, userdata, sock):
            # NETWORK.md section 1: without TCP_NODELAY every round trip stalls ~88 ms.
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass

        self.client.on_socket_open = on_socket_open
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message

    # paho 1.x: (client, userdata, flags, rc); 2.x VERSION2: (client, userdata, flags, rc, props)
    def _on_connect(self, client, userdata, flags, rc, *props):
        code = getattr(rc, "value", rc)
        if code != 0:
            log(f"CONNACK refused: {rc}")
            return
        client.subscribe(T_TASKS, qos=1)
        for ident in self.ids.values():
            client.publish(presence_topic(ident), presence_message(ident, self.max_tasks), qos=1, retain=True)
        self.connected.set()

    def _on_message(self, client, userdata, msg):
        received = time.monotonic()
        try:
            env = json.loads(msg.payload)
            if env.get("v") != 1 or env.get("type") != "compute_task":
                return
            offer = env["payload"]
            task = offer["task"]
            addressed = offer.get("executors") or []
            targets = [self.ids[k] for k in addressed if k in self.ids] if addressed else list(self.ids.values())
            if not targets:
                return
            requester = task["requesterPublicKey"]
            lie = None
            for ident in targets:
                with self.lock:
                    key = (task["taskId"], ident.pk_hex)
                    if key in self.seen:
                        continue
                    self.seen.add(key)
                    if len(self.seen) > 100000:
                        self.seen.clear()
                if lie is None:
                    lie = Lie(task, self.lie_kind)  # the same lie for every colluding identity
                latency = int((time.monotonic() - received) * 1000)
                result = make_result(task, lie, ident, latency)
                client.publish(results_topic(requester), envelope("compute_result", result), qos=1)
                us = int((time.monotonic() - received) * 1e6)
                log(f"answered task {task['taskId'][:12]} of {requester[:12]} as {ident.pk_hex[:12]}: "
                    f"lie {lie.kind} result {jcs(lie.result).decode()} writes {len(lie.writes)} "
                    f"resultHash {lie.result_hash[:12]} nextStateRoot {lie.next_root[:12]} in {us} us")
        except Exception as e:  # nothing a peer sends stops it
            log(f"ignored a message on {msg.topic}: {type(e).__name__}: {e}")

    def run(self):
        stop = threading.Event()

        def on_signal(signum, frame):
            stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        try:
            self.client.connect(self.host, self.port, keepalive=30)
        except OSError as e:
            log(f"cannot connect to {self.host}:{self.port}: {e}")
            return 100  # DDE_ERR_TRANSPORT, as dde does
        self.client.loop_start()
        if not self.connected.wait(10):
            log(f"no CONNACK from {self.host}:{self.port} within 10 s")
            self.client.loop_stop()
            return 100
        log(f"ready on {self.host}:{self.port} with {len(self.ids)} identities: " + " ".join(self.ids))
        while not stop.wait(0.2):
            pass
        # Withdraw presence: a signed presence with no capabilities on each presence topic
        # (section 10; an empty payload would be unsigned, and requesters ignore those).
        infos = [self.client.publish(presence_topic(i), presence_message(i, self.max_tasks, capabilities=[]),
                                     qos=1, retain=True) for i in self.ids.values()]
        for info in infos:
            try:
                info.wait_for_publish(timeout=5)
            except Exception as e:  # exiting anyway: say why
                log(f"clearing presence failed: {e}")
            else:
                if not info.is_published():
                    log("gave up after 5 s waiting for the broker to acknowledge a cleared presence")
        self.client.disconnect()
        self.client.loop_stop()
        log("presence cleared, exiting")
        return 0


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(
        description="A dishonest dde executor written from the docs alone: answers compute_task offers "
                    "with validly signed, self-consistent lies that pass `dde verify` and fail `dde audit`. "
                    "It runs no WebAssembly.")
    ap.add_argument("--broker", help="MQTT broker, mqtt://host[:port] (network mode)")
    ap.add_argument("--identities", type=int, default=1,
                    help="number of colluding Ed25519 identities, all returning the same lie (default 1)")
    ap.add_argument("--key", action="append", default=[],
                    help="a `dde keygen` key file to use as an identity (repeat); the rest are generated")
    ap.add_argument("--grind", action="store_true",
                    help="grind generated keys so their public keys sort first by bytes (0x00...)")
    ap.add_argument("--grind-tries", type=int, default=1 << 16,
                    help="seeds tried per ground key, lowest kept (default 65536, ~1.5 s per key)")
    ap.add_argument("--lie-kind", choices=["auto"] + sorted(LIES), default="auto",
                    help="which lie: counter (count+1000), wallet (credit without debit), hashchain "
                         "(made-up hash), generic (made-up result and write); auto picks by dappId/action")
    ap.add_argument("--max-tasks-per-peer", type=int, default=4, help="maxComputeTasksPerPeer announced")
    ap.add_argument("--task", help="offline mode: a task JSON file (a bare task or a compute_task envelope)")
    ap.add_argument("--out", help="offline mode: where to write the lying compute_result ('-' for stdout)")
    args = ap.parse_args(argv)

    if args.identities < 1 or args.identities < len(args.key):
        args.identities = max(1, len(args.key))
    identities = [load_key_file(p) for p in args.key]
    while len(identities) < args.identities:
        t0 = time.monotonic()
        ident = grind_identity(args.grind_tries) if args.grind else Identity(os.urandom(32))
        if args.grind:
            log(f"ground key {ident.pk_hex} in {time.monotonic() - t0:.1f} s")
        identities.append(ident)

    if args.task:
        if not args.out:
            ap.error("--task needs --out")
        with open(args.task) as f:
            doc = json.load(f)
        if doc.get("type") == "compute_task":
            doc = doc["payload"]["task"]
        lie = Lie(doc, args.lie_kind)
        result = make_result(doc, lie, identities[0], 0)
        data = jcs(result)
        if args.out == "-":
            sys.stdout.buffer.write(data + b"\n")
        else:
            with open(args.out, "wb") as f:
                f.write(data)
        log(f"wrote a {lie.kind} lie for task {doc['taskId'][:12]} as {identities[0].pk_hex[:12]}: "
            f"result {jcs(lie.result).decode()}")
        return 0
    if not args.broker:
        ap.error("give --broker (network mode) or --task and --out (offline mode)")
    return LiarNode(identities, args.lie_kind, args.max_tasks_per_peer, args.broker).run()


if __name__ == "__main__":
    sys.exit(main())
