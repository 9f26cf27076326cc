"""Honest answers while a dependency is down: 202 with the command id, or 503 naming it."""

from __future__ import annotations

import asyncio
import socket
import uuid

import httpx
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from domain.protocol import Protocol
from simulation.runner import TEST_SERVER_STARTUP
from store.sql import SqlEventStore
from system.gateway import SubjectGateway
from tests.conftest import BIN
from tests.web.conftest import Clock
from tests.web.live import PASSWORDS
from tests.web.test_api import register_body
from web.app import create_app
from web.auth import UserDirectory
from worker import build_worker


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def client_for(app: object) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),  # type: ignore[arg-type]
        base_url="http://test",
        auth=("cora", PASSWORDS["cora"]),
    )


async def test_a_command_no_worker_answers_in_time_is_a_202_and_applies_once_it_runs(
    time_env: WorkflowEnvironment,
    sqlite_store: SqlEventStore,
    task_queue: str,
    protocol: Protocol,
    users: UserDirectory,
    clock: Clock,
) -> None:
    gateway = SubjectGateway(time_env.client, task_queue, protocol, store=sqlite_store, wait_s=1.0)
    app = create_app(gateway, sqlite_store, users, session_secret="s", today=clock)
    subject_id = f"S-{uuid.uuid4().hex[:8].upper()}"
    key = str(uuid.uuid4())
    body = await register_body(time_env, subject_id)
    async with client_for(app) as cora:
        pending = await cora.post("/api/subjects", json=body, headers={"Idempotency-Key": key})
        assert pending.status_code == 202, pending.text
        assert pending.json()["command_id"] == key
        assert pending.headers["Location"] == f"/api/commands/{key}"
        assert (await cora.get(f"/api/commands/{key}")).json()["status"] == "pending"

        async with build_worker(time_env.client, sqlite_store, task_queue):
            for _ in range(200):
                status = (await cora.get(f"/api/commands/{key}")).json()
                if status["status"] == "applied":
                    break
                await asyncio.sleep(0.1)
            assert status["status"] == "applied"
            # The client retries with its key: the first outcome, nothing recorded twice.
            again = await cora.post("/api/subjects", json=body, headers={"Idempotency-Key": key})
            assert again.status_code == 201, again.text
            assert [e.type for e in sqlite_store.read_stream(subject_id)] == ["subject.registered"]
            handle = time_env.client.get_workflow_handle(f"subject-{subject_id}")
            await handle.terminate("test finished")


async def test_temporal_unreachable_is_a_503_naming_it_with_retry_after(
    sqlite_store: SqlEventStore, protocol: Protocol, users: UserDirectory, clock: Clock
) -> None:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(BIN / "temporal-test-server"),
        data_converter=pydantic_data_converter,
        test_server_startup_timeout=TEST_SERVER_STARTUP,
    )
    target = env.client.service_client.config.target_host
    client = await Client.connect(target, data_converter=pydantic_data_converter)
    await env.shutdown()  # Temporal goes away under the running app
    gateway = SubjectGateway(client, "tq-none", protocol, store=sqlite_store, wait_s=5.0)
    app = create_app(gateway, sqlite_store, users, session_secret="s", today=clock)
    async with client_for(app) as cora:
        read = await cora.get("/api/subjects/S-ANY1")
        write = await cora.post(
            "/api/subjects",
            json={
                "occurred_at": "2026-03-02T09:00:00Z",
                "subject_id": "S-ANY1",
                "disease": "SLE",
                "sex": "female",
                "birth_date": "1980-06-15",
            },
        )
    for response in (read, write):
        assert response.status_code == 503, response.text
        assert response.json()["dependency"] == "Temporal"
        assert int(response.headers["Retry-After"]) > 0


async def test_the_event_store_unreachable_is_a_503_naming_it(
    time_env: WorkflowEnvironment,
    protocol: Protocol,
    users: UserDirectory,
    clock: Clock,
    task_queue: str,
) -> None:
    # Nothing listens on this port: every read of the store fails to connect.
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/jy231?connect_timeout=2"
    store = SqlEventStore(url, migrate=False)
    gateway = SubjectGateway(time_env.client, task_queue, protocol, store=store)
    app = create_app(gateway, store, users, session_secret="s", today=clock)
    try:
        async with client_for(app) as cora:
            response = await cora.get("/api/board")
        assert response.status_code == 503
        assert response.json()["dependency"] == "the event store"
        assert "Retry-After" in response.headers
    finally:
        store.close()
