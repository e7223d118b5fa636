"""The exceptions of dde: one class per DDE_ERR_* status code of include/dde.h, grouped by domain.

Every failure the library reports becomes an instance of the class for its code, carrying the
code, the constant's name and the library's message for that failure (``dde_errmsg()``)::

    try:
        dde.verify(task, result)
    except dde.ProofSignatureError as e:       # one check
        print(e.code, e.name, e.message)
    except dde.VerificationError:              # any check 2..10
        ...
    except dde.DDEError:                       # anything dde refused, malformed input included
        ...

The classes are written out here rather than generated from the header so that they can be
imported, caught and documented by name; ``tests/test_sync.py`` parses ``include/dde.h`` and
checks that every ``DDE_ERR_*`` code has its class here and that the library names it the same.
"""

from __future__ import annotations

from typing import Dict, Mapping, Type

__all__ = [
    "DDEError", "error_class", "ERRORS",
    # the library could not be used
    "LibraryError", "LibraryNotFoundError", "IncompatibleLibraryError",
    # general
    "ArgumentError", "OutOfMemoryError", "InternalError", "FileError", "ClosedError",
    # documents
    "DocumentError", "JSONError", "LimitError", "DuplicateKeyError", "SchemaError",
    "EncodingError", "VersionError", "NumberError",
    # verification
    "VerificationError", "TaskIdError", "TaskSignatureError", "TaskMismatchError",
    "CodeHashMismatchError", "InputHashMismatchError", "CapabilitiesError",
    "StepsExceededError", "FuelExceededError", "ResultHashError", "WritesHashError",
    "PreviousStateRootError", "NextStateRootError", "ProofSignatureError",
    "ExecutorRefusedError", "ExecutorBannedError", "ExecutorBlacklistedError",
    "ResultMismatchError",
    # keys and signatures
    "CryptoError", "BadKeyError", "BadSignatureError",
    # store
    "StoreError", "SQLiteError", "StaleError", "DuplicateTaskError", "ChainBrokenError",
    "StoreSchemaVersionError", "NotFoundError",
    # execution
    "ExecutionError", "CodeNotFoundError", "CodeHashError", "CodeInvalidError",
    "NondeterministicCodeError", "CapabilityDeniedError", "UnknownImportError",
    "NoSuchActionError", "OutOfFuelError", "TooManyStepsError", "MemoryLimitError",
    "ExecutionTimeoutError", "GuestTrapError", "GuestBoundsError", "ResultNotJSONError",
    "ActionFailedError", "AuditFailedError", "StateKeyOutsideError",
    # network
    "NetworkError", "TransportError", "NoResultError", "QuorumNotReachedError", "BusyError",
    "MessageTypeError", "NoExecutorError", "UnresolvedError",
    # fraud evidence
    "EvidenceError", "EvidenceAgreesError", "EvidenceUnjudgedError",
    # state proofs
    "StateProofError", "StateProofMalformedError", "StateProofIncompleteError",
    "StateProofValueError", "StateProofHashError", "StateProofRootError",
]


class DDEError(Exception):
    """Base of every dde exception.

    ``code`` is the DDE_ERR_* number (-1 for the Python-only library errors), ``name`` the
    constant's name (``"DDE_ERR_TASK_ID"``) and ``message`` what exactly was wrong.
    """

    #: The status code of this class (None on the grouping classes).
    CODE: int | None = None
    #: The constant's name in include/dde.h (None on the grouping classes).
    NAME: str | None = None
    #: Client.delegate sets it to the dde.DelegationReport of a delegation that ran but committed
    #: nothing (who was asked, who answered what); None everywhere else.
    report = None

    def __init__(self, code: int, name: str, message: str) -> None:
        self.code = code
        self.name = name
        self.message = message
        super().__init__(f"{name}: {message}" if message else name)

    @classmethod
    def _raised_here(cls, message: str) -> "DDEError":
        """An instance for a failure Python detects itself (before calling the library)."""
        code = cls.CODE if cls.CODE is not None else -1
        return cls(code, cls.NAME or cls.__name__, message)

    def __reduce__(self):  # picklable across processes with its three fields
        return (self.__class__, (self.code, self.name, self.message))


# ---- The library could not be used (Python only, no status code) ----------------------------

class LibraryError(DDEError):
    """libdde could not be loaded or is not the one this package was written for."""

    CODE = -1


