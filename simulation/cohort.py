"""A seeded synthetic cohort: who enters, what happens to them, and on which days.

Client-side code (never run inside a workflow), so ``random.Random`` is the right tool: one
seed reproduces the same cohort, the same failures and the same responses.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import get_args

from domain import commands as c
from domain.actors import Actor
from domain.dosing import lymphodepletion_plan, planned_doses
from domain.events import PlannedDose
from domain.measurements import (
    BloodCounts,
    InfectionAssessment,
    Measurement,
    PregnancyTest,
    ReportedEgfr,
    Weight,
)
from domain.protocol import Protocol
from domain.schedule import visit_schedule
from domain.values import Disease, Phase, Response, Route, Sex
from simulation.activity import visit_fields
from simulation.custody import CustodyPlan, plan_chain, plan_collection
from simulation.plan import Action, Scenario, SubjectPlan, WithdrawalPhase
from simulation.records import FAILURE_REASONS, screening_record
from simulation.safety import SafetyProfile, draw_profile, plan_safety, with_rare
from simulation.site import SITE_ZONE
from simulation.staff import COORDINATOR, INVESTIGATOR, PI

__all__ = ["CohortMix", "plan_cohort"]

_DISEASES: tuple[Disease, ...] = get_args(Disease)
# Lupus dominates CAR-T-for-autoimmunity series; myositis is the rarest referral here.
_DISEASE_WEIGHTS = (0.34, 0.16, 0.20, 0.12, 0.18)
_DOSE_LEVELS = ("DL1", "DL2", "DL3")
_DOSE_WEIGHTS = (0.40, 0.35, 0.25)
_ROUTES: tuple[Route, ...] = ("intravenous", "splenic_artery", "lymph_node")
_ROUTE_WEIGHTS = (0.60, 0.20, 0.20)
_RESPONSES: tuple[Response, ...] = ("CR", "PR", "SD", "PD")
# Deeper responses accumulate as B-cell reconstitution follows depletion.
_RESPONSE_WEIGHTS: dict[str, tuple[float, ...]] = {
    "D0": (0.02, 0.18, 0.70, 0.10),
    "M1": (0.10, 0.45, 0.35, 0.10),
    "M2": (0.20, 0.45, 0.27, 0.08),
    "M3": (0.30, 0.42, 0.22, 0.06),
    "M6": (0.42, 0.36, 0.17, 0.05),
    "M12": (0.55, 0.28, 0.12, 0.05),
}
_WITHDRAWAL_PHASES: tuple[WithdrawalPhase, ...] = get_args(WithdrawalPhase)
_SAFETY_COMMANDS = (
    c.RecordAdverseEvent,
    c.UpdateAdverseEvent,
    c.ResolveAdverseEvent,
    c.ReportSae,
    c.RecordDailyMonitoring,
)
# Staff record the day's work in the morning clinic, in the site's time zone.
_CLINIC_TIME = time(9, 0, tzinfo=SITE_ZONE)


@dataclass(frozen=True, slots=True)
class CohortMix:
    """Target fractions of the cohort; small cohorts still get at least one of each."""

    screen_failure: float = 0.17
    screening_expires: float = 0.03
    withdraws: float = 0.08
    manufacturing_failure: float = 0.03
    missed_visit: float = 0.10
    recruitment_days: int = 120


def _at(day: date) -> datetime:
    return datetime.combine(day, _CLINIC_TIME)


@dataclass
class _Builder:
    subject_id: str
    steps: list[tuple[Action, Phase]] = field(default_factory=list)

    def add(self, day: date, actor: Actor, command: c.Command, phase: Phase) -> None:
        self.add_at(_at(day), actor, command, phase)

    def add_at(self, at: datetime, actor: Actor, command: c.Command, phase: Phase) -> None:
        self.steps.append((Action(at, self.subject_id, actor, command), phase))


def _scenarios(n: int, rng: random.Random, mix: CohortMix) -> list[Scenario]:
    def quota(fraction: float, minimum: int) -> int:
        return max(minimum, round(n * fraction))

    small = 1 if n >= 8 else 0
    quotas: list[tuple[Scenario, int]] = [
        ("screen_failure", quota(mix.screen_failure, small)),
        ("screening_expires", quota(mix.screening_expires, small)),
        ("withdraws", quota(mix.withdraws, small)),
        ("manufacturing_failure", quota(mix.manufacturing_failure, 0)),
    ]
    chosen: list[Scenario] = [scenario for scenario, count in quotas for _ in range(count)][:n]
    chosen += ["completes"] * (n - len(chosen))
    rng.shuffle(chosen)
    return chosen


def _diseases(n: int, rng: random.Random) -> list[Disease]:
    # Every disease appears once before the weighted draw fills the rest.
    chosen = list(_DISEASES[:n]) + rng.choices(_DISEASES, _DISEASE_WEIGHTS, k=max(0, n - 5))
    rng.shuffle(chosen)
    return chosen


def _tu_per_kg(protocol: Protocol, dose_level: str, rng: random.Random) -> float:
    level = protocol.dose_level(dose_level)
    fraction = rng.choice((0.0, 0.25, 0.5, 0.75, 1.0))
    return level.min_tu_per_kg + fraction * (level.max_tu_per_kg - level.min_tu_per_kg)


def _plan_lymphodepletion(
    b: _Builder,
    day: date,
    infusion: date,
    weight: float,
    height: float,
    egfr: float,
    wocbp: bool,
    protocol: Protocol,
) -> tuple[PlannedDose, ...]:
    """Plan and approval, after the re-checks the protocol asks for; the doses to give."""
    if protocol.pre_lymphodepletion is None:
        plan = c.PlanLymphodepletion(
            occurred_at=_at(day),
            infusion_date=infusion,
            weight_kg=weight,
            height_cm=height,
            egfr=egfr,
        )
        doses = lymphodepletion_plan(weight, height, egfr, infusion, protocol.lymphodepletion).doses
    else:
        results: list[Measurement] = [
            ReportedEgfr(collected_on=day, value=egfr, equation="CKD-EPI 2021"),
            Weight(collected_on=day, kg=weight),
            InfectionAssessment(
                collected_on=day, active_infection_needing_systemic_treatment=False
            ),
            BloodCounts(collected_on=day, hemoglobin_g_per_l=118, platelets_10e9_per_l=190),
        ]
        if wocbp:
            results.append(PregnancyTest(collected_on=day, sample="urine", result="negative"))
        for result in results:
            b.add(
                day,
                COORDINATOR,
                c.RecordMeasurement(occurred_at=_at(day), measurement=result),
                Phase.AWAITING_PRODUCT,
            )
        plan = c.PlanLymphodepletion(occurred_at=_at(day), infusion_date=infusion, height_cm=height)
        # Screening eGFRs are drawn from 45 up, never below a do-not-give threshold.
        factors = {
            drug.drug: drug.renal.factor(egfr) or 0.0
            for drug in protocol.lymphodepletion.drugs
            if drug.renal is not None
        }
        doses = planned_doses(weight, height, infusion, protocol.lymphodepletion, factors).doses
    b.add(day, INVESTIGATOR, plan, Phase.AWAITING_PRODUCT)
    b.add(day, PI, c.ApproveLymphodepletion(occurred_at=_at(day)), Phase.LYMPHODEPLETION)
    return doses


def _plan_subject(
    subject_id: str,
    disease: Disease,
    scenario: Scenario,
    start: date,
    protocol: Protocol,
    mix: CohortMix,
    rng: random.Random,
    safety: tuple[SafetyProfile, random.Random],
    custody: CustodyPlan | None = None,
) -> SubjectPlan:
    b = _Builder(subject_id)
    # The chain of custody draws from its own generator, so the rest of the cohort stays as
    # the same seed drew it before the chain existed.
    crng = random.Random(f"custody:{subject_id}")
    tracked = protocol.custody is not None
    custody = custody or CustodyPlan()
    sex: Sex = "female" if rng.random() < 0.78 else "male"
    age_days = rng.randint(19 * 366, 64 * 365)
    birth = start - timedelta(days=age_days)
    childbearing = age_days < 50 * 365 and (sex == "male" or rng.random() < 0.9)

    day = start
    b.add(
        day,
        COORDINATOR,
        c.RegisterSubject(
            occurred_at=_at(day), subject_id=subject_id, disease=disease, sex=sex, birth_date=birth
        ),
        Phase.REGISTERED,
    )
    b.add(
        day,
        COORDINATOR,
        c.SignConsent(
            occurred_at=_at(day),
            consent_version=protocol.version,
            signed_on=day,
            childbearing_potential=childbearing,
        ),
        Phase.CONSENTED,
    )
    consented = day
    day += timedelta(days=rng.randint(1, 4))
    failure = None
    if scenario == "screen_failure":
        failure = rng.choice(FAILURE_REASONS)
    elif scenario == "screening_expires":
        failure = "incomplete"
    record = screening_record(
        rng,
        disease=disease,
        sex=sex,
        birth_date=birth,
        childbearing_potential=childbearing,
        screening_date=day,
        failure=failure,
    )
    b.add(
        day,
        COORDINATOR,
        c.RecordScreening(occurred_at=_at(day), record=record),
        Phase.SCREENING,
    )
    if scenario == "screening_expires":
        # Nobody signs; the workflow's screening-window timer ends it.
        expiry = consented + timedelta(days=protocol.protocol.screening_window_days + 1)
        return _finish(b, disease, scenario, Phase.SCREEN_FAILED, _at(expiry), failure=failure)
    day += timedelta(days=rng.randint(1, 3))
    if scenario == "screen_failure":
        b.add(
            day,
            PI,
            c.SignEligibility(occurred_at=_at(day), decision="not_eligible"),
            Phase.SCREEN_FAILED,
        )
        return _finish(b, disease, scenario, Phase.SCREEN_FAILED, _at(day), failure=failure)
    b.add(day, PI, c.SignEligibility(occurred_at=_at(day), decision="eligible"), Phase.ELIGIBLE)

    dose_level = rng.choices(_DOSE_LEVELS, _DOSE_WEIGHTS)[0]
    route = rng.choices(_ROUTES, _ROUTE_WEIGHTS)[0]
    day += timedelta(days=rng.randint(1, 2))
    b.add(
        day,
        INVESTIGATOR,
        c.EnrollSubject(occurred_at=_at(day), dose_level=dose_level, route=route),
        Phase.ENROLLED,
    )
    enrolled_on = day
    day += timedelta(days=rng.randint(2, 6))
    number = 1
    if tracked:
        started = plan_collection(
            b.add_at, subject_id, enrolled_on, _at(day), number, protocol, crng,
            excursion=custody.excursion,
        )  # fmt: skip
        if custody.excursion:
            refused = started + timedelta(hours=2)
            b.add_at(
                refused,
                COORDINATOR,
                c.RecordManufacturingFailure(
                    occurred_at=refused,
                    failed_on=refused.date(),
                    detail="fresh unit quarantined after a shipper temperature excursion",
                ),
                Phase.ENROLLED,
            )
            day = refused.date() + timedelta(days=3)
            number += 1
            started = plan_collection(
                b.add_at, subject_id, enrolled_on, _at(day), number, protocol, crng
            )
    else:
        _apheresis(b, day, rng)
    weight = round(rng.uniform(45, 95), 1)
    height = float(rng.randint(150, 185))
    tu_per_kg = _tu_per_kg(protocol, dose_level, rng)
    if scenario == "manufacturing_failure":
        day += timedelta(days=rng.randint(10, 18))
        b.add(
            day,
            COORDINATOR,
            c.RecordManufacturingFailure(
                occurred_at=_at(day),
                failed_on=day,
                detail="transduction efficiency below release specification",
            ),
            Phase.ENROLLED,
        )
        day += timedelta(days=rng.randint(3, 7))
        if tracked:
            number += 1
            started = plan_collection(
                b.add_at, subject_id, enrolled_on, _at(day), number, protocol, crng
            )
        else:
            _apheresis(b, day, rng)
    day += timedelta(days=rng.randint(12, 20))
    release_day = day
    total_tu = round(tu_per_kg * weight * rng.uniform(1.2, 2.0), -3)
    if not tracked:
        b.add(
            day,
            COORDINATOR,
            c.RecordProductRelease(
                occurred_at=_at(day),
                lot=f"JY231-{subject_id}-{len(b.steps)}",
                released_on=day,
                total_tu=total_tu,
            ),
            Phase.AWAITING_PRODUCT,
        )
    day += timedelta(days=rng.randint(1, 3))
    infusion = day + timedelta(days=7)
    if tracked:
        plan_chain(
            b.add_at, subject_id, enrolled_on, started, release_day, infusion, total_tu,
            weight, tu_per_kg, protocol, apheresis_number=number,
            out_of_spec=custody.out_of_spec, clinic=_at,
        )  # fmt: skip
    egfr = record.egfr.value if record.egfr is not None else 90.0
    wocbp = sex == "female" and childbearing
    doses = _plan_lymphodepletion(b, day, infusion, weight, height, egfr, wocbp, protocol)
    for dose in doses:
        b.add(
            dose.on,
            COORDINATOR,
            c.RecordLymphodepletionDose(
                occurred_at=_at(dose.on), drug=dose.drug, day=dose.day, mg=dose.mg, given_on=dose.on
            ),
            Phase.LYMPHODEPLETION,
        )
    dated = protocol.pre_lymphodepletion is not None
    if dated:
        b.add(
            infusion,
            COORDINATOR,
            c.RecordMeasurement(
                occurred_at=_at(infusion), measurement=Weight(collected_on=infusion, kg=weight)
            ),
            Phase.LYMPHODEPLETION,
        )
    b.add(
        infusion,
        INVESTIGATOR,
        c.RecordInfusion(
            occurred_at=_at(infusion),
            infused_on=infusion,
            weight_kg=None if dated else weight,
            tu_per_kg=tu_per_kg,
        ),
        Phase.INFUSED,
    )
    schedule = visit_schedule(infusion, protocol)
    skipped: list[str] = []
    for visit in schedule:
        # Day 0 is done at the bedside right after the infusion; it is never missed.
        if visit.code != "D0" and rng.random() < mix.missed_visit:
            skipped.append(visit.code)
            continue
        weights = _RESPONSE_WEIGHTS.get(visit.code, _RESPONSE_WEIGHTS["M12"])
        # Drawn at Day 0 too (and not recorded there, the baseline) so seeded cohorts keep
        # the random stream they had.
        response = rng.choices(_RESPONSES, weights)[0]
        b.add(
            visit.target,
            COORDINATOR,
            c.CompleteVisit.model_validate(
                {
                    "occurred_at": _at(visit.target),
                    "code": visit.code,
                    "completed_on": visit.target,
                    **visit_fields(protocol, record, visit.code, response),
                }
            ),
            Phase.FOLLOW_UP,
        )
    profile, safety_rng = safety
    course = plan_safety(
        subject_id, infusion, profile, protocol.safety.daily_monitoring_days, safety_rng
    )
    for action in course.actions:
        b.steps.append((action, Phase.FOLLOW_UP))
    # Stable, so commands due at one moment keep the order they must be decided in.
    b.steps.sort(key=lambda step: step[0].at)
    settles = _at(schedule[-1].window_end + timedelta(days=2))
    plan = _finish(
        b,
        disease,
        scenario,
        Phase.COMPLETED,
        settles,
        dose_level=dose_level,
        route=route,
        skipped=tuple(skipped),
    )
    plan = replace(
        plan, missed_monitoring_days=course.missed_days, overdue_saes=course.overdue_ae_ids
    )
    if scenario == "withdraws":
        closes = {v.code: _midnight_after(v.window_end) for v in schedule}
        return _withdraw(plan, b, rng, closes, infusion)
    return plan


def _midnight_after(day: date) -> datetime:
    """When the workflow's timer marks a visit missed: the first instant after its window."""
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=SITE_ZONE)


