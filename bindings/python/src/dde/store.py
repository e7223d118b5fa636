"""The requester's store: the receipt chain, the dApp state and executor reputation, in one SQLite
file (docs/STORE.md; docs/PROTOCOL.md sections 8 and 9).

A verified compute_result is committed with ``Store.commit``: verified again, checked against the
chain (not committed before, made on the dApp's current state), and appended as a receipt signed
by the node's identity, together with the proof, the result and the state writes, in one durable
transaction. Any failure changes nothing.

Everything comes back typed, with every hash, id and key as raw bytes (``dde.encoding``): a
``Receipt`` per commit, ``ChainHead``, ``ChainEntry`` per exported receipt, a
``ReputationRecord`` per executor. Executors are named by their 32-byte public keys; each method
that takes one also takes ``encoder=dde.encoding.HexEncoder`` for a key written in hex.
"""

from __future__ import annotations

import ctypes
import json
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Union

from . import _library as L
from ._convert import BytesLike, JSONInput, PathLike, json_text, path_bytes, type_name, uint64
from ._guard import Guard, Guarded
from ._records import Reader, canonical_json
from .crypto import KeyPair
from .encoding import Encoder, RawEncoder, decode_fixed
from .errors import EvidenceUnjudgedError, NotFoundError
from .evidence import EvidenceVerdict, _check
from .receipt import Receipt
from .result import Result
from .task import Task
from .verification import Policy

__all__ = ["ChainEntry", "ChainHead", "Reputation", "ReputationRecord", "Store"]


class ChainHead(NamedTuple):
    """The head of the receipt chain.

    ``count``: receipts in the chain; ``receipt_hash``: the last receipt's hash (32 bytes; None
    for an empty chain); ``state_root``: the node state root after it (32 bytes; the empty root,
    SHA-256 of nothing, for an empty chain).
    """

    count: int
    receipt_hash: Optional[bytes]
    state_root: bytes


@dataclass(frozen=True, repr=False)
class ChainEntry:
    """One receipt of an exported chain with what it committed: ``receipt`` (a Receipt),
    ``result`` (the executor's compute_result, a dde.Result) and ``task`` (the task's canonical
    JSON bytes, for ``dde.Task.parse``). ``json`` is the entry's line of ``export_jsonl()``
    (``{"computeResult", "receipt", "task"}``, canonical, without the newline).

    ``for entry in store.export(): print(entry.receipt.index, entry.result.result)``
    """

    receipt: Receipt
    result: Result
    task: bytes
    json: bytes

    @classmethod
    def _from_line(cls, line: bytes) -> "ChainEntry":
        r = Reader(json.loads(line), "export line")
        r.only(("computeResult", "receipt", "task"))
        return cls(receipt=Receipt._from_dict(r.value("receipt")),
                   result=Result.parse(canonical_json(r.value("computeResult"))),
                   task=canonical_json(r.value("task")), json=bytes(line))

    def to_dict(self) -> Dict[str, Any]:
        """The line as a dict ``{"computeResult", "receipt", "task"}`` (a new one each call)."""
        return json.loads(self.json)

    def __repr__(self) -> str:
        return f"ChainEntry({self.receipt!r})"


