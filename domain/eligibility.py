"""Judge a screening record against inclusion 1–7 and exclusion 1–10 of the protocol.

Pure: the record and the protocol's thresholds in, one verdict per criterion out. Each verdict
is ``met``, ``not_met`` or ``missing`` (the data needed is not recorded). For an exclusion,
``met`` means the subject passes it, i.e. is NOT excluded; every exclusion's rule text says so.
Boundaries follow the protocol text: "≥", "≤" and "10 to 35 including cutoffs" are inclusive,
and look-backs ("within 4 weeks", "within 3 months") include their first day.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, computed_field

from domain.events import CriterionSummary
from domain.protocol import EligibilityRules
from domain.screening import ScreeningRecord
from domain.units import add_months, age_in_years

__all__ = ["CriterionVerdict", "EligibilityResult", "EligibilityStatus", "Verdict", "evaluate"]

Verdict = Literal["met", "not_met", "missing"]
EligibilityStatus = Literal["eligible", "not_eligible", "incomplete"]

_NOT_EXCLUDED = "met = not excluded"
# Threshold comparisons are rounded so a converted value that lands on a cutoff (34.2/17.1)
# is judged on the cutoff, not on a floating-point crumb beside it.
_PRECISION = 9


class CriterionVerdict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    criterion: str
    verdict: Verdict
    rule: str
    value: str | None
    reason: str


class EligibilityResult(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    verdicts: tuple[CriterionVerdict, ...]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def eligible(self) -> bool:
        return all(v.verdict == "met" for v in self.verdicts)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def status(self) -> EligibilityStatus:
        if any(v.verdict == "not_met" for v in self.verdicts):
            return "not_eligible"
        if any(v.verdict == "missing" for v in self.verdicts):
            return "incomplete"
        return "eligible"

    def verdict(self, criterion: str) -> CriterionVerdict:
        for v in self.verdicts:
            if v.criterion == criterion:
                return v
        raise KeyError(criterion)

    def with_verdict(self, verdict: Verdict) -> tuple[CriterionVerdict, ...]:
        return tuple(v for v in self.verdicts if v.verdict == verdict)

    def summaries(self) -> tuple[CriterionSummary, ...]:
        return tuple(
            CriterionSummary(criterion=v.criterion, verdict=v.verdict, reason=v.reason)
            for v in self.verdicts
        )


def evaluate(record: ScreeningRecord, rules: EligibilityRules) -> EligibilityResult:
    """Every criterion, in protocol order, for the subject's own disease."""
    return EligibilityResult(verdicts=tuple(_all_verdicts(record, rules)))


def _all_verdicts(r: ScreeningRecord, rules: EligibilityRules) -> Iterator[CriterionVerdict]:
    yield _age(r, rules)
    yield _verdict(
        "I2.diagnosis",
        "diagnosed with SLE, SS, SSc, DM or ANCA-AAV",
        "met",
        r.disease,
        f"diagnosed with {r.disease}",
    )
    yield _refractory(r, rules)
    yield from _DISEASE_ACTIVITY[r.disease](r, rules)
    yield _at_most("I4.ecog", "ECOG", r.ecog, rules.ecog_max, "")
    yield from _organ_function(r, rules)
    yield from _reproduction(r, rules)
    yield _flag("I7.consent", "informed consent signed", r.consent_signed, want=True)
    yield from _exclusions(r, rules)


# ---------------------------------------------------------------- building blocks


def _num(x: float) -> str:
    return f"{x:g}"


def _verdict(
    criterion: str, rule: str, verdict: Verdict, value: str | None, reason: str
) -> CriterionVerdict:
    return CriterionVerdict(
        criterion=criterion, verdict=verdict, rule=rule, value=value, reason=reason
    )


def _missing(criterion: str, rule: str, what: str) -> CriterionVerdict:
    return _verdict(criterion, rule, "missing", None, f"{what} not recorded")


def _at_least(
    criterion: str, name: str, value: float | None, minimum: float, unit: str, shown: str = ""
) -> CriterionVerdict:
    rule = f"{name} ≥ {_num(minimum)}{unit}"
    if value is None:
        return _missing(criterion, rule, name)
    seen = shown or f"{_num(value)}{unit}"
    if round(value, _PRECISION) >= minimum:
        return _verdict(criterion, rule, "met", seen, f"{name} {seen} is at least {_num(minimum)}")
    return _verdict(criterion, rule, "not_met", seen, f"{name} {seen} is below {_num(minimum)}")


