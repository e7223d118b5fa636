"""dde: verifiable delegated compute for low-power devices (Python bindings to libdde).

A requester builds a signed compute task, executors run it and return signed execution proofs,
and the requester verifies a proof cheaply (hashes and one Ed25519 check) before anything
touches its state::

    import dde

    key = dde.KeyPair.generate()
    with dde.Task.create({"dappId": "counter", "dappCodeHash": code_hash,
                          "action": "increment"}, key) as task:
        send(task.json)                       # bytes: the task's canonical JSON
        dde.verify(task, receive())           # None, or raises e.g. dde.ProofSignatureError

libdde.so is loaded on first use: from $DDE_LIBRARY, next to this package, then the system's
library path (see dde._library and README.md).

One convention, as PyNaCl's: every hash, task id, key and signature is raw ``bytes``, in and out,
and the typed results (Receipt, ReputationRecord, EvidenceVerdict, DelegationReport ...) hold
bytes. A function that takes or returns one also takes ``encoder=dde.encoding.HexEncoder`` for
hex; without it a hex str is a TypeError. JSON documents (specs, tasks, compute_results,
evidence, every ``.json`` and ``to_dict()``) keep the hex text docs/PROTOCOL.md gives them::

    code_hash = dde.sha256(module)                                  # 32 bytes
    code_hex = dde.sha256(module, encoder=dde.encoding.HexEncoder)  # 64 hex characters

Module layout:

- ``dde.errors``     DDEError and one class per DDE_ERR_* code, grouped by domain
- ``dde.encoding``   RawEncoder (the default), HexEncoder: how hashes, ids, keys and signatures are written
- ``dde.crypto``     sha256, KeyPair (key files), SignatureKind, verify_signature, ed25519_verify
- ``dde.canonical``  canonicalize (RFC 8785)
- ``dde.task``       Task
- ``dde.verification`` Policy, DenyReason, verify
- ``dde.receipt``    Receipt, Assurance (typed receipts)
- ``dde.store``      Store (receipt chain, dApp state), ChainHead, ChainEntry, Reputation, ReputationRecord
- ``dde.result``     Result (a compute_result, parsed and immutable)
- ``dde.client``     Client (delegating over MQTT), DelegationReport, Answer, Failure
- ``dde.evidence``   check_evidence, EvidenceVerdict (portable fraud evidence)
- ``dde._library``   finding libdde.so.0 and the ctypes prototypes; ``dde._guard`` handle lifetimes
- ``dde._abi``       versions, sizes and limits (generated from abi/dde.abi, checked against the library)
"""

from __future__ import annotations

from ._abi import (
    ABI_VERSION_MAJOR,
    ABI_VERSION_MINOR,
    ERRMSGBYTES,
    HASHBYTES,
    HASHHEXBYTES,
    JSON_MAX_ARRAY_ELEMENTS,
    JSON_MAX_BYTES,
    JSON_MAX_DEPTH,
    JSON_MAX_OBJECT_KEYS,
    JSON_MAX_STRING_BYTES,
    MAX_CLIENT_ID_BYTES,
    MAX_CREDENTIAL_FILE_BYTES,
    MAX_EXECUTORS,
    MAX_INPUT_BYTES,
    MAX_MODULE_BYTES,
    MAX_PATH_BYTES,
    MAX_STATE_KEY_BYTES,
    MAX_STATE_VALUE_BYTES,
    MAX_TOPIC_BYTES,
    MAX_URL_BYTES,
    MAX_USERNAME_BYTES,
    PUBLICKEYBYTES,
    SECRETKEYBYTES,
    SEEDBYTES,
    SIGNATUREBYTES,
    TRANSPORT_METHODS_VERSION,
)
from ._abi import VERSION as __version__
from ._library import ENV_VAR as LIBRARY_ENV_VAR
from ._library import abi_version, library_path
from ._library import library as _load_library
from . import encoding
from .canonical import canonicalize
from .client import Answer, Client, DelegationReport, Failure
from .crypto import KeyPair, SignatureKind, ed25519_verify, sha256, verify_signature
from .errors import *  # noqa: F401,F403  (one class per status code; see errors.__all__)
from .errors import __all__ as _error_names
from .evidence import EvidenceVerdict, check_evidence
from .receipt import Assurance, Receipt
from .result import Result
from .store import ChainEntry, ChainHead, Reputation, ReputationRecord, Store
from .task import Task
from .verification import DenyReason, Policy, verify

def library_version() -> str:
    """The loaded libdde's version string (the package's own is ``dde.__version__``; any
    library of the same ABI major works, see ``abi_version()``).

    >>> library_version() == __version__
    True
    """
    return _load_library().dde_version().decode("ascii")


def status_name(code: int) -> str:
    """The library's name for a status code ("DDE_ERR_TASK_ID"; "DDE_ERR_UNKNOWN" if unknown)."""
    if isinstance(code, bool) or not isinstance(code, int):
        raise TypeError(f"code must be int, not {type(code).__name__}")
    if not -(2**31) <= code < 2**31:
        return "DDE_ERR_UNKNOWN"
    return _load_library().dde_status_name(code).decode("ascii")


def status_message(code: int) -> str:
    """The library's one-line description of a status code."""
    if isinstance(code, bool) or not isinstance(code, int):
        raise TypeError(f"code must be int, not {type(code).__name__}")
    if not -(2**31) <= code < 2**31:
        return "unknown status code"
    return _load_library().dde_status_message(code).decode("utf-8", errors="replace")


__all__ = [
    "encoding", "KeyPair", "SignatureKind", "sha256", "verify_signature", "ed25519_verify",
    "canonicalize", "Task", "Policy", "DenyReason", "verify", "Receipt", "Assurance", "Store", "ChainHead",
    "ChainEntry", "Reputation", "ReputationRecord", "Result", "Client", "DelegationReport", "Answer", "Failure",
    "EvidenceVerdict", "check_evidence",
    "library_path", "library_version", "abi_version", "status_name", "status_message", "LIBRARY_ENV_VAR",
    "ABI_VERSION_MAJOR", "ABI_VERSION_MINOR",
    # sizes and limits (include/dde.h DDE_*, checked against the library's dde_*() at load)
    "PUBLICKEYBYTES", "SECRETKEYBYTES", "SEEDBYTES", "SIGNATUREBYTES", "HASHBYTES", "HASHHEXBYTES",
    "ERRMSGBYTES", "MAX_INPUT_BYTES", "MAX_PATH_BYTES", "MAX_URL_BYTES", "JSON_MAX_BYTES", "JSON_MAX_DEPTH",
    "JSON_MAX_STRING_BYTES", "JSON_MAX_OBJECT_KEYS", "JSON_MAX_ARRAY_ELEMENTS", "MAX_EXECUTORS",
    "MAX_MODULE_BYTES", "MAX_STATE_KEY_BYTES", "MAX_STATE_VALUE_BYTES", "MAX_TOPIC_BYTES",
    "TRANSPORT_METHODS_VERSION", "MAX_CLIENT_ID_BYTES", "MAX_USERNAME_BYTES", "MAX_CREDENTIAL_FILE_BYTES",
    *_error_names,
]
