#!/usr/bin/env python3
"""The protocol floor of one delegation row, from dde-bench-network's JSON and the executors' time.

One source for the sum that benchmarks/network.sh both prints as the floor and turns into the pace
of the paced MQTT round trip (mqtt_echo.c): what no implementation of the protocol can skip, each
measured raw in the same run, split by where it happens:
    serve  the executor, between the offer and its answer: its run (sandbox, proof, signature,
           from its log lines) and the raw check of the task's signature
    idle   the requester waiting for the disk: one durable SQLite transaction of the commit's rows
    busy   the requester's other raw steps: the task's state and proof read (raw SELECTs), signing
           the task and the receipt, verifying k results, the proof's SHA-256s (protocol v2)
    both   the signed objects' SHA-256s at their real lengths (since session 9): the task id and
           inputHash on both sides, H(proof without signature) for each result checked, H(result),
           H(stateWrites), proofHash and the receipt's hash; counted in busy (the executor's two
           are a sixth of the bytes: the split between serve and busy does not change the sum)
The floor is the MQTT round trip + serve + idle + busy.

    protocol_floor.py pace ROW_JSON EXECUTION_US   prints "SERVE IDLE BUSY" in whole microseconds
"""
import json, sys


def parts(r, execution_us):
    serve = execution_us + r["rawVerifyUs"]
    idle = r["rawCommitP50Us"]
    busy = (r["rawReadP50Us"] + 2 * r["rawSignUs"] + r["needed"] * r["rawVerifyUs"]
            + r["proofHashes"] * r["rawSha256Us"] + r["rawSignedHashesUs"])
    return serve, idle, busy


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] != "pace":
        sys.exit(__doc__)
    print(" ".join(str(round(x)) for x in parts(json.loads(sys.argv[2]), float(sys.argv[3]))))