@dataclass(frozen=True)
class ReputationRecord:
    """One executor's reputation (docs/STORE.md, docs/PROTOCOL.md section 9), decayed to the
    ``now_ms`` it was read at, so the counts may be fractional (float).

    ``executor`` (its 32-byte key); the decayed counts ``successful_proofs``, ``failed_proofs``,
    ``timeouts``, ``attempts`` (all three together), ``failure_rate`` ((failures + timeouts) /
    attempts), ``success_lower_bound`` (the Wilson lower bound that orders routing),
    ``latency_avg`` (ms) and ``latency_count``; the whole numbers ``last_seen`` (Unix ms),
    ``consecutive_invalid`` (the run of invalid proofs), ``banned_until`` (Unix ms),
    ``validated`` (results other executors' proofs confirmed since its last signed failure) and
    ``convicted_at`` (Unix ms; 0 when never); and ``banned``, ``blacklisted`` and ``convicted``
    (proven a liar: blacklisted for good) at that time.

    ``json`` is the library's record as canonical JSON, ``to_dict()`` as a dict (hex key).
    """

    executor: bytes
    successful_proofs: float
    failed_proofs: float
    timeouts: float
    attempts: float
    failure_rate: float
    success_lower_bound: float
    latency_avg: float
    latency_count: float
    last_seen: int
    consecutive_invalid: int
    banned_until: int
    banned: bool
    blacklisted: bool
    validated: int
    convicted_at: int
    convicted: bool
    json: bytes

    @classmethod
    def _from_dict(cls, doc: Any) -> "ReputationRecord":
        r = Reader(doc, "reputation record")
        return cls(
            executor=r.raw("executorPublicKey", L.PUBLICKEYBYTES),
            successful_proofs=r.number("successfulProofs"),
            failed_proofs=r.number("failedProofs"),
            timeouts=r.number("timeouts"),
            attempts=r.number("attempts"),
            failure_rate=r.number("failureRate"),
            success_lower_bound=r.number("successLowerBound"),
            latency_avg=r.number("latencyAvg"),
            latency_count=r.number("latencyCount"),
            last_seen=r.integer("lastSeen"),
            consecutive_invalid=r.integer("consecutiveInvalid"),
            banned_until=r.integer("bannedUntil"),
            banned=r.boolean("banned"),
            blacklisted=r.boolean("blacklisted"),
            validated=r.integer("validated"),
            convicted_at=r.integer("convictedAt"),
            convicted=r.boolean("convicted"),
            json=canonical_json(doc),
        )

    def to_dict(self) -> Dict[str, Any]:
        """The library's record as a dict (``executorPublicKey`` in hex; a new one each call)."""
        return json.loads(self.json)


