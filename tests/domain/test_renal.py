"""Renal dosing of fludarabine from dated results: Cockcroft–Gault, both label conventions at
every band edge, the do-not-give threshold, the PI's override and the upcast of old plans."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from domain import commands as c
from domain.errors import MissingPrerequisite, ValueOutOfRange, WrongPhase
from domain.events import parse_event
from domain.measurements import Creatinine, ReportedEgfr
from domain.protocol import Protocol, load_protocol
from domain.renal import RenalBand, RenalDosing, age_on, assess_creatinine, cockcroft_gault
from tests.domain.journey import COORDINATOR, INVESTIGATOR, PI, Journey

PROTOCOL = load_protocol()

US_LABEL = RenalDosing(
    convention="us_label",
    source="fludarabine phosphate injection USP, US label: CrCl 30-70 mL/min reduce by 20 %",
    do_not_give_below=30.0,
    bands=(RenalBand(low=30.0, high=70.0, high_inclusive=True, factor=0.8),),
)
FLUDARA_LABEL = PROTOCOL.lymphodepletion.drugs[0].renal


@pytest.mark.parametrize(
    ("clearance", "factor"),
    [(29.9, None), (30.0, 0.8), (69.9, 0.8), (70.0, 0.8), (70.1, 1.0)],
)
def test_us_label_convention_at_each_band_edge(clearance: float, factor: float | None) -> None:
    assert US_LABEL.factor(clearance) == factor


@pytest.mark.parametrize(
    ("clearance", "factor"),
    [
        (29.9, None),
        (30.0, 0.6),
        (49.9, 0.6),
        (50.0, 0.8),
        (69.9, 0.8),
        (70.0, 0.8),
        (70.1, 0.8),
        (79.9, 0.8),
        (80.0, 1.0),
    ],
)
def test_fludara_label_convention_at_each_band_edge(clearance: float, factor: float | None) -> None:
    assert FLUDARA_LABEL is not None
    assert FLUDARA_LABEL.factor(clearance) == factor


def test_the_default_convention_is_the_conservative_one_and_marked_site_default() -> None:
    assert FLUDARA_LABEL is not None and FLUDARA_LABEL.site_default
    for tenth in range(300, 1200):
        clearance = tenth / 10
        default, us = FLUDARA_LABEL.factor(clearance), US_LABEL.factor(clearance)
        assert default is not None and us is not None
        assert default <= us, clearance


def test_overlapping_bands_are_refused_when_the_protocol_loads() -> None:
    with pytest.raises(ValueError, match="overlap at 50"):
        RenalDosing(
            convention="x",
            source="x",
            do_not_give_below=30,
            bands=(
                RenalBand(low=30, high=50, high_inclusive=True, factor=0.6),
                RenalBand(low=50, high=80, factor=0.8),
            ),
        )


def test_cockcroft_gault_by_hand() -> None:
    # (140 − 45) × 60 / (72 × 1.0) = 79.17 mL/min for a man; × 0.85 = 67.29 for a woman.
    assert cockcroft_gault(1.0, 45, 60, "male") == pytest.approx(79.1667, abs=1e-4)
    assert cockcroft_gault(1.0, 45, 60, "female") == pytest.approx(67.2917, abs=1e-4)


def test_creatinine_in_umol_per_l_and_mg_per_dl_give_the_same_clearance() -> None:
    mg = Creatinine(collected_on=date(2026, 3, 2), value=1.0, unit="mg/dL")
    umol = Creatinine(collected_on=date(2026, 3, 2), value=88.42, unit="umol/L")
    args: dict[str, Any] = {"weight_kg": 60, "birth_date": date(1980, 6, 15), "sex": "male"}
    assert assess_creatinine(mg, **args).value == assess_creatinine(umol, **args).value == 79.1


def test_age_is_taken_on_the_day_of_collection() -> None:
    assert age_on(date(1980, 6, 15), date(2026, 6, 14)) == 45
    assert age_on(date(1980, 6, 15), date(2026, 6, 15)) == 46


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"value": 5, "unit": "umol/L"}, "between 10 and 2000"),
        ({"value": 30, "unit": "mg/dL"}, "between 0.1 and 25"),
    ],
)
def test_implausible_creatinine_is_refused_naming_the_unit(
    kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        Creatinine(collected_on=date(2026, 3, 2), **kwargs)


# -- through decide --------------------------------------------------------------------------


def _awaiting_product(protocol: Protocol = PROTOCOL) -> Journey:
    j = Journey(protocol)
    j.to_phase("awaiting_product")
    return j


def _record(j: Journey, measurement: Any) -> None:
    j.send(COORDINATOR, c.RecordMeasurement(occurred_at=j.now, measurement=measurement))


def _with_egfr(j: Journey, value: float) -> None:
    """The re-checks, then a same-day reported eGFR that is lower than the creatinine's CrCl."""
    j.prechecks()
    _record(j, ReportedEgfr(collected_on=j.today, value=value, equation="CKD-EPI 2021"))


