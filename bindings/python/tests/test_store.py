"""dde.Store on a real SQLite file: commits of compute_results written in pure Python
(tests/protocol.py), receipts re-checked in pure Python (docs/PROTOCOL.md section 8, docs/STORE.md),
refusals that change nothing, verify_chain against files tampered with through the sqlite3
module, export, reputation rules with explicit times (section 9), the store's policy, misuse."""

from __future__ import annotations

import base64
import gc
import hashlib
import json
import os
import sqlite3
import threading

import pytest
import rfc8785
from nacl.signing import VerifyKey

import dde

from protocol import H, make_result, make_task, mutate_proof, sign_message, state_root, tree_root

T0 = 1764000000000          # a fixed "now" for everything that takes one
EMPTY_ROOT = hashlib.sha256(b"").hexdigest()
EMPTY_ROOT_RAW = hashlib.sha256(b"").digest()
BAN_MS = 600000             # the default banDurationMs


@pytest.fixture
def identity():
    # The node's identity; here the requester's own key (seed 1, as the `requester` fixture).
    with dde.KeyPair.from_seed(bytes([1]) * 32) as key:
        yield key


@pytest.fixture
def path(tmp_path):
    return tmp_path / "node.db"


@pytest.fixture
def store(path):
    with dde.Store(path) as s:
        yield s


def counter_steps(requester, executor, n, dapp_id="counter"):
    """n (task, result) pairs of a counter dApp, each task made on the state the previous one left."""
    r_key, _ = requester
    e_key, _ = executor
    state, steps = {}, []
    for i in range(n):
        writes = {"count": str(i + 1).encode()}
        if i == 1:
            writes["scratch"] = b"x"
        if i == 2:
            writes["scratch"] = None  # a deletion
        task = make_task(r_key, dapp_id=dapp_id, capabilities=["state.read", "state.write"],
                         state=state, payload={"step": i}, timestamp=T0 + i)
        steps.append((task, make_result(task, e_key, writes=writes, result={"count": i + 1})))
        state = {k: v for k, v in {**state, **writes}.items() if v is not None}
    return steps


def commit(store, identity, task, result, now_ms=T0):
    with dde.Task.parse(rfc8785.dumps(task)) as t:
        return store.commit(t, result, identity, now_ms=now_ms)


def after_state(task, result):
    """The dApp state a committed task leaves: its whole (v1) state with the result's writes."""
    state = {k: base64.b64decode(v) for k, v in task.get("state", {}).items()}
    for k, v in result["stateWrites"].items():
        if v is None:
            state.pop(k, None)
        else:
            state[k] = base64.b64decode(v)
    return state


def node_root(dapp_roots):
    """The node root of STORE.md: the state-root tree over (dappId, raw dApp root) leaves; in a
    receiptVersion 3 receipt the dApp roots are v2 state tree roots (PROTOCOL.md 6.2)."""
    return state_root({dapp: bytes.fromhex(root) for dapp, root in dapp_roots.items() if root != EMPTY_ROOT})


def check_typed_receipt(typed, receipt):
    """A dde.Receipt against the receipt's JSON (a dict): every field, hex as bytes."""
    assert isinstance(typed, dde.Receipt)
    assert typed.to_dict() == receipt and typed.json == rfc8785.dumps(receipt)
    raw = bytes.fromhex
    assert (typed.version, typed.index, typed.timestamp) == (receipt["receiptVersion"], receipt["index"],
                                                             receipt["timestamp"])
    assert (typed.dapp_id, typed.action) == (receipt["dappId"], receipt["action"])
    for name, field in (("identity", "identity"), ("task_id", "taskId"), ("input_hash", "inputHash"),
                        ("result_hash", "resultHash"), ("execution_trace_hash", "executionTraceHash"),
                        ("previous_state_root", "previousStateRoot"), ("next_state_root", "nextStateRoot"),
                        ("receipt_hash", "receiptHash"), ("signature", "signature")):
        value = getattr(typed, name)
        assert type(value) is bytes and value == raw(receipt[field]), name
    assert typed.previous_receipt_hash == (None if receipt["previousReceiptHash"] is None
                                           else raw(receipt["previousReceiptHash"]))
    assert typed.capabilities_declared == tuple(receipt["capabilitiesDeclared"])
    assert typed.capabilities_used == tuple(receipt["capabilitiesUsed"])
    remote = receipt["remote"]
    assert (typed.executor, typed.proof_hash, typed.proof_signature) == (
        raw(remote["executorPublicKey"]), raw(remote["proofHash"]), raw(remote["proofSignature"]))
    assert isinstance(typed.assurance, dde.Assurance)
    assert typed.assurance.to_dict() == receipt["assurance"]
    assert typed.assurance.confirmed_by == tuple(raw(k) for k in receipt["assurance"]["confirmedBy"])


