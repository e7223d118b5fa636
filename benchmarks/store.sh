#!/usr/bin/env bash
# Store suite (run it through scripts/bench.sh store): durable commits per second through
# Store.commit (verify again, check stale/duplicate, apply writes, recompute roots, sign the
# receipt; WAL + synchronous=FULL as the store opens) against raw SQLite transactions writing the
# same bytes with the same settings into the same schema (receipt row, compute_result row, state
# value, dApp root: one BEGIN IMMEDIATE ... COMMIT each), in alternating rounds of one run; and
# verifyChain time per receipt on a chain of BENCH_STORE_CHAIN (3000) receipts. The tasks are
# real counter results run by the executor beforehand (one in 16 carries a 64 KiB payload).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=$ROOT/build/bench
mkdir -p "$WORK"
swift build -c release --product dde-torture > "$WORK/build-torture.log" 2>&1 || { tail -n 20 "$WORK/build-torture.log" >&2; exit 1; }
BIN=$(swift build -c release --show-bin-path)
DIR=$(mktemp -d "$WORK/store.XXXXXX"); trap 'rm -rf "$DIR"' EXIT

JSON=$("$BIN/dde-torture" bench-store --dir "$DIR" --wat examples/dapps/counter.wat \
    --commits "${BENCH_STORE_COMMITS:-200}" --rounds "${BENCH_STORE_ROUNDS:-8}" --chain "${BENCH_STORE_CHAIN:-3000}")
python3 - "$JSON" <<'PY'
import json, sys
b = json.loads(sys.argv[1])
print(f"{b['rounds']} alternating rounds of {b['commits']} commits each (fresh files), then verifyChain on "
      f"{b['verifyChainReceipts']} receipts ({b['chainFileBytes'] >> 20} MiB file)")
print()
print("| measurement | per second | CPU us per commit | vs raw |")
print("|---|---:|---:|---:|")
print(f"| raw SQLite transaction, same rows and bytes (WAL, synchronous=FULL) | {b['rawTransactionsPerSecond']:.0f} | "
      f"{b['rawCPUMicrosecondsPerTransaction']:.0f} | 1.00 |")
print(f"| Store.commit (same durability) | {b['storeCommitsPerSecond']:.0f} | {b['storeCPUMicrosecondsPerCommit']:.0f} | "
      f"{b['ratio']:.2f}x |")
print()
print(f"Ratio over all rounds {b['ratio']:.2f}x, median of per-round ratios {b['medianRoundRatio']:.2f}x "
      f"(target at least 0.7x: {'met' if b['ratio'] >= 0.7 else 'NOT met'}); per round [store, raw] commits/s: "
      + ", ".join(f"[{s:.0f}, {r:.0f}]" for s, r in b["perRound"]))
print(f"verifyChain: {b['verifyChainMs']:.0f} ms for {b['verifyChainReceipts']} receipts, "
      f"{b['verifyChainMicrosecondsPerReceipt']:.0f} us per receipt")
PY
