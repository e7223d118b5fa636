"""Hashes, Ed25519 key pairs, key files and domain-separated signatures.

Digests, seeds, keys and signatures are raw bytes; each function also takes
``encoder=dde.encoding.HexEncoder`` to take and give them as hex (``dde.encoding``). Messages are
always raw bytes.
"""

from __future__ import annotations

import ctypes
from enum import IntEnum
from typing import Any, Type, Union, overload

from . import _library as L
from ._convert import BytesLike, PathLike, as_bytes, path_bytes, type_name
from ._guard import Guard, Guarded
from .encoding import Encoder, HexEncoder, RawEncoder, check_encoder, decode_fixed, encode
from .errors import ArgumentError

__all__ = ["sha256", "SignatureKind", "KeyPair", "verify_signature", "ed25519_verify"]


@overload
def sha256(data: BytesLike) -> bytes: ...
@overload
def sha256(data: BytesLike, *, encoder: Type[RawEncoder]) -> bytes: ...
@overload
def sha256(data: BytesLike, *, encoder: Type[HexEncoder]) -> str: ...
@overload
def sha256(data: BytesLike, *, encoder: Encoder) -> Any: ...


def sha256(data: BytesLike, *, encoder: Encoder = RawEncoder) -> Any:
    """SHA-256 of ``data``: 32 bytes (64 hex characters with ``encoder=HexEncoder``).

    >>> sha256(b"").hex()[:16]
    'e3b0c44298fc1c14'
    >>> from dde.encoding import HexEncoder
    >>> sha256(b"", encoder=HexEncoder)[:16]
    'e3b0c44298fc1c14'
    """
    raw = as_bytes(data, "data")
    check_encoder(encoder)
    out = ctypes.create_string_buffer(L.HASHBYTES)
    L.call("dde_sha256", raw, len(raw), out)
    return encode(out.raw, encoder)


class SignatureKind(IntEnum):
    """What a signature is for. The signed message is ``b"dde/v1/" + kind + b"\\0" + digest``,
    so a signature of one kind can never pass as another. PRESENCE and ERROR sign an
    executor's presence and compute_error messages (docs/PROTOCOL.md section 10)."""

    TASK = 1
    PROOF = 2
    RECEIPT = 3
    PRESENCE = 4
    ERROR = 5


KindLike = Union[SignatureKind, str, int]


def _kind(kind: object) -> int:
    if isinstance(kind, str):
        try:
            return SignatureKind[kind.upper()].value
        except KeyError:
            raise ArgumentError._raised_here(
                f"kind must be 'task', 'proof', 'receipt', 'presence' or 'error', not {kind!r}") from None
    if isinstance(kind, bool) or not isinstance(kind, int):
        raise TypeError(f"kind must be a SignatureKind or its name, not {type_name(kind)}")
    try:
        return SignatureKind(kind).value
    except ValueError:
        raise ArgumentError._raised_here(f"kind {kind} is not a SignatureKind (1 to 5)") from None


def _wipe(buffer: ctypes.Array) -> None:
    ctypes.memset(buffer, 0, ctypes.sizeof(buffer))


