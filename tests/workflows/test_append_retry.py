"""append_events is idempotent: a retry after a lost acknowledgement writes nothing twice."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.events import AppendBatch, EventActivities
from domain.actors import Actor, Role
from domain.events import Event, NewEvent, SubjectRegistered, seal
from domain.protocol import Protocol
from store.base import AppendResult
from store.sql import SqlEventStore
from system.gateway import SubjectGateway
from tests.cleanup import terminate_subjects
from tests.workflows.harness import SubjectDriver, new_subject
from worker import build_worker

ACTOR = Actor(user_id="cora", role=Role.COORDINATOR)
T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)


def registration(subject_id: str, sex: str = "female") -> list[Event]:
    payload = SubjectRegistered(
        subject_id=subject_id,
        disease="SLE",
        sex=sex,
        birth_date=date(1980, 1, 1),  # type: ignore[arg-type]
        site_id="SBH-01",
    )
    return seal(
        [NewEvent(payload=payload, occurred_at=T0)],
        stream=subject_id,
        last_seq=0,
        last_hash="",
        actor=ACTOR,
        recorded_at=T0,
        protocol_version="1.0",
    )


class LosesFirstAcknowledgement(SqlEventStore):
    """A real store whose first append commits and then fails, as a dropped connection would."""

    failures_left = 1

    def append(self, events: Sequence[Event]) -> AppendResult:
        result = super().append(events)
        if self.failures_left:
            self.failures_left -= 1
            raise ConnectionError("connection lost after commit")
        return result


async def test_repeating_a_stored_batch_is_accepted_without_a_duplicate(
    sqlite_store: SqlEventStore,
) -> None:
    activities = EventActivities(sqlite_store)
    batch = AppendBatch(events=tuple(registration("S-RETRY1")))
    env = ActivityEnvironment()
    assert await env.run(activities.append_events, batch) == 1
    assert await env.run(activities.append_events, batch) == 1
    assert sqlite_store.count_events() == 1


async def test_a_different_event_at_a_stored_seq_fails_without_retry(
    sqlite_store: SqlEventStore,
) -> None:
    activities = EventActivities(sqlite_store)
    env = ActivityEnvironment()
    await env.run(activities.append_events, AppendBatch(events=tuple(registration("S-RETRY2"))))
    with pytest.raises(ApplicationError) as refused:
        await env.run(
            activities.append_events,
            AppendBatch(events=tuple(registration("S-RETRY2", sex="male"))),
        )
    assert refused.value.non_retryable
    assert refused.value.type == "ConflictingEvent"
    assert sqlite_store.count_events() == 1


async def test_workflow_retry_after_lost_acknowledgement_leaves_one_copy_of_each_event(
    time_env: WorkflowEnvironment, tmp_path: object, task_queue: str, protocol: Protocol
) -> None:
    store = LosesFirstAcknowledgement(f"sqlite:///{tmp_path}/flaky.db")
    try:
        async with build_worker(time_env.client, store, task_queue):
            driver = SubjectDriver(
                time_env, SubjectGateway(time_env.client, task_queue, protocol), new_subject()
            )
            await driver.register("SLE")
            await driver.consent()
            await terminate_subjects(time_env.client, store)
        events = store.read_stream(driver.subject_id)
        assert [e.type for e in events] == ["subject.registered", "consent.signed"]
        assert [e.seq for e in events] == [1, 2]
        assert store.failures_left == 0
    finally:
        store.close()
