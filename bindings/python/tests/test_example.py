"""examples/python/verify_task.py end to end: keygen, create, verify (valid and forged), commit."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import rfc8785

import dde

from conftest import REPO
from protocol import make_result, mutate_proof

EXAMPLE = REPO / "examples" / "python" / "verify_task.py"


def run(*args):
    return subprocess.run([sys.executable, str(EXAMPLE), *map(str, args)], capture_output=True,
                          text=True, timeout=60, env=dict(os.environ))


def test_three_steps(tmp_path, executor):
    e_key, _ = executor
    key = tmp_path / "requester.key"
    done = run("keygen", key)
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert bytes.fromhex(done.stdout.strip()) == dde.KeyPair.load(key).public_key

    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"dappId": "counter", "dappCodeHash": "ab" * 32, "action": "increment",
                                "requiredCapabilities": ["state.read", "state.write"], "state": {"count": "NDE="}}))
    done = run("create", key, spec)
    assert done.returncode == 0, done.stderr
    task_file = tmp_path / "task.json"
    task_file.write_text(done.stdout)
    document = json.loads(done.stdout)
    assert document["requesterPublicKey"] == dde.KeyPair.load(key).public_key.hex()

    result = make_result(document, e_key, writes={"count": b"42"})
    result_file = tmp_path / "result.json"
    result_file.write_bytes(rfc8785.dumps(result))
    done = run("verify", task_file, result_file)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"VALID task {document['taskId']}"

    result_file.write_bytes(rfc8785.dumps(mutate_proof(result, e_key, fuelUsed=2 * 10**9)))
    done = run("verify", task_file, result_file)
    assert done.returncode == dde.FuelExceededError.CODE
    assert done.stdout.startswith(f"INVALID task {document['taskId']}: DDE_ERR_FUEL_EXCEEDED")

    # The optional fourth step: commit a valid result to a store. This task starts from a state
    # (count 41) that a new store's dApp does not hold: stale.
    result_file.write_bytes(rfc8785.dumps(result))
    store = tmp_path / "node.db"
    done = run("commit", store, key, task_file, result_file)
    assert done.returncode == dde.StaleError.CODE and "DDE_ERR_STALE" in done.stderr
    # One made on the empty state commits, once.
    spec.write_text(json.dumps({"dappId": "counter", "dappCodeHash": "ab" * 32, "action": "increment",
                                "requiredCapabilities": ["state.write"]}))
    done = run("create", key, spec)
    assert done.returncode == 0, done.stderr
    task_file.write_text(done.stdout)
    document = json.loads(done.stdout)
    result_file.write_bytes(rfc8785.dumps(make_result(document, e_key, writes={"count": b"1"})))
    done = run("commit", store, key, task_file, result_file)
    assert done.returncode == 0, done.stderr
    with dde.Store(store) as s:
        head = s.head()
        assert head.count == 1 and s.verify_chain() == 1
    assert done.stdout.splitlines() == [
        f"COMMITTED task {document['taskId']} as receipt 0 {head.receipt_hash.hex()}",
        f"chain: 1 receipts, state root {head.state_root.hex()}, 1 verified"]
    done = run("commit", store, key, task_file, result_file)
    assert done.returncode == dde.DuplicateTaskError.CODE and "DDE_ERR_DUPLICATE" in done.stderr


def test_usage_and_errors(tmp_path):
    assert run().returncode == 2
    assert run("verify", "only-one").returncode == 2
    done = run("create", tmp_path / "missing.key", tmp_path / "spec.json")  # the spec is read first
    assert done.returncode == dde.FileError.CODE and "No such file" in done.stderr
    (tmp_path / "spec.json").write_text("{}")
    done = run("create", tmp_path / "missing.key", tmp_path / "spec.json")
    assert done.returncode == dde.FileError.CODE and "DDE_ERR_IO" in done.stderr
    dde.KeyPair.generate().save(tmp_path / "k.key")
    done = run("create", tmp_path / "k.key", tmp_path / "spec.json")
    assert done.returncode == dde.SchemaError.CODE and "DDE_ERR_SCHEMA" in done.stderr
