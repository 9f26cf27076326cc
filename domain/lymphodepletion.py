"""Lymphodepletion decisions on dated results: the plan (weight and kidney function from
recorded measurements, renal bands, the PI's override), the re-check at approval, and the
infusion weight cross-check.

A protocol without a ``pre_lymphodepletion`` block keeps the typed weight and eGFR of the
protocols written before dated results, so workflows started under them decide as before.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from domain import commands as c
from domain import events as e
from domain.dosing import (
    ImplausibleValue,
    RenalContraindication,
    lymphodepletion_plan,
    planned_doses,
)
from domain.errors import MissingPrerequisite, ValueOutOfRange, WrongPhase
from domain.guards import deviation, not_future
from domain.measurements import Creatinine, ReportedEgfr, Weight
from domain.prelymphodepletion import PreLymphodepletionRules, latest, recheck_problems, window_of
from domain.protocol import LymphodepletionDrug, Protocol
from domain.renal import RenalAssessment, assess_creatinine, assess_reported_egfr
from domain.state import RenalOverride, SubjectState

__all__ = [
    "LD_DECIDERS",
    "check_before_approval",
    "evolve_ld",
    "infusion_weight",
    "plan_lymphodepletion",
    "renal_assessment",
]


def _first_dose(infusion_date: date, p: Protocol) -> date:
    return infusion_date + timedelta(days=min(p.lymphodepletion.days))


def _window(
    rules: PreLymphodepletionRules, what: str, first_dose: date
) -> tuple[date, date] | None:
    check = next((r for r in rules.rechecks if r.what == what), None)
    return None if check is None else window_of(first_dose, check.within_days)


def _require_rechecks(s: SubjectState, rules: PreLymphodepletionRules, first_dose: date) -> None:
    problems = recheck_problems(
        rules,
        s.measurements,
        first_dose=first_dose,
        wocbp=s.sex == "female" and bool(s.childbearing_potential),
    )
    if problems:
        raise MissingPrerequisite(
            "the safety re-check before lymphodepletion is not complete: "
            + "; ".join(problem.message for problem in problems),
            field=problems[0].field,
        )


def _dosing_weight(s: SubjectState, window: tuple[date, date] | None) -> Weight:
    found = latest(s.measurements, (Weight,), window)
    if not isinstance(found, Weight):
        where = f" between {window[0]} and {window[1]}" if window else ""
        raise MissingPrerequisite(f"no weight measured{where}; record one", field="weight")
    return found


def renal_assessment(
    s: SubjectState,
    drug: LymphodepletionDrug,
    weight_kg: float,
    window: tuple[date, date] | None,
) -> RenalAssessment | None:
    """Kidney function from the latest dated result; on a day with both a creatinine and an
    eGFR, the lower value, so the dose errs on the side of reduction."""
    assert s.birth_date is not None and s.sex is not None  # registration sets both
    accept_egfr = drug.renal is None or drug.renal.accept_reported_egfr
    types: tuple[type[Any], ...] = (Creatinine, ReportedEgfr) if accept_egfr else (Creatinine,)
    newest = latest(s.measurements, types, window)
    if newest is None:
        return None
    same_day = [
        m for m in s.measurements if isinstance(m, types) and m.collected_on == newest.collected_on
    ]
    assessments = [
        assess_creatinine(m, weight_kg=weight_kg, birth_date=s.birth_date, sex=s.sex)
        if isinstance(m, Creatinine)
        else assess_reported_egfr(m)
        for m in same_day
        if isinstance(m, Creatinine | ReportedEgfr)
    ]
    return min(assessments, key=lambda a: a.value)


def _matching_override(
    s: SubjectState, drug: str, assessment: RenalAssessment
) -> RenalOverride | None:
    return next(
        (
            o
            for o in reversed(s.renal_overrides)
            if o.override.drug == drug and o.override.assessment == assessment
        ),
        None,
    )


def _renal_factor(
    s: SubjectState, drug: LymphodepletionDrug, assessment: RenalAssessment
) -> tuple[float, str, int | None]:
    """The drug's factor, the rule that gave it, and the override it relies on (if any)."""
    rules = drug.renal
    if rules is None:
        # Older protocols: a factor below a threshold, read against the assessment's value.
        threshold, factor = drug.renal_adjust_below_egfr, drug.renal_adjust_factor
        if threshold is not None and factor is not None and assessment.value < threshold:
            return factor, f"below {threshold:g} (exclusive)", None
        return 1.0, "no renal adjustment", None
    factor = rules.factor(assessment.value)
    if factor is not None:
        band = next((b for b in rules.bands if b.contains(assessment.value)), None)
        where = band.describe() if band is not None else "outside every reduction band"
        return factor, f"{rules.convention}: {where}", None
    override = _matching_override(s, drug.drug, assessment)
    if override is None:
        raise ValueOutOfRange(
            f"{assessment.describe()} is below {rules.do_not_give_below:g}: {drug.drug} must not "
            f"be given ({rules.convention}). The PI may record a documented override "
            "(override_renal_threshold), which opens a protocol deviation",
            field="renal",
        )
    return (
        override.override.factor,
        f"PI override below {rules.do_not_give_below:g} ({rules.convention})",
        override.seq,
    )


