"""Kidney function for dosing: Cockcroft–Gault creatinine clearance from a dated creatinine,
or a laboratory-reported eGFR, and the protocol's renal bands for a renally cleared drug.

The bands are protocol data because the labels disagree: the US fludarabine injection label
reduces by 20 % for clearance 30–70 mL/min (70 included), the Fludara label gives 20 mg/m²
(×0.8) for 50–79 and 15 mg/m² (×0.6) for 30–49 mL/min by Cockcroft–Gault; both say "do not
give" below 30. Each band states whether its ends are inclusive.
"""

from __future__ import annotations

import itertools
import math
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.measurements import Creatinine, ReportedEgfr
from domain.values import Sex

__all__ = [
    "RenalAssessment",
    "RenalBand",
    "RenalDosing",
    "age_on",
    "assess_creatinine",
    "assess_reported_egfr",
    "cockcroft_gault",
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class RenalBand(_Frozen):
    """A clearance range and the factor applied to the drug's dose inside it."""

    low: float | None = Field(default=None, ge=0)
    low_inclusive: bool = True
    high: float | None = Field(default=None, ge=0)
    high_inclusive: bool = False
    factor: float = Field(gt=0, le=1)

    def contains(self, value: float) -> bool:
        if self.low is not None and (
            value < self.low or (value == self.low and not self.low_inclusive)
        ):
            return False
        return not (
            self.high is not None
            and (value > self.high or (value == self.high and not self.high_inclusive))
        )

    def describe(self) -> str:
        low = "" if self.low is None else f"{'≥' if self.low_inclusive else '>'} {self.low:g}"
        high = "" if self.high is None else f"{'≤' if self.high_inclusive else '<'} {self.high:g}"
        return " and ".join(part for part in (low, high) if part) + " mL/min"


class RenalDosing(_Frozen):
    """How a renally cleared drug's dose follows kidney function."""

    # Which label's convention the bands follow, e.g. "fludara_label" or "us_label".
    convention: str = Field(min_length=1)
    source: str = Field(min_length=1)
    site_default: bool = False
    # Below this clearance the drug is not given (exclusive: exactly this value may be given).
    do_not_give_below: float = Field(gt=0)
    bands: tuple[RenalBand, ...]
    # A laboratory eGFR (mL/min/1.73 m²) may stand in for Cockcroft–Gault clearance.
    accept_reported_egfr: bool = True

    @model_validator(mode="after")
    def _bands_do_not_overlap(self) -> RenalDosing:
        edges = sorted(
            {self.do_not_give_below}
            | {b.low for b in self.bands if b.low is not None}
            | {b.high for b in self.bands if b.high is not None}
        )
        probes = [*edges, *(a + (b - a) / 2 for a, b in itertools.pairwise(edges))]
        for value in probes:
            if sum(b.contains(value) for b in self.bands) > 1:
                raise ValueError(f"renal bands overlap at {value:g} mL/min")
        return self

    def factor(self, clearance: float) -> float | None:
        """The dose factor at this clearance; None means the drug must not be given."""
        if clearance < self.do_not_give_below:
            return None
        return next((b.factor for b in self.bands if b.contains(clearance)), 1.0)

    @property
    def lowest_factor(self) -> float:
        return min((b.factor for b in self.bands), default=1.0)


class RenalAssessment(_Frozen):
    """The kidney function a dose was based on, with everything needed to recompute it."""

    method: Literal["cockcroft_gault", "reported_egfr", "typed_egfr"]
    value: float
    unit: Literal["mL/min", "mL/min/1.73m2"]
    # None only for the typed eGFR of plans made before results were dated.
    measured_on: date | None = None
    equation: str | None = None
    creatinine_umol_per_l: float | None = None
    weight_kg: float | None = None
    age_years: int | None = None
    sex: Sex | None = None

    def describe(self) -> str:
        when = f" on {self.measured_on}" if self.measured_on else " (undated)"
        if self.method == "cockcroft_gault":
            return (
                f"creatinine clearance {self.value:g} mL/min (Cockcroft–Gault: creatinine "
                f"{self.creatinine_umol_per_l:g} µmol/L{when}, {self.weight_kg:g} kg, "
                f"{self.age_years} y, {self.sex})"
            )
        return f"eGFR {self.value:g} mL/min/1.73 m² ({self.equation or 'typed'}{when})"


def age_on(birth_date: date, day: date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def cockcroft_gault(creatinine_mg_dl: float, age_years: int, weight_kg: float, sex: Sex) -> float:
    """CrCl (mL/min) = (140 − age) × weight × (0.85 if female) / (72 × serum creatinine mg/dL)."""
    if not (math.isfinite(creatinine_mg_dl) and creatinine_mg_dl > 0):
        raise ValueError("creatinine must be a positive number")
    clearance = (140 - age_years) * weight_kg / (72 * creatinine_mg_dl)
    return clearance * 0.85 if sex == "female" else clearance


def assess_creatinine(
    result: Creatinine, *, weight_kg: float, birth_date: date, sex: Sex
) -> RenalAssessment:
    age = age_on(birth_date, result.collected_on)
    # One decimal, rounded down: a clearance that is only just at a band edge stays below it.
    value = math.floor(cockcroft_gault(result.mg_per_dl, age, weight_kg, sex) * 10) / 10
    return RenalAssessment(
        method="cockcroft_gault",
        value=value,
        unit="mL/min",
        measured_on=result.collected_on,
        equation="Cockcroft–Gault (actual body weight)",
        creatinine_umol_per_l=round(result.umol_per_l, 1),
        weight_kg=weight_kg,
        age_years=age,
        sex=sex,
    )


def assess_reported_egfr(result: ReportedEgfr) -> RenalAssessment:
    return RenalAssessment(
        method="reported_egfr",
        value=result.value,
        unit="mL/min/1.73m2",
        measured_on=result.collected_on,
        equation=result.equation,
    )
