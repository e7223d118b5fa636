#!/usr/bin/env python3
"""delegate: a requester having work done by executors on the network (the Python twin of
examples/c/delegate.c).

    delegate.py --broker mqtt://HOST[:PORT] [--store requester.db] [--key requester.key]
                COUNTER.wasm [--count N] [--mode first_valid|quorum] [--quorum K] [--fanout N]
                [--ca-file F] [--tls-cert F --tls-key F] [--username U --password-file F | --password-env VAR]

Over TLS (--broker mqtts://HOST[:8883]) the broker's certificate is verified against --ca-file
(default: the system store); --tls-cert/--tls-key give this device's certificate to brokers that
require one, --username with --password-file or --password-env a user name and its password
(never on the command line). examples/broker/README.md makes such a broker.

Opens (or creates) the store and the key (created if absent), connects to the MQTT broker,
publishes the counter module by hash, discovers the executors and delegates N "increment" tasks.
For each: every executor's verdict and latency, the committed receipt and the result; at the end
the chain head and the verified chain.

Needs the dde package (pip install bindings/python), libdde.so (DDE_LIBRARY=build/host/lib/libdde.so)
and libmosquitto1. Exit status: 0 when every task was committed; otherwise the DDE_ERR_* code.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import dde


def load_or_create_key(path: str) -> dde.KeyPair:
    if os.path.exists(path):
        return dde.KeyPair.load(path)
    key = dde.KeyPair.generate()
    key.save(path)
    print(f"created key {path}")
    return key


def print_report(report: dde.DelegationReport) -> None:
    for answer in report.answers:
        executor = answer.executor.hex()[:8] if answer.executor is not None else "unknown"
        print(f"  executor {executor:8}  {answer.verdict:<12} {answer.latency_ms:5d} ms  {answer.status}")


def main(argv: "list[str]") -> int:
    parser = argparse.ArgumentParser(prog="delegate.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("module", help="the counter module (.wasm)")
    parser.add_argument("--broker", required=True, help="mqtt://host[:port]")
    parser.add_argument("--store", default="requester.db")
    parser.add_argument("--key", default="requester.key")
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--mode", choices=["first_valid", "quorum"], default="first_valid")
    parser.add_argument("--quorum", type=int, default=None)
    parser.add_argument("--fanout", type=int, default=2)
    parser.add_argument("--deadline-ms", type=int, default=10000)
    parser.add_argument("--ca-file", help="with mqtts://: the CA that signed the broker's certificate")
    parser.add_argument("--tls-cert", help="with mqtts://: this device's certificate (PEM)")
    parser.add_argument("--tls-key", help="the private key of --tls-cert (PEM)")
    parser.add_argument("--username")
    parser.add_argument("--password-file", help="a file holding the password")
    parser.add_argument("--password-env", help="an environment variable holding the password")
    args = parser.parse_args(argv)
    if not 1 <= args.count <= 1000:
        parser.error("--count must be 1 to 1000")

    module = Path(args.module).read_bytes()
    try:
        # 1. A client: the store, the key, the broker (the client keeps its own copy of the key).
        with load_or_create_key(args.key) as key:
            client = dde.Client.connect(args.broker, args.store, key, ca_file=args.ca_file,
                                        cert_file=args.tls_cert, key_file=args.tls_key,
                                        username=args.username, password_file=args.password_file,
                                        password_env=args.password_env)
        with client:
            # 2. The code, by hash: executors fetch it from the broker.
            code_hash = client.publish_code(module, encoder=dde.encoding.HexEncoder)  # hex, for the spec
            # 3. Who is there.
            print(f"{client.discover(1000)} executor(s) on {args.broker}")
            # 4. Delegate: the result is verified and committed before delegate() returns.
            spec = {"dappId": "counter", "dappCodeHash": code_hash, "action": "increment",
                    "requiredCapabilities": ["state.read", "state.write"]}
            for i in range(args.count):
                try:
                    report = client.delegate(spec, mode=args.mode, quorum=args.quorum,
                                             fanout=args.fanout, deadline_ms=args.deadline_ms)
                except dde.DDEError as e:
                    print(f"task {i + 1}: {e.name}")
                    if e.report is not None:
                        print_report(e.report)
                    raise
                print(f"task {i + 1}: DDE_OK")
                print_report(report)
                print(f"  receipt {report.receipt.json.decode()}")  # canonical JSON: sorted, compact
                print(f"  result {json.dumps(report.result, sort_keys=True, separators=(',', ':'))}")
        # 5. The chain head, and the whole chain re-verified.
        with dde.Store(args.store) as store:
            head = store.head()
            print(f"chain head: {head.count} receipts, last {head.receipt_hash.hex()}, "
                  f"state root {head.state_root.hex()}")
            print(f"chain verified: {store.verify_chain()} receipts")
    except dde.DDEError as e:
        print(f"delegate: {e.name}: {e.message}", file=sys.stderr)
        return e.code if e.code > 0 else 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
