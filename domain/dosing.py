"""Dose arithmetic: body surface area, the lymphodepletion plan and the CAR-T product dose.

Money-style decimal arithmetic is used for BSA rounding and the per-day doses because binary
floats put 2.01 m² × 300 mg/m² at 602.999…, and rounding that *down* would cost a whole mg.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, timedelta
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

from pydantic import BaseModel, ConfigDict

from domain.events import LymphodepletionPlanned, PlannedDose
from domain.protocol import DoseLevel, LymphodepletionDrug, LymphodepletionRegimen
from domain.renal import RenalAssessment, RenalDosing

__all__ = [
    "EGFR_RANGE",
    "HEIGHT_CM_RANGE",
    "WEIGHT_KG_RANGE",
    "DoseOutOfRange",
    "DrugDoses",
    "ImplausibleValue",
    "PlannedDose",
    "ProductDose",
    "RenalContraindication",
    "bsa_mosteller",
    "lymphodepletion_plan",
    "planned_doses",
    "product_dose",
]

# Plausible adult bounds: outside them the number is far more likely a typo (lb for kg, m
# for cm) than a real subject, and a dose computed from a typo is dangerous.
WEIGHT_KG_RANGE = (30.0, 250.0)
HEIGHT_CM_RANGE = (120.0, 230.0)
EGFR_RANGE = (0.0, 250.0)


class ImplausibleValue(ValueError):
    """A body measurement outside plausible adult bounds; ``field`` names the input."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


class DoseOutOfRange(ValueError):
    """The requested TU/kg lies outside the enrolled dose level's protocol range."""

    def __init__(self, dose_level: DoseLevel, tu_per_kg: float) -> None:
        self.dose_level = dose_level.code
        self.tu_per_kg = tu_per_kg
        super().__init__(
            f"tu_per_kg {tu_per_kg:.3g} is outside dose level {dose_level.code} "
            f"({dose_level.min_tu_per_kg:.3g}–{dose_level.max_tu_per_kg:.3g} TU/kg inclusive)"
        )


class ProductDose(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    total_tu: float
    tu_per_kg: float


def _check(name: str, value: float, bounds: tuple[float, float], unit: str) -> None:
    low, high = bounds
    if not (math.isfinite(value) and low <= value <= high):
        raise ImplausibleValue(
            name, f"{name} must be between {low:g} and {high:g} {unit}, got {value:g}"
        )


def _decimal(value: float) -> Decimal:
    # Through str so 1.7 is 1.7, not 1.6999999999999999555910790149937.
    return Decimal(str(value))


def bsa_mosteller(weight_kg: float, height_cm: float, decimals: int = 2) -> float:
    """Mosteller BSA in m², sqrt(height_cm × weight_kg / 3600), rounded half-up."""
    _check("weight_kg", weight_kg, WEIGHT_KG_RANGE, "kg")
    _check("height_cm", height_cm, HEIGHT_CM_RANGE, "cm")
    exact = (_decimal(height_cm) * _decimal(weight_kg) / Decimal(3600)).sqrt()
    return float(exact.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP))


def _legacy_factor(drug: LymphodepletionDrug, egfr: float) -> float:
    if drug.renal is not None:
        factor = drug.renal.factor(egfr)
        if factor is None:
            raise RenalContraindication(drug.drug, drug.renal, egfr)
        return factor
    threshold, factor = drug.renal_adjust_below_egfr, drug.renal_adjust_factor
    if threshold is not None and factor is not None and egfr < threshold:
        return factor
    return 1.0


class RenalContraindication(ValueError):
    """Kidney function below the drug's do-not-give threshold."""

    def __init__(self, drug: str, rules: RenalDosing, value: float) -> None:
        self.drug = drug
        self.threshold = rules.do_not_give_below
        super().__init__(
            f"{drug} must not be given below {rules.do_not_give_below:g} mL/min "
            f"({rules.convention}); kidney function is {value:g}"
        )


