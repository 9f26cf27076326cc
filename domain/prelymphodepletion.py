"""The safety re-check before lymphodepletion: which dated results must exist, how recent they
must be relative to the first lymphodepletion dose, and what they must show.

Pure functions over the subject's measurements, so planning and approval apply the very same
check (a result that was fresh at planning may be stale by the time the PI approves).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.measurements import (
    BloodCounts,
    Creatinine,
    InfectionAssessment,
    Measurement,
    PregnancyTest,
    ReportedEgfr,
    Weight,
)

__all__ = [
    "RECHECK_LABELS",
    "RECHECK_TYPES",
    "PreLymphodepletionRules",
    "Problem",
    "Recheck",
    "latest",
    "recheck_problems",
    "window_of",
]

RecheckKind = Literal["renal", "weight", "pregnancy_test", "infection", "blood_counts"]

_KINDS: dict[str, tuple[type[BaseModel], ...]] = {
    "renal": (Creatinine, ReportedEgfr),
    "weight": (Weight,),
    "pregnancy_test": (PregnancyTest,),
    "infection": (InfectionAssessment,),
    "blood_counts": (BloodCounts,),
}
_LABELS = {
    "renal": "creatinine or eGFR",
    "weight": "weight",
    "pregnancy_test": "pregnancy test",
    "infection": "infection assessment",
    "blood_counts": "blood counts",
}
# What each re-check reads, and how it is named, for views that list the re-checks.
RECHECK_TYPES = _KINDS
RECHECK_LABELS = _LABELS


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class Recheck(_Frozen):
    """One result that must be on file within ``within_days`` before the first LD dose.

    Inclusive: a result collected exactly ``within_days`` days before the first dose counts;
    one a day older is stale. A result dated after the first dose does not count either.
    """

    what: RecheckKind
    within_days: int = Field(ge=0)
    # "wocbp": women of childbearing potential only (a pregnancy test).
    applies_to: Literal["all", "wocbp"] = "all"
    source: str = Field(min_length=1)
    site_default: bool = False


class PreLymphodepletionRules(_Frozen):
    source: str = Field(min_length=1)
    site_default: bool = False
    rechecks: tuple[Recheck, ...]
    # Count thresholds re-applied before lymphodepletion; None skips that count's check.
    hemoglobin_g_per_l_min: float | None = None
    platelets_10e9_per_l_min: float | None = None
    # The infusion dose uses a weight measured within this many days before the infusion ...
    infusion_weight_within_days: int = Field(default=3, ge=0)
    # ... and a change from the planning weight beyond this (percent) needs the PI's confirmation.
    infusion_weight_tolerance_percent: float = Field(default=10.0, gt=0, le=50)

    def recheck(self, what: RecheckKind) -> Recheck | None:
        return next((r for r in self.rechecks if r.what == what), None)


class Problem(_Frozen):
    field: str
    message: str


def window_of(first_dose: date, within_days: int) -> tuple[date, date]:
    return first_dose - timedelta(days=within_days), first_dose


def latest(
    measurements: Sequence[Measurement],
    types: tuple[type[BaseModel], ...],
    window: tuple[date, date] | None = None,
) -> Measurement | None:
    """The most recent result of these types (inside the window, when given)."""
    found = [
        m
        for m in measurements
        if isinstance(m, types) and (window is None or window[0] <= m.collected_on <= window[1])
    ]
    # Stable: of two results on the same day, the one recorded last wins.
    return max(reversed(found), key=lambda m: m.collected_on, default=None)


def recheck_problems(
    rules: PreLymphodepletionRules,
    measurements: Sequence[Measurement],
    *,
    first_dose: date,
    wocbp: bool,
) -> list[Problem]:
    """Every re-check that is missing, stale or unacceptable, each named with its window."""
    problems: list[Problem] = []
    for check in rules.rechecks:
        if check.applies_to == "wocbp" and not wocbp:
            continue
        window = window_of(first_dose, check.within_days)
        label = _LABELS[check.what]
        result = latest(measurements, _KINDS[check.what], window)
        if result is None:
            older = latest(measurements, _KINDS[check.what])
            state = f"stale (last {older.collected_on})" if older is not None else "missing"
            problems.append(
                Problem(
                    field=check.what,
                    message=f"{label} {state}: needed between {window[0]} and {window[1]} "
                    f"({check.within_days} days before the first lymphodepletion dose)",
                )
            )
            continue
        problem = _unacceptable(rules, result)
        if problem is not None:
            problems.append(Problem(field=check.what, message=problem))
    return problems


def _unacceptable(rules: PreLymphodepletionRules, result: Measurement) -> str | None:
    if isinstance(result, PregnancyTest) and result.result == "positive":
        return f"pregnancy test on {result.collected_on} is positive"
    if (
        isinstance(result, InfectionAssessment)
        and result.active_infection_needing_systemic_treatment
    ):
        return f"active infection needing systemic treatment on {result.collected_on}"
    if isinstance(result, BloodCounts):
        hb, plt = rules.hemoglobin_g_per_l_min, rules.platelets_10e9_per_l_min
        if hb is not None and result.hemoglobin_g_per_l < hb:
            return (
                f"hemoglobin {result.hemoglobin_g_per_l:g} g/L on {result.collected_on} is "
                f"below {hb:g} g/L"
            )
        if plt is not None and result.platelets_10e9_per_l < plt:
            return (
                f"platelets {result.platelets_10e9_per_l:g} ×10⁹/L on {result.collected_on} "
                f"are below {plt:g} ×10⁹/L"
            )
    return None
