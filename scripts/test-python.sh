#!/usr/bin/env bash
# Tests the Python package (bindings/python) against the real libdde.so:
#   - brings build/host/lib/libdde.so up to date with scripts/build-lib.sh (unless DDE_NO_BUILD=1)
#     (DDE_NO_BUILD=1: never build, fail if it is missing);
#   - creates a venv in build/venv (python3 -m venv; python3-venv comes from install-deps.sh),
#     pip installs the package from bindings/python and the test dependencies from PyPI;
#   - brings the `dde` command up to date (scripts/lib.sh dde_bin: swift build --build-tests) unless $DDE_BIN is set:
#     tests/test_client.py runs `dde node` executors against a Mosquitto broker it starts;
#   - runs pytest (the tests and the docstring examples) with DDE_LIBRARY pointing at the library
#     and DDE_BIN at the dde command.
# Extra arguments go to pytest (e.g. -k verify). Ends with pytest's summary line; exits non-zero
# on any failure.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/scripts/lib.sh"
cd "$ROOT"

LIB=$ROOT/build/host/lib/libdde.so
VENV=${DDE_VENV:-$ROOT/build/venv}

ensure_lib

if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
    echo "test-python: python3-venv is missing; running scripts/install-deps.sh" >&2
    scripts/install-deps.sh
fi
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
PY=$VENV/bin/python
"$PY" -m pip install -q --disable-pip-version-check pytest hypothesis rfc8785 pynacl
# Reinstall every time: the venv must test the working tree's package, not an older copy.
"$PY" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps "$ROOT/bindings/python"

DDE_BIN=${DDE_BIN:-$(dde_bin)}
export DDE_BIN
export DDE_LIBRARY=$LIB
# Hypothesis keeps its example database under build/, out of the source tree.
export HYPOTHESIS_STORAGE_DIRECTORY=$ROOT/build/hypothesis
cd "$ROOT/bindings/python"
# -p no:cacheprovider: no .pytest_cache in the source tree. --pyargs dde: the docstring examples
# of the installed package (the one the tests import), not of src/.
exec "$PY" -m pytest -p no:cacheprovider --doctest-modules --pyargs dde tests "$@"
