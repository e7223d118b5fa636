#!/usr/bin/env bash
# One source of truth for the numbers C, Swift and Python share: abi/dde.abi (the release and ABI
# versions, the status codes, every size and limit). This check fails loudly, saying what to
# change, when a copy disagrees with it:
#   - the generated copies (include/dde.h's generated blocks, Sources/DDE/Errors/Status.swift,
#     Sources/DDE/CAPI/ABITable.swift, bindings/python/src/dde/_abi.py): scripts/gen-abi.py --check;
#   - the hand-written ones: bindings/python/src/dde/errors.py has exactly one exception class per
#     status code with its number and name; examples/c/CMakeLists.txt and the documentation
#     (README.md, docs/*.md, bindings/python/README.md) ask CMake for this MAJOR.MINOR
#     (find_package(dde MAJOR.MINOR): before 1.0 another minor is another ABI) and name the
#     library's files as this release has them (libdde.so.X.Y.Z, the soname libdde.so.N).
# Standard library Python only, no build, no library: well under a second. scripts/test.sh runs
# it before every group; the library builds run the first part (scripts/abi.sh).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
fail=0
python3 scripts/gen-abi.py --check || fail=1
python3 - <<'PY' || fail=1
import importlib.util, re, sys
spec = importlib.util.spec_from_file_location("gen_abi", "scripts/gen-abi.py")
gen = importlib.util.module_from_spec(spec)
sys.modules["gen_abi"] = gen  # dataclasses look their module up there
spec.loader.exec_module(gen)
table = gen.parse()
problems = []

# errors.py: imported by path, so neither the package nor the library is loaded.
spec = importlib.util.spec_from_file_location("dde_errors", "bindings/python/src/dde/errors.py")
errors = importlib.util.module_from_spec(spec); spec.loader.exec_module(errors)
codes = {s.code: s.macro for s in table.statuses if s.code != 0}
for code, name in sorted(codes.items()):
    cls = errors.ERRORS.get(code)
    if cls is None:
        problems.append(f"bindings/python/src/dde/errors.py: no exception class for {name} ({code}): add "
                        f"one with CODE, NAME = {code}, \"{name}\" (and list it in __all__)")
    elif cls.NAME != name:
        problems.append(f"bindings/python/src/dde/errors.py: {cls.__name__} has NAME {cls.NAME!r} for code {code}, "
                        f"abi/dde.abi names it {name}")
for code, cls in sorted(errors.ERRORS.items()):
    if code not in codes:
        problems.append(f"bindings/python/src/dde/errors.py: {cls.__name__} has code {code}, which abi/dde.abi "
                        f"does not define: remove it or add the code to the table")
classes = [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, errors.DDEError)
           and c.__dict__.get("CODE") is not None and c.__dict__.get("CODE") >= 0]
seen = {}
for c in classes:
    if c.CODE in seen and seen[c.CODE] is not c:
        problems.append(f"bindings/python/src/dde/errors.py: {seen[c.CODE].__name__} and {c.__name__} both claim code {c.CODE}")
    seen[c.CODE] = c

# The CMake version requests and the library's file names in the example and the documentation.
import glob
want = "%d.%d" % table.version[:2]
paths = ["examples/c/CMakeLists.txt", "README.md", "bindings/python/README.md"] + sorted(glob.glob("docs/*.md"))
for path in paths:
    text = open(path, encoding="utf-8").read()
    found = re.findall(r"find_package\(dde ([0-9.]+)", text)
    if not found and path in ("examples/c/CMakeLists.txt", "README.md"):
        problems.append(f"{path}: no find_package(dde X.Y ...) line")
    for v in found:
        if v != want:
            problems.append(f"{path}: find_package(dde {v} ...) but abi/dde.abi is release "
                            f"{table.version_string}: write find_package(dde {want} ...)")
    for v in sorted(set(re.findall(r"libdde\.so\.(\d+\.\d+\.\d+)", text))):
        if v != table.version_string:
            problems.append(f"{path}: names libdde.so.{v}, but the release is {table.version_string}: "
                            f"write libdde.so.{table.version_string}")
    for v in sorted(set(re.findall(r"libdde\.so\.(\d+)(?![.\d])", text))):
        if "libdde.so." + v != table.soname:
            problems.append(f"{path}: names libdde.so.{v}, but the soname is {table.soname}: write {table.soname}")

for p in problems:
    print("check-sources-of-truth: FAIL: " + p, file=sys.stderr)
sys.exit(1 if problems else 0)
PY
if [ "$fail" -ne 0 ]; then
    echo "check-sources-of-truth: FAIL: a copy disagrees with abi/dde.abi (above). The table is the one source: edit it and run scripts/gen-abi.py, then fix the hand-written copies named above." >&2
    exit 1
fi
echo "check-sources-of-truth: OK: the generated copies are current; errors.py, the CMake example and the docs agree with abi/dde.abi"
