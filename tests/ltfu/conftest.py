"""Fixtures for long-term follow-up: the amended protocol (v2.0) that carries it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from temporalio.testing import WorkflowEnvironment

from domain.protocol import Protocol, load_protocol
from store.sql import SqlEventStore
from system.gateway import SubjectGateway
from tests.cleanup import terminate_subjects
from worker import build_worker


@pytest.fixture(scope="session")
def protocol_v2() -> Protocol:
    return load_protocol("2.0")


@pytest.fixture
async def gateway_v2(
    time_env: WorkflowEnvironment,
    sqlite_store: SqlEventStore,
    task_queue: str,
    protocol_v2: Protocol,
) -> AsyncIterator[SubjectGateway]:
    """A worker on the time-skipping server; subjects start under the amended protocol."""
    async with build_worker(time_env.client, sqlite_store, task_queue):
        yield SubjectGateway(time_env.client, task_queue, protocol_v2)
        await terminate_subjects(time_env.client, sqlite_store)
