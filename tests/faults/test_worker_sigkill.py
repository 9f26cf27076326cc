"""The worker is SIGKILLed again and again while subjects are driven through the REST API with
client retries: every command is recorded exactly once, none is lost, retries get the original
answer, and the chains verify."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from domain.protocol import Protocol
from store.sql import SqlEventStore
from system.gateway import SubjectGateway
from tests.cleanup import terminate_subjects
from tests.faults.driving import Figures, check_exactly_once, drive, resend_all
from tests.web.conftest import Clock
from tests.web.live import PASSWORDS
from tests.workflows.test_worker_crash import WorkerProcess
from web.app import create_app
from web.auth import UserDirectory

pytestmark = [pytest.mark.devserver, pytest.mark.slow]

SUBJECTS = 10
KILLS = 3
DOWN_S = 1.5


async def test_a_worker_killed_repeatedly_loses_and_duplicates_nothing(
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
    subjects = [f"S-WKF{i:02d}-{uuid.uuid4().hex[:4].upper()}" for i in range(SUBJECTS)]
    worker.start()
    try:
        gateway = SubjectGateway(dev_env.client, task_queue, protocol, store=store, wait_s=2.0)
        app = create_app(gateway, store, users, session_secret="s", today=Clock())
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://test",
            auth=("cora", PASSWORDS["cora"]),
            timeout=10.0,
        ) as http:

            async def killer() -> None:
                for _ in range(KILLS):
                    await asyncio.sleep(2.0)
                    await asyncio.to_thread(worker.kill)
                    down = time.monotonic()
                    figures.faults += 1
                    await asyncio.sleep(DOWN_S)
                    worker.start()
                    figures.recovered_at = time.monotonic()
                    figures.fault_s += figures.recovered_at - down

            drivers = [
                drive(http, figures, s, protocol, pace=0.5 + 0.2 * i)
                for i, s in enumerate(subjects)
            ]
            await asyncio.wait_for(asyncio.gather(killer(), *drivers), timeout=300)
            figures.done_at = time.monotonic()
            await resend_all(http, figures, store)
        await terminate_subjects(dev_env.client, store)
        check_exactly_once(store, figures, subjects)
        print("\n" + figures.line("Worker SIGKILL figures", SUBJECTS))
    finally:
        worker.stop()
        store.close()
