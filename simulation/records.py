"""Synthetic screening records: plausible lab values per disease, or one real failed criterion.

Values are drawn from ranges a refractory autoimmune population actually shows, so the
eligibility engine judges them on their merits rather than on round test numbers.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any, Literal

from domain.screening import ScreeningRecord
from domain.values import Disease, Sex

__all__ = ["FAILURE_REASONS", "FailureReason", "screening_record"]

FailureReason = Literal[
    "low_hemoglobin",
    "hiv_positive",
    "low_platelets",
    "low_lvef",
    "recent_live_vaccine",
    "low_disease_activity",
    "incomplete",
]

# Reasons a PI signs "not eligible"; "incomplete" is kept apart: it never reaches a signature.
FAILURE_REASONS: tuple[FailureReason, ...] = (
    "low_hemoglobin",
    "hiv_positive",
    "low_platelets",
    "low_lvef",
    "recent_live_vaccine",
    "low_disease_activity",
)


def _activity(disease: Disease, rng: random.Random, day: date, low: bool) -> dict[str, Any]:
    """Disease-activity scores above the protocol's thresholds, or just below when ``low``."""
    if disease == "SLE":
        return {"sledai": rng.randint(3, 7) if low else rng.randint(8, 22)}
    if disease == "SS":
        return {"essdai": rng.randint(5, 13) if low else rng.randint(14, 30)}
    if disease == "SSc":
        return {"mrss": rng.randint(3, 9) if low else rng.randint(10, 35), "ild": True}
    if disease == "DM":
        months = rng.randint(2, 10) if low else rng.randint(14, 96)
        return {"dm_diagnosis_date": day - timedelta(days=30 * months)}
    return {"bvas": rng.randint(6, 14) if low else rng.randint(15, 30), "anca_positive": True}


def _labs(rng: random.Random) -> dict[str, Any]:
    # Laboratories report in different units; the record keeps what the lab sent.
    hb = rng.uniform(85, 140)
    hemoglobin = (
        {"value": round(hb / 10, 1), "unit": "g/dL"}
        if rng.random() < 0.4
        else {"value": round(hb), "unit": "g/L"}
    )
    return {
        "hemoglobin": hemoglobin,
        "platelets": {"value": rng.randint(90, 380), "unit": "10^9/L"},
        "lvef_percent": rng.randint(56, 72),
        "ecg_significant_abnormality": False,
        "egfr": {"value": rng.randint(45, 120), "unit": "mL/min/1.73m2"},
        "ast": {"value": rng.randint(12, 70), "unit": "U/L", "uln": 40},
        "alt": {"value": round(rng.uniform(0.3, 2.2), 2), "unit": "xULN"},
        "bilirubin": {"value": rng.randint(5, 30), "unit": "umol/L", "uln": 21},
        "dlco_percent_predicted": rng.randint(45, 95),
        "fvc_percent_predicted": rng.randint(55, 110),
    }


def _failure(reason: FailureReason, day: date) -> dict[str, Any]:
    if reason == "low_hemoglobin":
        return {"hemoglobin": {"value": 5.2, "unit": "g/dL"}}
    if reason == "hiv_positive":
        return {"hiv_ab": "positive"}
    if reason == "low_platelets":
        return {"platelets": {"value": 22, "unit": "10^9/L"}}
    if reason == "low_lvef":
        return {"lvef_percent": 48}
    if reason == "recent_live_vaccine":
        return {"live_vaccine_last_date": day - timedelta(days=12)}
    # The ECOG score was never assessed: the record stays incomplete.
    return {"ecog": None}


def screening_record(
    rng: random.Random,
    *,
    disease: Disease,
    sex: Sex,
    birth_date: date,
    childbearing_potential: bool,
    screening_date: date,
    failure: FailureReason | None = None,
) -> ScreeningRecord:
    """A validated record that meets every criterion, or fails exactly the one named."""
    data: dict[str, Any] = {
        "screening_date": screening_date,
        "birth_date": birth_date,
        "sex": sex,
        "disease": disease,
        "immunosuppressants_count": rng.randint(2, 4),
        "immunosuppressant_months": rng.randint(4, 60),
        "glucocorticoid_mg_per_day": rng.choice([7.5, 10, 15, 20, 30]),
        "standard_treatment_intolerant_or_contraindicated": rng.random() < 0.2,
        "ecog": rng.choice([0, 1, 1]),
        **_labs(rng),
        "fit_for_cell_collection": True,
        "childbearing_potential": childbearing_potential,
        "pregnancy_test": "negative" if sex == "female" and childbearing_potential else None,
        "contraception_agreed": True if childbearing_potential else None,
        "consent_signed": True,
        "prior_car_t": False,
        "severe_organ_disease": False,
        "active_infection_requiring_systemic_treatment": False,
        "infection_systemic_treatment_last_date": "never",
        "prior_transplants": (),
        "acute_gvhd_grade": 0,
        "hbsag": "negative",
        "hbcab": "negative",
        "hcv_ab": "negative",
        "hiv_ab": "negative",
        "syphilis": "negative",
        "cmv_dna": "negative",
        "live_vaccine_last_date": "never",
        "malignancy_history": (),
        "other_trial_last_date": "never",
        "investigator_deems_unsuitable": False,
        **_activity(disease, rng, screening_date, low=failure == "low_disease_activity"),
    }
    if failure is not None and failure != "low_disease_activity":
        data.update(_failure(failure, screening_date))
    return ScreeningRecord.model_validate(data)
