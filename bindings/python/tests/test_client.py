"""dde.Client against a real network: a Mosquitto broker on a free 127.0.0.1 port (started by
scripts/broker.sh, the helper every suite uses) and two `dde node` executor processes, all
started here (bounded waits) and stopped in the fixtures' teardown. The `dde` command comes from
$DDE_BIN (scripts/test-python.sh builds it)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
import rfc8785

import dde
from dde.encoding import HexEncoder

from conftest import REPO

BROKER = REPO / "scripts" / "broker.sh"
DDE_BIN = os.environ.get("DDE_BIN", "")
# "stateKeys": the counter touches one key; declared, the first task carries it (docs/PROTOCOL.md 11).
SPEC = {"dappId": "counter", "action": "increment", "requiredCapabilities": ["state.read", "state.write"],
        "stateKeys": ["count"]}


def free_port() -> int:
    """A port nothing listens on now (for the "no broker there" tests)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what: str, condition, timeout: float = 20.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def bounded(function, timeout: float):
    """Runs function in a thread; fails the test (instead of hanging it) if it takes too long.
    Returns (value, exception)."""
    box = {}

    def run():
        try:
            box["value"] = function()
        except BaseException as e:  # noqa: BLE001 (handed to the test)
            box["error"] = e

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), f"still running after {timeout} s"
    return box.get("value"), box.get("error")


class Network:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.processes = []

    def start(self) -> None:
        assert DDE_BIN and os.access(DDE_BIN, os.X_OK), \
            "set DDE_BIN to the dde command (scripts/test-python.sh builds it with swift build --product dde)"
        # The broker: scripts/broker.sh prints "port N pid P" once Mosquitto listens (it answers
        # or gives up, saying why on stderr, within 50 s).
        broker = subprocess.Popen(["bash", str(BROKER), str(self.root)], stdout=subprocess.PIPE,
                                  stdin=subprocess.DEVNULL, text=True)
        self.processes.append(broker)
        line, _ = bounded(broker.stdout.readline, 60)
        fields = (line or "").split()
        assert len(fields) == 4 and fields[0] == "port", \
            f"no broker: scripts/broker.sh did not report a port within 60 s ({line!r}); " \
            f"log: {(self.root / 'broker.log').read_text() if (self.root / 'broker.log').exists() else ''}"
        self.port = int(fields[1])
        self.url = f"mqtt://127.0.0.1:{self.port}"

        # The counter module, by hash (the nodes have no code: they fetch it from the broker).
        code = self.root / "code"
        added = subprocess.run([DDE_BIN, "code", "add", str(REPO / "examples" / "dapps" / "counter.wat"),
                                "--code", str(code)], capture_output=True, text=True, timeout=120, check=True)
        self.code_hash = added.stdout.strip()
        self.module = (code / f"{self.code_hash}.wasm").read_bytes()

        self.nodes = {}
        for name in ("alpha", "bravo"):
            key = self.root / f"{name}.key"
            dde.KeyPair.generate().save(key)
            self.nodes[name] = dde.KeyPair.load(key).public_key  # 32 bytes, as the reports name them
            self.spawn([DDE_BIN, "node", "--broker", self.url, "--key", str(key),
                        "--code", str(self.root / f"code-{name}"), "--name", name], f"{name}.log")
        for name in self.nodes:
            log = self.root / f"{name}.log"
            wait_for(f"node {name}", lambda: log.exists() and "ready" in log.read_text())

    def spawn(self, argv, log: str) -> None:
        with open(self.root / log, "wb") as out:
            self.processes.append(subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                                   stdin=subprocess.DEVNULL))

    def stop(self) -> None:
        # The nodes first, then the broker (the first process): on SIGTERM a node clears its
        # presence through the broker, and with the broker gone it would wait out its flush.
        for group in (self.processes[1:], self.processes[:1]):
            for p in group:
                if p.poll() is None:
                    p.terminate()
            for p in group:
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(timeout=10)
                if p.stdout is not None:
                    p.stdout.close()


