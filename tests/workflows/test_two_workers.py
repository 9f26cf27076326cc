"""Two worker processes on one task queue share the subjects' workflow tasks and activities."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType, TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.testing import WorkflowEnvironment

from domain import commands as c
from domain.events import verify_chain
from domain.protocol import Protocol
from store.sql import SqlEventStore
from system.gateway import SubjectGateway
from tests.workflows.harness import COORDINATOR, SubjectDriver, new_subject
from tests.workflows.test_worker_crash import WorkerProcess
from workflows.subject import workflow_id_for

pytestmark = [pytest.mark.devserver, pytest.mark.postgres]

SUBJECTS = 12


async def _pollers(env: WorkflowEnvironment, task_queue: str) -> set[str]:
    described = await env.client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=env.client.namespace,
            task_queue=TaskQueue(name=task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
        )
    )
    return {p.identity for p in described.pollers}


async def test_two_worker_processes_both_process_commands(
    dev_env: WorkflowEnvironment,
    postgres_database_url: Callable[[str], str],
    task_queue: str,
    protocol: Protocol,
    tmp_path: Path,
) -> None:
    url = postgres_database_url("two_workers")
    store = SqlEventStore(url)  # migrated once, before both workers open it
    address = dev_env.client.service_client.config.target_host
    workers = [
        WorkerProcess(address, task_queue, url, tmp_path / f"worker-{n}.log") for n in (1, 2)
    ]
    try:
        for worker in workers:
            worker.start()
        # Wait until both show as pollers, but only as a head start: a poll that lands on a
        # child partition of the task queue can stay out of the root's poller list for a while,
        # and the histories below are what proves both workers processed commands.
        for _ in range(300):
            if len(await _pollers(dev_env, task_queue)) == 2:
                break
            await asyncio.sleep(0.1)

        gateway = SubjectGateway(dev_env.client, task_queue, protocol)
        drivers = [SubjectDriver(dev_env, gateway, new_subject()) for _ in range(SUBJECTS)]

        async def commands(driver: SubjectDriver) -> None:
            await driver.register()
            await driver.consent()
            await driver.send(
                COORDINATOR,
                c.WithdrawConsent(
                    occurred_at=await driver.now(),
                    withdrawn_on=await driver.today(),
                    reason="moved away",
                ),
            )

        await asyncio.gather(*(commands(d) for d in drivers))

        workflow_workers: set[str] = set()
        activity_workers: set[str] = set()
        for driver in drivers:
            history = await dev_env.client.get_workflow_handle(
                workflow_id_for(driver.subject_id)
            ).fetch_history()
            for event in history.events:
                if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
                    workflow_workers.add(event.workflow_task_completed_event_attributes.identity)
                if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
                    activity_workers.add(event.activity_task_started_event_attributes.identity)
            assert len(store.read_stream(driver.subject_id)) >= 3
            assert verify_chain(driver.subject_id, store.read_raw(driver.subject_id)) is None
    finally:
        for worker in workers:
            worker.stop()
        store.close()

    assert len(workflow_workers) == 2, workflow_workers
    assert len(activity_workers) == 2, activity_workers
