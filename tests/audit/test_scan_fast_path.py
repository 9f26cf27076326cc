"""The verify loop's fast paths decide every row exactly as its reference path does.

``StreamScan.scan`` parses with orjson and re-serialises envelopes itself (floats printed as the
reference path prints them), and compares time columns without building aware copies; the
reference path parses with ``json``, serialises with the reference serialisers and lets
``row_problem`` compare every column. Each test here scans the same rows both ways (the
reference way by switching the fast paths off) and expects the same problems, chain tails,
Merkle leaves, places and log gaps: a row the fast path accepted but the reference path would
reject (or the reverse) fails the comparison.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from unittest import mock

import orjson
import pytest
import rfc8785
from hypothesis import example, given, settings
from hypothesis import strategies as st

from audit import scan as scan_module
from audit.scan import StreamScan
from domain.canonical import canonical_text, hash_envelope, sha256_hex
from store.log import log_store
from store.sql import SqlEventStore
from tests.audit.tamper import populate
from tests.store.builders import Chain, consent, registered

Row = tuple[Any, ...]
Outcome = tuple[Any, ...]


@pytest.fixture(scope="module")
def rows(tmp_path_factory: pytest.TempPathFactory) -> list[Row]:
    """RFC 8785 streams with and without floats in their payloads, and a legacy one, as stored."""
    path: Path = tmp_path_factory.mktemp("scan") / "scan.db"
    store = SqlEventStore(f"sqlite:///{path}")
    populate(store)
    plain = Chain("S-JCS")
    store.append(plain.next(registered("S-JCS")))
    store.append(plain.next(consent()))
    legacy = Chain("S-LEG", hash_scheme=None)
    store.append(legacy.next(registered("S-LEG"), consent()))
    store.append(legacy.next(registered("S-LEG")))
    found = [row for page in log_store(store).raw_pages() for row in page]
    store.close()
    return found


def _missing(env: dict[str, Any]) -> Any:
    raise KeyError("switched off")


@contextmanager
def _reference_only() -> Iterator[None]:
    with (
        mock.patch.object(scan_module, "_fast_body", lambda body, text: None),
        mock.patch.object(scan_module, "_checked_fields", _missing),
    ):
        yield


def _scan(rows: list[Row]) -> Outcome:
    scan = StreamScan()
    next_index = scan.scan(rows, 0)
    problems = sorted((p.stream, p.seq, p.problem) for p in scan.problems.values())
    return problems, scan.tails, scan.leaves, scan.places, scan.log_gaps, scan.events, next_index


def _both_ways(rows: list[Row]) -> Outcome:
    fast = _scan(rows)
    with _reference_only():
        reference = _scan(rows)
    assert fast == reference
    return fast


def _problems(outcome: Outcome) -> list[tuple[str, int, str]]:
    found: list[tuple[str, int, str]] = outcome[0]
    return found


def _at(rows: list[Row], stream: str, seq: int) -> int:
    return next(i for i, row in enumerate(rows) if row[1] == stream and row[2] == seq)


_COLUMNS = (
    "log_index", "stream", "seq", "type", "occurred_at", "recorded_at", "actor_id", "prev_hash",
    "hash", "envelope",
)  # fmt: skip


def _with(rows: list[Row], index: int, **columns: Any) -> list[Row]:
    row = list(rows[index])
    for name, value in columns.items():
        row[_COLUMNS.index(name)] = value
    changed = list(rows)
    changed[index] = tuple(row)
    return changed


def _envelope(rows: list[Row], index: int) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(rows[index][9])
    return data


def _rehashed(env: dict[str, Any]) -> dict[str, Any]:
    """``env`` with the hash the reference computes for it (kept as is where it cannot)."""
    try:
        return {**env, "hash": hash_envelope(env)}
    except ValueError:
        return env


def _canonical(env: dict[str, Any]) -> str:
    """The text the store would write, or a near one where there is none.

    A lone surrogate cannot be stored as UTF-8 text by either database, only as an escape.
    """
    try:
        text = canonical_text(env, env.get("hash_scheme"))
    except ValueError:
        text = json.dumps(env, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(env, sort_keys=True, separators=(",", ":"))
    return text


def test_untouched_rows_agree_and_are_clean(rows: list[Row]) -> None:
    outcome = _both_ways(rows)

    assert _problems(outcome) == []
    assert outcome[5] == len(rows)


# Indexed columns changed by SQL (the envelope left alone): SQLite text, numbers, NULL, other
# spellings of the same instant, and the datetimes PostgreSQL returns.
_COLUMN_EDITS: dict[str, dict[str, Any]] = {
    "type": {"type": "consent.withdrawn"},
    "actor_id": {"actor_id": "mallory"},
    "actor_id NULL": {"actor_id": None},
    "prev_hash": {"prev_hash": "0" * 64},
    "hash upper-case": {"hash": "UPPER"},
    "stream": {"stream": "S-002"},
    "seq": {"seq": 99},
    "log_index gap": {"log_index": 40},
    "occurred_at T separator": {"occurred_at": "2025-03-03T09:00:00.000000"},
    "occurred_at no microseconds": {"occurred_at": "2025-03-03 09:00:00"},
    "occurred_at same instant with offset": {"occurred_at": "2025-03-03 10:00:00+01:00"},
    "occurred_at +00:00": {"occurred_at": "2025-03-03 09:00:00.000000+00:00"},
    "occurred_at one microsecond later": {"occurred_at": "2025-03-03 09:00:00.000001"},
    "occurred_at a day later": {"occurred_at": "2025-03-04 09:00:00.000000"},
    "occurred_at a number": {"occurred_at": 5},
    "occurred_at NULL": {"occurred_at": None},
    "occurred_at garbage": {"occurred_at": "yesterday"},
    "occurred_at impossible date": {"occurred_at": "2025-02-30 09:00:00.000000"},
    "occurred_at aware datetime": {"occurred_at": datetime(2025, 3, 3, 9, tzinfo=UTC)},
    "occurred_at aware datetime in +02:00": {
        "occurred_at": datetime(2025, 3, 3, 11, tzinfo=timezone(timedelta(hours=2)))
    },
    "occurred_at naive datetime": {"occurred_at": datetime(2025, 3, 3, 9)},
    "occurred_at aware datetime a second later": {
        "occurred_at": datetime(2025, 3, 3, 9, 0, 1, tzinfo=UTC)
    },
    "recorded_at a day later": {"recorded_at": "2025-03-04 09:00:00.000000"},
    "recorded_at bytes": {"recorded_at": b"2025-03-03 09:00:00.000000"},
}


@pytest.mark.parametrize("edit", list(_COLUMN_EDITS), ids=list(_COLUMN_EDITS))
def test_a_changed_column_is_judged_alike(rows: list[Row], edit: str) -> None:
    index = _at(rows, "S-JCS", 1)
    assert rows[index][4] == "2025-03-03 09:00:00.000000"

    _both_ways(_with(rows, index, **_COLUMN_EDITS[edit]))


def test_the_same_instant_written_otherwise_in_a_column_is_no_problem(rows: list[Row]) -> None:
    index = _at(rows, "S-JCS", 1)

    for edit in ("T separator", "same instant with offset", "+00:00", "aware datetime"):
        changed = _with(rows, index, **_COLUMN_EDITS[f"occurred_at {edit}"])
        assert _problems(_both_ways(changed)) == [], edit


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(env: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = env
        for key in parents:
            node = node[key]
        node[last] = value

    return change


def _drop(key: str) -> Callable[[dict[str, Any]], None]:
    def change(env: dict[str, Any]) -> None:
        env.pop(key, None)

    return change


# Envelope edits; each is tried with the stored hash kept and with the hash recomputed.
_ENVELOPE_EDITS: dict[str, Callable[[dict[str, Any]], None]] = {
    "payload value": _set("payload.subject_id", "S-999"),
    "payload float": _set("payload.x", 1.5),
    "payload integral float": _set("payload.x", 2.0),
    "payload negative zero": _set("payload.x", -0.0),
    "payload small float": _set("payload.x", 1e-07),
    "payload large float": _set("payload.x", 1e16),
    "payload 2**53 + 1": _set("payload.x", 2**53 + 1),
    "payload 2**64": _set("payload.x", 2**64),
    "payload 2**70": _set("payload.x", 2**70),
    "payload keys sorting apart in UTF-16": _set("payload.x", {"\ue000": 1, "😀": 2}),
    "payload lone surrogate": _set("payload.x", "\ud800"),
    "payload control characters": _set("payload.x", '\x01\x7f\u2028"\\'),
    "payload nested floats": _set("payload.x", [[{"y": [0.1]}]]),
    "seq true": _set("seq", True),
    "seq float": _set("seq", 1.0),
    "seq as text": _set("seq", "3"),
    "stream": _set("stream", "S-002"),
    "type": _set("type", "consent.withdrawn"),
    "actor not an object": _set("actor", "coord-1"),
    "actor without user_id": _set("actor", {"role": "pi"}),
    "occurred_at with an offset, same instant": _set("occurred_at", "2025-03-03T10:00:00+01:00"),
    "occurred_at naive": _set("occurred_at", "2025-03-03T09:00:00"),
    "occurred_at a number": _set("occurred_at", 5),
    "occurred_at impossible date": _set("occurred_at", "2025-02-30T09:00:00Z"),
    "recorded_at with microseconds": _set("recorded_at", "2025-03-03T09:00:00.000000Z"),
    "legacy scheme": _drop("hash_scheme"),
    "scheme null": _set("hash_scheme", None),
    "unknown scheme": _set("hash_scheme", "sha1"),
    "scheme a number": _set("hash_scheme", 5),
    "no hash": _drop("hash"),
    "hash null": _set("hash", None),
    "hash a number": _set("hash", 5),
    "prev_hash": _set("prev_hash", "1" * 64),
}


@pytest.mark.parametrize("rehash", [False, True], ids=["hash kept", "hash recomputed"])
@pytest.mark.parametrize("target", [("S-JCS", 1), ("S-LEG", 2)], ids=["rfc8785", "legacy"])
@pytest.mark.parametrize("edit", list(_ENVELOPE_EDITS), ids=list(_ENVELOPE_EDITS))
def test_a_changed_envelope_is_judged_alike(
    rows: list[Row], edit: str, target: tuple[str, int], rehash: bool
) -> None:
    index = _at(rows, *target)
    env = _envelope(rows, index)
    _ENVELOPE_EDITS[edit](env)
    if rehash:
        env = _rehashed(env)

    _both_ways(_with(rows, index, envelope=_canonical(env)))


# The same content stored as other text: escapes, whitespace, key order, floats as orjson
# prints them, duplicate keys, surrounding whitespace, or no JSON object at all.
_TEXT_FORMS: dict[str, Callable[[dict[str, Any]], str]] = {
    "ascii escapes": lambda env: json.dumps(env, sort_keys=True, separators=(",", ":")),
    "spaces": lambda env: json.dumps(env, sort_keys=True, ensure_ascii=False),
    "keys unsorted": lambda env: json.dumps(
        dict(reversed(env.items())), separators=(",", ":"), ensure_ascii=False
    ),
    "orjson's numbers": lambda env: orjson.dumps(env, option=orjson.OPT_SORT_KEYS).decode(),
    "duplicate key, last wins": lambda env: '{"seq":99,' + _canonical(env)[1:],
    "duplicate key at the end": lambda env: _canonical(env)[:-1] + ',"seq":99}',
    "leading space": lambda env: " " + _canonical(env),
    "trailing newline": lambda env: _canonical(env) + "\n",
    "trailing data": lambda env: _canonical(env) + "{}",
    "NaN": lambda env: _canonical(env)[:-1] + ',"x":NaN}',
    "overflowing number": lambda env: _canonical(env)[:-1] + ',"x":1e400}',
    "a list": lambda env: "[" + _canonical(env) + "]",
    "not JSON": lambda env: _canonical(env)[:-1],
    "empty": lambda env: "",
}


def _hash_over(text: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The hash an outside writer would store for ``text``: over its bytes without the member."""
    return lambda env: {**env, "hash": sha256_hex(text)}