@pytest.fixture(scope="module")
def network(tmp_path_factory):
    net = Network(tmp_path_factory.mktemp("network"))
    try:
        net.start()
        yield net
    finally:
        net.stop()


@pytest.fixture
def key():
    with dde.KeyPair.generate() as k:  # a key per test: one MQTT session per requester
        yield k


@pytest.fixture
def client(network, key, tmp_path):
    with dde.Client.connect(network.url, tmp_path / "requester.db", key) as c:
        c.publish_code(network.module)
        assert c.discover(2000) == 2  # as a requester does once after connecting
        yield c


def spec(network, **extra):
    return {**SPEC, "dappCodeHash": network.code_hash, **extra}


def check_report(report):
    """A DelegationReport's typed fields against the library's JSON (report.json): ids and keys
    as bytes, the receipt a dde.Receipt, the failure a dde.Failure."""
    doc = json.loads(report.json)
    assert report.to_dict() == doc
    assert type(report.task_id) is bytes and report.task_id == bytes.fromhex(doc["taskId"])
    assert report.mode == doc["mode"]
    assert report.asked == tuple(bytes.fromhex(k) for k in doc["asked"])
    assert [(a.executor, a.verdict, a.status, a.latency_ms, a.detail) for a in report.answers] == [
        (None if a["executor"] is None else bytes.fromhex(a["executor"]), a["verdict"], a["status"], a["latencyMs"],
         a["detail"]) for a in doc["answers"]]
    if doc["receipt"] is None:
        assert report.receipt is None and not report.committed
    else:
        assert isinstance(report.receipt, dde.Receipt) and report.committed
        assert report.receipt.to_dict() == doc["receipt"] and report.receipt.json == rfc8785.dumps(doc["receipt"])
        assert report.receipt.task_id == report.task_id
    if doc["failure"] is None:
        assert report.failure is None
    else:
        assert isinstance(report.failure, dde.Failure)
        assert (report.failure.name, report.failure.message) == (doc["failure"]["code"], doc["failure"]["message"])
        assert dde.error_class(report.failure.code).NAME == report.failure.name
    if doc["assurance"] is None:
        assert report.assurance is None
    else:
        assert report.assurance.to_dict() == doc["assurance"]
        assert report.receipt.assurance == report.assurance
    assert report.result == doc["result"] and report.caveats == tuple(doc["caveats"])
    assert report.evidence_ids == tuple(doc["evidenceIds"])


# ---- Delegation -------------------------------------------------------------------------------

