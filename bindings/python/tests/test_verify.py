"""dde.verify on compute_results written in pure Python (tests/protocol.py, from docs/PROTOCOL.md
sections 5 and 6, signed with PyNaCl): the valid one passes, each mutation raises its check's
exception class."""

from __future__ import annotations

import copy
import hashlib
import json

import pytest
import rfc8785
from nacl.signing import SigningKey

import dde

import protocol
from protocol import H, make_result, make_task, mutate_proof, seal_proof

STATE = {"count": b"41", "gone": b"x", "keep": bytes(range(32))}
WRITES = {"count": b"42", "gone": None, "new/\u00e9": b"\x00\xff"}


@pytest.fixture
def setup(requester, executor):
    r_key, _ = requester
    e_key, e_pub = executor
    document = make_task(r_key, payload={"by": 1, "note": "\u00e9"}, capabilities=["state.read", "state.write"],
                         state=STATE, max_steps=10, max_fuel=1000)
    result = make_result(document, e_key, result={"count": 42, "ok": True}, writes=WRITES,
                         used=["state.write"], trace_length=10, fuel_used=1000)
    with dde.Task.parse(rfc8785.dumps(document)) as task:
        yield task, document, result, e_key, e_pub


def refused(task, result, cls, policy=None):
    with pytest.raises(dde.DDEError) as e:
        dde.verify(task, rfc8785.dumps(result), policy)
    assert type(e.value) is cls, f"expected {cls.__name__}, got {e.value!r}"
    assert e.value.code == cls.CODE and e.value.name == cls.NAME
    assert e.value.message, "the library's message (dde_errmsg) should say what was wrong"
    return e.value


def test_valid_result_passes_in_every_form(setup):
    task, _, result, _, _ = setup
    assert dde.verify(task, rfc8785.dumps(result)) is None
    dde.verify(task, json.dumps(result, indent=1))          # str, not canonical: still fine
    dde.verify(task, result)                                # dict
    dde.verify(task, bytearray(rfc8785.dumps(result)))
    with dde.Policy() as policy:
        policy.deny(bytes(32), "banned")                    # someone else
        dde.verify(task, result, policy)


def test_results_without_state_and_deleting_everything(requester, executor):
    r_key, _ = requester
    e_key, _ = executor
    plain = make_task(r_key)
    with dde.Task.parse(rfc8785.dumps(plain)) as task:
        dde.verify(task, make_result(plain, e_key, result=[1, "two", None]))
        # A task that allows no capability cannot write: writes need "state.write" used.
        refused(task, make_result(plain, e_key, writes={"a": b"1"}), dde.CapabilitiesError)
    writing = make_task(r_key, capabilities=["state.write"])
    with dde.Task.parse(rfc8785.dumps(writing)) as task:
        dde.verify(task, make_result(writing, e_key, result=[1, "two", None], writes={"a": b"1"}))
    stateful = make_task(r_key, state=STATE, capabilities=["state.write"])
    with dde.Task.parse(stateful) as task:
        dde.verify(task, make_result(stateful, e_key, writes={k: None for k in STATE}))