class LibraryNotFoundError(LibraryError):
    """No libdde.so was found; the message lists where the package looked and what to do."""

    NAME = "DDE_LIBRARY_NOT_FOUND"


class IncompatibleLibraryError(LibraryError):
    """A libdde.so was found but its version, sizes or functions do not match this package."""

    NAME = "DDE_LIBRARY_INCOMPATIBLE"


# ---- General: 1..5 -----------------------------------------------------------------------------

class ArgumentError(DDEError, ValueError):
    """DDE_ERR_ARGUMENT: a bad length or an out-of-range value (also a ValueError)."""

    CODE, NAME = 1, "DDE_ERR_ARGUMENT"


class OutOfMemoryError(DDEError, MemoryError):
    """DDE_ERR_NOMEM: the library could not allocate."""

    CODE, NAME = 2, "DDE_ERR_NOMEM"


class InternalError(DDEError):
    """DDE_ERR_INTERNAL: a bug or an environment failure inside the library."""

    CODE, NAME = 3, "DDE_ERR_INTERNAL"


class FileError(DDEError):
    """DDE_ERR_IO: reading or writing a file failed."""

    CODE, NAME = 4, "DDE_ERR_IO"


class ClosedError(DDEError):
    """DDE_ERR_CLOSED: the handle (task, policy, key) was already closed."""

    CODE, NAME = 5, "DDE_ERR_CLOSED"


# ---- Documents: 20..26 -------------------------------------------------------------------------

class DocumentError(DDEError):
    """A JSON document or protocol object is malformed (verification check 1)."""


class JSONError(DocumentError):
    """DDE_ERR_JSON: not RFC 8259 JSON."""

    CODE, NAME = 20, "DDE_ERR_JSON"


class LimitError(DocumentError):
    """DDE_ERR_LIMIT: a parser limit (size, depth, string length, key count)."""

    CODE, NAME = 21, "DDE_ERR_LIMIT"


class DuplicateKeyError(DocumentError):
    """DDE_ERR_DUPLICATE_KEY: an object names the same key twice."""

    CODE, NAME = 22, "DDE_ERR_DUPLICATE_KEY"


class SchemaError(DocumentError):
    """DDE_ERR_SCHEMA: a field is missing, unknown, or of the wrong type."""

    CODE, NAME = 23, "DDE_ERR_SCHEMA"


class EncodingError(DocumentError):
    """DDE_ERR_ENCODING: hex, base64 or UTF-8 is invalid."""

    CODE, NAME = 24, "DDE_ERR_ENCODING"


class VersionError(DocumentError):
    """DDE_ERR_VERSION: an unknown taskVersion / proofVersion / receiptVersion."""

    CODE, NAME = 25, "DDE_ERR_VERSION"


class NumberError(DocumentError):
    """DDE_ERR_NUMBER: a number that is not an integer in [0, 2^53-1] where one is needed."""

    CODE, NAME = 26, "DDE_ERR_NUMBER"


# ---- Verification: 40..55 ----------------------------------------------------------------------

class VerificationError(DDEError):
    """A task or proof is well-formed but does not hold (docs/PROTOCOL.md section 7)."""


class TaskIdError(VerificationError):
    """DDE_ERR_TASK_ID: taskId is not H(task without taskId and signature)."""

    CODE, NAME = 40, "DDE_ERR_TASK_ID"


class TaskSignatureError(VerificationError):
    """DDE_ERR_TASK_SIGNATURE: the requester's signature over the task does not verify."""

    CODE, NAME = 41, "DDE_ERR_TASK_SIGNATURE"


class TaskMismatchError(VerificationError):
    """DDE_ERR_TASK_MISMATCH (check 2): the proof answers another task, dApp or action."""

    CODE, NAME = 42, "DDE_ERR_TASK_MISMATCH"


class CodeHashMismatchError(VerificationError):
    """DDE_ERR_CODE_HASH_MISMATCH (check 3): dappCodeHash differs."""

    CODE, NAME = 43, "DDE_ERR_CODE_HASH_MISMATCH"


class InputHashMismatchError(VerificationError):
    """DDE_ERR_INPUT_HASH_MISMATCH (check 4): inputHash differs."""

    CODE, NAME = 44, "DDE_ERR_INPUT_HASH_MISMATCH"