def plan_lymphodepletion(
    s: SubjectState, cmd: c.PlanLymphodepletion, p: Protocol
) -> e.LymphodepletionPlanned:
    rules = p.pre_lymphodepletion
    try:
        if rules is None:
            if cmd.weight_kg is None or cmd.egfr is None:
                missing = "weight_kg" if cmd.weight_kg is None else "egfr"
                raise MissingPrerequisite(f"{missing} is required by this protocol", field=missing)
            return lymphodepletion_plan(
                cmd.weight_kg, cmd.height_cm, cmd.egfr, cmd.infusion_date, p.lymphodepletion
            )
        return _plan_from_results(s, cmd, p, rules)
    except ImplausibleValue as exc:
        raise ValueOutOfRange(str(exc), field=exc.field) from exc
    except RenalContraindication as exc:
        raise ValueOutOfRange(str(exc), field="egfr") from exc


def _plan_from_results(
    s: SubjectState, cmd: c.PlanLymphodepletion, p: Protocol, rules: PreLymphodepletionRules
) -> e.LymphodepletionPlanned:
    if cmd.egfr is not None:
        raise ValueOutOfRange(
            "kidney function comes from a dated creatinine or eGFR result "
            "(record_measurement), not a value typed at planning",
            field="egfr",
        )
    first_dose = _first_dose(cmd.infusion_date, p)
    _require_rechecks(s, rules, first_dose)
    weight = _dosing_weight(s, _window(rules, "weight", first_dose))
    if cmd.weight_kg is not None and cmd.weight_kg != weight.kg:
        raise ValueOutOfRange(
            f"weight_kg {cmd.weight_kg:g} differs from the weight measured on "
            f"{weight.collected_on} ({weight.kg:g} kg); the dose uses the dated measurement: "
            "omit weight_kg or record a new weight",
            field="weight_kg",
        )
    factors: dict[str, float] = {}
    assessment: RenalAssessment | None = None
    rule_text: str | None = None
    override_seq: int | None = None
    renal_window = _window(rules, "renal", first_dose)
    for drug in p.lymphodepletion.drugs:
        if drug.renal is None and drug.renal_adjust_below_egfr is None:
            continue
        assessment = renal_assessment(s, drug, weight.kg, renal_window)
        if assessment is None:
            raise MissingPrerequisite(
                f"{drug.drug} is dosed by kidney function: record a dated creatinine"
                + (" or eGFR" if drug.renal is None or drug.renal.accept_reported_egfr else ""),
                field="renal",
            )
        factors[drug.drug], rule_text, seq = _renal_factor(s, drug, assessment)
        override_seq = override_seq or seq
    planned = planned_doses(weight.kg, cmd.height_cm, cmd.infusion_date, p.lymphodepletion, factors)
    return e.LymphodepletionPlanned(
        infusion_date=cmd.infusion_date,
        weight_kg=weight.kg,
        weight_measured_on=weight.collected_on,
        height_cm=cmd.height_cm,
        bsa_m2=planned.bsa_m2,
        renal_adjusted=any(f < 1.0 for f in factors.values()),
        doses=planned.doses,
        renal=assessment,
        renal_factor=min(factors.values(), default=None),
        renal_rule=rule_text,
        renal_override_seq=override_seq,
        sponsor_note=p.lymphodepletion.sponsor_note,
        caps_applied=planned.caps_applied,
    )


