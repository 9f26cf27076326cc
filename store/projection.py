"""The subject board read model: one row per subject, folded from the subject's events.

Written against the event payloads directly (not the domain's ``apply``) so the read side does
not depend on workflow state; it only needs what the board shows.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict

from domain.events import (
    DeviationOpened,
    EligibilitySigned,
    Event,
    InfusionRecorded,
    ParticipationEnded,
    SubjectEnrolled,
    SubjectRegistered,
    VisitCompleted,
    VisitMissed,
    VisitRescheduled,
    VisitWindowOpened,
)
from domain.values import Disease, Phase, Route, ScheduledVisit, VisitStatus

__all__ = ["BoardRow", "fold", "project"]


class BoardRow(BaseModel):
    """Where one subject stands and what is due next."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    subject_id: str
    disease: Disease | None = None
    phase: Phase = Phase.NEW
    dose_level: str | None = None
    route: Route | None = None
    infusion_date: date | None = None
    visits: tuple[ScheduledVisit, ...] = ()
    open_deviations: int = 0
    last_seq: int = 0
    updated_at: datetime | None = None

    @property
    def next_visit(self) -> ScheduledVisit | None:
        """The earliest still-planned visit; none once participation has ended."""
        if self.phase.is_terminal:
            return None
        planned = [v for v in self.visits if v.status is VisitStatus.PLANNED]
        return min(planned, key=lambda v: (v.target, v.code), default=None)


# Event types whose only board effect is moving the subject to a phase.
_PHASE_OF: dict[str, Phase] = {
    "subject.registered": Phase.REGISTERED,
    "consent.signed": Phase.CONSENTED,
    "screening.recorded": Phase.SCREENING,
    "screening.failed": Phase.SCREEN_FAILED,
    "subject.enrolled": Phase.ENROLLED,
    "apheresis.recorded": Phase.APHERESIS,
    "product.released": Phase.AWAITING_PRODUCT,
    # A failed batch sends the subject back to wait for a new collection.
    "manufacturing.failed": Phase.ENROLLED,
    "lymphodepletion.approved": Phase.LYMPHODEPLETION,
    "infusion.recorded": Phase.INFUSED,
    "consent.withdrawn": Phase.WITHDRAWN,
}


def _replace_visit(
    visits: tuple[ScheduledVisit, ...], code: str, **changes: object
) -> tuple[ScheduledVisit, ...]:
    return tuple(v.model_copy(update=changes) if v.code == code else v for v in visits)


def project(row: BoardRow | None, event: Event) -> BoardRow:
    """Fold one event into the subject's board row (``None`` before the first event)."""
    current = row if row is not None else BoardRow(subject_id=event.stream)
    changes: dict[str, object] = {"last_seq": event.seq, "updated_at": event.recorded_at}
    if event.type in _PHASE_OF:
        changes["phase"] = _PHASE_OF[event.type]

    match event.payload:
        case SubjectRegistered(disease=disease):
            changes["disease"] = disease
        case EligibilitySigned(decision="eligible"):
            changes["phase"] = Phase.ELIGIBLE
        case SubjectEnrolled(dose_level=dose_level, route=route):
            changes.update(dose_level=dose_level, route=route)
        case InfusionRecorded() as infusion:
            # What was actually infused wins over what enrollment assigned.
            changes.update(
                infusion_date=infusion.infused_on,
                dose_level=infusion.dose_level,
                route=infusion.route,
                visits=infusion.schedule,
            )
        case VisitCompleted(code=code, completed_on=completed_on, response=response):
            changes["visits"] = _replace_visit(
                current.visits,
                code,
                status=VisitStatus.COMPLETED,
                completed_on=completed_on,
                response=response,
            )
            if current.phase is Phase.INFUSED:
                changes["phase"] = Phase.FOLLOW_UP
        case VisitMissed(code=code):
            changes["visits"] = _replace_visit(current.visits, code, status=VisitStatus.MISSED)
        case VisitRescheduled(code=code, target=target):
            changes["visits"] = tuple(
                v.model_copy(update={"target": target, "shifted_from": v.shifted_from or v.target})
                if v.code == code
                else v
                for v in current.visits
            )
        case VisitWindowOpened(code=code, window_start=start, window_end=end):
            changes["visits"] = _replace_visit(
                current.visits, code, window_start=start, window_end=end
            )
        case DeviationOpened():
            changes["open_deviations"] = current.open_deviations + 1
        case ParticipationEnded(outcome=outcome):
            changes["phase"] = Phase(outcome)
        case _:
            # Other events (screening details, lymphodepletion plan and doses, corrections)
            # do not change what the board shows.
            pass
    return current.model_copy(update=changes)


def fold(events: Iterable[Event], row: BoardRow | None = None) -> BoardRow | None:
    """Fold events in order; ``None`` if there were none and no starting row.

    Only subject streams have a board row: a stream that does not open with a registration
    (the study's cohort stream) folds to ``None``.
    """
    for event in events:
        if row is None and event.type != "subject.registered":
            return None
        row = project(row, event)
    return row
