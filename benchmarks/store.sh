#!/usr/bin/env bash
# Store suite (run it through scripts/bench.sh store): durable commits per second through
# Store.commit against the floor of a commit, in rounds of one run. The commit is that of a
# result the Verifier passed (what a delegation commits: check stale/duplicate, apply writes and
# the state tree's chunks, recompute roots, hash and sign the receipt; WAL + synchronous=FULL as
# the store opens); its floor is raw SQLite writing the same bytes with the same settings into the
# same schema (receipt row, compute_result row, state value, dApp root, the tree's chunk: one
# BEGIN IMMEDIATE ... COMMIT each) plus the receipt's hash and Ed25519 signature. The public
# Store.commit(task:result:), which verifies the result again, is measured against the same floor
# plus one Ed25519 verification. Then verifyChain time per receipt on a chain of
# BENCH_STORE_CHAIN (3000) receipts. The tasks are real counter results of taskVersion
# BENCH_STORE_TASK_VERSION (2) run by the executor beforehand (one in 16 carries a 64 KiB payload).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=$ROOT/build/bench
mkdir -p "$WORK"
swift build -c release --product dde-torture > "$WORK/build-torture.log" 2>&1 || { tail -n 20 "$WORK/build-torture.log" >&2; exit 1; }
BIN=$(swift build -c release --show-bin-path)
DIR=$(mktemp -d "$WORK/store.XXXXXX"); trap 'rm -rf "$DIR"' EXIT

JSON=$("$BIN/dde-torture" bench-store --dir "$DIR" --wat examples/dapps/counter.wat \
    --commits "${BENCH_STORE_COMMITS:-200}" --rounds "${BENCH_STORE_ROUNDS:-8}" --chain "${BENCH_STORE_CHAIN:-3000}" \
    --task-version "${BENCH_STORE_TASK_VERSION:-2}")
python3 - "$JSON" <<'PY'
import json, sys
b = json.loads(sys.argv[1])
print(f"{b['rounds']} rounds of {b['commits']} commits each (fresh files, taskVersion {b['taskVersion']} counter tasks), "
      f"then verifyChain on {b['verifyChainReceipts']} receipts ({b['chainFileBytes'] >> 20} MiB file)")
print()
print("| measurement | per second | CPU us per commit | vs floor |")
print("|---|---:|---:|---:|")
print(f"| floor: raw SQLite transaction, same rows and bytes (WAL, synchronous=FULL), + receipt hash and signature | "
      f"{b['rawTransactionsPerSecond']:.0f} | {b['rawCPUMicrosecondsPerTransaction']:.0f} | 1.00 |")
print(f"| Store.commit of a verified result (a delegation's commit) | {b['storeCommitsPerSecond']:.0f} | "
      f"{b['storeCPUMicrosecondsPerCommit']:.0f} | {b['ratio']:.2f}x |")
print(f"| floor + one Ed25519 verification | {b['publicRawPerSecond']:.0f} | {b['publicRawCPUMicrosecondsPerTransaction']:.0f} | 1.00 |")
print(f"| Store.commit(task:result:) (verifies again) | {b['publicCommitsPerSecond']:.0f} | "
      f"{b['publicCPUMicrosecondsPerCommit']:.0f} | {b['publicRatio']:.2f}x |")
print()
print(f"Verified commit: {b['ratio']:.2f}x over all rounds, median of per-round ratios {b['medianRoundRatio']:.2f}x "
      f"(target at least 0.85x: {'met' if b['ratio'] >= 0.85 else 'NOT met'}); public commit {b['publicRatio']:.2f}x, "
      f"median {b['publicMedianRoundRatio']:.2f}x. Per round [commit, floor, public commit, its floor] per second: "
      + ", ".join("[" + ", ".join(f"{x:.0f}" for x in r) + "]" for r in b["perRound"]))
print(f"verifyChain: {b['verifyChainMs']:.0f} ms for {b['verifyChainReceipts']} receipts, "
      f"{b['verifyChainMicrosecondsPerReceipt']:.0f} us per receipt")
PY