@pytest.mark.parametrize(
    "payload",
    [{}, {"x": {"\ue000": 1, "😀": 2}}, {"x": [1e-07, 2.0, -0.0, 1e16, 0.1]}, {"x": "é\u2028"}],
    ids=["plain", "keys sorting apart in UTF-16", "floats", "non-ASCII"],
)
@pytest.mark.parametrize("target", [("S-JCS", 1), ("S-LEG", 2)], ids=["rfc8785", "legacy"])
@pytest.mark.parametrize("form", list(_TEXT_FORMS), ids=list(_TEXT_FORMS))
def test_the_same_envelope_stored_as_other_text_is_judged_alike(
    rows: list[Row], form: str, target: tuple[str, int], payload: dict[str, Any]
) -> None:
    index = _at(rows, *target)
    env = _envelope(rows, index)
    env["payload"].update(payload)
    honest = _rehashed(env)
    _both_ways(_with(rows, index, envelope=_TEXT_FORMS[form](honest)))
    # Hashed as a writer with other serialisers would: over the text it printed.
    body = {k: v for k, v in env.items() if k != "hash"}
    printed = orjson.dumps(body, option=orjson.OPT_SORT_KEYS).decode()
    _both_ways(_with(rows, index, envelope=_TEXT_FORMS[form](_hash_over(printed)(env))))


