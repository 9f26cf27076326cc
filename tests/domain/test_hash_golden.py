"""Golden vectors: fixed events hash to fixed values under both hash schemes.

An auditor recomputes these hashes for fifteen years, possibly in another language; any change
to the canonical form (dropping ``sort_keys``, another float format, another key order) must fail
here rather than silently produce events no outside verifier agrees with.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest

from domain.actors import Actor, Role
from domain.canonical import GENESIS_HASH, JCS_SCHEME, LEGACY_SCHEME
from domain.events import (
    CorrectionRecorded,
    Event,
    EventPayload,
    InfusionRecorded,
    NewEvent,
    compute_hash,
    seal,
    verify_chain,
)

T = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def _infusion(scheme: str | None) -> Event:
    payload = InfusionRecorded(
        infused_on=date(2026, 3, 2), dose_level="DL1", route="intravenous", weight_kg=61.5,
        tu_per_kg=2000000.0, total_tu=123000000.0, schedule=(),
    )  # fmt: skip
    return _seal(payload, 6, "ab" * 32, "Zeitzone ✓ 𝄞 é", "ivan", Role.INVESTIGATOR, scheme)


def _correction(scheme: str | None) -> Event:
    # Numbers and keys on which sort_keys JSON and RFC 8785 disagree.
    payload = CorrectionRecorded(
        target_seq=3, field="record",
        old_value={"\ufb01": 1e-7, "\U0001f600": 1e21, "a": 0.5},
        new_value=[4.0, -0.0, 1e16, 2**53 - 1],
    )  # fmt: skip
    return _seal(payload, 7, "cd" * 32, "unit typo", "cora", Role.COORDINATOR, scheme)


def _seal(
    payload: EventPayload,
    last_seq: int,
    last_hash: str,
    reason: str,
    user: str,
    role: Role,
    scheme: str | None,
) -> Event:
    return seal(
        [NewEvent(payload=payload, occurred_at=T, reason=reason)],
        stream="S-GOLD", last_seq=last_seq, last_hash=last_hash,
        actor=Actor(user_id=user, role=role), recorded_at=T, protocol_version="1.0",
        hash_scheme=scheme,
    )[0]  # fmt: skip


_ENVELOPE_INFUSION_LEGACY = (
    '{"actor":{"role":"investigator","user_id":"ivan"},'
    '"hash":"c8ec45fa1e250d44cf987b0e4b86e6381759871c04e1019fd49129b20683203a",'
    '"occurred_at":"2026-03-02T09:30:00Z","payload":{"dose_level":"DL1",'
    '"infused_on":"2026-03-02","route":"intravenous","schedule":[],"schema_version":1,'
    '"total_tu":123000000.0,"tu_per_kg":2000000.0,"type":"infusion.recorded","weight_kg":61.5},'
    '"prev_hash":"abababababababababababababababababababababababababababababababab",'
    '"protocol_version":"1.0","reason":"Zeitzone ✓ 𝄞 é","recorded_at":"2026-03-02T09:30:00Z",'
    '"schema_version":1,"seq":7,"stream":"S-GOLD","type":"infusion.recorded"}'
)
_ENVELOPE_INFUSION_JCS = (
    '{"actor":{"role":"investigator","user_id":"ivan"},'
    '"hash":"413d57043dd2854fb6365902d7c32ef8605d65f1a48a98ee281b7e65f9fa86fc",'
    '"hash_scheme":"rfc8785-sha256",'
    '"occurred_at":"2026-03-02T09:30:00Z","payload":{"dose_level":"DL1",'
    '"infused_on":"2026-03-02","route":"intravenous","schedule":[],"schema_version":1,'
    '"total_tu":123000000,"tu_per_kg":2000000,"type":"infusion.recorded","weight_kg":61.5},'
    '"prev_hash":"abababababababababababababababababababababababababababababababab",'
    '"protocol_version":"1.0","reason":"Zeitzone ✓ 𝄞 é","recorded_at":"2026-03-02T09:30:00Z",'
    '"schema_version":1,"seq":7,"stream":"S-GOLD","type":"infusion.recorded"}'
)
_ENVELOPE_CORRECTION_LEGACY = (
    '{"actor":{"role":"coordinator","user_id":"cora"},'
    '"hash":"134fb92a92cae55a230af4a3d7614d3e7f6df049a48470ea770a6f31c3d44243",'
    '"occurred_at":"2026-03-02T09:30:00Z","payload":{"field":"record",'
    '"new_value":[4.0,-0.0,1e+16,9007199254740991],'
    '"old_value":{"a":0.5,"ﬁ":1e-07,"😀":1e+21},"schema_version":1,"target_seq":3,'
    '"type":"correction.recorded"},'
    '"prev_hash":"cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd",'
    '"protocol_version":"1.0","reason":"unit typo","recorded_at":"2026-03-02T09:30:00Z",'
    '"schema_version":1,"seq":8,"stream":"S-GOLD","type":"correction.recorded"}'
)
_ENVELOPE_CORRECTION_JCS = (
    '{"actor":{"role":"coordinator","user_id":"cora"},'
    '"hash":"00beee9d43f12065fd86b35ebf6b69ac29259c3a97d307ba3859d34aca8c6012",'
    '"hash_scheme":"rfc8785-sha256",'
    '"occurred_at":"2026-03-02T09:30:00Z","payload":{"field":"record",'
    '"new_value":[4,0,10000000000000000,9007199254740991],'
    '"old_value":{"a":0.5,"😀":1e+21,"ﬁ":1e-7},"schema_version":1,"target_seq":3,'
    '"type":"correction.recorded"},'
    '"prev_hash":"cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd",'
    '"protocol_version":"1.0","reason":"unit typo","recorded_at":"2026-03-02T09:30:00Z",'
    '"schema_version":1,"seq":8,"stream":"S-GOLD","type":"correction.recorded"}'
)

VECTORS = [
    pytest.param(_infusion, LEGACY_SCHEME, _ENVELOPE_INFUSION_LEGACY, id="infusion-legacy"),
    pytest.param(_infusion, JCS_SCHEME, _ENVELOPE_INFUSION_JCS, id="infusion-rfc8785"),
    pytest.param(_correction, LEGACY_SCHEME, _ENVELOPE_CORRECTION_LEGACY, id="correction-legacy"),
    pytest.param(_correction, JCS_SCHEME, _ENVELOPE_CORRECTION_JCS, id="correction-rfc8785"),
]


@pytest.mark.parametrize(("build", "scheme", "stored"), VECTORS)
def test_a_fixed_event_seals_to_its_golden_hash_and_stored_text(
    build: Any, scheme: str | None, stored: str
) -> None:
    event = build(scheme)

    assert event.envelope_text() == stored
    assert event.hash == json.loads(stored)["hash"]
    assert event.hash_scheme == scheme


@pytest.mark.parametrize(("build", "scheme", "stored"), VECTORS)
def test_the_golden_hash_is_recomputed_from_the_stored_text_alone(
    build: Any, scheme: str | None, stored: str
) -> None:
    row = json.loads(stored)

    assert compute_hash(row) == row["hash"]


def test_a_legacy_envelope_has_no_hash_scheme_field_and_a_new_one_names_rfc8785() -> None:
    assert "hash_scheme" not in json.loads(_infusion(LEGACY_SCHEME).envelope_text())
    assert "hash_scheme" not in _infusion(LEGACY_SCHEME).model_dump(mode="json")
    assert json.loads(_infusion(JCS_SCHEME).envelope_text())["hash_scheme"] == "rfc8785-sha256"


def test_new_events_are_sealed_under_rfc8785_by_default() -> None:
    payload = CorrectionRecorded(target_seq=1, field="f", old_value=1, new_value=2)
    event = seal(
        [NewEvent(payload=payload, occurred_at=T)], stream="S-1", last_seq=1,
        last_hash="ab" * 32, actor=Actor(user_id="cora", role=Role.COORDINATOR),
        recorded_at=T, protocol_version="1.0",
    )[0]  # fmt: skip

    assert event.hash_scheme == JCS_SCHEME


def test_a_stream_mixing_legacy_and_rfc8785_events_verifies_and_each_edit_is_seen() -> None:
    payload = CorrectionRecorded(target_seq=1, field="weight_kg", old_value=61.5, new_value=62.5)
    first = _seal(payload, 0, GENESIS_HASH, "scale", "cora", Role.COORDINATOR, LEGACY_SCHEME)
    second = _seal(payload, 1, first.hash, "scale", "cora", Role.COORDINATOR, JCS_SCHEME)
    rows = [json.loads(e.envelope_text()) for e in (first, second)]

    assert verify_chain("S-GOLD", rows) is None
    for index in (0, 1):
        edited = [dict(row) for row in rows]
        edited[index]["reason"] = "changed later"
        broken = verify_chain("S-GOLD", edited)
        assert broken is not None and broken.seq == index + 1
        assert "hash mismatch" in broken.problem


def test_an_unknown_hash_scheme_is_reported_not_raised() -> None:
    row = json.loads(_ENVELOPE_INFUSION_JCS)
    row.update(seq=1, prev_hash="0" * 64, hash_scheme="md5-please")

    broken = verify_chain("S-GOLD", [row])

    assert broken is not None and "unknown hash_scheme 'md5-please'" in broken.problem
