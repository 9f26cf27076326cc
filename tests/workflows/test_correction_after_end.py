"""A subject whose participation has ended still takes a correction; the chain continues."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from temporalio.testing import WorkflowEnvironment

from domain import commands as c
from domain.errors import WrongPhase
from domain.events import verify_chain
from domain.protocol import Protocol
from domain.subject import fold
from domain.values import Phase
from store.sql import SqlEventStore
from system.gateway import SubjectGateway
from tests.cleanup import terminate_subjects
from tests.workflows.harness import INVESTIGATOR, PI, SubjectDriver, new_subject
from worker import build_worker
from workflows.subject import SubjectWorkflow, workflow_id_for


@pytest.fixture
async def reopening_gateway(
    time_env: WorkflowEnvironment, sqlite_store: SqlEventStore, task_queue: str, protocol: Protocol
) -> AsyncIterator[SubjectGateway]:
    async with build_worker(time_env.client, sqlite_store, task_queue):
        yield SubjectGateway(time_env.client, task_queue, protocol, store=sqlite_store)
        await terminate_subjects(time_env.client, sqlite_store)


async def screen_failed(driver: SubjectDriver) -> None:
    await driver.register("SSc")
    await driver.consent()
    await driver.screening("SSc", hemoglobin={"value": 55, "unit": "g/L"})
    await driver.send(
        PI, c.SignEligibility(occurred_at=await driver.now(), decision="not_eligible")
    )
    handle = driver.env.client.get_workflow_handle_for(
        SubjectWorkflow.run, workflow_id_for(driver.subject_id)
    )
    assert (await handle.result()).phase is Phase.SCREEN_FAILED


async def test_a_correction_after_the_workflow_ended_reopens_it_for_that_decision(
    time_env: WorkflowEnvironment, reopening_gateway: SubjectGateway, sqlite_store: SqlEventStore
) -> None:
    driver = SubjectDriver(time_env, reopening_gateway, new_subject())
    await screen_failed(driver)

    result = await driver.send(
        INVESTIGATOR,
        c.RecordCorrection(
            occurred_at=await driver.now(),
            target_seq=1,
            field="sex",
            new_value="male",
            reason="source document check: the registration form was mis-keyed",
        ),
    )

    assert [e.type for e in result.events] == ["correction.recorded"]
    assert result.summary is not None
    assert result.summary.phase is Phase.SCREEN_FAILED
    events = sqlite_store.read_stream(driver.subject_id)
    assert events[-1].type == "correction.recorded"
    assert verify_chain(driver.subject_id, sqlite_store.read_raw(driver.subject_id)) is None
    handle = time_env.client.get_workflow_handle_for(
        SubjectWorkflow.run, workflow_id_for(driver.subject_id)
    )
    final = await handle.result()
    assert final.sex == "male"
    assert fold(events) == final


async def test_other_commands_to_an_ended_subject_are_refused(
    time_env: WorkflowEnvironment, reopening_gateway: SubjectGateway, sqlite_store: SqlEventStore
) -> None:
    driver = SubjectDriver(time_env, reopening_gateway, new_subject())
    await screen_failed(driver)
    count = sqlite_store.count_events()
    with pytest.raises(WrongPhase, match="ended participation \\(screen_failed\\)"):
        await driver.send(
            INVESTIGATOR,
            c.EnrollSubject(occurred_at=await driver.now(), dose_level="DL1", route="intravenous"),
        )
    assert sqlite_store.count_events() == count
