"""Signals between workflows are sealed too: a slot grant or a study report sent straight to
Temporal (plain, or sealed with another key) is ignored; the study's own grant goes through,
and the history of the sealed path replays."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from activities.seals import SealedSignal
from domain import commands as c
from domain.protocol import Protocol
from domain.signing import Keyring, seal_model
from domain.study import RecordSubjectInfused
from store.sql import SqlEventStore
from system.codec import default_data_converter
from system.gateway import StudyGateway, SubjectGateway
from tests.safety.conftest import quiet_protocol
from tests.safety.test_study_workflow import ready_for_slot
from tests.workflows.harness import COORDINATOR
from worker import build_worker
from workflows.signal_seals import GRANT_PURPOSE, REPORT_PURPOSE
from workflows.subject import SubjectWorkflow, workflow_id_for

STRANGER = Keyring(active="test-s1", keys={"test-s1": secrets.token_bytes(32)})


@pytest.fixture
async def gated(
    time_env: WorkflowEnvironment, sqlite_store: SqlEventStore, task_queue: str, protocol: Protocol
) -> AsyncIterator[tuple[StudyGateway, SubjectGateway]]:
    async with build_worker(time_env.client, sqlite_store, task_queue):
        study = StudyGateway(time_env.client, task_queue, quiet_protocol(protocol))
        await study.start()
        yield study, SubjectGateway(time_env.client, task_queue, study.protocol, study.workflow_id)


async def _handled(client: Client, workflow_id: str, signals: int) -> None:
    """Wait until the workflow has taken ``signals`` signals and finished the task after."""
    handle = client.get_workflow_handle(workflow_id)
    for _ in range(400):
        events = (await handle.fetch_history()).events
        kinds = [e.event_type for e in events]
        seen = [
            i for i, k in enumerate(kinds) if k == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
        ]
        completed = [
            i for i, k in enumerate(kinds) if k == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
        ]
        pending = (
            completed and EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED in kinds[completed[-1] :]
        )
        if len(seen) >= signals and completed and completed[-1] > seen[-1] and not pending:
            return
        await asyncio.sleep(0.025)
    kinds = [EventType.Name(e.event_type) for e in events[-8:]]
    raise AssertionError(f"the signals were never handled: {kinds}")


def _grant(study_id: str) -> c.GrantStudySlot:
    return c.GrantStudySlot(
        occurred_at=datetime.now(UTC), study_id=study_id, dose_level="DL1", sentinel=True
    )


async def test_forged_slot_grants_are_ignored_and_the_studys_own_grant_counts(
    time_env: WorkflowEnvironment,
    gated: tuple[StudyGateway, SubjectGateway],
    sqlite_store: SqlEventStore,
) -> None:
    study, gateway = gated
    driver = await ready_for_slot(time_env, gateway)
    target = workflow_id_for(driver.subject_id)
    handle = time_env.client.get_workflow_handle(target)
    before = len(sqlite_store.read_stream(driver.subject_id))
    grant = _grant(study.workflow_id)
    forged = seal_model(
        SealedSignal(message=grant), purpose=GRANT_PURPOSE, target=target,
        keyring=STRANGER, issued_at=grant.occurred_at,
    )  # fmt: skip

    await handle.signal("grant_slot", grant.model_dump(mode="json"))
    await handle.signal("grant_slot_sealed", forged)
    await handle.signal("grant_slot_sealed", SealedSignal(message=grant))
    await _handled(time_env.client, target, 3)

    assert (await driver.state()).slot_dose_level is None
    assert len(sqlite_store.read_stream(driver.subject_id)) == before

    answer = await study.request_slot(driver.subject_id, "DL1", COORDINATOR)
    assert answer.decision == "granted"
    assert (await driver.state()).slot_dose_level == "DL1"
    history = await handle.fetch_history()
    replayer = Replayer(workflows=[SubjectWorkflow], data_converter=default_data_converter())
    assert (
        await replayer.replay_workflow(history, raise_on_replay_failure=False)
    ).replay_failure is None


async def test_forged_reports_to_the_study_are_ignored(
    time_env: WorkflowEnvironment,
    gated: tuple[StudyGateway, SubjectGateway],
    sqlite_store: SqlEventStore,
) -> None:
    study, gateway = gated
    driver = await ready_for_slot(time_env, gateway)
    await study.request_slot(driver.subject_id, "DL1", COORDINATOR)
    before = len(sqlite_store.read_stream(study.workflow_id))
    # What the subject itself would report after its infusion: the study would count it.
    infused = RecordSubjectInfused(
        occurred_at=await driver.now(), subject_id=driver.subject_id, dose_level="DL1",
        infused_on=await driver.today(),
    )  # fmt: skip
    forged = seal_model(
        SealedSignal(message=infused), purpose=REPORT_PURPOSE, target=study.workflow_id,
        keyring=STRANGER, issued_at=infused.occurred_at,
    )  # fmt: skip
    handle = time_env.client.get_workflow_handle(study.workflow_id)
    signals = sum(
        e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
        for e in (await handle.fetch_history()).events
    )

    await handle.signal("subject_report", infused.model_dump(mode="json"))
    await handle.signal("subject_report_sealed", forged)
    await _handled(time_env.client, study.workflow_id, signals + 2)

    assert len(sqlite_store.read_stream(study.workflow_id)) == before
    cohort = (await study.state()).cohort_of(driver.subject_id)
    assert cohort is not None
    member = cohort.member(driver.subject_id)
    assert member is not None and member.infused_on is None