def test_reports_are_read_into_typed_objects(tmp_path):
    # Offline: reports as dde_client_delegate writes them (dde.h), one committed (a real receipt
    # from a store) and one failed, read by DelegationReport.from_json.
    from protocol import make_result, make_task, key_pair
    (r_key, _), (e_key, e_pub) = key_pair(1), key_pair(2)
    task = make_task(r_key, capabilities=["state.write"])
    result = make_result(task, e_key, writes={"count": b"1"}, result={"count": 1})
    with dde.Store(tmp_path / "r.db") as store, dde.Task.parse(task) as t, dde.KeyPair.from_seed(bytes([1]) * 32) as k:
        receipt = store.commit(t, result, k, now_ms=1764000000000)
    other = bytes([9]) * 32
    assurance = receipt.to_dict()["assurance"]  # the report's is the receipt's
    committed = {"answers": [{"detail": "", "executor": e_pub.hex(), "latencyMs": 12, "status": "DDE_OK",
                              "verdict": "accepted"},
                             {"detail": "late", "executor": None, "latencyMs": 0, "status": "DDE_ERR_PROOF_SIGNATURE",
                              "verdict": "unattributed"}],
                 "asked": [e_pub.hex(), other.hex()], "assurance": assurance, "caveats": ["no pinned executor"],
                 "evidenceIds": [3], "failure": None, "mode": "quorum", "receipt": receipt.to_dict(),
                 "result": {"count": 1}, "taskId": task["taskId"]}
    report = dde.DelegationReport.from_json(rfc8785.dumps(committed))
    check_report(report)
    assert report.receipt == receipt and report.committed and report.evidence_ids == (3,)
    assert report.answers[0] == dde.Answer(executor=e_pub, verdict="accepted", status="DDE_OK", latency_ms=12, detail="")
    assert report.answers[1].executor is None
    assert report.assurance == dde.Assurance(how="direct", confirmed_by=(), validated=False)
    assert dde.Assurance.from_dict({"confirmedBy": [other.hex()], "how": "quorum", "validated": True}) == \
        dde.Assurance(how="quorum", confirmed_by=(other,), validated=True)
    failed = {**committed, "receipt": None, "result": None, "assurance": None, "caveats": [], "evidenceIds": [],
              "failure": {"code": "DDE_ERR_QUORUM_NOT_REACHED", "message": "1 of 2 agreed"}}
    report = dde.DelegationReport.from_json(rfc8785.dumps(failed))
    check_report(report)
    assert report.failure == dde.Failure(code=dde.QuorumNotReachedError.CODE, name="DDE_ERR_QUORUM_NOT_REACHED",
                                         message="1 of 2 agreed")
    unknown = {**failed, "failure": {"code": "DDE_ERR_FROM_THE_FUTURE", "message": "?"}}
    assert dde.DelegationReport.from_json(rfc8785.dumps(unknown)).failure.code == -1
    with pytest.raises(AttributeError):
        report.task_id = b""



def test_publish_code_returns_the_modules_hash(client, network):
    assert client.publish_code(network.module) == dde.sha256(network.module) == bytes.fromhex(network.code_hash)
    assert client.publish_code(network.module, encoder=HexEncoder) == network.code_hash  # a spec's dappCodeHash


def test_discover_finds_both_nodes(network, key, tmp_path):
    with dde.Client.connect(network.url, tmp_path / "r.db", key) as c:
        assert c.discover(0) in (0, 1, 2)  # 0 ms: only what already arrived
        assert c.discover(2000) == 2


def test_a_key_the_task_does_not_carry_costs_one_retry(client, network):
    # No stateKeys and an empty dApp: the first task carries nothing, the counter reads "count",
    # both executors refuse naming it, and the second task carries it.
    undeclared = {k: v for k, v in spec(network).items() if k != "stateKeys"}
    report = client.delegate(undeclared, fanout=2)
    assert report.committed and report.result == {"count": 1}
    assert report.retried_with_keys == (b"count",)
    refusals = [a for a in report.answers if a.status == "DDE_ERR_STATE_KEY_OUTSIDE"]
    assert len(refusals) == 2 and all(a.detail == "count" for a in refusals)


def test_delegate_commits_and_the_chain_head_advances(client, network, tmp_path):
    receipts = []
    for n in (1, 2, 3):
        report = client.delegate(spec(network), fanout=2)
        assert isinstance(report, dde.DelegationReport) and report.committed and report.failure is None
        check_report(report)
        assert report.mode == "first_valid" and len(report.task_id) == 32
        assert report.retried_with_keys == ()
        assert sorted(report.asked) == sorted(network.nodes.values())
        assert report.result == {"count": n}
        verdicts = [a.verdict for a in report.answers]
        assert verdicts.count("accepted") == 1
        accepted = next(a for a in report.answers if a.verdict == "accepted")
        assert accepted.executor in network.nodes.values() and accepted.status == "DDE_OK"
        assert accepted.latency_ms >= 0
        assert report.receipt.task_id == report.task_id and report.receipt.index == n - 1
        assert report.receipt.executor == accepted.executor
        receipts.append(report.receipt)
    # The store behind the client (SQLite: another connection may read it meanwhile).
    with dde.Store(tmp_path / "requester.db") as store:
        head = store.head()
        assert head.count == 3 and head.receipt_hash == receipts[-1].receipt_hash
        assert store.verify_chain() == 3
        exported = store.export()
    assert [entry.receipt for entry in exported] == receipts
    # Each committed compute_result, as a dde.Result, verifies against its task.
    for entry, n in zip(exported, (1, 2, 3)):
        result = entry.result
        with dde.Task.parse(entry.task) as task:
            assert result.verify(task) is None
            assert dde.verify(task, result) is None
        assert result.task_id == entry.receipt.task_id
        assert result.result == {"count": n}
        assert result.state_writes == {"count": str(n).encode()}
        assert result.executor in network.nodes.values()


