"""Safety decisions on the subject: AEs, CRS/ICANS grades, SAE reports, monitoring, DLTs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from domain import commands as c
from domain import events as e
from domain.dlt import dlt_rule_for
from domain.errors import MissingPrerequisite, NotFound, ValueOutOfRange, WrongPhase
from domain.grading import crs_grade, icans_grade
from domain.guards import CLOCK_SKEW, deviation, not_future
from domain.protocol import Protocol
from domain.state import AdverseEvent, GradeChange, SubjectState
from domain.susar import SUSAR_DECIDERS, evolve_susar, identify

__all__ = ["SAFETY_DECIDERS", "evolve_safety", "sae_due"]

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


def _dlt_flag(s: SubjectState, ae: AdverseEvent, p: Protocol, as_of: date) -> e.DltFlagged | None:
    """Flag a DLT while the window is open for an AE whose onset lies inside it."""
    if s.infusion_date is None or s.dlt_outcome is not None or ae.dlt_rule is not None:
        return None
    window_end = s.infusion_date + timedelta(days=p.safety.dlt_window_days)
    if not s.infusion_date <= ae.onset_on <= window_end:
        return None
    rule = dlt_rule_for(ae, p.safety.dlt, infusion_date=s.infusion_date, as_of=as_of)
    return None if rule is None else e.DltFlagged(ae_id=ae.ae_id, rule=rule, grade=ae.worst)


def _consequences(
    s: SubjectState, ae: AdverseEvent, now: datetime, p: Protocol, at: datetime
) -> list[e.EventPayload]:
    out: list[e.EventPayload] = []
    flag = _dlt_flag(s, ae, p, now.date())
    if flag is not None:
        out.append(flag)
    # ``at``: when the site learned what made it a SUSAR, day 0 of the expedited clocks.
    susar = identify(ae, p, at)
    if susar is not None:
        out.append(susar)
    if ae.grade == 5:
        # A fatal AE ends participation in the same decision.
        out.append(e.ParticipationEnded(outcome="died", ended_on=now.date()))
    return out


def _record_ae(
    s: SubjectState, cmd: c.RecordAdverseEvent, now: datetime, p: Protocol
) -> list[e.EventPayload]:
    not_future(cmd.onset_on, now, "onset_on")
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
    ae = _ae_from(recorded, s.last_seq + 1)
    return [recorded, *_consequences(s, ae, now, p, cmd.occurred_at)]


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
    after = _ae_updated(ae, updated, cmd.occurred_at.date(), s.last_seq + 1)
    return [updated, *_consequences(s, after, now, p, cmd.occurred_at)]


def _resolve_ae(
    s: SubjectState, cmd: c.ResolveAdverseEvent, now: datetime, p: Protocol
) -> list[e.EventPayload]:
    ae = _open_ae(s, cmd.ae_id)
    not_future(cmd.resolved_on, now, "resolved_on")
    if cmd.resolved_on < ae.onset_on:
        raise ValueOutOfRange("resolved_on is before the onset", field="resolved_on")
    resolved = e.AdverseEventResolved(
        ae_id=ae.ae_id, resolved_on=cmd.resolved_on, outcome=cmd.outcome
    )
    # An episode that outlasted its DLT allowance is known once it ends.
    flag = _dlt_flag(s, ae.model_copy(update={"resolved_on": cmd.resolved_on}), p, now.date())
    return [resolved] if flag is None else [resolved, flag]


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
    if cmd.reported_at > now + CLOCK_SKEW:
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
        deviation(
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
    not_future(on, now, f"day {cmd.day} ({on})")
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
    if s.phase.is_terminal:
        assert s.ended_on is not None
        closed_on = as_of = s.ended_on
    else:
        closed_on = s.infusion_date + timedelta(days=p.safety.dlt_window_days)
        if now.date() <= closed_on:
            raise WrongPhase(f"the DLT window is open until {closed_on}")
        as_of = now.date()
    # Duration rules (an excepted toxicity still going on, a cytopenia past its day) are
    # settled at the close for AEs no update has flagged yet.
    late = [f for a in s.adverse_events if (f := _dlt_flag(s, a, p, as_of)) is not None]
    flagged = (
        *(a.ae_id for a in s.adverse_events if a.dlt_rule is not None),
        *(f.ae_id for f in late),
    )
    if s.phase.is_terminal:
        outcome = "dlt" if flagged else "not_evaluable"
    else:
        outcome = "dlt" if flagged else "no_dlt"
    closed = e.DltWindowClosed(
        outcome=outcome, dose_level=s.dose_level, closed_on=closed_on, dlt_ae_ids=flagged
    )
    return [*late, closed]


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


def _ae_from(p: e.AdverseEventRecorded, seq: int) -> AdverseEvent:
    return AdverseEvent(
        grade_history=(GradeChange(grade=p.grade, on=p.onset_on, seq=seq),),
        worst_grade=p.grade,
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


def _ae_updated(ae: AdverseEvent, p: e.AdverseEventUpdated, on: date, seq: int) -> AdverseEvent:
    history = ae.grade_history
    if p.grade != ae.grade:
        history = (*history, GradeChange(grade=p.grade, on=on, seq=seq))
    return ae.model_copy(
        update={
            "grade_history": history,
            "worst_grade": max(ae.worst, p.grade),
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


def evolve_safety(s: SubjectState, event: e.Event) -> dict[str, Any] | None:
    """State changes of the safety events; None for any other event."""
    p = event.payload
    match p:
        case e.AdverseEventRecorded():
            return {"adverse_events": (*s.adverse_events, _ae_from(p, event.seq))}
        case e.AdverseEventUpdated():
            ae = s.adverse_event(p.ae_id)
            assert ae is not None
            updated = _ae_updated(ae, p, event.occurred_at.date(), event.seq)
            return {"adverse_events": _replace_ae(s, updated)}
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
    return evolve_susar(s, event)


SAFETY_DECIDERS: dict[type[Any], Callable[..., list[e.EventPayload]]] = {
    c.RecordAdverseEvent: _record_ae,
    c.UpdateAdverseEvent: _update_ae,
    c.ResolveAdverseEvent: _resolve_ae,
    c.ReportSae: _report_sae,
    c.MarkSaeOverdue: _sae_overdue,
    c.RecordDailyMonitoring: _record_monitoring,
    c.MarkMonitoringMissed: _monitoring_missed,
    c.CloseDltWindow: _close_dlt,
    **SUSAR_DECIDERS,
    c.GrantStudySlot: _grant_slot,
}