def check_receipt(typed, identity, task, result, index, previous):
    """The receipt against section 8, recomputed without dde."""
    receipt = typed.to_dict()
    check_typed_receipt(typed, receipt)
    body = {k: v for k, v in receipt.items() if k not in ("receiptHash", "signature")}
    assert receipt["receiptHash"] == H(body)
    VerifyKey(identity.public_key).verify(sign_message("receipt", receipt["receiptHash"]),
                                          bytes.fromhex(receipt["signature"]))
    proof = result["proof"]
    # receiptVersion 3: a commit by hand is assured "direct" (the caller verified one proof).
    assert receipt["receiptVersion"] == 3 and receipt["index"] == index
    assert receipt["assurance"] == {"confirmedBy": [], "how": "direct", "validated": False}
    assert receipt["identity"] == identity.public_key.hex()
    for field in ("dappId", "action", "taskId", "inputHash", "capabilitiesDeclared", "capabilitiesUsed",
                  "resultHash", "executionTraceHash"):
        assert receipt[field] == proof[field], field
    assert receipt["remote"] == {"executorPublicKey": proof["executorPublicKey"], "proofHash": H(proof),
                                 "proofSignature": proof["signature"]}
    if previous is None:
        assert receipt["previousReceiptHash"] is None and receipt["previousStateRoot"] == EMPTY_ROOT
    else:
        assert receipt["previousReceiptHash"] == previous.receipt_hash.hex()
        assert receipt["previousStateRoot"] == previous.next_state_root.hex()
        assert typed.previous_receipt_hash == previous.receipt_hash
    assert receipt["nextStateRoot"] == node_root({task["dappId"]: tree_root(after_state(task, result))})


# ---- Commit and head -----------------------------------------------------------------------------

def test_commits_build_a_chain_of_checked_receipts(path, store, identity, requester, executor):
    assert store.head() == dde.ChainHead(0, None, EMPTY_ROOT_RAW)
    assert store.verify_chain() == 0 and store.export() == [] and store.receipts() == []
    previous = None
    steps = counter_steps(requester, executor, 3)
    # bytes, str and dict results are all accepted
    forms = [rfc8785.dumps, lambda r: json.dumps(r, indent=2), lambda r: r]
    for i, ((task, result), form) in enumerate(zip(steps, forms)):
        receipt = commit(store, identity, task, form(result), now_ms=T0 + 1000 + i)
        check_receipt(receipt, identity, task, result, i, previous)
        assert receipt.timestamp == T0 + 1000 + i
        assert store.head() == (i + 1, receipt.receipt_hash, receipt.next_state_root)
        previous = receipt
    assert store.verify_chain() == 3
    # The chain's receipts, as typed objects, are the ones the commits returned.
    assert store.receipts()[-1] == previous
    # The count, hash and root survive closing and reopening.
    head = store.head()
    store.close()
    with dde.Store(path) as again:
        assert again.head() == head and again.verify_chain() == 3


def test_two_dapps_share_one_node_root(store, identity, requester, executor):
    a = counter_steps(requester, executor, 1, dapp_id="a")[0]
    b = counter_steps(requester, executor, 1, dapp_id="b")[0]
    commit(store, identity, *a)
    receipt = commit(store, identity, *b)
    assert receipt.next_state_root.hex() == node_root({"a": tree_root(after_state(*a)),
                                                       "b": tree_root(after_state(*b))})
    assert store.verify_chain() == 2


def test_refusals_change_nothing(store, identity, requester, executor):
    (t1, r1), (t2, r2) = counter_steps(requester, executor, 2)
    commit(store, identity, t1, r1)
    head, exported = store.head(), store.export_jsonl()

    def refused(cls, task, result, key=identity, now_ms=T0):
        with pytest.raises(dde.DDEError) as e:
            commit(store, key, task, result, now_ms)
        assert type(e.value) is cls, repr(e.value)
        assert e.value.message
        assert store.head() == head and store.export_jsonl() == exported
        return e.value

    # Again: duplicate (checked before stale, so it is not reported as stale).
    error = refused(dde.DuplicateTaskError, t1, r1)
    assert t1["taskId"] in error.message
    assert isinstance(error, dde.StoreError)
    # A second task made on the genesis state, which the dApp has left.
    r_key, _ = requester
    e_key, _ = executor
    stale = make_task(r_key, capabilities=["state.write"], payload={"other": True}, timestamp=T0 + 50)
    error = refused(dde.StaleError, stale, make_result(stale, e_key, writes={"count": b"9"}))
    assert r1["proof"]["nextStateRoot"] in error.message  # says where the dApp is now
    # A result that does not verify: its own class, as dde.verify would raise.
    refused(dde.FuelExceededError, t2, mutate_proof(r2, e_key, fuelUsed=10**10))
    refused(dde.JSONError, t2, b"{")
    # Another identity than the one the chain was started with.
    with dde.KeyPair.from_seed(bytes([7]) * 32) as other:
        refused(dde.BadKeyError, t2, r2, key=other)
    # Nothing was half-done: the next valid commit links to the first receipt.
    receipt = commit(store, identity, t2, r2)
    assert receipt.index == 1 and receipt.previous_receipt_hash == head.receipt_hash
    assert store.verify_chain() == 2


