"""How hashes, ids, keys and signatures are written: raw bytes by default, hex on request.

The one convention of the package (as PyNaCl's ``nacl.encoding``): every hash, task id, key and
signature a function takes or returns is raw ``bytes`` (32 bytes for a hash, an id or a public
key, 64 for a signature), and the typed objects (``Receipt``, ``ReputationRecord``,
``EvidenceVerdict``, ``DelegationReport`` ...) hold bytes too. A function that takes or returns
such a value also takes ``encoder=``: ``RawEncoder`` (the default) or ``HexEncoder``, which
decodes the values the call takes from hex and encodes the ones it returns as hex::

    >>> import dde
    >>> dde.sha256(b"").hex()[:8]
    'e3b0c442'
    >>> dde.sha256(b"", encoder=dde.encoding.HexEncoder)[:8]
    'e3b0c442'

Without ``HexEncoder`` a hex str is refused with a TypeError (never guessed). Messages, modules
and JSON documents are not encoded: documents (tasks, specs, compute_results, proofs, evidence,
``.json``, ``to_dict()``) keep the hex text docs/PROTOCOL.md gives them.

``HexEncoder.encode`` gives ``str``, the text dde's JSON documents carry (PyNaCl's gives bytes);
its ``decode`` takes str or bytes. Any object with static ``encode(bytes)`` and ``decode(value)``
methods works as an encoder, ``nacl.encoding``'s included.
"""

from __future__ import annotations

import binascii
from typing import Any, Protocol

from ._convert import as_bytes, type_name
from .errors import ArgumentError

__all__ = ["Encoder", "RawEncoder", "HexEncoder"]


class Encoder(Protocol):
    """The interface of an encoder (a class with two static methods, passed as the class itself,
    as PyNaCl's are): ``encode(data: bytes)`` writes raw bytes in the encoder's form,
    ``decode(value) -> bytes`` reads that form back."""

    @staticmethod
    def encode(data: bytes) -> Any:  # pragma: no cover - interface
        raise NotImplementedError

    @staticmethod
    def decode(data: Any) -> bytes:  # pragma: no cover - interface
        raise NotImplementedError


class RawEncoder(Encoder):
    """The default: raw bytes in, raw bytes out (bytes, bytearray or memoryview taken; a str is a
    TypeError).

    >>> RawEncoder.encode(b"\\x00\\xff")
    b'\\x00\\xff'
    """

    @staticmethod
    def encode(data: bytes) -> bytes:
        return bytes(data)

    @staticmethod
    def decode(data: Any) -> bytes:
        if isinstance(data, str):
            raise TypeError("expected bytes, not str (for hex, pass encoder=dde.encoding.HexEncoder)")
        return as_bytes(data, "value")


class HexEncoder(Encoder):
    """Hex text: ``encode`` gives lowercase hex as a str (the form of dde's JSON documents),
    ``decode`` takes hex as str or bytes (either case; anything else is an ArgumentError).

    >>> HexEncoder.encode(b"\\x00\\xff")
    '00ff'
    >>> HexEncoder.decode("00FF")
    b'\\x00\\xff'
    """

    @staticmethod
    def encode(data: bytes) -> str:
        return bytes(data).hex()

    @staticmethod
    def decode(data: Any) -> bytes:
        if isinstance(data, str):
            try:
                raw = data.encode("ascii")
            except UnicodeEncodeError:
                raise ArgumentError._raised_here(f"not hex: {data[:80]!r}") from None
        elif isinstance(data, (bytes, bytearray, memoryview)):
            raw = bytes(data)
        else:
            raise TypeError(f"expected hex as str or bytes, not {type_name(data)}")
        try:
            return binascii.unhexlify(raw)
        except (binascii.Error, ValueError):
            raise ArgumentError._raised_here(f"not hex: {data[:80]!r}") from None


def check_encoder(encoder: object) -> None:
    """TypeError unless ``encoder`` has callable encode and decode (an encoder class)."""
    if encoder is RawEncoder or encoder is HexEncoder:
        return
    if not (callable(getattr(encoder, "encode", None)) and callable(getattr(encoder, "decode", None))):
        raise TypeError(f"encoder must be an encoder such as dde.encoding.RawEncoder or HexEncoder, "
                        f"not {type_name(encoder)}")


def decode_fixed(value: object, size: int, what: str, encoder: Encoder) -> bytes:
    """A hash, key, seed or signature argument as ``size`` raw bytes, read through ``encoder``.

    TypeError for a wrong type (a str without HexEncoder), ArgumentError for bad hex or a wrong
    size, both naming the argument."""
    if encoder is RawEncoder:
        if isinstance(value, str):
            raise TypeError(f"{what} must be bytes, not str (for hex, pass encoder=dde.encoding.HexEncoder)")
        data = as_bytes(value, what)
    else:
        check_encoder(encoder)
        try:
            decoded = encoder.decode(value)
        except ArgumentError as e:
            raise ArgumentError._raised_here(f"{what}: {e.message}") from None
        except TypeError as e:
            raise TypeError(f"{what}: {e}") from None
        except (binascii.Error, ValueError) as e:  # another library's encoder
            raise ArgumentError._raised_here(f"{what} cannot be decoded: {e}") from None
        data = as_bytes(decoded, what)
    if len(data) != size:
        raise ArgumentError._raised_here(f"{what} must be {size} bytes, not {len(data)}")
    return data


def encode(data: bytes, encoder: Encoder) -> Any:
    """Raw bytes the library wrote, in the caller's encoding."""
    if encoder is RawEncoder:
        return data
    check_encoder(encoder)
    return encoder.encode(data)
