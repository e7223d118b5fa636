#!/usr/bin/env bash
# Cross-architecture agreement: runs Tests/CAPI/crossarch.c against the x86-64 libdde.so
# (build/host) and the aarch64 one (build/aarch64, under qemu-aarch64), and diffs the outputs
# line by line. FAILs on any difference, on a crash, or on output that is suspiciously short.
# Builds the libraries first unless DDE_NO_BUILD=1. See docs/BUILDING.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=$ROOT/build/crossarch
SYSROOT=${AARCH64_SYSROOT:-/usr/aarch64-linux-gnu}
ARM64_LIBDIR=${ARM64_LIBDIR:-/usr/lib/aarch64-linux-gnu}
MIN_LINES=${MIN_LINES:-1000}
CONFORMANCE=$ROOT/Tests/Conformance
mkdir -p "$WORK"

if [ "${DDE_NO_BUILD:-0}" != 1 ]; then
    scripts/build-lib.sh
    scripts/build-aarch64.sh
fi
for lib in build/host/lib/libdde.so build/aarch64/lib/libdde.so; do
    [ -f "$lib" ] || { echo "test-crossarch: FAIL: $lib missing (run scripts/build-lib.sh and scripts/build-aarch64.sh)" >&2; exit 1; }
done

CFLAGS="-O2 -g -Wall -Wextra -Werror -std=c11 -D_DEFAULT_SOURCE"
gcc $CFLAGS -I build/host/include Tests/CAPI/crossarch.c \
    -L build/host/lib -ldde -Wl,-rpath,"$ROOT/build/host/lib" -lm -o "$WORK/crossarch-x86_64"
# -rpath-link: libsodium.so's own dependencies resolve in Debian's arm64 library folder.
aarch64-linux-gnu-gcc $CFLAGS -I build/aarch64/include Tests/CAPI/crossarch.c \
    -L build/aarch64/lib -ldde -Wl,-rpath-link,"$ARM64_LIBDIR" -lm -o "$WORK/crossarch-aarch64"

# Wycheproof Ed25519 vectors (Tests/Conformance/wycheproof), as "tcId pk msg sig result" lines.
args=()
expected=$WORK/wycheproof.expected
if [ -f "$CONFORMANCE/wycheproof/ed25519_test.json" ]; then
    python3 - "$CONFORMANCE/wycheproof/ed25519_test.json" "$WORK/wycheproof.txt" "$expected" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
with open(sys.argv[2], "w") as vec, open(sys.argv[3], "w") as exp:
    for group in data["testGroups"]:
        pk = group["publicKey"]["pk"]
        for t in group["tests"]:
            vec.write("%d %s %s %s\n" % (t["tcId"], pk or "-", t["msg"] or "-", t["sig"] or "-"))
            exp.write("%d %s\n" % (t["tcId"], t["result"]))
PY
    args=(--wycheproof "$WORK/wycheproof.txt")
else
    echo "test-crossarch: FAIL: $CONFORMANCE/wycheproof/ed25519_test.json missing (the conformance data is part of the repository)" >&2
    exit 1
fi
[ -d "$CONFORMANCE/jcs" ] || { echo "test-crossarch: FAIL: $CONFORMANCE/jcs missing" >&2; exit 1; }
args+=(--conformance "$CONFORMANCE")

run() { # name command...: runs one side, fails loudly on a non-zero exit (a crash included)
    local name=$1; shift
    local rc=0
    "$@" > "$WORK/$name.out" 2> "$WORK/$name.err" || rc=$?
    if [ $rc -ne 0 ]; then
        echo "test-crossarch: FAIL: $name exited $rc" >&2
        tail -n 5 "$WORK/$name.err" >&2
        exit 1
    fi
}
run x86_64 "$WORK/crossarch-x86_64" "${args[@]}"
run aarch64 env LD_LIBRARY_PATH="$ROOT/build/aarch64/lib:$ARM64_LIBDIR" \
    qemu-aarch64 -L "$SYSROOT" "$WORK/crossarch-aarch64" "${args[@]}"

# The aarch64 binary really ran as aarch64 code against the aarch64 library (not a host fallback).
for f in "$WORK/crossarch-aarch64" build/aarch64/lib/libdde.so; do
    readelf -h "$f" | grep -q 'Machine:.*AArch64' \
        || { echo "test-crossarch: FAIL: $f is not an aarch64 ELF file" >&2; exit 1; }
done

x=$(wc -l < "$WORK/x86_64.out"); a=$(wc -l < "$WORK/aarch64.out")
failed=0
if [ "$x" -lt "$MIN_LINES" ] || [ "$a" -lt "$MIN_LINES" ]; then
    echo "test-crossarch: FAIL: output suspiciously short (x86_64 $x lines, aarch64 $a, want >= $MIN_LINES)" >&2
    failed=$((failed + 1))
fi
# Each side must end with its own line count: a truncated run cannot pass as a short diff.
for side in x86_64 aarch64; do
    n=$(wc -l < "$WORK/$side.out")
    if [ "$(tail -n1 "$WORK/$side.out")" != "lines: $n" ]; then
        echo "test-crossarch: FAIL: $side output is truncated (last line: $(tail -n1 "$WORK/$side.out"))" >&2
        failed=$((failed + 1))
    fi
done

if ! diff -u "$WORK/x86_64.out" "$WORK/aarch64.out" > "$WORK/diff.txt"; then
    differing=$(grep -c '^+[^+]' "$WORK/diff.txt" || true)
    echo "test-crossarch: FAIL: $differing lines differ between x86_64 and aarch64 ($WORK/diff.txt):" >&2
    head -n 40 "$WORK/diff.txt" >&2
    failed=$((failed + differing))
fi

# Results the program knows to be wrong by itself (published vectors, mutated results).
for side in x86_64 aarch64; do
    n=$(grep -c 'UNEXPECTED' "$WORK/$side.out" || true)
    if [ "$n" -gt 0 ]; then
        echo "test-crossarch: FAIL: $n unexpected results on $side:" >&2
        grep 'UNEXPECTED' "$WORK/$side.out" | head -n 20 | cut -c1-300 >&2
        failed=$((failed + n))
    fi
done

# Wycheproof verdicts must also be the published ones (libsodium 1.0.18 agrees with all).
if [ -f "$expected" ]; then
    wrong=0
    while read -r id want; do
        got=$(grep -m1 "^wycheproof $id: " "$WORK/x86_64.out" | sed 's/^[^:]*: //')
        case $want:$got in
            valid:DDE_OK|invalid:DDE_ERR_SIGNATURE*|invalid:bad\ length) ;;
            *) echo "test-crossarch: FAIL: Wycheproof tcId $id: expected $want, got '$got'" >&2; wrong=$((wrong + 1)) ;;
        esac
    done < "$expected"
    failed=$((failed + wrong))
fi

same=$(grep -c '' "$WORK/x86_64.out")
[ "$failed" -eq 0 ] || { echo "test-crossarch: $((same > failed ? same - failed : 0)) passed, $failed failed"; exit 1; }
echo "test-crossarch: x86_64 and aarch64 agree on all $same lines ($(stat -L -c %s build/host/lib/libdde.so) / $(stat -L -c %s build/aarch64/lib/libdde.so) bytes)"
echo "test-crossarch: $same passed, 0 failed"
