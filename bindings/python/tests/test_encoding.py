"""The package's one convention (dde.encoding): raw bytes for every hash, id, key and signature by
default, hex only through encoder=HexEncoder, in every function that takes or returns one; any
PyNaCl encoder works too. Checked against hashlib and PyNaCl."""

from __future__ import annotations

import base64
import hashlib

import nacl.encoding
import pytest
import rfc8785
from nacl.signing import SigningKey

import dde
from dde.encoding import HexEncoder, RawEncoder

from protocol import make_result, make_task

SEED = bytes(range(32))
T0 = 1764000000000


# ---- The encoders ------------------------------------------------------------------------------

def test_raw_and_hex_encoders():
    data = bytes(range(256))
    assert RawEncoder.encode(data) == data and type(RawEncoder.encode(bytearray(data))) is bytes
    assert RawEncoder.decode(memoryview(data)) == data
    assert HexEncoder.encode(data) == data.hex() and type(HexEncoder.encode(data)) is str
    for form in (data.hex(), data.hex().upper(), data.hex().encode()):
        assert HexEncoder.decode(form) == data
    for bad in ("0", "zz", "ab cd", "\u00e9\u00e9", b"0g"):
        with pytest.raises(dde.ArgumentError):
            HexEncoder.decode(bad)
    for bad in (None, 7, ["ab"]):
        with pytest.raises(TypeError):
            HexEncoder.decode(bad)
    with pytest.raises(TypeError, match="HexEncoder"):
        RawEncoder.decode("ab" * 32)


# ---- Outputs: bytes by default, hex on request -------------------------------------------------

def test_outputs_are_bytes_unless_an_encoder_says_hex():
    assert dde.sha256(b"abc") == hashlib.sha256(b"abc").digest()
    assert dde.sha256(b"abc", encoder=RawEncoder) == hashlib.sha256(b"abc").digest()
    assert dde.sha256(b"abc", encoder=HexEncoder) == hashlib.sha256(b"abc").hexdigest()
    nacl_key = SigningKey(SEED)
    with dde.KeyPair.from_seed(SEED) as key:
        digest = dde.sha256(b"m")
        signature = key.sign("proof", digest)
        assert type(signature) is bytes and len(signature) == dde.SIGNATUREBYTES
        assert signature == nacl_key.sign(b"dde/v1/proof\0" + digest).signature
        # HexEncoder: the digest is read as hex and the signature written as hex.
        assert key.sign("proof", digest.hex(), encoder=HexEncoder) == signature.hex()
        with dde.Task.create({"dappId": "d", "dappCodeHash": "00" * 32, "action": "a", "timestamp": T0}, key) as t:
            assert type(t.id) is bytes and t.id == bytes.fromhex(t.to_dict()["taskId"])
            assert repr(t) == f"Task(id={t.id.hex()})"


# ---- Inputs: bytes by default; hex str only with HexEncoder ------------------------------------

def test_inputs_take_hex_only_with_the_hex_encoder():
    nacl_key = SigningKey(SEED)
    public = nacl_key.verify_key.encode()
    with dde.KeyPair.from_seed(SEED.hex(), encoder=HexEncoder) as key:
        assert key.public_key == public
    with dde.KeyPair.from_seed(SEED.hex().encode(), encoder=HexEncoder) as key:  # hex as bytes too
        assert key.public_key == public
    digest = dde.sha256(b"m")
    signature = nacl_key.sign(b"dde/v1/task\0" + digest).signature
    dde.verify_signature("task", digest, public, signature)
    dde.verify_signature("task", digest.hex(), public.hex(), signature.hex(), encoder=HexEncoder)
    with pytest.raises(dde.BadSignatureError):
        dde.verify_signature("task", digest.hex(), public.hex(), (bytes(1) + signature[1:]).hex(), encoder=HexEncoder)
    plain = nacl_key.sign(b"hello").signature
    dde.ed25519_verify(plain, b"hello", public)
    dde.ed25519_verify(plain.hex(), b"hello", public.hex(), encoder=HexEncoder)  # the message stays raw

    hex_calls = [
        lambda **e: dde.KeyPair.from_seed(SEED.hex(), **e),
        lambda **e: dde.KeyPair.from_seed(SEED).sign("task", digest.hex(), **e),
        lambda **e: dde.verify_signature("task", digest.hex(), public.hex(), signature.hex(), **e),
        lambda **e: dde.ed25519_verify(plain.hex(), b"hello", public.hex(), **e),
        lambda **e: dde.Policy().deny(public.hex(), "banned", **e),
    ]
    for call in hex_calls:
        with pytest.raises(TypeError, match="HexEncoder"):   # never guessed
            call()
        call(encoder=HexEncoder)                             # the same call, said to be hex
    # Wrong hex, or the wrong size once decoded: ArgumentError naming the argument.
    for bad in ("zz" * 32, "ab" * 31, "ab" * 33, "a" * 63):
        with pytest.raises(dde.ArgumentError, match="seed"):
            dde.KeyPair.from_seed(bad, encoder=HexEncoder)
    with pytest.raises(dde.ArgumentError):
        dde.KeyPair.from_seed(SEED, encoder=HexEncoder)      # 32 raw bytes are not hex
    for bad in (None, "hex", object(), 16):
        with pytest.raises(TypeError, match="encoder"):
            dde.sha256(b"", encoder=bad)
        with pytest.raises(TypeError, match="encoder"):
            dde.KeyPair.from_seed(SEED, encoder=bad)


