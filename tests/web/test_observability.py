"""Operators see the system: /healthz, /readyz naming what is down, Prometheus metrics of the
app and of Temporal's SDK, and one trace from the API request down to the store."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from domain.protocol import Protocol
from store.sql import SqlEventStore
from store.traced import traced
from system.gateway import SubjectGateway
from system.metrics import AppMetrics, CommandMetricsInterceptor
from system.telemetry import ActivityMetricsInterceptor, tracing_interceptors, worker_runtime
from tests.web.live import PASSWORDS
from web.app import create_app
from web.auth import UserDirectory
from worker import build_worker

pytestmark = [pytest.mark.devserver]

_SPANS = InMemorySpanExporter()


def _tracer_provider() -> None:
    # The global provider can be set once per process; this module is its only user in tests.
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(_SPANS))
        trace.set_tracer_provider(provider)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _registration(subject_id: str) -> dict[str, str]:
    return {
        "occurred_at": datetime.now(UTC).isoformat(),
        "subject_id": subject_id,
        "disease": "SLE",
        "sex": "female",
        "birth_date": "1980-06-15",
    }


@pytest.fixture
def task_queue() -> str:
    return f"ops-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def cora(
    dev_env: WorkflowEnvironment,
    sqlite_store: SqlEventStore,
    users: UserDirectory,
    protocol: Protocol,
    task_queue: str,
) -> AsyncIterator[tuple[httpx.AsyncClient, AppMetrics]]:
    """The app on the real dev server with the production interceptors, a worker polling."""
    _tracer_provider()
    metrics = AppMetrics()
    client = Client(
        **{
            **dev_env.client.config(),
            "interceptors": [CommandMetricsInterceptor(metrics), *tracing_interceptors(True)],
        }
    )
    store = traced(sqlite_store)
    gateway = SubjectGateway(client, task_queue, protocol)
    app = create_app(gateway, store, users, session_secret="s", metrics=metrics)
    async with (
        build_worker(client, store, task_queue, interceptors=[ActivityMetricsInterceptor()]),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://test",
            auth=("cora", PASSWORDS["cora"]),
        ) as http,
    ):
        yield http, metrics


async def test_healthz_answers_without_credentials_or_dependencies(
    cora: tuple[httpx.AsyncClient, AppMetrics],
) -> None:
    http, _ = cora
    response = await http.get("/healthz", auth=None)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_is_ready_when_temporal_a_worker_and_the_store_answer(
    cora: tuple[httpx.AsyncClient, AppMetrics],
) -> None:
    http, _ = cora
    # A new worker shows among the task queue's pollers once its first poll has arrived.
    for _ in range(50):
        response = await http.get("/readyz")
        if response.status_code == 200:
            break
        await asyncio.sleep(0.2)
    assert response.status_code == 200, response.text
    assert response.json()["checks"] == {"temporal": "ok", "worker": "ok", "store": "ok"}


async def test_readyz_names_the_missing_worker_and_the_unreachable_store_with_503(
    dev_env: WorkflowEnvironment, users: UserDirectory, protocol: Protocol
) -> None:
    gateway = SubjectGateway(dev_env.client, f"nobody-polls-{uuid.uuid4().hex[:6]}", protocol)
    # A real PostgreSQL URL on which nothing listens: the store as it is while its server is down.
    dead_store = SqlEventStore(
        f"postgresql+psycopg://nobody@127.0.0.1:{_free_port()}/none", migrate=False
    )
    app = create_app(gateway, dead_store, users, session_secret="s")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as http:
        response = await http.get("/readyz")
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    checks = response.json()["checks"]
    assert checks["temporal"] == "ok"
    assert "no worker polls" in checks["worker"]
    assert checks["store"].startswith("unreachable")


async def test_metrics_count_commands_by_type_and_outcome_with_their_latency(
    cora: tuple[httpx.AsyncClient, AppMetrics],
) -> None:
    http, _ = cora
    subject = f"OBS-{uuid.uuid4().hex[:6].upper()}"
    assert (await http.post("/api/subjects", json=_registration(subject))).status_code == 201
    refused = await http.post(
        f"/api/subjects/{subject}/commands",
        json={"type": "sign_eligibility", "occurred_at": datetime.now(UTC).isoformat()},
    )
    assert refused.status_code in (409, 422)
    text = (await http.get("/metrics")).text
    assert 'jy231_commands_total{command="register",outcome="applied"} 1.0' in text
    assert 'jy231_command_seconds_count{command="register"} 1.0' in text
    assert "jy231_overdue_visits" in text


async def test_worker_metrics_endpoint_serves_temporal_sdk_and_activity_timings(
    dev_env: WorkflowEnvironment,
    sqlite_store: SqlEventStore,
    protocol: Protocol,
    task_queue: str,
) -> None:
    bind = f"127.0.0.1:{_free_port()}"
    runtime = worker_runtime(bind)
    assert runtime is not None
    client = await Client.connect(
        dev_env.client.service_client.config.target_host,
        runtime=runtime,
        data_converter=dev_env.client.data_converter,
    )
    gateway = SubjectGateway(client, task_queue, protocol)
    async with build_worker(
        client, sqlite_store, task_queue, interceptors=[ActivityMetricsInterceptor()]
    ):
        from domain.actors import Actor, Role
        from domain.commands import RegisterSubject

        command = RegisterSubject.model_validate(
            _registration(f"OBS-{uuid.uuid4().hex[:6].upper()}")
        )
        await gateway.register(command, Actor(user_id="cora", role=Role.COORDINATOR))
        async with httpx.AsyncClient() as http:
            text = (await http.get(f"http://{bind}/metrics")).text
    assert "temporal_workflow_task_execution_latency" in text
    assert 'jy231_activity_latency_bucket{activity="append_events"' in text


async def test_one_trace_runs_from_the_api_request_through_the_update_and_activity_to_the_store(
    cora: tuple[httpx.AsyncClient, AppMetrics],
) -> None:
    http, _ = cora
    _SPANS.clear()
    subject = f"TRC-{uuid.uuid4().hex[:6].upper()}"
    assert (await http.post("/api/subjects", json=_registration(subject))).status_code == 201
    spans = _SPANS.get_finished_spans()
    api = next(s for s in spans if s.name == "POST /api/subjects")
    assert api.context is not None
    same_trace = [s.name for s in spans if s.context and s.context.trace_id == api.context.trace_id]
    assert any("UpdateWithStart" in name or "StartWorkflowUpdate" in name for name in same_trace)
    assert any(name.startswith("HandleUpdate:submit") for name in same_trace), same_trace
    assert "RunActivity:append_events" in same_trace, same_trace
    assert "store.append" in same_trace, same_trace
