"""Shared paths and fixtures. The library comes from $DDE_LIBRARY (scripts/test-python.sh sets it
to build/host/lib/libdde.so) or the package's normal search."""

from __future__ import annotations

from pathlib import Path

import pytest

import dde

#: The repository root (bindings/python/tests/conftest.py -> three levels up).
REPO = Path(__file__).resolve().parents[3]
HEADER = REPO / "include" / "dde.h"
#: Conformance data vendored with its licences (Tests/Conformance/README.md names the sources).
CONFORMANCE = REPO / "Tests" / "Conformance"


def pytest_report_header(config):
    try:
        return f"libdde: {dde.library_path()} (version {dde.library_version()})"
    except dde.DDEError as e:
        return f"libdde: NOT LOADED: {e}"


@pytest.fixture
def requester():
    from protocol import key_pair
    return key_pair(1)


@pytest.fixture
def executor():
    from protocol import key_pair
    return key_pair(2)
