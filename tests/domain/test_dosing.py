"""Body surface area, the lymphodepletion plan and the product dose, checked by hand."""

from __future__ import annotations

from datetime import date

import pytest

from domain import events
from domain.dosing import (
    DoseOutOfRange,
    bsa_mosteller,
    lymphodepletion_plan,
    product_dose,
)
from domain.protocol import LymphodepletionRegimen, Protocol, load_protocol

INFUSION = date(2026, 3, 10)


@pytest.fixture(scope="module")
def protocol() -> Protocol:
    return load_protocol("1.0")


def _mg(plan_doses: tuple[events.PlannedDose, ...], drug: str) -> set[float]:
    return {d.mg for d in plan_doses if d.drug == drug}


@pytest.mark.parametrize(
    ("weight", "height", "bsa"),
    [
        (70.0, 170.0, 1.82),  # sqrt(11900/3600) = 1.81812
        (80.8, 180.0, 2.01),  # sqrt(4.04) = 2.00998
        (100.3, 190.0, 2.30),  # sqrt(5.29361) = 2.30078
        (75.0, 159.87, 1.83),  # sqrt(3.330625) = 1.825 exactly: half rounds up
        (30.0, 120.0, 1.00),  # sqrt(1.0), the lower plausibility bounds
    ],
)
def test_mosteller_bsa_is_rounded_half_up_to_two_decimals(
    weight: float, height: float, bsa: float
) -> None:
    assert bsa_mosteller(weight, height, 2) == bsa


def test_70_kg_170_cm_gets_54_mg_fludarabine_and_546_mg_cyclophosphamide_on_days_minus_5_to_3(
    protocol: Protocol,
) -> None:
    plan = lymphodepletion_plan(70, 170, 88, INFUSION, protocol.lymphodepletion)
    assert plan.bsa_m2 == 1.82
    assert not plan.renal_adjusted
    # 1.82 × 30 = 54.6 → 54 mg; 1.82 × 300 = 546 mg.
    assert _mg(plan.doses, "fludarabine") == {54.0}
    assert _mg(plan.doses, "cyclophosphamide") == {546.0}
    assert [(d.day, d.on) for d in plan.doses if d.drug == "fludarabine"] == [
        (-5, date(2026, 3, 5)),
        (-4, date(2026, 3, 6)),
        (-3, date(2026, 3, 7)),
    ]
    assert len(plan.doses) == 6


def test_dose_on_an_exact_mg_is_not_lost_to_binary_float_error(protocol: Protocol) -> None:
    # 2.01 × 300 is 602.99999… in floats; the exact product is 603.
    plan = lymphodepletion_plan(80.8, 180, 88, INFUSION, protocol.lymphodepletion)
    assert plan.bsa_m2 == 2.01
    assert _mg(plan.doses, "cyclophosphamide") == {603.0}
    assert _mg(plan.doses, "fludarabine") == {60.0}


def _legacy(protocol: Protocol) -> LymphodepletionRegimen:
    """The regimen as protocols carried it before renal bands: ×0.8 below a typed eGFR of 70."""
    drugs = tuple(
        d.model_copy(
            update={"renal": None, "renal_adjust_below_egfr": 70.0, "renal_adjust_factor": 0.8}
        )
        if d.drug == "fludarabine"
        else d
        for d in protocol.lymphodepletion.drugs
    )
    return protocol.lymphodepletion.model_copy(update={"drugs": drugs})


def test_legacy_rule_reduces_fludarabine_by_20_percent_when_egfr_is_just_below_70(
    protocol: Protocol,
) -> None:
    plan = lymphodepletion_plan(70, 170, 69.9, INFUSION, _legacy(protocol))
    assert plan.renal_adjusted
    # 1.82 × 30 × 0.8 = 43.68 → 43 mg; cyclophosphamide has no renal rule.
    assert _mg(plan.doses, "fludarabine") == {43.0}
    assert _mg(plan.doses, "cyclophosphamide") == {546.0}


def test_legacy_rule_does_not_reduce_at_egfr_of_exactly_70(protocol: Protocol) -> None:
    plan = lymphodepletion_plan(70, 170, 70, INFUSION, _legacy(protocol))
    assert not plan.renal_adjusted
    assert _mg(plan.doses, "fludarabine") == {54.0}


