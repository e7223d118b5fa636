"""The delegating client: send tasks to executors over MQTT, verify their proofs and commit the
accepted result to the store's receipt chain (docs/PROTOCOL.md sections 10 and 11).

Reports are typed (DelegationReport, Answer, Assurance, Failure, the committed Receipt) and hold
every id and key as raw bytes; keys given to the client (``pinned``) are raw bytes too, or hex
with ``encoder=dde.encoding.HexEncoder`` (``dde.encoding``)."""

from __future__ import annotations

import collections.abc
import ctypes
import json
import math
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Tuple, Type, Union, overload

from . import _abi
from . import _library as L
from ._convert import BytesLike, JSONInput, PathLike, as_bytes, json_text, path_bytes, type_name
from ._guard import Guard, Guarded
from ._records import Reader
from .crypto import KeyPair
from .encoding import Encoder, HexEncoder, RawEncoder, check_encoder, decode_fixed, encode
from .errors import ERRORS, ArgumentError, InternalError
from .evidence import EvidenceVerdict, _verdict
from .receipt import Assurance, Receipt

__all__ = ["Answer", "Assurance", "Client", "DelegationReport", "Failure"]

_MODES = ("first_valid", "quorum", "audited")
# The options of dde_client_new_mqtt_v2 by their keyword in Client.connect.
_SNAKE = {"caFile": "ca_file", "caPath": "ca_path", "certFile": "cert_file", "keyFile": "key_file",
          "pskFile": "psk_file", "passwordFile": "password_file", "username": "username",
          "passwordEnv": "password_env", "clientId": "client_id"}
# DDE_MAX_EXECUTORS (abi/dde.abi; checked against dde_max_executors() at load): the most
# executors one task may be offered to (fanout, quorum, pinned).
MAX_EXECUTORS = _abi.MAX_EXECUTORS


@dataclass(frozen=True)
class Answer:
    """One executor's answer in a delegation, as the requester judged it.

    ``verdict``: accepted, agreed, unresolved, disagreed, invalid, refused, unattributed,
    duplicate, unsolicited, error or timeout (docs/PROTOCOL.md section 11); ``status`` the
    DDE_ERR_* name of its check ("DDE_OK" when valid); ``executor`` its 32-byte public key (None
    when it could not be attributed); ``latency_ms`` measured by the requester.
    """

    executor: Optional[bytes]
    verdict: str
    status: str
    latency_ms: int
    detail: str


_CODES_BY_NAME = {cls.NAME: code for code, cls in ERRORS.items()}


@dataclass(frozen=True)
class Failure:
    """Why a delegation committed nothing (``DelegationReport.failure``), as the exception raised
    for it says: ``code`` (the DDE_ERR_* number; -1 for a name this package does not know),
    ``name`` ("DDE_ERR_NO_RESULT") and ``message``."""

    code: int
    name: str
    message: str

    @classmethod
    def from_dict(cls, doc: Any) -> "Failure":
        """From the report's ``{"code": "DDE_ERR_…", "message": …}``."""
        r = Reader(doc, "failure")
        name = r.string("code")
        return cls(code=_CODES_BY_NAME.get(name, -1), name=name, message=r.string("message"))