def _at_most(
    criterion: str, name: str, value: float | None, maximum: float, unit: str, shown: str = ""
) -> CriterionVerdict:
    rule = f"{name} ≤ {_num(maximum)}{unit}"
    if value is None:
        return _missing(criterion, rule, name)
    seen = shown or f"{_num(value)}{unit}"
    if round(value, _PRECISION) <= maximum:
        return _verdict(criterion, rule, "met", seen, f"{name} {seen} is at most {_num(maximum)}")
    return _verdict(criterion, rule, "not_met", seen, f"{name} {seen} is above {_num(maximum)}")


def _flag(
    criterion: str, rule: str, value: bool | None, *, want: bool, what: str = ""
) -> CriterionVerdict:
    """A yes/no criterion; ``want`` is the answer that passes."""
    if value is None:
        return _missing(criterion, rule, what or rule)
    seen = "yes" if value else "no"
    if value is want:
        return _verdict(criterion, rule, "met", seen, f"{what or rule}: {seen}")
    return _verdict(criterion, rule, "not_met", seen, f"{what or rule}: {seen}")


def _excluded_if(criterion: str, condition: str, value: bool | None) -> CriterionVerdict:
    """An exclusion given as a yes/no fact: ``True`` excludes."""
    rule = f"not excluded: no {condition} ({_NOT_EXCLUDED})"
    if value is None:
        return _missing(criterion, rule, condition)
    if value:
        return _verdict(criterion, rule, "not_met", "yes", f"excluded: {condition}")
    return _verdict(criterion, rule, "met", "no", f"not excluded: no {condition}")


def _within_days(event: date, screening: date, days: int) -> bool:
    return event >= screening - timedelta(days=days)


# ---------------------------------------------------------------- inclusion 1–4


def _age(r: ScreeningRecord, rules: EligibilityRules) -> CriterionVerdict:
    rule = f"age {rules.age_min}–{rules.age_max} years inclusive at screening"
    age = age_in_years(r.birth_date, r.screening_date)
    seen = f"{age} years"
    if rules.age_min <= age <= rules.age_max:
        return _verdict("I1.age", rule, "met", seen, f"aged {age} at screening")
    side = "below" if age < rules.age_min else "above"
    return _verdict("I1.age", rule, "not_met", seen, f"aged {age} at screening, {side} range")


def _refractory(r: ScreeningRecord, rules: EligibilityRules) -> CriterionVerdict:
    rule = (
        f"≥ {rules.immunosuppressants_min} immunosuppressants for ≥ "
        f"{rules.immunosuppressant_months_min} months, or ≥ "
        f"{_num(rules.glucocorticoid_mg_per_day_min)} mg/day glucocorticoid needed, "
        "or intolerant of / contraindicated for standard treatment"
    )
    branches: list[tuple[Verdict, str]] = []

    count, months = r.immunosuppressants_count, r.immunosuppressant_months
    if (count is not None and count < rules.immunosuppressants_min) or (
        months is not None and months < rules.immunosuppressant_months_min
    ):
        branches.append(("not_met", f"immunosuppressants {count} for {months} months"))
    elif count is None or months is None:
        branches.append(("missing", "immunosuppressant count or duration not recorded"))
    else:
        branches.append(("met", f"{count} immunosuppressants for {_num(months)} months"))

    gc = r.glucocorticoid_mg_per_day
    if gc is None:
        branches.append(("missing", "glucocorticoid dose not recorded"))
    else:
        ok = gc >= rules.glucocorticoid_mg_per_day_min
        branches.append(("met" if ok else "not_met", f"glucocorticoid {_num(gc)} mg/day"))

    flag = r.standard_treatment_intolerant_or_contraindicated
    if flag is None:
        branches.append(("missing", "intolerance/contraindication not recorded"))
    else:
        branches.append(
            ("met" if flag else "not_met", f"intolerant/contraindicated: {'yes' if flag else 'no'}")
        )

    verdicts = {v for v, _ in branches}
    overall: Verdict = (
        "met" if "met" in verdicts else "missing" if "missing" in verdicts else "not_met"
    )
    detail = "; ".join(text for _, text in branches)
    reason = {
        "met": f"refractory ({detail})",
        "not_met": f"not refractory ({detail})",
        "missing": f"refractoriness not established ({detail})",
    }[overall]
    seen = "; ".join(text for v, text in branches if v != "missing") or None
    return _verdict("I3.refractory", rule, overall, seen, reason)


