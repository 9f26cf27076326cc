"""Continue-as-new when Temporal suggests it, carrying the folded state into the next run."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from domain.protocol import Protocol
from domain.subject import fold
from domain.values import Phase
from store.sql import SqlEventStore
from system.codec import default_data_converter
from system.gateway import SubjectGateway
from tests.workflows.harness import SubjectDriver, new_subject
from worker import build_worker
from workflows.subject import SubjectWorkflow, workflow_id_for

pytestmark = pytest.mark.devserver


@pytest.fixture(scope="module")
async def eager_env() -> AsyncIterator[WorkflowEnvironment]:
    """A dev server that suggests continue-as-new after 40 history events instead of 4 K."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(Path(sys.executable).parent / "temporal"),
        data_converter=default_data_converter(),
        dev_server_extra_args=[
            "--dynamic-config-value", "limit.historyCount.suggestContinueAsNew=40",
        ],
    )  # fmt: skip
    try:
        yield env
    finally:
        await env.shutdown()


async def test_long_history_continues_as_new_with_the_folded_state(
    eager_env: WorkflowEnvironment,
    sqlite_store: SqlEventStore,
    task_queue: str,
    short_protocol: Protocol,
) -> None:
    async with build_worker(eager_env.client, sqlite_store, task_queue):
        gateway = SubjectGateway(eager_env.client, task_queue, short_protocol)
        driver = SubjectDriver(eager_env, gateway, new_subject())
        infusion_date = await driver.to_infusion("DM", infusion_in_days=0)
        assert infusion_date == await driver.today()
        for code in ("D0", "M1", "M2", "M3", "M6", "M12"):
            await driver.complete_visit(code)
        handle = eager_env.client.get_workflow_handle_for(
            SubjectWorkflow.run, workflow_id_for(driver.subject_id)
        )
        final = await handle.result()

    runs = [
        w
        async for w in eager_env.client.list_workflows(
            f"WorkflowId = '{workflow_id_for(driver.subject_id)}'"
        )
    ]
    assert len(runs) >= 2, "the workflow should have continued as new at least once"
    assert final.phase is Phase.COMPLETED
    assert fold(sqlite_store.read_stream(driver.subject_id)) == final
