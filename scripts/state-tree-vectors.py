#!/usr/bin/env python3
"""The state tree vectors of docs/PROTOCOL.md section 6, computed from the section's text alone
(Python hashlib; no dde code), so the published vectors check the Swift core independently.

    python3 scripts/state-tree-vectors.py      # prints the vector block
"""
import hashlib


def H(b: bytes) -> bytes:
    return hashlib.sha256(b).digest()


EMPTY = H(b"")  # kind 0


def bit(path: bytes, i: int) -> int:
    return (path[i // 8] >> (7 - i % 8)) & 1


def leaf(path: bytes, value_hash: bytes) -> bytes:
    return H(b"\x02" + path + value_hash)


def combine(l, r):
    """(kind, hash) of a subtree from its two halves: the compact rule."""
    if l[0] == 0 and r[0] == 0:
        return (0, EMPTY)
    if l[0] == 0 and r[0] == 1:
        return r
    if l[0] == 1 and r[0] == 0:
        return l
    return (2, H(bytes([3, l[0], r[0]]) + l[1] + r[1]))


def subtree(leaves, d):
    if not leaves:
        return (0, EMPTY)
    if len(leaves) == 1:
        return (1, leaf(*leaves[0]))
    left = [x for x in leaves if bit(x[0], d) == 0]
    right = [x for x in leaves if bit(x[0], d) == 1]
    return combine(subtree(left, d + 1), subtree(right, d + 1))


def items(leaves, proven, d):
    if not proven:
        k, h = subtree(leaves, d)
        # A proof of no keys writes a non-empty tree 0x05, one leaf or more (PROTOCOL.md 6.2).
        return b"\x00" if k == 0 else bytes([4 if k == 1 and d > 0 else 5]) + h
    if not leaves:
        return b"\x00"
    if len(leaves) == 1:
        p, vh = leaves[0]
        if len(proven) == 1 and proven[0] == p:
            return b"\x02" + vh
        return b"\x03" + p + vh
    lp = [p for p in proven if bit(p, d) == 0]
    rp = [p for p in proven if bit(p, d) == 1]
    left = [x for x in leaves if bit(x[0], d) == 0]
    right = [x for x in leaves if bit(x[0], d) == 1]
    return b"\x01" + items(left, lp, d + 1) + items(right, rp, d + 1)


def tree(state):
    return sorted((H(k), H(v)) for k, v in state.items())


def root(state):
    return subtree(tree(state), 0)[1]


def proof(state, keys):
    leaves = tree(state)
    proven = sorted(set(H(k) for k in keys))
    return root(state) + items(leaves, proven, 0)


def u64(n):
    return n.to_bytes(8, "big")


three = {b"balance/alice": u64(5), b"balance/bob": u64(95), b"count": b"41"}
after = dict(three)
after[b"balance/alice"] = u64(2)
after[b"balance/carol"] = u64(3)
del after[b"count"]

print("state_tree_empty = " + root({}).hex())
print("# {\"count\": \"41\"}")
print("state_tree_one = " + root({b"count": b"41"}).hex())
print("# {\"balance/alice\": u64be(5), \"balance/bob\": u64be(95), \"count\": \"41\"}")
print("state_tree_three = " + root(three).hex())
print("# its proof of balance/alice (present)")
print("state_proof_alice = " + proof(three, [b"balance/alice"]).hex())
print("# its proof of balance/carol (absent)")
print("state_proof_carol = " + proof(three, [b"balance/carol"]).hex())
print("# its multiproof of balance/alice, balance/carol and count")
print("state_proof_alice_carol_count = " + proof(three, [b"balance/alice", b"balance/carol", b"count"]).hex())
print("# the root after writes balance/alice = u64be(2), balance/carol = u64be(3), count deleted")
print("state_tree_after = " + root(after).hex())

# A taskVersion 2 task (section 3): the wallet's alice -> carol transfer on the three-entry state,
# carrying balance/alice (present) and balance/carol (absent) with their proof; requester key from
# the seed 0x01 repeated 32 times (rfc8785 for the canonical bytes, PyNaCl for Ed25519).
import base64

import nacl.signing
import rfc8785

b64 = lambda b: base64.b64encode(b).decode()
task = {
    "taskVersion": 2,
    "intent": {"action": "send", "payload": {"amount": 3, "from": "alice", "to": "carol"}, "raw": "",
               "timestamp": 1767225600000},
    "dappId": "wallet",
    "dappCodeHash": H(b"wallet module").hex(),
    "requiredCapabilities": ["state.read", "state.write"],
    "inputHash": H(rfc8785.dumps({"amount": 3, "from": "alice", "to": "carol"})).hex(),
    "previousStateRoot": root(three).hex(),
    "state": {"balance/alice": b64(u64(5)), "balance/carol": None},
    "stateProof": b64(proof(three, [b"balance/alice", b"balance/carol"])),
    "requesterPublicKey": None,
    "timestamp": 1767225600000,
    "maxExecutionSteps": 500,
    "maxFuel": 1000000000,
}
key = nacl.signing.SigningKey(bytes([1]) * 32)
task["requesterPublicKey"] = key.verify_key.encode().hex()
task_id = H(rfc8785.dumps(task))
task["taskId"] = task_id.hex()
task["signature"] = key.sign(b"dde/v1/task\x00" + task_id).signature.hex()
print("# a taskVersion 2 task: alice -> carol on the three-entry state, carrying balance/alice and")
print("# balance/carol (absent); dappCodeHash = SHA-256(\"wallet module\"), requester seed01")
print("task_v2_wallet_id = " + task_id.hex())
print("task_v2_wallet = " + rfc8785.dumps(task).decode())