class KeyPair(Guarded):
    """An Ed25519 key pair. The secret half lives in a native buffer that ``close()`` (or leaving
    a ``with`` block, or garbage collection) wipes; the object is unusable afterwards.

    >>> with KeyPair.from_seed(bytes(32)) as key: len(key.sign("task", sha256(b"x")))
    64
    """

    def __init__(self) -> None:
        raise TypeError("use KeyPair.generate(), KeyPair.from_seed(seed) or KeyPair.load(path)")

    @classmethod
    def _own(cls, public: ctypes.Array, secret: ctypes.Array) -> "KeyPair":
        self = object.__new__(cls)
        self._public_key = public.raw
        self._guard = Guard(self, secret, _wipe, "key pair")
        return self

    @staticmethod
    def _buffers() -> "tuple[ctypes.Array, ctypes.Array]":
        return ctypes.create_string_buffer(L.PUBLICKEYBYTES), ctypes.create_string_buffer(L.SECRETKEYBYTES)

    @classmethod
    def generate(cls) -> "KeyPair":
        """A fresh key pair from the system's CSPRNG.

        >>> len(KeyPair.generate().public_key)
        32
        """
        public, secret = cls._buffers()
        try:
            L.call("dde_keypair", public, secret)
        except BaseException:
            _wipe(secret)
            raise
        return cls._own(public, secret)

    @classmethod
    def from_seed(cls, seed: Union[BytesLike, str], *, encoder: Encoder = RawEncoder) -> "KeyPair":
        """The key pair determined by a 32-byte seed (the same as PyNaCl's
        ``SigningKey(seed, encoder=...)``).

        >>> KeyPair.from_seed(bytes([1]) * 32).public_key.hex()[:16]
        '8a88e3dd7409f195'
        """
        raw = decode_fixed(seed, L.SEEDBYTES, "seed", encoder)
        public, secret = cls._buffers()
        try:
            L.call("dde_seed_keypair", raw, public, secret)
        except BaseException:
            _wipe(secret)
            raise
        return cls._own(public, secret)

    @classmethod
    def load(cls, path: PathLike) -> "KeyPair":
        """Reads a key file written by ``save()`` or ``dde keygen``.

        Raises FileError when it cannot be read, BadKeyError when it is damaged.
        ``key = KeyPair.load("requester.key")``
        """
        raw = path_bytes(path)
        public, secret = cls._buffers()
        try:
            L.call("dde_key_load", raw, public, secret)
        except BaseException:
            _wipe(secret)
            raise
        return cls._own(public, secret)

    def save(self, path: PathLike) -> None:
        """Writes the key file (mode 0600, atomically). Raises FileError when it cannot.

        ``KeyPair.generate().save("requester.key")``
        """
        raw = path_bytes(path)
        with self._guard.shared() as secret:
            L.call("dde_key_save", raw, secret)

    @property
    def public_key(self) -> bytes:
        """The 32-byte Ed25519 public key (readable after close())."""
        return self._public_key

    @property
    def secret_key(self) -> bytes:
        """The 64-byte secret key in libsodium's form (seed || public key). Handle with care:
        a bytes copy cannot be wiped. Prefer save()."""
        with self._guard.shared() as secret:
            return secret.raw

    @overload
    def sign(self, kind: KindLike, digest: BytesLike) -> bytes: ...
    @overload
    def sign(self, kind: KindLike, digest: BytesLike, *, encoder: Type[RawEncoder]) -> bytes: ...
    @overload
    def sign(self, kind: KindLike, digest: Union[BytesLike, str], *, encoder: Type[HexEncoder]) -> str: ...
    @overload
    def sign(self, kind: KindLike, digest: Any, *, encoder: Encoder) -> Any: ...

    def sign(self, kind: KindLike, digest: Any, *, encoder: Encoder = RawEncoder) -> Any:
        """The 64-byte domain-separated signature of ``kind`` over a 32-byte digest (with
        ``encoder=HexEncoder``: the digest and the signature in hex).

        >>> KeyPair.generate().sign(SignatureKind.PROOF, sha256(b"proof")).__len__()
        64
        """
        k = _kind(kind)
        hashed = decode_fixed(digest, L.HASHBYTES, "digest", encoder)
        out = ctypes.create_string_buffer(L.SIGNATUREBYTES)
        with self._guard.shared() as secret:
            L.call("dde_sign", k, hashed, secret, out)
        return encode(out.raw, encoder)

    def close(self) -> None:
        """Wipes the secret key. Idempotent."""
        super().close()

    def __repr__(self) -> str:
        state = ", closed" if self.closed else ""
        return f"KeyPair(public_key={self._public_key.hex()}{state})"


def verify_signature(kind: KindLike, digest: Union[BytesLike, str], public_key: Union[BytesLike, str],
                     signature: Union[BytesLike, str], *, encoder: Encoder = RawEncoder) -> None:
    """Checks a domain-separated signature; raises BadSignatureError when it does not verify.
    With ``encoder=HexEncoder`` the digest, key and signature are hex (as a document has them).

    >>> key = KeyPair.generate(); d = sha256(b"x")
    >>> verify_signature("task", d, key.public_key, key.sign("task", d))
    """
    k = _kind(kind)
    hashed = decode_fixed(digest, L.HASHBYTES, "digest", encoder)
    pk = decode_fixed(public_key, L.PUBLICKEYBYTES, "public_key", encoder)
    sig = decode_fixed(signature, L.SIGNATUREBYTES, "signature", encoder)
    L.call("dde_verify_signature", k, hashed, pk, sig)


def ed25519_verify(signature: Union[BytesLike, str], message: BytesLike, public_key: Union[BytesLike, str], *,
                   encoder: Encoder = RawEncoder) -> None:
    """Plain Ed25519 (RFC 8032) verification, without domain separation; raises BadSignatureError.
    ``encoder`` reads the signature and the key (the message is always raw bytes).

    ``ed25519_verify(sig, b"message", public_key)``
    """
    sig = decode_fixed(signature, L.SIGNATUREBYTES, "signature", encoder)
    msg = as_bytes(message, "message")
    pk = decode_fixed(public_key, L.PUBLICKEYBYTES, "public_key", encoder)
    L.call("dde_ed25519_verify", sig, msg, len(msg), pk)

