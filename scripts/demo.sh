#!/usr/bin/env bash
# The main job: a demo delegation on the embedded default (in-process transport, no broker).
# Installs what it needs, builds the `dde` command (release), and runs `dde demo`.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
scripts/install-deps.sh >/dev/null
echo "demo: building dde (release; the first build compiles WasmKit and takes a few minutes)"
swift build -c release --product dde 2>&1 | grep -E "error|warning: unre|Compiling DDE|Build complete" || true
exec "$(swift build -c release --show-bin-path)/dde" demo "$@"