class Store(Guarded):
    """An open store file. Thread-safe: one Store may be shared by threads (every operation is
    atomic); several processes may open the same file. Close it (or use ``with``) to release the
    file at once; otherwise garbage collection does.

    ``reputation`` (optional) sets the reputation rules, any of ``{"banAfterConsecutiveInvalid":
    3, "banDurationMs": 600000, "blacklistFailureRate": 0.5, "blacklistMinAttempts": 5,
    "halfLifeMs": 86400000, "confidenceZ": 1.96}`` (the defaults). They are not stored in the
    file: give the same ones each time it is opened.

    Raises SQLiteError when SQLite cannot open or create the file (a directory, a missing
    folder), StoreSchemaVersionError for a file written by a newer dde (it is left untouched),
    SchemaError or ArgumentError for bad reputation settings.

    >>> import os, tempfile
    >>> with Store(os.path.join(tempfile.mkdtemp(), "node.db")) as store: store.head().count
    0
    """

    def __init__(self, path: PathLike, *, reputation: Optional[Mapping[str, Any]] = None) -> None:
        raw = path_bytes(path)
        if reputation is None:
            options, length = None, 0
        elif isinstance(reputation, Mapping):
            options = json_text(dict(reputation), "reputation")
            length = len(options)
        else:
            raise TypeError(f"reputation must be a dict of settings or None, not {type_name(reputation)}")
        handle = L.StorePointer()
        L.call("dde_store_open", raw, options, length, ctypes.byref(handle))
        self._guard = Guard(self, handle, L.library().dde_store_close, "store")

    # ---- The receipt chain ----------------------------------------------------------------------

    def commit(self, task: Task, result: JSONInput, identity: KeyPair, now_ms: int = 0) -> Receipt:
        """Verifies ``result`` (a compute_result: bytes, str, dict or dde.Result) against ``task``
        again, with this store's reputation as the policy at ``now_ms``, and commits it; returns
        the receipt (a Receipt: receiptVersion 3, assurance how "direct").

        Refused, changing nothing: any verification failure (its own class, e.g.
        ExecutorBannedError for an executor the reputation bans), DuplicateTaskError for a task
        already committed, StaleError for a task made on a state the dApp has left, BadKeyError
        when ``identity`` is not the key the chain was started with. ``now_ms`` (Unix ms; 0 means
        the wall clock) is the receipt's timestamp.

        ``receipt = store.commit(task, result_bytes, identity)``
        """
        if not isinstance(task, Task):
            raise TypeError(f"task must be a dde.Task, not {type_name(task)}")
        if not isinstance(identity, KeyPair):
            raise TypeError(f"identity must be a dde.KeyPair, not {type_name(identity)}")
        text = json_text(result, "result")
        now = uint64(now_ms, "now_ms")
        out, length = ctypes.c_void_p(), ctypes.c_size_t()
        with self._guard.shared() as handle, task._guard.shared() as task_handle, \
                identity._guard.shared() as secret:
            L.call("dde_store_commit", handle, task_handle, text, len(text), secret, now,
                   ctypes.byref(out), ctypes.byref(length))
        raw = L.take_string(out, length)
        return Receipt._from_dict(json.loads(raw), raw)

    def head(self) -> ChainHead:
        """The chain head: receipt count, the last receipt's hash and the node state root.

        ``count, receipt_hash, state_root = store.head()``
        """
        count = ctypes.c_uint64()
        receipt_hash = ctypes.create_string_buffer(L.HASHHEXBYTES)
        state_root = ctypes.create_string_buffer(L.HASHHEXBYTES)
        with self._guard.shared() as handle:
            L.call("dde_store_head", handle, ctypes.byref(count), receipt_hash, state_root)
        return ChainHead(count.value, bytes.fromhex(receipt_hash.value.decode("ascii")) or None,
                         bytes.fromhex(state_root.value.decode("ascii")))

    def verify_chain(self) -> int:
        """Re-checks every link, hash and both signatures of every receipt and replays all stored
        writes from the empty state; returns the number of receipts checked. Raises
        ChainBrokenError naming the first bad receipt ("receipt N: why").

        ``assert store.verify_chain() == store.head().count``
        """
        checked = ctypes.c_uint64()
        with self._guard.shared() as handle:
            L.call("dde_store_verify_chain", handle, ctypes.byref(checked))
        return checked.value

    def export_jsonl(self) -> bytes:
        """The whole chain as JSON lines (canonical JSON, one line per receipt in index order, each
        ``{"computeResult", "receipt", "task"}``): enough for anyone to re-check the chain and
        both signatures without the database.

        ``Path("chain.jsonl").write_bytes(store.export_jsonl())``
        """
        out, length = ctypes.c_void_p(), ctypes.c_size_t()
        with self._guard.shared() as handle:
            L.call("dde_store_export", handle, ctypes.byref(out), ctypes.byref(length))
        # One '\n' per record from ABI 0.0 on (dde.h, "ABI history"); the unversioned 0.1.0
        # library, some of whose builds wrote two, is refused at load (it has no ABI version).
        return L.take_string(out, length)

    def export(self) -> List[ChainEntry]:
        """The whole chain, in index order: a ChainEntry (``receipt``, ``result``, ``task``,
        ``json``) per receipt. export_jsonl() gives the same as canonical JSON lines.

        ``results = [entry.result for entry in store.export()]``
        """
        return [ChainEntry._from_line(line) for line in self.export_jsonl().splitlines()]

    def receipts(self) -> List[Receipt]:
        """Every receipt of the chain, in index order (``[e.receipt for e in store.export()]``).

        ``last = store.receipts()[-1]``
        """
        return [Receipt._from_dict(json.loads(line)["receipt"]) for line in self.export_jsonl().splitlines()]

    def policy(self, now_ms: int = 0) -> Policy:
        """A Policy refusing the executors this store's reputation bans or blacklists at
        ``now_ms`` (0: now), for ``dde.verify``. A snapshot: later reputation changes do not
        reach it.

        ``dde.verify(task, result, store.policy())``
        """
        now = uint64(now_ms, "now_ms")
        handle = L.PolicyPointer()
        with self._guard.shared() as store_handle:
            L.call("dde_store_policy", store_handle, now, ctypes.byref(handle))
        return Policy._own(handle)

    # ---- Fraud evidence (docs/PROTOCOL.md section 12) --------------------------------------------

    def import_evidence(self, document: JSONInput, now_ms: int = 0) -> EvidenceVerdict:
        """Checks an evidence document (as ``dde.check_evidence``) and records it in the store; a
        liar it names by itself (equivocation, signed fields) is blacklisted here for good, in the
        same transaction, at ``now_ms`` (0: now). Returns the verdict; a document already in the
        store changes nothing.

        Raises EvidenceUnjudgedError when the document is kept without a verdict: sound, but only
        a re-execution can name the liar, so nobody is blacklisted (``err.verdict`` holds its
        signers); otherwise check_evidence's errors, and nothing is recorded.

        ``for line in other.export_evidence(): store.import_evidence(line)``
        """
        text = json_text(document, "document")
        now = uint64(now_ms, "now_ms")
        with self._guard.shared() as handle:
            # The verdict (the import itself gives only a status); the same checks the import
            # repeats, so a document refused here is refused there.
            try:
                verdict: Optional[EvidenceVerdict] = _check(text)
            except EvidenceUnjudgedError as e:
                verdict = e.verdict
            try:
                L.call("dde_store_evidence_import", handle, text, len(text), now)
            except EvidenceUnjudgedError as e:
                e.verdict = verdict
                raise
        assert verdict is not None
        return verdict

    def export_evidence(self) -> List[bytes]:
        """Every evidence document the store keeps (made in its delegations or imported), each
        once, oldest first, as canonical JSON bytes: what ``import_evidence`` and
        ``dde.check_evidence`` take, and ``dde evidence import`` reads one per line.

        ``Path("evidence.jsonl").write_bytes(b"".join(d + b"\\n" for d in store.export_evidence()))``
        """
        out, length = ctypes.c_void_p(), ctypes.c_size_t()
        with self._guard.shared() as handle:
            L.call("dde_store_evidence_export", handle, ctypes.byref(out), ctypes.byref(length))
        return [line for line in L.take_string(out, length).split(b"\n") if line]

    @property
    def reputation(self) -> "Reputation":
        """The store's executor reputation (docs/PROTOCOL.md section 9). A view of this
        store: after store.close() its calls raise ClosedError."""
        return Reputation(self)  # made per access: no Store <-> Reputation cycle delaying release

    # ---- Lifetime -------------------------------------------------------------------------------

    def close(self) -> None:
        """Closes the file (waits for calls in flight). Idempotent; later use raises ClosedError.

        Raises SQLiteError when SQLite reports a failure while closing (the store is closed all
        the same; every commit that returned was already durable). Closing by garbage collection
        cannot report it."""
        code = self._guard.close()
        if code:
            raise L.error_from_library(L.library(), code)

    def __repr__(self) -> str:
        if self.closed:
            return "Store(closed)"
        return f"Store(receipts={self.head().count})"


