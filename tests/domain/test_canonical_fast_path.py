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

from domain.canonical import NumberWatch, canonical_json, fast_jcs_equivalent

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


def test_plain_ascii_events_take_the_fast_path() -> None:
    text = '{"a":[1,2.5,"x"],"prev_hash":"' + "0" * 64 + '","seq":12}'
    watch = NumberWatch()
    watch.decoder().decode(text)

    assert fast_jcs_equivalent(text, watch.ok)
