"""Receipts (docs/PROTOCOL.md section 8, docs/STORE.md): the requester's signed record that it
accepted one proof and moved its state from one node root to the next, as typed objects.

Hashes, ids, keys and signatures are raw bytes (``dde.encoding``); ``.json`` is the receipt's
canonical JSON (RFC 8785, hex as the library writes it) and ``to_dict()`` that JSON as a dict.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional, Tuple

from . import _abi
from ._convert import JSONInput, json_text
from ._records import Reader, canonical_json
from .canonical import canonicalize
from .errors import SchemaError, VersionError

__all__ = ["Assurance", "Receipt"]

_HASH = _abi.HASHBYTES
_KEY = _abi.PUBLICKEYBYTES
_SIG = _abi.SIGNATUREBYTES

_RECEIPT_FIELDS = ("receiptVersion", "assurance", "index", "timestamp", "identity", "dappId", "action", "taskId",
                   "inputHash", "capabilitiesDeclared", "capabilitiesUsed", "resultHash", "executionTraceHash",
                   "previousStateRoot", "nextStateRoot", "previousReceiptHash", "remote", "receiptHash",
                   "signature")


@dataclass(frozen=True)
class Assurance:
    """How a committed result was assured (the receipt's ``assurance``, docs/PROTOCOL.md
    section 8).

    ``how``: "first_valid" (nobody confirmed it), "quorum", or in the audited mode "unaudited"
    (a trusted executor, not drawn for audit), "replicated" (an executor on probation, re-run
    before the commit), "audited" (drawn for audit and re-run) or "escalated" (proofs disagreed;
    more executors decided); "direct" in receipts of ``Store.commit``. ``confirmed_by``: the
    executors (32-byte keys, sorted) whose signed proofs agreed with the committed one.
    ``validated``: a validated or pinned executor stood behind the result; False when only
    executors this requester has not validated agreed (a Sybil majority is not excluded).

    >>> Assurance.from_dict({"confirmedBy": ["ab" * 32], "how": "quorum", "validated": False}).confirmed_by[0][:2]
    b'\\xab\\xab'
    """

    how: str
    confirmed_by: Tuple[bytes, ...]
    validated: bool

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> "Assurance":
        """From its JSON form ``{"confirmedBy": [hex keys], "how", "validated"}``."""
        r = Reader(doc, "assurance")
        r.only(("confirmedBy", "how", "validated"))
        return cls(how=r.string("how"), confirmed_by=r.raws("confirmedBy", _KEY), validated=r.boolean("validated"))

    def to_dict(self) -> Dict[str, Any]:
        """Its JSON form, as in receipts and reports (keys in hex)."""
        return {"confirmedBy": [k.hex() for k in self.confirmed_by], "how": self.how, "validated": self.validated}


@dataclass(frozen=True, repr=False)
class Receipt:
    """One receipt of the chain: what ``Store.commit`` returns, ``Store.receipts()`` and
    ``Store.export()`` list and ``DelegationReport.receipt`` holds.

    ``version`` (receiptVersion: 3, whose state roots are over the dApps' v2 state tree roots; 2
    and 1 for older chains, 1 without ``assurance``), ``index`` (from
    0), ``timestamp`` (Unix ms of the commit), ``identity`` (the requester key that signs the
    chain), ``dapp_id``, ``action``, ``task_id``, ``input_hash``, ``capabilities_declared``,
    ``capabilities_used``, ``result_hash``, ``execution_trace_hash``, ``previous_state_root`` and
    ``next_state_root`` (node roots), ``previous_receipt_hash`` (None at index 0), the proof it
    accepted (the receipt's ``remote``): ``executor``, ``proof_hash`` (H(proof) with its
    signature), ``proof_signature``; ``assurance`` (an Assurance; None in a version 1 receipt),
    ``receipt_hash`` (H(receipt without receiptHash and signature)) and ``signature`` (the
    identity's, of kind "receipt", over receipt_hash). Every hash, key and signature is raw bytes.

    ``json`` is the canonical JSON, ``to_dict()`` the same as a dict.

    ``print(receipt.index, receipt.receipt_hash.hex(), receipt.assurance.how)``
    """

    version: int
    index: int
    timestamp: int
    identity: bytes
    dapp_id: str
    action: str
    task_id: bytes
    input_hash: bytes
    capabilities_declared: Tuple[str, ...]
    capabilities_used: Tuple[str, ...]
    result_hash: bytes
    execution_trace_hash: bytes
    previous_state_root: bytes
    next_state_root: bytes
    previous_receipt_hash: Optional[bytes]
    executor: bytes
    proof_hash: bytes
    proof_signature: bytes
    assurance: Optional[Assurance]
    receipt_hash: bytes
    signature: bytes
    json: bytes

    @classmethod
    def parse(cls, document: JSONInput) -> "Receipt":
        """Reads a receipt (its JSON text as bytes or str, or a dict), e.g. from an exported
        chain. Checks its shape (unknown, missing or mistyped fields: SchemaError; bad hex:
        EncodingError; a receiptVersion other than 1, 2 or 3: VersionError), not its hash or
        signature (``Store.verify_chain`` does, for a whole chain).

        ``receipt = Receipt.parse(line["receipt"])``
        """
        if isinstance(document, Receipt):
            return document
        text = canonicalize(json_text(document, "receipt"))  # the library's parser and limits
        return cls._from_dict(json.loads(text), text)

    @classmethod
    def _from_dict(cls, doc: Any, text: Optional[bytes] = None) -> "Receipt":
        """From the parsed JSON; ``text``: its canonical bytes when the caller has them."""
        r = Reader(doc, "receipt")
        r.only(_RECEIPT_FIELDS)
        version = r.integer("receiptVersion")
        if version not in (1, 2, 3):
            raise VersionError._raised_here(f"receipt.receiptVersion is {version}; this dde knows 1 to 3")
        if version == 1:
            if r.has("assurance"):
                raise SchemaError._raised_here('receipt: unknown field "assurance" in a version 1 receipt')
            assurance = None
        else:
            assurance = Assurance.from_dict(r.value("assurance"))
        remote = r.reader("remote")
        remote.only(("executorPublicKey", "proofHash", "proofSignature"))
        return cls(
            version=version,
            index=r.integer("index"),
            timestamp=r.integer("timestamp"),
            identity=r.raw("identity", _KEY),
            dapp_id=r.string("dappId"),
            action=r.string("action"),
            task_id=r.raw("taskId", _HASH),
            input_hash=r.raw("inputHash", _HASH),
            capabilities_declared=r.strings("capabilitiesDeclared"),
            capabilities_used=r.strings("capabilitiesUsed"),
            result_hash=r.raw("resultHash", _HASH),
            execution_trace_hash=r.raw("executionTraceHash", _HASH),
            previous_state_root=r.raw("previousStateRoot", _HASH),
            next_state_root=r.raw("nextStateRoot", _HASH),
            previous_receipt_hash=r.optional_raw("previousReceiptHash", _HASH),
            executor=remote.raw("executorPublicKey", _KEY),
            proof_hash=remote.raw("proofHash", _HASH),
            proof_signature=remote.raw("proofSignature", _SIG),
            assurance=assurance,
            receipt_hash=r.raw("receiptHash", _HASH),
            signature=r.raw("signature", _SIG),
            json=text if text is not None else canonical_json(doc),
        )

    def to_dict(self) -> Dict[str, Any]:
        """The receipt's JSON as a dict (a new one each call)."""
        return json.loads(self.json)

    def __repr__(self) -> str:
        return (f"Receipt(index={self.index}, task_id={self.task_id.hex()[:16]}..., "
                f"executor={self.executor.hex()[:16]}..., receipt_hash={self.receipt_hash.hex()[:16]}...)")
