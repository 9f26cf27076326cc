"""A record the event store refuses fails only its own command: no retry loop, the subject
stays usable, and the site is alerted."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.events import AppendBatch, EventActivities, unstorable
from activities.notifications import read_outbox
from domain import commands as c
from domain.errors import Unstorable
from domain.protocol import Protocol
from domain.values import Phase
from store.errors import InvalidEvent
from store.sql import SqlEventStore
from system.gateway import SubjectGateway
from tests.cleanup import terminate_subjects
from tests.workflows.harness import COORDINATOR, SubjectDriver, new_subject
from tests.workflows.test_append_retry import registration
from worker import build_worker

MARKER = "REFUSED-BY-THE-DATABASE"


def refuse_marker(store: SqlEventStore) -> None:
    """A real constraint in the real database: it refuses any event whose text holds MARKER."""
    with store.engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TRIGGER refuse_marker BEFORE INSERT ON events "
                f"WHEN NEW.envelope LIKE '%{MARKER}%' "
                "BEGIN SELECT RAISE(ABORT, 'value refused by a constraint'); END"
            )
        )


async def test_a_refused_value_fails_its_command_at_once_and_the_subject_goes_on(
    time_env: WorkflowEnvironment,
    sqlite_store: SqlEventStore,
    task_queue: str,
    protocol: Protocol,
    tmp_path: Path,
) -> None:
    refuse_marker(sqlite_store)
    outbox = tmp_path / "alerts.jsonl"
    async with build_worker(time_env.client, sqlite_store, task_queue, outbox):
        gateway = SubjectGateway(time_env.client, task_queue, protocol)
        driver = SubjectDriver(time_env, gateway, new_subject())
        await driver.register()
        consent = c.SignConsent(
            occurred_at=await driver.now(),
            consent_version=protocol.version,
            signed_on=await driver.today(),
            childbearing_potential=True,
            reason=f"note {MARKER}",
        )
        with pytest.raises(Unstorable) as refused:
            await gateway.submit(driver.subject_id, consent, COORDINATOR)
        assert "cannot store" in refused.value.message
        assert len(sqlite_store.read_stream(driver.subject_id)) == 1

        # The same subject accepts the valid command straight after.
        await driver.consent()
        assert (await driver.state()).phase is Phase.CONSENTED
        assert [e.seq for e in sqlite_store.read_stream(driver.subject_id)] == [1, 2]

        alerts = [n for n in read_outbox(outbox) if n.kind == "event.unstorable"]
        assert len(alerts) == 1
        assert alerts[0].subject_id == driver.subject_id
        await terminate_subjects(time_env.client, sqlite_store)


async def test_the_activity_fails_a_malformed_batch_without_retry(
    sqlite_store: SqlEventStore, tmp_path: Path
) -> None:
    outbox = tmp_path / "alerts.jsonl"
    activities = EventActivities(sqlite_store, outbox)
    event = registration("S-BADHASH")[0]
    tampered = event.model_copy(update={"hash": "0" * 64})
    with pytest.raises(Exception) as failed:
        await ActivityEnvironment().run(activities.append_events, AppendBatch(events=(tampered,)))
    assert getattr(failed.value, "non_retryable", False)
    assert sqlite_store.count_events() == 0
    assert [n.kind for n in read_outbox(outbox)] == ["event.unstorable"]


def test_connection_failures_are_retryable_and_value_errors_are_not() -> None:
    from sqlalchemy.exc import DataError, IntegrityError, OperationalError

    assert not unstorable(OperationalError("SELECT 1", {}, ConnectionError("refused")))
    assert not unstorable(ConnectionError("reset"))
    assert not unstorable(TimeoutError())
    assert unstorable(DataError("INSERT", {}, ValueError("NUL")))
    assert unstorable(IntegrityError("INSERT", {}, ValueError("check")))
    assert unstorable(InvalidEvent("bad hash"))
    assert unstorable(ValueError("Out of range float values are not JSON compliant"))