# ---- Export --------------------------------------------------------------------------------------

def test_export_round_trip(tmp_path, store, identity, requester, executor):
    steps = counter_steps(requester, executor, 3)
    receipts = [commit(store, identity, t, r, now_ms=T0 + 10 * i) for i, (t, r) in enumerate(steps)]
    text = store.export_jsonl()
    lines = text.split(b"\n")
    assert lines[-1] == b"" and len(lines) == 4  # one line per receipt, each ending in \n
    exported = store.export()
    assert [entry.receipt for entry in exported] == receipts == store.receipts()
    for entry, raw, (task, result) in zip(exported, lines, steps):
        assert isinstance(entry, dde.ChainEntry) and entry.json == raw
        line = entry.to_dict()
        assert set(line) == {"computeResult", "receipt", "task"}
        assert rfc8785.dumps(line) == raw              # canonical, as STORE.md says
        assert line["task"] == task and line["computeResult"] == result
        check_typed_receipt(entry.receipt, line["receipt"])
        assert entry.task == rfc8785.dumps(task)
        assert isinstance(entry.result, dde.Result) and entry.result.to_dict() == result
        with dde.Task.parse(entry.task) as t:          # anyone can re-check without the database
            assert t.id == entry.receipt.task_id == bytes.fromhex(line["receipt"]["taskId"])
            dde.verify(t, entry.result)
    # Replaying the export into a new store with the same identity and times gives the same chain,
    # byte for byte (Ed25519 signatures are deterministic).
    with dde.Store(tmp_path / "replica.db") as replica:
        for entry in exported:
            commit(replica, identity, json.loads(entry.task), entry.result, now_ms=entry.receipt.timestamp)
        assert replica.export_jsonl() == text and replica.head() == store.head()


# ---- Tampering -----------------------------------------------------------------------------------

def flip_receipt_byte(db, index, position):
    with sqlite3.connect(db) as con:
        (blob,) = con.execute("SELECT receipt_json FROM receipts WHERE idx = ?", (index,)).fetchone()
        data = bytearray(blob)
        data[position] ^= 0x01
        con.execute("UPDATE receipts SET receipt_json = ? WHERE idx = ?", (bytes(data), index))
    con.close()


def tamper_signature_digit(db, index):
    # Still valid, canonical JSON: only the signature check can notice.
    with sqlite3.connect(db) as con:
        (blob,) = con.execute("SELECT receipt_json FROM receipts WHERE idx = ?", (index,)).fetchone()
        receipt = json.loads(blob)
        sig = receipt["signature"]
        receipt["signature"] = ("1" if sig[0] != "1" else "2") + sig[1:]
        con.execute("UPDATE receipts SET receipt_json = ? WHERE idx = ?", (rfc8785.dumps(receipt), index))
    con.close()


def tamper_live_state(db, index):
    with sqlite3.connect(db) as con:
        con.execute("UPDATE dapp_state SET value = ? WHERE key = ?", (b"1000", b"count"))
    con.close()


def delete_receipt(db, index):
    with sqlite3.connect(db) as con:
        con.execute("PRAGMA foreign_keys = OFF")
        con.execute("DELETE FROM compute_results WHERE idx = ?", (index,))
        con.execute("DELETE FROM receipts WHERE idx = ?", (index,))
    con.close()


@pytest.mark.parametrize("tamper,why", [
    (lambda db: flip_receipt_byte(db, 1, 40), "receipt 1: does not parse"),
    (lambda db: flip_receipt_byte(db, 1, 0), "receipt 1: does not parse"),
    (lambda db: tamper_signature_digit(db, 1), "receipt 1: the identity's signature does not verify"),
    (lambda db: tamper_live_state(db, 2), "receipt 2: dApp \"counter\" key \"count\""),
    (lambda db: delete_receipt(db, 1), "receipt 1: missing"),
], ids=["bit-in-receipt", "first-byte", "signature", "live-state", "deleted-receipt"])
def test_tampered_file_breaks_the_chain(path, identity, requester, executor, tamper, why):
    with dde.Store(path) as store:
        for task, result in counter_steps(requester, executor, 3):
            commit(store, identity, task, result)
        assert store.verify_chain() == 3  # intact before
    tamper(path)
    with dde.Store(path) as store:
        with pytest.raises(dde.ChainBrokenError) as e:
            store.verify_chain()
    assert e.value.code == 63 and e.value.message.startswith(why), e.value.message


