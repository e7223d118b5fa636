#!/usr/bin/env bash
# Crash safety with a real process kill (docs/STORE.md, "Crash test").
#
# The child (`dde-torture crash`, a test tool) commits real counter results in a loop on one
# store file and prints "committed <index> <taskId>" after each Store.commit returned. This
# script kills it with SIGKILL at random moments, many rounds on the same file, and after every
# kill checks, through the `dde` command:
#   - `dde chain verify --quiet` passes (links, hashes, signatures, replayed state);
#   - every taskId the child reported is in `dde chain export --receipts-only`, at its index;
#   - the receipts added this round are the ones reported, plus at most one (a commit that was
#     durable when the kill came before its line was printed);
#   - the next child reads back counter values equal to the number of receipts of each dApp.
# Every third round the `-shm` file is deleted after the kill (SQLite must rebuild it from the
# WAL). Kill moments: from spawn (during open/recovery), right after the store opened (during
# the first commit), or 0-150 ms into the commit loop; one task in ten carries 64-320 KiB so
# that kills also land while the WAL is written and synced.
#
# CRASH_ROUNDS (default 150) sets the number of kills; CRASH_SEED makes the schedule repeatable.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
swift build -c release --product dde >/dev/null 2>&1 || swift build -c release --product dde >&2
swift build -c release --product dde-torture >/dev/null 2>&1 || swift build -c release --product dde-torture >&2
BIN=$(swift build -c release --show-bin-path)
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT

python3 - "$BIN" "$W" "$ROOT/examples/dapps/counter.wat" <<'PY'
import json, os, random, signal, subprocess, sys, threading, time

bin_dir, work, wat = sys.argv[1:4]
dde, torture = os.path.join(bin_dir, "dde"), os.path.join(bin_dir, "dde-torture")
db = os.path.join(work, "crash.db")
rounds = int(os.environ.get("CRASH_ROUNDS", "150"))
seed = int(os.environ.get("CRASH_SEED", str(random.randrange(1 << 30))))
rng = random.Random(seed)
print(f"crash test: {rounds} kills on {db}, seed {seed}")

passed = failed = 0
def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print(f"FAIL {name}" + (f": {detail}" if detail else ""))

reported = {}          # taskId -> index, every commit any child reported
count = 0              # receipts after the last check
per_dapp = {}          # dappId -> receipts, after the last check
stats = {"from_spawn": 0, "first_commit": 0, "in_loop": 0, "shm_deleted": 0, "extra": 0,
         "no_commit": 0, "big": 0, "start_checked": 0}
started = time.time()

for r in range(rounds):
    mode = rng.choices(["from_spawn", "first_commit", "in_loop"], weights=[2, 2, 6])[0]
    stats[mode] += 1
    child = subprocess.Popen([torture, "crash", "--store", db, "--code", os.path.join(work, "code"),
                              "--wat", wat, "--seed", str(rng.randrange(1 << 30))],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines, start_line = [], threading.Event()
    def reader():
        # Only whole lines count: a line cut by the kill is not a report.
        for raw in child.stdout:
            if raw.endswith(b"\n"):
                lines.append(raw.decode())
                if raw.startswith(b"start "):
                    start_line.set()
        start_line.set()
    t = threading.Thread(target=reader)
    t.start()
    if mode == "from_spawn":
        time.sleep(rng.uniform(0, 0.150))
    else:
        if not start_line.wait(10):
            print(f"round {r}: gave up after 10 s waiting for the child's start line; killing it now")
        time.sleep(rng.uniform(0, 0.005) if mode == "first_commit" else rng.uniform(0, 0.150))
    child.send_signal(signal.SIGKILL)
    child.wait()
    t.join()
    err = child.stderr.read().decode()
    check(f"round {r}: child died by SIGKILL, not on its own", child.returncode == -signal.SIGKILL,
          f"exit {child.returncode}: {err.strip()[-500:]}")

    # The child's view of the store when it opened: the counters must be the receipt counts.
    mine = []
    for line in lines:
        parts = line.split()
        if parts[0] == "start":
            stats["start_checked"] += 1
            want = [count, per_dapp.get("counter", 0), per_dapp.get("counter-b", 0)]
            check(f"round {r}: reopened store holds {want} (receipts, counter, counter-b)",
                  [int(x) for x in parts[1:4]] == want, line.strip())
        elif parts[0] == "committed":
            mine.append((int(parts[1]), parts[2]))
    if not mine:
        stats["no_commit"] += 1

    if r % 3 == 2 and os.path.exists(db + "-shm"):
        os.remove(db + "-shm")
        stats["shm_deleted"] += 1

    v = subprocess.run([dde, "chain", "verify", "--store", db, "--quiet"], capture_output=True, text=True)
    check(f"round {r}: chain verify", v.returncode == 0, (v.stdout + v.stderr).strip()[-500:])
    e = subprocess.run([dde, "chain", "export", "--store", db, "--receipts-only"], capture_output=True, text=True)
    check(f"round {r}: chain export", e.returncode == 0, e.stderr.strip()[-500:])
    receipts = [json.loads(l) for l in e.stdout.splitlines() if l.strip()]
    index_of = {x["taskId"]: x["index"] for x in receipts}
    check(f"round {r}: indices contiguous", [x["index"] for x in receipts] == list(range(len(receipts))))
    for idx, task_id in mine:
        reported[task_id] = idx
    missing = [(i, tid) for tid, i in reported.items() if index_of.get(tid) != i]
    check(f"round {r}: every reported commit present at its index", not missing, f"missing {missing[:5]}")
    added = len(receipts) - count
    check(f"round {r}: receipts added = reported + at most one", added in (len(mine), len(mine) + 1),
          f"added {added}, reported {len(mine)}")
    if added == len(mine) + 1:
        stats["extra"] += 1
    count = len(receipts)
    per_dapp = {}
    for x in receipts:
        per_dapp[x["dappId"]] = per_dapp.get(x["dappId"], 0) + 1
    if failed:
        break

size = sum(os.path.getsize(db + s) for s in ("", "-wal") if os.path.exists(db + s))
print(f"{rounds if not failed else r + 1} kills in {time.time() - started:.0f} s: {count} receipts "
      f"({per_dapp}), {len(reported)} reported, {size >> 20} MiB; kill moments {stats['from_spawn']} from spawn, "
      f"{stats['first_commit']} in the first commit, {stats['in_loop']} in the loop; {stats['no_commit']} rounds "
      f"with no commit reported; {stats['extra']} rounds with one durable but unreported commit; "
      f"-shm deleted {stats['shm_deleted']} times; start lines checked {stats['start_checked']}")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