_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=10,
)


@settings(max_examples=200, deadline=None)
@given(value=_json_values, legacy=st.booleans(), escaped=st.booleans(), honest=st.booleans())
@example(value={"\ue000": 1.0, "😀": [2**60, 1e21]}, legacy=False, escaped=True, honest=True)
@example(value=[9.736271803787077e-05, 123456789012345678901234567890], legacy=True,
         escaped=False, honest=False)  # fmt: skip
def test_any_payload_value_is_judged_alike(
    rows: list[Row], value: Any, legacy: bool, escaped: bool, honest: bool
) -> None:
    index = _at(rows, "S-LEG", 3) if legacy else _at(rows, "S-JCS", 2)
    env = _envelope(rows, index)
    env["payload"]["x"] = value
    if honest:
        env = _rehashed(env)
    else:
        body = {k: v for k, v in env.items() if k != "hash"}
        with suppress(orjson.JSONEncodeError):
            env["hash"] = sha256_hex(orjson.dumps(body, option=orjson.OPT_SORT_KEYS).decode())
    text = json.dumps(env, sort_keys=True, separators=(",", ":")) if escaped else _canonical(env)

    outcome = _both_ways(_with(rows, index, envelope=text, hash=env.get("hash")))
    if honest and not escaped:
        assert _problems(outcome) == [], value