def check_before_approval(s: SubjectState, p: Protocol) -> None:
    """Results fresh at planning may be stale at approval, or newer ones may change the dose."""
    rules, plan = p.pre_lymphodepletion, s.ld_plan
    if rules is None or plan is None:
        return
    first_dose = _first_dose(plan.infusion_date, p)
    _require_rechecks(s, rules, first_dose)
    weight = latest(s.measurements, (Weight,), _window(rules, "weight", first_dose))
    if isinstance(weight, Weight) and (weight.kg, weight.collected_on) != (
        plan.weight_kg,
        plan.weight_measured_on,
    ):
        raise MissingPrerequisite(
            f"a newer weight ({weight.kg:g} kg on {weight.collected_on}) than the plan's; "
            "plan again before approval",
            field="weight",
        )
    for drug in p.lymphodepletion.drugs:
        if drug.renal is None:
            continue
        now = renal_assessment(s, drug, plan.weight_kg, _window(rules, "renal", first_dose))
        if now is not None and now != plan.renal:
            raise MissingPrerequisite(
                f"kidney function changed since planning ({now.describe()}); plan again "
                "before approval",
                field="renal",
            )


def infusion_weight(s: SubjectState, cmd: c.RecordInfusion, p: Protocol) -> float:
    """The weight the product dose uses, cross-checked against the planning weight."""
    rules, plan = p.pre_lymphodepletion, s.ld_plan
    if rules is None or plan is None:
        if cmd.weight_kg is None:
            raise MissingPrerequisite("weight_kg is required by this protocol", field="weight_kg")
        return cmd.weight_kg
    window = window_of(cmd.infused_on, rules.infusion_weight_within_days)
    weight = _dosing_weight(s, window)
    if cmd.weight_kg is not None and cmd.weight_kg != weight.kg:
        raise ValueOutOfRange(
            f"weight_kg {cmd.weight_kg:g} differs from the weight measured on "
            f"{weight.collected_on} ({weight.kg:g} kg); omit weight_kg or record a new weight",
            field="weight_kg",
        )
    change = _change_percent(weight.kg, plan.weight_kg)
    confirmed = s.infusion_weight_confirmation
    if change > rules.infusion_weight_tolerance_percent and (
        confirmed is None
        or (confirmed.weight_kg, confirmed.measured_on)
        != (
            weight.kg,
            weight.collected_on,
        )
    ):
        raise MissingPrerequisite(
            f"weight changed {change:.1f} % since planning ({plan.weight_kg:g} → {weight.kg:g} "
            f"kg), beyond the protocol's {rules.infusion_weight_tolerance_percent:g} %: the PI "
            "must confirm the infusion weight (confirm_infusion_weight)",
            field="weight_kg",
        )
    return weight.kg


def _change_percent(now: float, before: float) -> float:
    # Rounded to 0.1 % so a change of exactly the tolerance is not lost to float noise.
    return round(abs(now - before) / before * 100, 1)


