"""dde.Result on compute_results written in pure Python (tests/protocol.py): parsed fields equal
what was written, verify() agrees with dde.verify, mutated documents are refused by the check
they break, malformed ones at parse time, and the object cannot be changed."""

from __future__ import annotations

import base64
import copy
import json
import pickle

import pytest
import rfc8785

import dde

from protocol import H, make_result, make_task, mutate_proof

STATE = {"count": b"41"}
WRITES = {"count": b"42", "gone": None, "bin": b"\x00\xff"}


@pytest.fixture
def setup(requester, executor):
    r_key, _ = requester
    e_key, e_pub = executor
    document = make_task(r_key, capabilities=["state.read", "state.write"], state={**STATE, "gone": b"x"})
    result = make_result(document, e_key, result={"count": 42}, writes=WRITES, used=["state.write"])
    with dde.Task.parse(rfc8785.dumps(document)) as task:
        yield task, document, result, e_key, e_pub


def test_parse_reads_every_field(setup):
    _, document, result, _, e_pub = setup
    for form in (rfc8785.dumps(result), json.dumps(result, indent=2), result, bytearray(rfc8785.dumps(result))):
        r = dde.Result.parse(form)
        assert r.task_id == bytes.fromhex(document["taskId"]) == bytes.fromhex(result["proof"]["taskId"])
        assert r.executor == e_pub
        assert r.result == {"count": 42}
        assert r.state_writes == WRITES
        assert r.result_hash == bytes.fromhex(H({"count": 42}))
        assert all(type(v) is bytes for v in (r.task_id, r.result_hash, r.executor))
        assert r.proof == result["proof"]
        assert r.execution_latency == result["executionLatency"]
        assert r.json == rfc8785.dumps(result)
        assert r.to_dict() == result
    assert dde.Result.parse(result) == dde.Result.parse(json.dumps(result, indent=2))
    assert hash(dde.Result.parse(result)) == hash(dde.Result.parse(rfc8785.dumps(result)))
    r = dde.Result.parse(result)
    assert dde.Result.parse(r) is r
    assert pickle.loads(pickle.dumps(r)) == r
    assert r.task_id.hex()[:16] in repr(r)


def test_verify_valid(setup):
    task, _, result, _, _ = setup
    r = dde.Result.parse(result)
    assert r.verify(task) is None
    assert dde.verify(task, r) is None                      # dde.verify takes a Result too
    assert dde.verify(task, rfc8785.dumps(result)) is None  # and still bytes
    with dde.Policy() as policy:
        policy.deny(bytes(32), "banned")
        assert r.verify(task, policy) is None


def test_verify_refuses_each_mutation_with_its_check(setup, requester):
    task, document, result, e_key, e_pub = setup
    cases = [
        (mutate_proof(result, e_key, fuelUsed=10**10), dde.FuelExceededError),
        (mutate_proof(result, e_key, dappCodeHash="00" * 32), dde.CodeHashMismatchError),
        (mutate_proof(result, e_key, nextStateRoot="11" * 32), dde.NextStateRootError),
        (mutate_proof(result, e_key, capabilitiesUsed=["log"]), dde.CapabilitiesError),
        ({**result, "result": {"count": 43}}, dde.ResultHashError),
        ({**result, "stateWrites": {"count": base64.b64encode(b"43").decode()}}, dde.WritesHashError),
    ]
    forged = copy.deepcopy(result)
    forged["proof"]["fuelUsed"] += 1                        # changed without re-signing
    cases.append((forged, dde.ProofSignatureError))
    for mutated, cls in cases:
        r = dde.Result.parse(mutated)                       # well-formed: parse accepts it
        with pytest.raises(cls):
            r.verify(task)
        with pytest.raises(cls):
            dde.verify(task, r)
    # A result for another task.
    other = make_task(requester[0], action="decrement", capabilities=["state.read", "state.write"],
                      state={**STATE, "gone": b"x"})
    with dde.Task.parse(other) as other_task:
        with pytest.raises(dde.TaskMismatchError):
            dde.Result.parse(result).verify(other_task)
    with dde.Policy() as policy:
        policy.deny(e_pub, "blacklisted")
        with pytest.raises(dde.ExecutorBlacklistedError):
            dde.Result.parse(result).verify(task, policy)


def test_commit_takes_a_result(requester, executor, tmp_path):
    r_key, _ = requester
    e_key, _ = executor
    document = make_task(r_key, capabilities=["state.write"])
    r = dde.Result.parse(make_result(document, e_key, writes={"count": b"1"}))
    with dde.Store(tmp_path / "node.db") as store, dde.Task.parse(document) as task, \
            dde.KeyPair.from_seed(bytes([1]) * 32) as identity:
        receipt = store.commit(task, r, identity, now_ms=1764000000000)
        assert receipt.task_id == r.task_id and store.verify_chain() == 1


def test_the_object_cannot_be_changed(setup):
    _, _, result, _, _ = setup
    r = dde.Result.parse(result)
    with pytest.raises(AttributeError):
        r.task_id = "00" * 32
    with pytest.raises(AttributeError):
        r._doc = {}
    with pytest.raises(AttributeError):
        del r._text
    with pytest.raises(AttributeError):
        r.extra = 1
    # The properties hand out copies: changing them changes nothing inside.
    r.proof["fuelUsed"] = 0
    r.result["count"] = 0
    r.state_writes["count"] = b"0"
    r.to_dict()["taskId"] = "x"
    assert r.proof == result["proof"] and r.result == {"count": 42} and r.state_writes == WRITES
    assert r.json == rfc8785.dumps(result)
    with pytest.raises(TypeError):
        dde.Result()


def test_malformed_documents_raise_at_parse(setup):
    _, _, result, _, _ = setup
    text = rfc8785.dumps(result)
    cases = [
        (b"{not json", dde.JSONError),
        (b'{"taskId":"a","taskId":"b"}', dde.DuplicateKeyError),
        (b"[1,2]", dde.SchemaError),
        ({k: v for k, v in result.items() if k != "proof"}, dde.SchemaError),
        ({**result, "extra": 1}, dde.SchemaError),
        ({**result, "executionLatency": "7"}, dde.SchemaError),
        ({**result, "executionLatency": True}, dde.SchemaError),
        ({**result, "proof": []}, dde.SchemaError),
        ({**result, "stateWrites": {"count": 42}}, dde.SchemaError),
        ({**result, "stateWrites": {"count": "not base64!"}}, dde.EncodingError),
        ({**result, "executorPublicKey": "zz" * 32}, dde.EncodingError),
        ({**result, "executorPublicKey": "AB" * 32}, dde.EncodingError),
        ({**result, "executorPublicKey": "ab" * 31}, dde.EncodingError),
        ({**result, "taskId": "zz" * 32}, dde.EncodingError),              # ids and hashes are read as bytes
        ({**result, "taskId": "ab" * 33}, dde.EncodingError),
        ({**result, "resultHash": result["resultHash"].upper()}, dde.EncodingError),
        (b"[" * 100 + b"]" * 100, dde.LimitError),
    ]
    for document, cls in cases:
        with pytest.raises(cls):
            dde.Result.parse(document)
    assert dde.Result.parse(text).json == text
    with pytest.raises(dde.SchemaError):
        dde.Result.parse(42.5)                              # a JSON document, not an object
    for wrong in (None, object(), {1, 2}):
        with pytest.raises(TypeError):
            dde.Result.parse(wrong)