def test_newer_schema_is_refused_and_left_alone(path, identity, requester, executor):
    with dde.Store(path) as store:
        commit(store, identity, *counter_steps(requester, executor, 1)[0])
    with sqlite3.connect(path) as con:
        con.execute("PRAGMA user_version = 99")
    con.close()
    before = path.read_bytes()
    with pytest.raises(dde.StoreSchemaVersionError) as e:
        dde.Store(path)
    assert e.value.message
    assert path.read_bytes() == before


def test_two_handles_on_one_file(path, identity, requester, executor):
    with dde.Store(path) as a, dde.Store(path) as b:
        (t1, r1), (t2, r2) = counter_steps(requester, executor, 2)
        commit(a, identity, t1, r1)
        assert b.head() == a.head()
        with pytest.raises(dde.DuplicateTaskError):  # b sees a's commit
            commit(b, identity, t1, r1)
        commit(b, identity, t2, r2)
        assert a.verify_chain() == 2


# ---- Reputation ----------------------------------------------------------------------------------

KEY_A, KEY_B, KEY_C, KEY_D, KEY_E = (bytes([n]) * 32 for n in range(10, 15))


@pytest.fixture
def exact(tmp_path):
    """A store without decay, so that counts are whole numbers."""
    with dde.Store(tmp_path / "exact.db", reputation={"halfLifeMs": 0}) as s:
        yield s.reputation


def test_unknown_executors(exact):
    assert exact.get(KEY_A, now_ms=T0) is None
    assert not exact.is_banned(KEY_A, now_ms=T0) and not exact.is_blacklisted(KEY_A, now_ms=T0)
    assert exact.all(now_ms=T0) == []
    assert exact.clear(KEY_A) is False


def test_success_records_latency_and_resets_the_run(exact):
    exact.record_failure(KEY_A, now_ms=T0)
    exact.record_failure(KEY_A, now_ms=T0 + 1)
    exact.record_success(KEY_A, latency_ms=30, now_ms=T0 + 2)
    exact.record_success(KEY_A, latency_ms=50, now_ms=T0 + 3)
    record = exact.get(KEY_A, now_ms=T0 + 3)
    assert isinstance(record, dde.ReputationRecord)
    assert record.executor == KEY_A
    assert (record.successful_proofs, record.failed_proofs, record.timeouts, record.attempts) == (2, 2, 0, 4)
    assert record.latency_avg == 40 and record.latency_count == 2
    assert record.consecutive_invalid == 0 and record.last_seen == T0 + 3
    assert record.failure_rate == 0.5 and not record.banned and not record.blacklisted
    # Two more failures: the run restarted at the success, so still no ban.
    exact.record_failure(KEY_A, now_ms=T0 + 4)
    exact.record_failure(KEY_A, now_ms=T0 + 5)
    assert not exact.is_banned(KEY_A, now_ms=T0 + 5)


def test_three_invalid_proofs_ban_until_the_ban_expires(exact):
    for i in range(2):
        exact.record_failure(KEY_A, now_ms=T0 + i)
    assert not exact.is_banned(KEY_A, now_ms=T0 + 2)
    exact.record_failure(KEY_A, now_ms=T0 + 2)
    record = exact.get(KEY_A, now_ms=T0 + 2)
    assert record.banned and record.consecutive_invalid == 3
    assert record.banned_until == T0 + 2 + BAN_MS
    assert exact.is_banned(KEY_A, now_ms=T0 + 2 + BAN_MS - 1)
    assert not exact.is_banned(KEY_A, now_ms=T0 + 2 + BAN_MS)           # banned means now < bannedUntil
    # The run is not reset by the ban: one more failure bans again, from then.
    exact.record_failure(KEY_A, now_ms=T0 + 2 * BAN_MS)
    assert exact.get(KEY_A, now_ms=T0 + 2 * BAN_MS).banned_until == T0 + 3 * BAN_MS
    # Only a success ends the run.
    exact.record_success(KEY_A, latency_ms=1, now_ms=T0 + 3 * BAN_MS)
    exact.record_failure(KEY_A, now_ms=T0 + 3 * BAN_MS + 1)
    assert not exact.is_banned(KEY_A, now_ms=T0 + 3 * BAN_MS + 1)