def _apheresis(b: _Builder, day: date, rng: random.Random) -> None:
    b.add(
        day,
        COORDINATOR,
        c.RecordApheresis(
            occurred_at=_at(day), collected_on=day, volume_ml=float(rng.randint(120, 300))
        ),
        Phase.APHERESIS,
    )


def _finish(
    b: _Builder,
    disease: Disease,
    scenario: Scenario,
    expected: Phase,
    settles_by: datetime,
    *,
    failure: str | None = None,
    dose_level: str | None = None,
    route: str | None = None,
    skipped: tuple[str, ...] = (),
) -> SubjectPlan:
    return SubjectPlan(
        subject_id=b.subject_id,
        disease=disease,
        scenario=scenario,
        actions=tuple(action for action, _ in b.steps),
        expected_phase=expected,
        settles_by=settles_by,
        dose_level=dose_level,
        route=route,
        failure=failure,
        skipped_visits=skipped,
    )


def _withdraw(
    plan: SubjectPlan,
    b: _Builder,
    rng: random.Random,
    closes: dict[str, datetime],
    infusion: date,
) -> SubjectPlan:
    """Cut the full plan after a step in a random phase and withdraw consent there."""
    phase_name = rng.choice(_WITHDRAWAL_PHASES)
    # Cut at protocol milestones only, so the withdrawal phases keep their spread although
    # daily monitoring fills the first weeks of follow-up with steps.
    candidates = [
        i
        for i, (action, phase) in enumerate(b.steps)
        if phase.value == phase_name and not isinstance(action.command, _SAFETY_COMMANDS)
    ]
    cut = rng.choice(candidates)
    final_visit = next(reversed(closes), None)
    if _is_visit(b.steps[cut][0].command, final_visit) and candidates.index(cut) > 0:
        # The final visit completes the subject, so nobody can withdraw after it: cut at the
        # milestone before (after the draw, so the seed's random stream stays as it was).
        cut = candidates[candidates.index(cut) - 1]
    last = b.steps[cut][0]
    following = b.steps[cut + 1][0].at if cut + 1 < len(b.steps) else None
    # Withdraw the next day when there is room before the next step; else on the same visit.
    when = last.at + timedelta(days=1)
    if phase_name == "infused" or (following is not None and when >= following):
        when = last.at
    if phase_name == "follow_up":
        # Between visits windows may close unattended; withdraw before the next one is due.
        when = last.at + timedelta(days=2)
    withdrawal = Action(
        when,
        b.subject_id,
        COORDINATOR,
        c.WithdrawConsent(
            occurred_at=when,
            withdrawn_on=when.date(),
            reason=rng.choice(
                (
                    "subject withdrew consent for personal reasons",
                    "subject relocated and cannot attend the site",
                    "subject prefers standard-of-care treatment",
                )
            ),
        ),
    )
    later = [action for action, _ in b.steps[cut + 1 :]]
    # Safety records up to the withdrawal still happen; AEs cannot change once it is recorded.
    kept = [action for action, _ in b.steps[: cut + 1]] + [
        a
        for a in later
        if a.at < when
        and isinstance(a.command, _SAFETY_COMMANDS)
        and not isinstance(a.command, c.ReportSae)
    ]
    serious = _serious_ae_ids(b.subject_id, kept)
    # An SAE must still be reported after participation ends, or the workflow waits for it.
    reports = [
        a for a in later if isinstance(a.command, c.ReportSae) and a.command.ae_id in serious
    ]
    actions = tuple(sorted([*kept, withdrawal, *reports], key=lambda a: a.at))
    # Only visits whose window closed before the withdrawal are still missed by the workflow.
    skipped = tuple(code for code in plan.skipped_visits if closes.get(code, when) < when)
    # A monitoring day is marked missed at the midnight that ends it, while still active.
    missed_days = tuple(
        d
        for d in plan.missed_monitoring_days
        if _midnight_after(infusion + timedelta(days=d)) < when
    )
    return SubjectPlan(
        subject_id=plan.subject_id,
        disease=plan.disease,
        scenario="withdraws",
        actions=actions,
        expected_phase=Phase.WITHDRAWN,
        settles_by=max([when, *(a.at for a in reports)]),
        dose_level=plan.dose_level,
        route=plan.route,
        withdrawal_phase=phase_name,
        skipped_visits=skipped,
        missed_monitoring_days=missed_days,
        overdue_saes=tuple(ae_id for ae_id in plan.overdue_saes if ae_id in serious),
    )