def test_quorum_of_two_commits(client, network, tmp_path):
    report = client.delegate(spec(network), mode="quorum", quorum=2, fanout=2)
    assert report.committed and report.mode.startswith("quorum") and report.result == {"count": 1}
    check_report(report)
    verdicts = sorted(a.verdict for a in report.answers)
    assert verdicts == ["accepted", "agreed"]
    assert {a.executor for a in report.answers} == set(network.nodes.values())
    with dde.Store(tmp_path / "requester.db") as store:
        assert store.head().count == 1 and store.verify_chain() == 1


def test_audited_delegations_commit_with_their_assurance(client, network, tmp_path):
    # Two fresh executors: the one asked first is on probation, so the other re-runs the task;
    # they agree and the result commits, but nobody validated stood behind it (the caveats).
    report = client.delegate(spec(network), mode="audited", error_target=0.01, liar_share=0.1)
    assert report.committed and report.mode == "audited" and report.result == {"count": 1}
    assert report.failure is None and len(report.asked) == 2
    assurance = report.assurance
    assert isinstance(assurance, dde.Assurance)
    assert assurance.how == "replicated" and assurance.validated is False
    assert len(assurance.confirmed_by) == 1 and assurance.confirmed_by[0] in network.nodes.values()
    assert assurance.confirmed_by[0] != report.receipt.executor
    check_report(report)
    assert sorted(a.verdict for a in report.answers) == ["accepted", "agreed"]
    assert report.caveats and all(isinstance(c, str) and c for c in report.caveats)
    assert any("Sybil" in c for c in report.caveats)
    # The receipt (receiptVersion 3) records the same assurance.
    assert report.receipt.version == 3 and report.receipt.assurance == assurance
    assert report.receipt.to_dict()["assurance"] == {"how": assurance.how,
                                                     "confirmedBy": [k.hex() for k in assurance.confirmed_by],
                                                     "validated": assurance.validated}
    assert json.loads(report.json)["assurance"] == report.receipt.to_dict()["assurance"]

    # Pinning an executor we run: it confirms, so the result is validated and nothing is missing.
    alpha = network.nodes["alpha"]
    report = client.delegate(spec(network), mode="audited", pinned=[alpha], share_evidence=False)
    assert report.committed and report.result == {"count": 2}
    assert report.assurance.validated is True and len(report.assurance.confirmed_by) == 1
    # Whichever answered first is committed; the other confirms it: the pinned one is among them.
    signer = report.receipt.executor
    assert {signer, *report.assurance.confirmed_by} == set(network.nodes.values())
    assert report.caveats == ()
    assert report.receipt.assurance.validated is True

    # The options' edges (auditFloor 1: audit every answer; no liars assumed) are accepted.
    # (the pinned key in hex, as a config file may hold it)
    report = client.delegate(spec(network), mode="audited", audit_floor=1, liar_share=0, pinned=[alpha.hex()],
                             encoder=HexEncoder)
    assert report.committed and report.result == {"count": 3}
    assert report.assurance.how in ("replicated", "audited") and report.assurance.confirmed_by

    # Other modes report their assurance too; "direct" is only for store.commit.
    report = client.delegate(spec(network), fanout=2)
    assert report.assurance == dde.Assurance(how="first_valid", confirmed_by=(), validated=False)
    assert report.caveats == ()
    with dde.Store(tmp_path / "requester.db") as store:
        assert store.verify_chain() == 4
        assert [r.assurance.how for r in store.receipts()][-1] == "first_valid"