def test_ban_settings_are_configurable(tmp_path):
    with dde.Store(tmp_path / "r.db", reputation={"banAfterConsecutiveInvalid": 1, "banDurationMs": 5}) as s:
        s.reputation.record_failure(KEY_A, now_ms=T0)
        assert s.reputation.is_banned(KEY_A, now_ms=T0 + 4)
        assert not s.reputation.is_banned(KEY_A, now_ms=T0 + 5)


def test_timeouts_blacklist_but_never_ban(exact):
    for i in range(4):
        exact.record_timeout(KEY_A, now_ms=T0 + i)
    record = exact.get(KEY_A, now_ms=T0 + 4)
    assert record.timeouts == 4 and record.consecutive_invalid == 0 and not record.banned
    assert not record.blacklisted                                      # 4 attempts < 5
    exact.record_timeout(KEY_A, now_ms=T0 + 4)
    assert exact.is_blacklisted(KEY_A, now_ms=T0 + 4) and not exact.is_banned(KEY_A, now_ms=T0 + 4)


def test_blacklist_needs_a_failure_rate_above_half(exact):
    # s f s f s f: 3 of 6 failed, never 3 in a row: exactly 50% is not above 50%.
    for i in range(3):
        exact.record_success(KEY_A, latency_ms=10, now_ms=T0 + 2 * i)
        exact.record_failure(KEY_A, now_ms=T0 + 2 * i + 1)
    assert not exact.is_blacklisted(KEY_A, now_ms=T0 + 6)
    exact.record_timeout(KEY_A, now_ms=T0 + 7)                         # 4 of 7
    assert exact.is_blacklisted(KEY_A, now_ms=T0 + 7) and not exact.is_banned(KEY_A, now_ms=T0 + 7)
    assert exact.get(KEY_A, now_ms=T0 + 7).failure_rate == pytest.approx(4 / 7)


def test_counts_decay_with_the_half_life(tmp_path):
    with dde.Store(tmp_path / "d.db", reputation={"halfLifeMs": 1000}) as s:
        for i in range(5):
            s.reputation.record_timeout(KEY_A, now_ms=T0)
        assert s.reputation.is_blacklisted(KEY_A, now_ms=T0)
        record = s.reputation.get(KEY_A, now_ms=T0 + 1000)
        assert record.timeouts == pytest.approx(2.5) and record.attempts == pytest.approx(2.5)
        assert not record.blacklisted                                   # decay ends a blacklist
        # Reading decays in memory only; the stored record at T0 is unchanged.
        assert s.reputation.get(KEY_A, now_ms=T0).timeouts == pytest.approx(5)


def test_all_is_in_routing_order_and_clear(exact):
    t = T0
    for i in range(20):                                                # A: 19 of 20
        (exact.record_failure if i == 0 else lambda k, now_ms: exact.record_success(k, 50, now_ms))(KEY_A, now_ms=t)
    for i in range(10):                                                # D slow, E fast: 10 of 10
        exact.record_success(KEY_D, latency_ms=200, now_ms=t)
        exact.record_success(KEY_E, latency_ms=20, now_ms=t)
    exact.record_success(KEY_B, latency_ms=1, now_ms=t)                # B: one lucky success
    for i in range(3):                                                 # C: banned
        exact.record_failure(KEY_C, now_ms=t)
    order = [r.executor for r in exact.all(now_ms=t)]
    assert order == [KEY_A, KEY_E, KEY_D, KEY_B, KEY_C]
    bounds = [r.success_lower_bound for r in exact.all(now_ms=t)]
    assert bounds[0] > bounds[1] == bounds[2] > bounds[3] > bounds[4] == 0
    assert exact.clear(KEY_E) is True and exact.get(KEY_E, now_ms=t) is None
    assert exact.clear(KEY_E) is False
    assert len(exact.all(now_ms=t)) == 4
    exact.clear_all()
    assert exact.all(now_ms=t) == [] and exact.get(KEY_A, now_ms=t) is None


def test_reputation_persists(path):
    with dde.Store(path) as s:
        s.reputation.record_success(KEY_A, latency_ms=5, now_ms=T0)
    with dde.Store(path) as s:
        assert s.reputation.get(KEY_A, now_ms=T0).successful_proofs == 1


def library_record(store, key, now_ms):
    """The library's own JSON for one record, read through the C API directly (not dde.Reputation)."""
    import ctypes
    from dde import _library as L
    out, length = ctypes.c_void_p(), ctypes.c_size_t()
    with store._guard.shared() as handle:
        L.call("dde_reputation_get", handle, key, now_ms, ctypes.byref(out), ctypes.byref(length))
    return L.take_string(out, length)


