"""Compute tasks: created and signed by a requester, parsed and checked by anyone."""

from __future__ import annotations

import ctypes
import json
from typing import Any, Dict

from . import _library as L
from ._convert import JSONInput, json_text, type_name
from ._guard import Guard, Guarded
from .crypto import KeyPair

__all__ = ["Task"]


class Task(Guarded):
    """A parsed and fully checked compute task (docs/PROTOCOL.md section 3). Immutable; may be
    shared between threads. Close it (or use ``with``) to release the native handle at once;
    otherwise garbage collection does.

    >>> spec = {"dappId": "counter", "dappCodeHash": "00" * 32, "action": "increment",
    ...         "timestamp": 1764000000000}
    >>> with Task.create(spec, KeyPair.from_seed(bytes(32))) as task: len(task.id)
    32
    """

    def __init__(self) -> None:
        raise TypeError("use Task.create(spec, key) or Task.parse(document)")

    @classmethod
    def _own(cls, handle: "ctypes._Pointer") -> "Task":
        self = object.__new__(cls)
        self._guard = Guard(self, handle, L.library().dde_task_free, "task")
        return self

    @classmethod
    def create(cls, spec: JSONInput, key: KeyPair) -> "Task":
        """Builds and signs a task from a spec (a dict, or its JSON text).

        Only ``dappId``, ``dappCodeHash`` and ``action`` are required; ``timestamp`` defaults to
        now (give one for a reproducible id). The library computes inputHash,
        previousStateRoot, taskId and the signature. Raises JSONError, SchemaError,
        EncodingError, NumberError ... for a bad spec, ClosedError for a closed key.

        ``task = Task.create({"dappId": "counter", "dappCodeHash": code_hash, "action": "increment"}, key)``
        """
        if not isinstance(key, KeyPair):
            raise TypeError(f"key must be a dde.KeyPair, not {type_name(key)}")
        text = json_text(spec, "spec")
        handle = L.TaskPointer()
        with key._guard.shared() as secret:
            L.call("dde_task_create", text, len(text), secret, ctypes.byref(handle))
        return cls._own(handle)

    @classmethod
    def parse(cls, document: JSONInput) -> "Task":
        """Parses a task document (bytes or str; or a dict) and checks everything an executor
        checks: schema, encodings, inputHash, previousStateRoot, taskId (TaskIdError) and the
        requester's signature (TaskSignatureError).

        ``task = Task.parse(open("task.json", "rb").read())``
        """
        text = json_text(document, "document")
        handle = L.TaskPointer()
        L.call("dde_task_parse", text, len(text), ctypes.byref(handle))
        return cls._own(handle)

    @property
    def id(self) -> bytes:
        """The task id, H(task without taskId and signature): 32 bytes (``task.id.hex()`` is the
        document's ``taskId``)."""
        out = ctypes.create_string_buffer(L.HASHHEXBYTES)
        with self._guard.shared() as handle:
            L.call("dde_task_id", handle, out)
        return bytes.fromhex(out.value.decode("ascii"))

    @property
    def json(self) -> bytes:
        """The task's canonical JSON: what to send to executors."""
        out = ctypes.c_void_p()
        length = ctypes.c_size_t()
        with self._guard.shared() as handle:
            L.call("dde_task_json", handle, ctypes.byref(out), ctypes.byref(length))
        return L.take_string(out, length)

    def to_dict(self) -> Dict[str, Any]:
        """The task as a dict (from its canonical JSON)."""
        return json.loads(self.json)

    def __repr__(self) -> str:
        return "Task(closed)" if self.closed else f"Task(id={self.id.hex()})"
