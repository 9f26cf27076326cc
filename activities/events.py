"""The append_events activity: persist decided events before the workflow folds them in.

A failure is either one a retry can fix (the database is down, a connection dropped, a lock timed
out) or one it never can (a value the database refuses, a broken constraint). Retrying the second
kind forever would freeze the subject: every later command waits behind the stuck append. So it
fails the command at once with a clear error, the workflow stays usable, and the site is alerted.
A retryable failure that lasts is alerted too, so an outage is not discovered by a stuck user.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import structlog
from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy import exc as sa
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.notifications import append_once
from domain.alerts import Notification
from domain.events import Event
from store.base import EventStore
from store.errors import ConflictingEvent, InvalidEvent, SeqConflict

__all__ = ["STALLED_ALERT_ATTEMPT", "UNSTORABLE", "AppendBatch", "EventActivities", "unstorable"]

log = structlog.get_logger(__name__)

# The ApplicationError type of a batch the store can never accept.
UNSTORABLE = "UnstorableEvent"
# With the workflow's backoff (1, 2, 4, 8 s ...) the 5th attempt starts ~15 s after the first.
STALLED_ALERT_ATTEMPT = 5


class AppendBatch(BaseModel):
    model_config = ConfigDict(frozen=True)

    events: tuple[Event, ...]


def unstorable(exc: BaseException) -> bool:
    """Whether no retry of the same batch can ever succeed."""
    if isinstance(exc, sa.DBAPIError) and exc.connection_invalidated:
        return False
    if isinstance(exc, sa.DataError | sa.IntegrityError | sa.NotSupportedError):
        return True
    if isinstance(exc, sa.StatementError) and not isinstance(exc, sa.DBAPIError):
        # Raised while binding parameters, before the database saw anything: the value itself.
        return isinstance(exc.orig, ValueError | TypeError | UnicodeError)
    return isinstance(exc, InvalidEvent | ValidationError | ValueError | TypeError | UnicodeError)


def _summary(exc: BaseException) -> str:
    # The first line only: driver messages go on to quote statements and parameters.
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:200] if text else ''}"


class EventActivities:
    """Activities bound to one event store (the worker's composition root picks it).

    ``outbox``: where alerts about unstorable batches and stalled appends are written (the
    notification outbox); None only logs them.
    """

    def __init__(self, store: EventStore, outbox: Path | None = None) -> None:
        self._store = store
        self._outbox = outbox

    @activity.defn(name="append_events")
    async def append_events(self, batch: AppendBatch) -> int:
        """Append a batch; a retried batch that is already stored is accepted silently."""
        try:
            await asyncio.to_thread(self._store.append, list(batch.events))
        except ConflictingEvent as exc:
            raise ApplicationError(str(exc), type="ConflictingEvent", non_retryable=True) from exc
        except SeqConflict as exc:
            raise ApplicationError(str(exc), type="SeqConflict", non_retryable=True) from exc
        except Exception as exc:
            if unstorable(exc):
                message = f"the event store cannot store this record ({_summary(exc)})"
                await self._alert(batch, "event.unstorable", "urgent", message)
                raise ApplicationError(message, type=UNSTORABLE, non_retryable=True) from exc
            if self._attempt() == STALLED_ALERT_ATTEMPT:
                await self._alert(
                    batch,
                    "event_store.stalled",
                    "warning",
                    f"recording to the event store keeps failing ({_summary(exc)}); retrying",
                )
            raise
        return len(batch.events)

    @staticmethod
    def _attempt() -> int:
        try:
            return activity.info().attempt
        except RuntimeError:  # called outside an activity (a direct test call)
            return 1

    async def _alert(self, batch: AppendBatch, kind: str, severity: str, message: str) -> None:
        first = batch.events[0] if batch.events else None
        stream = first.stream if first else "?"
        key = f"{stream}:{kind}:{first.seq if first else 0}:{first.hash[:12] if first else ''}"
        log.error(kind, stream=stream, seq=first.seq if first else None, message=message)
        if self._outbox is None:
            return
        notification = Notification(
            notification_id=key,
            kind=kind,
            severity="urgent" if severity == "urgent" else "warning",
            subject_id=stream,
            message=message[:2000],
            raised_at=datetime.now(UTC),
            recipients=("coordinator", "operations"),
        )
        await asyncio.to_thread(append_once, self._outbox, notification)