RECORD_FIELDS = {  # attribute: (the library's field, its Python type)
    "executor": ("executorPublicKey", bytes), "successful_proofs": ("successfulProofs", float),
    "failed_proofs": ("failedProofs", float), "timeouts": ("timeouts", float), "attempts": ("attempts", float),
    "failure_rate": ("failureRate", float), "success_lower_bound": ("successLowerBound", float),
    "latency_avg": ("latencyAvg", float), "latency_count": ("latencyCount", float), "last_seen": ("lastSeen", int),
    "consecutive_invalid": ("consecutiveInvalid", int), "banned_until": ("bannedUntil", int),
    "banned": ("banned", bool), "blacklisted": ("blacklisted", bool), "validated": ("validated", int),
    "convicted_at": ("convictedAt", int), "convicted": ("convicted", bool),
}


def test_reputation_records_are_typed_and_equal_the_librarys_json(tmp_path):
    with dde.Store(tmp_path / "d.db", reputation={"halfLifeMs": 1000}) as store:
        rep = store.reputation
        rep.record_success(KEY_A, latency_ms=30, now_ms=T0)
        rep.record_success(KEY_A, latency_ms=55, now_ms=T0 + 300)
        rep.record_failure(KEY_A, now_ms=T0 + 400)
        for i in range(3):
            rep.record_failure(KEY_B, now_ms=T0 + i)                   # banned
        rep.record_timeout(KEY_C, now_ms=T0)
        for key in (KEY_A, KEY_B, KEY_C):
            for now in (T0 + 400, T0 + 1234):                          # decayed: fractional counts
                record = rep.get(key, now_ms=now)
                text = library_record(store, key, now)
                doc = json.loads(text)
                assert isinstance(record, dde.ReputationRecord)
                assert set(RECORD_FIELDS) == {f for f in record.__dataclass_fields__ if f != "json"}
                assert {v[0] for v in RECORD_FIELDS.values()} == set(doc)  # every field of the library's
                for name, (field, kind) in RECORD_FIELDS.items():
                    value = getattr(record, name)
                    assert type(value) is kind, name
                    assert value == (bytes.fromhex(doc[field]) if kind is bytes else doc[field]), name
                assert record.to_dict() == doc and record.json == rfc8785.dumps(doc)
                assert record in rep.all(now_ms=now)                   # all() gives the same records
        assert rep.get(KEY_A, now_ms=T0 + 1234).successful_proofs not in (0, 1, 2)  # really decayed
        assert rep.get(KEY_B, now_ms=T0 + 2).banned is True
        record = rep.get(KEY_A, now_ms=T0)
        with pytest.raises(AttributeError):
            record.banned = True                                       # frozen
        assert hash(record) == hash(rep.get(KEY_A, now_ms=T0))         # a value: hashable, comparable


def test_receipts_parse_back_and_are_values(store, identity, requester, executor):
    receipts = [commit(store, identity, t, r) for t, r in counter_steps(requester, executor, 2)]
    first, second = receipts
    head = store.head()
    assert type(head.receipt_hash) is bytes and type(head.state_root) is bytes
    assert head.receipt_hash == second.receipt_hash and head.state_root == second.next_state_root
    assert first.previous_receipt_hash is None and second.previous_receipt_hash == first.receipt_hash
    for r in receipts:
        assert dde.Receipt.parse(r.json) == r == dde.Receipt.parse(r.to_dict()) == dde.Receipt.parse(r.json.decode())
        assert dde.Receipt.parse(json.dumps(r.to_dict(), indent=2)).json == r.json  # canonical whatever came in
        assert dde.Receipt.parse(r) is r
    assert len({first, second, dde.Receipt.parse(first.json)}) == 2
    with pytest.raises(AttributeError):
        first.index = 7
    assert first.index == 0 and "index=0" in repr(first) and first.task_id.hex()[:16] in repr(first)
    # A receiptVersion 1 receipt (older chains): no assurance.
    v1 = {k: v for k, v in first.to_dict().items() if k != "assurance"}
    v1["receiptVersion"] = 1
    old = dde.Receipt.parse(v1)
    assert old.version == 1 and old.assurance is None and old.receipt_hash == first.receipt_hash
    # Malformed receipts are refused with the library's classes, naming the field.
    doc = first.to_dict()
    cases = [
        ({k: v for k, v in doc.items() if k != "taskId"}, dde.SchemaError, "taskId"),
        ({**doc, "extra": 1}, dde.SchemaError, "extra"),
        ({**doc, "index": "0"}, dde.SchemaError, "index"),
        ({**doc, "index": 1.5}, dde.SchemaError, "index"),
        ({**doc, "taskId": "zz" * 32}, dde.EncodingError, "taskId"),
        ({**doc, "taskId": doc["taskId"].upper()}, dde.EncodingError, "taskId"),
        ({**doc, "signature": "ab" * 32}, dde.EncodingError, "signature"),
        ({**doc, "remote": {**doc["remote"], "proofHash": 7}}, dde.SchemaError, "proofHash"),
        ({**doc, "remote": {**doc["remote"], "more": 1}}, dde.SchemaError, "more"),
        ({**doc, "assurance": {**doc["assurance"], "confirmedBy": ["00"]}}, dde.EncodingError, "confirmedBy"),
        ({**doc, "receiptVersion": 4}, dde.VersionError, "receiptVersion"),
        ({**v1, "assurance": doc["assurance"]}, dde.SchemaError, "assurance"),
        ([doc], dde.SchemaError, "object"),
        (b'{"index":0,"index":1}', dde.DuplicateKeyError, ""),
        (b"{", dde.JSONError, ""),
    ]
    for bad, cls, words in cases:
        with pytest.raises(cls) as e:
            dde.Receipt.parse(bad)
        assert words in e.value.message, (e.value.message, words)
    for bad in (None, object()):
        with pytest.raises(TypeError):
            dde.Receipt.parse(bad)


