"""The screening record: what staff enter so inclusion 1–7 and exclusion 1–10 can be judged.

Every field that a criterion needs may be ``None`` (not yet known), which makes that criterion's
verdict ``missing`` rather than a guess. What cannot be true (an unknown unit, a negative count,
LVEF above 100 %, a date after the screening date) is rejected here, naming the field, so the
eligibility engine only ever sees plausible data.
"""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar, Literal

from pydantic import (
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from domain.inputs import InputModel
from domain.units import (
    BILIRUBIN_UNITS,
    EGFR_UNITS,
    HEMOGLOBIN_UNITS,
    LIVER_ENZYME_UNITS,
    PLATELET_UNITS,
    BilirubinUnit,
    EgfrUnit,
    HemoglobinUnit,
    LiverEnzymeUnit,
    PlateletUnit,
    bilirubin_umol_per_l,
    canonical_unit,
    hemoglobin_g_per_l,
    platelets_10e9_per_l,
)
from domain.values import Disease, Sex

__all__ = [
    "Bilirubin",
    "Egfr",
    "Hemoglobin",
    "LiverEnzyme",
    "Malignancy",
    "MalignancyKind",
    "Never",
    "Platelets",
    "ScreeningRecord",
    "TestResult",
    "TransplantKind",
]

TestResult = Literal["negative", "positive"]
# A "last date" field takes a date, "never", or null (not yet asked).
Never = Literal["never"]
TransplantKind = Literal["hsct", "solid_organ", "corneal", "hair"]
MalignancyKind = Literal[
    "cervical_carcinoma_in_situ",
    "basal_cell_skin_cancer",
    "squamous_cell_skin_cancer",
    "localized_prostate_cancer",
    "ductal_carcinoma_in_situ",
    "other",
]


class _Frozen(InputModel):
    """Typed in by staff: finite numbers and printable text only (InputModel)."""


class _Measured(_Frozen):
    """A lab value with the unit the laboratory reported it in."""

    accepted_units: ClassVar[tuple[str, ...]] = ()

    @field_validator("unit", mode="before", check_fields=False)
    @classmethod
    def _canonical_unit(cls, raw: Any) -> Any:
        return canonical_unit(raw, cls.accepted_units) if isinstance(raw, str) else raw


class Hemoglobin(_Measured):
    accepted_units: ClassVar[tuple[str, ...]] = HEMOGLOBIN_UNITS

    value: float = Field(gt=0)
    unit: HemoglobinUnit

    @model_validator(mode="after")
    def _plausible(self) -> Hemoglobin:
        if self.g_per_l > 250:
            raise ValueError(f"haemoglobin of {self.g_per_l:g} g/L is not a possible value")
        return self

    @property
    def g_per_l(self) -> float:
        return hemoglobin_g_per_l(self.value, self.unit)


class Platelets(_Measured):
    accepted_units: ClassVar[tuple[str, ...]] = PLATELET_UNITS

    value: float = Field(ge=0, le=5000)
    unit: PlateletUnit

    @property
    def count_10e9_per_l(self) -> float:
        return platelets_10e9_per_l(self.value, self.unit)


class Egfr(_Measured):
    accepted_units: ClassVar[tuple[str, ...]] = EGFR_UNITS

    value: float = Field(ge=0, le=250)
    unit: EgfrUnit


class LiverEnzyme(_Measured):
    """AST or ALT: either a multiple of ULN, or U/L with the reporting lab's ULN in U/L."""

    accepted_units: ClassVar[tuple[str, ...]] = LIVER_ENZYME_UNITS

    value: float = Field(ge=0)
    unit: LiverEnzymeUnit
    uln: float | None = Field(default=None, gt=0, description="The lab's ULN, in U/L")

    @model_validator(mode="after")
    def _uln_matches_unit(self) -> LiverEnzyme:
        if self.unit == "U/L" and self.uln is None:
            raise ValueError("uln (the laboratory's upper limit of normal) is required with U/L")
        if self.unit == "xULN" and self.uln is not None:
            raise ValueError("uln must be omitted when the value is already a multiple of ULN")
        return self

    def times_uln(self) -> float:
        return self.value if self.uln is None else self.value / self.uln


class Bilirubin(_Measured):
    """Total bilirubin: a multiple of ULN, or umol/L or mg/dL with the reporting lab's ULN."""

    accepted_units: ClassVar[tuple[str, ...]] = BILIRUBIN_UNITS

    value: float = Field(ge=0)
    unit: BilirubinUnit
    uln: float | None = Field(default=None, gt=0)
    uln_unit: Literal["umol/L", "mg/dL"] | None = Field(
        default=None, description="Unit of uln when it differs from unit"
    )

    @field_validator("uln_unit", mode="before")
    @classmethod
    def _canonical_uln_unit(cls, raw: Any) -> Any:
        return canonical_unit(raw, ("umol/L", "mg/dL")) if isinstance(raw, str) else raw

    @model_validator(mode="after")
    def _uln_matches_unit(self) -> Bilirubin:
        if self.unit != "xULN" and self.uln is None:
            raise ValueError(
                f"uln (the laboratory's upper limit of normal) is required with {self.unit}"
            )
        if self.unit == "xULN" and (self.uln is not None or self.uln_unit is not None):
            raise ValueError("uln must be omitted when the value is already a multiple of ULN")
        return self

    def times_uln(self) -> float:
        if self.unit == "xULN" or self.uln is None:
            return self.value
        value = bilirubin_umol_per_l(self.value, self.unit)
        uln = bilirubin_umol_per_l(self.uln, self.uln_unit or self.unit)
        return value / uln


class Malignancy(_Frozen):
    kind: MalignancyKind
    fully_treated: bool
    radical_surgery: bool = Field(
        default=False, description="Needed for the prostate and DCIS exceptions"
    )
    description: str | None = None


# Fields whose date must not lie after the screening date (nor, where it matters, before birth).
_PAST_DATES = (
    "dm_diagnosis_date",
    "infection_systemic_treatment_last_date",
    "acute_gvhd_date",
    "live_vaccine_last_date",
    "other_trial_last_date",
)


class ScreeningRecord(_Frozen):
    """One subject's screening data. ``None`` means "not yet known"; the verdict is missing."""

    # Identity: always needed, and the reference date for every look-back.
    screening_date: date
    birth_date: date
    sex: Sex
    disease: Disease

    # Inclusion 3: disease activity (only the subject's own disease is judged).
    sledai: int | None = Field(default=None, ge=0, le=105, description="SLEDAI-2K (SLE)")
    essdai: int | None = Field(default=None, ge=0, le=123, description="ESSDAI (SS)")
    mrss: int | None = Field(default=None, ge=0, le=51, description="Modified Rodnan skin score")
    ild: bool | None = Field(default=None, description="Interstitial lung disease (SSc)")
    dm_diagnosis_date: date | None = Field(default=None, description="Dermatomyositis diagnosis")
    bvas: int | None = Field(default=None, ge=0, le=63, description="BVAS v3 (ANCA-AAV)")
    anca_positive: bool | None = None

    # Inclusion 3: refractoriness (any one branch suffices).
    immunosuppressants_count: int | None = Field(default=None, ge=0, le=20)
    immunosuppressant_months: float | None = Field(
        default=None, ge=0, le=600, description="Months on that many immunosuppressants"
    )
    glucocorticoid_mg_per_day: float | None = Field(
        default=None, ge=0, le=2000, description="Prednisone-equivalent needed to stay stable"
    )
    standard_treatment_intolerant_or_contraindicated: bool | None = None

    # Inclusion 4.
    ecog: int | None = Field(default=None, ge=0, le=5)

    # Inclusion 5: organ function.
    hemoglobin: Hemoglobin | None = None
    platelets: Platelets | None = None
    lvef_percent: float | None = Field(default=None, gt=0, le=100)
    ecg_significant_abnormality: bool | None = None
    egfr: Egfr | None = None
    ast: LiverEnzyme | None = None
    alt: LiverEnzyme | None = None
    bilirubin: Bilirubin | None = Field(default=None, description="Total bilirubin")
    # Percent of predicted legitimately exceeds 100 in healthy lungs.
    dlco_percent_predicted: float | None = Field(default=None, gt=0, le=200)
    fvc_percent_predicted: float | None = Field(default=None, gt=0, le=200)
    fit_for_cell_collection: bool | None = None

    # Inclusion 6 and exclusion 7.
    childbearing_potential: bool | None = Field(
        default=None, description="Woman of childbearing potential, or fertile man"
    )
    pregnancy_test: TestResult | None = Field(default=None, description="Urine pregnancy test")
    contraception_agreed: bool | None = None

    # Inclusion 7.
    consent_signed: bool | None = None

    # Exclusions 1–4.
    prior_car_t: bool | None = None
    severe_organ_disease: bool | None = Field(
        default=None,
        description="Investigator judges heart/liver/lung/blood/endocrine risk above benefit",
    )
    active_infection_requiring_systemic_treatment: bool | None = None
    infection_systemic_treatment_last_date: date | Never | None = None
    prior_transplants: tuple[TransplantKind, ...] | None = Field(
        default=None, description="Empty when none; corneal and hair do not exclude"
    )
    acute_gvhd_grade: int | None = Field(default=None, ge=0, le=4, description="0 when none")
    acute_gvhd_date: date | None = None

    # Exclusion 5.
    hbsag: TestResult | None = None
    hbcab: TestResult | None = None
    hbv_dna_above_normal: bool | None = None
    hcv_ab: TestResult | None = None
    hcv_rna_above_normal: bool | None = None
    hiv_ab: TestResult | None = None
    syphilis: TestResult | None = None
    cmv_dna: TestResult | None = None

    # Exclusions 6, 8, 9, 10.
    live_vaccine_last_date: date | Never | None = None
    malignancy_history: tuple[Malignancy, ...] | None = Field(
        default=None, description="Empty when none"
    )
    other_trial_last_date: date | Never | None = None
    investigator_deems_unsuitable: bool | None = None

    @field_validator("birth_date")
    @classmethod
    def _born_before_screening(cls, value: date, info: ValidationInfo) -> date:
        screening = info.data.get("screening_date")
        if screening is not None and value >= screening:
            raise ValueError(f"birth_date {value} must be before screening_date {screening}")
        if value.year < 1900:
            raise ValueError(f"birth_date {value} is not plausible")
        return value

    @field_validator(*_PAST_DATES)
    @classmethod
    def _not_after_screening(cls, value: Any, info: ValidationInfo) -> Any:
        if not isinstance(value, date):
            return value
        screening = info.data.get("screening_date")
        birth = info.data.get("birth_date")
        if screening is not None and value > screening:
            raise ValueError(
                f"{info.field_name} {value} is after screening_date {screening}; "
                "a look-back date cannot lie in the future"
            )
        if birth is not None and value < birth:
            raise ValueError(f"{info.field_name} {value} is before birth_date {birth}")
        return value

    @field_validator("pregnancy_test")
    @classmethod
    def _pregnancy_needs_female(cls, value: TestResult | None, info: ValidationInfo) -> Any:
        if value == "positive" and info.data.get("sex") == "male":
            raise ValueError("a positive pregnancy test is impossible for sex 'male'")
        return value
