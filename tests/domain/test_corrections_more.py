"""Corrections of adverse events and SAE/SUSAR reports, the infusion, the lymphodepletion plan,
withdrawal and end dates and the disease: each held to the model and the domain guards of the
command that first recorded the value."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from domain import commands as c
from domain.correction_rules import SPECS
from domain.errors import ValueOutOfRange
from domain.subject import fold
from tests.domain.journey import COORDINATOR, INVESTIGATOR, Journey
from tests.domain.test_corrections_validated import PROTOCOL, correct, followed_up
from tests.domain.test_corrections_validated import REFUSED as EARLIER_REFUSED


def with_adverse_events() -> Journey:
    """Followed up, with an AE that began and resolved, and a serious AE that was reported."""
    j = followed_up()
    onset = j.today
    j.send(
        INVESTIGATOR,
        c.RecordAdverseEvent(
            occurred_at=j.now,
            term="Nausea",
            grade=1,
            onset_on=onset,
            related_to_jy231="unlikely",
            related_to_lymphodepletion="possible",
        ),
    )
    j.advance(1)
    ae_id = j.state.adverse_events[0].ae_id
    j.send(INVESTIGATOR, c.ResolveAdverseEvent(occurred_at=j.now, ae_id=ae_id, resolved_on=j.today))
    j.send(
        INVESTIGATOR,
        c.RecordAdverseEvent(
            occurred_at=j.now,
            term="Pneumonia",
            grade=3,
            onset_on=j.today,
            seriousness=("hospitalisation",),
            related_to_jy231="unlikely",
            related_to_lymphodepletion="unlikely",
        ),
    )
    serious = j.state.adverse_events[1].ae_id
    j.send(
        INVESTIGATOR,
        c.ReportSae(
            occurred_at=j.now,
            ae_id=serious,
            reported_at=j.now,
            recipient="sponsor",
            reference="R-1",
        ),
    )
    # Serious, probably related and not in the reference safety information: a SUSAR.
    j.send(
        INVESTIGATOR,
        c.RecordAdverseEvent(
            occurred_at=j.now,
            term="Myocarditis",
            grade=3,
            onset_on=j.today,
            seriousness=("hospitalisation",),
            related_to_jy231="probable",
            related_to_lymphodepletion="unlikely",
        ),
    )
    susar = j.state.adverse_events[2].ae_id
    j.send(
        INVESTIGATOR,
        c.ReportSusar(
            occurred_at=j.now,
            ae_id=susar,
            recipient="regulator",
            kind="initial",
            reported_at=j.now,
            reference="S-1",
        ),
    )
    j.advance(3)
    return j


def withdrawn() -> Journey:
    j = Journey(PROTOCOL)
    j.to_phase("consented")
    j.advance(5)
    j.send(INVESTIGATOR, j.withdraw())
    return j


def consented() -> Journey:
    j = Journey(PROTOCOL)
    j.to_phase("consented")
    return j


def manufacturing_failed() -> Journey:
    j = Journey(PROTOCOL)
    j.to_phase("apheresis")
    j.send(COORDINATOR, j.failure())
    return j


def monitored() -> Journey:
    """Followed up, with the first day's acute monitoring recorded."""
    j = followed_up()
    j.send(
        COORDINATOR,
        c.RecordDailyMonitoring(occurred_at=j.now, day=1, max_temperature_c=37.2, ice_score=10),
    )
    return j


JOURNEYS = {
    "safety": with_adverse_events,
    "withdrawn": withdrawn,
    "consented": consented,
    "manufacturing": manufacturing_failed,
    "monitored": monitored,
}
FUTURE = "2999-01-01"

# (journey, event type, field, a value the original command refuses)
REFUSED: list[tuple[str, str, str, Any]] = [
    ("safety", "subject.registered", "disease", "SS"),  # the screening record names SLE
    ("safety", "subject.registered", "disease", "flu"),
    ("safety", "ae.recorded", "term", ""),
    ("safety", "ae.recorded", "term", "Nausea\u202e"),
    ("safety", "ae.recorded", "onset_on", FUTURE),
    ("safety", "ae.recorded", "onset_on", "2024-01-02"),  # before consent
    ("safety", "ae.recorded", "onset_on", "after-resolution"),
    ("safety", "ae.resolved", "resolved_on", FUTURE),
    ("safety", "ae.resolved", "resolved_on", "before-onset"),
    ("safety", "sae.reported", "reference", ""),
    ("safety", "sae.reported", "recipient", "x" * 201),
    ("safety", "susar.reported", "reference", ""),
    ("safety", "susar.reported", "reference", "S-1\u0000"),
    ("safety", "infusion.recorded", "tu_per_kg", 1e12),  # outside DL1's TU/kg
    ("safety", "infusion.recorded", "tu_per_kg", "nan"),
    ("safety", "infusion.recorded", "weight_kg", 70),  # the weight is a dated measurement
    ("safety", "lymphodepletion.planned", "height_cm", 300),
    ("safety", "lymphodepletion.planned", "height_cm", 130),  # BSA off by more than 10 %
    ("safety", "lymphodepletion.planned", "weight_kg", 70),  # the weight is a dated measurement
    ("manufacturing", "manufacturing.failed", "failed_on", FUTURE),
    ("manufacturing", "manufacturing.failed", "detail", ""),
    ("manufacturing", "manufacturing.failed", "detail", "low\u202eefficiency"),
    ("monitored", "monitoring.recorded", "max_temperature_c", 50),
    ("monitored", "monitoring.recorded", "max_temperature_c", "nan"),
    ("monitored", "monitoring.recorded", "ice_score", 11),
    ("monitored", "monitoring.recorded", "notes", "x" * 2001),
    ("withdrawn", "consent.withdrawn", "withdrawn_on", FUTURE),
    ("withdrawn", "consent.withdrawn", "withdrawn_on", "1900-01-01"),
    ("withdrawn", "participation.ended", "ended_on", FUTURE),
    ("withdrawn", "participation.ended", "ended_on", "inf"),
]