# ---- The store's policy --------------------------------------------------------------------------

def test_policy_from_the_store(store, identity, requester, executor):
    (task, result), = counter_steps(requester, executor, 1)
    _, e_pub = executor
    for i in range(3):
        store.reputation.record_failure(e_pub, now_ms=T0 + i)
    with dde.Task.parse(task) as t:
        with store.policy(now_ms=T0 + 2) as policy:
            with pytest.raises(dde.ExecutorBannedError):
                dde.verify(t, result, policy)
        with store.policy(now_ms=T0 + 2 + BAN_MS) as policy:          # the ban is over
            dde.verify(t, result, policy)
        # commit applies the same rule, with the reputation at its now_ms
        with pytest.raises(dde.ExecutorBannedError):
            store.commit(t, result, identity, now_ms=T0 + 2)
        assert store.head().count == 0
        assert store.commit(t, result, identity, now_ms=T0 + 2 + BAN_MS).index == 0


def test_policy_refuses_blacklisted_executors(store, requester, executor):
    (task, result), = counter_steps(requester, executor, 1)
    _, e_pub = executor
    for i in range(5):
        store.reputation.record_timeout(e_pub, now_ms=T0)
    policy = store.policy(now_ms=T0)
    store.reputation.clear_all()                                       # a snapshot: not affected
    with dde.Task.parse(task) as t:
        with pytest.raises(dde.ExecutorBlacklistedError):
            dde.verify(t, result, policy)
        dde.verify(t, result, store.policy(now_ms=T0))
    policy.close()


# ---- Misuse --------------------------------------------------------------------------------------

def test_closed_store_raises_everywhere(path, identity, requester, executor):
    (task, result), = counter_steps(requester, executor, 1)
    store = dde.Store(path)
    reputation = store.reputation
    store.close()
    store.close()  # idempotent
    assert store.closed and repr(store) == "Store(closed)"
    with dde.Task.parse(task) as t:
        calls = [lambda: store.commit(t, result, identity), store.head, store.verify_chain, store.export,
                 store.export_jsonl, store.receipts, store.policy, lambda: reputation.record_success(KEY_A, 1),
                 lambda: reputation.record_failure(KEY_A), lambda: reputation.record_timeout(KEY_A),
                 lambda: reputation.get(KEY_A), lambda: reputation.is_banned(KEY_A),
                 lambda: reputation.is_blacklisted(KEY_A), reputation.all, lambda: reputation.clear(KEY_A),
                 reputation.clear_all, lambda: store.reputation.all()]
        for call in calls:
            with pytest.raises(dde.ClosedError) as e:
                call()
            assert e.value.code == 5 and "store is closed" in e.value.message


def test_closed_task_and_identity(store, requester, executor):
    (task, result), = counter_steps(requester, executor, 1)
    t = dde.Task.parse(task)
    t.close()
    with dde.KeyPair.from_seed(bytes([1]) * 32) as key:
        with pytest.raises(dde.ClosedError):
            store.commit(t, result, key)
    with dde.Task.parse(task) as t:
        with pytest.raises(dde.ClosedError):
            store.commit(t, result, key)
    assert store.head().count == 0