def _sle(r: ScreeningRecord, rules: EligibilityRules) -> Iterator[CriterionVerdict]:
    yield _at_least("I3.SLE.sledai", "SLEDAI-2K", r.sledai, rules.sledai_min, "")


def _ss(r: ScreeningRecord, rules: EligibilityRules) -> Iterator[CriterionVerdict]:
    yield _at_least("I3.SS.essdai", "ESSDAI", r.essdai, rules.essdai_min, "")


def _ssc(r: ScreeningRecord, rules: EligibilityRules) -> Iterator[CriterionVerdict]:
    rule = f"mRSS {rules.mrss_min}–{rules.mrss_max} inclusive"
    if r.mrss is None:
        yield _missing("I3.SSc.mrss", rule, "mRSS")
    elif rules.mrss_min <= r.mrss <= rules.mrss_max:
        yield _verdict("I3.SSc.mrss", rule, "met", str(r.mrss), f"mRSS {r.mrss} within range")
    else:
        yield _verdict("I3.SSc.mrss", rule, "not_met", str(r.mrss), f"mRSS {r.mrss} outside range")
    yield _flag(
        "I3.SSc.ild", "interstitial lung disease present", r.ild, want=True, what="ILD present"
    )


def _dm(r: ScreeningRecord, rules: EligibilityRules) -> Iterator[CriterionVerdict]:
    months = round(rules.dm_diagnosis_years_min * 12)
    rule = (
        f"dermatomyositis diagnosed ≥ {_num(rules.dm_diagnosis_years_min)} year(s) before screening"
    )
    if r.dm_diagnosis_date is None:
        yield _missing("I3.DM.diagnosis_duration", rule, "diagnosis date")
        return
    anniversary = add_months(r.dm_diagnosis_date, months)
    seen = f"diagnosed {r.dm_diagnosis_date.isoformat()}"
    if anniversary <= r.screening_date:
        yield _verdict(
            "I3.DM.diagnosis_duration", rule, "met", seen, f"{seen}, long enough by {anniversary}"
        )
    else:
        yield _verdict(
            "I3.DM.diagnosis_duration",
            rule,
            "not_met",
            seen,
            f"{seen}, not long enough until {anniversary}",
        )


def _anca(r: ScreeningRecord, rules: EligibilityRules) -> Iterator[CriterionVerdict]:
    yield _at_least("I3.ANCA-AAV.bvas", "BVAS", r.bvas, rules.bvas_min, "")
    yield _flag("I3.ANCA-AAV.anca", "ANCA positive", r.anca_positive, want=True)


_DISEASE_ACTIVITY: dict[
    str, Callable[[ScreeningRecord, EligibilityRules], Iterator[CriterionVerdict]]
] = {"SLE": _sle, "SS": _ss, "SSc": _ssc, "DM": _dm, "ANCA-AAV": _anca}


# ---------------------------------------------------------------- inclusion 5–6


def _organ_function(r: ScreeningRecord, rules: EligibilityRules) -> Iterator[CriterionVerdict]:
    hb = r.hemoglobin
    yield _at_least(
        "I5.hemoglobin",
        "hemoglobin",
        None if hb is None else hb.g_per_l,
        rules.hemoglobin_g_per_l_min,
        " g/L",
        ""
        if hb is None or hb.unit == "g/L"
        else f"{_num(hb.value)} {hb.unit} = {hb.g_per_l:.4g} g/L",
    )
    plt = r.platelets
    yield _at_least(
        "I5.platelets",
        "platelets",
        None if plt is None else plt.count_10e9_per_l,
        rules.platelets_10e9_per_l_min,
        " ×10⁹/L",
        "" if plt is None else f"{_num(plt.value)} {plt.unit}",
    )
    yield _at_least("I5.lvef", "LVEF", r.lvef_percent, rules.lvef_percent_min, " %")
    yield _flag(
        "I5.ecg",
        "no significant ECG abnormality",
        r.ecg_significant_abnormality,
        want=False,
        what="significant ECG abnormality",
    )
    yield _at_least(
        "I5.egfr",
        "eGFR",
        None if r.egfr is None else r.egfr.value,
        rules.egfr_min,
        " mL/min/1.73m²",
    )
    for code, name, lab, limit in (
        ("I5.ast", "AST", r.ast, rules.ast_uln_max),
        ("I5.alt", "ALT", r.alt, rules.alt_uln_max),
        ("I5.bilirubin", "total bilirubin", r.bilirubin, rules.bilirubin_uln_max),
    ):
        ratio = None if lab is None else lab.times_uln()
        shown = ""
        if lab is not None and lab.unit != "xULN":
            shown = f"{_num(lab.value)} {lab.unit} (ULN {_num(lab.uln or 0)}) = {ratio:.3g}×ULN"
        yield _at_most(code, name, ratio, limit, "×ULN", shown)
    yield _at_least("I5.dlco", "DLCO", r.dlco_percent_predicted, rules.dlco_percent_min, " % pred")
    yield _at_least("I5.fvc", "FVC", r.fvc_percent_predicted, rules.fvc_percent_min, " % pred")
    yield _flag(
        "I5.cell_collection",
        "fit for cell collection, no contraindication",
        r.fit_for_cell_collection,
        want=True,
        what="fit for cell collection",
    )