def _value(j: Journey, value: Any) -> Any:
    first = j.state.adverse_events[0]
    assert first.resolved_on is not None
    if value == "after-resolution":
        return (first.resolved_on + timedelta(days=1)).isoformat()
    if value == "before-onset":
        return (first.onset_on - timedelta(days=1)).isoformat()
    return value


@pytest.mark.parametrize(("journey", "target", "field", "value"), REFUSED)
def test_a_correction_outside_the_original_rules_is_refused_and_records_nothing(
    journey: str, target: str, field: str, value: Any
) -> None:
    j = JOURNEYS[journey]()
    before = j.state
    with pytest.raises((ValueOutOfRange, ValidationError)) as refused:
        correct(j, target, field, _value(j, value) if journey == "safety" else value)
    if isinstance(refused.value, ValueOutOfRange):
        assert refused.value.field == "new_value"
    else:
        assert refused.value.errors()[0]["loc"] == ("new_value",)
    assert j.state == before


def test_every_correctable_field_has_a_case_refused_outside_its_rules() -> None:
    refused = {(target, field.partition(".")[0]) for _, target, field, _ in REFUSED} | {
        (target, field.partition(".")[0]) for target, field, _ in EARLIER_REFUSED
    }
    correctable = {(kind, f) for kind, spec in SPECS.items() for f in spec.fields}
    assert correctable - refused == set()


def test_adverse_event_term_onset_and_resolution_are_corrected_within_their_rules() -> None:
    j = with_adverse_events()
    ae = j.state.adverse_events[0]
    assert ae.resolved_on is not None
    [term] = correct(j, "ae.recorded", "term", "Vomiting")
    assert (term.payload.old_value, term.payload.new_value) == ("Nausea", "Vomiting")
    earlier = (ae.onset_on - timedelta(days=1)).isoformat()
    correct(j, "ae.recorded", "onset_on", earlier)
    later = (ae.resolved_on + timedelta(days=1)).isoformat()
    correct(j, "ae.resolved", "resolved_on", later)
    corrected = j.state.adverse_events[0]
    assert (corrected.term, corrected.onset_on.isoformat()) == ("Vomiting", earlier)
    assert corrected.resolved_on is not None and corrected.resolved_on.isoformat() == later
    [reference] = correct(j, "sae.reported", "reference", "R-1b")
    assert reference.payload.old_value == "R-1"
    [susar] = correct(j, "susar.reported", "reference", "S-1b")
    assert susar.payload.old_value == "S-1"
    assert fold(j.events) == j.state


def test_the_infused_tu_per_kg_is_corrected_within_the_dose_level_and_the_total_follows() -> None:
    j = with_adverse_events()
    weight = next(e.payload.weight_kg for e in j.events if e.type == "infusion.recorded")
    [event] = correct(j, "infusion.recorded", "tu_per_kg", 6e6)
    assert event.payload.old_value == 5e6
    assert j.state.tu_per_kg == 6e6
    assert j.state.total_tu == pytest.approx(weight * 6e6)
    assert fold(j.events) == j.state


def test_the_plan_height_is_corrected_while_the_bsa_stays_within_tolerance() -> None:
    j = with_adverse_events()
    [event] = correct(j, "lymphodepletion.planned", "height_cm", 168)
    assert (event.payload.old_value, event.payload.new_value) == (165, 168)
    assert j.state.ld_plan is not None and j.state.ld_plan.height_cm == 168
    assert fold(j.events) == j.state


def test_the_plan_height_is_corrected_before_the_planned_infusion_date() -> None:
    j = Journey(PROTOCOL)
    j.to_phase("lymphodepletion")
    assert j.state.ld_plan is not None and j.state.ld_plan.infusion_date > j.today
    correct(j, "lymphodepletion.planned", "height_cm", 166)
    assert j.state.ld_plan.height_cm == 166


def test_withdrawal_and_end_dates_are_corrected_within_their_rules() -> None:
    j = withdrawn()
    day = (j.today - timedelta(days=1)).isoformat()
    correct(j, "consent.withdrawn", "withdrawn_on", day)
    [ended] = correct(j, "participation.ended", "ended_on", day)
    assert ended.payload.new_value == day
    assert j.state.ended_on is not None and j.state.ended_on.isoformat() == day
    assert fold(j.events) == j.state


def test_the_registered_disease_is_corrected_before_screening_names_one() -> None:
    j = consented()
    [event] = correct(j, "subject.registered", "disease", "SS")
    assert (event.payload.old_value, event.payload.new_value) == ("SLE", "SS")
    assert j.state.disease == "SS"
    assert fold(j.events) == j.state
