"""The event store's PostgreSQL goes down while subjects are driven through the REST API with
client retries: afterwards every command is recorded exactly once, none is lost, every retry is
answered with the original result and the audit chain verifies.

The database is a private cluster started by the test (tests/faults/pgcluster.py), stopped for
OUTAGE_S seconds in the middle of the run and started again; the shared server is never touched.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from domain.protocol import Protocol
from store.sql import SqlEventStore
from system.gateway import SubjectGateway
from tests.cleanup import terminate_subjects
from tests.faults.driving import Figures, check_exactly_once, drive, resend_all
from tests.faults.pgcluster import PrivateCluster, postgres_bin
from tests.web.conftest import Clock
from tests.web.live import PASSWORDS
from web.app import create_app
from web.auth import UserDirectory
from worker import build_worker

pytestmark = [pytest.mark.devserver, pytest.mark.slow]

SUBJECTS = 12
OUTAGE_S = 8.0
# A client gives up on one request after this long and sends it again with the same key.
CLIENT_TIMEOUT_S = 10.0


@pytest.fixture
def cluster() -> Iterator[PrivateCluster]:
    bin_dir = postgres_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    made = PrivateCluster(bin_dir)
    made.start()
    try:
        yield made
    finally:
        made.destroy()


async def test_a_postgres_outage_loses_and_duplicates_nothing(
    dev_env: WorkflowEnvironment,
    cluster: PrivateCluster,
    task_queue: str,
    protocol: Protocol,
    users: UserDirectory,
    tmp_path: Path,
) -> None:
    store = SqlEventStore(cluster.url)
    figures = Figures()
    subjects = [f"S-PGF{i:02d}-{uuid.uuid4().hex[:4].upper()}" for i in range(SUBJECTS)]
    try:
        async with build_worker(dev_env.client, store, task_queue, tmp_path / "alerts.jsonl"):
            gateway = SubjectGateway(dev_env.client, task_queue, protocol, store=store, wait_s=2.0)
            app = create_app(gateway, store, users, session_secret="s", today=Clock())
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app),
                base_url="http://test",
                auth=("cora", PASSWORDS["cora"]),
                timeout=CLIENT_TIMEOUT_S,
            ) as http:

                async def outage() -> None:
                    await asyncio.sleep(1.0)
                    await asyncio.to_thread(cluster.stop)
                    down = time.monotonic()
                    figures.faults += 1
                    await asyncio.sleep(OUTAGE_S)
                    await asyncio.to_thread(cluster.start)
                    figures.recovered_at = time.monotonic()
                    figures.fault_s = figures.recovered_at - down

                drivers = [
                    drive(http, figures, s, protocol, pace=0.3 + 0.1 * i)
                    for i, s in enumerate(subjects)
                ]
                await asyncio.wait_for(asyncio.gather(outage(), *drivers), timeout=300)
                figures.done_at = time.monotonic()
                await resend_all(http, figures, store)
            await terminate_subjects(dev_env.client, store)
        check_exactly_once(store, figures, subjects)
        print("\n" + figures.line("PostgreSQL outage figures", SUBJECTS))
    finally:
        store.close()
