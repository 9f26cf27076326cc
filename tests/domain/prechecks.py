"""The dated re-check results a site records before lymphodepletion, for tests that need them.

Creatinine 70 µmol/L for the factories' 45-year-old, 60 kg woman gives a Cockcroft–Gault
clearance of 85 mL/min: full fludarabine dose, as the typed eGFR of 90 did before.
"""

from __future__ import annotations

from datetime import date, datetime

from domain import commands as c
from domain.measurements import (
    BloodCounts,
    Creatinine,
    InfectionAssessment,
    Measurement,
    PregnancyTest,
    Weight,
)

__all__ = ["precheck_commands", "weight_command"]


def precheck_commands(
    at: datetime, on: date, *, childbearing_potential: bool = True, weight_kg: float = 60
) -> list[c.RecordMeasurement]:
    found: list[Measurement] = [
        Creatinine(collected_on=on, value=70, unit="umol/L"),
        Weight(collected_on=on, kg=weight_kg),
        InfectionAssessment(collected_on=on, active_infection_needing_systemic_treatment=False),
        BloodCounts(collected_on=on, hemoglobin_g_per_l=120, platelets_10e9_per_l=210),
    ]
    if childbearing_potential:
        found.append(PregnancyTest(collected_on=on, sample="urine", result="negative"))
    return [c.RecordMeasurement(occurred_at=at, measurement=m) for m in found]


def weight_command(at: datetime, on: date, kg: float = 60) -> c.RecordMeasurement:
    return c.RecordMeasurement(occurred_at=at, measurement=Weight(collected_on=on, kg=kg))
