"""A valid, eligible screening record per disease, for every test that needs one.

``eligible_record_json`` gives plain JSON-ready data (what the CLI, the API and a stored event
hold); ``eligible_record`` validates it. Overrides replace top-level fields, and ``None``
blanks a field so its criterion becomes ``missing``.
"""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

from domain.screening import ScreeningRecord
from domain.values import Disease

__all__ = ["SCREENING_DATE", "eligible_record", "eligible_record_json"]

# A Monday, so date arithmetic in tests is easy to check by hand.
SCREENING_DATE = date(2026, 3, 2)

_COMMON: dict[str, Any] = {
    "screening_date": "2026-03-02",
    "birth_date": "1980-06-15",
    "sex": "female",
    "immunosuppressants_count": 2,
    "immunosuppressant_months": 6,
    "glucocorticoid_mg_per_day": 10,
    "standard_treatment_intolerant_or_contraindicated": False,
    "ecog": 1,
    "hemoglobin": {"value": 105, "unit": "g/L"},
    "platelets": {"value": 180, "unit": "10^9/L"},
    "lvef_percent": 62,
    "ecg_significant_abnormality": False,
    "egfr": {"value": 88, "unit": "mL/min/1.73m2"},
    "ast": {"value": 32, "unit": "U/L", "uln": 40},
    "alt": {"value": 1.1, "unit": "xULN"},
    "bilirubin": {"value": 12, "unit": "umol/L", "uln": 21},
    "dlco_percent_predicted": 72,
    "fvc_percent_predicted": 85,
    "fit_for_cell_collection": True,
    "childbearing_potential": True,
    "pregnancy_test": "negative",
    "contraception_agreed": True,
    "consent_signed": True,
    "prior_car_t": False,
    "severe_organ_disease": False,
    "active_infection_requiring_systemic_treatment": False,
    "infection_systemic_treatment_last_date": "never",
    "prior_transplants": [],
    "acute_gvhd_grade": 0,
    "hbsag": "negative",
    "hbcab": "negative",
    "hcv_ab": "negative",
    "hiv_ab": "negative",
    "syphilis": "negative",
    "cmv_dna": "negative",
    "live_vaccine_last_date": "never",
    "malignancy_history": [],
    "other_trial_last_date": "never",
    "investigator_deems_unsuitable": False,
}

_ACTIVITY: dict[str, dict[str, Any]] = {
    "SLE": {"sledai": 12},
    "SS": {"essdai": 18},
    "SSc": {"mrss": 22, "ild": True},
    "DM": {"dm_diagnosis_date": "2023-05-10"},
    "ANCA-AAV": {"bvas": 19, "anca_positive": True},
}


def eligible_record_json(disease: Disease = "SLE", **overrides: Any) -> dict[str, Any]:
    """JSON-ready dict of an eligible record; dates may be overridden as ``date`` or ISO text."""
    data = copy.deepcopy({**_COMMON, "disease": disease, **_ACTIVITY[disease]})
    for key, value in overrides.items():
        data[key] = value.isoformat() if isinstance(value, date) else value
    return data


def eligible_record(disease: Disease = "SLE", **overrides: Any) -> ScreeningRecord:
    return ScreeningRecord.model_validate(eligible_record_json(disease, **overrides))