def test_evidence_is_checked_by_executors_the_client_trusts(client, network, tmp_path):
    # A task of the counter dApp and two signed proofs for it: the honest one from `dde exec`,
    # and a consistent lie signed in Python. The client cannot execute anything itself; it has
    # the nodes re-run the task (alpha pinned), and blacklists only the liar.
    from nacl.signing import SigningKey
    from protocol import make_task, make_result, H
    requester = SigningKey(bytes([7]) * 32)
    task = make_task(requester, code_hash=network.code_hash, capabilities=["state.read", "state.write"],
                     state={"count": b"41"})
    (tmp_path / "task.json").write_text(json.dumps(task))
    subprocess.run([DDE_BIN, "keygen", "-o", str(tmp_path / "honest.key")], check=True, capture_output=True)
    code = tmp_path / "code"
    subprocess.run([DDE_BIN, "code", "add", "--code", str(code), str(REPO / "examples" / "dapps" / "counter.wat")],
                   check=True, capture_output=True)
    honest = json.loads(subprocess.run([DDE_BIN, "exec", "--code", str(code), "--key", str(tmp_path / "honest.key"),
                                        str(tmp_path / "task.json")], check=True, capture_output=True).stdout)
    liar = SigningKey(bytes([9]) * 32)
    lie = make_result(task, liar, result={"count": 1042}, writes={"count": b"1042"}, used=["state.read", "state.write"])
    doc = {"evidenceVersion": 1, "proofs": sorted([honest["proof"], lie["proof"]], key=H), "task": task}
    with pytest.raises(dde.EvidenceUnjudgedError):
        dde.check_evidence(doc)  # on its own the document cannot say who lied
    verdict = client.check_evidence(doc, pinned=[network.nodes["alpha"]], deadline_ms=10000)
    liar_key = liar.verify_key.encode()
    assert verdict.liars == (liar_key,) and verdict.how == "reexecution"
    with dde.Store(tmp_path / "requester.db") as store:
        assert store.reputation.is_blacklisted(liar_key)
        assert not store.reputation.is_blacklisted(bytes.fromhex(honest["proof"]["executorPublicKey"]))
        assert store.head().count == 0, "checking evidence commits nothing"


def test_audited_options_are_checked_before_the_library(network, key, tmp_path):
    # A closed client: whatever reaches the library raises ClosedError, so every other error
    # here was raised in Python, before the call.
    c = dde.Client.connect(network.url, tmp_path / "r.db", key)
    c.close()
    nodes = list(network.nodes.values())
    for options in [{"mode": "audited", "error_target": 0}, {"mode": "audited", "error_target": 1},
                    {"mode": "audited", "error_target": -0.5}, {"mode": "audited", "error_target": float("nan")},
                    {"mode": "audited", "error_target": float("inf")}, {"mode": "audited", "liar_share": 1.0},
                    {"mode": "audited", "liar_share": -0.01}, {"mode": "audited", "audit_floor": 1.5},
                    {"mode": "audited", "audit_floor": -1},
                    {"error_target": 0.01}, {"mode": "quorum", "liar_share": 0.1}, {"audit_floor": 0.5},
                    {"mode": "audited", "quorum": 2},
                    {"mode": "audited", "pinned": ["zz" * 32], "encoder": HexEncoder},
                    {"mode": "audited", "pinned": ["ab" * 31], "encoder": HexEncoder},
                    {"mode": "audited", "pinned": [bytes(31)]}, {"mode": "audited", "pinned": [bytes(33)]},
                    {"mode": "audited", "pinned": [bytes([i]) * 32 for i in range(65)]}]:
        with pytest.raises(dde.ArgumentError) as caught:
            c.delegate(spec(network), **options)
        assert not isinstance(caught.value, dde.ClosedError), options
    for options in [{"mode": "audited", "error_target": "0.01"}, {"mode": "audited", "error_target": True},
                    {"mode": "audited", "liar_share": [0.1]}, {"mode": "audited", "pinned": nodes[0]},
                    {"mode": "audited", "pinned": bytes(32)}, {"mode": "audited", "pinned": [1]},
                    {"mode": "audited", "pinned": 7}, {"mode": "audited", "share_evidence": 1},
                    {"mode": "audited", "pinned": [nodes[0].hex()]},            # hex only with HexEncoder
                    {"mode": "audited", "pinned": [nodes[0]], "encoder": None},
                    {"mode": "audited", "share_evidence": "yes"}]:
        with pytest.raises(TypeError):
            c.delegate(spec(network), **options)
    # Valid options reach the library, which finds the client closed.
    for options in [{"mode": "audited"}, {"mode": "audited", "error_target": 1e-6, "liar_share": 0, "audit_floor": 1,
                                          "pinned": nodes + [bytearray(nodes[0])], "share_evidence": False},
                    {"mode": "audited", "pinned": [k.hex() for k in nodes], "encoder": HexEncoder},
                    {"mode": "quorum", "pinned": nodes}, {"share_evidence": True}]:
        with pytest.raises(dde.ClosedError):
            c.delegate(spec(network), **options)


