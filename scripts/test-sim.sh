#!/usr/bin/env bash
# The Byzantine simulation's quick preset (dde-sim --quick, docs in BENCHMARKS.md), twice with
# the same seed, and the invariants of its table:
#   - the same seed gives the same table (table-hash);
#   - quorum(2) commits no forged result against liars that do not collude (always, prob_q,
#     until_trusted, rejoin);
#   - no honest executor is blacklisted or convicted, in any mode;
#   - the audited mode stays under the error target it was given, for every strategy, with the
#     requester's pinned executor.
# Prints 'N passed, N failed'; exits non-zero on failure.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/scripts/lib.sh"
cd "$ROOT"
if [ "${DDE_NO_BUILD:-0}" != 1 ]; then swift build --build-tests >/dev/null 2>&1 || swift build --build-tests; fi
SIM="$(swift build --show-bin-path)/dde-sim"
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT

check "dde-sim --help explains what is real and what is simulated" bash -c "'$SIM' --help | grep -qi 'simulated'"
check "dde-sim --quick --seed 7 runs (well under a minute)" bash -c "timeout 300 '$SIM' --quick --seed 7 --csv '$W/a.csv' > '$W/a.txt' 2> '$W/a.err'"
check "the same seed gives the same table" bash -c "timeout 300 '$SIM' --quick --seed 7 > '$W/b.txt' 2>/dev/null && grep '^table-hash:' '$W/a.txt' > '$W/ha' && grep '^table-hash:' '$W/b.txt' > '$W/hb' && [ -s '$W/ha' ] && cmp '$W/ha' '$W/hb'"
check "progress on stderr" grep -q . "$W/a.err"
invariant() {  # NAME PYTHON-CONDITION-ON-ROW (r: dict of the CSV row)
    python3 - "$W/a.csv" "$2" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert rows, "no rows"
bad = [r for r in rows if not eval(sys.argv[2], {"r": r, "f": float, "i": int})]
for r in bad:
    print("violated by", r["strategy"], r["mode"], "forged_rate", r["forged_rate"], "target", r["target"],
          "honest_blacklisted", r["honest_blacklisted"], "honest_convicted", r["honest_convicted"])
sys.exit(1 if bad else 0)
PY
}
check "quorum(2): 0 forged against non-colluding liars" invariant q \
    "r['mode'] != 'quorum(2)' or r['strategy'] not in ('always','prob_q','until_trusted','rejoin') or i(r['forged']) == 0"
check "no honest executor blacklisted or convicted" invariant h \
    "i(r['honest_blacklisted']) == 0 and i(r['honest_convicted']) == 0"
check "audited (pinned) stays under its error target for every strategy" invariant a \
    "r['kind'] != 'audited' or i(r['pinned']) == 0 or f(r['forged_rate']) <= f(r['target'])"
check "every mode and strategy is in the table" bash -c "[ \$(tail -n +2 '$W/a.csv' | wc -l) -ge 24 ]"
finish