def _reproduction(r: ScreeningRecord, rules: EligibilityRules) -> Iterator[CriterionVerdict]:
    test_rule = "negative urine pregnancy test if of childbearing potential"
    if r.sex == "male" or r.childbearing_potential is False:
        why = "male" if r.sex == "male" else "not of childbearing potential"
        yield _verdict("I6.pregnancy_test", test_rule, "met", r.pregnancy_test, f"n/a: {why}")
    elif r.childbearing_potential is None:
        yield _missing("I6.pregnancy_test", test_rule, "childbearing potential")
    elif r.pregnancy_test is None:
        yield _missing("I6.pregnancy_test", test_rule, "pregnancy test")
    else:
        verdict: Verdict = "met" if r.pregnancy_test == "negative" else "not_met"
        yield _verdict(
            "I6.pregnancy_test",
            test_rule,
            verdict,
            r.pregnancy_test,
            f"pregnancy test {r.pregnancy_test}",
        )

    months = rules.contraception_months_after_infusion
    rule = (
        f"agrees to contraception until {months} months after infusion if of reproductive potential"
    )
    if r.childbearing_potential is None:
        yield _missing("I6.contraception", rule, "childbearing potential")
    elif not r.childbearing_potential:
        yield _verdict("I6.contraception", rule, "met", None, "n/a: not of childbearing potential")
    else:
        yield _flag(
            "I6.contraception",
            rule,
            r.contraception_agreed,
            want=True,
            what="agrees to contraception",
        )


# ---------------------------------------------------------------- exclusions 1–10


def _exclusions(r: ScreeningRecord, rules: EligibilityRules) -> Iterator[CriterionVerdict]:
    yield _excluded_if("E1.prior_car_t", "prior CAR-T therapy", r.prior_car_t)
    yield _excluded_if(
        "E2.severe_organ_disease",
        "severe heart/liver/lung/blood/endocrine disease with risk above benefit",
        r.severe_organ_disease,
    )
    yield _infection(r, rules)
    yield _transplant(r)
    yield _gvhd(r, rules)
    yield from _virology(r)
    yield _live_vaccine(r, rules)
    yield _pregnancy(r)
    yield _malignancy(r)
    yield _other_trial(r, rules)
    yield _excluded_if(
        "E10.investigator_judgement",
        "investigator judgement that the subject is unsuitable",
        r.investigator_deems_unsuitable,
    )


def _infection(r: ScreeningRecord, rules: EligibilityRules) -> CriterionVerdict:
    days = rules.infection_lookback_days
    rule = (
        "not excluded: no active/uncontrolled infection needing systemic treatment, and none "
        f"treated systemically in the {days} days before screening ({_NOT_EXCLUDED})"
    )
    code = "E3.active_infection"
    active, last = (
        r.active_infection_requiring_systemic_treatment,
        r.infection_systemic_treatment_last_date,
    )
    if active:
        return _verdict(
            code, rule, "not_met", "active", "excluded: active infection needing systemic treatment"
        )
    if isinstance(last, date) and _within_days(last, r.screening_date, days):
        return _verdict(
            code,
            rule,
            "not_met",
            last.isoformat(),
            f"excluded: systemic treatment on {last}, within {days} days",
        )
    if active is None or last is None:
        return _missing(code, rule, "infection status or last systemic treatment date")
    seen = "never" if last == "never" else last.isoformat()
    return _verdict(
        code,
        rule,
        "met",
        seen,
        f"not excluded: no active infection; last systemic treatment {seen}",
    )


