#!/usr/bin/env bash
# libFuzzer harnesses with AddressSanitizer over every input a peer or a file controls
# (docs/FUZZING.md): builds them (cached: nothing is rebuilt while its sources are unchanged),
# then runs each for a bounded time and prints, per harness, executions, coverage (libFuzzer's
# cov and ft at the end), corpus size and crashes.
#
#   scripts/fuzz.sh --quick [HARNESS...]         5 s each (the test command's suite)
#   scripts/fuzz.sh --long [SECONDS] [HARNESS...] SECONDS each (default 600)
#   scripts/fuzz.sh --jobs N --long ...          N harnesses at a time (default 1; each is one process)
#   scripts/fuzz.sh --build                      only build
#   scripts/fuzz.sh --seeds                      rewrite the generated seeds in fuzz/corpus/
#   scripts/fuzz.sh --list                       the harnesses
#
# Build outputs, the growing corpora (build/fuzz/corpus/NAME), crash files
# (build/fuzz/artifacts/NAME/crash-*), logs and a results table all live under build/fuzz/.
# Reproduce a crash: build/fuzz/fuzz-NAME build/fuzz/artifacts/NAME/crash-... (runs that input).
# Exit status: 0 when no harness crashed, 1 when one did, 2 on a usage or build error.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

OUT=${DDE_FUZZ_OUT:-build/fuzz}   # relative to the repository root
HARNESSES=(json number task result envelope presence session evidence receipt keyfile storeoptions chunk mqtt)

usage() { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

jobs=1
if [ "${1:-}" = --jobs ]; then
    [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || usage
    jobs=$2; shift 2
fi
mode=${1:-}
[ -n "$mode" ] || usage
shift
seconds=5
case $mode in
    --quick) ;;
    --long)
        seconds=600
        if [ $# -gt 0 ] && [[ $1 =~ ^[0-9]+$ ]]; then seconds=$1; shift; fi ;;
    --build|--seeds) ;;
    --list) printf '%s\n' "${HARNESSES[@]}"; exit 0 ;;
    *) usage ;;
