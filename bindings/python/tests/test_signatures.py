"""Keys, signatures and tasks against PyNaCl and rfc8785: dde-signed tasks verify under PyNaCl
with the documented message, and tasks written in pure Python are accepted by dde."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st
from nacl.exceptions import BadSignatureError as NaClBadSignature
from nacl.signing import SigningKey, VerifyKey

import dde

import protocol
from protocol import H, make_task, seal_task, sign_message

SPEC = {"dappId": "wallet", "dappCodeHash": hashlib.sha256(b"(module)").hexdigest(),
        "action": "transfer", "payload": {"to": "bob", "amount": 5, "note": "\u00e9\U0001f600"},
        "raw": "send 5 to bob", "requiredCapabilities": ["state.write", "state.read", "state.read"],
        "state": {"balance/alice": "AAAAAAAAAAU=", "count": "NDE="},
        "maxExecutionSteps": 50, "maxFuel": 5000, "timestamp": 1764000000000}


def test_protocol_vectors():
    # docs/PROTOCOL.md section 2.
    message = sign_message("task", hashlib.sha256(b"").hexdigest())
    assert message.hex() == ("6464652f76312f7461736b00e3b0c44298fc1c149afbf4c8996fb92427ae41e4"
                             "649b934ca495991b7852b855")
    key = dde.KeyPair.from_seed(bytes([1]) * 32)
    assert key.public_key.hex() == "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c"
    assert key.sign("task", hashlib.sha256(b"").digest()).hex() == (
        "9c280c16c2c18120fd18061339ed2d51b78dcc7d4338009b2c2f86b23e78cdff"
        "f95c0568aa8d302de5116d8b9eaf0fbd00365789be8aef37343540429142af09")
    assert protocol.state_root({}) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert protocol.state_root({"count": b"41"}) == "c2de4f4680e77bd68b60c4114ebadb74a1325d85d67b6ea0082d45739e46e132"
    three = {"balance/alice": (5).to_bytes(8, "big"), "balance/bob": (95).to_bytes(8, "big"), "count": b"41"}
    assert protocol.state_root(three) == "96de2b92e7dc9b15d94f55ae13d1080e3ce6b28bce7a2d5bdc55b97a648ce0a1"


def test_sha256_matches_hashlib():
    for data in (b"", b"abc", bytes(range(256)) * 1000, bytearray(b"x" * 64), memoryview(b"mv")):
        assert dde.sha256(data) == hashlib.sha256(bytes(data)).digest()


@settings(max_examples=50, deadline=None)
@given(st.binary(min_size=32, max_size=32), st.binary(max_size=64))
def test_keys_and_signatures_agree_with_pynacl(seed, data):
    nacl_key = SigningKey(seed)
    digest = hashlib.sha256(data).digest()
    with dde.KeyPair.from_seed(seed) as key:
        assert key.public_key == nacl_key.verify_key.encode()
        assert key.secret_key == seed + key.public_key
        for kind in ("task", "proof", "receipt"):
            signature = key.sign(kind, digest)
            message = b"dde/v1/" + kind.encode() + b"\x00" + digest
            VerifyKey(key.public_key).verify(message, signature)  # raises if wrong
            assert signature == nacl_key.sign(message).signature  # Ed25519 is deterministic
            dde.verify_signature(kind, digest, key.public_key, nacl_key.sign(message).signature)
            dde.ed25519_verify(signature, message, key.public_key)
            for other in {"task", "proof", "receipt"} - {kind}:
                with pytest.raises(dde.BadSignatureError):
                    dde.verify_signature(other, digest, key.public_key, signature)


def test_generated_keys_are_distinct_and_valid():
    keys = [dde.KeyPair.generate() for _ in range(8)]
    assert len({k.public_key for k in keys}) == 8
    for k in keys:
        digest = dde.sha256(b"m")
        VerifyKey(k.public_key).verify(b"dde/v1/proof\x00" + digest, k.sign(dde.SignatureKind.PROOF, digest))


def test_bad_signatures_are_refused():
    key = dde.KeyPair.from_seed(bytes(32))
    digest = dde.sha256(b"m")
    good = key.sign("task", digest)
    dde.verify_signature("task", digest, key.public_key, good)
    for i in (0, 31, 32, 63):
        bad = bytearray(good)
        bad[i] ^= 1
        with pytest.raises(dde.BadSignatureError) as e:
            dde.verify_signature("task", digest, key.public_key, bytes(bad))
        assert e.value.code == 57 and e.value.name == "DDE_ERR_SIGNATURE"
    with pytest.raises(dde.BadSignatureError):
        dde.verify_signature("task", dde.sha256(b"n"), key.public_key, good)
    with pytest.raises(dde.BadSignatureError):
        dde.ed25519_verify(good, b"dde/v1/task\x00" + digest + b"!", key.public_key)


def test_dde_task_verifies_under_pynacl_and_rfc8785():
    with dde.KeyPair.from_seed(bytes([1]) * 32) as key, dde.Task.create(SPEC, key) as task:
        document = task.to_dict()
        assert task.json == rfc8785.dumps(document)  # the task is sent in canonical form
        body = {k: v for k, v in document.items() if k not in ("taskId", "signature")}
        assert task.id == bytes.fromhex(document["taskId"]) == hashlib.sha256(rfc8785.dumps(body)).digest()
        VerifyKey(key.public_key).verify(b"dde/v1/task\x00" + task.id,
                                         bytes.fromhex(document["signature"]))
        with pytest.raises(NaClBadSignature):  # and only under the task domain
            VerifyKey(key.public_key).verify(b"dde/v1/proof\x00" + task.id,
                                             bytes.fromhex(document["signature"]))
        # The fields dde derived, recomputed from the spec by the protocol's rules.
        assert document["inputHash"] == H(SPEC["payload"])
        state = {k: base64.b64decode(v) for k, v in SPEC["state"].items()}
        assert document["previousStateRoot"] == protocol.state_root(state)
        assert document["requiredCapabilities"] == ["state.read", "state.write"]
        assert document["requesterPublicKey"] == key.public_key.hex()
        # The same spec and key give the same task (the timestamp is fixed).
        with dde.Task.create(SPEC, key) as again:
            assert again.json == task.json
        # Spec as JSON text (bytes or str) is the same spec.
        with dde.Task.create(json.dumps(SPEC), key) as from_text:
            assert from_text.id == task.id


def test_pure_python_task_is_accepted(requester):
    signing, public = requester
    document = make_task(signing, payload={"n": 1}, capabilities=["state.read"],
                         state={"count": b"41"}, max_time=100, max_memory=65536)
    for form in (rfc8785.dumps(document), document, rfc8785.dumps(document).decode()):
        with dde.Task.parse(form) as task:
            assert task.id == bytes.fromhex(document["taskId"])
            assert task.to_dict() == document


@settings(max_examples=60, deadline=None)
@given(payload=st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) |
    st.floats(allow_nan=False, allow_infinity=False) |
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=8), inner, max_size=4),
    max_leaves=15),
    state=st.dictionaries(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12),
                          st.binary(max_size=40), max_size=6))
def test_pure_python_tasks_with_any_payload_and_state(payload, state):
    signing = SigningKey(bytes([7]) * 32)
    document = make_task(signing, payload=payload, state=state, raw="r\u00e9")
    with dde.Task.parse(rfc8785.dumps(document)) as task:
        assert task.id == bytes.fromhex(document["taskId"])


def test_tampered_pure_python_tasks_are_refused(requester):
    signing, _ = requester
    other = SigningKey(bytes([3]) * 32)
    good = make_task(signing, payload={"n": 1}, state={"count": b"41"})

    def refused(document, cls):
        with pytest.raises(cls) as e:
            dde.Task.parse(rfc8785.dumps(document))
        assert e.value.code == cls.CODE and e.value.message
        return e.value

    # A field changed after signing: the id no longer matches.
    refused({**good, "dappId": "other"}, dde.TaskIdError)
    refused({**good, "maxFuel": good["maxFuel"] + 1}, dde.TaskIdError)
    # Id recomputed but the signature is the old one, or another key's.
    changed = {**good, "dappId": "other"}
    changed["taskId"] = protocol.task_id(changed)
    refused(changed, dde.TaskSignatureError)
    refused({**good, "signature": protocol.sign(other, "task", good["taskId"])}, dde.TaskSignatureError)
    refused({**good, "signature": protocol.sign(signing, "proof", good["taskId"])}, dde.TaskSignatureError)
    # Derived fields that do not match, even when re-signed.
    refused(seal_task({**good, "previousStateRoot": "00" * 32}, signing), dde.PreviousStateRootError)
    refused(seal_task({**good, "inputHash": "00" * 32}, signing), dde.InputHashMismatchError)
    # Schema and encodings.
    refused(seal_task({**good, "extra": 1}, signing), dde.SchemaError)
    refused(seal_task({k: v for k, v in good.items() if k != "dappId"}, signing), dde.SchemaError)
    refused(seal_task({**good, "taskVersion": 3}, signing), dde.VersionError)
    # A version 2 task needs its stateProof.
    refused(seal_task({**good, "taskVersion": 2}, signing), dde.SchemaError)
    refused(seal_task({**good, "maxFuel": -1}, signing), dde.NumberError)
    refused(seal_task({**good, "dappCodeHash": good["dappCodeHash"].upper()}, signing), dde.EncodingError)
    refused(seal_task({**good, "state": {"count": "NDE"}}, signing), dde.EncodingError)
