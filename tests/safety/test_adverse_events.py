"""Adverse events, SAE clocks, daily monitoring and the DLT window in the pure domain."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from domain import commands as c
from domain.deadlines import Deadline, safety_deadlines
from domain.errors import RoleNotAllowed, ValueOutOfRange, WrongPhase
from domain.grading import CrsComponents, Hypotension, Hypoxia, IcansComponents
from domain.protocol import load_protocol
from domain.subject import fold
from domain.values import Phase
from tests.domain.journey import COORDINATOR, INVESTIGATOR, MONITOR, SYSTEM, Journey

PROTOCOL = load_protocol()


def first_safety_deadline(j: Journey) -> Deadline | None:
    # Visit-window timers compete in next_deadline; these tests look at the safety clocks.
    return min(safety_deadlines(j.state, PROTOCOL), key=lambda d: d.due_at, default=None)


def infused() -> Journey:
    j = Journey(PROTOCOL)
    j.to_phase("infused")
    return j


def ae(j: Journey, **fields: Any) -> c.RecordAdverseEvent:
    values: dict[str, Any] = {
        "occurred_at": j.now,
        "term": "Nausea",
        "grade": 2,
        "onset_on": j.today,
        "related_to_jy231": "possible",
        "related_to_lymphodepletion": "unlikely",
    }
    values.update(fields)
    return c.RecordAdverseEvent(**values)


def test_crs_grade_is_computed_from_components_and_cannot_be_typed_in() -> None:
    j = infused()
    crs = CrsComponents(max_temperature_c=39.1, hypotension=Hypotension.NO_VASOPRESSOR)
    j.send(INVESTIGATOR, ae(j, kind="CRS", term=None, grade=None, crs=crs))
    recorded = j.state.adverse_events[0]
    assert (recorded.term, recorded.grade) == ("Cytokine release syndrome", 2)
    with pytest.raises(ValidationError):
        ae(j, kind="CRS", grade=3, crs=crs)


def test_crs_without_fever_is_refused() -> None:
    j = infused()
    crs = CrsComponents(max_temperature_c=37.0, hypoxia=Hypoxia.HIGH_FLOW)
    with pytest.raises(ValueOutOfRange, match="fever"):
        j.send(INVESTIGATOR, ae(j, kind="CRS", grade=None, crs=crs))


def test_monitors_may_not_record_adverse_events() -> None:
    j = infused()
    with pytest.raises(RoleNotAllowed, match="read-only"):
        j.send(MONITOR, ae(j))


def test_adverse_events_are_accepted_from_consent_onwards_but_not_before() -> None:
    j = Journey(PROTOCOL)
    j.to_phase("registered")
    with pytest.raises(WrongPhase):
        j.send(COORDINATOR, ae(j))
    j.send(COORDINATOR, j.consent())
    j.send(COORDINATOR, ae(j))
    assert j.state.adverse_events[0].ae_id == "S-0001-AE-1"


def test_grade_5_ends_participation_as_death_in_the_same_decision() -> None:
    j = infused()
    events = j.send(
        INVESTIGATOR,
        ae(j, term="Cardiac arrest", grade=5, outcome="fatal", seriousness=("death",)),
    )
    # A related death is never expected: it is also a SUSAR (issue 12).
    assert [e.type for e in events] == [
        "ae.recorded",
        "dlt.flagged",
        "susar.identified",
        "participation.ended",
    ]
    assert j.state.phase is Phase.DIED


def test_grade_5_without_a_fatal_outcome_is_refused() -> None:
    j = infused()
    with pytest.raises(ValueOutOfRange, match="fatal"):
        j.send(INVESTIGATOR, ae(j, grade=5, seriousness=("death",)))


def test_serious_ae_is_due_for_report_24_hours_after_awareness_then_overdue() -> None:
    j = infused()
    j.send(COORDINATOR, ae(j, seriousness=("hospitalisation",)))
    deadline = first_safety_deadline(j)
    assert deadline is not None
    assert deadline.command == c.MarkSaeOverdue(occurred_at=deadline.due_at, ae_id="S-0001-AE-1")
    assert deadline.due_at == j.now + timedelta(hours=24)
    with pytest.raises(WrongPhase, match="is due at"):
        j.send(SYSTEM, c.MarkSaeOverdue(occurred_at=j.now, ae_id="S-0001-AE-1"))
    j.now = deadline.due_at
    events = j.send(SYSTEM, deadline.command)
    assert [e.type for e in events] == ["sae.overdue", "deviation.opened"]
    assert j.state.adverse_events[0].sae_overdue


def test_sae_reported_in_time_is_not_late_and_leaves_no_deadline_for_it() -> None:
    j = infused()
    j.send(COORDINATOR, ae(j, seriousness=("hospitalisation",)))
    j.now += timedelta(hours=3)
    (event,) = j.send(
        COORDINATOR,
        c.ReportSae(
            occurred_at=j.now,
            ae_id="S-0001-AE-1",
            reported_at=j.now,
            recipient="NMPA",
            reference="R1",
        ),
    )
    assert event.payload.late is False  # type: ignore[union-attr]
    deadline = first_safety_deadline(j)
    assert deadline is not None and not isinstance(deadline.command, c.MarkSaeOverdue)


def test_an_update_that_makes_an_ae_serious_starts_the_report_clock() -> None:
    j = infused()
    j.send(COORDINATOR, ae(j))
    j.now += timedelta(hours=5)
    j.send(
        COORDINATOR,
        c.UpdateAdverseEvent(
            occurred_at=j.now, ae_id="S-0001-AE-1", seriousness=("hospitalisation",)
        ),
    )
    assert j.state.adverse_events[0].serious_since == j.now


def test_seriousness_criteria_cannot_be_removed() -> None:
    j = infused()
    j.send(COORDINATOR, ae(j, seriousness=("hospitalisation",)))
    with pytest.raises(ValueOutOfRange, match="cannot be removed"):
        j.send(
            COORDINATOR,
            c.UpdateAdverseEvent(occurred_at=j.now, ae_id="S-0001-AE-1", seriousness=()),
        )


def test_monitoring_day_without_record_is_flagged_missed_once_it_ends() -> None:
    j = infused()
    assert j.state.infusion_date is not None
    day1 = j.state.infusion_date + timedelta(days=1)
    j.go_to(day1)
    j.send(COORDINATOR, c.RecordDailyMonitoring(occurred_at=j.now, day=1, max_temperature_c=37.2))
    deadline = first_safety_deadline(j)
    assert deadline is not None
    assert deadline.command == c.MarkMonitoringMissed(occurred_at=deadline.due_at, day=2)
    j.now = deadline.due_at
    (event,) = j.send(SYSTEM, deadline.command)
    assert event.type == "monitoring.missed"
    assert j.state.monitoring_missed == (2,)


def test_related_grade_4_non_haematologic_ae_in_the_window_is_a_dlt_and_haematologic_is_not() -> (
    None
):
    j = infused()
    j.send(INVESTIGATOR, ae(j, term="Neutropenia", grade=4, haematologic=True))
    j.send(INVESTIGATOR, ae(j, term="ALT increased", grade=4))
    flagged = [a.ae_id for a in j.state.adverse_events if a.dlt_rule is not None]
    assert flagged == ["S-0001-AE-2"]


def test_dlt_window_closes_with_the_outcome_after_its_last_day() -> None:
    j = infused()
    assert j.state.infusion_date is not None
    crs = CrsComponents(max_temperature_c=39.5, hypotension=Hypotension.ONE_VASOPRESSOR)
    j.send(INVESTIGATOR, ae(j, kind="CRS", term=None, grade=None, crs=crs))
    last = j.state.infusion_date + timedelta(days=PROTOCOL.safety.dlt_window_days)
    j.go_to(last)
    with pytest.raises(WrongPhase, match="open until"):
        j.send(SYSTEM, c.CloseDltWindow(occurred_at=j.now))
    j.go_to(last + timedelta(days=1))
    (event,) = j.send(SYSTEM, c.CloseDltWindow(occurred_at=j.now))
    assert event.payload.outcome == "dlt"  # type: ignore[union-attr]
    assert event.payload.dlt_ae_ids == ("S-0001-AE-1",)  # type: ignore[union-attr]


def test_replaying_the_safety_events_gives_the_live_state() -> None:
    j = infused()
    j.send(COORDINATOR, ae(j, seriousness=("hospitalisation",)))
    j.send(
        COORDINATOR,
        c.ResolveAdverseEvent(occurred_at=j.now, ae_id="S-0001-AE-1", resolved_on=j.today),
    )
    assert fold(j.events) == j.state


def test_updating_a_crs_event_with_icans_components_is_refused() -> None:
    j = infused()
    crs = CrsComponents(max_temperature_c=38.6)
    j.send(INVESTIGATOR, ae(j, kind="CRS", term=None, grade=None, crs=crs))
    ae_id = j.state.adverse_events[0].ae_id
    update = c.UpdateAdverseEvent(
        occurred_at=j.now, ae_id=ae_id, icans=IcansComponents(ice_score=2)
    )
    with pytest.raises(ValueOutOfRange, match="icans components do not belong") as refused:
        j.send(INVESTIGATOR, update)
    assert refused.value.field == "icans"
    assert j.state.adverse_events[0].icans is None


def test_an_sae_report_dated_before_the_event_became_serious_is_refused() -> None:
    j = infused()
    j.send(INVESTIGATOR, ae(j, term="Pneumonia", grade=3, seriousness=("hospitalisation",)))
    serious = j.state.adverse_events[0]
    assert serious.serious_since is not None
    report = c.ReportSae(
        occurred_at=j.now,
        ae_id=serious.ae_id,
        reported_at=serious.serious_since - timedelta(days=3),
        recipient="sponsor safety desk",
        reference="SAE-0001",
    )
    with pytest.raises(ValueOutOfRange, match="before the event became serious") as refused:
        j.send(INVESTIGATOR, report)
    assert refused.value.field == "reported_at"
