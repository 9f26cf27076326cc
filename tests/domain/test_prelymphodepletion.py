"""The safety re-check before lymphodepletion (recency windows at ±1 day, results that refuse)
and the infusion weight cross-check with its tolerance and the PI's confirmation."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from domain import commands as c
from domain.errors import MissingPrerequisite, WrongPhase
from domain.measurements import (
    BloodCounts,
    InfectionAssessment,
    Measurement,
    PregnancyTest,
    ReportedEgfr,
    Weight,
)
from domain.prelymphodepletion import recheck_problems
from domain.protocol import load_protocol
from tests.domain.journey import COORDINATOR, INVESTIGATOR, PI, Journey
from tests.domain.prechecks import weight_command

PROTOCOL = load_protocol()
RULES = PROTOCOL.pre_lymphodepletion
assert RULES is not None
FIRST_DOSE = date(2026, 3, 10)


def _all_on(day: date, **replace: Measurement) -> list[Measurement]:
    found: dict[str, Measurement] = {
        "infection": InfectionAssessment(
            collected_on=day, active_infection_needing_systemic_treatment=False
        ),
        "pregnancy_test": PregnancyTest(collected_on=day, sample="urine", result="negative"),
        "renal": ReportedEgfr(collected_on=day, value=90, equation="CKD-EPI 2021"),
        "blood_counts": BloodCounts(
            collected_on=day, hemoglobin_g_per_l=110, platelets_10e9_per_l=150
        ),
        "weight": Weight(collected_on=day, kg=60),
    }
    found.update(replace)
    return list(found.values())


def _fields(measurements: list[Measurement], *, wocbp: bool = True) -> list[str]:
    assert RULES is not None
    problems = recheck_problems(RULES, measurements, first_dose=FIRST_DOSE, wocbp=wocbp)
    return [p.field for p in problems]


def test_every_result_on_the_first_dose_day_passes() -> None:
    assert _fields(_all_on(FIRST_DOSE)) == []


@pytest.mark.parametrize("what", ["infection", "pregnancy_test", "renal", "blood_counts", "weight"])
def test_a_result_exactly_at_the_window_start_counts_and_one_day_older_is_stale(
    what: str,
) -> None:
    assert RULES is not None
    check = RULES.recheck(what)  # type: ignore[arg-type]
    assert check is not None
    edge = FIRST_DOSE - timedelta(days=check.within_days)
    at_edge = {m.kind: m for m in _all_on(edge)}
    older = {m.kind: m for m in _all_on(edge - timedelta(days=1))}
    kind = {"renal": "egfr"}.get(what, what)
    assert _fields(_all_on(FIRST_DOSE, **{what: at_edge[kind]})) == []
    assert _fields(_all_on(FIRST_DOSE, **{what: older[kind]})) == [what]


def test_a_result_dated_after_the_first_dose_does_not_count() -> None:
    later = FIRST_DOSE + timedelta(days=1)
    infection = InfectionAssessment(
        collected_on=later, active_infection_needing_systemic_treatment=False
    )
    assert _fields(_all_on(FIRST_DOSE, infection=infection)) == ["infection"]


def test_the_pregnancy_test_is_only_for_women_of_childbearing_potential() -> None:
    without = [m for m in _all_on(FIRST_DOSE) if m.kind != "pregnancy_test"]
    assert _fields(without, wocbp=True) == ["pregnancy_test"]
    assert _fields(without, wocbp=False) == []


@pytest.mark.parametrize(
    ("what", "result"),
    [
        (
            "pregnancy_test",
            PregnancyTest(collected_on=FIRST_DOSE, sample="serum", result="positive"),
        ),
        (
            "infection",
            InfectionAssessment(
                collected_on=FIRST_DOSE, active_infection_needing_systemic_treatment=True
            ),
        ),
        (
            "blood_counts",
            BloodCounts(collected_on=FIRST_DOSE, hemoglobin_g_per_l=59, platelets_10e9_per_l=150),
        ),
        (
            "blood_counts",
            BloodCounts(collected_on=FIRST_DOSE, hemoglobin_g_per_l=60, platelets_10e9_per_l=29),
        ),
    ],
)
def test_a_fresh_but_unacceptable_result_refuses(what: str, result: Measurement) -> None:
    assert _fields(_all_on(FIRST_DOSE, **{what: result})) == [what]


def test_counts_exactly_at_the_registered_thresholds_pass() -> None:
    counts = BloodCounts(collected_on=FIRST_DOSE, hemoglobin_g_per_l=60, platelets_10e9_per_l=30)
    assert _fields(_all_on(FIRST_DOSE, blood_counts=counts)) == []


# -- planning, approval and infusion through decide -----------------------------------------


def _planned() -> Journey:
    j = Journey(PROTOCOL)
    j.to_phase("awaiting_product")
    j.prechecks()
    j.send(INVESTIGATOR, j.plan())
    return j


def test_planning_names_every_missing_recheck() -> None:
    j = Journey(PROTOCOL)
    j.to_phase("awaiting_product")
    with pytest.raises(MissingPrerequisite) as refused:
        j.send(INVESTIGATOR, j.plan())
    for label in ("infection", "pregnancy test", "creatinine or eGFR", "blood counts", "weight"):
        assert label in refused.value.message
    assert refused.value.field == "infection"


def test_approval_applies_the_recheck_again_to_results_recorded_after_planning() -> None:
    j = _planned()
    j.send(
        COORDINATOR,
        c.RecordMeasurement(
            occurred_at=j.now,
            measurement=PregnancyTest(collected_on=j.today, sample="serum", result="positive"),
        ),
    )
    with pytest.raises(MissingPrerequisite) as refused:
        j.send(PI, j.approve())
    assert refused.value.field == "pregnancy_test"
    assert not j.state.ld_approved


def test_approval_is_refused_when_kidney_function_changed_since_planning() -> None:
    j = _planned()
    j.send(
        COORDINATOR,
        c.RecordMeasurement(
            occurred_at=j.now,
            measurement=ReportedEgfr(collected_on=j.today, value=45, equation="CKD-EPI 2021"),
        ),
    )
    with pytest.raises(MissingPrerequisite) as refused:
        j.send(PI, j.approve())
    assert refused.value.field == "renal"
    assert "plan again" in refused.value.message


def _to_infusion_day(weight_kg: float) -> tuple[Journey, Any]:
    j = _planned()
    j.send(PI, j.approve())
    j.give_doses()
    assert j.state.ld_plan is not None
    j.go_to(j.state.ld_plan.infusion_date)
    j.send(COORDINATOR, weight_command(j.now, j.today, weight_kg))
    return j, c.RecordInfusion(occurred_at=j.now, infused_on=j.today, tu_per_kg=5e6)


@pytest.mark.parametrize("weight_kg", [54.0, 66.0])
def test_an_infusion_weight_change_of_exactly_the_tolerance_is_accepted(weight_kg: float) -> None:
    j, infusion = _to_infusion_day(weight_kg)
    j.send(INVESTIGATOR, infusion)
    assert j.state.total_tu == pytest.approx(weight_kg * 5e6)


def test_a_change_beyond_the_tolerance_needs_the_pi_to_confirm_the_weight() -> None:
    j, infusion = _to_infusion_day(66.1)
    with pytest.raises(MissingPrerequisite) as refused:
        j.send(INVESTIGATOR, infusion)
    assert refused.value.field == "weight_kg"
    assert "10.2 %" in refused.value.message and "PI" in refused.value.message
    j.send(PI, c.ConfirmInfusionWeight(occurred_at=j.now, reason="re-weighed on two scales"))
    j.send(INVESTIGATOR, infusion)
    assert j.state.total_tu == pytest.approx(66.1 * 5e6)


def test_a_confirmation_covers_only_the_weight_it_confirmed() -> None:
    j, infusion = _to_infusion_day(70.0)
    j.send(PI, c.ConfirmInfusionWeight(occurred_at=j.now, reason="checked"))
    j.send(COORDINATOR, weight_command(j.now, j.today, 72.0))
    with pytest.raises(MissingPrerequisite):
        j.send(INVESTIGATOR, infusion)


def test_nothing_to_confirm_within_the_tolerance() -> None:
    j, _ = _to_infusion_day(61.0)
    with pytest.raises(WrongPhase, match="nothing to confirm"):
        j.send(PI, c.ConfirmInfusionWeight(occurred_at=j.now, reason="checked"))


def test_the_infusion_weight_must_be_measured_within_its_window() -> None:
    j = _planned()
    j.send(PI, j.approve())
    j.give_doses()
    assert j.state.ld_plan is not None
    j.go_to(j.state.ld_plan.infusion_date)
    # The planning weight is 7 days old; the infusion window is 3 days.
    with pytest.raises(MissingPrerequisite) as refused:
        j.send(INVESTIGATOR, c.RecordInfusion(occurred_at=j.now, infused_on=j.today, tu_per_kg=5e6))
    assert refused.value.field == "weight"


@pytest.mark.parametrize(("days_before", "accepted"), [(3, True), (4, False)])
def test_the_infusion_weight_counts_at_its_window_start_and_not_a_day_earlier(
    days_before: int, accepted: bool
) -> None:
    j = _planned()
    j.send(PI, j.approve())
    j.give_doses()
    assert j.state.ld_plan is not None
    infusion_date = j.state.ld_plan.infusion_date
    j.go_to(infusion_date)
    j.send(COORDINATOR, weight_command(j.now, infusion_date - timedelta(days=days_before), 60))
    infusion = c.RecordInfusion(occurred_at=j.now, infused_on=j.today, tu_per_kg=5e6)
    if accepted:
        j.send(INVESTIGATOR, infusion)
        assert j.state.total_tu == pytest.approx(60 * 5e6)
        return
    with pytest.raises(MissingPrerequisite) as refused:
        j.send(INVESTIGATOR, infusion)
    assert refused.value.field == "weight"
    assert j.state.infusion_date is None


def test_a_loss_just_beyond_the_tolerance_needs_the_pi_too() -> None:
    j, infusion = _to_infusion_day(53.9)
    with pytest.raises(MissingPrerequisite) as refused:
        j.send(INVESTIGATOR, infusion)
    assert refused.value.field == "weight_kg" and "10.2 %" in refused.value.message
