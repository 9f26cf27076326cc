"""decide / apply for one subject: the only place where the protocol's rules are enforced (apply and
fold, folding sealed events into the state, live in ``domain/subject_apply.py``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from domain import commands as c
from domain import events as e
from domain.access import ALLOWED_PHASES, ALLOWED_ROLES
from domain.actors import Actor, Role
from domain.amendments import AMENDMENT_DECIDERS, require_consent
from domain.corrections import (
    decide_correction,
)
from domain.custody_rules import CUSTODY_DECIDERS, assign_coi, infusion_gate, legacy_allowed
from domain.dosing import DoseOutOfRange, ImplausibleValue, product_dose
from domain.eligibility import evaluate
from domain.errors import (
    MissingPrerequisite,
    NotFound,
    RoleNotAllowed,
    ValueOutOfRange,
    WrongPhase,
)
from domain.guards import CLOCK_SKEW, deviation, not_future
from domain.ltfu import LTFU_DECIDERS
from domain.lymphodepletion import (
    LD_DECIDERS,
    check_before_approval,
    infusion_weight,
    plan_lymphodepletion,
)
from domain.monitoring import (
    MONITORING_DECIDERS,
    after_decision,
    before_decision,
)
from domain.plausibility import check_plausible_dates
from domain.protocol import Protocol
from domain.safety_rules import SAFETY_DECIDERS, sae_due
from domain.schedule import visit_schedule
from domain.site_calendar import site_time
from domain.state import SubjectState
from domain.subject_apply import ChainMismatch, apply, fold
from domain.values import Phase, ScheduledVisit, VisitStatus
from domain.visit_completion import visit_completed

__all__ = ["ALLOWED_PHASES", "ALLOWED_ROLES", "ChainMismatch", "apply", "decide", "fold", "sae_due"]

# A recorded dose may differ from the plan by this fraction (pharmacy rounding, vial sizes).
_DOSE_TOLERANCE = 0.10


def decide(
    state: SubjectState,
    command: c.Command,
    actor: Actor,
    now: datetime,
    protocol: Protocol,
) -> list[e.NewEvent]:
    """Return the events a command produces, or raise a DomainError saying why not."""
    roles = ALLOWED_ROLES[command.type]
    if actor.role not in roles:
        if actor.role is Role.MONITOR:
            raise RoleNotAllowed(
                "monitors have read-only access to clinical data and cannot record it; "
                "they raise queries and verify source data"
            )
        allowed = ", ".join(sorted(r.value for r in roles))
        raise RoleNotAllowed(
            f"role {actor.role.value!r} may not {command.type.replace('_', ' ')}; "
            f"allowed: {allowed}"
        )
    if command.type == "register" and state.phase is not Phase.NEW:
        raise WrongPhase(f"subject {state.subject_id} is already registered", field="subject_id")
    if state.phase not in ALLOWED_PHASES[command.type]:
        raise WrongPhase(
            f"cannot {command.type.replace('_', ' ')} while the subject is "
            f"{state.phase.value.replace('_', ' ')}"
        )
    require_consent(state, command.type)
    if command.occurred_at > now + CLOCK_SKEW:
        raise ValueOutOfRange("occurred_at is in the future", field="occurred_at")
    check_plausible_dates(command, protocol)
    # Every "today" below is the site's calendar day, not the UTC one.
    now = site_time(now, protocol.calendar.timezone)
    before_decision(state, command)
    if type(command) in CUSTODY_DECIDERS:
        # Custody decisions look at who acts (the bedside check needs two different people).
        payloads = CUSTODY_DECIDERS[type(command)](state, command, actor, now, protocol)
    else:
        payloads = _DECIDERS[type(command)](state, command, now, protocol)
    payloads = after_decision(state, command, actor, payloads)
    return [
        e.NewEvent(payload=p, occurred_at=command.occurred_at, reason=command.reason)
        for p in payloads
    ]


def _register(
    s: SubjectState, cmd: c.RegisterSubject, now: datetime, p: Protocol
) -> list[e.EventPayload]:
    not_future(cmd.birth_date, now, "birth_date")
    return [
        e.SubjectRegistered(
            subject_id=cmd.subject_id,
            disease=cmd.disease,
            sex=cmd.sex,
            birth_date=cmd.birth_date,
            site_id=cmd.site_id,
        )
    ]


def _sign_consent(
    s: SubjectState, cmd: c.SignConsent, now: datetime, p: Protocol
) -> list[e.EventPayload]:
    not_future(cmd.signed_on, now, "signed_on")
    if cmd.consent_version != p.version:
        raise ValueOutOfRange(
            f"consent_version {cmd.consent_version!r} is not the current protocol "
            f"version {p.version!r}",
            field="consent_version",
        )
    return [
        e.ConsentSigned(
            consent_version=cmd.consent_version,
            signed_on=cmd.signed_on,
            childbearing_potential=cmd.childbearing_potential,
        )
    ]


def _withdraw(
    s: SubjectState, cmd: c.WithdrawConsent, now: datetime, p: Protocol
) -> list[e.EventPayload]:
    not_future(cmd.withdrawn_on, now, "withdrawn_on")
    return [
        e.ConsentWithdrawn(withdrawn_on=cmd.withdrawn_on),
        e.ParticipationEnded(outcome="withdrawn", ended_on=cmd.withdrawn_on),
    ]


def _record_screening(
    s: SubjectState, cmd: c.RecordScreening, now: datetime, p: Protocol
) -> list[e.EventPayload]:
    record = cmd.record
    not_future(record.screening_date, now, "record.screening_date")
    if s.consented_on is not None and record.screening_date < s.consented_on:
        raise ValueOutOfRange(
            "record.screening_date is before consent was signed; screening needs consent first",
            field="record.screening_date",
        )
    if record.disease != s.disease:
        raise ValueOutOfRange(
            f"record.disease {record.disease} differs from the registered disease {s.disease}",
            field="record.disease",
        )
    result = evaluate(record, p.eligibility)
    return [
        e.ScreeningRecorded(
            record=record.model_dump(mode="json"),
            eligible=result.eligible,
            criteria=result.summaries(),
        )
    ]


def _sign_eligibility(
    s: SubjectState, cmd: c.SignEligibility, now: datetime, p: Protocol
) -> list[e.EventPayload]:
    if s.screening_seq is None:
        raise MissingPrerequisite("no screening data has been recorded")
    signed = e.EligibilitySigned(decision=cmd.decision, screening_seq=s.screening_seq)
    if cmd.decision == "eligible":
        if not s.screening_eligible:
            raise MissingPrerequisite(
                "the screening data do not meet every criterion; record complete, "
                "qualifying screening data or sign not_eligible",
                field="decision",
            )
        return [signed]
    return [
        signed,
        e.ScreenFailed(cause="not_eligible", detail="the PI signed the subject not eligible"),
    ]


def _enroll(
    s: SubjectState, cmd: c.EnrollSubject, now: datetime, p: Protocol
) -> list[e.EventPayload]:
    codes = [level.code for level in p.dose_levels]
    if cmd.dose_level not in codes:
        raise ValueOutOfRange(f"dose_level must be one of {', '.join(codes)}", field="dose_level")
    if cmd.route not in p.routes.allowed:
        raise ValueOutOfRange(f"route must be one of {', '.join(p.routes.allowed)}", field="route")
    return [
        e.SubjectEnrolled(dose_level=cmd.dose_level, route=cmd.route),
        *assign_coi(s, cmd.occurred_at, p),
    ]


def _apheresis(
    s: SubjectState, cmd: c.RecordApheresis, now: datetime, p: Protocol
) -> list[e.EventPayload]:
    not_future(cmd.collected_on, now, "collected_on")
    legacy_allowed(s, p, "apheresis")
    return [e.ApheresisRecorded(collected_on=cmd.collected_on, volume_ml=cmd.volume_ml)]


def _release(
    s: SubjectState, cmd: c.RecordProductRelease, now: datetime, p: Protocol
) -> list[e.EventPayload]:
    not_future(cmd.released_on, now, "released_on")
    legacy_allowed(s, p, "product release")
    return [e.ProductReleased(lot=cmd.lot, released_on=cmd.released_on, total_tu=cmd.total_tu)]


def _manufacturing_failed(
    s: SubjectState, cmd: c.RecordManufacturingFailure, now: datetime, p: Protocol
) -> list[e.EventPayload]:
    not_future(cmd.failed_on, now, "failed_on")
    return [e.ManufacturingFailed(failed_on=cmd.failed_on, detail=cmd.detail)]


def _plan_ld(
    s: SubjectState, cmd: c.PlanLymphodepletion, now: datetime, p: Protocol
) -> list[e.EventPayload]:
    if s.ld_approved:
        raise WrongPhase("the lymphodepletion plan is already approved")
    first_day = min(p.lymphodepletion.days)
    if cmd.infusion_date + timedelta(days=first_day) < now.date():
        raise ValueOutOfRange(
            f"infusion_date leaves the first lymphodepletion day ({first_day}) in the past",
            field="infusion_date",
        )
    return [plan_lymphodepletion(s, cmd, p)]


def _approve_ld(
    s: SubjectState, cmd: c.ApproveLymphodepletion, now: datetime, p: Protocol
) -> list[e.EventPayload]:
    if s.ld_plan is None or s.ld_plan_seq is None:
        raise MissingPrerequisite("there is no lymphodepletion plan to approve")
    if s.ld_approved:
        raise WrongPhase("the lymphodepletion plan is already approved")
    check_before_approval(s, p)
    return [e.LymphodepletionApproved(plan_seq=s.ld_plan_seq)]


def _ld_dose(
    s: SubjectState, cmd: c.RecordLymphodepletionDose, now: datetime, p: Protocol
) -> list[e.EventPayload]:
    not_future(cmd.given_on, now, "given_on")
    assert s.ld_plan is not None  # approval (the phase) implies a plan
    planned = next((d for d in s.ld_plan.doses if (d.drug, d.day) == (cmd.drug, cmd.day)), None)
    if planned is None:
        options = ", ".join(f"{d.drug} day {d.day}" for d in s.ld_plan.doses)
        raise NotFound(
            f"no planned dose of {cmd.drug} on day {cmd.day}; planned: {options}", field="drug"
        )
    if any((d.drug, d.day) == (cmd.drug, cmd.day) for d in s.ld_doses):
        raise WrongPhase(f"the {cmd.drug} dose of day {cmd.day} is already recorded", field="day")
    low, high = planned.mg * (1 - _DOSE_TOLERANCE), planned.mg * (1 + _DOSE_TOLERANCE)
    if not low <= cmd.mg <= high:
        raise ValueOutOfRange(
            f"mg must be within ±{_DOSE_TOLERANCE:.0%} of the planned {planned.mg:g} mg "
            f"({low:g}–{high:g})",
            field="mg",
        )
    return [
        e.LymphodepletionDoseGiven(drug=cmd.drug, day=cmd.day, mg=cmd.mg, given_on=cmd.given_on)
    ]


def _infusion(
    s: SubjectState, cmd: c.RecordInfusion, now: datetime, p: Protocol
) -> list[e.EventPayload]:
    not_future(cmd.infused_on, now, "infused_on")
    assert s.ld_plan is not None and s.dose_level is not None and s.route is not None
    missing = [
        f"{d.drug} day {d.day}"
        for d in s.ld_plan.doses
        if not any((g.drug, g.day) == (d.drug, d.day) for g in s.ld_doses)
    ]
    if missing:
        raise MissingPrerequisite(
            "lymphodepletion is not complete; missing doses: " + ", ".join(missing)
        )
    last_dose = max(g.given_on for g in s.ld_doses)
    # The protocol's regimen fixes the gap (days -5..-3 by default); only the order is absolute.
    if cmd.infused_on < last_dose:
        raise ValueOutOfRange(
            "infused_on must not precede the last lymphodepletion dose", field="infused_on"
        )
    weight_kg = infusion_weight(s, cmd, p)
    handoff = infusion_gate(s, cmd, weight_kg, p)
    try:
        dose = product_dose(p.dose_level(s.dose_level), weight_kg, cmd.tu_per_kg)
    except DoseOutOfRange as exc:
        raise ValueOutOfRange(str(exc), field="tu_per_kg") from exc
    except ImplausibleValue as exc:
        raise ValueOutOfRange(str(exc), field=exc.field) from exc
    if s.product_total_tu is not None and dose.total_tu > s.product_total_tu:
        raise ValueOutOfRange(
            f"the dose needs {dose.total_tu:.3g} TU but the released lot holds "
            f"{s.product_total_tu:.3g} TU",
            field="tu_per_kg",
        )
    return [
        e.InfusionRecorded(
            infused_on=cmd.infused_on,
            dose_level=s.dose_level,
            route=s.route,
            weight_kg=weight_kg,
            tu_per_kg=dose.tu_per_kg,
            total_tu=dose.total_tu,
            schedule=visit_schedule(cmd.infused_on, p),
        ),
        *handoff,
    ]


def _planned_visit(s: SubjectState, code: str) -> ScheduledVisit:
    visit = s.visit(code)
    if visit is None:
        codes = ", ".join(v.code for v in s.visits)
        raise NotFound(f"no visit {code!r} in the schedule; visits: {codes}", field="code")
    if visit.status is not VisitStatus.PLANNED:
        raise WrongPhase(f"visit {code} is already {visit.status.value}", field="code")
    return visit


def _reschedule(
    s: SubjectState, cmd: c.RescheduleVisit, now: datetime, p: Protocol
) -> list[e.EventPayload]:
    visit = _planned_visit(s, cmd.code)
    if not visit.window_start <= cmd.target <= visit.window_end:
        raise ValueOutOfRange(
            f"target must lie in the visit window {visit.window_start}–{visit.window_end}",
            field="target",
        )
    return [e.VisitRescheduled(code=cmd.code, target=cmd.target)]


def _complete_visit(
    s: SubjectState, cmd: c.CompleteVisit, now: datetime, p: Protocol
) -> list[e.EventPayload]:
    not_future(cmd.completed_on, now, "completed_on")
    visit = _planned_visit(s, cmd.code)
    assert s.infusion_date is not None
    if cmd.completed_on < s.infusion_date:
        raise ValueOutOfRange("completed_on is before the infusion", field="completed_on")
    out: list[e.EventPayload] = [visit_completed(s, cmd, p)]
    if not visit.window_start <= cmd.completed_on <= visit.window_end:
        out.append(
            deviation(
                s,
                "visit_out_of_window",
                f"{visit.label} done on {cmd.completed_on}, outside its window "
                f"{visit.window_start}–{visit.window_end}",
            )
        )
    return out


def _miss_visit(
    s: SubjectState, cmd: c.MissVisit, now: datetime, p: Protocol
) -> list[e.EventPayload]:
    visit = _planned_visit(s, cmd.code)
    if now.date() <= visit.window_end:
        raise WrongPhase(f"the window of visit {cmd.code} is still open until {visit.window_end}")
    return [
        e.VisitMissed(code=cmd.code, window_end=visit.window_end),
        deviation(
            s,
            "missed_visit",
            f"{visit.label} not done in its window {visit.window_start}–{visit.window_end}",
        ),
    ]


def _open_window(
    s: SubjectState, cmd: c.OpenVisitWindow, now: datetime, p: Protocol
) -> list[e.EventPayload]:
    visit = _planned_visit(s, cmd.code)
    return [
        e.VisitWindowOpened(
            code=cmd.code, window_start=visit.window_start, window_end=visit.window_end
        )
    ]


def _expire_screening(
    s: SubjectState, cmd: c.ExpireScreening, now: datetime, p: Protocol
) -> list[e.EventPayload]:
    assert s.consented_on is not None
    deadline = s.consented_on + timedelta(days=p.protocol.screening_window_days)
    if now.date() < deadline:
        raise WrongPhase(f"the screening window is open until {deadline}")
    return [
        e.ScreenFailed(
            cause="window_expired",
            detail=f"screening not finished within {p.protocol.screening_window_days} days "
            f"of consent ({s.consented_on} to {deadline})",
        )
    ]


def _end(
    s: SubjectState, cmd: c.EndParticipation, now: datetime, p: Protocol
) -> list[e.EventPayload]:
    not_future(cmd.ended_on, now, "ended_on")
    if cmd.outcome == "completed" and not (
        s.phase in (Phase.FOLLOW_UP, Phase.LTFU) and s.all_visits_resolved
    ):
        raise MissingPrerequisite(
            "a subject completes the study only after every scheduled visit is done or missed",
            field="outcome",
        )
    if cmd.outcome == "withdrawn" and not cmd.reason:
        raise MissingPrerequisite("a withdrawal needs a reason", field="reason")
    return [e.ParticipationEnded(outcome=cmd.outcome, ended_on=cmd.ended_on)]


_DECIDERS: dict[type[Any], Callable[..., list[e.EventPayload]]] = {
    c.RegisterSubject: _register,
    c.SignConsent: _sign_consent,
    c.WithdrawConsent: _withdraw,
    c.RecordScreening: _record_screening,
    c.SignEligibility: _sign_eligibility,
    c.EnrollSubject: _enroll,
    c.RecordApheresis: _apheresis,
    c.RecordProductRelease: _release,
    c.RecordManufacturingFailure: _manufacturing_failed,
    c.PlanLymphodepletion: _plan_ld,
    c.ApproveLymphodepletion: _approve_ld,
    c.RecordLymphodepletionDose: _ld_dose,
    c.RecordInfusion: _infusion,
    c.RescheduleVisit: _reschedule,
    c.CompleteVisit: _complete_visit,
    c.MissVisit: _miss_visit,
    c.OpenVisitWindow: _open_window,
    c.ExpireScreening: _expire_screening,
    c.RecordCorrection: decide_correction,
    c.EndParticipation: _end,
    **SAFETY_DECIDERS,
    **LD_DECIDERS,
    **LTFU_DECIDERS,
    **AMENDMENT_DECIDERS,
    **MONITORING_DECIDERS,
}
