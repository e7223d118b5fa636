"""Checking and converting Python arguments before anything reaches C.

C cannot tell how long a buffer is, so every fixed-size argument is checked here; wrong types
raise TypeError and wrong sizes ArgumentError (a ValueError), both before the call.
"""

from __future__ import annotations

import json
import os
from typing import Any, Union

from .errors import ArgumentError

BytesLike = Union[bytes, bytearray, memoryview]
#: A JSON document: its text (bytes or str), or a Python object (dict, list, ...).
JSONInput = Union[bytes, bytearray, memoryview, str, dict, list, tuple, int, float, bool]
PathLike = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]


def type_name(value: object) -> str:
    return "None" if value is None else type(value).__name__


def as_bytes(value: object, what: str) -> bytes:
    """bytes, bytearray or memoryview as bytes; anything else (str included) is a TypeError."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    hint = " (encode it, or bytes.fromhex() for hex)" if isinstance(value, str) else ""
    raise TypeError(f"{what} must be bytes, not {type_name(value)}{hint}")


def _check_keys(document: Any) -> None:
    """Refuses non-str dict keys, which json.dumps would silently turn into strings."""
    seen = set()
    stack = [document]
    while stack:
        value = stack.pop()
        if isinstance(value, (dict, list, tuple)):
            if id(value) in seen:
                continue  # shared or circular: json.dumps reports the circular case
            seen.add(id(value))
            if isinstance(value, dict):
                for key in value:
                    if not isinstance(key, str):
                        raise TypeError(f"JSON object keys must be str, not {type_name(key)} ({key!r})")
                stack.extend(value.values())
            else:
                stack.extend(value)


class JSONDocument:
    """A parsed document object (dde.Result) that json_text takes as its JSON text, so every
    function accepting a document accepts it too."""

    __slots__ = ()

    def _json_text(self) -> bytes:
        raise NotImplementedError


def json_text(document: object, what: str) -> bytes:
    """The bytes of a JSON document.

    bytes-like and str are taken as JSON *text* (str is encoded as UTF-8); dict, list, tuple,
    int, float and bool are serialised with json.dumps; a dde.Result gives its own text. None is
    refused: pass b"null" for the JSON document null.
    """
    if isinstance(document, JSONDocument):
        return document._json_text()
    if isinstance(document, (bytes, bytearray, memoryview)):
        return bytes(document)
    if isinstance(document, str):
        # surrogatepass: a lone surrogate becomes bytes the library refuses as invalid UTF-8,
        # with its own message, instead of an encoder error here.
        return document.encode("utf-8", "surrogatepass")
    if document is None:
        raise TypeError(f"{what} must be a JSON document (bytes, str, dict or list), not None")
    if isinstance(document, (dict, list, tuple, int, float)):  # bool is an int
        _check_keys(document)
        try:
            text = json.dumps(document, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        except ValueError as e:  # NaN, infinity, circular reference
            raise ArgumentError._raised_here(f"{what} cannot be written as JSON: {e}") from None
        return text.encode("utf-8", "surrogatepass")
    raise TypeError(f"{what} must be a JSON document (bytes, str, dict or list), not {type_name(document)}")


def path_bytes(path: object, what: str = "path") -> bytes:
    """A file system path as the bytes the OS sees (os.fsencode), without NUL."""
    if not isinstance(path, (str, bytes, os.PathLike)):
        raise TypeError(f"{what} must be str, bytes or os.PathLike, not {type_name(path)}")
    raw = os.fsencode(path)
    if b"\0" in raw:
        raise ArgumentError._raised_here(f"{what} contains a NUL byte")
    if not raw:
        raise ArgumentError._raised_here(f"{what} is empty")
    return raw


def uint64(value: object, what: str) -> int:
    """A uint64_t argument (a time or duration in ms): int in [0, 2**64); ctypes would wrap -1."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be int, not {type_name(value)}")
    if not 0 <= value < 2**64:
        raise ArgumentError._raised_here(f"{what} must be in [0, 2**64), not {value}")
    return value