@dataclass(frozen=True)
class DelegationReport:
    """What one ``Client.delegate`` did: the task (``task_id``, 32 bytes), who was asked
    (``asked``, 32-byte keys), every answer, and the Receipt and the dApp's result when one was
    committed, or the Failure when not. ``assurance``: how the committed result was assured (None
    when nothing was committed); ``caveats``: guarantees the mode could not give for this task,
    in words (e.g. no pinned or validated executor was known); ``evidence_ids``: the store's ids
    of the evidence recorded; ``retried_with_keys``: the state keys added for a second try when
    executors refused the first for reading keys it did not carry (bytes; empty: one try).
    ``json`` is the library's canonical report (hex), ``to_dict()``
    the same as a dict."""

    task_id: bytes
    mode: str
    asked: Tuple[bytes, ...]
    answers: Tuple[Answer, ...]
    receipt: Optional[Receipt]
    result: Any
    failure: Optional[Failure]
    evidence_ids: Tuple[int, ...]
    assurance: Optional[Assurance]
    caveats: Tuple[str, ...]
    retried_with_keys: Tuple[bytes, ...]
    json: bytes

    @property
    def committed(self) -> bool:
        """Whether a receipt was appended to the chain."""
        return self.receipt is not None

    @classmethod
    def from_json(cls, text: bytes) -> "DelegationReport":
        """From the library's report (what ``dde_client_delegate`` and ``dde delegate --json``
        write)."""
        r = Reader(json.loads(text), "report")
        answers = []
        for i, doc in enumerate(r.value("answers")):
            a = Reader(doc, f"report.answers[{i}]")
            answers.append(Answer(executor=a.optional_raw("executor", L.PUBLICKEYBYTES), verdict=a.string("verdict"),
                                  status=a.string("status"), latency_ms=a.integer("latencyMs"),
                                  detail=a.string("detail")))
        receipt = r.value("receipt")
        failure = r.value("failure")
        assurance = r.value("assurance") if r.has("assurance") else None
        return cls(
            task_id=r.raw("taskId", L.HASHBYTES),
            mode=r.string("mode"),
            asked=r.raws("asked", L.PUBLICKEYBYTES),
            answers=tuple(answers),
            receipt=Receipt._from_dict(receipt) if receipt is not None else None,
            result=r.value("result"),
            failure=Failure.from_dict(failure) if failure is not None else None,
            evidence_ids=tuple(int(i) for i in r.value("evidenceIds")),
            assurance=Assurance.from_dict(assurance) if assurance is not None else None,
            caveats=r.strings("caveats") if r.has("caveats") else (),
            retried_with_keys=tuple(k.encode() for k in r.strings("retriedWithKeys"))
            if r.has("retriedWithKeys") else (),
            json=bytes(text),
        )

    def to_dict(self) -> Dict[str, Any]:
        """The library's report as a dict (hex ids and keys; a new one each call)."""
        return json.loads(self.json)


def _text_arg(value: object, what: str) -> bytes:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be str, not {type_name(value)}")
    raw = value.encode("utf-8", "surrogatepass")
    if b"\0" in raw:
        raise ArgumentError._raised_here(f"{what} contains a NUL character")
    return raw