def test_a_typed_egfr_is_read_against_the_renal_bands_when_the_protocol_has_them(
    protocol: Protocol,
) -> None:
    # Fludara bands: 70 lies in 50–79 → ×0.8; 1.82 × 30 × 0.8 = 43.68 → 43 mg.
    plan = lymphodepletion_plan(70, 170, 70, INFUSION, protocol.lymphodepletion)
    assert plan.renal_adjusted
    assert _mg(plan.doses, "fludarabine") == {43.0}
    with pytest.raises(ValueError, match="must not be given below 30"):
        lymphodepletion_plan(70, 170, 29.9, INFUSION, protocol.lymphodepletion)


def test_doses_round_down_to_the_regimens_rounding_step(protocol: Protocol) -> None:
    regimen = protocol.lymphodepletion.model_copy(update={"dose_rounding_mg": 5.0})
    plan = lymphodepletion_plan(70, 170, 88, INFUSION, regimen)
    assert _mg(plan.doses, "fludarabine") == {50.0}
    assert _mg(plan.doses, "cyclophosphamide") == {545.0}


def test_plan_is_the_lymphodepletion_planned_event(protocol: Protocol) -> None:
    event = lymphodepletion_plan(70, 170, 88, INFUSION, protocol.lymphodepletion)
    assert isinstance(event, events.LymphodepletionPlanned)
    assert event.bsa_m2 == 1.82
    assert (event.infusion_date, event.weight_kg, event.height_cm, event.egfr) == (
        INFUSION,
        70,
        170,
        88,
    )
    assert all(isinstance(d, events.PlannedDose) for d in event.doses)


@pytest.mark.parametrize(
    ("weight", "height", "egfr", "field"),
    [
        (29.9, 170, 88, "weight_kg"),
        (250.1, 170, 88, "weight_kg"),
        (float("nan"), 170, 88, "weight_kg"),
        (70, 119.9, 88, "height_cm"),
        (70, 230.1, 88, "height_cm"),
        (70, 170, -1, "egfr"),
    ],
)
def test_implausible_body_measures_are_rejected_naming_the_field(
    protocol: Protocol, weight: float, height: float, egfr: float, field: str
) -> None:
    with pytest.raises(ValueError, match=field):
        lymphodepletion_plan(weight, height, egfr, INFUSION, protocol.lymphodepletion)


def test_weight_and_height_bounds_themselves_are_accepted(protocol: Protocol) -> None:
    plan = lymphodepletion_plan(250, 230, 88, INFUSION, protocol.lymphodepletion)
    assert plan.bsa_m2 == 4.00  # sqrt(57500/3600) = 3.9965


def test_product_dose_is_weight_times_tu_per_kg(protocol: Protocol) -> None:
    dose = product_dose(protocol.dose_level("DL1"), 70, 5e6)
    assert dose.total_tu == pytest.approx(3.5e8)
    assert dose.tu_per_kg == 5e6


@pytest.mark.parametrize(
    ("level", "tu_per_kg"),
    [("DL1", 1e6), ("DL1", 1e7), ("DL2", 1e7), ("DL2", 5e7), ("DL3", 5e7), ("DL3", 1e8)],
)
def test_tu_per_kg_on_either_end_of_a_dose_level_is_allowed(
    protocol: Protocol, level: str, tu_per_kg: float
) -> None:
    assert product_dose(protocol.dose_level(level), 60, tu_per_kg).tu_per_kg == tu_per_kg


@pytest.mark.parametrize(
    ("level", "tu_per_kg"),
    [("DL1", 9.99e5), ("DL1", 1.01e7), ("DL2", 9.9e6), ("DL2", 5.1e7), ("DL3", 1.01e8), ("DL3", 0)],
)
def test_tu_per_kg_outside_the_dose_level_raises_dose_out_of_range_naming_the_level(
    protocol: Protocol, level: str, tu_per_kg: float
) -> None:
    with pytest.raises(DoseOutOfRange, match=f"dose level {level}") as caught:
        product_dose(protocol.dose_level(level), 60, tu_per_kg)
    assert isinstance(caught.value, ValueError)
    assert caught.value.dose_level == level


def test_product_dose_rejects_implausible_weight(protocol: Protocol) -> None:
    with pytest.raises(ValueError, match="weight_kg"):
        product_dose(protocol.dose_level("DL1"), 12, 5e6)
