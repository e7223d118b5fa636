#!/usr/bin/env bash
# The x86-64 wheel as a Python user gets it (issue 13, point 1): scripts/build-wheel.sh builds it
# (libdde, libsodium and libsqlite3 inside; auditwheel show must accept its manylinux tag), then
# it is pip-installed into a fresh venv, and the Python test suite (bindings/python/tests, with
# the docstring examples and examples/python) runs against it with no DDE_LIBRARY, no Swift
# toolchain on PATH and no build tree: the tests run from a copy of what they read (dde.h, the
# conformance data, the examples, scripts/broker.sh) in a temporary folder. The library they
# load must be the wheel's (dde.library_path() inside the venv). The `dde node` executors of the
# client tests are this repository's dde command (DDE_BIN): the network the user talks to, not
# the library under test. Extra arguments go to pytest.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/scripts/lib.sh"
cd "$ROOT"

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
