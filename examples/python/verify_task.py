#!/usr/bin/env python3
"""verify_task: what a requester does with dde, in three steps (the Python twin of
examples/c/verify_task.c).

    verify_task.py keygen KEYFILE              create the requester's key (mode 0600)
    verify_task.py create KEYFILE SPEC.json    create and sign a task; print it (send this)
    verify_task.py verify TASK.json RESULT.json
                                               verify an executor's compute_result; print the verdict
    verify_task.py commit STORE.db KEYFILE TASK.json RESULT.json
                                               (optional) verify again and append the receipt to the
                                               chain in STORE.db; print the chain head

Needs the dde package (pip install bindings/python) and libdde.so (DDE_LIBRARY=build/host/lib/libdde.so).
Exit status: 0 on success or a valid result; otherwise the DDE_ERR_* code.
"""

from __future__ import annotations

import sys
from pathlib import Path

import dde


def keygen(key_path: str) -> int:
    with dde.KeyPair.generate() as key:  # the secret is wiped when the block ends
        key.save(key_path)
        print(key.public_key.hex())
    return 0


def create(key_path: str, spec_path: str) -> int:
    spec = Path(spec_path).read_bytes()
    with dde.KeyPair.load(key_path) as key, dde.Task.create(spec, key) as task:
        sys.stdout.buffer.write(task.json + b"\n")
    return 0


def verify(task_path: str, result_path: str) -> int:
    with dde.Task.parse(Path(task_path).read_bytes()) as task:
        try:
            dde.verify(task, Path(result_path).read_bytes())
        except dde.DDEError as e:
            print(f"INVALID task {task.id.hex()}: {e.name} ({e.message})")
            return e.code
        print(f"VALID task {task.id.hex()}")
    return 0


def commit(store_path: str, key_path: str, task_path: str, result_path: str) -> int:
    with dde.Store(store_path) as store, dde.KeyPair.load(key_path) as key, \
            dde.Task.parse(Path(task_path).read_bytes()) as task:
        receipt = store.commit(task, Path(result_path).read_bytes(), key)  # raises on any refusal
        head = store.head()
        print(f"COMMITTED task {task.id.hex()} as receipt {receipt.index} {receipt.receipt_hash.hex()}")
        print(f"chain: {head.count} receipts, state root {head.state_root.hex()}, "
              f"{store.verify_chain()} verified")
    return 0


def main(argv: list[str]) -> int:
    commands = {("keygen", 1): keygen, ("create", 2): create, ("verify", 2): verify, ("commit", 4): commit}
    command = commands.get((argv[0], len(argv) - 1)) if argv else None
    if command is None:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    try:
        return command(*argv[1:])
    except OSError as e:  # a spec, task or result file that cannot be read
        print(f"verify_task: {e}", file=sys.stderr)
        return dde.FileError.CODE
    except dde.DDEError as e:
        print(f"verify_task: {argv[0]}: {e.name}: {e.message}", file=sys.stderr)
        return e.code if e.code > 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
