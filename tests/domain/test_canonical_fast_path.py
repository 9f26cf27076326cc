"""The verifier's fast canonical path never disagrees with the rfc8785 package.

``audit verify`` serialises with the C ``json`` encoder where that is byte-identical to RFC 8785
and falls back to ``rfc8785`` otherwise; a wrong "identical" verdict would accept a hash that an
outside RFC 8785 verifier rejects (or the reverse).
"""

from __future__ import annotations

import json
from typing import Any

import rfc8785
from hypothesis import example, given, settings
from hypothesis import strategies as st

from audit.scan import _fast_canonical
from domain.canonical import (
    JCS_SCHEME,
    NumberWatch,
    canonical_json,
    canonical_text,
    fast_jcs_equivalent,
)

_keys = st.text(
    alphabet=st.sampled_from(["a", "b", "é", "中", "\ue000", "\uffff", "😀", "𝄞", '"', "\\"]),
    max_size=4,
)
_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6)
)
_json = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_keys, inner, max_size=4),
    max_leaves=12,
)


def _fast_path_agrees(text: str) -> None:
    watch = NumberWatch()
    parsed: Any = watch.decoder().decode(text)
    if fast_jcs_equivalent(text, watch.ok):
        assert canonical_json(parsed) == rfc8785.dumps(parsed).decode("utf-8")


@settings(max_examples=300, deadline=None)
@given(_json)
@example({"\ue000": 1, "😀": 2})
@example([1e-7, 1e21, 0.1, 5e-324, 1.5, -0.0, 1e16])
@example({"genesis": "0" * 64, "n": 9007199254740991})
def test_the_fast_path_is_taken_only_where_it_equals_rfc8785(data: Any) -> None:
    _fast_path_agrees(rfc8785.dumps(data).decode("utf-8"))
    _fast_path_agrees(json.dumps(data, ensure_ascii=False))
    _fast_path_agrees(canonical_json(data))


@settings(max_examples=300, deadline=None)
@given(_json)
@example({"a": [123000000.0, -0.0, 0.5, 1e-05, 2.0**60, 1e21]})
@example({"\ue000": 1.5, "😀": [True, None]})
@example({"a": 9007199254740992.0})
def test_rfc8785_text_is_the_rfc8785_package_s_whichever_path_prints_it(data: Any) -> None:
    assert canonical_text(data, JCS_SCHEME) == rfc8785.dumps(data).decode("utf-8")


def test_plain_ascii_events_take_the_fast_path() -> None:
    text = '{"a":[1,2.5,"x"],"prev_hash":"' + "0" * 64 + '","seq":12}'
    watch = NumberWatch()
    watch.decoder().decode(text)

    assert fast_jcs_equivalent(text, watch.ok)


_any_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=6),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(alphabet=st.characters(blacklist_categories=["Cs"])), inner)
    ),
    max_leaves=12,
)


@settings(max_examples=500, deadline=None)
@given(_any_json)
@example({"é": [1.5, -0.0, 212.0, 1e-05, 1e16, 2**60, '\x01\x7f\u2028"\\'], "\ue000": 1})
@example([0.00001, 1e-7, 9.736271803787077e-05, 123456789012345678901234567890])
def test_the_verify_loop_s_orjson_path_is_taken_only_where_it_prints_the_reference_bytes(
    data: Any,
) -> None:
    legacy = canonical_json({"hash": "h", "x": data})
    fast = _fast_canonical(legacy)
    if fast is not None:
        assert fast[2] == canonical_json({"x": json.loads(legacy)["x"]}).encode("utf-8")
    doubles = _as_doubles(data)
    jcs = rfc8785.dumps({"hash": "h", "hash_scheme": JCS_SCHEME, "x": doubles}).decode("utf-8")
    fast = _fast_canonical(jcs)
    if fast is not None:
        body = {"hash_scheme": JCS_SCHEME, "x": json.loads(jcs)["x"]}
        assert fast[2] == canonical_text(body, JCS_SCHEME).encode("utf-8")


def _as_doubles(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _as_doubles(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_as_doubles(v) for v in data]
    if isinstance(data, int) and not isinstance(data, bool) and abs(data) > 2**53 - 1:
        return float(data)
    return data


_floats = st.floats(allow_nan=False, allow_infinity=False) | st.floats(
    min_value=1e-7, max_value=1e17
).map(lambda x: round(x, 3))


@settings(max_examples=1000, deadline=None)
@given(st.lists(_floats, min_size=1, max_size=6))
@example([70.0, 0.1, 1e-05, 1e-07, 1e16, 1e21, 123456.789, -0.0, 2.0**53, 2.0**53 - 1, 5e-324])
def test_floats_in_a_payload_print_as_the_reference_path_prints_them(values: list[float]) -> None:
    """Weights, volumes and doses: the orjson path prints each float as ``json.dumps`` (legacy)
    or RFC 8785 does, or leaves the envelope to the reference path, never another text."""
    for value in values:
        payload = {"weight_kg": value, "nested": [value, {"v": value}]}
        legacy = canonical_json({"hash": "h", "payload": payload})
        fast = _fast_canonical(legacy)
        assert fast is not None or value.is_integer()
        if fast is not None:
            assert fast[2] == canonical_json({"payload": payload}).encode("utf-8")
        jcs = rfc8785.dumps({"hash": "h", "hash_scheme": JCS_SCHEME, "payload": payload})
        fast = _fast_canonical(jcs.decode("utf-8"))
        body = {"hash_scheme": JCS_SCHEME, "payload": payload}
        if fast is not None:
            assert fast[2] == rfc8785.dumps(body)
            assert fast[2] == canonical_text(body, JCS_SCHEME).encode("utf-8")
        elif "e" not in repr(value) and abs(value) < 2**53:
            raise AssertionError(f"{value!r} needs no reference path")
