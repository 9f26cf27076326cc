"""What the subject's clock is waiting for: the next system command and when it falls due."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from pydantic import BaseModel, ConfigDict

from domain import commands as c
from domain.amendments import reconsent_deadline
from domain.custody_rules import custody_timers
from domain.ltfu import ltfu_completion, main_study_end
from domain.protocol import Protocol
from domain.site_calendar import local_midnight
from domain.state import SubjectState
from domain.susar import susar_clocks
from domain.values import Phase, VisitStatus

__all__ = ["Deadline", "next_deadline", "safety_deadlines"]

_SCREENING_PHASES = frozenset({Phase.CONSENTED, Phase.SCREENING, Phase.ELIGIBLE})


class Deadline(BaseModel):
    model_config = ConfigDict(frozen=True)

    due_at: datetime
    command: c.Command


def _midnight(day: date, zone: str = "UTC") -> datetime:
    # Dates are site calendar days; the deadline falls at the start of the day at the site.
    return local_midnight(day, zone)


def next_deadline(
    state: SubjectState,
    protocol: Protocol,
    *,
    safety: bool = True,
    expedited: bool = True,
    ltfu: bool = False,
) -> Deadline | None:
    """The earliest timer-driven command for this state, or None when nothing is pending.

    Pure so the workflow can recompute it after every event instead of keeping timer
    bookkeeping of its own: a withdrawal simply leaves no deadline, cancelling the wait.
    """
    tz = protocol.calendar.timezone
    # ``safety=False`` keeps the timers of workflow histories recorded before the safety clocks.
    candidates = safety_deadlines(state, protocol) if safety else []
    # ``expedited=False``: histories recorded before the SUSAR clocks (issue 12).
    if expedited and protocol.expedited is not None:
        candidates += [
            Deadline(
                due_at=clock.due_at,
                command=c.MarkSusarOverdue(
                    occurred_at=clock.due_at,
                    ae_id=clock.ae_id,
                    recipient=clock.recipient,
                    kind=clock.kind,
                ),
            )
            for clock in susar_clocks(state, protocol.expedited)
        ]
    if state.phase.is_terminal:
        # Only the safety obligations outlive participation (a death must still be reported).
        return min(candidates, key=lambda d: d.due_at, default=None)
    if state.phase in _SCREENING_PHASES and state.consented_on is not None:
        due = _midnight(
            state.consented_on + timedelta(days=protocol.protocol.screening_window_days), tz
        )
        candidates.append(Deadline(due_at=due, command=c.ExpireScreening(occurred_at=due)))
    reconsent = reconsent_deadline(state, protocol)
    if reconsent is not None:
        candidates.append(Deadline(due_at=reconsent[0], command=reconsent[1]))
    candidates.extend(
        Deadline(due_at=due, command=cmd) for due, cmd in custody_timers(state, protocol)
    )
    reminder = timedelta(days=protocol.reminders.days_before_window)
    for visit in state.visits:
        if visit.status is not VisitStatus.PLANNED:
            continue
        if visit.code not in state.windows_opened:
            due = _midnight(visit.window_start - reminder, tz)
            candidates.append(
                Deadline(due_at=due, command=c.OpenVisitWindow(occurred_at=due, code=visit.code))
            )
        due = _midnight(visit.window_end + timedelta(days=1), tz)
        candidates.append(
            Deadline(due_at=due, command=c.MissVisit(occurred_at=due, code=visit.code))
        )
    if ltfu and protocol.ltfu is not None:
        # The main study's end waits for the LTFU decision; LTFU ends at its last timepoint.
        for end in (main_study_end(state, protocol), ltfu_completion(state, protocol)):
            if end is not None:
                candidates.append(Deadline(due_at=end[0], command=end[1]))
    elif state.phase is Phase.FOLLOW_UP and state.all_visits_resolved:
        last = max(v.completed_on or v.window_end for v in state.visits)
        due = _midnight(last, tz)
        candidates.append(
            Deadline(
                due_at=due,
                command=c.EndParticipation(
                    occurred_at=due,
                    outcome="completed",
                    ended_on=last,
                    reason="all scheduled visits resolved",
                ),
            )
        )
    return min(candidates, key=lambda d: d.due_at, default=None)


def safety_deadlines(state: SubjectState, protocol: Protocol) -> list[Deadline]:
    """SAE report clocks, daily monitoring days and the end of the DLT window."""
    rules = protocol.safety
    tz = protocol.calendar.timezone
    out: list[Deadline] = []
    for ae in state.unreported_saes:
        if ae.sae_overdue or ae.serious_since is None:
            continue
        due = ae.serious_since + timedelta(hours=rules.sae_report_hours)
        out.append(Deadline(due_at=due, command=c.MarkSaeOverdue(occurred_at=due, ae_id=ae.ae_id)))
    if state.infusion_date is None:
        return out
    if not state.phase.is_terminal:
        done = set(state.monitoring_recorded) | set(state.monitoring_missed)
        day = next((d for d in range(1, rules.daily_monitoring_days + 1) if d not in done), None)
        if day is not None:
            # A monitoring day is missed once its calendar day has ended.
            due = _midnight(state.infusion_date + timedelta(days=day + 1), tz)
            out.append(
                Deadline(due_at=due, command=c.MarkMonitoringMissed(occurred_at=due, day=day))
            )
    if state.dlt_outcome is None and state.outcome != "completed":
        if state.phase.is_terminal:
            # Death, withdrawal or loss inside the window: close it at once, so the study
            # learns of the DLT or replaces a subject who is not evaluable.
            assert state.ended_on is not None
            due = _midnight(state.ended_on, tz)
        else:
            due = _midnight(state.infusion_date + timedelta(days=rules.dlt_window_days + 1), tz)
        out.append(Deadline(due_at=due, command=c.CloseDltWindow(occurred_at=due)))
    return out
