"""Reading the library's JSON records into typed fields: hex to bytes, numbers to int or float.

The library's own output is well formed; the same reader checks documents a caller hands to a
``parse`` classmethod (``Receipt.parse``), so a missing or mistyped field is a SchemaError and bad
hex an EncodingError, naming the field, as the library's parsers do.
"""

from __future__ import annotations

import json
from typing import Any, Iterable, Mapping, Optional, Tuple

from .canonical import canonicalize
from .errors import EncodingError, SchemaError


def canonical_json(value: Any) -> bytes:
    """The RFC 8785 bytes of a part of a library document (the library writes them)."""
    return canonicalize(json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":")))


class Reader:
    """Typed access to one JSON object's fields; ``context`` names it in errors ("receipt")."""

    __slots__ = ("doc", "context")

    def __init__(self, doc: Any, context: str) -> None:
        if not isinstance(doc, Mapping):
            raise SchemaError._raised_here(f"{context} must be a JSON object, not {_json_type(doc)}")
        self.doc = doc
        self.context = context

    def only(self, names: Iterable[str]) -> None:
        unknown = sorted(set(self.doc) - set(names))
        if unknown:
            raise SchemaError._raised_here(f"{self.context} has unknown field(s) {unknown}")

    def has(self, name: str) -> bool:
        return name in self.doc

    def value(self, name: str) -> Any:
        try:
            return self.doc[name]
        except KeyError:
            raise SchemaError._raised_here(f"{self.context}.{name} is missing") from None

    def _typed(self, name: str, types: Tuple[type, ...], what: str) -> Any:
        value = self.value(name)
        if isinstance(value, bool) and bool not in types or not isinstance(value, types):
            raise SchemaError._raised_here(f"{self.context}.{name} must be {what}, not {_json_type(value)}")
        return value

    def string(self, name: str) -> str:
        return self._typed(name, (str,), "a string")

    def boolean(self, name: str) -> bool:
        return self._typed(name, (bool,), "true or false")

    def integer(self, name: str) -> int:
        value = self._typed(name, (int, float), "an integer")
        if isinstance(value, float):
            if not value.is_integer():
                raise SchemaError._raised_here(f"{self.context}.{name} must be an integer, not {value!r}")
            value = int(value)
        return value

    def number(self, name: str) -> float:
        return float(self._typed(name, (int, float), "a number"))

    def strings(self, name: str) -> Tuple[str, ...]:
        values = self._typed(name, (list,), "an array of strings")
        for i, v in enumerate(values):
            if not isinstance(v, str):
                raise SchemaError._raised_here(f"{self.context}.{name}[{i}] must be a string, not {_json_type(v)}")
        return tuple(values)

    def raw(self, name: str, size: int) -> bytes:
        """A hash, key or signature written as 2*size lowercase hex characters."""
        return hex_bytes(self.string(name), size, f"{self.context}.{name}")

    def optional_raw(self, name: str, size: int) -> Optional[bytes]:
        return None if self.value(name) is None else self.raw(name, size)

    def raws(self, name: str, size: int) -> Tuple[bytes, ...]:
        values = self._typed(name, (list,), "an array of hex strings")
        out = []
        for i, v in enumerate(values):
            if not isinstance(v, str):
                raise SchemaError._raised_here(f"{self.context}.{name}[{i}] must be a string, not {_json_type(v)}")
            out.append(hex_bytes(v, size, f"{self.context}.{name}[{i}]"))
        return tuple(out)

    def reader(self, name: str) -> "Reader":
        return Reader(self.value(name), f"{self.context}.{name}")


def hex_bytes(value: str, size: int, what: str) -> bytes:
    """``size`` raw bytes from their 2*size lowercase hex characters (the documents' form)."""
    if len(value) != 2 * size or value != value.lower():
        raise EncodingError._raised_here(f"{what} must be {2 * size} lowercase hex characters")
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raw = b""
    if len(raw) != size:  # fromhex also skips spaces
        raise EncodingError._raised_here(f"{what} is not hex: {value[:80]!r}")
    return raw


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__
