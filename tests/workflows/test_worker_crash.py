"""A worker killed with SIGKILL mid-lifecycle: a new worker finishes the subject, nothing lost."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from domain import commands as c
from domain.events import verify_chain
from domain.protocol import Protocol
from domain.subject import fold
from domain.values import Phase
from store.sql import SqlEventStore
from system.gateway import SubjectGateway
from tests.workflows.harness import COORDINATOR, SubjectDriver, new_subject
from workflows.subject import SubjectWorkflow, workflow_id_for

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.devserver


class WorkerProcess:
    """`python worker.py` as production runs it, pointed at the test's server and store."""

    def __init__(self, address: str, task_queue: str, store_url: str, log: Path) -> None:
        self.env = {
            **os.environ,
            "TEMPORAL_ADDRESS": address,
            "JY231_TASK_QUEUE": task_queue,
            "EVENT_STORE_URL": store_url,
            "LOG_FORMAT": "json",
        }
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, str(ROOT / "worker.py")],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        assert self.proc.wait(timeout=10) == -signal.SIGKILL

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=15)


@pytest.fixture
def worker_factory(
    tmp_path: Path, dev_env: WorkflowEnvironment, task_queue: str
) -> Iterator[tuple[WorkerProcess, str]]:
    url = f"sqlite:///{tmp_path}/events.db"
    address = dev_env.client.service_client.config.target_host
    proc = WorkerProcess(address, task_queue, url, tmp_path / "worker.log")
    try:
        yield proc, url
    finally:
        proc.stop()


async def test_subject_finishes_after_the_worker_is_killed_mid_lifecycle(
    dev_env: WorkflowEnvironment,
    worker_factory: tuple[WorkerProcess, str],
    task_queue: str,
    short_protocol: Protocol,
) -> None:
    worker, url = worker_factory
    worker.start()
    gateway = SubjectGateway(dev_env.client, task_queue, short_protocol)
    driver = SubjectDriver(dev_env, gateway, new_subject())
    await driver.register("SS")
    await driver.consent()
    await driver.screening("SS")
    await driver.eligible_and_enrolled()

    worker.kill()
    # This update is sent while no worker runs; it must wait, not fail or be lost.
    pending = asyncio.create_task(
        driver.send(
            COORDINATOR,
            c.RecordApheresis(
                occurred_at=await driver.now(), collected_on=await driver.today(), volume_ml=150
            ),
        )
    )
    await asyncio.sleep(1.0)
    assert not pending.done()
    worker.start()
    await asyncio.wait_for(pending, timeout=60)

    await driver.send(
        COORDINATOR,
        c.RecordProductRelease(
            occurred_at=await driver.now(),
            lot="LOT-K",
            released_on=await driver.today(),
            total_tu=5e9,
        ),
    )
    infusion_date = await driver.lymphodepletion(0)
    await driver.give_ld_doses()
    worker.kill()
    worker.start()
    await driver.infuse(infusion_date)
    for code in ("D0", "M1", "M2", "M3", "M6", "M12"):
        await driver.complete_visit(code)
    handle = dev_env.client.get_workflow_handle_for(
        SubjectWorkflow.run, workflow_id_for(driver.subject_id)
    )
    final = await asyncio.wait_for(handle.result(), timeout=60)
    assert final.phase is Phase.COMPLETED

    store = SqlEventStore(url)
    try:
        events = store.read_stream(driver.subject_id)
        assert [e.seq for e in events] == list(range(1, len(events) + 1))
        assert len({e.hash for e in events}) == len(events)
        assert [e.type for e in events].count("apheresis.recorded") == 1
        assert verify_chain(driver.subject_id, store.read_raw(driver.subject_id)) is None
        assert fold(events) == final
    finally:
        store.close()