def _is_visit(command: c.Command, code: str | None) -> bool:
    return isinstance(command, c.CompleteVisit) and command.code == code


def _serious_ae_ids(subject_id: str, actions: Sequence[Action]) -> set[str]:
    """The AEs the sent commands make serious, with the ids the domain will give them."""
    serious: set[str] = set()
    recorded = 0
    for action in actions:
        command = action.command
        if isinstance(command, c.RecordAdverseEvent):
            recorded += 1
            if command.seriousness:
                serious.add(f"{subject_id}-AE-{recorded}")
        elif isinstance(command, c.UpdateAdverseEvent) and command.seriousness:
            serious.add(command.ae_id)
    return serious


def plan_cohort(
    n: int,
    *,
    seed: int,
    first_day: date,
    protocol: Protocol,
    prefix: str = "SIM",
    mix: CohortMix | None = None,
) -> list[SubjectPlan]:
    """``n`` subjects recruited over the mix's recruitment period from ``first_day``."""
    mix = mix or CohortMix()
    rng = random.Random(seed)
    scenarios = _scenarios(n, rng, mix)
    diseases = _diseases(n, rng)
    safety = _safety_profiles(n, seed, scenarios, protocol)
    custody = _custody_plans(scenarios)
    plans = [
        _plan_subject(
            f"{prefix}-{i + 1:04d}",
            disease,
            scenario,
            first_day + timedelta(days=rng.randint(0, mix.recruitment_days)),
            protocol,
            mix,
            rng,
            safety[i],
            custody[i],
        )
        for i, (disease, scenario) in enumerate(zip(diseases, scenarios, strict=True))
    ]
    return _ensure_a_missed_visit(plans)


