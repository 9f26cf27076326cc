"""Fifty registrations sent to the REST API at once, each by a client that retries a 202, a 503
or a timeout with its Idempotency-Key: no answer is a server error, and every subject is
registered exactly once. The figures (answers, retries, latencies) are printed; nothing here
asserts a time."""

from __future__ import annotations

import asyncio
import os
import statistics
import time
import uuid
from pathlib import Path

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from domain.events import verify_chain
from domain.protocol import Protocol
from store.sql import SqlEventStore
from system.gateway import SubjectGateway
from tests.cleanup import terminate_subjects
from tests.faults.driving import Figures, resend_all, send
from tests.web.conftest import Clock
from tests.workflows.test_worker_crash import WorkerProcess
from web.app import create_app
from web.auth import UserDirectory

pytestmark = [pytest.mark.devserver, pytest.mark.slow]

# One to warm up, then fifty at once.
SUBJECTS = 51
# Short, so that a loaded worker makes some answers 202 and the retry path is exercised; the web
# app's default is 20 s (JY231_COMMAND_WAIT_S), which JY231_LOAD_WAIT_S=20 measures.
WAIT_S = float(os.environ.get("JY231_LOAD_WAIT_S", "3"))
ANSWERS = {200, 201, 202, 503}


async def test_fifty_concurrent_registrations_get_no_server_error_and_register_each_once(
    dev_env: WorkflowEnvironment,
    task_queue: str,
    protocol: Protocol,
    users: UserDirectory,
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'events.db'}"
    store = SqlEventStore(url)
    address = dev_env.client.service_client.config.target_host
    worker = WorkerProcess(address, task_queue, url, tmp_path / "worker.log")
    worker.env["JY231_WORKER_METRICS"] = ""
    figures = Figures()
    subjects = [f"S-LOAD{i:02d}-{uuid.uuid4().hex[:4].upper()}" for i in range(SUBJECTS)]
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    latencies: list[float] = []
    worker.start()
    try:
        gateway = SubjectGateway(dev_env.client, task_queue, protocol, store=store, wait_s=WAIT_S)
        app = create_app(gateway, store, users, session_secret="s", today=Clock())
        # A bearer token: fifty HTTP Basic logins would measure argon2, not the write path.
        token = app.state.ctx.security.create_token("cora", "coordinator", "load test")
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://test",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30.0,
        ) as http:

            async def register(subject_id: str, into: Figures) -> None:
                body = {
                    "occurred_at": stamp,
                    "subject_id": subject_id,
                    "disease": "SLE",
                    "sex": "female",
                    "birth_date": "1980-06-15",
                }
                started = time.monotonic()
                await send(http, into, "/api/subjects", body)
                latencies.append(time.monotonic() - started)

            # One registration first, retried until the worker process has started polling, so
            # the figures are of the write path and not of a worker starting up.
            warm_up = Figures()
            await asyncio.wait_for(register(subjects[0], warm_up), timeout=300)
            latencies.clear()
            began = time.monotonic()
            concurrent = [register(s, figures) for s in subjects[1:]]
            await asyncio.wait_for(asyncio.gather(*concurrent), timeout=600)
            elapsed = time.monotonic() - began
            assert set(figures.answers) | set(warm_up.answers) <= ANSWERS, figures.answers
            await resend_all(http, figures, store)
            await resend_all(http, warm_up, store)
        await terminate_subjects(dev_env.client, store)
        for subject in subjects:
            events = store.read_stream(subject)
            assert [e.type for e in events] == ["subject.registered"], subject
            assert verify_chain(subject, store.read_raw(subject)) is None
        for key in [*figures.sent, *warm_up.sent]:
            assert len(store.command_events(key)) == 1
        assert store.count_events() == SUBJECTS
        ordered = sorted(latencies)
        print(
            f"\nConcurrent registrations: subjects={SUBJECTS - 1} attempts={figures.attempts} "
            f"retried={figures.retried_commands} answers={dict(figures.answers)} "
            f"client_timeouts={figures.client_timeouts} wall_s={elapsed:.1f} "
            f"latency_s p50={statistics.median(ordered):.2f} "
            f"p95={ordered[int(0.95 * (len(ordered) - 1))]:.2f} max={ordered[-1]:.2f} "
            "duplicates=0 lost=0 verify=clean"
        )
    finally:
        worker.stop()
        store.close()
