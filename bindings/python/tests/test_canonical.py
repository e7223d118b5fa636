"""dde.canonicalize against the independent rfc8785 package, on generated documents, and on the
published JCS and ECMAScript number vectors."""

from __future__ import annotations

import json
import math
import struct

import pytest
import rfc8785
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import dde

from conftest import CONFORMANCE

# Text: any Unicode scalar (non-BMP and C0 controls included); lone surrogates are not scalars
# and cannot be written as UTF-8, so they have their own test below.
text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
# Integers within the range both sides must print exactly (RFC 8785 3.2.2.3: I-JSON, 2^53).
safe_ints = st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
finite = st.floats(allow_nan=False, allow_infinity=False)
scalars = st.none() | st.booleans() | safe_ints | finite | text
documents = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(text, inner, max_size=6),
    max_leaves=40,
).map(lambda d: d if isinstance(d, (dict, list)) else [d])  # a str alone would be JSON *text*


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
@example({"\U0001f600": "\x00\x1f\x7f\u2028", "\u00e9": [0.1, -0.0, 1e21, 1e-7, 5e-324]})
@example({"\ue000": 1, "\U00010000": 2})  # sorting by UTF-16 code units, not by code points
def test_canonical_bytes_equal_rfc8785(document):
    expected = rfc8785.dumps(document)
    assert dde.canonicalize(document) == expected
    # The same document as escaped ASCII text, and as pretty-printed text.
    assert dde.canonicalize(json.dumps(document, ensure_ascii=True).encode()) == expected
    assert dde.canonicalize(json.dumps(document, indent=2, ensure_ascii=False)) == expected


@settings(max_examples=300, deadline=None)
@given(finite)
def test_every_finite_double_formats_like_rfc8785(x):
    assert dde.canonicalize([x]) == rfc8785.dumps([x])


def test_es6_number_vectors():
    # 100,000 (IEEE bits, ECMAScript Number.prototype.toString) pairs from Tests/Conformance.
    path = CONFORMANCE / "es6numbers" / "numbers-100k.txt"
    lines = path.read_text().splitlines()
    assert len(lines) >= 100000
    checked = 0
    for line in lines:
        bits, expected = line.split(",")
        value = struct.unpack(">d", bytes.fromhex(bits.rjust(16, "0")))[0]
        if not math.isfinite(value):
            continue
        assert dde.canonicalize(repr(value)) == expected.encode(), line
        checked += 1
    assert checked >= 99000


def test_jcs_vectors():
    folder = CONFORMANCE / "jcs"
    names = sorted(p.name for p in (folder / "input").iterdir())
    assert len(names) >= 6
    for name in names:
        expected = (folder / "output" / name).read_bytes()
        assert dde.canonicalize((folder / "input" / name).read_bytes()) == expected, name
        assert rfc8785.dumps(json.loads((folder / "input" / name).read_bytes())) == expected, name


def test_large_integers_are_doubles():
    # Beyond 2^53 both sides print the double nearest to the integer, in ES6 form.
    for n in (2**53, 2**60, 10**21, 12345678901234567890):
        assert dde.canonicalize(str(n)) == dde.canonicalize(repr(float(n)))
    assert dde.canonicalize("1e21") == b"1e+21"
    assert dde.canonicalize("100000000000000000000") == b"100000000000000000000"


def test_lone_surrogates_are_refused():
    with pytest.raises(dde.JSONError):
        dde.canonicalize(b'["\\ud800"]')
    with pytest.raises(dde.DocumentError):
        dde.canonicalize(["\ud800"])  # written as CESU-8 bytes: not UTF-8


def test_strict_parsing():
    with pytest.raises(dde.DuplicateKeyError) as e:
        dde.canonicalize(b'{"a":1,"\\u0061":2}')
    assert e.value.code == 22 and e.value.message
    for bad in (b"", b"[1,]", b"\xef\xbb\xbf[]", b"[1] x", b"NaN", b"[01]", b"\xff"):
        with pytest.raises(dde.DocumentError):
            dde.canonicalize(bad)