def test_wrong_types_and_values(store, identity, requester, executor):
    (task, result), = counter_steps(requester, executor, 1)
    rep = store.reputation
    with dde.Task.parse(task) as t:
        for bad in (None, task, rfc8785.dumps(task), identity):
            with pytest.raises(TypeError):
                store.commit(bad, result, identity)
        for bad in (None, identity.secret_key, "key", t):
            with pytest.raises(TypeError):
                store.commit(t, result, bad)
        for bad in (None, object(), {1, 2}):
            with pytest.raises(TypeError):
                store.commit(t, bad, identity)
        for bad in (None, "1", 1.5, True, T0 * 1.0):
            with pytest.raises(TypeError):
                store.commit(t, result, identity, now_ms=bad)
            with pytest.raises(TypeError):
                store.policy(bad)
            with pytest.raises(TypeError):
                rep.record_success(KEY_A, latency_ms=bad)
        for bad in (-1, 2**64):
            with pytest.raises(dde.ArgumentError):
                store.commit(t, result, identity, now_ms=bad)
            with pytest.raises(dde.ArgumentError):
                rep.record_success(KEY_A, latency_ms=bad, now_ms=T0)
            with pytest.raises(dde.ArgumentError):
                rep.get(KEY_A, now_ms=bad)
    for bad in (None, KEY_A.hex(), 7, [0] * 32):
        for call in (rep.record_failure, rep.record_timeout, rep.get, rep.is_banned, rep.is_blacklisted, rep.clear):
            with pytest.raises(TypeError):
                call(bad)
    for size in (0, 31, 33, 64):
        with pytest.raises(dde.ArgumentError):
            rep.record_failure(bytes(size))
    for bad in (None, "node.db"):
        with pytest.raises(TypeError):
            dde.Reputation(bad)
    assert store.head().count == 0 and rep.all() == []   # none of it reached the file


def test_bad_paths_and_options(tmp_path):
    for bad in (None, 7, ["a"]):
        with pytest.raises(TypeError):
            dde.Store(bad)
    for bad, cls in (("", dde.ArgumentError), ("a\0b", dde.ArgumentError),
                     (str(tmp_path / ("x" * 5000)), dde.ArgumentError),
                     (os.fsencode(tmp_path) + b"/\xff.db", dde.EncodingError),
                     (tmp_path, dde.SQLiteError),                              # a directory
                     (tmp_path / "no" / "such" / "dir.db", dde.SQLiteError)):
        with pytest.raises(cls) as e:
            dde.Store(bad)
        assert e.value.message
    assert os.listdir(tmp_path) == []
    for bad in ([("halfLifeMs", 0)], "halfLifeMs", 0):
        with pytest.raises(TypeError):
            dde.Store(tmp_path / "o.db", reputation=bad)
    for bad, cls in (({"bogus": 1}, dde.SchemaError), ({"banDurationMs": -1}, dde.NumberError),
                     ({"halfLifeMs": 1.5}, dde.NumberError), ({"blacklistFailureRate": 2}, dde.ArgumentError),
                     ({"banAfterConsecutiveInvalid": 0}, dde.ArgumentError),
                     ({"confidenceZ": "x"}, dde.SchemaError), ({1: 2}, TypeError),
                     ({"confidenceZ": float("nan")}, dde.ArgumentError)):
        with pytest.raises(cls):
            dde.Store(tmp_path / "o.db", reputation=bad)


# ---- Threads and lifetime ------------------------------------------------------------------------

def test_threads_share_a_store_and_race_its_close(path, identity, requester, executor):
    steps = counter_steps(requester, executor, 6)
    store = dde.Store(path)
    outcomes = []
    start = threading.Barrier(5)

    def reputation_worker(n):
        start.wait()
        for i in range(100):
            try:
                store.reputation.record_success(bytes([n]) * 32, latency_ms=i, now_ms=T0 + i)
                store.reputation.all(now_ms=T0 + i)
                outcomes.append("ok")
            except dde.ClosedError:
                outcomes.append("closed")
                return

    def committer():
        start.wait()
        for task, result in steps:
            try:
                commit(store, identity, task, result)
            except dde.ClosedError:
                outcomes.append("closed")
                return

    threads = [threading.Thread(target=reputation_worker, args=(n,)) for n in range(3)]
    threads.append(threading.Thread(target=committer))
    for t in threads:
        t.start()
    start.wait()
    for _ in range(20):
        store.head()
    store.close()
    for t in threads:
        t.join()
    assert set(outcomes) <= {"ok", "closed"} and "closed" in outcomes
    # Every commit that returned is in the file, and the file is a valid chain.
    with dde.Store(path) as again:
        assert again.verify_chain() == again.head().count


def test_finalizer_closes_the_store(path):
    store = dde.Store(path)
    reputation = store.reputation
    finalizer = store._guard._finalizer
    del store
    gc.collect()
    assert finalizer.alive                     # the reputation view keeps its store open
    del reputation
    gc.collect()
    assert not finalizer.alive