class CapabilitiesError(VerificationError):
    """DDE_ERR_CAPABILITIES (check 5): declared != required, or used is not a subset."""

    CODE, NAME = 45, "DDE_ERR_CAPABILITIES"


class StepsExceededError(VerificationError):
    """DDE_ERR_STEPS_EXCEEDED (check 6): traceLength > maxExecutionSteps."""

    CODE, NAME = 46, "DDE_ERR_STEPS_EXCEEDED"


class FuelExceededError(VerificationError):
    """DDE_ERR_FUEL_EXCEEDED (check 6): fuelUsed > maxFuel."""

    CODE, NAME = 47, "DDE_ERR_FUEL_EXCEEDED"


class ResultHashError(VerificationError):
    """DDE_ERR_RESULT_HASH (check 7): resultHash != H(result)."""

    CODE, NAME = 48, "DDE_ERR_RESULT_HASH"


class WritesHashError(VerificationError):
    """DDE_ERR_WRITES_HASH (check 7): stateWritesHash != H(stateWrites)."""

    CODE, NAME = 49, "DDE_ERR_WRITES_HASH"


class PreviousStateRootError(VerificationError):
    """DDE_ERR_PREVIOUS_STATE_ROOT (check 8): previousStateRoot differs from the task's."""

    CODE, NAME = 50, "DDE_ERR_PREVIOUS_STATE_ROOT"


class NextStateRootError(VerificationError):
    """DDE_ERR_NEXT_STATE_ROOT (check 8): nextStateRoot is not the root after the writes."""

    CODE, NAME = 51, "DDE_ERR_NEXT_STATE_ROOT"


class ProofSignatureError(VerificationError):
    """DDE_ERR_PROOF_SIGNATURE (check 9): the executor's signature does not verify."""

    CODE, NAME = 52, "DDE_ERR_PROOF_SIGNATURE"


class ExecutorRefusedError(VerificationError):
    """Check 10: the policy refuses this executor whatever it proves."""


class ExecutorBannedError(ExecutorRefusedError):
    """DDE_ERR_EXECUTOR_BANNED (check 10): the executor is temporarily banned."""

    CODE, NAME = 53, "DDE_ERR_EXECUTOR_BANNED"


class ExecutorBlacklistedError(ExecutorRefusedError):
    """DDE_ERR_EXECUTOR_BLACKLISTED (check 10): the executor is blacklisted."""

    CODE, NAME = 54, "DDE_ERR_EXECUTOR_BLACKLISTED"


class ResultMismatchError(VerificationError):
    """DDE_ERR_RESULT_MISMATCH: compute_result fields disagree with its proof."""

    CODE, NAME = 55, "DDE_ERR_RESULT_MISMATCH"


# ---- Keys and signatures: 56..57 ---------------------------------------------------------------

class CryptoError(DDEError):
    """A key or a signature outside proof verification."""


class BadKeyError(CryptoError):
    """DDE_ERR_KEY: a key is malformed or does not match its pair."""

    CODE, NAME = 56, "DDE_ERR_KEY"


class BadSignatureError(CryptoError):
    """DDE_ERR_SIGNATURE: a signature does not verify."""

    CODE, NAME = 57, "DDE_ERR_SIGNATURE"


# ---- Store: 60..65 -----------------------------------------------------------------------------

class StoreError(DDEError):
    """The requester's store (receipt chain, state, reputation)."""


class SQLiteError(StoreError):
    """DDE_ERR_STORE: SQLite failed (the message says how)."""

    CODE, NAME = 60, "DDE_ERR_STORE"


class StaleError(StoreError):
    """DDE_ERR_STALE: the task's previousStateRoot is not the dApp's current root."""

    CODE, NAME = 61, "DDE_ERR_STALE"


class DuplicateTaskError(StoreError):
    """DDE_ERR_DUPLICATE: the task is already committed."""

    CODE, NAME = 62, "DDE_ERR_DUPLICATE"


class ChainBrokenError(StoreError):
    """DDE_ERR_CHAIN_BROKEN: a bad link, hash, signature or root in the receipt chain."""

    CODE, NAME = 63, "DDE_ERR_CHAIN_BROKEN"


class StoreSchemaVersionError(StoreError):
    """DDE_ERR_SCHEMA_VERSION: the store was written by a newer dde."""

    CODE, NAME = 64, "DDE_ERR_SCHEMA_VERSION"


