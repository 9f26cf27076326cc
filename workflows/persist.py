"""Sealing decided events and persisting them through the append_events activity."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.events import AppendBatch, EventActivities
    from domain.actors import Actor
    from domain.events import Event, NewEvent, seal

__all__ = ["APPEND_RETRY", "APPEND_TIMEOUT", "persist"]

APPEND_TIMEOUT = timedelta(seconds=30)
APPEND_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    non_retryable_error_types=["ConflictingEvent", "SeqConflict"],
)


async def persist(
    events: list[NewEvent],
    *,
    stream: str,
    last_seq: int,
    last_hash: str,
    actor: Actor,
    protocol_version: str,
    command_id: str | None = None,
) -> tuple[Event, ...]:
    """Chain the events after the stream's head and store them before anyone folds them in.

    Only workflow code calls this: the record time is ``workflow.now()``.
    """
    sealed = tuple(
        seal(
            events,
            stream=stream,
            last_seq=last_seq,
            last_hash=last_hash,
            actor=actor,
            recorded_at=workflow.now(),
            protocol_version=protocol_version,
            command_id=command_id,
        )
    )
    await workflow.execute_activity_method(
        EventActivities.append_events,
        AppendBatch(events=sealed),
        start_to_close_timeout=APPEND_TIMEOUT,
        retry_policy=APPEND_RETRY,
    )
    return sealed
