"""An executor's compute_result (docs/PROTOCOL.md section 5), read into an immutable object.

Its ids, hashes and key are raw bytes (``dde.encoding``); ``proof``, ``to_dict()`` and ``json``
are the document as the executor wrote it (hex)."""

from __future__ import annotations

import base64
import binascii
import copy
import json
from typing import Any, Dict, Optional

from . import _library as L
from ._convert import JSONDocument, JSONInput, json_text, type_name
from ._records import hex_bytes
from .canonical import canonicalize
from .errors import EncodingError, SchemaError

__all__ = ["Result"]

# name: the JSON types it may have (docs/PROTOCOL.md section 5). "result" is whatever one JSON
# document the dApp wrote; verification checks it against resultHash.
_FIELDS = {
    "taskId": (str,),
    "proof": (dict,),
    "result": (dict, list, str, int, float, bool, type(None)),
    "stateWrites": (dict,),
    "resultHash": (str,),
    "executorPublicKey": (str,),
    "executionLatency": (int,),
}


class Result(JSONDocument):
    """A compute_result as received from an executor: parsed and its shape checked, but **not
    verified** (that needs the task: ``result.verify(task)``). Immutable: the properties return
    copies. Anything that takes a compute_result (``dde.verify``, ``Store.commit``) takes a Result.

    ``result = Result.parse(message); result.verify(task); print(result.result["count"])``
    """

    __slots__ = ("_text", "_canonical", "_doc")

    def __init__(self) -> None:
        raise TypeError("use Result.parse(document)")

    @classmethod
    def parse(cls, document: JSONInput) -> "Result":
        """Reads a compute_result (bytes or str of JSON text, or a dict). Raises a DocumentError:
        JSONError, DuplicateKeyError, LimitError (as the library's parser), SchemaError for a
        missing, unknown or mistyped field, EncodingError for a bad task id, result hash,
        executor key or state write.
        """
        if isinstance(document, Result):
            return document
        text = json_text(document, "result")
        canonical = canonicalize(text)  # the library's parser: limits, duplicates, UTF-8
        doc = json.loads(canonical)
        if not isinstance(doc, dict):
            raise SchemaError._raised_here(f"a compute_result is a JSON object, not {type_name(doc)}")
        unknown = sorted(set(doc) - set(_FIELDS))
        if unknown:
            raise SchemaError._raised_here(f"compute_result has unknown field(s) {unknown}")
        for name, types in _FIELDS.items():
            if name not in doc:
                raise SchemaError._raised_here(f"compute_result.{name} is missing")
            value = doc[name]
            if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
                raise SchemaError._raised_here(
                    f"compute_result.{name} must be {' or '.join(t.__name__ for t in types)}, "
                    f"not {type_name(value)}")
        hex_bytes(doc["taskId"], L.HASHBYTES, "compute_result.taskId")
        hex_bytes(doc["resultHash"], L.HASHBYTES, "compute_result.resultHash")
        hex_bytes(doc["executorPublicKey"], L.PUBLICKEYBYTES, "compute_result.executorPublicKey")
        for key, value in doc["stateWrites"].items():
            if value is not None and not isinstance(value, str):
                raise SchemaError._raised_here(
                    f"compute_result.stateWrites[{key!r}] must be base64 text or null, not {type_name(value)}")
        self = object.__new__(cls)
        object.__setattr__(self, "_text", text)
        object.__setattr__(self, "_canonical", canonical)
        object.__setattr__(self, "_doc", doc)
        _ = self.state_writes  # decodes every value once, so a bad one is refused here
        return self

    def _json_text(self) -> bytes:
        return self._text  # verified as received, byte for byte

    # ---- Fields ---------------------------------------------------------------------------------

    @property
    def task_id(self) -> bytes:
        """The task it answers (32 bytes; equal to the proof's once verified)."""
        return bytes.fromhex(self._doc["taskId"])

    @property
    def executor(self) -> bytes:
        """The executor's 32-byte public key (as the result claims it; the proof signature binds
        it once verified)."""
        return bytes.fromhex(self._doc["executorPublicKey"])

    @property
    def result(self) -> Any:
        """The dApp's result document (usually a dict), a copy."""
        return copy.deepcopy(self._doc["result"])

    @property
    def state_writes(self) -> Dict[str, Optional[bytes]]:
        """Each written key mapped to its new value, or None for a delete (a copy)."""
        writes: Dict[str, Optional[bytes]] = {}
        for key, value in self._doc["stateWrites"].items():
            if value is None:
                writes[key] = None
                continue
            try:
                writes[key] = base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                raise EncodingError._raised_here(
                    f"compute_result.stateWrites[{key!r}] is not base64: {value[:80]!r}") from None
        return writes

    @property
    def result_hash(self) -> bytes:
        """H(result) as the executor states it (32 bytes)."""
        return bytes.fromhex(self._doc["resultHash"])

    @property
    def proof(self) -> Dict[str, Any]:
        """The signed execution proof, a copy."""
        return copy.deepcopy(self._doc["proof"])

    @property
    def execution_latency(self) -> int:
        """The executor's own latency report in ms: unsigned and advisory (never scored)."""
        return self._doc["executionLatency"]

    @property
    def json(self) -> bytes:
        """The canonical JSON (RFC 8785) of the document."""
        return self._canonical

    def to_dict(self) -> Dict[str, Any]:
        """The whole document as a dict (a copy)."""
        return copy.deepcopy(self._doc)

    # ---- Verification ---------------------------------------------------------------------------

    def verify(self, task: Any, policy: Any = None) -> None:
        """``dde.verify(task, self, policy)``: None when valid, else the failing check's error."""
        from .verification import verify  # here: verification does not depend on this module

        verify(task, self, policy)

    # ---- Value semantics ------------------------------------------------------------------------

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("a dde.Result is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("a dde.Result is immutable")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Result) and other._canonical == self._canonical

    def __hash__(self) -> int:
        return hash(self._canonical)

    def __reduce__(self):
        return (Result.parse, (self._text,))

    def __repr__(self) -> str:
        return f"Result(task_id={self._doc['taskId']}, executor={self._doc['executorPublicKey'][:16]}...)"