def _custody_plans(scenarios: Sequence[Scenario]) -> list[CustodyPlan]:
    """One out-of-spec lot (the PI decides to use it) and a shipper excursion in every
    eighth completer (the fresh unit is quarantined and collected again)."""
    plans = [CustodyPlan() for _ in scenarios]
    completers = [i for i, s in enumerate(scenarios) if s == "completes"]
    if completers:
        plans[completers[0]] = CustodyPlan(out_of_spec=True)
    for i in completers[1::8]:
        plans[i] = CustodyPlan(excursion=True)
    return plans


def _safety_profiles(
    n: int, seed: int, scenarios: Sequence[Scenario], protocol: Protocol
) -> list[tuple[SafetyProfile, random.Random]]:
    """One safety course per subject, each from its own generator.

    Separate generators leave the rest of the cohort exactly as the same seed drew it before
    safety existed, and let one subject's course change without shifting everybody else's.
    """
    days = protocol.safety.daily_monitoring_days
    rngs = [random.Random(f"safety:{seed}:{i}") for i in range(n)]
    profiles = [draw_profile(r, days) for r in rngs]
    completers = [i for i, s in enumerate(scenarios) if s == "completes"]
    covered = (
        any(a.kind == "CRS" for i in completers for a in profiles[i].adverse_events),
        any(
            a.grade >= 3 and a.report_after_hours > 24
            for i in completers
            for a in profiles[i].adverse_events
        ),
        any(profiles[i].missed_days for i in completers),
    )
    if completers and not all(covered):
        # A small cohort may draw none of these; one completer carries them all.
        profiles[completers[0]] = with_rare(profiles[completers[0]], rngs[completers[0]])
    return list(zip(profiles, rngs, strict=True))


def _ensure_a_missed_visit(plans: Sequence[SubjectPlan]) -> list[SubjectPlan]:
    """A small cohort may draw no missed visit at all; skip one so the path is exercised."""
    if any(p.skipped_visits for p in plans):
        return list(plans)
    for index, plan in enumerate(plans):
        if plan.expected_phase is not Phase.COMPLETED:
            continue
        target = next(
            (
                a
                for a in plan.actions
                if isinstance(a.command, c.CompleteVisit) and a.command.code == "M1"
            ),
            None,
        )
        if target is None:
            continue
        changed = replace(
            plan,
            actions=tuple(a for a in plan.actions if a is not target),
            skipped_visits=("M1",),
        )
        return [*plans[:index], changed, *plans[index + 1 :]]
    return list(plans)
