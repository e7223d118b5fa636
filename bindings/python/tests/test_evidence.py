"""Portable fraud evidence (docs/PROTOCOL.md section 12): documents written in pure Python from
signed proofs (tests/protocol.py, PyNaCl), checked by dde.check_evidence, imported into a Store
(an equivocating key is blacklisted for good) and exported again."""

from __future__ import annotations

import hashlib
import json

import pytest
import rfc8785
from nacl.signing import SigningKey

import dde

from protocol import H, make_result, make_task, mutate_proof

T0 = 1764000000000
YEAR_MS = 365 * 24 * 3600 * 1000


def document(task, *proofs, version=1, sort=True):
    """{"evidenceVersion":1,"proofs":[proof, proof],"task":task}, the proofs sorted by proofHash
    (H(proof) including its signature; lowercase hex sorts as the bytes do)."""
    proofs = sorted(proofs, key=H) if sort else list(proofs)
    return {"evidenceVersion": version, "proofs": proofs, "task": task}


def evidence_id(doc) -> bytes:
    return hashlib.sha256(rfc8785.dumps(doc)).digest()


def verdict_json(evidence_id, task_id, signers, liars, how) -> bytes:
    """The library's verdict as docs/PROTOCOL.md section 12 and dde.h write it (hex)."""
    return rfc8785.dumps({"evidenceId": evidence_id.hex(), "how": how, "liars": [k.hex() for k in liars],
                          "signers": [k.hex() for k in signers], "taskId": task_id.hex()})


@pytest.fixture
def keys(requester, executor):
    r_key, _ = requester
    e_key, e_pub = executor
    other = SigningKey(bytes([3]) * 32)
    return r_key, e_key, e_pub, other, other.verify_key.encode()


@pytest.fixture
def task(keys):
    r_key = keys[0]
    return make_task(r_key, capabilities=["state.read", "state.write"], state={"count": b"41"})


def answer(task, key, count, **extra):
    """A valid compute_result of `task` by `key` claiming the counter went to `count`."""
    return make_result(task, key, result={"count": count}, writes={"count": str(count).encode()}, **extra)


@pytest.fixture
def equivocation(task, keys):
    _, e_key, *_ = keys
    return document(task, answer(task, e_key, 42)["proof"], answer(task, e_key, 43)["proof"])


@pytest.fixture
def disagreement(task, keys):
    _, e_key, _, other, _ = keys
    return document(task, answer(task, e_key, 42)["proof"], answer(task, other, 43)["proof"])


# ---- check_evidence ------------------------------------------------------------------------------

def test_one_key_signing_two_answers_is_named_by_the_document(equivocation, task, keys):
    e_pub = keys[2]
    for form in (rfc8785.dumps(equivocation), json.dumps(equivocation, indent=1), equivocation):
        verdict = dde.check_evidence(form)
        assert isinstance(verdict, dde.EvidenceVerdict)
        expected = dict(evidence_id=evidence_id(equivocation), task_id=bytes.fromhex(task["taskId"]),
                        signers=(e_pub, e_pub), liars=(e_pub,), how="equivocation")
        assert verdict == dde.EvidenceVerdict(**expected, json=verdict_json(**expected))
        assert verdict.judged
        assert all(type(v) is bytes for v in (verdict.evidence_id, verdict.task_id, *verdict.signers, *verdict.liars))
        assert verdict.to_dict() == json.loads(verdict.json)
    with pytest.raises(AttributeError):
        verdict.liars = ()  # frozen


def test_two_keys_disagreeing_need_a_reexecution(disagreement, task, keys):
    _, _, e_pub, _, o_pub = keys
    with pytest.raises(dde.EvidenceUnjudgedError) as caught:
        dde.check_evidence(disagreement)
    error = caught.value
    assert isinstance(error, dde.EvidenceError) and error.code == 111 and error.name == "DDE_ERR_EVIDENCE_UNJUDGED"
    assert "re-execution" in error.message
    verdict = error.verdict  # the sound document's verdict rides on the error
    assert isinstance(verdict, dde.EvidenceVerdict) and not verdict.judged
    assert verdict.evidence_id == evidence_id(disagreement) and verdict.task_id == bytes.fromhex(task["taskId"])
    assert sorted(verdict.signers) == sorted([e_pub, o_pub])
    assert list(verdict.signers) == [bytes.fromhex(p["executorPublicKey"]) for p in disagreement["proofs"]]
    assert verdict.liars == () and verdict.how is None
    assert verdict.json == verdict_json(verdict.evidence_id, verdict.task_id, verdict.signers, (), None)