class DrugDoses(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    bsa_m2: float
    doses: tuple[PlannedDose, ...]
    caps_applied: tuple[str, ...]


def planned_doses(
    weight_kg: float,
    height_cm: float,
    infusion_date: date,
    regimen: LymphodepletionRegimen,
    factors: Mapping[str, float],
) -> DrugDoses:
    """Per-drug, per-day doses in mg, each rounded down to the regimen's rounding step.

    ``factors`` holds each renally adjusted drug's factor; the caps (BSA, daily mg) apply after
    it, so a cap never raises a dose.
    """
    bsa = bsa_mosteller(weight_kg, height_cm, regimen.bsa_decimals)
    step = _decimal(regimen.dose_rounding_mg)
    doses: list[PlannedDose] = []
    caps: list[str] = []
    for drug in regimen.drugs:
        per_m2 = _decimal(drug.mg_per_m2_per_day) * _decimal(factors.get(drug.drug, 1.0))
        drug_bsa = _decimal(bsa)
        if drug.max_bsa_m2 is not None and drug_bsa > _decimal(drug.max_bsa_m2):
            drug_bsa = _decimal(drug.max_bsa_m2)
            caps.append(f"{drug.drug}: BSA capped at {drug.max_bsa_m2:g} m²")
        exact = drug_bsa * per_m2
        if drug.max_daily_mg is not None and exact > _decimal(drug.max_daily_mg):
            exact = _decimal(drug.max_daily_mg)
            caps.append(f"{drug.drug}: daily dose capped at {drug.max_daily_mg:g} mg")
        mg = float((exact / step).to_integral_value(ROUND_FLOOR) * step)
        doses.extend(
            PlannedDose(drug=drug.drug, day=day, on=infusion_date + timedelta(days=day), mg=mg)
            for day in drug.days
        )
    doses.sort(key=lambda d: (d.day, d.drug))
    return DrugDoses(bsa_m2=bsa, doses=tuple(doses), caps_applied=tuple(caps))


def lymphodepletion_plan(
    weight_kg: float,
    height_cm: float,
    egfr: float,
    infusion_date: date,
    regimen: LymphodepletionRegimen,
) -> LymphodepletionPlanned:
    """The plan from a typed, undated eGFR: protocols written before dated renal results."""
    _check("egfr", egfr, EGFR_RANGE, "mL/min/1.73m²")
    bsa_mosteller(weight_kg, height_cm, regimen.bsa_decimals)  # names a typo'd input first
    factors = {drug.drug: _legacy_factor(drug, egfr) for drug in regimen.drugs}
    planned = planned_doses(weight_kg, height_cm, infusion_date, regimen, factors)
    return LymphodepletionPlanned(
        infusion_date=infusion_date,
        weight_kg=weight_kg,
        height_cm=height_cm,
        egfr=egfr,
        bsa_m2=planned.bsa_m2,
        renal_adjusted=any(f < 1.0 for f in factors.values()),
        doses=planned.doses,
        renal=RenalAssessment(method="typed_egfr", value=egfr, unit="mL/min/1.73m2"),
        renal_factor=min(factors.values(), default=1.0),
        sponsor_note=regimen.sponsor_note,
        caps_applied=planned.caps_applied,
    )


def product_dose(dose_level: DoseLevel, weight_kg: float, tu_per_kg: float) -> ProductDose:
    """Total transducing units for the subject; the TU/kg must lie within the dose level."""
    _check("weight_kg", weight_kg, WEIGHT_KG_RANGE, "kg")
    if not (math.isfinite(tu_per_kg) and tu_per_kg > 0):
        raise DoseOutOfRange(dose_level, tu_per_kg)
    if not dose_level.min_tu_per_kg <= tu_per_kg <= dose_level.max_tu_per_kg:
        raise DoseOutOfRange(dose_level, tu_per_kg)
    return ProductDose(total_tu=weight_kg * tu_per_kg, tu_per_kg=tu_per_kg)
