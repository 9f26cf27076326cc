"""A time-skipping server of their own for the safety tests, a worker and a notification outbox.

Each test gets a fresh server: subjects left mid-follow-up keep timers that would otherwise
hold the shared clock for the next test once this test's worker has gone.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from domain.protocol import Protocol
from store.sql import SqlEventStore
from system.gateway import StudyGateway, SubjectGateway
from worker import build_worker

BIN = Path(sys.executable).parent


@pytest.fixture
async def safety_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(BIN / "temporal-test-server"),
        data_converter=pydantic_data_converter,
    )
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture
def outbox(tmp_path: Path) -> Path:
    return tmp_path / "notifications.jsonl"


@pytest.fixture
async def subjects(
    safety_env: WorkflowEnvironment,
    sqlite_store: SqlEventStore,
    task_queue: str,
    protocol: Protocol,
    outbox: Path,
) -> AsyncIterator[SubjectGateway]:
    async with build_worker(safety_env.client, sqlite_store, task_queue, outbox):
        yield SubjectGateway(safety_env.client, task_queue, protocol)


def quiet_protocol(protocol: Protocol) -> Protocol:
    """No daily monitoring: the cohort tests look at the DLT window, not the daily records."""
    return protocol.model_copy(
        update={"safety": protocol.safety.model_copy(update={"daily_monitoring_days": 0})}
    )


@pytest.fixture
async def study(
    safety_env: WorkflowEnvironment,
    sqlite_store: SqlEventStore,
    task_queue: str,
    protocol: Protocol,
    outbox: Path,
) -> AsyncIterator[tuple[StudyGateway, SubjectGateway]]:
    quiet = quiet_protocol(protocol)
    async with build_worker(safety_env.client, sqlite_store, task_queue, outbox):
        study = StudyGateway(safety_env.client, task_queue, quiet)
        await study.start()
        yield study, SubjectGateway(safety_env.client, task_queue, quiet, study.workflow_id)
