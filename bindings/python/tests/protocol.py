"""The dde protocol written out in pure Python (rfc8785 + hashlib + PyNaCl), from docs/PROTOCOL.md
alone: a second, independent writer of tasks and compute_results to test the library against.
Nothing here imports dde.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import struct
from typing import Dict, Iterable, List, Optional, Tuple

import rfc8785
from nacl.signing import SigningKey

CAPABILITIES = ["crypto.hash", "crypto.verify", "log", "state.read", "state.write"]


def jcs(value) -> bytes:
    """RFC 8785 canonical bytes (section 2)."""
    return rfc8785.dumps(value)


def H(value) -> str:
    """Lowercase hex SHA-256 of the JCS bytes (section 2)."""
    return hashlib.sha256(jcs(value)).hexdigest()


def sign_message(kind: str, digest_hex: str) -> bytes:
    """"dde/v1/" || KIND || 0x00 || raw32(hash) (section 2)."""
    return b"dde/v1/" + kind.encode() + b"\x00" + bytes.fromhex(digest_hex)


def sign(key: SigningKey, kind: str, digest_hex: str) -> str:
    return key.sign(sign_message(kind, digest_hex)).signature.hex()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# ---- State root (section 6): RFC 6962 Merkle tree over entries sorted by key bytes ------------

def _leaf(key: bytes, value: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + struct.pack(">I", len(key)) + key + hashlib.sha256(value).digest()).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _root(leaves: List[bytes]) -> bytes:
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return _node(_root(leaves[:k]), _root(leaves[k:]))


def state_root(state: Dict[str, bytes]) -> str:
    entries = sorted((k.encode("utf-8"), v) for k, v in state.items())
    return _root([_leaf(k, v) for k, v in entries]).hex()


def _bit(path: bytes, i: int) -> int:
    return (path[i // 8] >> (7 - i % 8)) & 1


def _tree(leaves, depth):
    """(kind, hash) of the v2 state tree over (path, valueHash) leaves at `depth` (section 6.2)."""
    if not leaves:
        return (0, hashlib.sha256(b"").digest())
    if len(leaves) == 1:
        return (1, hashlib.sha256(b"\x02" + leaves[0][0] + leaves[0][1]).digest())
    l = _tree([x for x in leaves if _bit(x[0], depth) == 0], depth + 1)
    r = _tree([x for x in leaves if _bit(x[0], depth) == 1], depth + 1)
    if l[0] == 0 and r[0] == 0:
        return l
    if {l[0], r[0]} == {0, 1}:
        return l if l[0] == 1 else r
    return (2, hashlib.sha256(bytes([3, l[0], r[0]]) + l[1] + r[1]).digest())


def tree_root(state: Dict[str, bytes]) -> str:
    """The v2 state tree root (section 6.2): a compact sparse Merkle tree on SHA-256(key)."""
    leaves = sorted((hashlib.sha256(k.encode("utf-8")).digest(), hashlib.sha256(v).digest()) for k, v in state.items())
    return _tree(leaves, 0)[1].hex()


def apply_writes(state: Dict[str, bytes], writes: Dict[str, Optional[bytes]]) -> Dict[str, bytes]:
    after = dict(state)
    for key, value in writes.items():
        if value is None:
            after.pop(key, None)
        else:
            after[key] = value
    return after


# ---- ComputeTask (section 3) ------------------------------------------------------------------

def make_task(requester: SigningKey, *, dapp_id="counter", code_hash=None, action="increment",
              payload=None, raw="", capabilities: Iterable[str] = (), state: Optional[Dict[str, bytes]] = None,
              timestamp=1764000000000, intent_timestamp=None, max_steps=500, max_fuel=10**9,
              max_time=None, max_memory=None) -> dict:
    """A signed task document (a dict), built by the rules of section 3."""
    payload = {} if payload is None else payload
    task = {
        "taskVersion": 1,
        "intent": {"action": action, "payload": payload, "raw": raw,
                   "timestamp": timestamp if intent_timestamp is None else intent_timestamp},
        "dappId": dapp_id,
        "dappCodeHash": code_hash or hashlib.sha256(b"(module)").hexdigest(),
        "requiredCapabilities": sorted(set(capabilities), key=lambda c: c.encode()),
        "inputHash": H(payload),
        "previousStateRoot": state_root(state or {}),
        "requesterPublicKey": requester.verify_key.encode().hex(),
        "timestamp": timestamp,
        "maxExecutionSteps": max_steps,
        "maxFuel": max_fuel,
    }
    if state is not None:
        task["state"] = {k: b64(v) for k, v in state.items()}
    if max_time is not None:
        task["maxExecutionTime"] = max_time
    if max_memory is not None:
        task["maxMemoryUsage"] = max_memory
    return seal_task(task, requester)


def task_id(task: dict) -> str:
    body = {k: v for k, v in task.items() if k not in ("taskId", "signature")}
    return H(body)


def seal_task(task: dict, requester: SigningKey) -> dict:
    """Recomputes taskId and the signature after a change."""
    task = dict(task)
    task["taskId"] = task_id(task)
    task["signature"] = sign(requester, "task", task["taskId"])
    return task


def task_state(task: dict) -> Dict[str, bytes]:
    return {k: base64.b64decode(v) for k, v in task.get("state", {}).items()}


# ---- ExecutionProof and compute_result (section 5) --------------------------------------------

def make_result(task: dict, executor: SigningKey, *, result=None,
                writes: Optional[Dict[str, Optional[bytes]]] = None,
                used: Optional[List[str]] = None, trace_length=3, fuel_used=500,
                timestamp=1764000000100, latency=7) -> dict:
    """A valid, signed compute_result for `task` (a dict), built by the rules of sections 5-6."""
    result = {"ok": True} if result is None else result
    writes = {} if writes is None else writes
    wire_writes = {k: (None if v is None else b64(v)) for k, v in writes.items()}
    declared = task["requiredCapabilities"]
    proof = {
        "proofVersion": 1,
        "taskId": task["taskId"],
        "dappId": task["dappId"],
        "dappCodeHash": task["dappCodeHash"],
        "action": task["intent"]["action"],
        "inputHash": task["inputHash"],
        "capabilitiesDeclared": list(declared),
        "capabilitiesUsed": list(declared if used is None else used),
        "executionTraceHash": hashlib.sha256(b"trace").hexdigest(),
        "traceLength": trace_length,
        "fuelUsed": fuel_used,
        "resultHash": H(result),
        "previousStateRoot": task["previousStateRoot"],
        "nextStateRoot": state_root(apply_writes(task_state(task), writes)),
        "stateWritesHash": H(wire_writes),
        "executorPublicKey": executor.verify_key.encode().hex(),
        "timestamp": timestamp,
    }
    proof = seal_proof(proof, executor)
    return {
        "taskId": proof["taskId"],
        "proof": proof,
        "result": result,
        "stateWrites": wire_writes,
        "resultHash": proof["resultHash"],
        "executorPublicKey": proof["executorPublicKey"],
        "executionLatency": latency,
    }


def seal_proof(proof: dict, executor: SigningKey, kind: str = "proof") -> dict:
    """Re-signs a proof after a change: kind `proof` over H(proof without signature)."""
    proof = {k: v for k, v in proof.items() if k != "signature"}
    proof["signature"] = sign(executor, kind, H(proof))
    return proof


def mutate_proof(result: dict, executor: SigningKey, **changes) -> dict:
    """A copy of `result` whose proof has `changes` applied and is validly re-signed, with the
    outer copies of taskId/resultHash/executorPublicKey kept equal to the proof's."""
    out = copy.deepcopy(result)
    proof = dict(out["proof"])
    proof.update(changes)
    out["proof"] = seal_proof(proof, executor)
    for field in ("taskId", "resultHash", "executorPublicKey"):
        out[field] = out["proof"][field]
    return out


def key_pair(seed_byte: int) -> Tuple[SigningKey, bytes]:
    key = SigningKey(bytes([seed_byte]) * 32)
    return key, key.verify_key.encode()