def _record_measurement(
    s: SubjectState, cmd: c.RecordMeasurement, now: datetime, p: Protocol
) -> list[e.EventPayload]:
    m = cmd.measurement
    not_future(m.collected_on, now, "measurement.collected_on")
    if s.consented_on is not None and m.collected_on < s.consented_on:
        raise ValueOutOfRange(
            "measurement.collected_on is before consent", field="measurement.collected_on"
        )
    if m.kind == "pregnancy_test" and (s.sex == "male" or s.childbearing_potential is False):
        raise ValueOutOfRange(
            "a pregnancy test is for women of childbearing potential only",
            field="measurement.kind",
        )
    return [e.MeasurementRecorded(measurement=m)]


def _override_renal(
    s: SubjectState, cmd: c.OverrideRenalThreshold, now: datetime, p: Protocol
) -> list[e.EventPayload]:
    drug = next((d for d in p.lymphodepletion.drugs if d.drug == cmd.drug), None)
    if drug is None or drug.renal is None:
        raise ValueOutOfRange(
            f"{cmd.drug} has no renal do-not-give threshold in this protocol", field="drug"
        )
    if s.ld_approved:
        raise WrongPhase("the lymphodepletion plan is already approved")
    weight = _dosing_weight(s, None)
    assessment = renal_assessment(s, drug, weight.kg, None)
    if assessment is None:
        raise MissingPrerequisite("no creatinine or eGFR is recorded", field="renal")
    threshold = drug.renal.do_not_give_below
    if assessment.value >= threshold:
        raise WrongPhase(
            f"{assessment.describe()} is not below {threshold:g}; no override is needed",
            field="drug",
        )
    if cmd.factor > drug.renal.lowest_factor:
        raise ValueOutOfRange(
            f"factor must not exceed the protocol's lowest renal band factor "
            f"({drug.renal.lowest_factor:g})",
            field="factor",
        )
    return [
        e.RenalOverrideRecorded(
            drug=drug.drug,
            assessment=assessment,
            threshold=threshold,
            factor=cmd.factor,
            justification=cmd.reason,
        ),
        deviation(
            s,
            "renal_threshold_override",
            f"PI override: {drug.drug} at ×{cmd.factor:g} with {assessment.describe()}, below "
            f"the do-not-give threshold {threshold:g} ({drug.renal.convention}): {cmd.reason}",
        ),
    ]


def _confirm_weight(
    s: SubjectState, cmd: c.ConfirmInfusionWeight, now: datetime, p: Protocol
) -> list[e.EventPayload]:
    rules, plan = p.pre_lymphodepletion, s.ld_plan
    if rules is None or plan is None:
        raise WrongPhase("this protocol has no infusion weight cross-check")
    weight = _dosing_weight(s, None)
    change = _change_percent(weight.kg, plan.weight_kg)
    if change <= rules.infusion_weight_tolerance_percent:
        raise WrongPhase(
            f"the weight changed {change:.1f} % since planning, within the protocol's "
            f"{rules.infusion_weight_tolerance_percent:g} %; nothing to confirm"
        )
    return [
        e.InfusionWeightConfirmed(
            weight_kg=weight.kg,
            measured_on=weight.collected_on,
            planning_weight_kg=plan.weight_kg,
            change_percent=change,
        )
    ]


def evolve_ld(s: SubjectState, event: e.Event) -> dict[str, Any] | None:
    p = event.payload
    match p:
        case e.MeasurementRecorded():
            return {"measurements": (*s.measurements, p.measurement)}
        case e.RenalOverrideRecorded():
            return {
                "renal_overrides": (*s.renal_overrides, RenalOverride(seq=event.seq, override=p))
            }
        case e.InfusionWeightConfirmed():
            return {"infusion_weight_confirmation": p}
    return None


LD_DECIDERS: dict[type[Any], Callable[..., list[e.EventPayload]]] = {
    c.RecordMeasurement: _record_measurement,
    c.OverrideRenalThreshold: _override_renal,
    c.ConfirmInfusionWeight: _confirm_weight,
}