class NotFoundError(StoreError):
    """DDE_ERR_NOT_FOUND: no such record."""

    CODE, NAME = 65, "DDE_ERR_NOT_FOUND"


# ---- Execution: 80..95 -------------------------------------------------------------------------

class ExecutionError(DDEError):
    """The executor refused or could not finish running a module."""


class CodeNotFoundError(ExecutionError):
    """DDE_ERR_CODE_NOT_FOUND: no module with that dappCodeHash in the code store."""

    CODE, NAME = 80, "DDE_ERR_CODE_NOT_FOUND"


class CodeHashError(ExecutionError):
    """DDE_ERR_CODE_HASH: module bytes do not hash to the name they came under."""

    CODE, NAME = 81, "DDE_ERR_CODE_HASH"


class CodeInvalidError(ExecutionError):
    """DDE_ERR_CODE_INVALID: the module does not parse or validate."""

    CODE, NAME = 82, "DDE_ERR_CODE_INVALID"


class NondeterministicCodeError(ExecutionError):
    """DDE_ERR_CODE_NONDETERMINISTIC: float, SIMD, threads or atomics instructions."""

    CODE, NAME = 83, "DDE_ERR_CODE_NONDETERMINISTIC"


class CapabilityDeniedError(ExecutionError):
    """DDE_ERR_CAPABILITY_DENIED: the module imports a capability the task did not declare."""

    CODE, NAME = 84, "DDE_ERR_CAPABILITY_DENIED"


class UnknownImportError(ExecutionError):
    """DDE_ERR_UNKNOWN_IMPORT: the module imports something the host does not offer."""

    CODE, NAME = 85, "DDE_ERR_UNKNOWN_IMPORT"


class NoSuchActionError(ExecutionError):
    """DDE_ERR_NO_SUCH_ACTION: no export named intent.action of type () -> i32."""

    CODE, NAME = 86, "DDE_ERR_NO_SUCH_ACTION"


class OutOfFuelError(ExecutionError):
    """DDE_ERR_OUT_OF_FUEL."""

    CODE, NAME = 87, "DDE_ERR_OUT_OF_FUEL"


class TooManyStepsError(ExecutionError):
    """DDE_ERR_TOO_MANY_STEPS."""

    CODE, NAME = 88, "DDE_ERR_TOO_MANY_STEPS"


class MemoryLimitError(ExecutionError):
    """DDE_ERR_MEMORY_LIMIT."""

    CODE, NAME = 89, "DDE_ERR_MEMORY_LIMIT"


class ExecutionTimeoutError(ExecutionError):
    """DDE_ERR_TIMEOUT."""

    CODE, NAME = 90, "DDE_ERR_TIMEOUT"


class GuestTrapError(ExecutionError):
    """DDE_ERR_GUEST_TRAP."""

    CODE, NAME = 91, "DDE_ERR_GUEST_TRAP"


class GuestBoundsError(ExecutionError):
    """DDE_ERR_GUEST_BOUNDS: a guest pointer/length outside its memory."""

    CODE, NAME = 92, "DDE_ERR_GUEST_BOUNDS"


class ResultNotJSONError(ExecutionError):
    """DDE_ERR_RESULT_NOT_JSON: output_write bytes are not one JSON document."""

    CODE, NAME = 93, "DDE_ERR_RESULT_NOT_JSON"


class ActionFailedError(ExecutionError):
    """DDE_ERR_ACTION_FAILED: the action returned a non-zero status."""

    CODE, NAME = 94, "DDE_ERR_ACTION_FAILED"


class AuditFailedError(ExecutionError):
    """DDE_ERR_AUDIT_FAILED: re-execution disagrees with a proof (the signed proof is evidence)."""

    CODE, NAME = 95, "DDE_ERR_AUDIT_FAILED"


# ---- Network: 100..103 -------------------------------------------------------------------------


class StateKeyOutsideError(ExecutionError):
    """DDE_ERR_STATE_KEY_OUTSIDE: the execution touched a state key the task does not carry.

    The message is the key: add it to the task's ``stateKeys`` and delegate again."""

    CODE, NAME = 96, "DDE_ERR_STATE_KEY_OUTSIDE"

class NetworkError(DDEError):
    """Delegation over the network."""


