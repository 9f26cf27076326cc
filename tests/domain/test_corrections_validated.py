"""Corrections are held to the rules of the value they correct, for every correctable field."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from domain import commands as c
from domain.errors import MissingPrerequisite, ValueOutOfRange
from domain.protocol import load_protocol
from domain.subject import fold
from domain.values import Phase
from tests.domain.journey import COORDINATOR, INVESTIGATOR, PI, Journey

PROTOCOL = load_protocol()


def followed_up() -> Journey:
    j = Journey(PROTOCOL)
    j.to_phase("infused")
    j.send(COORDINATOR, j.complete("D0"))
    j.send(COORDINATOR, j.complete("M1"))
    return j


def seq_of(j: Journey, event_type: str) -> int:
    """The first event of that type; for visits Month 1 (Day 0, the baseline, has no response)."""
    if event_type == "visit.completed":
        return next(e.seq for e in reversed(j.events) if e.type == event_type)
    return next(e.seq for e in j.events if e.type == event_type)


def correct(j: Journey, target: str, field: str, new_value: Any) -> list[Any]:
    return j.send(
        INVESTIGATOR,
        c.RecordCorrection(
            occurred_at=j.now,
            target_seq=seq_of(j, target),
            field=field,
            new_value=new_value,
            reason="source document verification",
        ),
    )


# (event type, field, a value the original command refuses)
REFUSED: list[tuple[str, str, Any]] = [
    ("subject.registered", "birth_date", "2999-01-01"),
    ("subject.registered", "birth_date", "1899-12-31"),
    ("subject.registered", "birth_date", "2015-01-01"),  # 11 at consent
    ("subject.registered", "sex", "other"),
    ("subject.registered", "site_id", "SBH\u0000"),
    ("subject.registered", "site_id", "SBH\u202e1"),
    ("consent.signed", "signed_on", "2999-01-01"),
    ("consent.signed", "signed_on", "1900-01-01"),
    ("consent.signed", "childbearing_potential", "perhaps"),
    ("apheresis.recorded", "volume_ml", 5000),
    ("apheresis.recorded", "volume_ml", 1e300),
    ("apheresis.recorded", "volume_ml", "nan"),
    ("apheresis.recorded", "volume_ml", "inf"),
    ("apheresis.recorded", "volume_ml", -1),
    ("apheresis.recorded", "collected_on", "2999-01-01"),
    ("product.released", "total_tu", 0),
    ("product.released", "total_tu", "Infinity"),
    ("product.released", "total_tu", 1.0),  # less than the dose already infused
    ("product.released", "lot", ""),
    ("product.released", "released_on", "0001-01-01"),
    ("lymphodepletion.dose_given", "mg", 4900),
    ("lymphodepletion.dose_given", "mg", "nan"),
    ("lymphodepletion.dose_given", "given_on", "2999-01-01"),
    ("visit.completed", "completed_on", "2020-01-01"),  # before the infusion
    ("visit.completed", "completed_on", "2999-01-01"),
    ("visit.completed", "response", "great"),
    ("visit.completed", "activity", {"sledai_2k": 200}),
    ("visit.completed", "activity", {"sledai_2k": 2, "bvas": 1}),  # not an SLE measure
    ("visit.completed", "glucocorticoid_mg_per_day", -1),
    ("visit.completed", "glucocorticoid_mg_per_day", None),  # required after Day 0
    ("screening.recorded", "record.hemoglobin", {"value": "nan", "unit": "g/L"}),
    ("screening.recorded", "record.screening_date", "2999-01-01"),
    ("screening.recorded", "record.no_such_value", 1),
]


@pytest.mark.parametrize(("target", "field", "value"), REFUSED)
def test_a_correction_outside_the_original_rules_is_refused_and_records_nothing(
    target: str, field: str, value: Any
) -> None:
    j = followed_up()
    before = j.state
    # Text that no model accepts is refused by the correction's own model, naming new_value.
    with pytest.raises((ValueOutOfRange, ValidationError)) as refused:
        correct(j, target, field, value)
    if isinstance(refused.value, ValidationError):
        assert refused.value.errors()[0]["loc"] == ("new_value",)
    else:
        assert refused.value.field in ("new_value", "field")
    assert j.state == before


@pytest.mark.parametrize(
    ("target", "field", "value", "check"),
    [
        ("subject.registered", "site_id", "SBH-02", lambda s: s.site_id == "SBH-02"),
        ("consent.signed", "childbearing_potential", False, lambda s: not s.childbearing_potential),
        ("apheresis.recorded", "volume_ml", 190, lambda s: s.apheresis_volume_ml == 190),
        ("product.released", "lot", "LOT-9", lambda s: s.product_lot == "LOT-9"),
        ("visit.completed", "response", "CR", lambda s: s.visit("M1").response == "CR"),
    ],
)
def test_a_valid_correction_names_old_and_new_value_and_changes_the_state(
    target: str, field: str, value: Any, check: Any
) -> None:
    j = followed_up()
    [event] = correct(j, target, field, value)
    assert event.payload.field == field
    assert event.payload.new_value == value
    assert event.payload.old_value != value
    assert check(j.state)
    assert fold(j.events) == j.state


def test_a_lymphodepletion_dose_is_corrected_only_within_its_plan_tolerance() -> None:
    j = followed_up()
    dose = j.state.ld_doses[0]
    [event] = correct(j, "lymphodepletion.dose_given", "mg", dose.mg * 1.05)
    assert event.payload.old_value == dose.mg
    with pytest.raises(ValueOutOfRange, match="planned"):
        correct(j, "lymphodepletion.dose_given", "mg", dose.mg * 100)


def test_a_screening_value_that_breaks_eligibility_opens_a_deviation_after_sign_off() -> None:
    j = followed_up()
    events = correct(j, "screening.recorded", "record.hemoglobin", {"value": 40, "unit": "g/L"})
    assert [e.type for e in events] == ["correction.recorded", "deviation.opened"]
    assert events[0].payload.eligible is False
    assert events[1].payload.kind == "eligibility_not_met"
    assert j.state.screening_eligible is False
    assert j.state.phase is Phase.FOLLOW_UP
    assert fold(j.events) == j.state


def test_a_screening_value_corrected_before_sign_off_re_judges_eligibility_only() -> None:
    j = Journey(PROTOCOL)
    j.to_phase("screening")
    assert j.state.screening_eligible
    events = correct(j, "screening.recorded", "record.hemoglobin", {"value": 40, "unit": "g/L"})
    assert [e.type for e in events] == ["correction.recorded"]
    assert j.state.screening_eligible is False
    with pytest.raises(MissingPrerequisite, match="criterion"):
        j.send(PI, j.sign("eligible"))