@pytest.mark.parametrize(
    ("egfr", "fludarabine_mg"),
    # BSA 1.66 (60 kg, 165 cm) × 30 mg/m²: full 49.8 → 49; ×0.8 → 39; ×0.6 → 29.
    [(30.0, 29.0), (49.9, 29.0), (50.0, 39.0), (69.9, 39.0), (70.0, 39.0), (70.1, 39.0)],
)
def test_plan_uses_the_lower_same_day_renal_result_and_the_protocols_band(
    egfr: float, fludarabine_mg: float
) -> None:
    j = _awaiting_product()
    _with_egfr(j, egfr)
    j.send(INVESTIGATOR, j.plan())
    plan = j.state.ld_plan
    assert plan is not None and plan.renal is not None
    assert (plan.renal.method, plan.renal.value, plan.renal.measured_on) == (
        "reported_egfr",
        egfr,
        j.today,
    )
    assert {d.mg for d in plan.doses if d.drug == "fludarabine"} == {fludarabine_mg}
    assert {d.mg for d in plan.doses if d.drug == "cyclophosphamide"} == {498.0}
    assert plan.renal_rule is not None and plan.renal_rule.startswith("fludara_label")
    assert plan.weight_measured_on == j.today
    assert plan.sponsor_note is not None and "sponsor" in plan.sponsor_note


def test_planning_below_the_threshold_is_refused_naming_the_renal_rule() -> None:
    j = _awaiting_product()
    _with_egfr(j, 29.9)
    count = len(j.events)
    with pytest.raises(ValueOutOfRange) as refused:
        j.send(INVESTIGATOR, j.plan())
    assert refused.value.field == "renal"
    assert "below 30" in refused.value.message and "override" in refused.value.message
    assert len(j.events) == count


def test_a_pi_override_below_the_threshold_is_an_event_and_a_deviation_and_unlocks_planning() -> (
    None
):
    j = _awaiting_product()
    _with_egfr(j, 25.0)
    events = j.send(
        PI,
        c.OverrideRenalThreshold(
            occurred_at=j.now, factor=0.5, reason="no alternative; nephrology consulted"
        ),
    )
    assert [e.type for e in events] == ["renal.override_recorded", "deviation.opened"]
    assert events[0].actor.user_id == "petra"
    assert j.state.deviations[-1].kind == "renal_threshold_override"
    j.send(INVESTIGATOR, j.plan())
    plan = j.state.ld_plan
    assert plan is not None
    assert plan.renal_override_seq == events[0].seq
    # 1.66 × 30 × 0.5 = 24.9 → 24 mg.
    assert {d.mg for d in plan.doses if d.drug == "fludarabine"} == {24.0}


def test_a_new_renal_result_needs_a_new_override() -> None:
    j = _awaiting_product()
    _with_egfr(j, 25.0)
    j.send(PI, c.OverrideRenalThreshold(occurred_at=j.now, factor=0.5, reason="documented"))
    j.advance(1)
    _record(j, ReportedEgfr(collected_on=j.today, value=20.0, equation="CKD-EPI 2021"))
    with pytest.raises(ValueOutOfRange, match="below 30"):
        j.send(INVESTIGATOR, j.plan())


