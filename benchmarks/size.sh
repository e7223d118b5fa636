#!/usr/bin/env bash
# Size suite (run it through scripts/bench.sh size): the stripped size of every libdde.so, and the
# memory of examples/c/verify_task verifying the core suite's compute_result (a wallet transfer:
# benchmarks/core_bench.c --fixture) on each build: x86-64 with the Swift runtime inside
# (build/host), and Embedded Swift for x86-64 (build/x86_64, natively), aarch64 (build/aarch64,
# under qemu-aarch64) and armv7 (build/armv7, under qemu-arm).
#
# Two figures of memory, both the kernel's:
#   max RSS   the process's ru_maxrss (/usr/bin/time -f %M), median of 3 runs. Under qemu-user the
#             process is the emulator, whose own code and translation buffers count too.
#   resident  the kilobytes resident at exit in the program's own mappings (/proc/self/smaps,
#             written by benchmarks/resident.c preloaded, summed by benchmarks/resident.py):
#             natively within a few pages of the max RSS; under qemu only the guest's mappings,
#             what the program itself holds (the host kernel's page cache and 64 KB fault-around
#             decide which file pages are mapped, as a Pi's kernel would with 4 KB pages).
# And two floors with the same measures: a program that only links libc, libm, libsodium and
# libsqlite3 (what libdde needs anyway), and one that also loads libdde.so and calls
# dde_version (the library loaded, before it does anything).
# DDE_NO_BUILD=1 skips the library builds.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=$ROOT/build/bench-size
source scripts/arch.sh
rm -rf "$WORK"
mkdir -p "$WORK"

if [ "${DDE_NO_BUILD:-0}" != 1 ]; then
    scripts/build-lib.sh > "$WORK/build-lib.log" 2>&1 || { tail -n 20 "$WORK/build-lib.log" >&2; exit 1; }
    for arch in $EMBEDDED_ARCHES; do
        scripts/build-embedded.sh --arch "$arch" > "$WORK/build-$arch.log" 2>&1 || { tail -n 20 "$WORK/build-$arch.log" >&2; exit 1; }
    done
fi
for lib in build/host/lib/libdde.so $(printf 'build/%s/lib/libdde.so ' $EMBEDDED_ARCHES); do
    [ -f "$lib" ] || { echo "bench size: FAIL: $lib missing (scripts/build-lib.sh, scripts/build-embedded.sh --arch ARCH)" >&2; exit 1; }
done

# The task and the result every build verifies (made with the host library).
gcc -O2 -std=c11 -I build/host/include -I Tests/CAPI benchmarks/core_bench.c -L build/host/lib -ldde \
    -Wl,-rpath,"$ROOT/build/host/lib" -lsodium -o "$WORK/core_bench"
"$WORK/core_bench" --fixture "$WORK"

cat > "$WORK/floor.c" <<'C'
int main(void) { return 0; }
C
cat > "$WORK/load.c" <<'C'
#include <dde.h>
#include <stdio.h>
int main(void) { return puts(dde_version()) < 0; }
C

# build NAME CC LIBDIR [flags...]: the three programs and the preload for one build.
build() {
    local name=$1 cc=$2 libdir=$3; shift 3
    local d=$WORK/$name
    mkdir -p "$d"
    $cc "$@" -O2 "$WORK/floor.c" -Wl,--no-as-needed -lsodium -lsqlite3 -lm -o "$d/floor"
    $cc "$@" -O2 -I build/host/include "$WORK/load.c" -L "$libdir" -ldde -o "$d/load"
    $cc "$@" -O2 -I build/host/include examples/c/verify_task.c -L "$libdir" -ldde -o "$d/verify_task"
    $cc "$@" -O2 -shared -fPIC benchmarks/resident.c -o "$d/resident.so"
}