def test_pynacl_encoders_work_as_they_are():
    # Any class with PyNaCl's static encode/decode: nacl.encoding's own, bytes out.
    assert dde.sha256(b"abc", encoder=nacl.encoding.HexEncoder) == hashlib.sha256(b"abc").hexdigest().encode()
    assert dde.sha256(b"abc", encoder=nacl.encoding.Base64Encoder) == base64.b64encode(hashlib.sha256(b"abc").digest())
    public = SigningKey(SEED).verify_key.encode()
    with dde.KeyPair.from_seed(base64.b64encode(SEED), encoder=nacl.encoding.Base64Encoder) as key:
        assert key.public_key == public
    with dde.KeyPair.from_seed(SEED, encoder=nacl.encoding.RawEncoder) as key:
        assert key.public_key == public
    with pytest.raises(dde.ArgumentError, match="seed"):
        dde.KeyPair.from_seed(b"!!", encoder=nacl.encoding.HexEncoder)


def test_policy_and_reputation_take_hex_keys_with_the_encoder(tmp_path, requester, executor):
    r_key, _ = requester
    e_key, e_pub = executor
    task = make_task(r_key)
    result = rfc8785.dumps(make_result(task, e_key))
    with dde.Task.parse(task) as t, dde.Policy() as policy:
        policy.deny(e_pub.hex(), "banned", encoder=HexEncoder)
        with pytest.raises(dde.ExecutorBannedError):
            dde.verify(t, result, policy)
    with dde.Store(tmp_path / "r.db", reputation={"halfLifeMs": 0}) as store:
        rep = store.reputation
        hexed = e_pub.hex()
        rep.record_success(hexed, latency_ms=10, now_ms=T0, encoder=HexEncoder)
        rep.record_failure(hexed.upper(), now_ms=T0, encoder=HexEncoder)
        rep.record_timeout(hexed.encode(), now_ms=T0, encoder=HexEncoder)
        record = rep.get(hexed, now_ms=T0, encoder=HexEncoder)
        assert record == rep.get(e_pub, now_ms=T0)           # one executor, however it is named
        assert record.executor == e_pub                       # records hold bytes whatever the encoder
        assert (record.successful_proofs, record.failed_proofs, record.timeouts) == (1, 1, 1)
        assert not rep.is_banned(hexed, now_ms=T0, encoder=HexEncoder)
        assert not rep.is_blacklisted(hexed, now_ms=T0, encoder=HexEncoder)
        for call in (rep.record_failure, rep.record_timeout, rep.get, rep.is_banned, rep.is_blacklisted, rep.clear):
            with pytest.raises(TypeError, match="HexEncoder"):
                call(hexed)
            with pytest.raises(dde.ArgumentError):
                call("zz" * 32, encoder=HexEncoder)
            with pytest.raises(dde.ArgumentError):
                call(hexed[:-2], encoder=HexEncoder)
        assert rep.clear(hexed, encoder=HexEncoder) is True and rep.all(now_ms=T0) == []
