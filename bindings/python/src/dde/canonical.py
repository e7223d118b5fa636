"""RFC 8785 (JCS) canonical JSON."""

from __future__ import annotations

import ctypes

from . import _library as L
from ._convert import JSONInput, json_text

__all__ = ["canonicalize"]


def canonicalize(document: JSONInput) -> bytes:
    """The RFC 8785 canonical bytes of a JSON document.

    bytes and str are JSON text; dict, list and scalars are written with json.dumps first.
    Raises JSONError, LimitError (``dde.JSON_MAX_BYTES``, 1 MiB; ``dde.JSON_MAX_DEPTH``, 64; ...)
    or DuplicateKeyError.

    >>> canonicalize(b'{"b": 1e3, "a": [true, "\\\\u00e9"]}')
    b'{"a":[true,"\\xc3\\xa9"],"b":1000}'
    """
    text = json_text(document, "document")
    out = ctypes.c_void_p()
    length = ctypes.c_size_t()
    L.call("dde_canonicalize", text, len(text), ctypes.byref(out), ctypes.byref(length))
    return L.take_string(out, length)
