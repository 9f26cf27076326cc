"""What the board and visit pages show, computed from the store's board rows and a date."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from pydantic import BaseModel, ConfigDict

from domain.values import Disease, Phase, ScheduledVisit, VisitStatus
from store.projection import BoardRow

__all__ = ["BoardItem", "DueVisit", "board_item", "due_visits", "visit_status"]


class BoardItem(BaseModel):
    model_config = ConfigDict(frozen=True)

    subject_id: str
    disease: Disease | None
    phase: Phase
    dose_level: str | None
    infusion_date: date | None
    days_since_infusion: int | None
    next_visit: ScheduledVisit | None
    overdue: tuple[ScheduledVisit, ...]
    open_deviations: int
    open_queries: int = 0


class DueVisit(BaseModel):
    model_config = ConfigDict(frozen=True)

    subject_id: str
    code: str
    label: str
    target: date
    window_start: date
    window_end: date
    overdue: bool
    days_until: int


def _is_overdue(visit: ScheduledVisit, today: date) -> bool:
    # Overdue means the window has closed with the visit still open; the timer will soon
    # record it as missed, but staff should see it before that happens.
    return visit.status is VisitStatus.PLANNED and visit.window_end < today


def visit_status(visit: ScheduledVisit, today: date) -> str:
    """planned, due (window open), overdue, completed or missed."""
    if visit.status is not VisitStatus.PLANNED:
        return visit.status.value
    if _is_overdue(visit, today):
        return "overdue"
    if visit.window_start <= today:
        return "due"
    return "planned"


def board_item(row: BoardRow, today: date) -> BoardItem:
    active = not row.phase.is_terminal
    return BoardItem(
        subject_id=row.subject_id,
        disease=row.disease,
        phase=row.phase,
        dose_level=row.dose_level,
        infusion_date=row.infusion_date,
        days_since_infusion=(today - row.infusion_date).days if row.infusion_date else None,
        next_visit=row.next_visit,
        overdue=tuple(v for v in row.visits if active and _is_overdue(v, today)),
        open_deviations=row.open_deviations,
        open_queries=row.open_queries,
    )


def due_visits(rows: Iterable[BoardRow], today: date, days: int) -> list[DueVisit]:
    """Planned visits whose window opens (or target falls) within ``days``; overdue ones first."""
    found: list[DueVisit] = []
    for row in rows:
        if row.phase.is_terminal:
            continue
        for visit in row.visits:
            if visit.status is not VisitStatus.PLANNED:
                continue
            overdue = _is_overdue(visit, today)
            soon = (min(visit.window_start, visit.target) - today).days <= days
            if overdue or soon:
                found.append(
                    DueVisit(
                        subject_id=row.subject_id,
                        code=visit.code,
                        label=visit.label,
                        target=visit.target,
                        window_start=visit.window_start,
                        window_end=visit.window_end,
                        overdue=overdue,
                        days_until=(visit.target - today).days,
                    )
                )
    return sorted(found, key=lambda d: (not d.overdue, d.target, d.subject_id, d.code))