# What the fast paths used to get wrong, or the reference path with them.


def test_an_rfc8785_envelope_stored_with_escaped_keys_verifies_as_an_outside_verifier_would(
    rows: list[Row],
) -> None:
    index = _at(rows, "S-JCS", 2)
    env = _envelope(rows, index)
    env["payload"]["x"] = {"\ue000": 1, "😀": 2}
    env = _rehashed(env)
    escaped = json.dumps(env, sort_keys=True, separators=(",", ":"))
    body = json.loads(escaped)
    del body["hash"]
    assert sha256_hex(rfc8785.dumps(body).decode()) == env["hash"]

    changed = _with(rows, index, envelope=escaped, hash=env["hash"])
    assert _problems(_both_ways(changed)) == []


def test_an_envelope_with_whitespace_around_it_is_reported(rows: list[Row]) -> None:
    index = _at(rows, "S-002", 4)

    changed = _with(rows, index, envelope=rows[index][9] + "\n")

    assert _problems(_both_ways(changed)) == [("S-002", 4, "envelope is not one JSON object")]


def test_an_impossible_time_forged_into_both_envelope_and_column_is_reported(
    rows: list[Row],
) -> None:
    index = _at(rows, "S-LEG", 2)
    env = _envelope(rows, index)
    env["occurred_at"] = "2025-02-30T09:00:00Z"
    changed = _with(
        rows,
        index,
        envelope=_canonical(_rehashed(env)),
        hash=_rehashed(env)["hash"],
        occurred_at="2025-02-30 09:00:00.000000",
    )

    [(stream, seq, problem)] = _problems(_both_ways(changed))
    assert (stream, seq) == ("S-LEG", 2)
    assert "indexed column occurred_at" in problem


def test_a_time_column_holding_a_number_is_reported_not_raised(rows: list[Row]) -> None:
    index = _at(rows, "S-JCS", 1)

    [(stream, seq, problem)] = _problems(_both_ways(_with(rows, index, recorded_at=5)))
    assert (stream, seq) == ("S-JCS", 1)
    assert "indexed column recorded_at is 5" in problem


def _holds_float(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_holds_float(v) for v in value.values())
    if isinstance(value, list):
        return any(_holds_float(v) for v in value)
    return isinstance(value, float)


def test_the_orjson_path_is_taken_for_envelopes_with_and_without_floats(rows: list[Row]) -> None:
    """The comparisons above are only worth something if the fast path runs at all, and real
    envelopes (weights, volumes, doses) hold floats: those take it too."""
    taken = []
    original = scan_module._fast_body

    def spy(body: dict[str, Any], text: str) -> bytes | None:
        out = original(body, text)
        taken.append(out is not None)
        return out

    with mock.patch.object(scan_module, "_fast_body", spy):
        _scan(rows)

    floats = [_holds_float(orjson.loads(row[9])) for row in rows]
    assert 0 < floats.count(True) < len(rows)
    assert all(taken)