esac
selected=("$@")
[ ${#selected[@]} -gt 0 ] || selected=("${HARNESSES[@]}")
for h in "${selected[@]}"; do
    [[ " ${HARNESSES[*]} " == *" $h "* ]] || { echo "fuzz.sh: unknown harness '$h' (${HARNESSES[*]})" >&2; exit 2; }
done

for tool in swiftc clang; do
    command -v "$tool" >/dev/null || { echo "fuzz.sh: $tool not on PATH (the Swift toolchain ships both)" >&2; exit 2; }
done

# ---- build

# The core (Sources/DDE) is compiled once into one object with -enable-testing, so the harnesses
# reach internal API (the direct result reader, the key file parser) through @testable import;
# the harness files are a second, small module linked with it into one binary, dde-fuzz.
SANITIZE=fuzzer,address
SWIFT_FLAGS=(-O -g -parse-as-library -sanitize=$SANITIZE -I Sources/CDDE/include)
C_FLAGS=(-g -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -I Sources/CDDE/include)
LINKER=()
command -v ld.lld >/dev/null && LINKER=(-use-ld=lld)

# stamp NAME FILES...: the hash of the files' contents, the flags and the compiler; true (and
# nothing to do) when it matches the last successful build's.
stamp_of() { { swiftc --version 2>&1; echo "${SWIFT_FLAGS[*]} ${C_FLAGS[*]} ${LINKER[*]}"; cat "$@"; } | sha256sum | cut -d' ' -f1; }
fresh() { local s; s=$(stamp_of "${@:2}"); [ -f "$OUT/$1.stamp" ] && [ "$(cat "$OUT/$1.stamp")" = "$s" ]; }
mark() { stamp_of "${@:2}" > "$OUT/$1.stamp"; }

build() {
    mkdir -p "$OUT/obj" "$OUT/core" "$OUT/logs" "$OUT/tmp"
    local start=$SECONDS
    mapfile -t core_sources < <(find Sources/DDE -name '*.swift' | LC_ALL=C sort)
    mapfile -t c_sources < <(find Sources/CDDE -name '*.c' | LC_ALL=C sort)
    mapfile -t c_headers < <(find Sources/CDDE/include -type f | LC_ALL=C sort)
    mapfile -t harness_sources < <(find fuzz/Sources -name '*.swift' | LC_ALL=C sort)

    if ! fresh cdde "${c_sources[@]}" "${c_headers[@]}"; then
        echo "fuzz.sh: compiling the C shim (clang -fsanitize=fuzzer-no-link,address,undefined)"
        rm -f "$OUT"/obj/*.o
        for c in "${c_sources[@]}"; do
            clang -c "${C_FLAGS[@]}" "$c" -o "$OUT/obj/$(basename "$c" .c).o"
        done
        mark cdde "${c_sources[@]}" "${c_headers[@]}"
        rm -f "$OUT/core.stamp"
    fi

    if ! fresh core "${core_sources[@]}" "${c_headers[@]}"; then
        echo "fuzz.sh: compiling the core, ${#core_sources[@]} files (swiftc -wmo -O -sanitize=$SANITIZE; a few minutes)"
        local t=$SECONDS
        rm -f "$OUT/link.stamp"
        if ! swiftc -c -wmo "${SWIFT_FLAGS[@]}" -module-name DDE -enable-testing \
                -emit-module -emit-module-path "$OUT/core/DDE.swiftmodule" \
                "${core_sources[@]}" -o "$OUT/core/DDE.o" > "$OUT/logs/build-core.log" 2>&1; then
            cat "$OUT/logs/build-core.log" >&2
            echo "fuzz.sh: the core did not compile" >&2
            exit 2
        fi
        mark core "${core_sources[@]}" "${c_headers[@]}"
        echo "fuzz.sh: core compiled in $((SECONDS - t)) s"
    fi

    if ! fresh link "${harness_sources[@]}" "$OUT/core.stamp" "$OUT/cdde.stamp" || [ ! -x "$OUT/dde-fuzz" ]; then
        echo "fuzz.sh: compiling and linking the Swift harnesses (${#harness_sources[@]} files)"
        if ! swiftc "${SWIFT_FLAGS[@]}" "${LINKER[@]}" -module-name DDEFuzz -I "$OUT/core" \
                "${harness_sources[@]}" "$OUT/core/DDE.o" "$OUT"/obj/*.o -lsodium -lsqlite3 \
                -o "$OUT/dde-fuzz" > "$OUT/logs/build-harness.log" 2>&1; then
            cat "$OUT/logs/build-harness.log" >&2
            echo "fuzz.sh: the harnesses did not build" >&2
            exit 2
        fi
        mark link "${harness_sources[@]}" "$OUT/core.stamp" "$OUT/cdde.stamp"
    fi

    local mqtt_sources=(fuzz/c/mqtt_queue.c Sources/CDDE/cdde_mqtt.c Sources/CDDE/cdde.c Sources/CDDE/cdde_trace.c "${c_headers[@]}")
    if ! fresh mqtt "${mqtt_sources[@]}" || [ ! -x "$OUT/fuzz-mqtt" ]; then
        echo "fuzz.sh: building the C harness of the MQTT shim (clang -fsanitize=fuzzer,address,undefined)"
        local cl=()
        command -v ld.lld >/dev/null && cl=(-fuse-ld=lld)
        clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined "${cl[@]}" \
            -I Sources/CDDE/include fuzz/c/mqtt_queue.c Sources/CDDE/cdde.c Sources/CDDE/cdde_trace.c -lsodium -lpthread -ldl -o "$OUT/fuzz-mqtt"
        mark mqtt "${mqtt_sources[@]}"
    fi

    for h in "${HARNESSES[@]}"; do
        [ "$h" = mqtt ] || ln -sf dde-fuzz "$OUT/fuzz-$h"
    done
    echo "fuzz.sh: build up to date ($((SECONDS - start)) s)"
}

build
[ "$mode" = --build ] && exit 0

# The runtime's own crash reporter would race libFuzzer's handler: off, so that a Swift trap
# (index out of range, overflow, a failed `expect`) is a libFuzzer "deadly signal" with a crash file.
export SWIFT_BACKTRACE=enable=no
export DDE_FUZZ_TMP="$ROOT/$OUT/tmp"
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

if [ "$mode" = --seeds ]; then
    "$OUT/fuzz-json" --write-seeds fuzz/corpus
    exit 0
fi

# Corpus folders: the working corpus first (libFuzzer adds new inputs there), then the committed
# seeds, then test data read in place.
corpus_dirs() {
    local h=$1
    echo "$OUT/corpus/$h"
    [ -d "fuzz/corpus/$h" ] && echo "fuzz/corpus/$h"
    if [ "$h" = json ]; then
        echo Tests/Conformance/jsontestsuite/test_parsing
        echo Tests/Conformance/jcs/input
    fi
    return 0
}

rm -rf "$OUT/tmp"
mkdir -p "$OUT/tmp"
results="$OUT/results-${mode#--}.md"
{
    echo "scripts/fuzz.sh $mode: $seconds s per harness, $jobs at a time, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
    echo
    echo "| harness | seconds | executions | exec/s | cov | ft | corpus | crashes |"
    echo "|---|---:|---:|---:|---:|---:|---:|---|"
} > "$results"
printf '%-13s %7s %12s %8s %6s %7s %7s  %s\n' harness seconds executions exec/s cov ft corpus crashes
total_start=$SECONDS
rm -rf "$OUT/rows"
mkdir -p "$OUT/rows"

# run_one NAME: runs one harness; its table row goes to $OUT/rows/NAME, its exit status to
# $OUT/rows/NAME.rc (rows are printed in the harnesses' order once all have ended).
run_one() {
    local h=$1 dirs dict log start rc took execs rate last cov ft corp verdict artifact reason
    mapfile -t dirs < <(corpus_dirs "$h")
    mkdir -p "$OUT/corpus/$h" "$OUT/artifacts/$h"
    log="$OUT/logs/$h.log"
    # The protocol's member names and JSON tokens, for every harness that reads JSON.
    dict=()
    case $h in number|mqtt) ;; *) dict=(-dict=fuzz/dde.dict) ;; esac
    start=$SECONDS
    set +e
    "$OUT/fuzz-$h" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=2560 -max_len=16384 \
        -print_final_stats=1 -artifact_prefix="$OUT/artifacts/$h/" "${dict[@]}" "${dirs[@]}" > "$log" 2>&1
    rc=$?
    set -e
    took=$((SECONDS - start))
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1 || true)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<< "$last")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<< "$last")
    corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<< "$last")
    if [ "$rc" -eq 0 ]; then
        verdict=0
    else
        artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
        reason=$(grep -m1 -E 'ERROR: libFuzzer|ERROR: AddressSanitizer|runtime error|Fatal error|fuzz invariant|ERROR: LeakSanitizer' "$log" || echo "exit $rc")
        verdict="1: ${artifact:-see $log} (${reason})"
    fi
    printf '%-13s %7s %12s %8s %6s %7s %7s  %s\n' "$h" "$took" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$verdict" > "$OUT/rows/$h"
    echo "| $h | $took | ${execs:-?} | ${rate:-?} | ${cov:-?} | ${ft:-?} | ${corp:-?} | $verdict |" > "$OUT/rows/$h.md"
    echo "$rc" > "$OUT/rows/$h.rc"
}

for h in "${selected[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
    run_one "$h" &
done
wait
crashed=0
for h in "${selected[@]}"; do
    cat "$OUT/rows/$h"
    cat "$OUT/rows/$h.md" >> "$results"
    [ "$(cat "$OUT/rows/$h.rc")" = 0 ] || crashed=1
done
echo "fuzz.sh: $mode run took $((SECONDS - total_start)) s; table in $results, logs in $OUT/logs/"
exit "$crashed"
