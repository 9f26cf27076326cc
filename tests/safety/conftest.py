"""A worker on the test's own time-skipping server, with a notification outbox to read."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from domain.protocol import Protocol
from store.sql import SqlEventStore
from system.gateway import StudyGateway, SubjectGateway
from worker import build_worker


@pytest.fixture
def outbox(tmp_path: Path) -> Path:
    return tmp_path / "notifications.jsonl"


@pytest.fixture
async def subjects(
    time_env: WorkflowEnvironment,
    sqlite_store: SqlEventStore,
    task_queue: str,
    protocol: Protocol,
    outbox: Path,
) -> AsyncIterator[SubjectGateway]:
    async with build_worker(time_env.client, sqlite_store, task_queue, outbox):
        yield SubjectGateway(time_env.client, task_queue, protocol)


def quiet_protocol(protocol: Protocol) -> Protocol:
    """No daily monitoring: the cohort tests look at the DLT window, not the daily records."""
    return protocol.model_copy(
        update={"safety": protocol.safety.model_copy(update={"daily_monitoring_days": 0})}
    )


@pytest.fixture
async def study(
    time_env: WorkflowEnvironment,
    sqlite_store: SqlEventStore,
    task_queue: str,
    protocol: Protocol,
    outbox: Path,
) -> AsyncIterator[tuple[StudyGateway, SubjectGateway]]:
    quiet = quiet_protocol(protocol)
    async with build_worker(time_env.client, sqlite_store, task_queue, outbox):
        study = StudyGateway(time_env.client, task_queue, quiet)
        await study.start()
        yield study, SubjectGateway(time_env.client, task_queue, quiet, study.workflow_id)
