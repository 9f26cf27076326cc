"""What the subject's clock is waiting for: the next system command and when it falls due."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from pydantic import BaseModel, ConfigDict

from domain import commands as c
from domain.protocol import Protocol
from domain.state import SubjectState
from domain.values import Phase, VisitStatus

__all__ = ["Deadline", "next_deadline"]

_SCREENING_PHASES = frozenset({Phase.CONSENTED, Phase.SCREENING, Phase.ELIGIBLE})


class Deadline(BaseModel):
    model_config = ConfigDict(frozen=True)

    due_at: datetime
    command: c.Command


def _midnight(day: date) -> datetime:
    # Dates are site calendar days; the deadline falls at the start of the day (UTC).
    return datetime.combine(day, time.min, tzinfo=UTC)


def next_deadline(state: SubjectState, protocol: Protocol) -> Deadline | None:
    """The earliest timer-driven command for this state, or None when nothing is pending.

    Pure so the workflow can recompute it after every event instead of keeping timer
    bookkeeping of its own: a withdrawal simply leaves no deadline, cancelling the wait.
    """
    if state.phase.is_terminal:
        return None
    candidates: list[Deadline] = []
    if state.phase in _SCREENING_PHASES and state.consented_on is not None:
        due = _midnight(
            state.consented_on + timedelta(days=protocol.protocol.screening_window_days)
        )
        candidates.append(Deadline(due_at=due, command=c.ExpireScreening(occurred_at=due)))
    reminder = timedelta(days=protocol.reminders.days_before_window)
    for visit in state.visits:
        if visit.status is not VisitStatus.PLANNED:
            continue
        if visit.code not in state.windows_opened:
            due = _midnight(visit.window_start - reminder)
            candidates.append(
                Deadline(due_at=due, command=c.OpenVisitWindow(occurred_at=due, code=visit.code))
            )
        due = _midnight(visit.window_end + timedelta(days=1))
        candidates.append(
            Deadline(due_at=due, command=c.MissVisit(occurred_at=due, code=visit.code))
        )
    if state.phase is Phase.FOLLOW_UP and state.all_visits_resolved:
        last = max(v.completed_on or v.window_end for v in state.visits)
        due = _midnight(last)
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
