"""The append_events activity: persist decided events before the workflow folds them in."""

from __future__ import annotations

import asyncio

from pydantic import BaseModel, ConfigDict
from temporalio import activity
from temporalio.exceptions import ApplicationError

from domain.events import Event
from store.base import EventStore
from store.errors import ConflictingEvent, SeqConflict

__all__ = ["AppendBatch", "EventActivities"]


class AppendBatch(BaseModel):
    model_config = ConfigDict(frozen=True)

    events: tuple[Event, ...]


class EventActivities:
    """Activities bound to one event store (the worker's composition root picks it)."""

    def __init__(self, store: EventStore) -> None:
        self._store = store

    @activity.defn(name="append_events")
    async def append_events(self, batch: AppendBatch) -> int:
        """Append a batch; a retried batch that is already stored is accepted silently."""
        try:
            await asyncio.to_thread(self._store.append, list(batch.events))
        except ConflictingEvent as exc:
            raise ApplicationError(str(exc), type="ConflictingEvent", non_retryable=True) from exc
        except SeqConflict as exc:
            raise ApplicationError(str(exc), type="SeqConflict", non_retryable=True) from exc
        return len(batch.events)
