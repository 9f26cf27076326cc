"""Rebuild a subject's state from the stored events as of a moment, with a readable timeline."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from domain.events import CorrectionRecorded, Event, parse_event
from domain.state import SubjectState
from domain.subject import fold
from store.base import EventStore

__all__ = ["ReplayResult", "TimelineEntry", "as_utc", "replay_subject"]


class TimelineEntry(BaseModel):
    """One event told as who, when, what and why; a correction also names old and new values."""

    model_config = ConfigDict(frozen=True)

    seq: int
    type: str
    occurred_at: datetime
    recorded_at: datetime
    user_id: str
    role: str
    what: str
    reason: str | None
    corrects_seq: int | None = None
    field: str | None = None
    old_value: Any = None
    new_value: Any = None
    # The protocol version the decision was made (and is judged) under.
    protocol_version: str = ""


class ReplayResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    subject_id: str
    as_of: datetime | None
    events_total: int
    state: SubjectState
    timeline: tuple[TimelineEntry, ...]


def as_utc(moment: datetime) -> datetime:
    """A naive time given on the command line is taken as UTC, the store's own clock."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _what(event: Event) -> str:
    fields = event.payload.model_dump(mode="json", exclude={"type", "schema_version"})
    # Whole screening records and visit schedules would drown the line; their size says enough.
    shown = {
        k: (f"<{len(v)} items>" if isinstance(v, list | dict) and len(v) > 3 else v)
        for k, v in fields.items()
    }
    return ", ".join(f"{k}={v}" for k, v in shown.items())


def _entry(event: Event) -> TimelineEntry:
    entry = TimelineEntry(
        seq=event.seq,
        type=event.type,
        occurred_at=event.occurred_at,
        recorded_at=event.recorded_at,
        user_id=event.actor.user_id,
        role=event.actor.role.value,
        what=_what(event),
        reason=event.reason,
        protocol_version=event.protocol_version,
    )
    payload = event.payload
    if isinstance(payload, CorrectionRecorded):
        entry = entry.model_copy(
            update={
                "what": f"corrected {payload.field} of event {payload.target_seq}: "
                f"{payload.old_value!r} -> {payload.new_value!r}",
                "corrects_seq": payload.target_seq,
                "field": payload.field,
                "old_value": payload.old_value,
                "new_value": payload.new_value,
            }
        )
    return entry


def replay_subject(
    store: EventStore, subject_id: str, as_of: datetime | None = None
) -> ReplayResult:
    """Fold the events recorded at or before ``as_of`` (all of them without it).

    Events are taken in seq order and the fold stops at the first one recorded later: the
    stream's order is the order the workflow applied them in, so nothing after it can count.
    """
    events = [parse_event(raw) for raw in store.read_raw(subject_id)]
    cutoff = as_utc(as_of) if as_of is not None else None
    chosen: list[Event] = []
    for event in events:
        if cutoff is not None and as_utc(event.recorded_at) > cutoff:
            break
        chosen.append(event)
    return ReplayResult(
        subject_id=subject_id,
        as_of=cutoff,
        events_total=len(events),
        state=fold(chosen),
        timeline=tuple(_entry(e) for e in chosen),
    )
