"""Every criterion of inclusion 1–7 and exclusion 1–10, on both sides of its threshold.

Screening date in the factory is Monday 2 March 2026; the hand-computed dates below count from it.
For exclusions, ``met`` means the subject is NOT excluded.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from domain.eligibility import EligibilityResult, evaluate
from domain.events import CriterionSummary
from domain.protocol import EligibilityRules, load_protocol
from domain.screening import ScreeningRecord
from domain.values import Disease
from tests.domain.factories import eligible_record, eligible_record_json

RULES: EligibilityRules = load_protocol("1.0").eligibility
DISEASES: tuple[Disease, ...] = ("SLE", "SS", "SSc", "DM", "ANCA-AAV")


def judge(disease: Disease = "SLE", **overrides: Any) -> EligibilityResult:
    return evaluate(eligible_record(disease, **overrides), RULES)


def case(
    name: str, criterion: str, verdict: str, disease: Disease = "SLE", **overrides: Any
) -> Any:
    return pytest.param(disease, overrides, criterion, verdict, id=name)


def _refractory(
    count: int | None, months: float | None, gc: float | None, flag: bool | None
) -> dict[str, Any]:
    return {
        "immunosuppressants_count": count,
        "immunosuppressant_months": months,
        "glucocorticoid_mg_per_day": gc,
        "standard_treatment_intolerant_or_contraindicated": flag,
    }


HB = "hemoglobin"
BOUNDARIES = [
    # Inclusion 1: age 18–65 inclusive, calendar-exact.
    case("age_of_exactly_18_today_meets", "I1.age", "met", birth_date="2008-03-02"),
    case("age_one_day_short_of_18_fails", "I1.age", "not_met", birth_date="2008-03-03"),
    case("age_65_on_the_day_before_66th_birthday_meets", "I1.age", "met", birth_date="1960-03-03"),
    case("age_66_on_birthday_fails", "I1.age", "not_met", birth_date="1960-03-02"),
    # Inclusion 3: refractoriness, any branch suffices.
    case(
        "two_immunosuppressants_for_3_months_is_refractory",
        "I3.refractory",
        "met",
        **_refractory(2, 3, 0, False),
    ),
    case(
        "one_immunosuppressant_is_not_refractory_alone",
        "I3.refractory",
        "not_met",
        **_refractory(1, 12, 14.9, False),
    ),
    case(
        "two_immunosuppressants_for_2_9_months_is_not_refractory",
        "I3.refractory",
        "not_met",
        **_refractory(2, 2.9, 0, False),
    ),
    case(
        "glucocorticoid_15_mg_alone_is_refractory",
        "I3.refractory",
        "met",
        **_refractory(0, 0, 15, False),
    ),
    case(
        "glucocorticoid_14_9_mg_alone_is_not_refractory",
        "I3.refractory",
        "not_met",
        **_refractory(0, 0, 14.9, False),
    ),
    case("intolerance_alone_is_refractory", "I3.refractory", "met", **_refractory(0, 0, 0, True)),
    case(
        "one_met_branch_outweighs_unknown_branches",
        "I3.refractory",
        "met",
        **_refractory(None, None, 15, None),
    ),
    case(
        "nothing_known_about_treatment_is_missing",
        "I3.refractory",
        "missing",
        **_refractory(None, None, None, None),
    ),
    case(
        "failed_branches_plus_unknown_branch_is_missing",
        "I3.refractory",
        "missing",
        **_refractory(1, 12, 5, None),
    ),
    # Inclusion 3: disease activity.
    case("sledai_8_meets", "I3.SLE.sledai", "met", sledai=8),
    case("sledai_7_fails", "I3.SLE.sledai", "not_met", sledai=7),
    case("sledai_unknown_is_missing", "I3.SLE.sledai", "missing", sledai=None),
    case("essdai_14_meets", "I3.SS.essdai", "met", "SS", essdai=14),
    case("essdai_13_fails", "I3.SS.essdai", "not_met", "SS", essdai=13),
    case("mrss_10_meets", "I3.SSc.mrss", "met", "SSc", mrss=10),
    case("mrss_9_fails", "I3.SSc.mrss", "not_met", "SSc", mrss=9),
    case("mrss_35_meets", "I3.SSc.mrss", "met", "SSc", mrss=35),
    case("mrss_36_fails", "I3.SSc.mrss", "not_met", "SSc", mrss=36),
    case("mrss_unknown_is_missing", "I3.SSc.mrss", "missing", "SSc", mrss=None),
    case("ssc_with_ild_meets", "I3.SSc.ild", "met", "SSc", ild=True),
    case("ssc_without_ild_fails", "I3.SSc.ild", "not_met", "SSc", ild=False),
    case("ssc_ild_unknown_is_missing", "I3.SSc.ild", "missing", "SSc", ild=None),
    case(
        "dm_diagnosed_exactly_1_year_ago_meets",
        "I3.DM.diagnosis_duration",
        "met",
        "DM",
        dm_diagnosis_date="2025-03-02",
    ),
    case(
        "dm_diagnosed_1_year_less_a_day_ago_fails",
        "I3.DM.diagnosis_duration",
        "not_met",
        "DM",
        dm_diagnosis_date="2025-03-03",
    ),
    case(
        "dm_diagnosis_date_unknown_is_missing",
        "I3.DM.diagnosis_duration",
        "missing",
        "DM",
        dm_diagnosis_date=None,
    ),
    case("bvas_15_meets", "I3.ANCA-AAV.bvas", "met", "ANCA-AAV", bvas=15),
    case("bvas_14_fails", "I3.ANCA-AAV.bvas", "not_met", "ANCA-AAV", bvas=14),
    case("anca_negative_fails", "I3.ANCA-AAV.anca", "not_met", "ANCA-AAV", anca_positive=False),
    case("anca_unknown_is_missing", "I3.ANCA-AAV.anca", "missing", "ANCA-AAV", anca_positive=None),
    # Inclusion 4.
    case("ecog_0_meets", "I4.ecog", "met", ecog=0),
    case("ecog_1_meets", "I4.ecog", "met", ecog=1),
    case("ecog_2_fails", "I4.ecog", "not_met", ecog=2),
    case("ecog_unknown_is_missing", "I4.ecog", "missing", ecog=None),
    # Inclusion 5: organ function, with unit conversion.
    case(
        "hemoglobin_of_exactly_60_g_per_l_meets",
        "I5.hemoglobin",
        "met",
        hemoglobin={"value": 60, "unit": "g/L"},
    ),
    case(
        "hemoglobin_of_59_9_g_per_l_fails",
        "I5.hemoglobin",
        "not_met",
        hemoglobin={"value": 59.9, "unit": "g/L"},
    ),
    case(
        "hemoglobin_of_6_g_per_dl_meets",
        "I5.hemoglobin",
        "met",
        hemoglobin={"value": 6.0, "unit": "g/dL"},
    ),
    case(
        "hemoglobin_of_5_99_g_per_dl_fails",
        "I5.hemoglobin",
        "not_met",
        hemoglobin={"value": 5.99, "unit": "g/dL"},
    ),
    case(
        "hemoglobin_of_3_73_mmol_per_l_meets",
        "I5.hemoglobin",
        "met",
        hemoglobin={"value": 3.73, "unit": "mmol/L"},
    ),
    case(
        "hemoglobin_of_3_72_mmol_per_l_fails",
        "I5.hemoglobin",
        "not_met",
        hemoglobin={"value": 3.72, "unit": "mmol/L"},
    ),
    case("hemoglobin_unknown_is_missing", "I5.hemoglobin", "missing", hemoglobin=None),
    case("platelets_of_30_meets", "I5.platelets", "met", platelets={"value": 30, "unit": "10^9/L"}),
    case(
        "platelets_of_29_9_fails",
        "I5.platelets",
        "not_met",
        platelets={"value": 29.9, "unit": "10^9/L"},
    ),
    case(
        "platelets_of_30_per_nl_in_10e3_per_ul_meets",
        "I5.platelets",
        "met",
        platelets={"value": 30, "unit": "10^3/uL"},
    ),
    case(
        "platelets_of_29_in_10e3_per_ul_fails",
        "I5.platelets",
        "not_met",
        platelets={"value": 29, "unit": "10^3/uL"},
    ),
    case("lvef_of_55_meets", "I5.lvef", "met", lvef_percent=55),
    case("lvef_of_54_9_fails", "I5.lvef", "not_met", lvef_percent=54.9),
    case("lvef_unknown_is_missing", "I5.lvef", "missing", lvef_percent=None),
    case(
        "significant_ecg_abnormality_fails", "I5.ecg", "not_met", ecg_significant_abnormality=True
    ),
    case("ecg_unknown_is_missing", "I5.ecg", "missing", ecg_significant_abnormality=None),
    case("egfr_of_30_meets", "I5.egfr", "met", egfr={"value": 30, "unit": "mL/min/1.73m2"}),
    case("egfr_of_29_9_fails", "I5.egfr", "not_met", egfr={"value": 29.9, "unit": "mL/min/1.73m2"}),
    case("ast_of_3_uln_meets", "I5.ast", "met", ast={"value": 3.0, "unit": "xULN"}),
    case("ast_of_3_01_uln_fails", "I5.ast", "not_met", ast={"value": 3.01, "unit": "xULN"}),
    case(
        "ast_of_120_u_per_l_with_uln_40_meets",
        "I5.ast",
        "met",
        ast={"value": 120, "unit": "U/L", "uln": 40},
    ),
    case(
        "ast_of_121_u_per_l_with_uln_40_fails",
        "I5.ast",
        "not_met",
        ast={"value": 121, "unit": "U/L", "uln": 40},
    ),
    case("alt_of_3_uln_meets", "I5.alt", "met", alt={"value": 3.0, "unit": "xULN"}),
    case(
        "alt_of_105_u_per_l_with_uln_35_meets",
        "I5.alt",
        "met",
        alt={"value": 105, "unit": "U/L", "uln": 35},
    ),
    case(
        "alt_of_106_u_per_l_with_uln_35_fails",
        "I5.alt",
        "not_met",
        alt={"value": 106, "unit": "U/L", "uln": 35},
    ),
    case("alt_unknown_is_missing", "I5.alt", "missing", alt=None),
    case(
        "bilirubin_of_2_uln_meets", "I5.bilirubin", "met", bilirubin={"value": 2.0, "unit": "xULN"}
    ),
    case(
        "bilirubin_of_2_01_uln_fails",
        "I5.bilirubin",
        "not_met",
        bilirubin={"value": 2.01, "unit": "xULN"},
    ),
    case(
        "bilirubin_of_34_2_umol_with_uln_17_1_meets",
        "I5.bilirubin",
        "met",
        bilirubin={"value": 34.2, "unit": "umol/L", "uln": 17.1},
    ),
    case(
        "bilirubin_of_2_4_mg_per_dl_with_uln_1_2_meets",
        "I5.bilirubin",
        "met",
        bilirubin={"value": 2.4, "unit": "mg/dL", "uln": 1.2},
    ),
    case(
        "bilirubin_of_2_4_mg_per_dl_with_uln_20_5_umol_fails",
        "I5.bilirubin",
        "not_met",
        bilirubin={"value": 2.4, "unit": "mg/dL", "uln": 20.5, "uln_unit": "umol/L"},
    ),
    case("dlco_of_40_meets", "I5.dlco", "met", dlco_percent_predicted=40),
    case("dlco_of_39_9_fails", "I5.dlco", "not_met", dlco_percent_predicted=39.9),
    case("fvc_of_50_meets", "I5.fvc", "met", fvc_percent_predicted=50),
    case("fvc_of_49_9_fails", "I5.fvc", "not_met", fvc_percent_predicted=49.9),
    case(
        "unfit_for_cell_collection_fails",
        "I5.cell_collection",
        "not_met",
        fit_for_cell_collection=False,
    ),
    case(
        "cell_collection_unknown_is_missing",
        "I5.cell_collection",
        "missing",
        fit_for_cell_collection=None,
    ),
    # Inclusion 6 and exclusion 7.
    case("negative_pregnancy_test_meets", "I6.pregnancy_test", "met", pregnancy_test="negative"),
    case(
        "positive_pregnancy_test_fails", "I6.pregnancy_test", "not_met", pregnancy_test="positive"
    ),
    case("pregnancy_test_not_done_is_missing", "I6.pregnancy_test", "missing", pregnancy_test=None),
    case(
        "no_test_needed_without_childbearing_potential",
        "I6.pregnancy_test",
        "met",
        childbearing_potential=False,
        pregnancy_test=None,
    ),
    case(
        "no_pregnancy_test_for_a_man", "I6.pregnancy_test", "met", sex="male", pregnancy_test=None
    ),
    case(
        "unknown_childbearing_potential_is_missing",
        "I6.pregnancy_test",
        "missing",
        childbearing_potential=None,
    ),
    case("refusing_contraception_fails", "I6.contraception", "not_met", contraception_agreed=False),
    case(
        "contraception_unknown_is_missing", "I6.contraception", "missing", contraception_agreed=None
    ),
    case(
        "contraception_not_needed_without_potential",
        "I6.contraception",
        "met",
        childbearing_potential=False,
        contraception_agreed=None,
    ),
    case(
        "fertile_man_must_agree_to_contraception",
        "I6.contraception",
        "not_met",
        sex="male",
        pregnancy_test=None,
        contraception_agreed=False,
    ),
    case("positive_pregnancy_test_excludes", "E7.pregnancy", "not_met", pregnancy_test="positive"),
    case(
        "negative_pregnancy_test_does_not_exclude", "E7.pregnancy", "met", pregnancy_test="negative"
    ),
    case(
        "untested_woman_of_childbearing_potential_is_missing",
        "E7.pregnancy",
        "missing",
        pregnancy_test=None,
    ),
    case(
        "man_cannot_be_excluded_for_pregnancy",
        "E7.pregnancy",
        "met",
        sex="male",
        pregnancy_test=None,
    ),
    # Inclusion 7.
    case("unsigned_consent_fails", "I7.consent", "not_met", consent_signed=False),
    case("consent_unknown_is_missing", "I7.consent", "missing", consent_signed=None),
    # Exclusions 1, 2, 10.
    case("prior_car_t_excludes", "E1.prior_car_t", "not_met", prior_car_t=True),
    case("prior_car_t_unknown_is_missing", "E1.prior_car_t", "missing", prior_car_t=None),
    case(
        "severe_organ_disease_excludes",
        "E2.severe_organ_disease",
        "not_met",
        severe_organ_disease=True,
    ),
    case(
        "investigator_judging_unsuitable_excludes",
        "E10.investigator_judgement",
        "not_met",
        investigator_deems_unsuitable=True,
    ),
    case(
        "investigator_judgement_unknown_is_missing",
        "E10.investigator_judgement",
        "missing",
        investigator_deems_unsuitable=None,
    ),
    # Exclusion 3: within the 7 days before screening, inclusive.
    case(
        "active_infection_excludes",
        "E3.active_infection",
        "not_met",
        active_infection_requiring_systemic_treatment=True,
    ),
    case(
        "systemic_treatment_7_days_before_excludes",
        "E3.active_infection",
        "not_met",
        infection_systemic_treatment_last_date="2026-02-23",
    ),
    case(
        "systemic_treatment_8_days_before_does_not_exclude",
        "E3.active_infection",
        "met",
        infection_systemic_treatment_last_date="2026-02-22",
    ),
    case(
        "infection_status_unknown_is_missing",
        "E3.active_infection",
        "missing",
        active_infection_requiring_systemic_treatment=None,
    ),
    case(
        "infection_treatment_date_unknown_is_missing",
        "E3.active_infection",
        "missing",
        infection_systemic_treatment_last_date=None,
    ),
    # Exclusion 4.
    case("prior_hsct_excludes", "E4.transplant", "not_met", prior_transplants=["hsct"]),
    case(
        "prior_solid_organ_transplant_excludes",
        "E4.transplant",
        "not_met",
        prior_transplants=["solid_organ"],
    ),
    case(
        "corneal_and_hair_transplants_do_not_exclude",
        "E4.transplant",
        "met",
        prior_transplants=["corneal", "hair"],
    ),
    case(
        "transplant_history_unknown_is_missing", "E4.transplant", "missing", prior_transplants=None
    ),
    case(
        "gvhd_grade_2_fourteen_days_before_excludes",
        "E4.gvhd",
        "not_met",
        acute_gvhd_grade=2,
        acute_gvhd_date="2026-02-16",
    ),
    case(
        "gvhd_grade_2_fifteen_days_before_does_not_exclude",
        "E4.gvhd",
        "met",
        acute_gvhd_grade=2,
        acute_gvhd_date="2026-02-15",
    ),
    case(
        "gvhd_grade_1_recently_does_not_exclude",
        "E4.gvhd",
        "met",
        acute_gvhd_grade=1,
        acute_gvhd_date="2026-03-01",
    ),
    case("gvhd_grade_3_without_date_is_missing", "E4.gvhd", "missing", acute_gvhd_grade=3),
    case(
        "gvhd_unknown_with_unknown_transplant_history_is_missing",
        "E4.gvhd",
        "missing",
        acute_gvhd_grade=None,
        prior_transplants=None,
    ),
    case(
        "gvhd_not_applicable_without_any_transplant",
        "E4.gvhd",
        "met",
        acute_gvhd_grade=None,
        prior_transplants=[],
    ),
    case(
        "gvhd_not_applicable_after_corneal_and_hair_transplants_only",
        "E4.gvhd",
        "met",
        acute_gvhd_grade=None,
        prior_transplants=["corneal", "hair"],
    ),
    # Exclusion 5.
    case(
        "hbsag_positive_with_high_hbv_dna_excludes",
        "E5.hbv",
        "not_met",
        hbsag="positive",
        hbv_dna_above_normal=True,
    ),
    case(
        "hbcab_positive_with_high_hbv_dna_excludes",
        "E5.hbv",
        "not_met",
        hbcab="positive",
        hbv_dna_above_normal=True,
    ),
    case(
        "hbcab_positive_with_normal_hbv_dna_does_not_exclude",
        "E5.hbv",
        "met",
        hbcab="positive",
        hbv_dna_above_normal=False,
    ),
    case("hbv_serology_positive_without_dna_is_missing", "E5.hbv", "missing", hbsag="positive"),
    case("hbv_serology_unknown_is_missing", "E5.hbv", "missing", hbcab=None),
    case(
        "hcv_ab_positive_with_high_rna_excludes",
        "E5.hcv",
        "not_met",
        hcv_ab="positive",
        hcv_rna_above_normal=True,
    ),
    case(
        "hcv_ab_positive_with_normal_rna_does_not_exclude",
        "E5.hcv",
        "met",
        hcv_ab="positive",
        hcv_rna_above_normal=False,
    ),
    case("hcv_unknown_is_missing", "E5.hcv", "missing", hcv_ab=None),
    case("hiv_positive_excludes", "E5.hiv", "not_met", hiv_ab="positive"),
    case("hiv_unknown_is_missing", "E5.hiv", "missing", hiv_ab=None),
    case("syphilis_positive_excludes", "E5.syphilis", "not_met", syphilis="positive"),
    case("cmv_dna_positive_excludes", "E5.cmv", "not_met", cmv_dna="positive"),
    # Exclusion 6: within 4 weeks (28 days) before screening, inclusive.
    case(
        "live_vaccine_28_days_before_excludes",
        "E6.live_vaccine",
        "not_met",
        live_vaccine_last_date="2026-02-02",
    ),
    case(
        "live_vaccine_29_days_before_does_not_exclude",
        "E6.live_vaccine",
        "met",
        live_vaccine_last_date="2026-02-01",
    ),
    case(
        "live_vaccine_on_screening_day_excludes",
        "E6.live_vaccine",
        "not_met",
        live_vaccine_last_date="2026-03-02",
    ),
    case(
        "live_vaccine_unknown_is_missing", "E6.live_vaccine", "missing", live_vaccine_last_date=None
    ),
    # Exclusion 8.
    case(
        "fully_treated_cervical_cis_does_not_exclude",
        "E8.malignancy",
        "met",
        malignancy_history=[{"kind": "cervical_carcinoma_in_situ", "fully_treated": True}],
    ),
    case(
        "untreated_cervical_cis_excludes",
        "E8.malignancy",
        "not_met",
        malignancy_history=[{"kind": "cervical_carcinoma_in_situ", "fully_treated": False}],
    ),
    case(
        "fully_treated_basal_and_squamous_skin_cancer_do_not_exclude",
        "E8.malignancy",
        "met",
        malignancy_history=[
            {"kind": "basal_cell_skin_cancer", "fully_treated": True},
            {"kind": "squamous_cell_skin_cancer", "fully_treated": True},
        ],
    ),
    case(
        "prostate_cancer_after_radical_surgery_does_not_exclude",
        "E8.malignancy",
        "met",
        malignancy_history=[
            {"kind": "localized_prostate_cancer", "fully_treated": True, "radical_surgery": True}
        ],
    ),
    case(
        "prostate_cancer_without_radical_surgery_excludes",
        "E8.malignancy",
        "not_met",
        malignancy_history=[{"kind": "localized_prostate_cancer", "fully_treated": True}],
    ),
    case(
        "dcis_after_radical_surgery_does_not_exclude",
        "E8.malignancy",
        "met",
        malignancy_history=[
            {"kind": "ductal_carcinoma_in_situ", "fully_treated": True, "radical_surgery": True}
        ],
    ),
    case(
        "dcis_without_radical_surgery_excludes",
        "E8.malignancy",
        "not_met",
        malignancy_history=[{"kind": "ductal_carcinoma_in_situ", "fully_treated": True}],
    ),
    case(
        "any_other_malignancy_excludes_even_treated",
        "E8.malignancy",
        "not_met",
        malignancy_history=[{"kind": "other", "fully_treated": True, "radical_surgery": True}],
    ),
    case(
        "malignancy_history_unknown_is_missing", "E8.malignancy", "missing", malignancy_history=None
    ),
    # Exclusion 9: within 3 calendar months before screening, inclusive.
    case(
        "other_trial_exactly_3_months_before_excludes",
        "E9.other_trial",
        "not_met",
        other_trial_last_date="2025-12-02",
    ),
    case(
        "other_trial_3_months_and_a_day_before_does_not_exclude",
        "E9.other_trial",
        "met",
        other_trial_last_date="2025-12-01",
    ),
    case(
        "other_trial_month_end_clamps_to_28_feb_and_excludes",
        "E9.other_trial",
        "not_met",
        screening_date="2026-05-31",
        other_trial_last_date="2026-02-28",
    ),
    case(
        "other_trial_day_before_clamped_cutoff_does_not_exclude",
        "E9.other_trial",
        "met",
        screening_date="2026-05-31",
        other_trial_last_date="2026-02-27",
    ),
    case("other_trial_unknown_is_missing", "E9.other_trial", "missing", other_trial_last_date=None),
]


@pytest.mark.parametrize(("disease", "overrides", "criterion", "expected"), BOUNDARIES)
def test_criterion_verdict_on_each_side_of_its_threshold(
    disease: Disease, overrides: dict[str, Any], criterion: str, expected: str
) -> None:
    result = judge(disease, **overrides)
    verdict = result.verdict(criterion)
    assert verdict.verdict == expected, verdict.reason
    expected_status = {"met": "eligible", "not_met": "not_eligible", "missing": "incomplete"}
    assert result.status == expected_status[expected]
    assert result.eligible is (expected == "met")


@pytest.mark.parametrize("disease", DISEASES)
def test_factory_record_of_every_disease_is_eligible(disease: Disease) -> None:
    result = judge(disease)
    assert result.eligible
    assert result.status == "eligible"
    assert result.with_verdict("not_met") == result.with_verdict("missing") == ()


@pytest.mark.parametrize(
    ("disease", "activity"),
    [
        ("SLE", ["I3.SLE.sledai"]),
        ("SS", ["I3.SS.essdai"]),
        ("SSc", ["I3.SSc.mrss", "I3.SSc.ild"]),
        ("DM", ["I3.DM.diagnosis_duration"]),
        ("ANCA-AAV", ["I3.ANCA-AAV.bvas", "I3.ANCA-AAV.anca"]),
    ],
)
def test_only_the_subjects_own_disease_activity_is_judged(
    disease: Disease, activity: list[str]
) -> None:
    criteria = [v.criterion for v in judge(disease).verdicts]
    assert [c for c in criteria if c.startswith("I3.") and c != "I3.refractory"] == activity


def test_another_diseases_score_does_not_affect_the_verdict() -> None:
    # An SLE subject with secondary Sjögren's: the low ESSDAI is not an SLE criterion.
    assert judge("SLE", essdai=2).eligible


def test_verdicts_follow_protocol_order_inclusions_then_exclusions() -> None:
    criteria = [v.criterion for v in judge("SSc").verdicts]
    assert criteria[:3] == ["I1.age", "I2.diagnosis", "I3.refractory"]
    assert criteria[-1] == "E10.investigator_judgement"
    first_exclusion = next(i for i, c in enumerate(criteria) if c.startswith("E"))
    assert all(c.startswith("I") for c in criteria[:first_exclusion])
    assert all(c.startswith("E") for c in criteria[first_exclusion:])


def test_every_exclusion_rule_says_met_means_not_excluded() -> None:
    for v in judge().verdicts:
        if v.criterion.startswith("E"):
            assert "met = not excluded" in v.rule, v.criterion


def test_rule_text_states_the_protocol_threshold_and_value_is_shown() -> None:
    result = judge(hemoglobin={"value": 9.5, "unit": "g/dL"})
    hb = result.verdict("I5.hemoglobin")
    assert hb.rule == "hemoglobin ≥ 60 g/L"
    assert hb.value == "9.5 g/dL = 95 g/L"
    assert "95" in hb.reason


def test_not_met_outranks_missing_in_the_overall_status() -> None:
    result = judge(sledai=3, ecog=None)
    assert result.status == "not_eligible"
    assert not result.eligible


def test_missing_alone_makes_the_record_incomplete_and_not_eligible() -> None:
    result = judge(ecog=None)
    assert result.status == "incomplete"
    assert not result.eligible
    assert [v.criterion for v in result.with_verdict("missing")] == ["I4.ecog"]
    assert result.verdict("I4.ecog").value is None


def test_summaries_match_the_screening_recorded_event_shape() -> None:
    result = judge(ecog=2)
    summaries = result.summaries()
    assert all(isinstance(s, CriterionSummary) for s in summaries)
    assert len(summaries) == len(result.verdicts)
    ecog = next(s for s in summaries if s.criterion == "I4.ecog")
    assert (ecog.verdict, ecog.reason) == ("not_met", "ECOG 2 is above 1")


def test_result_serialises_with_eligible_and_status() -> None:
    dumped = judge().model_dump(mode="json")
    assert dumped["eligible"] is True
    assert dumped["status"] == "eligible"
    assert len(dumped["verdicts"]) == len(judge().verdicts)


def test_thresholds_come_from_the_rules_not_the_code() -> None:
    stricter = RULES.model_copy(update={"hemoglobin_g_per_l_min": 100.0, "age_max": 40})
    result = evaluate(eligible_record(hemoglobin={"value": 95, "unit": "g/L"}), stricter)
    assert result.verdict("I5.hemoglobin").verdict == "not_met"
    assert result.verdict("I1.age").verdict == "not_met"


def test_unknown_criterion_lookup_raises_key_error() -> None:
    with pytest.raises(KeyError):
        judge().verdict("I99.nothing")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"ecog": 6}, "ecog"),
        ({"ecog": -1}, "ecog"),
        ({"immunosuppressants_count": -1}, "immunosuppressants_count"),
        ({"immunosuppressant_months": -0.5}, "immunosuppressant_months"),
        ({"glucocorticoid_mg_per_day": -5}, "glucocorticoid_mg_per_day"),
        ({"sledai": 106}, "sledai"),
        ({"mrss": 52}, "mrss"),
        ({"lvef_percent": 100.5}, "lvef_percent"),
        ({"dlco_percent_predicted": 0}, "dlco_percent_predicted"),
        ({"acute_gvhd_grade": 5}, "acute_gvhd_grade"),
        ({"hemoglobin": {"value": 9.5, "unit": "mg/dL"}}, "hemoglobin.unit"),
        ({"hemoglobin": {"value": -1, "unit": "g/L"}}, "hemoglobin.value"),
        ({"platelets": {"value": 150, "unit": "cells/mm3"}}, "platelets.unit"),
        ({"platelets": {"value": -3, "unit": "10^9/L"}}, "platelets.value"),
        ({"egfr": {"value": 60, "unit": "mL/min"}}, "egfr.unit"),
        ({"ast": {"value": 80, "unit": "U/L"}}, "ast"),
        ({"bilirubin": {"value": 1.0, "unit": "mmol/L", "uln": 1.2}}, "bilirubin.unit"),
        ({"birth_date": "2026-03-03"}, "birth_date"),
        ({"dm_diagnosis_date": "2026-03-03"}, "dm_diagnosis_date"),
        ({"live_vaccine_last_date": "2026-03-03"}, "live_vaccine_last_date"),
        ({"other_trial_last_date": "2027-01-01"}, "other_trial_last_date"),
        (
            {"infection_systemic_treatment_last_date": "2026-04-01"},
            "infection_systemic_treatment_last_date",
        ),
        ({"acute_gvhd_date": "2026-03-10"}, "acute_gvhd_date"),
        ({"dm_diagnosis_date": "1970-01-01"}, "dm_diagnosis_date"),
        ({"sex": "male", "pregnancy_test": "positive"}, "pregnancy_test"),
        ({"sex": "other"}, "sex"),
        ({"prior_transplants": ["kidney"]}, "prior_transplants.0"),
        ({"hemoglobn": {"value": 100, "unit": "g/L"}}, "hemoglobn"),
    ],
)
def test_impossible_or_unknown_input_is_rejected_naming_the_field(
    overrides: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        ScreeningRecord.model_validate(eligible_record_json("SLE", **overrides))
    locations = {".".join(str(p) for p in err["loc"]) for err in caught.value.errors()}
    assert any(loc == field or loc.startswith(field + ".") for loc in locations), locations


def test_disease_outside_the_protocol_is_rejected() -> None:
    data = {**eligible_record_json("SLE"), "disease": "RA"}
    with pytest.raises(ValidationError, match="disease"):
        ScreeningRecord.model_validate(data)


def test_record_is_frozen() -> None:
    record = eligible_record()
    with pytest.raises(ValidationError):
        record.ecog = 0  # type: ignore[misc]


def test_minimal_record_judges_every_unknown_criterion_missing() -> None:
    record = ScreeningRecord(
        screening_date="2026-03-02",
        birth_date="1980-01-01",
        sex="female",
        disease="SLE",
    )
    result = evaluate(record, RULES)
    assert result.status == "incomplete"
    met = {v.criterion for v in result.with_verdict("met")}
    assert met == {"I1.age", "I2.diagnosis"}


def test_a_subject_without_transplant_is_eligible_with_no_gvhd_grade() -> None:
    result = judge(prior_transplants=[], acute_gvhd_grade=None)
    assert result.eligible
    assert result.verdict("E4.gvhd").reason.startswith("not applicable")


def test_after_an_hsct_the_gvhd_grade_is_still_required() -> None:
    result = judge(prior_transplants=["hsct"], acute_gvhd_grade=None)
    assert result.verdict("E4.gvhd").verdict == "missing"
