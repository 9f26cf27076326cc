"""What the subject page shows about dated results: each result, the re-check before
lymphodepletion (what is fresh, stale, missing or unacceptable), the kidney function the plan
used (or would use now) and the infusion weight against the planning weight.

Computed with the domain's own functions, so the page says what planning and approval decide.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict

from domain.lymphodepletion import renal_assessment
from domain.measurements import (
    BloodCounts,
    Creatinine,
    InfectionAssessment,
    Measurement,
    PregnancyTest,
    ReportedEgfr,
    Weight,
)
from domain.prelymphodepletion import (
    RECHECK_LABELS,
    RECHECK_TYPES,
    latest,
    recheck_problems,
    window_of,
)
from domain.protocol import Protocol
from domain.state import RenalOverride, SubjectState

__all__ = ["RecheckRow", "RenalView", "ResultRow", "ResultsView", "WeightView", "results_view"]

RecheckStatus = Literal["fresh", "stale", "missing", "unacceptable", "not_required"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class ResultRow(_Frozen):
    kind: str
    collected_on: date
    shown: str


class RecheckRow(_Frozen):
    what: str
    label: str
    within_days: int
    window_start: date
    window_end: date
    status: RecheckStatus
    # The result the check reads (inside the window), or the last one when stale.
    result: str | None
    message: str | None


class RenalView(_Frozen):
    drug: str
    # "plan": what the recorded plan used; "current": what planning would use now.
    basis: Literal["plan", "current"]
    assessment: str
    factor: float | None
    rule: str
    override: str | None


class WeightView(_Frozen):
    planning_kg: float
    planning_on: date | None
    latest_kg: float | None
    latest_on: date | None
    change_percent: float | None
    tolerance_percent: float
    confirmed: str | None


class ResultsView(_Frozen):
    results: tuple[ResultRow, ...]
    # The first lymphodepletion dose the re-check is counted back from, and whether it is the
    # plan's or "if it were today" (no plan yet).
    first_dose: date | None
    first_dose_planned: bool
    rechecks: tuple[RecheckRow, ...]
    renal: tuple[RenalView, ...]
    weight: WeightView | None


def _shown(m: Measurement) -> str:
    if isinstance(m, Creatinine):
        unit = "µmol/L" if m.unit == "umol/L" else m.unit
        return f"creatinine {m.value:g} {unit}"
    if isinstance(m, ReportedEgfr):
        return f"eGFR {m.value:g} mL/min/1.73 m² ({m.equation})"
    if isinstance(m, Weight):
        return f"weight {m.kg:g} kg"
    if isinstance(m, PregnancyTest):
        return f"pregnancy test {m.result} ({m.sample})"
    if isinstance(m, InfectionAssessment):
        active = m.active_infection_needing_systemic_treatment
        return "active infection needing systemic treatment" if active else "no active infection"
    assert isinstance(m, BloodCounts)
    anc = "" if m.anc_10e9_per_l is None else f", ANC {m.anc_10e9_per_l:g} ×10⁹/L"
    return f"Hb {m.hemoglobin_g_per_l:g} g/L, platelets {m.platelets_10e9_per_l:g} ×10⁹/L{anc}"


def _override_text(override: RenalOverride | None) -> str | None:
    if override is None:
        return None
    return f"#{override.seq}: ×{override.override.factor:g}, {override.override.justification}"


def _rechecks(s: SubjectState, p: Protocol, first_dose: date) -> tuple[RecheckRow, ...]:
    rules = p.pre_lymphodepletion
    if rules is None:
        return ()
    wocbp = s.sex == "female" and bool(s.childbearing_potential)
    problems = {
        problem.field: problem.message
        for problem in recheck_problems(rules, s.measurements, first_dose=first_dose, wocbp=wocbp)
    }
    rows = []
    for check in rules.rechecks:
        start, end = window_of(first_dose, check.within_days)
        types = RECHECK_TYPES[check.what]
        found = latest(s.measurements, types, (start, end))
        last = found or latest(s.measurements, types)
        status: RecheckStatus
        if check.applies_to == "wocbp" and not wocbp:
            status = "not_required"
        elif found is None:
            status = "missing" if last is None else "stale"
        elif check.what in problems:
            status = "unacceptable"
        else:
            status = "fresh"
        rows.append(
            RecheckRow(
                what=check.what,
                label=RECHECK_LABELS[check.what],
                within_days=check.within_days,
                window_start=start,
                window_end=end,
                status=status,
                result=None if last is None else f"{_shown(last)} on {last.collected_on}",
                message=problems.get(check.what) if status != "not_required" else None,
            )
        )
    return tuple(rows)


def _renal(s: SubjectState, p: Protocol, first_dose: date) -> tuple[RenalView, ...]:
    plan = s.ld_plan
    if plan is not None:
        if plan.renal is None:
            return ()
        override = next((o for o in s.renal_overrides if o.seq == plan.renal_override_seq), None)
        return (
            RenalView(
                drug=", ".join(d.drug for d in p.lymphodepletion.drugs if d.renal is not None)
                or "fludarabine",
                basis="plan",
                assessment=plan.renal.describe(),
                factor=plan.renal_factor,
                # Plans from before dated results recorded no rule, only whether they reduced.
                rule=plan.renal_rule
                or ("reduced by the typed-eGFR rule" if plan.renal_adjusted else "no adjustment"),
                override=_override_text(override),
            ),
        )
    rules = p.pre_lymphodepletion
    if rules is None or s.birth_date is None or s.sex is None:
        return ()
    check = rules.recheck("renal")
    window = None if check is None else window_of(first_dose, check.within_days)
    weight = latest(s.measurements, (Weight,))
    if not isinstance(weight, Weight):
        return ()
    views = []
    for drug in p.lymphodepletion.drugs:
        if drug.renal is None:
            continue
        assessment = renal_assessment(s, drug, weight.kg, window)
        if assessment is None:
            continue
        factor = drug.renal.factor(assessment.value)
        band = next((b for b in drug.renal.bands if b.contains(assessment.value)), None)
        override = next(
            (
                o
                for o in reversed(s.renal_overrides)
                if o.override.drug == drug.drug and o.override.assessment == assessment
            ),
            None,
        )
        threshold = drug.renal.do_not_give_below
        if factor is None and override is not None:
            # What planning will use: the PI's factor for exactly this result.
            factor, rule = override.override.factor, f"below {threshold:g}, by the PI's override"
        elif factor is None:
            rule = f"not to be given below {threshold:g} without a PI override"
        else:
            rule = band.describe() if band is not None else "outside every reduction band"
        views.append(
            RenalView(
                drug=drug.drug,
                basis="current",
                assessment=assessment.describe(),
                factor=factor,
                rule=f"{drug.renal.convention}: {rule}",
                override=_override_text(override),
            )
        )
    return tuple(views)


def _weight(s: SubjectState, p: Protocol) -> WeightView | None:
    rules, plan = p.pre_lymphodepletion, s.ld_plan
    if rules is None or plan is None:
        return None
    newest = latest(s.measurements, (Weight,))
    change = None
    if isinstance(newest, Weight):
        change = round(abs(newest.kg - plan.weight_kg) / plan.weight_kg * 100, 1)
    confirmed = s.infusion_weight_confirmation
    return WeightView(
        planning_kg=plan.weight_kg,
        planning_on=plan.weight_measured_on,
        latest_kg=newest.kg if isinstance(newest, Weight) else None,
        latest_on=newest.collected_on if newest is not None else None,
        change_percent=change,
        tolerance_percent=rules.infusion_weight_tolerance_percent,
        confirmed=None
        if confirmed is None
        else f"{confirmed.weight_kg:g} kg of {confirmed.measured_on} "
        f"({confirmed.change_percent:g} % from {confirmed.planning_weight_kg:g} kg)",
    )


def results_view(s: SubjectState, p: Protocol, today: date) -> ResultsView | None:
    """None when the protocol has no dated results and none are recorded."""
    if p.pre_lymphodepletion is None and not s.measurements:
        return None
    plan = s.ld_plan
    first_dose = (
        plan.infusion_date + timedelta(days=min(p.lymphodepletion.days))
        if plan is not None
        else today
    )
    results = tuple(
        ResultRow(kind=m.kind, collected_on=m.collected_on, shown=_shown(m))
        for m in sorted(s.measurements, key=lambda m: m.collected_on, reverse=True)
    )
    return ResultsView(
        results=results,
        first_dose=first_dose,
        first_dose_planned=plan is not None,
        rechecks=_rechecks(s, p, first_dose),
        renal=_renal(s, p, first_dose),
        weight=_weight(s, p),
    )
