"""The subject board read model: a view of the domain's own fold of a subject's events.

Every column derives from the domain ``SubjectState``, so the board cannot disagree with what the
workflows and the audit replay fold from the same events (a correction of a visit date, say).
The row is stored as it is shown (``row_json``, a ``BoardRow``); the state itself is stored only
now and then, apart (``subject_snapshots``: ``state`` as of ``state_seq``), as the place a fold
resumes from when a process has no folded state of the subject in memory. Only the mapping
from state to row lives here.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from domain.events import Event
from domain.monitoring_state import Query, SdvMark
from domain.state import SubjectState
from domain.subject import apply
from domain.values import Disease, Phase, Route, ScheduledVisit, VisitStatus

__all__ = ["BoardRow", "board_values", "fold_state", "snapshot_due", "snapshot_row", "utc"]


def utc(moment: datetime | None) -> datetime | None:
    """Index columns hold UTC; a naive time (SQLite returns them) is taken to be UTC already."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


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
    protocol_version: str = ""
    # A consent form the subject must sign again after an amendment, and by when.
    reconsent_version: str | None = None
    reconsent_due_on: date | None = None
    reconsent_overdue: bool = False
    # Oversight, for the query lists, SDV and the monitoring report (domain/monitoring.py).
    site_id: str | None = None
    queries: tuple[Query, ...] = ()
    sdv: tuple[SdvMark, ...] = ()
    # The forms holding data, in order of their first event.
    forms: tuple[str, ...] = ()
    locks: tuple[str, ...] = ()

    @classmethod
    def from_state(cls, state: SubjectState, updated_at: datetime | None) -> BoardRow:
        """The row for a folded subject; ``updated_at`` is its last event's ``recorded_at``."""
        return cls(
            subject_id=state.subject_id,
            disease=state.disease,
            phase=state.phase,
            dose_level=state.dose_level,
            route=state.route,
            infusion_date=state.infusion_date,
            visits=state.visits,
            open_deviations=len(state.open_deviations),
            last_seq=state.last_seq,
            updated_at=updated_at,
            protocol_version=state.protocol_version,
            reconsent_version=state.reconsent.consent_version if state.reconsent else None,
            reconsent_due_on=state.reconsent.due_on if state.reconsent else None,
            reconsent_overdue=state.reconsent.overdue if state.reconsent else False,
            site_id=state.site_id,
            queries=state.queries,
            sdv=state.sdv,
            forms=tuple(dict.fromkeys(x.form for x in state.ledger if x.form is not None)),
            locks=state.locks,
        )

    @property
    def open_queries(self) -> int:
        return sum(1 for q in self.queries if q.status != "closed")

    @property
    def next_visit(self) -> ScheduledVisit | None:
        """The earliest still-planned visit; none once participation has ended."""
        # By date rather than schedule order (as SubjectState.next_visit is): a reschedule can
        # move a visit past the one after it.
        if self.phase.is_terminal:
            return None
        planned = [v for v in self.visits if v.status is VisitStatus.PLANNED]
        return min(planned, key=lambda v: (v.target, v.code), default=None)


def fold_state(events: Iterable[Event], state: SubjectState | None = None) -> SubjectState | None:
    """Fold events into ``state`` with the domain's ``apply``; ``None`` for a non-subject stream.

    Only subject streams have a board row: a stream that does not open with a registration
    (the study's cohort stream) folds to ``None``, and so does no events with no state.
    """
    for event in events:
        if state is None:
            if event.type != "subject.registered":
                return None
            state = SubjectState()
        state = apply(state, event)
    return state


def board_values(
    state: SubjectState, updated_at: datetime | None, *, with_state: bool = True
) -> dict[str, Any]:
    """The ``subject_board`` columns for a folded subject: the row plus copies to filter on.

    ``with_state`` adds the state itself (``state``, ``state_seq``), as the board of revisions
    0002-0006 held it (their migrations); the store now keeps it apart (``snapshot_row``).
    """
    row = BoardRow.from_state(state, updated_at)
    next_visit = row.next_visit
    values: dict[str, Any] = {
        "subject_id": row.subject_id,
        "disease": row.disease,
        "phase": row.phase.value,
        "dose_level": row.dose_level,
        "route": row.route,
        "infusion_date": row.infusion_date,
        "next_visit_code": next_visit.code if next_visit else None,
        "next_visit_target": next_visit.target if next_visit else None,
        "next_visit_window_start": next_visit.window_start if next_visit else None,
        "next_visit_window_end": next_visit.window_end if next_visit else None,
        "open_deviations": row.open_deviations,
        "last_seq": row.last_seq,
        "updated_at": utc(row.updated_at),
        "row_json": row.model_dump_json(),
    }
    if with_state:
        _, values["state"], values["state_seq"] = snapshot_row(state)
    return values


def snapshot_row(state: SubjectState) -> tuple[str, str, int]:
    """The ``subject_snapshots`` row of a folded subject: (subject_id, state JSON, its seq)."""
    return state.subject_id, state.model_dump_json(), state.last_seq


# The state is written again once this many events have followed the stored one, or a quarter of
# the stream if that is more: serialising a long subject's state costs O(its events), so a fixed
# interval would make appends to a long stream quadratic again; a fold that resumes from the
# stored state reads at most this many events.
_SNAPSHOT_EVERY = 32


def snapshot_due(state_seq: int, last_seq: int) -> bool:
    """Whether the stored snapshot of the state (as of ``state_seq``) should be written again."""
    return last_seq - state_seq >= max(_SNAPSHOT_EVERY, state_seq // 4)