def test_no_executor_when_the_quorum_exceeds_the_executors(client, network, tmp_path):
    with pytest.raises(dde.NoExecutorError) as caught:
        client.delegate(spec(network), mode="quorum", quorum=3, fanout=3)
    assert caught.value.code == 105 and "needs 3 executors" in caught.value.message
    assert caught.value.report is None  # nothing was sent
    with dde.Store(tmp_path / "requester.db") as store:
        assert store.head().count == 0


def test_no_result_carries_the_report(client, network, tmp_path):
    # Code nobody holds or publishes: the executors cannot run it, nothing valid comes in time.
    missing = dde.sha256(b"no such module").hex()
    with pytest.raises(dde.NoResultError) as caught:
        client.delegate({**SPEC, "dappCodeHash": missing}, fanout=2, deadline_ms=2000)
    report = caught.value.report
    assert isinstance(report, dde.DelegationReport) and not report.committed
    assert report.failure.name == "DDE_ERR_NO_RESULT" and report.receipt is None and report.result is None
    assert report.failure.code == dde.NoResultError.CODE and report.failure.message
    check_report(report)
    assert sorted(report.asked) == sorted(network.nodes.values())
    assert all(a.verdict in ("error", "timeout") for a in report.answers)
    with dde.Store(tmp_path / "requester.db") as store:
        assert store.head().count == 0


def test_transport_error_for_an_unreachable_broker(key, tmp_path):
    url = f"mqtt://127.0.0.1:{free_port()}"  # nothing listens there
    started = time.monotonic()
    value, error = bounded(lambda: dde.Client.connect(url, tmp_path / "r.db", key), timeout=30)
    assert value is None and isinstance(error, dde.TransportError), error
    assert error.code == 100 and error.message
    assert time.monotonic() - started < 30


def test_malformed_url_is_refused_and_creates_no_store(key, tmp_path):
    with pytest.raises(dde.ArgumentError):
        dde.Client.connect("http://127.0.0.1:1883", tmp_path / "r.db", key)
    assert not (tmp_path / "r.db").exists()


