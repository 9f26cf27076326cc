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

from domain.inputs import InputModel
from domain.values import Disease

__all__ = [
    "ActivityField",
    "DerivedResponse",
    "DiseaseActivity",
    "DiseaseMeasures",
    "ResponseDefinition",
    "ResponseRules",
    "VisitAssessment",
    "baseline_activity",
    "baseline_of",
    "corrected_assessments",
    "derive_responses",
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


class DiseaseActivity(InputModel):
    """The activity measure(s) recorded at a follow-up visit; the disease's own are required."""

    sledai_2k: int | None = Field(default=None, ge=0, le=105)
    essdai: int | None = Field(default=None, ge=0, le=123)
    mrss: int | None = Field(default=None, ge=0, le=51)
    # SSc interstitial lung disease compared with baseline (HRCT / FVC as the site assesses it).
    ild_status: Literal["improved", "stable", "worsened"] | None = None
    # ACR/EULAR 2016 myositis total improvement score (0–100).
    tis: float | None = Field(default=None, ge=0, le=100)
    bvas: int | None = Field(default=None, ge=0, le=63)


_MEASURE_LABEL: dict[str, str] = {
    "sledai_2k": "SLEDAI-2K",
    "essdai": "ESSDAI",
    "mrss": "mRSS",
    "tis": "TIS",
    "bvas": "BVAS",
}


class ResponseDefinition(_Frozen):
    """A disease-specific response: every stated condition must hold.

    Every threshold is inclusive (≤ ``max_value``, ≥ ``min_value``, a reduction of at least
    ``reduction_min`` points or ``reduction_percent_min`` percent, a dose of at most
    ``glucocorticoid_max_mg_per_day``); ``rule`` prints them so the report states them.
    """

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

    @model_validator(mode="after")
    def _states_a_condition(self) -> ResponseDefinition:
        thresholds = (
            self.max_value,
            self.min_value,
            self.reduction_min,
            self.reduction_percent_min,
        )
        if all(t is None for t in thresholds):
            raise ValueError(f"response definition {self.name!r} states no threshold")
        reduces = self.reduction_min is not None or self.reduction_percent_min is not None
        if reduces and self.measure not in _BASELINE_FIELD:
            raise ValueError(
                f"response definition {self.name!r}: {self.measure} has no screening baseline "
                "to reduce from"
            )
        return self

    @property
    def rule(self) -> str:
        """The definition in words, e.g. "SLEDAI-2K ≤ 4 and glucocorticoid ≤ 7.5 mg/day"."""
        label = _MEASURE_LABEL.get(self.measure, self.measure)
        parts: list[str] = []
        if self.max_value is not None:
            parts.append(f"{label} ≤ {self.max_value:g}")
        if self.min_value is not None:
            parts.append(f"{label} ≥ {self.min_value:g}")
        if self.reduction_min is not None:
            parts.append(f"{label} down ≥ {self.reduction_min:g} points from screening")
        if self.reduction_percent_min is not None:
            parts.append(f"{label} down ≥ {self.reduction_percent_min:g} % from screening")
        if self.glucocorticoid_max_mg_per_day is not None:
            parts.append(
                f"glucocorticoid ≤ {self.glucocorticoid_max_mg_per_day:g} mg/day "
                "(prednisone equivalent)"
            )
        if self.ild_not_worse:
            parts.append("ILD not worsened")
        return " and ".join(parts)


class DiseaseMeasures(_Frozen):
    disease: Disease
    fields: tuple[ActivityField, ...]
    source: str = Field(min_length=1)
    site_default: bool = False


class ResponseRules(_Frozen):
    """The ``[response]`` section of a protocol file."""

    source: str = Field(min_length=1)
    site_default: bool = False
    # The visit that is the baseline: no response is assessed there.
    baseline_visit: str = "D0"
    measures: tuple[DiseaseMeasures, ...]
    definitions: tuple[ResponseDefinition, ...] = ()

    @model_validator(mode="after")
    def _one_entry_per_disease(self) -> ResponseRules:
        diseases = [m.disease for m in self.measures]
        if len(diseases) != len(set(diseases)):
            raise ValueError("response.measures lists a disease twice")
        for d in self.definitions:
            if d.measure not in self.fields_for(d.disease):
                raise ValueError(
                    f"response definition {d.name!r} uses {d.measure}, which {d.disease} "
                    "visits do not record (response.measures)"
                )
            if d.ild_not_worse and "ild_status" not in self.fields_for(d.disease):
                raise ValueError(f"response definition {d.name!r} needs ild_status recorded")
        names = [(d.disease, d.name) for d in self.definitions]
        if len(names) != len(set(names)):
            raise ValueError("response.definitions names a definition twice for one disease")
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


def baseline_activity(record: dict[str, object]) -> DiseaseActivity | None:
    """The screening record's activity scores, the baseline every later visit is compared to."""
    values = {
        measure: record.get(name)
        for measure, name in _BASELINE_FIELD.items()
        if isinstance(record.get(name), int)
    }
    if not values:
        return None
    try:
        return DiseaseActivity.model_validate(values)
    except ValueError:
        return None  # a score outside the visit scale's range is not a usable baseline


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


class DerivedResponse(_Frozen):
    """A disease-specific response at a visit: met, not met, or None when not evaluable (a
    value it needs, such as the screening baseline, is missing)."""

    name: str
    met: bool | None


def derive_responses(
    rules: ResponseRules,
    disease: Disease,
    activity: DiseaseActivity | None,
    glucocorticoid_mg_per_day: float | None,
    baseline: DiseaseActivity | None,
) -> tuple[DerivedResponse, ...]:
    """Every definition of the disease, judged against the screening baseline."""
    out: list[DerivedResponse] = []
    for definition in rules.definitions_for(disease):
        raw = getattr(baseline, definition.measure) if baseline is not None else None
        base = float(raw) if isinstance(raw, int | float) else None
        met = meets(definition, activity, glucocorticoid_mg_per_day, base)
        out.append(DerivedResponse(name=definition.name, met=met))
    return tuple(out)


class VisitAssessment(_Frozen):
    code: str
    activity: DiseaseActivity | None = None
    glucocorticoid_mg_per_day: float | None = None
    responses: tuple[DerivedResponse, ...] = ()


class _Completed(Protocol):
    @property
    def code(self) -> str: ...
    @property
    def activity(self) -> DiseaseActivity | None: ...
    @property
    def glucocorticoid_mg_per_day(self) -> float | None: ...
    @property
    def responses(self) -> tuple[DerivedResponse, ...]: ...


def with_assessment(
    assessments: tuple[VisitAssessment, ...], visit: _Completed
) -> tuple[VisitAssessment, ...]:
    if visit.activity is None and visit.glucocorticoid_mg_per_day is None:
        return assessments
    entry = VisitAssessment(
        code=visit.code,
        activity=visit.activity,
        glucocorticoid_mg_per_day=visit.glucocorticoid_mg_per_day,
        responses=visit.responses,
    )
    return (*(a for a in assessments if a.code != visit.code), entry)


def corrected_assessments(
    assessments: tuple[VisitAssessment, ...],
    code: str,
    field: str,
    value: object,
    responses: tuple[DerivedResponse, ...] | None,
) -> tuple[VisitAssessment, ...]:
    """The visit's assessment after a correction of its activity or glucocorticoid dose, with
    the responses derived again when the correction carries them."""
    entry = next((a for a in assessments if a.code == code), VisitAssessment(code=code))
    if field == "activity":
        update: dict[str, object] = {
            "activity": None if value is None else DiseaseActivity.model_validate(value)
        }
    else:
        update = {"glucocorticoid_mg_per_day": value}
    if responses is not None:
        update["responses"] = responses
    corrected = entry.model_copy(update=update)
    return (*(a for a in assessments if a.code != code), corrected)
