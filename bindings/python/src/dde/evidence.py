"""Portable fraud evidence (docs/PROTOCOL.md section 12): a task and two validly signed proofs of
it that disagree. Execution is deterministic, so at least one signer lied; anyone holding the
document can check that much. Naming the liar takes a re-execution of the task (``dde evidence
check`` where the code is), except when both proofs carry the same key (it contradicted itself:
"equivocation") or a proof fails a check of its own signed fields against the task
("signed_fields"). libdde does not execute WebAssembly, so here such a document is sound but
unjudged.

A document is ``{"evidenceVersion": 1, "proofs": [proof, proof], "task": task}``, the proofs
sorted by proofHash (H(proof) including its signature). ``check_evidence`` checks one;
``Store.import_evidence`` records one (blacklisting the liar it names for good) and
``Store.export_evidence`` gives every document a store keeps, to share with other requesters.
The verdict's ids and keys are raw bytes (``dde.encoding``); its ``json`` is the library's.
"""

from __future__ import annotations

import ctypes
import json
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

from . import _library as L
from ._convert import JSONInput, json_text
from ._records import Reader
from .errors import EvidenceUnjudgedError, InternalError

__all__ = ["EvidenceVerdict", "check_evidence"]


@dataclass(frozen=True)
class EvidenceVerdict:
    """What an evidence document shows.

    ``evidence_id``: H(document) (32 bytes), its id wherever it travels; ``task_id``: the task
    both proofs answer (32 bytes); ``signers``: the two proofs' executors (32-byte keys, in the
    document's order; one key twice when it equivocated); ``liars``: the executors the document
    proves lied (32-byte keys; empty when only a re-execution can tell); ``how``:
    "equivocation", "signed_fields" ("reexecution" from ``Client.check_evidence``), or None when
    nobody is named. ``json``: the library's verdict (canonical JSON, hex), ``to_dict()`` the same
    as a dict.
    """

    evidence_id: bytes
    task_id: bytes
    signers: Tuple[bytes, ...]
    liars: Tuple[bytes, ...]
    how: Optional[str]
    json: bytes

    @property
    def judged(self) -> bool:
        """Whether the document names its liar by itself."""
        return bool(self.liars)

    @classmethod
    def from_json(cls, text: bytes) -> "EvidenceVerdict":
        """From the library's verdict ``{"evidenceId", "taskId", "signers", "liars", "how"}``."""
        r = Reader(json.loads(text), "verdict")
        how = r.value("how")
        if how is not None:
            how = r.string("how")
        return cls(evidence_id=r.raw("evidenceId", L.HASHBYTES), task_id=r.raw("taskId", L.HASHBYTES),
                   signers=r.raws("signers", L.PUBLICKEYBYTES), liars=r.raws("liars", L.PUBLICKEYBYTES),
                   how=how, json=bytes(text))

    def to_dict(self) -> Dict[str, Any]:
        """The library's verdict as a dict (hex ids and keys; a new one each call)."""
        return json.loads(self.json)


def _verdict(function: str, code: int, error, out: ctypes.c_void_p, length: ctypes.c_size_t) -> EvidenceVerdict:
    """The verdict a dde_*evidence* call wrote, or its error (EvidenceUnjudgedError carries the
    verdict). `error` is the library's error for `code`, read right after the call."""
    raw = L.take_string(out, length) if out.value else None
    verdict = EvidenceVerdict.from_json(raw) if raw else None
    if error is not None:
        if isinstance(error, EvidenceUnjudgedError):
            error.verdict = verdict
        raise error
    if verdict is None:  # DDE_OK always comes with the verdict asked for
        raise InternalError._raised_here(f"{function} returned DDE_OK without a verdict")
    return verdict


def _check(text: bytes) -> EvidenceVerdict:
    lib = L.library()
    out, length = ctypes.c_void_p(), ctypes.c_size_t()
    code = lib.dde_evidence_check(text, len(text), ctypes.byref(out), ctypes.byref(length))
    # dde_errmsg is per thread and per call: read it before anything else calls in.
    error = L.error_from_library(lib, code) if code != 0 else None
    return _verdict("dde_evidence_check", code, error, out, length)


def check_evidence(document: JSONInput) -> EvidenceVerdict:
    """Checks an evidence document (bytes, str or dict): the task (id, requester signature), both
    proof signatures, that both proofs answer the task and that they disagree. Returns the
    verdict when the document names its liar by itself (equivocation, signed fields). Pure:
    reads and changes no store.

    Raises EvidenceUnjudgedError when the document is sound but only a re-execution can name the
    liar (``err.verdict`` holds its signers); otherwise what is wrong with it:
    ProofSignatureError (a signature does not verify), TaskMismatchError (a proof of another
    task), EvidenceAgreesError (the proofs agree: nobody is shown to have lied), SchemaError,
    VersionError, the task's errors (TaskIdError, TaskSignatureError), a DocumentError.

    ``verdict = dde.check_evidence(document); store.reputation.is_blacklisted(verdict.liars[0])``
    """
    return _check(json_text(document, "document"))
