"""Disease activity at follow-up visits and the disease-specific response derived from it.

The registered primary outcome is the Cheson 2007 category (CR/PR/SD/PD, NE), a lymphoma
measure; for autoimmune disease the protocol data also define disease-specific responses (SLE
DORIS remission / LLDAS / SRI-4 on their SLEDAI-2K and glucocorticoid components, ESSDAI
improvement, mRSS change, myositis total improvement score, BVAS remission), each computed from
the visit's activity measure, its glucocorticoid dose and the screening baseline.
"""

from __future__ import annotations

from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.errors import MissingPrerequisite, ValueOutOfRange
from domain.values import Disease, Response

__all__ = [
    "ActivityField",
    "DiseaseActivity",
    "ResponseDefinition",
    "ResponseRules",
    "VisitAssessment",
    "baseline_of",
    "check_visit_assessment",
    "meets",
    "missing_activity",
    "with_assessment",
]

ActivityField = Literal["sledai_2k", "essdai", "mrss", "ild_status", "tis", "bvas"]
# The screening record's name of each measure (its baseline).
_BASELINE_FIELD: dict[str, str] = {
    "sledai_2k": "sledai",
    "essdai": "essdai",
    "mrss": "mrss",
    "bvas": "bvas",
}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class DiseaseActivity(_Frozen):
    """The activity measure(s) recorded at a follow-up visit; the disease's own are required."""

    sledai_2k: int | None = Field(default=None, ge=0, le=105)
    essdai: int | None = Field(default=None, ge=0, le=123)
    mrss: int | None = Field(default=None, ge=0, le=51)
    # SSc interstitial lung disease compared with baseline (HRCT / FVC as the site assesses it).
    ild_status: Literal["improved", "stable", "worsened"] | None = None
    # ACR/EULAR 2016 myositis total improvement score (0–100).
    tis: float | None = Field(default=None, ge=0, le=100)
    bvas: int | None = Field(default=None, ge=0, le=63)


class ResponseDefinition(_Frozen):
    """A disease-specific response: every stated condition must hold (thresholds inclusive)."""

    disease: Disease
    name: str = Field(min_length=1)
    measure: ActivityField
    # measure ≤ max_value / ≥ min_value at the visit.
    max_value: float | None = None
    min_value: float | None = None
    # Improvement from the screening baseline, in points and in percent of the baseline.
    reduction_min: float | None = None
    reduction_percent_min: float | None = None
    # The visit's glucocorticoid dose (prednisone equivalent) at most this.
    glucocorticoid_max_mg_per_day: float | None = None
    # For SSc: the ILD must not have worsened.
    ild_not_worse: bool = False
    source: str = Field(min_length=1)
    site_default: bool = False


class DiseaseMeasures(_Frozen):
    disease: Disease
    fields: tuple[ActivityField, ...]
    source: str = Field(min_length=1)
    site_default: bool = False


class ResponseRules(_Frozen):
    source: str = Field(min_length=1)
    # The visit that is the baseline: no response is assessed there.
    baseline_visit: str = "D0"
    measures: tuple[DiseaseMeasures, ...]
    definitions: tuple[ResponseDefinition, ...] = ()

    @model_validator(mode="after")
    def _one_entry_per_disease(self) -> ResponseRules:
        diseases = [m.disease for m in self.measures]
        if len(diseases) != len(set(diseases)):
            raise ValueError("response.measures lists a disease twice")
        return self

    def fields_for(self, disease: Disease) -> tuple[ActivityField, ...]:
        return next((m.fields for m in self.measures if m.disease == disease), ())

    def definitions_for(self, disease: Disease) -> tuple[ResponseDefinition, ...]:
        return tuple(d for d in self.definitions if d.disease == disease)


def missing_activity(
    rules: ResponseRules, disease: Disease, activity: DiseaseActivity | None
) -> list[str]:
    return [
        f"activity.{name}"
        for name in rules.fields_for(disease)
        if activity is None or getattr(activity, name) is None
    ]


def baseline_of(record: dict[str, object], measure: ActivityField) -> float | None:
    """The screening value of a measure, read from the stored screening record."""
    name = _BASELINE_FIELD.get(measure)
    value = record.get(name) if name else None
    return float(value) if isinstance(value, int | float) else None


def meets(
    definition: ResponseDefinition,
    activity: DiseaseActivity | None,
    glucocorticoid_mg_per_day: float | None,
    baseline: float | None,
) -> bool | None:
    """True / False, or None when a needed value is missing (not evaluable)."""
    if activity is None:
        return None
    raw = getattr(activity, definition.measure)
    if raw is None:
        return None
    value = float(raw)
    checks: list[bool] = []
    if definition.max_value is not None:
        checks.append(value <= definition.max_value)
    if definition.min_value is not None:
        checks.append(value >= definition.min_value)
    if definition.reduction_min is not None or definition.reduction_percent_min is not None:
        if baseline is None:
            return None
        drop = baseline - value
        if definition.reduction_min is not None:
            checks.append(drop >= definition.reduction_min)
        if definition.reduction_percent_min is not None:
            checks.append(
                baseline > 0 and drop / baseline * 100 >= definition.reduction_percent_min
            )
    if definition.glucocorticoid_max_mg_per_day is not None:
        if glucocorticoid_mg_per_day is None:
            return None
        checks.append(glucocorticoid_mg_per_day <= definition.glucocorticoid_max_mg_per_day)
    if definition.ild_not_worse:
        if activity.ild_status is None:
            return None
        checks.append(activity.ild_status != "worsened")
    return all(checks)


class VisitAssessment(_Frozen):
    code: str
    activity: DiseaseActivity | None = None
    glucocorticoid_mg_per_day: float | None = None


class _Completed(Protocol):
    code: str
    activity: DiseaseActivity | None
    glucocorticoid_mg_per_day: float | None


def with_assessment(
    assessments: tuple[VisitAssessment, ...], visit: _Completed
) -> tuple[VisitAssessment, ...]:
    if visit.activity is None and visit.glucocorticoid_mg_per_day is None:
        return assessments
    entry = VisitAssessment(
        code=visit.code,
        activity=visit.activity,
        glucocorticoid_mg_per_day=visit.glucocorticoid_mg_per_day,
    )
    return (*(a for a in assessments if a.code != visit.code), entry)


def check_visit_assessment(
    rules: ResponseRules | None,
    disease: Disease,
    code: str,
    response: Response | None,
    activity: DiseaseActivity | None,
    glucocorticoid_mg_per_day: float | None,
) -> None:
    """What a completed visit must carry: no response at the baseline visit; after it, the
    Cheson category, the disease's activity measure(s) and the glucocorticoid dose."""
    if rules is None:
        if response is None:
            raise MissingPrerequisite(
                "response is required (CR, PR, SD, PD or NE)", field="response"
            )
        return
    if code == rules.baseline_visit:
        if response is not None:
            raise ValueOutOfRange(
                f"{code} is the baseline (the infusion day): no response is assessed there",
                field="response",
            )
        return
    if response is None:
        raise MissingPrerequisite(
            f"response is required at {code} (CR, PR, SD, PD or NE)", field="response"
        )
    missing = missing_activity(rules, disease, activity)
    if missing:
        raise MissingPrerequisite(
            f"{disease} visits record {', '.join(m.split('.')[1] for m in missing)}",
            field=missing[0],
        )
    if glucocorticoid_mg_per_day is None:
        raise MissingPrerequisite(
            "the glucocorticoid dose (prednisone equivalent, mg/day; 0 if none) is required",
            field="glucocorticoid_mg_per_day",
        )