def test_each_check_raises_its_class(setup):
    task, document, result, e_key, e_pub = setup
    m = lambda **changes: mutate_proof(result, e_key, **changes)  # re-signed: only one check fails

    # 2: another task, dApp or action.
    refused(task, m(taskId="00" * 32), dde.TaskMismatchError)
    refused(task, m(dappId="other"), dde.TaskMismatchError)
    refused(task, m(action="decrement"), dde.TaskMismatchError)
    # 3, 4
    refused(task, m(dappCodeHash=hashlib.sha256(b"other").hexdigest()), dde.CodeHashMismatchError)
    refused(task, m(inputHash=H({"by": 2})), dde.InputHashMismatchError)
    # 5
    refused(task, m(capabilitiesDeclared=["state.read"]), dde.CapabilitiesError)
    refused(task, m(capabilitiesUsed=["log"]), dde.CapabilitiesError)
    # 6: the limits are inclusive (the valid result uses exactly 10 steps and 1000 fuel).
    refused(task, m(traceLength=11), dde.StepsExceededError)
    refused(task, m(fuelUsed=1001), dde.FuelExceededError)
    # 7: the result or the writes are not what the proof hashed.
    swapped = copy.deepcopy(result)
    swapped["result"] = {"count": 1000, "ok": True}
    refused(task, swapped, dde.ResultHashError)
    rewritten = copy.deepcopy(result)
    rewritten["stateWrites"]["count"] = protocol.b64(b"99")
    refused(task, rewritten, dde.WritesHashError)
    # 8
    refused(task, m(previousStateRoot=protocol.state_root({})), dde.PreviousStateRootError)
    # Writes need "state.write" used (declared is not enough): checked with the transition.
    error = refused(task, m(capabilitiesUsed=["state.read"]), dde.CapabilitiesError)
    assert "state.write" in error.message
    refused(task, m(capabilitiesUsed=[]), dde.CapabilitiesError)
    wrong_next = protocol.state_root(protocol.apply_writes(STATE, {"count": b"43"}))
    refused(task, m(nextStateRoot=wrong_next), dde.NextStateRootError)
    # A consistent lie about the writes: hash and outer writes agree, the root does not.
    lying = m(stateWritesHash=H({"count": protocol.b64(b"43")}))
    lying["stateWrites"] = {"count": protocol.b64(b"43")}
    refused(task, lying, dde.NextStateRootError)
    # 9: a flipped signature, another executor's signature, the wrong domain.
    flipped = copy.deepcopy(result)
    sig = bytearray.fromhex(flipped["proof"]["signature"])
    sig[5] ^= 0x20
    flipped["proof"]["signature"] = sig.hex()
    refused(task, flipped, dde.ProofSignatureError)
    other = SigningKey(bytes([9]) * 32)
    forged = copy.deepcopy(result)
    forged["proof"] = seal_proof(forged["proof"], other)
    refused(task, forged, dde.ProofSignatureError)
    wrong_kind = copy.deepcopy(result)
    wrong_kind["proof"] = seal_proof(wrong_kind["proof"], e_key, kind="task")
    refused(task, wrong_kind, dde.ProofSignatureError)


def test_policy(setup):
    task, _, result, _, e_pub = setup
    with dde.Policy() as policy:
        policy.deny(e_pub, dde.DenyReason.BANNED)
        error = refused(task, result, dde.ExecutorBannedError, policy)
        assert isinstance(error, dde.ExecutorRefusedError) and isinstance(error, dde.VerificationError)
        policy.deny(e_pub, "blacklisted")  # blacklisted is checked first
        refused(task, result, dde.ExecutorBlacklistedError, policy)
    dde.verify(task, result)  # without the policy it is valid


def test_outer_fields_must_equal_the_proofs(setup):
    task, _, result, _, _ = setup
    for field, value in (("taskId", "11" * 32), ("resultHash", H([])),
                         ("executorPublicKey", SigningKey(bytes([9]) * 32).verify_key.encode().hex())):
        refused(task, {**result, field: value}, dde.ResultMismatchError)


def test_malformed_results(setup):
    task, _, result, e_key, _ = setup
    refused(task, {**result, "extra": 1}, dde.SchemaError)
    refused(task, {k: v for k, v in result.items() if k != "proof"}, dde.SchemaError)
    refused(task, mutate_proof(result, e_key, proofVersion=2), dde.VersionError)
    refused(task, mutate_proof(result, e_key, traceLength=-1), dde.NumberError)
    refused(task, mutate_proof(result, e_key, fuelUsed=1.5), dde.NumberError)
    refused(task, mutate_proof(result, e_key, executionTraceHash="AB" * 32), dde.EncodingError)
    bad_b64 = copy.deepcopy(result)
    bad_b64["stateWrites"]["count"] = "NDI"
    refused(task, bad_b64, dde.EncodingError)
    text = rfc8785.dumps(result)
    for bad, cls in ((text[:-1], dde.JSONError), (b'{"taskId":"a","taskId":"b"}', dde.DuplicateKeyError),
                     (b"[" * 100 + b"]" * 100, dde.LimitError), (b"", dde.JSONError)):
        with pytest.raises(cls):
            dde.verify(task, bad)


def test_latency_is_outside_the_signature(setup):
    # docs/PROTOCOL.md section 5: executionLatency is advisory and unsigned.
    task, _, result, _, _ = setup
    dde.verify(task, {**result, "executionLatency": 999999})


def test_a_result_for_another_task(requester, executor, setup):
    task, _, _, _, _ = setup
    r_key, _ = requester
    e_key, _ = executor
    other = make_task(r_key, action="increment", payload={"by": 2})
    refused(task, make_result(other, e_key), dde.TaskMismatchError)