def _count(value: object, what: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be int, not {type_name(value)}")
    if not low <= value <= high:
        raise ArgumentError._raised_here(f"{what} must be in [{low}, {high}], not {value}")
    return value


def _flag(value: object, what: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{what} must be bool, not {type_name(value)}")
    return value


def _fraction(value: object, what: str, *, zero: bool, one: bool) -> float:
    """A share in [0, 1] (the interval's ends included as ``zero``/``one`` say); ints allowed."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{what} must be float, not {type_name(value)}")
    x = float(value)
    low, high = ("[" if zero else "("), ("]" if one else ")")
    inside = math.isfinite(x) and (x >= 0 if zero else x > 0) and (x <= 1 if one else x < 1)
    if not inside:
        raise ArgumentError._raised_here(f"{what} must be in {low}0, 1{high}, not {value!r}")
    return x


def _pinned(keys: object, encoder: Encoder) -> List[str]:
    """Executor public keys (32 bytes each, or as ``encoder`` writes them) as the hex the
    library's options take."""
    if isinstance(keys, (str, bytes, bytearray, memoryview)) or not isinstance(keys, collections.abc.Iterable):
        raise TypeError(f"pinned must be a list of 32-byte public keys, not {type_name(keys)}")
    out: List[str] = []
    for i, key in enumerate(keys):
        raw = decode_fixed(key, L.PUBLICKEYBYTES, f"pinned[{i}]", encoder)
        if raw.hex() not in out:
            out.append(raw.hex())
    if len(out) > MAX_EXECUTORS:
        raise ArgumentError._raised_here(f"pinned holds {len(out)} keys, at most {MAX_EXECUTORS}")
    return out


class Client(Guarded):
    """A requester on the network: its store, its key and a connection to an MQTT broker, kept
    (and re-established) by a thread of the library. Calls block until they return; one runs at
    a time (a second thread waits), as the library requires. Close it (or use ``with``) to
    disconnect at once, after what was published is acknowledged (at most 5 s); otherwise garbage
    collection does.

    ``with dde.Client.connect("mqtt://127.0.0.1:1883", "requester.db", key) as client: ...``
    """

    def __init__(self) -> None:
        raise TypeError("use Client.connect(broker_url, store_path, key)")

    @classmethod
    def connect(cls, broker_url: str, store_path: PathLike, key: KeyPair, *,
                ca_file: Optional[PathLike] = None, ca_path: Optional[PathLike] = None,
                cert_file: Optional[PathLike] = None, key_file: Optional[PathLike] = None,
                psk_file: Optional[PathLike] = None, username: Optional[str] = None,
                password_file: Optional[PathLike] = None, password_env: Optional[str] = None,
                client_id: Optional[str] = None, connect_timeout_ms: Optional[int] = None) -> "Client":
        """Opens (or creates) the store and connects as the requester ``key`` to the broker at
        ``broker_url``: "mqtt://host[:port]" (port 1883 by default) or "mqtts://host[:port]"
        (TLS, port 8883; the broker's certificate and host name are always verified). Returns
        once the broker accepted the connection (at most ``connect_timeout_ms``, default 5000,
        the name lookup and TLS included).

        TLS and credentials (docs/NETWORK.md, "TLS and credentials"): ``ca_file`` (PEM CAs that
        signed the broker's certificate; default the system store) or ``ca_path`` (a hashed
        folder); ``cert_file`` and ``key_file`` (this device's certificate and unencrypted key,
        for mutual TLS); or ``psk_file`` (one line IDENTITY:HEXKEY); ``username`` with the
        password in ``password_file`` or in the environment variable named ``password_env``.
        The password itself is never passed: the library reads it, hands it to libmosquitto and
        wipes its copy. ``client_id``: the MQTT client id (default "dde-req-" and 12 hex of the
        key).

        ``dde.Client.connect("mqtts://broker.lan", "requester.db", key, ca_file="ca.crt",
        cert_file="pi.crt", key_file="pi.tls.key")``

        Raises ArgumentError for a malformed URL or a combination that cannot work (TLS options
        with mqtt://, a password without a user name or over mqtt://; no store is created then),
        FileError for a TLS or credentials file that cannot be read, TransportError naming the
        cause (unknown CA, host name mismatch, expired certificate, user or password refused,
        broker unreachable, libmosquitto missing), SQLiteError / StoreSchemaVersionError for the
        store, ClosedError for a closed key. Use one client per key on a broker: two take the
        session from each other.
        """
        url = _text_arg(broker_url, "broker_url")
        path = path_bytes(store_path, "store_path")
        if not isinstance(key, KeyPair):
            raise TypeError(f"key must be a dde.KeyPair, not {type_name(key)}")
        options: Dict[str, Any] = {}
        for name, value in (("caFile", ca_file), ("caPath", ca_path), ("certFile", cert_file), ("keyFile", key_file),
                            ("pskFile", psk_file), ("passwordFile", password_file)):
            if value is not None:
                raw = path_bytes(value, _SNAKE[name])
                try:
                    options[name] = raw.decode("utf-8")  # it travels in a JSON document
                except UnicodeDecodeError:
                    raise ArgumentError._raised_here(f"{_SNAKE[name]} must be a UTF-8 path, not {raw!r}") from None
        for name, value in (("username", username), ("passwordEnv", password_env), ("clientId", client_id)):
            if value is not None:
                options[name] = _text_arg(value, _SNAKE[name]).decode("utf-8", "surrogatepass")
        if connect_timeout_ms is not None:
            options["connectTimeoutMs"] = _count(connect_timeout_ms, "connect_timeout_ms", 1, 600_000)
        handle = L.ClientPointer()
        with key._guard.shared() as secret:  # the library copies the secret
            if options:
                encoded = json.dumps(options, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogatepass")
                L.call("dde_client_new_mqtt_v2", url, path, secret, encoded, len(encoded), ctypes.byref(handle))
            else:
                L.call("dde_client_new_mqtt", url, path, secret, ctypes.byref(handle))
        self = object.__new__(cls)
        self._guard = Guard(self, handle, L.library().dde_client_free, "client")
        return self

    @overload
    def publish_code(self, module: BytesLike) -> bytes: ...
    @overload
    def publish_code(self, module: BytesLike, *, encoder: Type[RawEncoder]) -> bytes: ...
    @overload
    def publish_code(self, module: BytesLike, *, encoder: Type[HexEncoder]) -> str: ...
    @overload
    def publish_code(self, module: BytesLike, *, encoder: Encoder) -> Any: ...

    def publish_code(self, module: BytesLike, *, encoder: Encoder = RawEncoder) -> Any:
        """Publishes a WebAssembly module (retained, under its SHA-256) so executors can fetch it
        by hash; returns the hash (32 bytes; with ``encoder=dde.encoding.HexEncoder`` the hex a
        spec's ``dappCodeHash`` takes). Returns once the broker acknowledged it. LimitError for a
        module over ``dde.MAX_MODULE_BYTES`` (16 MiB).

        ``spec["dappCodeHash"] = client.publish_code(wasm, encoder=dde.encoding.HexEncoder)``
        """
        data = as_bytes(module, "module")
        check_encoder(encoder)
        out = ctypes.create_string_buffer(L.HASHBYTES)
        with self._guard.exclusive() as handle:
            L.call("dde_client_publish_code", handle, data, len(data), out)
        return encode(out.raw, encoder)

    def discover(self, timeout_ms: int = 1000) -> int:
        """Listens ``timeout_ms`` for executors' presence; returns how many are known. Once after
        connecting is enough: executors also become known while delegating."""
        timeout = _count(timeout_ms, "timeout_ms", 0, 2**32 - 1)
        count = ctypes.c_size_t()
        with self._guard.exclusive() as handle:
            L.call("dde_client_discover", handle, timeout, ctypes.byref(count))
        return count.value

    def check_evidence(self, document: JSONInput, *, pinned: Optional[Iterable[Union[BytesLike, str]]] = None,
                       error_target: Optional[float] = None, liar_share: Optional[float] = None,
                       deadline_ms: int = 10000, encoder: Encoder = RawEncoder) -> "EvidenceVerdict":
        """Checks an evidence document and, when it does not name its liar by itself, has
        executors this client trusts re-run its task in the audited mode (neither signer asked,
        nothing committed); the liar is blacklisted in this client's store only when a pinned
        executor stood behind the outcome. Returns the verdict (``how`` "reexecution"
        when executors named the liar). Raises EvidenceUnjudgedError when no trusted executor
        confirmed an outcome (nobody blacklisted), or what ``dde.check_evidence`` raises.
        ``pinned``: 32-byte keys (hex with ``encoder=dde.encoding.HexEncoder``), as in delegate.
        """
        text = json_text(document, "document")
        check_encoder(encoder)
        options: Dict[str, Any] = {"mode": "audited", "deadlineMs": _count(deadline_ms, "deadline_ms", 0, 2**53 - 1)}
        if pinned is not None:
            options["pinned"] = _pinned(pinned, encoder)
        if error_target is not None:
            options["errorTarget"] = _fraction(error_target, "error_target", zero=False, one=False)
        if liar_share is not None:
            options["liarShare"] = _fraction(liar_share, "liar_share", zero=True, one=False)
        encoded = json.dumps(options, separators=(",", ":")).encode("ascii")
        lib = L.library()
        out, length = ctypes.c_void_p(), ctypes.c_size_t()
        with self._guard.exclusive() as handle:
            code = lib.dde_client_check_evidence(handle, text, len(text), encoded, len(encoded),
                                                 ctypes.byref(out), ctypes.byref(length))
            error = L.error_from_library(lib, code) if code != 0 else None
        return _verdict("dde_client_check_evidence", code, error, out, length)

    def delegate(self, spec: JSONInput, *, mode: str = "first_valid", quorum: Optional[int] = None,
                 fanout: int = 3, deadline_ms: int = 10000, critical: bool = False,
                 allow_fallback: bool = False, linger_ms: Optional[int] = None,
                 proven_after_successes: Optional[int] = None, error_target: Optional[float] = None,
                 liar_share: Optional[float] = None, audit_floor: Optional[float] = None,
                 pinned: Optional[Iterable[Union[BytesLike, str]]] = None,
                 share_evidence: Optional[bool] = None, encoder: Encoder = RawEncoder) -> DelegationReport:
        """Delegates one task and commits the accepted result; returns the report.

        ``spec`` is what ``Task.create`` takes, without ``state``: the task (taskVersion 2) carries
        the store's entries of ``spec["stateKeys"]`` with their proof against the dApp's current
        root (every key of a dApp of at most 64 keys when it names none), and is sent once more
        with every key the executors name when the execution reads keys it does not carry
        (``retried_with_keys`` in the report).
        ``mode`` (docs/PROTOCOL.md section 11):

        - "first_valid": the first valid proof wins (a consistent liar that answers first is
          committed);
        - "quorum": ``quorum`` executors (default 2) must agree (k fresh keys of one attacker
          can agree);
        - "audited": executors on probation are replicated, trusted ones audited at random after
          they answered, disagreements escalated to validated or pinned executors and proven
          liars blacklisted for good, keeping forged commits near ``error_target`` (default
          0.001, in (0, 1)) when at most ``liar_share`` (default 0.2, in [0, 1)) of executors
          lie; ``audit_floor`` (default 0.01, in [0, 1]) is the lowest audit probability. Without
          a pinned or validated executor the report's ``caveats`` say a Sybil majority could not
          be excluded.

        ``fanout`` executors are asked in the first two modes (at least the quorum); ``critical``
        asks only executors with ``proven_after_successes`` (default 3) successes, or fills up
        with unproven ones when ``allow_fallback``. ``pinned``: executors you run (32-byte keys;
        hex with ``encoder=dde.encoding.HexEncoder``): they audit and break ties first and their
        word decides a disagreement.
        ``share_evidence`` (default True): publish the evidence of a disagreement for other
        requesters. Blocks until a decision or ``deadline_ms``.

        When nothing is committed it raises, with the report in ``err.report`` when the
        delegation ran: NoResultError / QuorumNotReachedError (no acceptable answer in time; the
        report says who answered what), UnresolvedError (audited: proofs disagreed and no
        validated majority decided), a store or verification error from the commit;
        NoExecutorError when too few known executors fit (nothing was sent; ``err.report`` is
        None), TransportError, a DocumentError for a bad spec. Options are checked before the
        library is called: TypeError, or ArgumentError for a value out of range or an option of
        another mode.
        """
        text = json_text(spec, "spec")
        check_encoder(encoder)
        if not isinstance(mode, str):
            raise TypeError(f"mode must be str, not {type_name(mode)}")
        if mode not in _MODES:
            raise ArgumentError._raised_here(f"mode must be 'first_valid', 'quorum' or 'audited', not {mode!r}")
        options: Dict[str, Any] = {"mode": mode}
        if quorum is not None:
            if mode != "quorum":
                raise ArgumentError._raised_here("quorum is only for mode='quorum'")
            options["quorum"] = _count(quorum, "quorum", 1, MAX_EXECUTORS)
        for name, field, value, zero, one in (("error_target", "errorTarget", error_target, False, False),
                                              ("liar_share", "liarShare", liar_share, True, False),
                                              ("audit_floor", "auditFloor", audit_floor, True, True)):
            if value is not None:
                if mode != "audited":
                    raise ArgumentError._raised_here(f"{name} is only for mode='audited'")
                options[field] = _fraction(value, name, zero=zero, one=one)
        if pinned is not None:
            options["pinned"] = _pinned(pinned, encoder)
        if share_evidence is not None:
            options["shareEvidence"] = _flag(share_evidence, "share_evidence")
        options["fanout"] = _count(fanout, "fanout", 1, MAX_EXECUTORS)
        options["deadlineMs"] = _count(deadline_ms, "deadline_ms", 0, 2**53 - 1)
        options["critical"] = _flag(critical, "critical")
        options["allowFallback"] = _flag(allow_fallback, "allow_fallback")
        if linger_ms is not None:
            options["lingerMs"] = _count(linger_ms, "linger_ms", 0, 2**53 - 1)
        if proven_after_successes is not None:
            options["provenAfterSuccesses"] = _count(proven_after_successes, "proven_after_successes", 0, 2**53 - 1)
        encoded = json.dumps(options, separators=(",", ":")).encode("ascii")

        lib = L.library()
        out, length = ctypes.c_void_p(), ctypes.c_size_t()
        with self._guard.exclusive() as handle:
            code = lib.dde_client_delegate(handle, text, len(text), encoded, len(encoded),
                                           ctypes.byref(out), ctypes.byref(length))
            # dde_errmsg is per thread and per call: read it before anything else calls in.
            error = L.error_from_library(lib, code) if code != 0 else None
        raw = L.take_string(out, length) if out.value else None
        report = DelegationReport.from_json(raw) if raw else None
        if error is not None:
            error.report = report
            raise error
        if report is None:  # DDE_OK always comes with the report asked for
            raise InternalError._raised_here("dde_client_delegate returned DDE_OK without a report")
        return report

    # ---- Lifetime -------------------------------------------------------------------------------

    def close(self) -> None:
        """Waits for a call in flight, then flushes (at most 5 s), disconnects and closes the
        store. Idempotent; later use raises ClosedError.

        Raises TransportError when the broker did not acknowledge everything published in time
        (those messages may be lost), SQLiteError when closing the store failed; the client is
        closed all the same. Closing by garbage collection cannot report it."""
        code = self._guard.close()
        if code:
            raise L.error_from_library(L.library(), code)

    def __repr__(self) -> str:
        return "Client(closed)" if self.closed else "Client()"
