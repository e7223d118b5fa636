"""The header, the library and this package must agree: status codes, names, sizes, limits, kinds,
versions and function signatures. abi/dde.abi is the source of truth for the numbers (include/dde.h
and dde/_abi.py are generated from it; scripts/check-sources-of-truth.sh checks them in every test
group); these tests check the built library too."""

from __future__ import annotations

import re

import pytest

import dde
from dde import _abi, _library
from dde.errors import ERRORS, DDEError

from conftest import HEADER

TEXT = HEADER.read_text()
ERR_CODES = {m.group(1): int(m.group(2))
             for m in re.finditer(r"^#define\s+(DDE_ERR_\w+)\s+(-?\d+)", TEXT, re.M)}


def header_int(name: str) -> int:
    m = re.search(rf"^#define\s+{name}\s+(\d+)U?\b", TEXT, re.M)
    assert m, f"{name} not in {HEADER}"
    return int(m.group(1))


def test_header_was_parsed():
    # Guards the tests below against a regex that silently matches nothing.
    assert len(ERR_CODES) >= 50
    assert ERR_CODES["DDE_ERR_ARGUMENT"] == 1 and ERR_CODES["DDE_ERR_BUSY"] == 103


@pytest.mark.parametrize("name,code", sorted(ERR_CODES.items(), key=lambda kv: kv[1]))
def test_every_header_code_has_its_class_and_library_name(name, code):
    assert code in ERRORS, f"{name} ({code}) has no exception class in dde/errors.py"
    cls = ERRORS[code]
    assert cls.CODE == code and cls.NAME == name
    assert issubclass(cls, DDEError) and cls.__doc__
    assert dde.status_name(code) == name, "the library names this code differently from the header"
    message = dde.status_message(code)
    assert message and message != "unknown status code"


def test_no_python_class_for_a_code_the_header_lacks():
    stale = {code: cls.__name__ for code, cls in ERRORS.items() if code not in ERR_CODES.values()}
    assert stale == {}


def test_codes_are_unique_in_the_header():
    assert len(set(ERR_CODES.values())) == len(ERR_CODES)


def test_ok_and_unknown_codes():
    assert header_int("DDE_OK") == 0
    assert dde.status_name(0) == "DDE_OK"
    for code in (-1, 6, 19, 999, 2**31 - 1, -(2**31), 2**40):
        if code not in ERR_CODES.values():
            assert dde.status_name(code) == "DDE_ERR_UNKNOWN"
            assert dde.error_class(code) is DDEError


def test_every_class_is_exported_from_the_package():
    for cls in ERRORS.values():
        assert getattr(dde, cls.__name__) is cls


def test_sizes_kinds_and_versions():
    assert dde.PUBLICKEYBYTES == header_int("DDE_PUBLICKEYBYTES")
    assert dde.SECRETKEYBYTES == header_int("DDE_SECRETKEYBYTES")
    assert dde.SEEDBYTES == header_int("DDE_SEEDBYTES")
    assert dde.SIGNATUREBYTES == header_int("DDE_SIGNATUREBYTES")
    assert dde.HASHBYTES == header_int("DDE_HASHBYTES")
    assert _library.HASHHEXBYTES == header_int("DDE_HASHHEXBYTES")
    for kind in dde.SignatureKind:
        assert kind.value == header_int(f"DDE_KIND_{kind.name}")
    version = re.search(r'#define DDE_VERSION_STRING "([^"]+)"', TEXT).group(1)
    assert dde.library_version() == version == dde.__version__
    number = header_int("DDE_VERSION_NUMBER")
    assert (number // 1000000, number // 1000 % 1000) == _library.EXPECTED_VERSION
    assert dde.DenyReason.BANNED == ERR_CODES["DDE_ERR_EXECUTOR_BANNED"]
    assert dde.DenyReason.BLACKLISTED == ERR_CODES["DDE_ERR_EXECUTOR_BLACKLISTED"]


def _header_functions():
    flat = re.sub(r"/\*.*?\*/", " ", TEXT, flags=re.S)
    flat = re.sub(r"^\s*#.*$", " ", flat, flags=re.M)  # preprocessor lines are no declarations
    flat = re.sub(r"\s+", " ", flat)
    found = {}
    for m in re.finditer(r"([\w\s\*]+?)\b(dde_\w+)\s*\(([^)]*)\)\s*;", flat):
        ret, name, params = m.group(1).strip(), m.group(2), m.group(3).strip()
        ret = re.sub(r"^DDE_NODISCARD\s+", "", ret)  # an attribute, not part of the type
        count = 0 if params in ("", "void") else params.count(",") + 1
        found[name] = (ret, count)
    return found


def test_every_prototype_matches_the_header():
    functions = _header_functions()
    assert len(functions) >= 30
    for name, (restype, argtypes) in _library._PROTOTYPES.items():
        assert name in functions, f"{name} is declared in Python but not in dde.h"
        ret, count = functions[name]
        assert len(argtypes) == count, f"{name}: {len(argtypes)} argtypes, the header has {count} parameters"
        assert (restype is None) == (ret == "void"), f"{name}: restype {restype} vs {ret}"
        if ret in ("int",):
            assert restype is _library.c_int
        if ret == "size_t":
            assert restype is _library.c_size_t
        if ret.startswith("const char"):
            assert restype is _library.c_char_p


def test_every_size_and_limit_agrees_with_the_header_and_the_library():
    lib = _library.library()
    assert len(_abi.CONSTANTS) >= 20
    functions = _header_functions()
    for name, (function, value, ctype) in _abi.CONSTANTS.items():
        assert header_int(f"DDE_{name}") == value, f"DDE_{name}"
        assert functions[function] == (ctype, 0), f"{function} in dde.h"
        assert getattr(lib, function)() == value, f"{function}() of the library"
        assert getattr(dde, name) == value, f"dde.{name} is not exported"
    # The limits the package enforces itself before calling the library.
    assert dde.client.MAX_EXECUTORS == header_int("DDE_MAX_EXECUTORS")


def test_abi_version_and_soname():
    assert header_int("DDE_ABI_VERSION_MAJOR") == _abi.ABI_VERSION_MAJOR == dde.ABI_VERSION_MAJOR
    assert header_int("DDE_ABI_VERSION_MINOR") == _abi.ABI_VERSION_MINOR == dde.ABI_VERSION_MINOR
    soname = re.search(r'#define DDE_SONAME "([^"]+)"', TEXT).group(1)
    assert soname == _abi.SONAME == f"libdde.so.{_abi.ABI_VERSION_MAJOR}"
    assert _library.LIBRARY_NAMES[0] == soname  # the loader looks for the soname first
    major, minor = dde.abi_version()
    assert major == _abi.ABI_VERSION_MAJOR and minor >= _abi.ABI_VERSION_MINOR
