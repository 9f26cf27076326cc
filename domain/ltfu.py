"""Long-term follow-up (LTFU): decide and fold its commands, and the clock that ends it.

After Month 12 (or an early termination of the main study) the subject decides on LTFU under
its own consent. Signing schedules the protocol's annual timepoints as more visits in the same
model, so reminders, missed windows and deviations work exactly as for the main visits; a
refusal ends participation at once. Consecutive failed contact attempts, as many as the
protocol says, end participation as lost to follow-up.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from domain import commands as c
from domain import events as e
from domain.errors import MissingPrerequisite, NotFound, ValueOutOfRange, WrongPhase
from domain.guards import deviation, not_future
from domain.ltfu_commands import (
    CompleteLtfuVisit,
    RecordContactAttempt,
    RecordDelayedAdverseEvent,
    RecordLtfuConsent,
)
from domain.ltfu_events import (
    DelayedAdverseEventRecorded,
    LtfuConsentRecorded,
    LtfuContactAttempted,
    LtfuVisitCompleted,
)
from domain.ltfu_status import DelayedAe, LtfuStatus
from domain.protocol import LtfuRules, Protocol
from domain.schedule import schedule_visit
from domain.site_calendar import local_midnight
from domain.state import SubjectState
from domain.values import Phase, ScheduledVisit, VisitStatus

__all__ = [
    "LTFU_DECIDERS",
    "evolve_ltfu",
    "ltfu_completion",
    "ltfu_schedule",
    "ltfu_stretch",
    "main_study_end",
]


def _rules(p: Protocol) -> LtfuRules:
    if p.ltfu is None:
        raise MissingPrerequisite(
            f"protocol version {p.version} has no long-term follow-up", field="type"
        )
    return p.ltfu


def _ltfu_codes(p: Protocol) -> frozenset[str]:
    return frozenset(t.code for t in p.ltfu.timepoints) if p.ltfu else frozenset()


def ltfu_schedule(
    infusion_date: date, decided_on: date, done: frozenset[str], p: Protocol
) -> tuple[ScheduledVisit, ...]:
    """The LTFU timepoints still ahead on ``decided_on``, on the site's working days.

    A timepoint whose main-study visit was done (Year 1 = Month 12) is not repeated, and one
    whose window had closed before the consent is not owed.
    """
    rules = _rules(p)
    out: list[ScheduledVisit] = []
    for point in rules.timepoints:
        if point.covered_by is not None and point.covered_by in done:
            continue
        visit = schedule_visit(infusion_date, point, p)
        if visit.window_end < decided_on:
            continue
        out.append(visit)
    return tuple(out)


def _consent(
    s: SubjectState, cmd: RecordLtfuConsent, now: datetime, p: Protocol
) -> list[e.EventPayload]:
    rules = _rules(p)
    not_future(cmd.decided_on, now, "decided_on")
    if s.ltfu is not None:
        raise WrongPhase(f"the LTFU decision was already recorded ({s.ltfu.decision})")
    if cmd.consent_version != rules.consent_version:
        raise ValueOutOfRange(
            f"consent_version {cmd.consent_version!r} is not the LTFU consent form "
            f"{rules.consent_version!r} of protocol version {p.version}",
            field="consent_version",
        )
    assert s.infusion_date is not None  # the phases allowed imply an infusion
    main = [v for v in s.visits if v.code not in _ltfu_codes(p)]
    open_codes = tuple(v.code for v in main if v.status is VisitStatus.PLANNED)
    if open_codes and not cmd.early_termination:
        raise MissingPrerequisite(
            "the main study is still running (open visits: "
            f"{', '.join(open_codes)}); LTFU starts after Month 12, or set "
            "early_termination to end the main study early",
            field="early_termination",
        )
    if not open_codes and cmd.early_termination:
        raise ValueOutOfRange(
            "every main-study visit is resolved: this is no early termination",
            field="early_termination",
        )
    done = frozenset(v.code for v in main if v.status is VisitStatus.COMPLETED)
    if cmd.decision == "refused":
        return [
            LtfuConsentRecorded(
                decision="refused",
                decided_on=cmd.decided_on,
                consent_version=cmd.consent_version,
                early_termination=cmd.early_termination,
                cancelled=open_codes,
            ),
            # A refusal after Month 12 completes the study; after an early termination the
            # subject leaves before its end.
            e.ParticipationEnded(
                outcome="withdrawn" if open_codes else "completed", ended_on=cmd.decided_on
            ),
        ]
    return [
        LtfuConsentRecorded(
            decision="signed",
            decided_on=cmd.decided_on,
            consent_version=cmd.consent_version,
            early_termination=cmd.early_termination,
            cancelled=open_codes,
            schedule=ltfu_schedule(s.infusion_date, cmd.decided_on, done, p),
        )
    ]


def _planned_ltfu_visit(s: SubjectState, code: str, p: Protocol) -> ScheduledVisit:
    visit = s.visit(code)
    if visit is None or code not in _ltfu_codes(p):
        codes = ", ".join(v.code for v in s.visits if v.code in _ltfu_codes(p))
        raise NotFound(
            f"no LTFU timepoint {code!r} in the schedule; timepoints: {codes}", field="code"
        )
    if visit.status is not VisitStatus.PLANNED:
        raise WrongPhase(f"LTFU timepoint {code} is already {visit.status.value}", field="code")
    return visit


def _complete(
    s: SubjectState, cmd: CompleteLtfuVisit, now: datetime, p: Protocol
) -> list[e.EventPayload]:
    rules = _rules(p)
    not_future(cmd.completed_on, now, "completed_on")
    visit = _planned_ltfu_visit(s, cmd.code, p)
    point = rules.timepoint(cmd.code)
    assert point is not None
    if cmd.mode not in point.modes:
        raise ValueOutOfRange(
            f"{point.label} is an examination in person: mode must be one of "
            f"{', '.join(point.modes)}",
            field="mode",
        )
    unknown = sorted(set(cmd.samples) - set(point.samples))
    if unknown:
        raise ValueOutOfRange(
            f"samples {', '.join(unknown)} are not due at {point.label}; due: "
            f"{', '.join(point.samples) or 'none'}",
            field="samples",
        )
    out: list[e.EventPayload] = [
        LtfuVisitCompleted(
            code=cmd.code, completed_on=cmd.completed_on, mode=cmd.mode, samples=cmd.samples
        )
    ]
    if not visit.window_start <= cmd.completed_on <= visit.window_end:
        out.append(
            deviation(
                s,
                "visit_out_of_window",
                f"{visit.label} done on {cmd.completed_on}, outside its window "
                f"{visit.window_start}–{visit.window_end}",
            )
        )
    missing = [x for x in point.samples if x not in cmd.samples]
    if missing:
        out.append(
            deviation(
                s,
                "samples_not_collected",
                f"{visit.label}: {', '.join(missing)} not collected",
            )
        )
    return out


def _contact_attempt(
    s: SubjectState, cmd: RecordContactAttempt, now: datetime, p: Protocol
) -> list[e.EventPayload]:
    rules = _rules(p)
    not_future(cmd.attempted_on, now, "attempted_on")
    assert s.ltfu is not None
    failed = 0 if cmd.reached else s.ltfu.failed_contacts + 1
    out: list[e.EventPayload] = [
        LtfuContactAttempted(
            attempted_on=cmd.attempted_on,
            method=cmd.method,
            reached=cmd.reached,
            failed_in_a_row=failed,
        )
    ]
    if failed >= rules.contact_attempts_before_lost:
        out.append(e.ParticipationEnded(outcome="lost_to_follow_up", ended_on=cmd.attempted_on))
    return out


def _delayed_ae(
    s: SubjectState, cmd: RecordDelayedAdverseEvent, now: datetime, p: Protocol
) -> list[e.EventPayload]:
    rules = _rules(p)
    not_future(cmd.onset_on, now, "onset_on")
    if cmd.category not in rules.delayed_ae_categories:
        raise ValueOutOfRange(
            f"category must be one of {', '.join(rules.delayed_ae_categories)}", field="category"
        )
    assert s.infusion_date is not None
    if cmd.onset_on < s.infusion_date:
        raise ValueOutOfRange("onset_on is before the infusion", field="onset_on")
    return [
        DelayedAdverseEventRecorded(
            category=cmd.category, term=cmd.term, onset_on=cmd.onset_on, serious=cmd.serious
        )
    ]


LTFU_DECIDERS: dict[type[Any], Callable[..., list[e.EventPayload]]] = {
    RecordLtfuConsent: _consent,
    CompleteLtfuVisit: _complete,
    RecordContactAttempt: _contact_attempt,
    RecordDelayedAdverseEvent: _delayed_ae,
}


def _with_status(
    s: SubjectState, codes: tuple[str, ...], status: VisitStatus
) -> tuple[ScheduledVisit, ...]:
    return tuple(
        v.model_copy(update={"status": status}) if v.code in codes else v for v in s.visits
    )


def evolve_ltfu(s: SubjectState, event: e.Event) -> dict[str, Any] | None:
    """The state changes of an LTFU event; None for any other event."""
    p = event.payload
    match p:
        case LtfuConsentRecorded():
            status = LtfuStatus(
                decision=p.decision,
                decided_on=p.decided_on,
                consent_version=p.consent_version,
                early_termination=p.early_termination,
            )
            visits = _with_status(s, p.cancelled, VisitStatus.CANCELLED)
            if p.decision == "refused":
                return {"ltfu": status, "visits": visits}
            return {"ltfu": status, "visits": (*visits, *p.schedule), "phase": Phase.LTFU}
        case LtfuVisitCompleted():
            assert s.ltfu is not None
            visits = tuple(
                v.model_copy(
                    update={"status": VisitStatus.COMPLETED, "completed_on": p.completed_on}
                )
                if v.code == p.code
                else v
                for v in s.visits
            )
            # Seeing the subject is reaching them: the count of failed attempts starts over.
            return {"visits": visits, "ltfu": s.ltfu.model_copy(update={"failed_contacts": 0})}
        case LtfuContactAttempted():
            assert s.ltfu is not None
            return {"ltfu": s.ltfu.model_copy(update={"failed_contacts": p.failed_in_a_row})}
        case DelayedAdverseEventRecorded():
            assert s.ltfu is not None
            ae = DelayedAe(
                seq=event.seq,
                category=p.category,
                term=p.term,
                onset_on=p.onset_on,
                serious=p.serious,
            )
            return {"ltfu": s.ltfu.model_copy(update={"delayed_aes": (*s.ltfu.delayed_aes, ae)})}
    return None


def _last_resolved(s: SubjectState) -> date:
    return max(
        v.completed_on or v.window_end for v in s.visits if v.status is not VisitStatus.CANCELLED
    )


def main_study_end(s: SubjectState, p: Protocol) -> tuple[datetime, c.EndParticipation] | None:
    """When a subject whose main study is over, with no LTFU decision, completes it.

    The LTFU decision has ``decision_days`` after the last visit; without one, the main study
    completes and no follow-up is owed (none may be done without consent).
    """
    rules = _rules(p)
    if s.phase is not Phase.FOLLOW_UP or not s.all_visits_resolved or s.ltfu is not None:
        return None
    last = _last_resolved(s)
    ended = last + timedelta(days=rules.decision_days)
    due = local_midnight(ended, p.calendar.timezone)
    return due, c.EndParticipation(
        occurred_at=due,
        outcome="completed",
        ended_on=ended,
        reason=f"main study complete; no long-term follow-up consent recorded within "
        f"{rules.decision_days} days",
    )


def ltfu_completion(s: SubjectState, p: Protocol) -> tuple[datetime, c.EndParticipation] | None:
    """The end of a completed LTFU: every timepoint done or missed."""
    if s.phase is not Phase.LTFU or not s.all_visits_resolved:
        return None
    last = _last_resolved(s)
    due = local_midnight(last, p.calendar.timezone)
    return due, c.EndParticipation(
        occurred_at=due,
        outcome="completed",
        ended_on=last,
        reason="long-term follow-up complete",
    )


def ltfu_stretch(s: SubjectState) -> int | None:
    """How many visits are resolved, in LTFU; None outside it.

    The workflow continues as new whenever this changes: each LTFU year then runs in a
    short history of its own that carries only the folded state.
    """
    if s.phase is not Phase.LTFU:
        return None
    return sum(1 for v in s.visits if v.status is not VisitStatus.PLANNED)
