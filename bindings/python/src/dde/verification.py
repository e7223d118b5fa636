"""Verifying an executor's compute_result against its task, without re-execution."""

from __future__ import annotations

import ctypes
from contextlib import nullcontext
from enum import IntEnum
from typing import Optional, Union

from . import _library as L
from ._convert import BytesLike, JSONInput, json_text, type_name
from .encoding import Encoder, RawEncoder, decode_fixed
from ._guard import Guard, Guarded
from .errors import ArgumentError, ExecutorBannedError, ExecutorBlacklistedError
from .task import Task

__all__ = ["DenyReason", "Policy", "verify"]


class DenyReason(IntEnum):
    """Why a policy refuses an executor; the value is the status code verify() then raises."""

    BANNED = ExecutorBannedError.CODE
    BLACKLISTED = ExecutorBlacklistedError.CODE


def _reason(reason: object) -> int:
    if isinstance(reason, str):
        try:
            return DenyReason[reason.upper()].value
        except KeyError:
            raise ArgumentError._raised_here(f"reason must be 'banned' or 'blacklisted', not {reason!r}") from None
    if isinstance(reason, DenyReason):
        return reason.value
    raise TypeError(f"reason must be a DenyReason or 'banned'/'blacklisted', not {type_name(reason)}")


class Policy(Guarded):
    """Executors whose proofs are refused whatever they prove (check 10).

    >>> policy = Policy(); policy.deny(bytes(32), "blacklisted"); policy.close()
    """

    def __init__(self) -> None:
        handle = L.PolicyPointer()
        L.call("dde_policy_new", ctypes.byref(handle))
        self._guard = Guard(self, handle, L.library().dde_policy_free, "policy")

    @classmethod
    def _own(cls, handle: "ctypes._Pointer") -> "Policy":
        """Wraps a dde_policy * the library made (Store.policy)."""
        self = object.__new__(cls)
        self._guard = Guard(self, handle, L.library().dde_policy_free, "policy")
        return self

    def deny(self, public_key: Union[BytesLike, str], reason: Union[DenyReason, str], *,
             encoder: Encoder = RawEncoder) -> None:
        """Refuses an executor (its 32-byte key; hex with ``encoder=dde.encoding.HexEncoder``):
        verify() then raises ExecutorBannedError or ExecutorBlacklistedError for its proofs."""
        pk = decode_fixed(public_key, L.PUBLICKEYBYTES, "public_key", encoder)
        code = _reason(reason)
        with self._guard.exclusive() as handle:  # the header: deny needs exclusive use
            L.call("dde_policy_deny", handle, pk, code)

    def __repr__(self) -> str:
        return "Policy(closed)" if self.closed else "Policy()"


def verify(task: Task, result: JSONInput, policy: Optional[Policy] = None) -> None:
    """Verifies a compute_result document (bytes, str, dict or dde.Result) against the task it answers
    (docs/PROTOCOL.md section 7). Returns None when it is valid; otherwise raises the failing
    check's exception: a DocumentError for a malformed result, a VerificationError subclass
    (TaskMismatchError ... ProofSignatureError, ExecutorBannedError) for a check that fails.

    ``verify(task, result_bytes)``
    """
    if not isinstance(task, Task):
        raise TypeError(f"task must be a dde.Task, not {type_name(task)}")
    if policy is not None and not isinstance(policy, Policy):
        raise TypeError(f"policy must be a dde.Policy or None, not {type_name(policy)}")
    text = json_text(result, "result")
    with task._guard.shared() as task_handle:
        with (policy._guard.shared() if policy is not None else nullcontext(None)) as policy_handle:
            L.call("dde_verify", task_handle, text, len(text), policy_handle)