class TransportError(NetworkError):
    """DDE_ERR_TRANSPORT."""

    CODE, NAME = 100, "DDE_ERR_TRANSPORT"


class NoResultError(NetworkError):
    """DDE_ERR_NO_RESULT: no valid result before the deadline."""

    CODE, NAME = 101, "DDE_ERR_NO_RESULT"


class QuorumNotReachedError(NetworkError):
    """DDE_ERR_QUORUM_NOT_REACHED."""

    CODE, NAME = 102, "DDE_ERR_QUORUM_NOT_REACHED"


class BusyError(NetworkError):
    """DDE_ERR_BUSY: the executor refused: too many concurrent tasks for this peer."""

    CODE, NAME = 103, "DDE_ERR_BUSY"


class MessageTypeError(NetworkError):
    """DDE_ERR_MESSAGE_TYPE: a message envelope has an unknown version or type."""

    CODE, NAME = 104, "DDE_ERR_MESSAGE_TYPE"


class NoExecutorError(NetworkError):
    """DDE_ERR_NO_EXECUTOR: no known executor fits the task (all banned, blacklisted or unproven)."""

    CODE, NAME = 105, "DDE_ERR_NO_EXECUTOR"


class UnresolvedError(NetworkError):
    """DDE_ERR_UNRESOLVED: proofs disagreed and no validated majority decided (nothing committed)."""

    CODE, NAME = 106, "DDE_ERR_UNRESOLVED"


class EvidenceError(DDEError):
    """Fraud evidence that proves nothing, or cannot be judged here."""


class EvidenceAgreesError(EvidenceError):
    """DDE_ERR_EVIDENCE_AGREES: the evidence's two proofs agree: it proves nothing."""

    CODE, NAME = 110, "DDE_ERR_EVIDENCE_AGREES"


class EvidenceUnjudgedError(EvidenceError):
    """DDE_ERR_EVIDENCE_UNJUDGED: naming the liar needs a re-execution that was not possible here."""

    CODE, NAME = 111, "DDE_ERR_EVIDENCE_UNJUDGED"
    #: dde.check_evidence and Store.import_evidence set it to the dde.EvidenceVerdict of the sound
    #: document (its signers; no liars, ``how`` None); None where no document was checked.
    verdict = None


class StateProofError(DDEError):
    """A state proof (a Merkle proof of keys against a state root) was refused."""


class StateProofMalformedError(StateProofError):
    """DDE_ERR_STATE_PROOF_MALFORMED: the state proof is not a well-formed proof of these keys."""

    CODE, NAME = 120, "DDE_ERR_STATE_PROOF_MALFORMED"


class StateProofIncompleteError(StateProofError):
    """DDE_ERR_STATE_PROOF_INCOMPLETE: the state proof misses a part: it ends early or does not reach a key."""

    CODE, NAME = 121, "DDE_ERR_STATE_PROOF_INCOMPLETE"


class StateProofValueError(StateProofError):
    """DDE_ERR_STATE_PROOF_VALUE: the state proof shows another value or presence for a key than claimed."""

    CODE, NAME = 122, "DDE_ERR_STATE_PROOF_VALUE"


class StateProofHashError(StateProofError):
    """DDE_ERR_STATE_PROOF_HASH: the state proof's hashes do not lead to the root it names."""

    CODE, NAME = 123, "DDE_ERR_STATE_PROOF_HASH"


class StateProofRootError(StateProofError):
    """DDE_ERR_STATE_PROOF_ROOT: the state proof was made for another root."""

    CODE, NAME = 124, "DDE_ERR_STATE_PROOF_ROOT"


def _collect() -> Dict[int, Type[DDEError]]:
    table: Dict[int, Type[DDEError]] = {}
    pending = [DDEError]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        code = cls.__dict__.get("CODE")
        if code is not None and code >= 0:
            if code in table:  # two classes for one code would make `except` ambiguous
                raise RuntimeError(f"status code {code} has two classes: {table[code]} and {cls}")
            table[code] = cls
    return table


#: Every status code the library can return (except DDE_OK), mapped to its exception class.
ERRORS: Mapping[int, Type[DDEError]] = _collect()


def error_class(code: int) -> Type[DDEError]:
    """The exception class for a status code; DDEError itself for a code this package does not know.

    >>> error_class(41).__name__
    'TaskSignatureError'
    """
    return ERRORS.get(code, DDEError)
