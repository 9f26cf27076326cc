"""Sealing decided events and persisting them through the append_events activity."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.events import AppendBatch, EventActivities
    from domain.actors import Actor
    from domain.canonical import JCS_SCHEME, LEGACY_SCHEME
    from domain.events import Event, NewEvent, seal

__all__ = ["APPEND_RETRY", "APPEND_TIMEOUT", "JCS_HASH_PATCH", "persist"]

# Histories recorded before this marker sealed (and stored) their events under the legacy
# sort_keys scheme; a replay must compute exactly those hashes, or the chain the workflow carries
# forward would no longer match the store's head.
JCS_HASH_PATCH = "issue10-jcs-hash"

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
            hash_scheme=JCS_SCHEME if workflow.patched(JCS_HASH_PATCH) else LEGACY_SCHEME,
        )
    )
    await workflow.execute_activity_method(
        EventActivities.append_events,
        AppendBatch(events=sealed),
        start_to_close_timeout=APPEND_TIMEOUT,
        retry_policy=APPEND_RETRY,
    )
    return sealed
