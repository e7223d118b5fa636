#!/usr/bin/env bash
# Cross-architecture agreement: runs Tests/CAPI/crossarch.c against the x86-64 libdde.so with the
# Swift runtime (build/host) and against each Embedded Swift one (build/x86_64 natively,
# build/aarch64 under qemu-aarch64, build/armv7 under qemu-arm), and diffs each output with the
# build/host one line by line. FAILs on any difference, on a crash, or on output that is
# suspiciously short.
#   scripts/test-crossarch.sh [--arch x86_64|aarch64|armv7]...   every one unless named
# Builds the libraries first unless DDE_NO_BUILD=1. See docs/BUILDING.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=$ROOT/build/crossarch
MIN_LINES=${MIN_LINES:-1000}
CONFORMANCE=$ROOT/Tests/Conformance
source scripts/arch.sh
arches=()
while [ $# -gt 0 ]; do
    [ "$1" = --arch ] && [ $# -ge 2 ] || { echo "usage: scripts/test-crossarch.sh [--arch x86_64|aarch64|armv7]..." >&2; exit 2; }
    cross_arch "$2" >/dev/null || exit 2
    arches+=("$2"); shift 2
done
[ ${#arches[@]} -gt 0 ] || read -r -a arches <<< "$EMBEDDED_ARCHES"
mkdir -p "$WORK"

if [ "${DDE_NO_BUILD:-0}" != 1 ]; then
    scripts/build-lib.sh
    for arch in "${arches[@]}"; do scripts/build-embedded.sh --arch "$arch"; done
fi
for lib in build/host/lib/libdde.so $(printf 'build/%s/lib/libdde.so ' "${arches[@]}"); do
    [ -f "$lib" ] || { echo "test-crossarch: FAIL: $lib missing (run scripts/build-lib.sh and scripts/build-embedded.sh --arch ARCH)" >&2; exit 1; }
done

CFLAGS="-O2 -g -Wall -Wextra -Werror -std=c11 -D_DEFAULT_SOURCE"
gcc $CFLAGS -I build/host/include Tests/CAPI/crossarch.c \
    -L build/host/lib -ldde -Wl,-rpath,"$ROOT/build/host/lib" -lm -o "$WORK/crossarch-host"
for arch in "${arches[@]}"; do
    cross_arch "$arch"
    # -rpath-link: libsodium.so's own dependencies resolve in Debian's library folder.
    "$GNU-gcc" $CFLAGS "${C_ARCH_FLAGS[@]}" -I "build/$arch/include" Tests/CAPI/crossarch.c \
        -L "build/$arch/lib" -ldde -Wl,-rpath-link,"$CROSS_LIBDIR" -lm -o "$WORK/crossarch-$arch"
done

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
run host "$WORK/crossarch-host" "${args[@]}"
failed=0
x=$(wc -l < "$WORK/host.out")
sides=(host)
for arch in "${arches[@]}"; do
    cross_arch "$arch"
    run "$arch" env LD_LIBRARY_PATH="$ROOT/build/$arch/lib:$CROSS_LIBDIR" \
        "${RUN_PREFIX[@]}" "$WORK/crossarch-$arch" "${args[@]}"
    sides+=("$arch")
    # The binary really ran as that architecture's code against its library (not a host fallback).
    for f in "$WORK/crossarch-$arch" "build/$arch/lib/libdde.so"; do
        readelf -h "$f" | grep -q "Machine:.*$ELF_MACHINE" \
            || { echo "test-crossarch: FAIL: $f is not an $arch ELF file" >&2; exit 1; }
    done
    if [ "$arch" = armv7 ]; then
        # Debian armhf's ABI: floating-point arguments in VFP registers.
        for f in "$WORK/crossarch-$arch" "build/$arch/lib/libdde.so"; do
            readelf -h "$f" | grep -q 'hard-float ABI' \
                || { echo "test-crossarch: FAIL: $f is not hard-float (armhf)" >&2; exit 1; }
        done
    fi

    a=$(wc -l < "$WORK/$arch.out")
    if [ "$x" -lt "$MIN_LINES" ] || [ "$a" -lt "$MIN_LINES" ]; then
        echo "test-crossarch: FAIL: output suspiciously short (host $x lines, $arch $a, want >= $MIN_LINES)" >&2
        failed=$((failed + 1))
    fi
    if ! diff -u "$WORK/host.out" "$WORK/$arch.out" > "$WORK/diff-$arch.txt"; then
        differing=$(grep -c '^+[^+]' "$WORK/diff-$arch.txt" || true)
        echo "test-crossarch: FAIL: $differing lines differ between host and $arch ($WORK/diff-$arch.txt):" >&2
        head -n 40 "$WORK/diff-$arch.txt" >&2
        failed=$((failed + differing))
    fi
done

# Each side must end with its own line count: a truncated run cannot pass as a short diff.
for side in "${sides[@]}"; do
    n=$(wc -l < "$WORK/$side.out")
    if [ "$(tail -n1 "$WORK/$side.out")" != "lines: $n" ]; then
        echo "test-crossarch: FAIL: $side output is truncated (last line: $(tail -n1 "$WORK/$side.out"))" >&2
        failed=$((failed + 1))
    fi
done

# Results the program knows to be wrong by itself (published vectors, mutated results).
for side in "${sides[@]}"; do
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
        got=$(grep -m1 "^wycheproof $id: " "$WORK/host.out" | sed 's/^[^:]*: //')
        case $want:$got in
            valid:DDE_OK|invalid:DDE_ERR_SIGNATURE*|invalid:bad\ length) ;;
            *) echo "test-crossarch: FAIL: Wycheproof tcId $id: expected $want, got '$got'" >&2; wrong=$((wrong + 1)) ;;
        esac
    done < "$expected"
    failed=$((failed + wrong))
fi

same=$(grep -c '' "$WORK/host.out")
[ "$failed" -eq 0 ] || { echo "test-crossarch: $((same > failed ? same - failed : 0)) passed, $failed failed"; exit 1; }
sizes="host $(stat -L -c %s build/host/lib/libdde.so)"
for arch in "${arches[@]}"; do sizes+=", $arch $(stat -L -c %s "build/$arch/lib/libdde.so")"; done
echo "test-crossarch: ${sides[*]} agree on all $same lines (libdde.so bytes: $sizes)"
echo "test-crossarch: $same passed, 0 failed"
