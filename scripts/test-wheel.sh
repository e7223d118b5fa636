#!/usr/bin/env bash
# A wheel as a Python user gets it (issue 13, point 1); scripts/build-wheel.sh builds it (libdde,
# libsodium and libsqlite3 inside; auditwheel show must accept its manylinux tag).
#
#   scripts/test-wheel.sh [pytest args]   x86-64: pip-installed into a fresh venv, the Python
#       test suite (bindings/python/tests, the docstring examples, examples/python) runs against it
#       with no DDE_LIBRARY, no Swift toolchain on PATH and no build tree: the tests run from a
#       copy of what they read (dde.h, the conformance data, the examples, scripts/broker.sh) in a
#       temporary folder, and the library they load must be the wheel's. The `dde node`
#       executors of the client tests are this repository's dde command (DDE_BIN): the network
#       the user talks to, not the library under test.
#   scripts/test-wheel.sh --arch aarch64|armv7   the wheel of that architecture in Debian's own
#       Python 3.11 of that architecture (python3.11-minimal, libpython3.11-stdlib and what they
#       load, fetched with apt-get download and unpacked with dpkg -x into build/wheel-python),
#       run under qemu: the wheel is unpacked into a site folder (what pip does with it; there
#       is no pip for that Python here), and examples/python/verify_task.py creates a key and a
#       task, verifies the result an x86-64 `dde exec` signed, refuses a forged one and commits
#       to a store, whose chain `dde chain verify` then checks.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/scripts/lib.sh"
source "$ROOT/scripts/arch.sh"
cd "$ROOT"

if [ "${1:-}" = --arch ] && [ "${2:-}" != x86_64 ]; then
    [ $# -eq 2 ] || { echo "usage: scripts/test-wheel.sh [--arch x86_64|aarch64|armv7] | [pytest args]" >&2; exit 2; }
    ARCH=$2
    cross_arch "$ARCH" || exit 2
    scripts/build-wheel.sh --arch "$ARCH"
    wheel=$(ls build/dist/dde-*-manylinux_*_"$([ "$ARCH" = armv7 ] && echo armv7l || echo "$ARCH")".whl | tail -n1)
    DDE=$(dde_bin)
    # Debian's Python for that architecture, fetched once (apt-get download: the ordinary client).
    PYROOT=$ROOT/build/wheel-python/$ARCH
    if [ ! -x "$PYROOT/root/usr/bin/python3.11" ]; then
        mkdir -p "$PYROOT/debs"
        (cd "$PYROOT/debs" && apt-get download -q python3.11-minimal:"$DEB_ARCH" libpython3.11-minimal:"$DEB_ARCH" \
            libpython3.11-stdlib:"$DEB_ARCH" libffi8:"$DEB_ARCH" zlib1g:"$DEB_ARCH" libexpat1:"$DEB_ARCH" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
        for deb in "$PYROOT"/debs/*.deb; do dpkg -x "$deb" "$PYROOT/root"; done
    fi
    W=$(mktemp -d)
    trap 'rm -rf "$W"' EXIT
    mkdir -p "$W/site"
    (cd "$W/site" && unzip -q "$ROOT/$wheel")
    R=$PYROOT/root
    PY=("$QEMU" -E PYTHONHOME="$R/usr" -E PYTHONPATH="$W/site"
        -E LD_LIBRARY_PATH="$R/usr/lib/$GNU:$R/lib/$GNU" "$R/usr/bin/python3.11")
    EX=$ROOT/examples/python/verify_task.py
    cd "$W"
    export DDE_CODE_DIR=$W/code
    hash=$("$DDE" code add "$ROOT/examples/dapps/counter.wat")
    printf '{"dappId":"counter","dappCodeHash":"%s","action":"increment","requiredCapabilities":["state.read","state.write"],"timestamp":1764000000000}' "$hash" > spec.json
    "$DDE" keygen -o e.key > /dev/null
    check "$ARCH Python loads the wheel's library" bash -c \
        "env -u DDE_LIBRARY ${PY[*]} -c 'import platform, dde; p = str(dde.library_path()); assert p.startswith(\"$W/site/dde/\"), p; print(platform.machine(), p)' | tee machine.txt && grep -q '^$([ "$ARCH" = armv7 ] && echo armv7l || echo aarch64) ' machine.txt"
    check "$ARCH: keygen, create a task" bash -c "${PY[*]} $EX keygen r.key > /dev/null && ${PY[*]} $EX create r.key spec.json > task.json"
    check "$ARCH: verify an x86-64 executor's result" bash -c "'$DDE' exec --key e.key task.json > result.json && ${PY[*]} $EX verify task.json result.json | grep -q '^VALID'"
    sed 's/"executionLatency":[0-9]*/"executionLatency":1/; s/\("resultHash":"\)[0-9a-f]/\10/' result.json > forged.json
    check "$ARCH: a forged result is refused" bash -c "! ${PY[*]} $EX verify task.json forged.json > forged.txt 2>&1 && grep -q DDE_ERR_ forged.txt"
    check "$ARCH: commit to a store" bash -c "${PY[*]} $EX commit store.db r.key task.json result.json | grep -q '^COMMITTED'"
    check "dde chain verify agrees" "$DDE" chain verify --store store.db
    finish
    exit
fi
[ "${1:-}" = --arch ] && shift 2

scripts/build-wheel.sh --arch x86_64
wheel=$(ls build/dist/dde-*-manylinux_*_x86_64.whl | tail -n1)
DDE_BIN=${DDE_BIN:-$(dde_bin)}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT

tree=$W/tree
mkdir -p "$tree/bindings/python" "$tree/include" "$tree/Tests" "$tree/examples" "$tree/scripts"
cp -r bindings/python/tests "$tree/bindings/python/"
cp include/dde.h "$tree/include/"
cp -r Tests/Conformance "$tree/Tests/"
cp -r examples/python examples/dapps "$tree/examples/"
cp scripts/broker.sh "$tree/scripts/"

python3 -m venv "$W/venv"
"$W/venv/bin/pip" install -q --disable-pip-version-check pytest hypothesis rfc8785 pynacl
"$W/venv/bin/pip" install -q --disable-pip-version-check "$wheel"

# PATH without the Swift toolchain; no DDE_LIBRARY; nothing of build/ reachable by the loader.
clean_path=$(echo "$PATH" | tr ':' '\n' | grep -v -i swift | paste -sd: -)
run() {
    env -u DDE_LIBRARY -u LD_LIBRARY_PATH PATH="$clean_path" DDE_BIN="$DDE_BIN" \
        HYPOTHESIS_STORAGE_DIRECTORY="$W/hypothesis" "$@"
}
cd "$tree/bindings/python"
run "$W/venv/bin/python" - "$W/venv" <<'PY'
import sys, dde
path = str(dde.library_path())
assert path.startswith(sys.argv[1]) and "/site-packages/dde/" in path, path
print("test-wheel: dde", dde.library_version(), "loaded from", path)
PY
run "$W/venv/bin/python" -m pytest -p no:cacheprovider --doctest-modules --pyargs dde tests "$@"