class Reputation:
    """Executor reputation kept in a Store (``store.reputation``; docs/STORE.md): counts decay
    with a half-life; 3 invalid proofs in a row ban an executor for a while; more than 50% failed
    attempts over at least 5 blacklist it; an executor convicted of lying (by evidence, or by a
    pinned executor in the audited mode) is blacklisted for good. Executors are named by their
    32-byte public key (``encoder=dde.encoding.HexEncoder`` for one in hex); every time is Unix
    ms, 0 meaning now (pass explicit times for reproducible results).

    Records are ReputationRecord objects, their counts decayed to ``now_ms``.

    >>> import os, tempfile
    >>> with Store(os.path.join(tempfile.mkdtemp(), "node.db")) as store:
    ...     store.reputation.record_success(bytes(32), latency_ms=40, now_ms=1000)
    ...     store.reputation.get(bytes(32), now_ms=1000).successful_proofs
    1.0
    """

    def __init__(self, store: Store) -> None:
        if not isinstance(store, Store):
            raise TypeError(f"store must be a dde.Store, not {type_name(store)} (use store.reputation)")
        self._store = store

    def _key(self, key: Union[BytesLike, str], encoder: Encoder) -> bytes:
        return decode_fixed(key, L.PUBLICKEYBYTES, "key", encoder)

    def record_success(self, key: Union[BytesLike, str], latency_ms: int, now_ms: int = 0, *,
                       encoder: Encoder = RawEncoder) -> None:
        """A valid proof that took ``latency_ms``: successes + 1, the run of invalid proofs reset.

        ``store.reputation.record_success(executor_key, latency_ms=35)``
        """
        pk, latency, now = self._key(key, encoder), uint64(latency_ms, "latency_ms"), uint64(now_ms, "now_ms")
        with self._store._guard.shared() as handle:
            L.call("dde_reputation_record_success", handle, pk, latency, now)

    def record_failure(self, key: Union[BytesLike, str], now_ms: int = 0, *, encoder: Encoder = RawEncoder) -> None:
        """An invalid proof: failures + 1; the 3rd in a row (banAfterConsecutiveInvalid) bans the
        executor for banDurationMs.

        ``store.reputation.record_failure(executor_key)``
        """
        pk, now = self._key(key, encoder), uint64(now_ms, "now_ms")
        with self._store._guard.shared() as handle:
            L.call("dde_reputation_record_failure", handle, pk, now)

    def record_timeout(self, key: Union[BytesLike, str], now_ms: int = 0, *, encoder: Encoder = RawEncoder) -> None:
        """No answer in time: a failed attempt (failure rate, blacklist, routing), never a ban.

        ``store.reputation.record_timeout(executor_key)``
        """
        pk, now = self._key(key, encoder), uint64(now_ms, "now_ms")
        with self._store._guard.shared() as handle:
            L.call("dde_reputation_record_timeout", handle, pk, now)

    def get(self, key: Union[BytesLike, str], now_ms: int = 0, *,
            encoder: Encoder = RawEncoder) -> Optional[ReputationRecord]:
        """The executor's record at ``now_ms``, or None for an executor never seen.

        ``record = store.reputation.get(executor_key); print(record.failure_rate, record.banned)``
        """
        pk, now = self._key(key, encoder), uint64(now_ms, "now_ms")
        out, length = ctypes.c_void_p(), ctypes.c_size_t()
        try:
            with self._store._guard.shared() as handle:
                L.call("dde_reputation_get", handle, pk, now, ctypes.byref(out), ctypes.byref(length))
        except NotFoundError:
            return None
        return ReputationRecord._from_dict(json.loads(L.take_string(out, length)))

    def _status(self, key: Union[BytesLike, str], now_ms: int, encoder: Encoder) -> "tuple[bool, bool]":
        pk, now = self._key(key, encoder), uint64(now_ms, "now_ms")
        banned, blacklisted = ctypes.c_int(), ctypes.c_int()
        with self._store._guard.shared() as handle:
            L.call("dde_reputation_status", handle, pk, now, ctypes.byref(banned), ctypes.byref(blacklisted))
        return bool(banned.value), bool(blacklisted.value)

    def is_banned(self, key: Union[BytesLike, str], now_ms: int = 0, *, encoder: Encoder = RawEncoder) -> bool:
        """Whether the executor is temporarily banned at ``now_ms`` (False for one never seen).

        ``if store.reputation.is_banned(executor_key): ...``
        """
        return self._status(key, now_ms, encoder)[0]

    def is_blacklisted(self, key: Union[BytesLike, str], now_ms: int = 0, *, encoder: Encoder = RawEncoder) -> bool:
        """Whether the executor is blacklisted at ``now_ms``: its failure rate, or convicted of
        lying (False for one never seen).

        ``if store.reputation.is_blacklisted(executor_key): ...``
        """
        return self._status(key, now_ms, encoder)[1]

    def all(self, now_ms: int = 0) -> List[ReputationRecord]:
        """Every record, in routing order: usable executors first, then by the lower confidence
        bound of their success rate, then by lower average latency.

        ``best = store.reputation.all()[0].executor``
        """
        now = uint64(now_ms, "now_ms")
        out, length = ctypes.c_void_p(), ctypes.c_size_t()
        with self._store._guard.shared() as handle:
            L.call("dde_reputation_all", handle, now, ctypes.byref(out), ctypes.byref(length))
        return [ReputationRecord._from_dict(doc) for doc in json.loads(L.take_string(out, length))]

    def clear(self, key: Union[BytesLike, str], *, encoder: Encoder = RawEncoder) -> bool:
        """Forgets one executor (a conviction too); False when there was nothing to forget.

        ``store.reputation.clear(executor_key)``
        """
        pk = self._key(key, encoder)
        try:
            with self._store._guard.shared() as handle:
                L.call("dde_reputation_clear", handle, pk)
        except NotFoundError:
            return False
        return True

    def clear_all(self) -> None:
        """Forgets every executor.

        ``store.reputation.clear_all()``
        """
        with self._store._guard.shared() as handle:
            L.call("dde_reputation_clear_all", handle)

    def __repr__(self) -> str:
        return f"Reputation(store={self._store!r})"
