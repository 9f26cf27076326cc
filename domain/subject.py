"""decide / apply for one subject: the only place where the protocol's rules are enforced."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import TypeAdapter, ValidationError

from domain import commands as c
from domain import events as e
from domain.actors import Actor, Role
from domain.dosing import DoseOutOfRange, lymphodepletion_plan, product_dose
from domain.eligibility import evaluate
from domain.errors import (
    DomainError,
    MissingPrerequisite,
    NotFound,
    RoleNotAllowed,
    ValueOutOfRange,
    WrongPhase,
)
from domain.grading import crs_grade, icans_grade
from domain.protocol import Protocol
from domain.safety import dlt_rule
from domain.schedule import visit_schedule
from domain.state import AdverseEvent, Correction, Deviation, SubjectState
from domain.values import Phase, Response, ScheduledVisit, Sex, VisitStatus

__all__ = ["ALLOWED_PHASES", "ALLOWED_ROLES", "ChainMismatch", "apply", "decide", "fold", "sae_due"]

_STAFF = frozenset({Role.COORDINATOR, Role.INVESTIGATOR, Role.PI})
_CLINICIANS = frozenset({Role.INVESTIGATOR, Role.PI})
_PI = frozenset({Role.PI})
_SYSTEM = frozenset({Role.SYSTEM})

ALLOWED_ROLES: dict[str, frozenset[Role]] = {
    "register": _STAFF,
    "sign_consent": _STAFF,
    "withdraw_consent": _STAFF,
    "record_screening": _STAFF,
    "sign_eligibility": _PI,
    "enroll": _CLINICIANS,
    "record_apheresis": _STAFF,
    "record_product_release": _STAFF,
    "record_manufacturing_failure": _STAFF,
    "plan_lymphodepletion": _CLINICIANS,
    "approve_lymphodepletion": _PI,
    "record_lymphodepletion_dose": _STAFF,
    "record_infusion": _CLINICIANS,
    "reschedule_visit": _STAFF,
    "complete_visit": _STAFF,
    "miss_visit": _SYSTEM,
    "open_visit_window": _SYSTEM,
    "expire_screening": _SYSTEM,
    "record_correction": _STAFF,
    # The system ends participation as "completed" once the last visit is resolved.
    "end_participation": _STAFF | _SYSTEM,
    "record_adverse_event": _STAFF,
    "update_adverse_event": _STAFF,
    "resolve_adverse_event": _STAFF,
    "report_sae": _STAFF,
    "mark_sae_overdue": _SYSTEM,
    "record_daily_monitoring": _STAFF,
    "mark_monitoring_missed": _SYSTEM,
    "close_dlt_window": _SYSTEM,
    # Only the study workflow grants dose-level slots.
    "grant_study_slot": _SYSTEM,
}

_ACTIVE = frozenset(p for p in Phase if p.is_active)
_POST_INFUSION = frozenset({Phase.INFUSED, Phase.FOLLOW_UP})
_AE_PHASES = _ACTIVE - {Phase.REGISTERED}
_EVER = frozenset(p for p in Phase if p is not Phase.NEW)

ALLOWED_PHASES: dict[str, frozenset[Phase]] = {
    "register": frozenset({Phase.NEW}),
    "sign_consent": frozenset({Phase.REGISTERED}),
    "withdraw_consent": _ACTIVE - {Phase.REGISTERED},
    "record_screening": frozenset({Phase.CONSENTED, Phase.SCREENING}),
    "sign_eligibility": frozenset({Phase.SCREENING}),
    "enroll": frozenset({Phase.ELIGIBLE}),
    "record_apheresis": frozenset({Phase.ENROLLED}),
    "record_product_release": frozenset({Phase.APHERESIS}),
    "record_manufacturing_failure": frozenset({Phase.APHERESIS}),
    "plan_lymphodepletion": frozenset({Phase.AWAITING_PRODUCT}),
    "approve_lymphodepletion": frozenset({Phase.AWAITING_PRODUCT}),
    "record_lymphodepletion_dose": frozenset({Phase.LYMPHODEPLETION}),
    "record_infusion": frozenset({Phase.LYMPHODEPLETION}),
    "reschedule_visit": _POST_INFUSION,
    "complete_visit": _POST_INFUSION,
    "miss_visit": _POST_INFUSION,
    "open_visit_window": _POST_INFUSION,
    "expire_screening": frozenset({Phase.CONSENTED, Phase.SCREENING, Phase.ELIGIBLE}),
    "record_correction": frozenset(p for p in Phase if p is not Phase.NEW),
    "end_participation": _ACTIVE,
    # AEs are collected from consent onwards.
    "record_adverse_event": _AE_PHASES,
    "update_adverse_event": _AE_PHASES,
    "resolve_adverse_event": _AE_PHASES,
    # An SAE (a death above all) must still be reported after participation has ended.
    "report_sae": _EVER,
    "mark_sae_overdue": _EVER,
    "record_daily_monitoring": _POST_INFUSION,
    "mark_monitoring_missed": _POST_INFUSION,
    # Closed at its end, or at once when participation ends inside the window.
    "close_dlt_window": _POST_INFUSION | frozenset(p for p in Phase if p.is_terminal),
    "grant_study_slot": frozenset({Phase.ENROLLED, Phase.APHERESIS, Phase.AWAITING_PRODUCT}),
}

# A recorded dose may differ from the plan by this fraction (pharmacy rounding, vial sizes).
_DOSE_TOLERANCE = 0.10
# Clocks at the site and on the server disagree a little; beyond this a time is "in the future".
_CLOCK_SKEW = timedelta(minutes=5)


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
            raise RoleNotAllowed("monitors have read-only access and cannot record anything")
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
    if command.occurred_at > now + _CLOCK_SKEW:
        raise ValueOutOfRange("occurred_at is in the future", field="occurred_at")
    handler = _DECIDERS[type(command)]
    payloads = handler(state, command, now, protocol)
    return [
        e.NewEvent(payload=p, occurred_at=command.occurred_at, reason=command.reason)
        for p in payloads
    ]


def _not_future(day: date, now: datetime, field: str) -> None:
    if day > (now + _CLOCK_SKEW).date():
        raise ValueOutOfRange(f"{field} {day.isoformat()} is in the future", field=field)


def _register(
    s: SubjectState, cmd: c.RegisterSubject, now: datetime, p: Protocol
) -> list[e.EventPayload]:
    _not_future(cmd.birth_date, now, "birth_date")
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
    _not_future(cmd.signed_on, now, "signed_on")
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
    _not_future(cmd.withdrawn_on, now, "withdrawn_on")
    return [
        e.ConsentWithdrawn(withdrawn_on=cmd.withdrawn_on),
        e.ParticipationEnded(outcome="withdrawn", ended_on=cmd.withdrawn_on),
    ]


def _record_screening(
    s: SubjectState, cmd: c.RecordScreening, now: datetime, p: Protocol
) -> list[e.EventPayload]:
    record = cmd.record
    _not_future(record.screening_date, now, "record.screening_date")
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
    return [e.SubjectEnrolled(dose_level=cmd.dose_level, route=cmd.route)]


def _apheresis(
    s: SubjectState, cmd: c.RecordApheresis, now: datetime, p: Protocol
) -> list[e.EventPayload]:
    _not_future(cmd.collected_on, now, "collected_on")
    return [e.ApheresisRecorded(collected_on=cmd.collected_on, volume_ml=cmd.volume_ml)]


def _release(
    s: SubjectState, cmd: c.RecordProductRelease, now: datetime, p: Protocol
) -> list[e.EventPayload]:
    _not_future(cmd.released_on, now, "released_on")
    return [e.ProductReleased(lot=cmd.lot, released_on=cmd.released_on, total_tu=cmd.total_tu)]


def _manufacturing_failed(
    s: SubjectState, cmd: c.RecordManufacturingFailure, now: datetime, p: Protocol
) -> list[e.EventPayload]:
    _not_future(cmd.failed_on, now, "failed_on")
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
    try:
        plan = lymphodepletion_plan(
            cmd.weight_kg, cmd.height_cm, cmd.egfr, cmd.infusion_date, p.lymphodepletion
        )
    except ValueError as exc:
        raise ValueOutOfRange(
            str(exc), field=_field_in(str(exc), ("weight_kg", "height_cm", "egfr"))
        ) from exc
    renal = any(
        drug.renal_adjust_below_egfr is not None and cmd.egfr < drug.renal_adjust_below_egfr
        for drug in p.lymphodepletion.drugs
    )
    return [
        e.LymphodepletionPlanned(
            infusion_date=cmd.infusion_date,
            weight_kg=cmd.weight_kg,
            height_cm=cmd.height_cm,
            egfr=cmd.egfr,
            bsa_m2=plan.bsa_m2,
            renal_adjusted=renal,
            doses=tuple(
                e.PlannedDose(drug=d.drug, day=d.day, on=d.on, mg=d.mg) for d in plan.doses
            ),
        )
    ]


def _field_in(message: str, fields: Iterable[str]) -> str | None:
    return next((f for f in fields if f in message), None)


def _approve_ld(
    s: SubjectState, cmd: c.ApproveLymphodepletion, now: datetime, p: Protocol
) -> list[e.EventPayload]:
    if s.ld_plan is None or s.ld_plan_seq is None:
        raise MissingPrerequisite("there is no lymphodepletion plan to approve")
    if s.ld_approved:
        raise WrongPhase("the lymphodepletion plan is already approved")
    return [e.LymphodepletionApproved(plan_seq=s.ld_plan_seq)]


def _ld_dose(
    s: SubjectState, cmd: c.RecordLymphodepletionDose, now: datetime, p: Protocol
) -> list[e.EventPayload]:
    _not_future(cmd.given_on, now, "given_on")
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
    _not_future(cmd.infused_on, now, "infused_on")
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
    try:
        dose = product_dose(p.dose_level(s.dose_level), cmd.weight_kg, cmd.tu_per_kg)
    except DoseOutOfRange as exc:
        raise ValueOutOfRange(str(exc), field="tu_per_kg") from exc
    except ValueError as exc:
        raise ValueOutOfRange(str(exc), field="weight_kg") from exc
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
            weight_kg=cmd.weight_kg,
            tu_per_kg=dose.tu_per_kg,
            total_tu=dose.total_tu,
            schedule=visit_schedule(cmd.infused_on, p),
        )
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
    _not_future(cmd.completed_on, now, "completed_on")
    visit = _planned_visit(s, cmd.code)
    assert s.infusion_date is not None
    if cmd.completed_on < s.infusion_date:
        raise ValueOutOfRange("completed_on is before the infusion", field="completed_on")
    out: list[e.EventPayload] = [
        e.VisitCompleted(code=cmd.code, completed_on=cmd.completed_on, response=cmd.response)
    ]
    if not visit.window_start <= cmd.completed_on <= visit.window_end:
        out.append(
            _deviation(
                s,
                "visit_out_of_window",
                f"{visit.label} done on {cmd.completed_on}, outside its window "
                f"{visit.window_start}–{visit.window_end}",
            )
        )
    return out


def _deviation(s: SubjectState, kind: str, detail: str) -> e.DeviationOpened:
    number = len(s.deviations) + 1
    return e.DeviationOpened(deviation_id=f"{s.subject_id}-DEV-{number}", kind=kind, detail=detail)


def _miss_visit(
    s: SubjectState, cmd: c.MissVisit, now: datetime, p: Protocol
) -> list[e.EventPayload]:
    visit = _planned_visit(s, cmd.code)
    if now.date() <= visit.window_end:
        raise WrongPhase(f"the window of visit {cmd.code} is still open until {visit.window_end}")
    return [
        e.VisitMissed(code=cmd.code, window_end=visit.window_end),
        _deviation(
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
    _not_future(cmd.ended_on, now, "ended_on")
    if cmd.outcome == "completed" and not (s.phase is Phase.FOLLOW_UP and s.all_visits_resolved):
        raise MissingPrerequisite(
            "a subject completes the study only after every scheduled visit is done or missed",
            field="outcome",
        )
    if cmd.outcome == "withdrawn" and not cmd.reason:
        raise MissingPrerequisite("a withdrawal needs a reason", field="reason")
    return [e.ParticipationEnded(outcome=cmd.outcome, ended_on=cmd.ended_on)]


# Which recorded values a correction may supersede: event type -> field -> validator.
_CORRECTABLE: dict[str, dict[str, TypeAdapter[Any]]] = {
    "subject.registered": {"sex": TypeAdapter(Sex), "birth_date": TypeAdapter(date)},
    "apheresis.recorded": {"volume_ml": TypeAdapter(float)},
    "lymphodepletion.dose_given": {"mg": TypeAdapter(float)},
    "visit.completed": {"response": TypeAdapter(Response), "completed_on": TypeAdapter(date)},
}


def _current_value(s: SubjectState, ref: str, field: str) -> Any:
    kind, _, key = ref.partition(":")
    if kind == "subject.registered":
        return s.sex if field == "sex" else s.birth_date
    if kind == "apheresis.recorded":
        return s.apheresis_volume_ml
    if kind == "lymphodepletion.dose_given":
        drug, _, day = key.partition(":")
        return next(d.mg for d in s.ld_doses if (d.drug, str(d.day)) == (drug, day))
    visit = s.visit(key)
    assert visit is not None
    return visit.response if field == "response" else visit.completed_on


def _correction(
    s: SubjectState, cmd: c.RecordCorrection, now: datetime, p: Protocol
) -> list[e.EventPayload]:
    ref = s.correctable.get(cmd.target_seq)
    if ref is None:
        raise NotFound(
            f"event {cmd.target_seq} holds no correctable value; correctable events: "
            + (", ".join(f"{k} ({v})" for k, v in sorted(s.correctable.items())) or "none"),
            field="target_seq",
        )
    kind = ref.partition(":")[0]
    fields = _CORRECTABLE[kind]
    if cmd.field not in fields:
        raise ValueOutOfRange(
            f"field must be one of {', '.join(fields)} for a {kind} event", field="field"
        )
    try:
        new_value = fields[cmd.field].validate_python(cmd.new_value)
    except ValidationError as exc:
        raise ValueOutOfRange(
            f"new_value is not a valid {cmd.field}: {exc.errors()[0]['msg']}", field="new_value"
        ) from exc
    if isinstance(new_value, float) and new_value <= 0:
        raise ValueOutOfRange(f"new_value for {cmd.field} must be positive", field="new_value")
    old_value = _current_value(s, ref, cmd.field)
    if new_value == old_value:
        raise ValueOutOfRange("new_value equals the current value", field="new_value")
    dump = TypeAdapter(Any).dump_python
    return [
        e.CorrectionRecorded(
            target_seq=cmd.target_seq,
            field=cmd.field,
            old_value=dump(old_value, mode="json"),
            new_value=dump(new_value, mode="json"),
        )
    ]


# -- safety ---------------------------------------------------------------------------------------

_DEFAULT_TERMS = {"CRS": "Cytokine release syndrome", "ICANS": "ICANS"}


def _computed_grade(kind: str, grade: int | None, cmd: Any) -> int | None:
    if kind == "CRS" and cmd.icans is not None:
        raise ValueOutOfRange("icans components do not belong to a CRS event", field="icans")
    if kind == "ICANS" and cmd.crs is not None:
        raise ValueOutOfRange("crs components do not belong to an ICANS event", field="crs")
    if kind == "CRS" and cmd.crs is not None:
        value = crs_grade(cmd.crs)
        if value == 0:
            raise ValueOutOfRange(
                "the components do not meet CRS: fever ≥ 38.0 °C is required unless masked "
                "by antipyretic or anti-cytokine treatment",
                field="crs",
            )
        return value
    if kind == "ICANS" and cmd.icans is not None:
        value = icans_grade(cmd.icans)
        if value == 0:
            raise ValueOutOfRange("the components show no ICANS finding", field="icans")
        return value
    if (cmd.crs is not None or cmd.icans is not None) and kind == "general":
        raise ValueOutOfRange("crs/icans components belong to a CRS or ICANS event", field="kind")
    if kind != "general" and grade is not None:
        raise ValueOutOfRange(f"the grade of {kind} is computed from its components", field="grade")
    return grade


def _check_fatal(grade: int, outcome: str, seriousness: tuple[str, ...]) -> None:
    if (grade == 5) != (outcome == "fatal"):
        raise ValueOutOfRange("grade 5 and outcome 'fatal' go together", field="outcome")
    if grade == 5 and "death" not in seriousness:
        raise ValueOutOfRange("a grade 5 AE is serious by death", field="seriousness")


def _dlt_flag(s: SubjectState, ae: AdverseEvent, p: Protocol) -> e.DltFlagged | None:
    """Flag a DLT while the window is open for an AE whose onset lies inside it."""
    if s.infusion_date is None or s.dlt_outcome is not None or ae.dlt_rule is not None:
        return None
    window_end = s.infusion_date + timedelta(days=p.safety.dlt_window_days)
    if not s.infusion_date <= ae.onset_on <= window_end:
        return None
    rule = dlt_rule(
        p.safety.dlt,
        kind=ae.kind,
        grade=ae.grade,
        related_to_jy231=ae.related_to_jy231,
        haematologic=ae.haematologic,
    )
    return None if rule is None else e.DltFlagged(ae_id=ae.ae_id, rule=rule, grade=ae.grade)


def _consequences(
    s: SubjectState, ae: AdverseEvent, now: datetime, p: Protocol
) -> list[e.EventPayload]:
    out: list[e.EventPayload] = []
    flag = _dlt_flag(s, ae, p)
    if flag is not None:
        out.append(flag)
    if ae.grade == 5:
        # A fatal AE ends participation in the same decision.
        out.append(e.ParticipationEnded(outcome="died", ended_on=now.date()))
    return out


def _record_ae(
    s: SubjectState, cmd: c.RecordAdverseEvent, now: datetime, p: Protocol
) -> list[e.EventPayload]:
    _not_future(cmd.onset_on, now, "onset_on")
    if s.consented_on is not None and cmd.onset_on < s.consented_on:
        raise ValueOutOfRange(
            "onset_on is before consent; pre-consent conditions are medical history",
            field="onset_on",
        )
    grade = _computed_grade(cmd.kind, cmd.grade, cmd)
    assert grade is not None  # the command model requires one source of a grade
    _check_fatal(grade, cmd.outcome, cmd.seriousness)
    recorded = e.AdverseEventRecorded(
        ae_id=f"{s.subject_id}-AE-{len(s.adverse_events) + 1}",
        kind=cmd.kind,
        term=cmd.term or _DEFAULT_TERMS[cmd.kind],
        grade=grade,
        crs=cmd.crs,
        icans=cmd.icans,
        onset_on=cmd.onset_on,
        seriousness=tuple(dict.fromkeys(cmd.seriousness)),
        related_to_jy231=cmd.related_to_jy231,
        related_to_lymphodepletion=cmd.related_to_lymphodepletion,
        haematologic=cmd.haematologic,
        outcome=cmd.outcome,
        aware_at=cmd.occurred_at,
    )
    return [recorded, *_consequences(s, _ae_from(recorded), now, p)]


def _open_ae(s: SubjectState, ae_id: str) -> AdverseEvent:
    ae = s.adverse_event(ae_id)
    if ae is None:
        known = ", ".join(a.ae_id for a in s.adverse_events) or "none"
        raise NotFound(f"no adverse event {ae_id!r}; recorded: {known}", field="ae_id")
    if ae.resolved_on is not None or ae.outcome == "fatal":
        raise WrongPhase(f"adverse event {ae_id} is already closed", field="ae_id")
    return ae


def _update_ae(
    s: SubjectState, cmd: c.UpdateAdverseEvent, now: datetime, p: Protocol
) -> list[e.EventPayload]:
    ae = _open_ae(s, cmd.ae_id)
    grade = _computed_grade(ae.kind, cmd.grade, cmd) or ae.grade
    seriousness = ae.seriousness
    if cmd.seriousness is not None:
        if not set(ae.seriousness) <= set(cmd.seriousness):
            raise ValueOutOfRange(
                "seriousness criteria cannot be removed once recorded", field="seriousness"
            )
        seriousness = tuple(dict.fromkeys(cmd.seriousness))
    outcome = cmd.outcome or ae.outcome
    _check_fatal(grade, outcome, seriousness)
    updated = e.AdverseEventUpdated(
        ae_id=ae.ae_id,
        grade=grade,
        crs=cmd.crs or ae.crs,
        icans=cmd.icans or ae.icans,
        seriousness=seriousness,
        related_to_jy231=cmd.related_to_jy231 or ae.related_to_jy231,
        related_to_lymphodepletion=cmd.related_to_lymphodepletion or ae.related_to_lymphodepletion,
        outcome=outcome,
        became_serious_at=cmd.occurred_at if seriousness and not ae.serious else None,
    )
    return [updated, *_consequences(s, _ae_updated(ae, updated), now, p)]


def _resolve_ae(
    s: SubjectState, cmd: c.ResolveAdverseEvent, now: datetime, p: Protocol
) -> list[e.EventPayload]:
    ae = _open_ae(s, cmd.ae_id)
    _not_future(cmd.resolved_on, now, "resolved_on")
    if cmd.resolved_on < ae.onset_on:
        raise ValueOutOfRange("resolved_on is before the onset", field="resolved_on")
    return [
        e.AdverseEventResolved(ae_id=ae.ae_id, resolved_on=cmd.resolved_on, outcome=cmd.outcome)
    ]


def sae_due(ae: AdverseEvent, p: Protocol) -> datetime:
    """When the expedited report of a serious AE falls due."""
    assert ae.serious_since is not None
    return ae.serious_since + timedelta(hours=p.safety.sae_report_hours)


def _awaiting_report(s: SubjectState, ae_id: str) -> AdverseEvent:
    ae = s.adverse_event(ae_id)
    if ae is None:
        raise NotFound(f"no adverse event {ae_id!r}", field="ae_id")
    if not ae.serious:
        raise WrongPhase(f"adverse event {ae_id} is not serious; no expedited report is due")
    if ae.sae_reported_at is not None:
        raise WrongPhase(f"the SAE report of {ae_id} is already recorded")
    return ae


def _report_sae(
    s: SubjectState, cmd: c.ReportSae, now: datetime, p: Protocol
) -> list[e.EventPayload]:
    ae = _awaiting_report(s, cmd.ae_id)
    if cmd.reported_at > now + _CLOCK_SKEW:
        raise ValueOutOfRange("reported_at is in the future", field="reported_at")
    assert ae.serious_since is not None  # _awaiting_report only returns serious events
    # Staff enter report times to the minute; the event became serious at a precise instant.
    if cmd.reported_at < ae.serious_since.replace(second=0, microsecond=0):
        raise ValueOutOfRange(
            f"reported_at is before the event became serious ({ae.serious_since.isoformat()})",
            field="reported_at",
        )
    return [
        e.SaeReported(
            ae_id=ae.ae_id,
            reported_at=cmd.reported_at,
            recipient=cmd.recipient,
            reference=cmd.reference,
            late=cmd.reported_at > sae_due(ae, p),
        )
    ]


def _sae_overdue(
    s: SubjectState, cmd: c.MarkSaeOverdue, now: datetime, p: Protocol
) -> list[e.EventPayload]:
    ae = _awaiting_report(s, cmd.ae_id)
    due = sae_due(ae, p)
    if ae.sae_overdue:
        raise WrongPhase(f"the SAE report of {ae.ae_id} is already marked overdue")
    if now < due:
        raise WrongPhase(f"the SAE report of {ae.ae_id} is due at {due.isoformat()}")
    return [
        e.SaeOverdue(ae_id=ae.ae_id, due_at=due),
        _deviation(
            s,
            "late_sae_report",
            f"SAE {ae.ae_id} ({ae.term}) not reported within "
            f"{p.safety.sae_report_hours} h of awareness (due {due.isoformat()})",
        ),
    ]


def _monitoring_day(s: SubjectState, day: int, p: Protocol) -> date:
    assert s.infusion_date is not None  # the phase implies an infusion
    if day > p.safety.daily_monitoring_days:
        raise ValueOutOfRange(
            f"daily monitoring runs for days 1–{p.safety.daily_monitoring_days}", field="day"
        )
    if day in s.monitoring_recorded:
        raise WrongPhase(f"monitoring of day {day} is already recorded", field="day")
    return s.infusion_date + timedelta(days=day)


def _record_monitoring(
    s: SubjectState, cmd: c.RecordDailyMonitoring, now: datetime, p: Protocol
) -> list[e.EventPayload]:
    on = _monitoring_day(s, cmd.day, p)
    _not_future(on, now, f"day {cmd.day} ({on})")
    return [
        e.MonitoringRecorded(
            day=cmd.day,
            on=on,
            max_temperature_c=cmd.max_temperature_c,
            ice_score=cmd.ice_score,
            notes=cmd.notes,
        )
    ]


def _monitoring_missed(
    s: SubjectState, cmd: c.MarkMonitoringMissed, now: datetime, p: Protocol
) -> list[e.EventPayload]:
    on = _monitoring_day(s, cmd.day, p)
    if cmd.day in s.monitoring_missed:
        raise WrongPhase(f"day {cmd.day} is already marked missed", field="day")
    if now.date() <= on:
        raise WrongPhase(f"monitoring day {cmd.day} ({on}) has not ended yet")
    return [e.MonitoringMissed(day=cmd.day, on=on)]


def _close_dlt(
    s: SubjectState, cmd: c.CloseDltWindow, now: datetime, p: Protocol
) -> list[e.EventPayload]:
    if s.infusion_date is None or s.dose_level is None:
        raise MissingPrerequisite("no infusion, so no DLT window")
    if s.dlt_outcome is not None:
        raise WrongPhase("the DLT window is already closed")
    flagged = tuple(a.ae_id for a in s.adverse_events if a.dlt_rule is not None)
    if s.phase.is_terminal:
        assert s.ended_on is not None
        outcome = "dlt" if flagged else "not_evaluable"
        closed_on = s.ended_on
    else:
        closed_on = s.infusion_date + timedelta(days=p.safety.dlt_window_days)
        if now.date() <= closed_on:
            raise WrongPhase(f"the DLT window is open until {closed_on}")
        outcome = "dlt" if flagged else "no_dlt"
    return [
        e.DltWindowClosed(
            outcome=outcome, dose_level=s.dose_level, closed_on=closed_on, dlt_ae_ids=flagged
        )
    ]


def _grant_slot(
    s: SubjectState, cmd: c.GrantStudySlot, now: datetime, p: Protocol
) -> list[e.EventPayload]:
    if cmd.dose_level != s.dose_level:
        raise ValueOutOfRange(
            f"the slot is for {cmd.dose_level} but the subject is enrolled at {s.dose_level}",
            field="dose_level",
        )
    if s.slot_dose_level is not None:
        raise WrongPhase(f"the subject already holds a {s.slot_dose_level} slot")
    return [
        e.StudySlotGranted(study_id=cmd.study_id, dose_level=cmd.dose_level, sentinel=cmd.sentinel)
    ]


def _ae_from(p: e.AdverseEventRecorded) -> AdverseEvent:
    return AdverseEvent(
        ae_id=p.ae_id,
        kind=p.kind,
        term=p.term,
        grade=p.grade,
        crs=p.crs,
        icans=p.icans,
        onset_on=p.onset_on,
        seriousness=p.seriousness,
        related_to_jy231=p.related_to_jy231,
        related_to_lymphodepletion=p.related_to_lymphodepletion,
        haematologic=p.haematologic,
        outcome=p.outcome,
        serious_since=p.aware_at if p.seriousness else None,
    )


def _ae_updated(ae: AdverseEvent, p: e.AdverseEventUpdated) -> AdverseEvent:
    return ae.model_copy(
        update={
            "grade": p.grade,
            "crs": p.crs,
            "icans": p.icans,
            "seriousness": p.seriousness,
            "related_to_jy231": p.related_to_jy231,
            "related_to_lymphodepletion": p.related_to_lymphodepletion,
            "outcome": p.outcome,
            "serious_since": ae.serious_since or p.became_serious_at,
        }
    )


def _with_ae(s: SubjectState, ae_id: str, **update: Any) -> tuple[AdverseEvent, ...]:
    return tuple(a.model_copy(update=update) if a.ae_id == ae_id else a for a in s.adverse_events)


def _replace_ae(s: SubjectState, new: AdverseEvent) -> tuple[AdverseEvent, ...]:
    return tuple(new if a.ae_id == new.ae_id else a for a in s.adverse_events)


def _evolve_safety(s: SubjectState, event: e.Event) -> dict[str, Any] | None:
    """State changes of the safety events; None for any other event."""
    p = event.payload
    match p:
        case e.AdverseEventRecorded():
            return {"adverse_events": (*s.adverse_events, _ae_from(p))}
        case e.AdverseEventUpdated():
            ae = s.adverse_event(p.ae_id)
            assert ae is not None
            return {"adverse_events": _replace_ae(s, _ae_updated(ae, p))}
        case e.AdverseEventResolved():
            return {
                "adverse_events": _with_ae(s, p.ae_id, resolved_on=p.resolved_on, outcome=p.outcome)
            }
        case e.SaeReported():
            return {"adverse_events": _with_ae(s, p.ae_id, sae_reported_at=p.reported_at)}
        case e.SaeOverdue():
            return {"adverse_events": _with_ae(s, p.ae_id, sae_overdue=True)}
        case e.DltFlagged():
            return {"adverse_events": _with_ae(s, p.ae_id, dlt_rule=p.rule)}
        case e.MonitoringRecorded():
            return {"monitoring_recorded": (*s.monitoring_recorded, p.day)}
        case e.MonitoringMissed():
            return {"monitoring_missed": (*s.monitoring_missed, p.day)}
        case e.DltWindowClosed():
            return {"dlt_outcome": p.outcome}
        case e.StudySlotGranted():
            return {"study_id": p.study_id, "slot_dose_level": p.dose_level}
    return None


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
    c.RecordCorrection: _correction,
    c.EndParticipation: _end,
    c.RecordAdverseEvent: _record_ae,
    c.UpdateAdverseEvent: _update_ae,
    c.ResolveAdverseEvent: _resolve_ae,
    c.ReportSae: _report_sae,
    c.MarkSaeOverdue: _sae_overdue,
    c.RecordDailyMonitoring: _record_monitoring,
    c.MarkMonitoringMissed: _monitoring_missed,
    c.CloseDltWindow: _close_dlt,
    c.GrantStudySlot: _grant_slot,
}


class ChainMismatch(DomainError):
    """An event does not continue the state it is folded into (wrong seq or prev_hash)."""

    code = "chain_mismatch"


def apply(state: SubjectState, event: e.Event) -> SubjectState:
    """Fold one sealed event into the state. Pure; the workflow and audit replay share it."""
    if event.seq != state.last_seq + 1 or event.prev_hash != state.last_hash:
        raise ChainMismatch(
            f"event {event.stream}#{event.seq} does not follow #{state.last_seq} of the state"
        )
    changes = _evolve(state, event)
    changes.update(last_seq=event.seq, last_hash=event.hash)
    return state.model_copy(update=changes)


def fold(events: Iterable[e.Event], state: SubjectState | None = None) -> SubjectState:
    current = state or SubjectState()
    for event in events:
        current = apply(current, event)
    return current


def _with_visit(state: SubjectState, code: str, **update: Any) -> tuple[ScheduledVisit, ...]:
    return tuple(v.model_copy(update=update) if v.code == code else v for v in state.visits)


def _mark(state: SubjectState, seq: int, ref: str) -> dict[int, str]:
    return {**state.correctable, seq: ref}


def _evolve(s: SubjectState, event: e.Event) -> dict[str, Any]:
    p = event.payload
    match p:
        case e.SubjectRegistered():
            return {
                "subject_id": p.subject_id,
                "phase": Phase.REGISTERED,
                "protocol_version": event.protocol_version,
                "disease": p.disease,
                "sex": p.sex,
                "birth_date": p.birth_date,
                "site_id": p.site_id,
                "correctable": _mark(s, event.seq, "subject.registered"),
            }
        case e.ConsentSigned():
            return {
                "phase": Phase.CONSENTED,
                "consented_on": p.signed_on,
                "childbearing_potential": p.childbearing_potential,
            }
        case e.ConsentWithdrawn():
            return {}
        case e.ScreeningRecorded():
            return {
                "phase": Phase.SCREENING,
                "screening_seq": event.seq,
                "screening_eligible": p.eligible,
            }
        case e.EligibilitySigned():
            return {"phase": Phase.ELIGIBLE} if p.decision == "eligible" else {}
        case e.ScreenFailed():
            return {"phase": Phase.SCREEN_FAILED, "screen_fail_cause": p.cause}
        case e.SubjectEnrolled():
            return {"phase": Phase.ENROLLED, "dose_level": p.dose_level, "route": p.route}
        case e.ApheresisRecorded():
            return {
                "phase": Phase.APHERESIS,
                "apheresis_count": s.apheresis_count + 1,
                "apheresis_volume_ml": p.volume_ml,
                "correctable": _mark(s, event.seq, "apheresis.recorded"),
            }
        case e.ProductReleased():
            return {
                "phase": Phase.AWAITING_PRODUCT,
                "product_lot": p.lot,
                "product_total_tu": p.total_tu,
            }
        case e.ManufacturingFailed():
            # A failed lot sends the subject back to a repeat apheresis.
            return {"phase": Phase.ENROLLED, "manufacturing_failures": s.manufacturing_failures + 1}
        case e.LymphodepletionPlanned():
            return {"ld_plan": p, "ld_plan_seq": event.seq}
        case e.LymphodepletionApproved():
            return {"phase": Phase.LYMPHODEPLETION, "ld_approved": True}
        case e.LymphodepletionDoseGiven():
            return {
                "ld_doses": (*s.ld_doses, p),
                "correctable": _mark(s, event.seq, f"lymphodepletion.dose_given:{p.drug}:{p.day}"),
            }
        case e.InfusionRecorded():
            return {
                "phase": Phase.INFUSED,
                "infusion_date": p.infused_on,
                "tu_per_kg": p.tu_per_kg,
                "total_tu": p.total_tu,
                "visits": p.schedule,
            }
        case e.VisitRescheduled():
            return {"visits": _with_visit(s, p.code, target=p.target)}
        case e.VisitWindowOpened():
            return {"windows_opened": (*s.windows_opened, p.code)}
        case e.VisitCompleted():
            return {
                "phase": Phase.FOLLOW_UP,
                "visits": _with_visit(
                    s,
                    p.code,
                    status=VisitStatus.COMPLETED,
                    completed_on=p.completed_on,
                    response=p.response,
                ),
                "correctable": _mark(s, event.seq, f"visit.completed:{p.code}"),
            }
        case e.VisitMissed():
            return {
                "phase": Phase.FOLLOW_UP,
                "visits": _with_visit(s, p.code, status=VisitStatus.MISSED),
            }
        case e.DeviationOpened():
            deviation = Deviation(
                deviation_id=p.deviation_id, kind=p.kind, detail=p.detail, opened_seq=event.seq
            )
            return {"deviations": (*s.deviations, deviation)}
        case e.CorrectionRecorded():
            return _apply_correction(s, event, p)
        case e.ParticipationEnded():
            return {"phase": Phase(p.outcome), "outcome": p.outcome, "ended_on": p.ended_on}
    safety = _evolve_safety(s, event)
    if safety is not None:
        return safety
    raise AssertionError(f"unhandled event type {event.type}")  # pragma: no cover


def _apply_correction(s: SubjectState, event: e.Event, p: e.CorrectionRecorded) -> dict[str, Any]:
    correction = Correction(
        seq=event.seq,
        target_seq=p.target_seq,
        field=p.field,
        old_value=p.old_value,
        new_value=p.new_value,
        reason=event.reason,
    )
    changes: dict[str, Any] = {"corrections": (*s.corrections, correction)}
    kind, _, key = s.correctable[p.target_seq].partition(":")
    value = _CORRECTABLE[kind][p.field].validate_python(p.new_value)
    if kind == "subject.registered":
        changes[p.field] = value
    elif kind == "apheresis.recorded":
        changes["apheresis_volume_ml"] = value
    elif kind == "lymphodepletion.dose_given":
        drug, _, day = key.partition(":")
        changes["ld_doses"] = tuple(
            d.model_copy(update={"mg": value}) if (d.drug, str(d.day)) == (drug, day) else d
            for d in s.ld_doses
        )
    else:
        changes["visits"] = _with_visit(s, key, **{p.field: value})
    return changes