def test_a_proof_failing_its_own_signed_fields_names_its_signer(task, keys):
    _, e_key, e_pub, other, _ = keys
    honest = answer(task, other, 42)
    # Validly signed, but it claims another code than the task names: a lie on its face.
    lying = mutate_proof(answer(task, e_key, 43), e_key, dappCodeHash=hashlib.sha256(b"other").hexdigest())
    verdict = dde.check_evidence(document(task, honest["proof"], lying["proof"]))
    assert verdict.liars == (e_pub,) and verdict.how == "signed_fields"


def test_a_bad_signature_proves_nothing(task, keys):
    _, e_key, _, other, _ = keys
    proof = dict(answer(task, e_key, 42)["proof"])
    signature = bytearray.fromhex(proof["signature"])
    signature[0] ^= 1
    proof["signature"] = signature.hex()
    with pytest.raises(dde.ProofSignatureError) as caught:
        dde.check_evidence(document(task, proof, answer(task, other, 43)["proof"]))
    assert caught.value.code == 52 and caught.value.message
    # Another key's signature under the executor's name.
    forged = mutate_proof(answer(task, e_key, 42), other)["proof"]
    with pytest.raises(dde.ProofSignatureError):
        dde.check_evidence(document(task, forged, answer(task, other, 43)["proof"]))


def test_proofs_of_two_tasks_prove_nothing(task, keys):
    r_key, e_key, _, other, _ = keys
    second = make_task(r_key, capabilities=["state.read", "state.write"], state={"count": b"41"},
                       payload={"n": 2})
    with pytest.raises(dde.TaskMismatchError):
        dde.check_evidence(document(task, answer(task, e_key, 42)["proof"], answer(second, other, 43)["proof"]))
    with pytest.raises(dde.TaskMismatchError):  # both proofs right, the document's task wrong
        dde.check_evidence(document(second, answer(task, e_key, 42)["proof"], answer(task, other, 43)["proof"]))


def test_agreeing_proofs_prove_nothing(task, keys):
    _, e_key, _, other, _ = keys
    with pytest.raises(dde.EvidenceAgreesError) as caught:
        dde.check_evidence(document(task, answer(task, e_key, 42)["proof"], answer(task, other, 42)["proof"]))
    assert isinstance(caught.value, dde.EvidenceError) and caught.value.code == 110
    # The same key agreeing with itself (a different timestamp): no contradiction either.
    with pytest.raises(dde.EvidenceAgreesError):
        dde.check_evidence(document(task, answer(task, e_key, 42)["proof"],
                                    answer(task, e_key, 42, timestamp=T0 + 5)["proof"]))


def test_malformed_documents(equivocation, task, keys):
    r_key = keys[0]
    text = rfc8785.dumps(equivocation)
    for bad, cls in ((b"", dde.JSONError), (b"not json", dde.JSONError), (text[:-1], dde.JSONError),
                     (b"[]", dde.SchemaError), (b"{}", dde.SchemaError), (b"null", dde.SchemaError),
                     ({**equivocation, "extra": 1}, dde.SchemaError),
                     ({**equivocation, "evidenceVersion": 2}, dde.VersionError),
                     ({**equivocation, "proofs": equivocation["proofs"][:1]}, dde.SchemaError),
                     ({**equivocation, "proofs": equivocation["proofs"] * 2}, dde.SchemaError),
                     ({**equivocation, "proofs": equivocation["proofs"][::-1]}, dde.SchemaError),  # unsorted
                     ({**equivocation, "task": {**task, "signature": "00" * 64}}, dde.TaskSignatureError),
                     ({**equivocation, "task": {**task, "timestamp": T0 + 1}}, dde.TaskIdError),
                     (b"[" * 100 + b"]" * 100, dde.LimitError)):
        with pytest.raises(cls):
            dde.check_evidence(bad)
    for bad in (None, object(), {1, 2}):
        with pytest.raises(TypeError):
            dde.check_evidence(bad)
    with pytest.raises(dde.ArgumentError):
        dde.check_evidence(bytes(65 << 20))  # past the C boundary's 64 MiB


# ---- Store.import_evidence / export_evidence ---------------------------------------------------

@pytest.fixture
def store(tmp_path):
    with dde.Store(tmp_path / "a.db") as s:
        yield s