def test_the_override_factor_may_not_exceed_the_lowest_band() -> None:
    j = _awaiting_product()
    _with_egfr(j, 25.0)
    with pytest.raises(ValueOutOfRange) as refused:
        j.send(PI, c.OverrideRenalThreshold(occurred_at=j.now, factor=0.8, reason="x"))
    assert refused.value.field == "factor"


def test_no_override_when_kidney_function_is_above_the_threshold() -> None:
    j = _awaiting_product()
    _with_egfr(j, 30.0)
    with pytest.raises(WrongPhase, match="no override is needed"):
        j.send(PI, c.OverrideRenalThreshold(occurred_at=j.now, factor=0.5, reason="x"))


def test_a_typed_egfr_is_refused_when_the_protocol_takes_dated_results() -> None:
    j = _awaiting_product()
    j.prechecks()
    command = j.plan().model_copy(update={"egfr": 90.0})
    with pytest.raises(ValueOutOfRange) as refused:
        j.send(INVESTIGATOR, command)
    assert refused.value.field == "egfr"


def test_a_typed_weight_that_differs_from_the_dated_one_is_refused() -> None:
    j = _awaiting_product()
    j.prechecks()
    with pytest.raises(ValueOutOfRange) as refused:
        j.send(INVESTIGATOR, j.plan().model_copy(update={"weight_kg": 61.0}))
    assert refused.value.field == "weight_kg"


def test_creatinine_clearance_by_cockcroft_gault_doses_the_plan() -> None:
    j = _awaiting_product()
    j.prechecks()
    j.send(INVESTIGATOR, j.plan())
    plan = j.state.ld_plan
    assert plan is not None and plan.renal is not None
    # 45-year-old woman, 60 kg, creatinine 70 µmol/L: 95 × 60 × 0.85 / (72 × 0.7917) = 85.0.
    assert plan.renal.method == "cockcroft_gault"
    assert plan.renal.value == pytest.approx(85.0, abs=0.1)
    assert not plan.renal_adjusted


def test_a_version_1_plan_with_a_typed_egfr_is_upcast_on_read() -> None:
    j = _awaiting_product()
    j.prechecks()
    j.send(INVESTIGATOR, j.plan())
    raw = next(e for e in j.events if e.type == "lymphodepletion.planned").model_dump(mode="json")
    payload = {
        k: v
        for k, v in raw["payload"].items()
        if k not in {"renal", "weight_measured_on", "renal_factor", "renal_rule"}
        and k not in {"renal_override_seq", "sponsor_note", "caps_applied"}
    }
    v1 = {**raw, "schema_version": 1, "payload": {**payload, "schema_version": 1, "egfr": 88.0}}
    event = parse_event(v1)
    plan = event.payload
    assert plan.type == "lymphodepletion.planned"
    assert plan.schema_version == 2
    assert plan.egfr == 88.0
    assert plan.renal is not None
    assert (plan.renal.method, plan.renal.value, plan.renal.measured_on) == (
        "typed_egfr",
        88.0,
        None,
    )


def test_a_protocol_without_dated_results_still_plans_from_a_typed_egfr() -> None:
    legacy = PROTOCOL.model_copy(update={"pre_lymphodepletion": None})
    j = _awaiting_product(legacy)
    j.send(INVESTIGATOR, j.plan())
    plan = j.state.ld_plan
    assert plan is not None and plan.egfr == 90 and plan.weight_kg == 60
    assert plan.renal is not None and plan.renal.method == "typed_egfr"


def test_results_older_than_the_plan_window_are_stale_at_approval() -> None:
    j = _awaiting_product()
    j.prechecks()
    j.send(INVESTIGATOR, j.plan(infusion_in_days=7))
    # First dose on day −5 = today + 2; the 3-day infection window then starts tomorrow − 0.
    j.advance(1)
    assert j.state.ld_plan is not None
    replanned = c.PlanLymphodepletion(
        occurred_at=j.now,
        infusion_date=j.state.ld_plan.infusion_date + timedelta(days=2),
        height_cm=165,
    )
    with pytest.raises(MissingPrerequisite, match="infection assessment stale"):
        j.send(INVESTIGATOR, replanned)