def _transplant(r: ScreeningRecord) -> CriterionVerdict:
    rule = (
        "not excluded: no prior HSCT or solid organ transplant; corneal/hair allowed "
        f"({_NOT_EXCLUDED})"
    )
    if r.prior_transplants is None:
        return _missing("E4.transplant", rule, "transplant history")
    seen = ", ".join(r.prior_transplants) or "none"
    barred = [t for t in r.prior_transplants if t in ("hsct", "solid_organ")]
    if barred:
        return _verdict(
            "E4.transplant", rule, "not_met", seen, f"excluded: prior {', '.join(barred)}"
        )
    return _verdict("E4.transplant", rule, "met", seen, f"not excluded: prior transplants {seen}")


def _no_gvhd_risk(r: ScreeningRecord) -> bool:
    return r.prior_transplants is not None and not any(
        t in ("hsct", "solid_organ") for t in r.prior_transplants
    )


def _gvhd(r: ScreeningRecord, rules: EligibilityRules) -> CriterionVerdict:
    grade_limit, days = rules.gvhd_grade_max_exclusive, rules.gvhd_lookback_days
    rule = (
        f"not excluded: no acute GVHD grade ≥ {grade_limit} in the {days} days before screening "
        f"({_NOT_EXCLUDED})"
    )
    grade = r.acute_gvhd_grade
    if grade is None and _no_gvhd_risk(r):
        # GVHD follows only an HSCT or solid-organ graft; corneal and hair grafts carry no
        # donor immune cells, so the grade is not applicable rather than missing.
        seen = ", ".join(r.prior_transplants or ()) or "no transplant"
        return _verdict(
            "E4.gvhd", rule, "met", seen, f"not applicable: {seen} (no HSCT or solid organ)"
        )
    if grade is None:
        return _missing("E4.gvhd", rule, "acute GVHD grade")
    if grade < grade_limit:
        return _verdict(
            "E4.gvhd", rule, "met", f"grade {grade}", f"not excluded: acute GVHD grade {grade}"
        )
    if r.acute_gvhd_date is None:
        return _missing("E4.gvhd", rule, f"date of acute GVHD grade {grade}")
    seen = f"grade {grade} on {r.acute_gvhd_date}"
    if _within_days(r.acute_gvhd_date, r.screening_date, days):
        return _verdict("E4.gvhd", rule, "not_met", seen, f"excluded: {seen}, within {days} days")
    return _verdict(
        "E4.gvhd", rule, "met", seen, f"not excluded: {seen}, more than {days} days before"
    )


def _virology(r: ScreeningRecord) -> Iterator[CriterionVerdict]:
    yield _hepatitis(
        "E5.hbv",
        "HBsAg or HBcAb positive with HBV DNA above normal",
        (r.hbsag, r.hbcab),
        r.hbv_dna_above_normal,
        "HBV DNA",
    )
    yield _hepatitis(
        "E5.hcv",
        "HCV Ab positive with HCV RNA above normal",
        (r.hcv_ab,),
        r.hcv_rna_above_normal,
        "HCV RNA",
    )
    for code, name, result in (
        ("E5.hiv", "HIV antibody", r.hiv_ab),
        ("E5.syphilis", "syphilis test", r.syphilis),
        ("E5.cmv", "CMV DNA", r.cmv_dna),
    ):
        rule = f"not excluded: {name} negative ({_NOT_EXCLUDED})"
        if result is None:
            yield _missing(code, rule, name)
        else:
            verdict: Verdict = "met" if result == "negative" else "not_met"
            prefix = "not excluded" if verdict == "met" else "excluded"
            yield _verdict(code, rule, verdict, result, f"{prefix}: {name} {result}")


def _hepatitis(
    code: str,
    condition: str,
    serology: tuple[str | None, ...],
    load_above_normal: bool | None,
    load_name: str,
) -> CriterionVerdict:
    rule = f"not excluded: not ({condition}) ({_NOT_EXCLUDED})"
    seen = "/".join(s or "?" for s in serology)
    if "positive" in serology:
        if load_above_normal is None:
            return _missing(code, rule, f"{load_name} (serology positive)")
        load = "above normal" if load_above_normal else "within normal"
        verdict: Verdict = "not_met" if load_above_normal else "met"
        prefix = "excluded" if load_above_normal else "not excluded"
        return _verdict(
            code,
            rule,
            verdict,
            f"{seen}, {load_name} {load}",
            f"{prefix}: serology {seen}, {load_name} {load}",
        )
    if None in serology:
        return _missing(code, rule, "serology")
    return _verdict(code, rule, "met", seen, f"not excluded: serology {seen}")


