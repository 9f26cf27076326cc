"""Fixtures for the API, browser and CLI tests: the real worker, the app and a live server."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import date

import httpx
import pytest
from fastapi import FastAPI
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from domain.protocol import Protocol
from store.sql import SqlEventStore
from system.gateway import StudyGateway, SubjectGateway
from tests.web.live import PASSWORDS, USERS_FILE, LiveServer
from web.app import create_app
from web.auth import UserDirectory
from worker import build_worker
from workflows.subject import workflow_id_for


class Clock:
    """The web app's "today"; tests move it to see visits become due or overdue."""

    def __init__(self) -> None:
        self.value: date | None = None

    def __call__(self) -> date:
        return self.value or date.today()


@pytest.fixture(scope="session")
def users() -> UserDirectory:
    return UserDirectory.load(USERS_FILE)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def gateway(
    time_env: WorkflowEnvironment, sqlite_store: SqlEventStore, task_queue: str, protocol: Protocol
) -> AsyncIterator[SubjectGateway]:
    async with build_worker(time_env.client, sqlite_store, task_queue):
        yield SubjectGateway(time_env.client, task_queue, protocol, store=sqlite_store)
        await _terminate_subjects(time_env, sqlite_store)


async def _terminate_subjects(env: WorkflowEnvironment, store: SqlEventStore) -> None:
    """End this test's workflows while their worker still runs.

    The session-wide time-skipping server will not skip time while any workflow has a task
    that no worker polls for; workflows left behind by a finished test would make the next
    test's ``env.sleep`` time out.
    """
    for stream in store.streams():
        # The study stream's workflow id is the stream id; a subject's is derived from it.
        is_study = stream.startswith("study-")
        handle = env.client.get_workflow_handle(stream if is_study else workflow_id_for(stream))
        with contextlib.suppress(RPCError):
            await handle.terminate("test finished")


@pytest.fixture
def study(time_env: WorkflowEnvironment, task_queue: str, protocol: Protocol) -> StudyGateway:
    """The app's study gateway; a test starts the workflow when it needs one running."""
    return StudyGateway(time_env.client, task_queue, protocol)


@pytest.fixture
def app(
    gateway: SubjectGateway,
    study: StudyGateway,
    sqlite_store: SqlEventStore,
    users: UserDirectory,
    clock: Clock,
) -> FastAPI:
    return create_app(
        gateway, sqlite_store, users, session_secret="test-secret", today=clock, study=study
    )


ClientFor = Callable[[str | None], httpx.AsyncClient]


@pytest.fixture
async def client_for(app: FastAPI) -> AsyncIterator[ClientFor]:
    """An httpx client on the app, authenticated as the given demo user (None: anonymous)."""
    opened: list[httpx.AsyncClient] = []

    def make(username: str | None) -> httpx.AsyncClient:
        auth = (username, PASSWORDS[username]) if username else None
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test", auth=auth
        )
        opened.append(client)
        return client

    yield make
    for client in opened:
        await client.aclose()


@pytest.fixture
def subject_id() -> str:
    return f"S-{uuid.uuid4().hex[:8].upper()}"


@pytest.fixture
async def live_worker(
    time_env: WorkflowEnvironment, sqlite_store: SqlEventStore, task_queue: str
) -> AsyncIterator[None]:
    async with build_worker(time_env.client, sqlite_store, task_queue):
        yield
        await _terminate_subjects(time_env, sqlite_store)


@pytest.fixture
def live_server(
    time_env: WorkflowEnvironment,
    live_worker: None,
    sqlite_store: SqlEventStore,
    users: UserDirectory,
    clock: Clock,
    task_queue: str,
    protocol: Protocol,
) -> Iterator[LiveServer]:
    # ``live_worker`` keeps the worker polling on the test's loop while the server runs.
    target = time_env.client.service_client.config.target_host
    server = LiveServer(target, task_queue, protocol, sqlite_store, users, clock).start()
    try:
        yield server
    finally:
        server.stop()
