"""Amendments in the pure domain: rescheduling at a safe point, re-consent, judging by version."""

from __future__ import annotations

from datetime import timedelta

import pytest

from audit.replay import replay_subject
from domain import commands as c
from domain.amendments import amend
from domain.deadlines import next_deadline
from domain.errors import MissingPrerequisite, ValueOutOfRange, WrongPhase
from domain.events import ConsentSigned, seal
from domain.protocol import Protocol, load_protocol
from domain.subject import apply, decide, fold
from domain.values import Phase, VisitStatus
from store.sql import SqlEventStore
from tests.domain.journey import COORDINATOR, SYSTEM, Journey

V1 = load_protocol("1.0")
V2 = load_protocol("2.0")


def _amend(j: Journey, new: Protocol = V2) -> None:
    """What the workflow does at a safe point: decide the amendment and move onto ``new``."""
    events = amend(j.state, j.protocol, new, j.today, j.now)
    j.protocol = new
    sealed = seal(
        events,
        stream=j.subject_id,
        last_seq=j.state.last_seq,
        last_hash=j.state.last_hash,
        actor=SYSTEM,
        recorded_at=j.now,
        protocol_version=new.version,
    )
    for event in sealed:
        j.state = apply(j.state, event)
    j.events.extend(sealed)


def _follow_up_to_month_3() -> Journey:
    j = Journey(V1, subject_id="S-AMD1")
    j.to_phase("follow_up")
    for code in ("M1", "M2", "M3"):
        j.send(COORDINATOR, j.complete(code))
    return j


def test_an_amendment_mid_follow_up_reschedules_future_visits_and_keeps_past_ones() -> None:
    j = _follow_up_to_month_3()
    before = {v.code: v for v in j.state.visits}
    j.advance(7)
    _amend(j)

    after = {v.code: v for v in j.state.visits}
    assert j.state.protocol_version == "2.0"
    for code in ("D0", "M1", "M2", "M3"):
        assert after[code] == before[code]  # done visits stay exactly as they were
    m6 = after["M6"]
    assert (m6.window_end - m6.window_start).days == 42  # ±21 days under v2, ±14 under v1
    assert "M9" in after and after["M9"].status is VisitStatus.PLANNED
    amended = j.events[-1]
    assert amended.type == "protocol.amended" and amended.protocol_version == "2.0"
    changes = {ch.code: ch.change for ch in amended.payload.changes}  # type: ignore[union-attr]
    assert changes == {"M6": "window_changed", "M9": "added"}
    # The replayed stream folds to the very same state.
    assert fold(j.events) == j.state


def test_an_amendment_waits_while_lymphodepletion_is_under_way() -> None:
    j = Journey(V1, subject_id="S-AMD2")
    j.to_phase("lymphodepletion")
    with pytest.raises(WrongPhase, match="safe point"):
        amend(j.state, V1, V2, j.today, j.now)


def test_under_re_consent_a_procedure_is_refused_with_a_clear_message_and_allowed_after() -> None:
    j = _follow_up_to_month_3()
    _amend(j)
    assert j.state.reconsent is not None and j.state.reconsent.consent_version == "2.0"
    m6 = j.state.visit("M6")
    assert m6 is not None
    with pytest.raises(MissingPrerequisite, match=r"must re-consent to consent form version 2\.0"):
        j.send(COORDINATOR, j.complete("M6"))
    # Safety follow-up goes on meanwhile.
    j.send(
        COORDINATOR,
        c.RecordAdverseEvent(
            occurred_at=j.now,
            term="Nausea",
            grade=1,
            onset_on=j.today,
            related_to_jy231="unlikely",
            related_to_lymphodepletion="unlikely",
        ),
    )
    j.send(
        COORDINATOR,
        c.RecordReconsent(
            occurred_at=j.now, decision="signed", consent_version="2.0", decided_on=j.today
        ),
    )
    assert j.state.reconsent is None
    j.send(COORDINATOR, j.complete("M6"))
    done = j.state.visit("M6")
    assert done is not None and done.status is VisitStatus.COMPLETED


def test_declining_re_consent_ends_participation() -> None:
    j = _follow_up_to_month_3()
    _amend(j)
    events = j.send(
        COORDINATOR,
        c.RecordReconsent(
            occurred_at=j.now, decision="declined", consent_version="2.0", decided_on=j.today
        ),
    )
    assert [e.type for e in events] == ["consent.reconsent_recorded", "participation.ended"]
    assert j.state.phase is Phase.WITHDRAWN


def test_a_re_consent_not_signed_by_its_due_day_becomes_overdue_with_a_deviation() -> None:
    j = _follow_up_to_month_3()
    _amend(j)
    assert j.state.reconsent is not None
    due_on = j.state.reconsent.due_on
    deadline = next_deadline(j.state, V2, safety=False)
    assert deadline is not None and isinstance(deadline.command, c.MarkReconsentOverdue)
    j.go_to(due_on + timedelta(days=1))
    j.send(SYSTEM, deadline.command.model_copy(update={"occurred_at": j.now}))
    assert j.state.reconsent is not None and j.state.reconsent.overdue
    assert j.state.deviations[-1].kind == "reconsent_overdue"


def test_a_historic_decision_is_judged_again_under_the_version_in_force_when_it_was_made() -> None:
    j = Journey(V1, subject_id="S-AMD3")
    j.to_phase("follow_up")
    j.advance(1)
    _amend(j)

    # The consent decision as an auditor rebuilds it from the stored stream.
    consent = j.events[1]
    assert isinstance(consent.payload, ConsentSigned)
    recorded = [consent]
    before = fold(j.events[:1])
    command = c.SignConsent(
        occurred_at=consent.occurred_at,
        consent_version=consent.payload.consent_version,
        signed_on=consent.payload.signed_on,
        childbearing_potential=consent.payload.childbearing_potential,
    )

    # Judged again under the version its envelope names, the decision is the one recorded.
    version = recorded[0].protocol_version
    assert version == "1.0"
    again = decide(before, command, COORDINATOR, command.occurred_at, load_protocol(version))
    assert [n.payload for n in again] == [e.payload for e in recorded]
    # Under the amended version the same consent would be refused: the version matters.
    with pytest.raises(ValueOutOfRange, match="not the current protocol version"):
        decide(before, command, COORDINATOR, command.occurred_at, V2)
    # Every event keeps the version it was decided under; the replay folds to the live state.
    versions = [e.protocol_version for e in j.events]
    assert set(versions[:-1]) == {"1.0"} and versions[-1] == "2.0"
    assert fold(j.events) == j.state


def test_the_audit_replay_shows_the_version_in_force_as_of_any_moment(
    sqlite_store: SqlEventStore,
) -> None:
    j = _follow_up_to_month_3()
    before_amendment = j.now
    j.advance(2)
    _amend(j)
    sqlite_store.append(j.events)

    then = replay_subject(sqlite_store, j.subject_id, before_amendment)
    assert then.state.protocol_version == "1.0"
    assert {e.protocol_version for e in then.timeline} == {"1.0"}
    now = replay_subject(sqlite_store, j.subject_id, None)
    assert now.state == j.state and now.state.protocol_version == "2.0"
    assert (
        now.timeline[-1].type == "protocol.amended" and now.timeline[-1].protocol_version == "2.0"
    )