def test_import_blacklists_an_equivocating_key_for_good(store, equivocation, task, keys):
    _, e_key, e_pub, _, o_pub = keys
    pk = e_pub
    assert not store.reputation.is_blacklisted(pk, now_ms=T0)
    verdict = store.import_evidence(equivocation, now_ms=T0)
    assert verdict == dde.check_evidence(equivocation) and verdict.liars == (e_pub,)
    record = store.reputation.get(pk, now_ms=T0)
    assert record.convicted is True and record.convicted_at == T0 and record.blacklisted is True
    # For good: years later, after any number of valid proofs, whatever the failure rate.
    for i in range(20):
        store.reputation.record_success(pk, latency_ms=5, now_ms=T0 + i)
    for later in (T0, T0 + 1, T0 + 10 * YEAR_MS):
        assert store.reputation.is_blacklisted(pk, now_ms=later)
        assert not store.reputation.is_banned(pk, now_ms=later)  # blacklisted, not banned
    assert store.reputation.get(o_pub, now_ms=T0) is None  # only the liar
    # The store's policy refuses its next proof, valid as it is.
    with dde.Task.parse(task) as t:
        dde.verify(t, answer(task, e_key, 42))
        with store.policy(now_ms=T0 + 10 * YEAR_MS) as policy:
            with pytest.raises(dde.ExecutorBlacklistedError):
                dde.verify(t, answer(task, e_key, 42), policy)
    # A second import of the same document is fine and changes nothing.
    assert store.import_evidence(rfc8785.dumps(equivocation), now_ms=T0 + 5) == verdict
    assert store.reputation.get(pk, now_ms=T0).convicted_at == T0
    assert store.export_evidence() == [rfc8785.dumps(equivocation)]


def test_import_of_an_unjudged_document_blacklists_nobody(store, disagreement, keys):
    _, _, e_pub, _, o_pub = keys
    for attempt in range(2):  # kept the first time; still unjudged when it comes again
        with pytest.raises(dde.EvidenceUnjudgedError) as caught:
            store.import_evidence(disagreement, now_ms=T0 + attempt)
        assert caught.value.verdict.liars == () and caught.value.verdict.how is None
        assert caught.value.verdict.evidence_id == evidence_id(disagreement)
        for pub in (e_pub, o_pub):
            assert not store.reputation.is_blacklisted(pub, now_ms=T0)
    assert store.export_evidence() == [rfc8785.dumps(disagreement)]  # kept, once


def test_refused_documents_change_nothing(store, task, keys):
    _, e_key, _, other, _ = keys
    cases = [(document(task, answer(task, e_key, 42)["proof"], answer(task, other, 42)["proof"]), dde.EvidenceAgreesError),
             (b"not json", dde.JSONError),
             ({"evidenceVersion": 1}, dde.SchemaError)]
    bad_sig = dict(answer(task, e_key, 42)["proof"])
    bad_sig["signature"] = "00" * 64
    cases.append((document(task, bad_sig, answer(task, e_key, 43)["proof"]), dde.ProofSignatureError))
    for doc, cls in cases:
        with pytest.raises(cls):
            store.import_evidence(doc, now_ms=T0)
    assert store.export_evidence() == [] and store.reputation.all(now_ms=T0) == []


def test_export_round_trips_into_another_store(tmp_path, store, equivocation, disagreement, keys):
    _, _, e_pub, _, o_pub = keys
    assert store.export_evidence() == []
    store.import_evidence(equivocation, now_ms=T0)
    with pytest.raises(dde.EvidenceUnjudgedError):
        store.import_evidence(disagreement, now_ms=T0 + 1)
    exported = store.export_evidence()
    assert exported == [rfc8785.dumps(equivocation), rfc8785.dumps(disagreement)]  # canonical, oldest first
    assert all(isinstance(line, bytes) and b"\n" not in line for line in exported)
    assert [dde.check_evidence(exported[0]).evidence_id] == [evidence_id(equivocation)]
    with dde.Store(tmp_path / "b.db") as other:
        assert other.import_evidence(exported[0], now_ms=T0).liars == (e_pub,)
        with pytest.raises(dde.EvidenceUnjudgedError):
            other.import_evidence(exported[1], now_ms=T0)
        assert other.reputation.is_blacklisted(e_pub, now_ms=T0 + YEAR_MS)
        assert not other.reputation.is_blacklisted(o_pub, now_ms=T0)
        assert other.export_evidence() == exported  # byte for byte
    # Survives closing and reopening.
    path = tmp_path / "a.db"
    store.close()
    with dde.Store(path) as again:
        assert again.export_evidence() == exported
        assert again.reputation.is_blacklisted(e_pub, now_ms=T0)


def test_evidence_misuse(tmp_path, equivocation):
    s = dde.Store(tmp_path / "m.db")
    for bad in (None, object()):
        with pytest.raises(TypeError):
            s.import_evidence(bad)
    for bad in ("0", 1.5, None):
        with pytest.raises(TypeError):
            s.import_evidence(equivocation, now_ms=bad)
    with pytest.raises(dde.ArgumentError):
        s.import_evidence(equivocation, now_ms=-1)
    with pytest.raises(dde.ArgumentError):
        s.import_evidence(equivocation, now_ms=2**64)
    assert s.export_evidence() == []  # none of that reached the store
    s.close()
    with pytest.raises(dde.ClosedError):
        s.import_evidence(equivocation)
    with pytest.raises(dde.ClosedError):
        s.export_evidence()