def test_tls_options_that_cannot_work_are_refused_before_anything_is_made(key, tmp_path):
    db = tmp_path / "r.db"
    refused = [
        ("mqtt://127.0.0.1:1", dict(ca_file="ca.crt"), "use an mqtts:// broker URL"),
        ("mqtt://127.0.0.1:1", dict(username="u", password_file="pw"), "clear text"),
        ("mqtts://127.0.0.1:1", dict(password_env="PW"), "a password needs a user name"),
        ("mqtts://127.0.0.1:1", dict(cert_file="c.crt"), "give both"),
        ("mqtts://127.0.0.1:1", dict(psk_file="k.psk", ca_file="ca.crt"), "not both"),
        ("mqtts://127.0.0.1:1", dict(client_id="x" * 65), "client id"),
    ]
    for url, options, why in refused:
        with pytest.raises(dde.ArgumentError, match=why):
            dde.Client.connect(url, db, key, **options)
    with pytest.raises(dde.ArgumentError, match="connect_timeout_ms"):
        dde.Client.connect("mqtts://127.0.0.1:1", db, key, connect_timeout_ms=0)
    with pytest.raises(TypeError):
        dde.Client.connect("mqtts://127.0.0.1:1", db, key, username=b"u")
    with pytest.raises(TypeError):
        dde.Client.connect("mqtts://127.0.0.1:1", db, key, ca_file=1)
    assert not db.exists()


def test_tls_file_errors_name_the_file(key, tmp_path):
    missing = tmp_path / "missing.crt"
    with pytest.raises(dde.FileError, match=f"cannot read the CA file {missing}"):
        dde.Client.connect("mqtts://127.0.0.1:1", tmp_path / "r.db", key, ca_file=missing)
    with pytest.raises(dde.ArgumentError, match="DDE_TEST_UNSET_PASSWORD"):
        dde.Client.connect("mqtts://127.0.0.1:1", tmp_path / "r.db", key, username="u",
                           password_env="DDE_TEST_UNSET_PASSWORD")


def test_tls_to_a_plain_broker_is_a_transport_error_naming_tls(network, key, tmp_path):
    url = network.url.replace("mqtt://", "mqtts://")
    value, error = bounded(lambda: dde.Client.connect(url, tmp_path / "r.db", key, connect_timeout_ms=5000), timeout=30)
    assert value is None and isinstance(error, dde.TransportError), error
    assert "TLS with the MQTT broker" in error.message, error.message


def test_closed_client_raises_closed_error(network, key, tmp_path):
    c = dde.Client.connect(network.url, tmp_path / "r.db", key)
    assert not c.closed
    c.close()
    c.close()  # idempotent
    assert c.closed and repr(c) == "Client(closed)"
    with pytest.raises(dde.ClosedError):
        c.publish_code(b"\0asm")
    with pytest.raises(dde.ClosedError):
        c.discover(10)
    with pytest.raises(dde.ClosedError):
        c.delegate(spec(network))
    with dde.Client.connect(network.url, tmp_path / "r2.db", key) as c2:
        pass
    with pytest.raises(dde.ClosedError):
        c2.discover(10)


def test_a_closed_key_is_refused(network, tmp_path):
    k = dde.KeyPair.generate()
    k.close()
    with pytest.raises(dde.ClosedError):
        dde.Client.connect(network.url, tmp_path / "r.db", k)


def test_wrong_types_raise_type_error(client, network, key, tmp_path):
    with pytest.raises(TypeError):
        dde.Client()
    for args in [(None, tmp_path / "r.db", key), (b"mqtt://x", tmp_path / "r.db", key),
                 (network.url, None, key), (network.url, tmp_path / "r.db", key.secret_key),
                 (network.url, tmp_path / "r.db", None)]:
        with pytest.raises(TypeError):
            dde.Client.connect(*args)
    with pytest.raises(TypeError):
        client.publish_code("module")
    with pytest.raises(TypeError):
        client.publish_code(None)
    with pytest.raises(TypeError):
        client.discover("1000")
    with pytest.raises(TypeError):
        client.discover(1.5)
    with pytest.raises(TypeError):
        client.delegate(None)
    for options in [{"mode": 1}, {"fanout": "2"}, {"deadline_ms": 1.0}, {"critical": 1},
                    {"allow_fallback": "yes"}, {"mode": "quorum", "quorum": True}]:
        with pytest.raises(TypeError):
            client.delegate(spec(network), **options)