def _live_vaccine(r: ScreeningRecord, rules: EligibilityRules) -> CriterionVerdict:
    weeks = rules.live_vaccine_lookback_weeks
    rule = f"not excluded: no live vaccine within {weeks} weeks before screening ({_NOT_EXCLUDED})"
    last = r.live_vaccine_last_date
    if last is None:
        return _missing("E6.live_vaccine", rule, "last live vaccine date")
    if last == "never":
        return _verdict(
            "E6.live_vaccine", rule, "met", "never", "not excluded: never had a live vaccine"
        )
    if _within_days(last, r.screening_date, 7 * weeks):
        return _verdict(
            "E6.live_vaccine",
            rule,
            "not_met",
            last.isoformat(),
            f"excluded: live vaccine on {last}, within {weeks} weeks",
        )
    return _verdict(
        "E6.live_vaccine",
        rule,
        "met",
        last.isoformat(),
        f"not excluded: last live vaccine {last}, over {weeks} weeks before",
    )


def _pregnancy(r: ScreeningRecord) -> CriterionVerdict:
    rule = f"not excluded: not pregnant (pregnancy test not positive) ({_NOT_EXCLUDED})"
    if r.pregnancy_test == "positive":
        return _verdict(
            "E7.pregnancy", rule, "not_met", "positive", "excluded: pregnancy test positive"
        )
    if r.sex == "male" or r.childbearing_potential is False:
        return _verdict(
            "E7.pregnancy", rule, "met", r.pregnancy_test, "not excluded: cannot be pregnant"
        )
    if r.pregnancy_test is None:
        return _missing("E7.pregnancy", rule, "pregnancy test")
    return _verdict(
        "E7.pregnancy", rule, "met", "negative", "not excluded: pregnancy test negative"
    )


_ALLOWED_MALIGNANCIES = {
    "cervical_carcinoma_in_situ": False,
    "basal_cell_skin_cancer": False,
    "squamous_cell_skin_cancer": False,
    # Value: whether the exception also needs radical surgery.
    "localized_prostate_cancer": True,
    "ductal_carcinoma_in_situ": True,
}


def _malignancy(r: ScreeningRecord) -> CriterionVerdict:
    rule = (
        "not excluded: no prior malignancy, except fully treated cervical carcinoma in situ, "
        "basal/squamous cell skin cancer, or local prostate cancer / DCIS after radical surgery "
        f"({_NOT_EXCLUDED})"
    )
    history = r.malignancy_history
    if history is None:
        return _missing("E8.malignancy", rule, "malignancy history")
    if not history:
        return _verdict("E8.malignancy", rule, "met", "none", "not excluded: no prior malignancy")
    seen = ", ".join(m.kind for m in history)
    barred = [
        m.kind
        for m in history
        if m.kind not in _ALLOWED_MALIGNANCIES
        or not m.fully_treated
        or (_ALLOWED_MALIGNANCIES[m.kind] and not m.radical_surgery)
    ]
    if barred:
        return _verdict(
            "E8.malignancy",
            rule,
            "not_met",
            seen,
            f"excluded: {', '.join(barred)} not an allowed fully treated exception",
        )
    return _verdict(
        "E8.malignancy", rule, "met", seen, f"not excluded: only allowed exceptions ({seen})"
    )


def _other_trial(r: ScreeningRecord, rules: EligibilityRules) -> CriterionVerdict:
    months = rules.other_trial_lookback_months
    rule = (
        f"not excluded: no other clinical trial within {months} months before screening "
        f"({_NOT_EXCLUDED})"
    )
    last = r.other_trial_last_date
    if last is None:
        return _missing("E9.other_trial", rule, "last other-trial participation date")
    if last == "never":
        return _verdict("E9.other_trial", rule, "met", "never", "not excluded: no other trial")
    cutoff = add_months(r.screening_date, -months)
    if last >= cutoff:
        return _verdict(
            "E9.other_trial",
            rule,
            "not_met",
            last.isoformat(),
            f"excluded: in another trial on {last}, on or after {cutoff}",
        )
    return _verdict(
        "E9.other_trial",
        rule,
        "met",
        last.isoformat(),
        f"not excluded: last other trial {last}, before {cutoff}",
    )
