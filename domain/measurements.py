"""Dated clinical measurements taken after screening: the re-checks before lymphodepletion
(kidney function, weight, pregnancy test, infection status, blood counts).

Every value carries the day it was collected, because the rules that use them are about
recency ("within N days before the first lymphodepletion dose"), not just about the number.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "MG_DL_PER_UMOL_L",
    "BloodCounts",
    "Creatinine",
    "EgfrEquation",
    "InfectionAssessment",
    "Measurement",
    "MeasurementKind",
    "PregnancyTest",
    "ReportedEgfr",
    "Weight",
]

# Creatinine: 1 mg/dL = 88.42 µmol/L (molar mass 113.12 g/mol).
MG_DL_PER_UMOL_L = 1 / 88.42

EgfrEquation = Literal["CKD-EPI 2021", "CKD-EPI 2009", "MDRD", "EKFC"]
MeasurementKind = Literal[
    "creatinine", "egfr", "weight", "pregnancy_test", "infection", "blood_counts"
]


class _Measurement(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    collected_on: date


class Creatinine(_Measurement):
    """Serum creatinine; clearance is derived by Cockcroft–Gault from it."""

    kind: Literal["creatinine"] = "creatinine"
    value: float = Field(gt=0)
    unit: Literal["umol/L", "mg/dL"]

    @model_validator(mode="after")
    def _plausible(self) -> Creatinine:
        # A value outside these bounds is a unit mix-up far more often than a real result.
        low, high = (10.0, 2000.0) if self.unit == "umol/L" else (0.1, 25.0)
        if not low <= self.value <= high:
            raise ValueError(f"creatinine in {self.unit} must be between {low:g} and {high:g}")
        return self

    @property
    def mg_per_dl(self) -> float:
        return self.value if self.unit == "mg/dL" else self.value * MG_DL_PER_UMOL_L

    @property
    def umol_per_l(self) -> float:
        return self.value if self.unit == "umol/L" else self.value / MG_DL_PER_UMOL_L


class ReportedEgfr(_Measurement):
    """An eGFR as the laboratory reported it, with the equation it used."""

    kind: Literal["egfr"] = "egfr"
    value: float = Field(gt=0, le=250, description="mL/min/1.73 m²")
    equation: EgfrEquation


class Weight(_Measurement):
    kind: Literal["weight"] = "weight"
    kg: float = Field(ge=30, le=250)


class PregnancyTest(_Measurement):
    kind: Literal["pregnancy_test"] = "pregnancy_test"
    sample: Literal["urine", "serum"]
    result: Literal["negative", "positive"]


class InfectionAssessment(_Measurement):
    kind: Literal["infection"] = "infection"
    active_infection_needing_systemic_treatment: bool


class BloodCounts(_Measurement):
    kind: Literal["blood_counts"] = "blood_counts"
    hemoglobin_g_per_l: float = Field(gt=0, le=250)
    platelets_10e9_per_l: float = Field(ge=0, le=2000)
    anc_10e9_per_l: float | None = Field(default=None, ge=0, le=100)


Measurement = Annotated[
    Creatinine | ReportedEgfr | Weight | PregnancyTest | InfectionAssessment | BloodCounts,
    Field(discriminator="kind"),
]