# measure NAME LIBDIR QEMU: one table row per program: max RSS (median of 3), resident at exit.
measure() {
    local name=$1 libdir=$2 qemu=$3
    local d=$WORK/$name
    for prog in floor load verify_task; do
        local args=()
        [ "$prog" = verify_task ] && args=(verify "$WORK/task.json" "$WORK/result.json")
        local rss=()
        for _ in 1 2 3; do
            if [ -n "$qemu" ]; then
                # Debian's own loader and libc of that architecture (as on a Pi), not the sysroot's.
                /usr/bin/time -f %M -o "$d/time" "$qemu" -E LD_LIBRARY_PATH="$libdir" "$d/$prog" "${args[@]}" > "$d/out" 2>&1
            else
                LD_LIBRARY_PATH="$libdir" /usr/bin/time -f %M -o "$d/time" "$d/$prog" "${args[@]}" > "$d/out" 2>&1
            fi
            rss+=("$(tail -n1 "$d/time")")
        done
        if [ "$prog" = verify_task ] && ! grep -q '^VALID' "$d/out"; then
            echo "bench size: FAIL: $name verify_task did not accept the result: $(cat "$d/out")" >&2
            exit 1
        fi
        if [ -n "$qemu" ]; then
            "$qemu" -E LD_LIBRARY_PATH="$libdir" -E LD_PRELOAD="$d/resident.so" -E DDE_RESIDENT_OUT="$d/$prog" \
                "$d/$prog" "${args[@]}" > /dev/null 2>&1
        else
            LD_LIBRARY_PATH="$libdir" LD_PRELOAD="$d/resident.so" DDE_RESIDENT_OUT="$d/$prog" \
                "$d/$prog" "${args[@]}" > /dev/null 2>&1
        fi
        local resident
        resident=$(python3 benchmarks/resident.py "$d/$prog" --exclude "$d/resident.so" | head -n1)
        local median
        median=$(printf '%s\n' "${rss[@]}" | sort -n | sed -n 2p)
        echo "$name $prog $median $resident" >> "$WORK/results"
    done
    python3 benchmarks/resident.py "$d/verify_task" --exclude "$d/resident.so" --by-file | tail -n +2 \
        | sed "s|^|$name |" >> "$WORK/by-file"
}

: > "$WORK/results"
: > "$WORK/by-file"
build host gcc build/host/lib
measure host "$ROOT/build/host/lib" ""
for arch in $EMBEDDED_ARCHES; do
    cross_arch "$arch"
    build "$arch" "$GNU-gcc ${C_ARCH_FLAGS[*]} -Wl,-rpath-link,$CROSS_LIBDIR" "build/$arch/lib"
    measure "$arch" "$ROOT/build/$arch/lib" "$QEMU"
done

kib() { awk -v b="$1" 'BEGIN { printf "%.0f", b / 1024 }'; }
echo "| libdde.so, stripped | bytes | KiB | target |"
echo "|---|---:|---:|---|"
size=$(stat -L -c %s build/host/lib/libdde.so)
echo "| x86-64, Swift runtime inside (build/host: the Swift package and its tests) | $size | $(kib "$size") | |"
for arch in $EMBEDDED_ARCHES; do
    size=$(stat -L -c %s "build/$arch/lib/libdde.so")
    target=""
    case $arch in aarch64|armv7) target="<= 512 KiB: $([ "$size" -le 524288 ] && echo met || echo NOT MET)" ;; esac
    product=""
    [ "$arch" = x86_64 ] && product=": the x86-64 product (install.sh, the wheel)"
    echo "| $arch, Embedded Swift (build/$arch$product) | $size | $(kib "$size") | $target |"
done

echo
echo "| memory, KiB (max RSS: median of 3; resident: the program's own mappings at exit) | floor: libc, libm, libsodium, libsqlite3 | + libdde.so loaded | verify_task verify | target |"
echo "|---|---:|---:|---:|---|"
row() { # NAME FIELD(3: max RSS, 4: resident) LABEL TARGET_KIB
    local name=$1 field=$2 label=$3 target=${4:-}
    local f l v
    f=$(awk -v n="$name" -v k="$field" '$1 == n && $2 == "floor" { print $k }' "$WORK/results")
    l=$(awk -v n="$name" -v k="$field" '$1 == n && $2 == "load" { print $k }' "$WORK/results")
    v=$(awk -v n="$name" -v k="$field" '$1 == n && $2 == "verify_task" { print $k }' "$WORK/results")
    local t=""
    [ -n "$target" ] && t="<= $target KiB: $([ "$v" -le "$target" ] && echo met || echo NOT MET)"
    echo "| $label | $f | $l | $v | $t |"
}
row host 3 "x86-64, Swift runtime inside (build/host, for the Swift tests): max RSS"
row host 4 "x86-64, Swift runtime inside (build/host, for the Swift tests): resident"
row x86_64 3 "x86-64, Embedded Swift (the product: install.sh, the wheel): max RSS" 4096
row x86_64 4 "x86-64, Embedded Swift (the product: install.sh, the wheel): resident"
row aarch64 3 "aarch64 under qemu: max RSS of the emulator"
row aarch64 4 "aarch64 under qemu: resident, the program's own" 2048
row armv7 3 "armv7 under qemu: max RSS of the emulator"
row armv7 4 "armv7 under qemu: resident, the program's own"

echo
echo "| verify_task verify, resident at exit by file, KiB | host | x86_64 | aarch64 | armv7 |"
echo "|---|---:|---:|---:|---:|"
for what in libdde libc.so libsodium libsqlite3 libm.so ld-linux '[anon]' '[stack]'; do
    line="| $what |"
    for n in host x86_64 aarch64 armv7; do
        v=$(awk -v n="$n" -v w="$what" '$1 == n && index($3, w) { s += $2 } END { print s + 0 }' "$WORK/by-file")
        line+=" $v |"
    done
    echo "$line"
done