def test_bad_values_raise_argument_error(client, network):
    for options in [{"mode": "fastest"}, {"quorum": 2}, {"mode": "quorum", "quorum": 0},
                    {"fanout": 0}, {"fanout": 65}, {"deadline_ms": -1}]:
        with pytest.raises(dde.ArgumentError):
            client.delegate(spec(network), **options)
    with pytest.raises(dde.ArgumentError):
        client.discover(-1)
    with pytest.raises(dde.ArgumentError):
        client.discover(2**32)


def test_a_bad_spec_is_a_document_error(client):
    with pytest.raises(dde.JSONError):
        client.delegate(b"{not json")
    with pytest.raises(dde.SchemaError):
        client.delegate({"dappId": "counter"})


# ---- examples/python/delegate.py ------------------------------------------------------------

EXAMPLE = REPO / "examples" / "python" / "delegate.py"


def run_example(cwd, *args):
    import sys
    return subprocess.run([sys.executable, str(EXAMPLE), *map(str, args)], capture_output=True, text=True,
                          timeout=120, cwd=cwd, env=dict(os.environ))


def test_example_delegates_and_verifies_the_chain(network, tmp_path):
    import re
    module = tmp_path / "counter.wasm"
    module.write_bytes(network.module)
    done = run_example(tmp_path, "--broker", network.url, module, "--count", "3")
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "created key requester.key" and (tmp_path / "requester.key").exists()
    assert f"2 executor(s) on {network.url}" in lines
    assert [line for line in lines if line.startswith("task ")] == ["task 1: DDE_OK", "task 2: DDE_OK", "task 3: DDE_OK"]
    assert len([line for line in lines if re.match(r"  executor [0-9a-f]{8}  accepted +\d+ ms  DDE_OK$", line)]) == 3
    assert [line for line in lines if line.startswith("  result ")] == [f'  result {{"count":{n}}}' for n in (1, 2, 3)]
    with dde.Store(tmp_path / "requester.db") as store:
        head = store.head()
        receipts = [r.to_dict() for r in store.receipts()]
    assert [line for line in lines if line.startswith("  receipt ")] == \
        [f"  receipt {json.dumps(r, sort_keys=True, separators=(',', ':'))}" for r in receipts]
    assert f"chain head: 3 receipts, last {head.receipt_hash.hex()}, state root {head.state_root.hex()}" in lines
    assert lines[-1] == "chain verified: 3 receipts"
    # The next run reuses the key and continues the chain; quorum mode works from the command line.
    done = run_example(tmp_path, "--broker", network.url, module, "--mode", "quorum", "--quorum", "2")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "created key" not in done.stdout and '  result {"count":4}' in done.stdout
    assert done.stdout.splitlines()[-1] == "chain verified: 4 receipts"


def test_example_exit_codes(network, tmp_path):
    module = tmp_path / "counter.wasm"
    module.write_bytes(network.module)
    done = run_example(tmp_path, "--broker", f"mqtt://127.0.0.1:{free_port()}", module)
    assert done.returncode == dde.TransportError.CODE and "DDE_ERR_TRANSPORT" in done.stderr
    done = run_example(tmp_path, "--broker", network.url, module, "--fanout", "3", "--mode", "quorum", "--quorum", "3")
    assert done.returncode == dde.NoExecutorError.CODE and "DDE_ERR_NO_EXECUTOR" in done.stderr
    assert run_example(tmp_path, module).returncode == 2  # --broker is required


def test_a_dropped_client_is_freed_by_its_finalizer(network, key, tmp_path):
    import gc
    c = dde.Client.connect(network.url, tmp_path / "r.db", key)
    guard = c._guard
    del c
    gc.collect()
    assert not guard._finalizer.alive  # dde_client_free ran
    # The store file was closed: another client opens it and the session is free again.
    with dde.Client.connect(network.url, tmp_path / "r.db", key) as c2:
        assert c2.discover(2000) == 2
