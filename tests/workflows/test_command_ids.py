"""Exactly-once commands: a command id answered once is answered again, never applied again."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date

import pytest
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from domain import commands as c
from domain.errors import DuplicateCommand, NotFound, ValueOutOfRange, WrongPhase
from domain.protocol import Protocol
from domain.values import Phase
from store.sql import SqlEventStore
from system.gateway import SubjectGateway
from system.signing import default_signer
from tests.cleanup import terminate_subjects
from tests.workflows.harness import COORDINATOR, INVESTIGATOR, SubjectDriver, new_subject
from tests.workflows.test_correction_after_end import screen_failed
from worker import build_worker
from workflows.subject import SUBMIT_PURPOSE, SubjectWorkflow, workflow_id_for


@pytest.fixture
async def gateway(
    time_env: WorkflowEnvironment, sqlite_store: SqlEventStore, task_queue: str, protocol: Protocol
) -> AsyncIterator[SubjectGateway]:
    async with build_worker(time_env.client, sqlite_store, task_queue):
        yield SubjectGateway(time_env.client, task_queue, protocol, store=sqlite_store)
        await terminate_subjects(time_env.client, sqlite_store)


async def consent(driver: SubjectDriver, **changes: object) -> c.SignConsent:
    return c.SignConsent.model_validate(
        {
            "occurred_at": await driver.now(),
            "consent_version": driver.gateway.protocol.version,
            "signed_on": await driver.today(),
            "childbearing_potential": True,
            **changes,
        }
    )


async def test_a_repeated_command_id_returns_the_first_result_and_records_nothing(
    time_env: WorkflowEnvironment, gateway: SubjectGateway, sqlite_store: SqlEventStore
) -> None:
    driver = SubjectDriver(time_env, gateway, new_subject())
    await driver.register()
    command = await consent(driver)
    key = str(uuid.uuid4())

    first = await gateway.submit(driver.subject_id, command, COORDINATOR, key)
    again = await gateway.submit(driver.subject_id, command, COORDINATOR, key)

    # Temporal answers the same update id from its own record, or the workflow from its memory.
    assert again.events == first.events
    assert first.events[0].command_id == key
    events = sqlite_store.read_stream(driver.subject_id)
    assert [e.type for e in events] == ["subject.registered", "consent.signed"]
    assert [e.seq for e in sqlite_store.command_events(key)] == [2]
    status = await gateway.command_status(key)
    assert status is not None and (status.status, status.seqs) == ("applied", (2,))


async def test_a_command_id_reused_for_another_body_is_refused(
    time_env: WorkflowEnvironment, gateway: SubjectGateway, sqlite_store: SqlEventStore
) -> None:
    driver = SubjectDriver(time_env, gateway, new_subject())
    await driver.register()
    key = str(uuid.uuid4())
    await gateway.submit(driver.subject_id, await consent(driver), COORDINATOR, key)

    with pytest.raises(DuplicateCommand, match="already used for a different command"):
        await gateway.submit(
            driver.subject_id, await consent(driver, reason="other"), COORDINATOR, key
        )
    assert len(sqlite_store.read_stream(driver.subject_id)) == 2


async def test_a_refused_command_is_reported_refused_with_its_reason(
    time_env: WorkflowEnvironment, gateway: SubjectGateway
) -> None:
    driver = SubjectDriver(time_env, gateway, new_subject())
    await driver.register()
    key = str(uuid.uuid4())
    with pytest.raises(ValueOutOfRange):
        await gateway.submit(
            driver.subject_id, await consent(driver, consent_version="9.9"), COORDINATOR, key
        )
    status = await gateway.command_status(key)
    assert status is not None
    assert (status.status, status.field) == ("refused", "consent_version")


async def test_a_refused_registration_leaves_no_running_workflow(
    time_env: WorkflowEnvironment, gateway: SubjectGateway, sqlite_store: SqlEventStore
) -> None:
    subject_id = new_subject()
    driver = SubjectDriver(time_env, gateway, subject_id)
    future_birth = c.RegisterSubject(
        occurred_at=await driver.now(),
        subject_id=subject_id,
        disease="SLE",
        sex="female",
        birth_date=date(2999, 1, 1),
    )
    with pytest.raises(ValueOutOfRange):
        await gateway.register(future_birth, COORDINATOR)

    handle = time_env.client.get_workflow_handle(workflow_id_for(subject_id))
    assert (await handle.describe()).status is not WorkflowExecutionStatus.RUNNING
    with pytest.raises(NotFound):
        await gateway.state(subject_id)
    assert sqlite_store.read_stream(subject_id) == []

    # The id is free: a valid registration afterwards starts the subject.
    await driver.register()
    assert (await driver.state()).phase is Phase.REGISTERED


async def test_registering_an_ended_subject_again_is_refused_and_starts_no_run(
    time_env: WorkflowEnvironment, gateway: SubjectGateway, sqlite_store: SqlEventStore
) -> None:
    driver = SubjectDriver(time_env, gateway, new_subject())
    await screen_failed(driver)
    handle = time_env.client.get_workflow_handle(workflow_id_for(driver.subject_id))
    run_before = (await handle.describe()).run_id

    with pytest.raises(WrongPhase, match=rf"{driver.subject_id} ended participation"):
        await driver.register("SSc")

    described = await handle.describe()
    assert described.run_id == run_before
    assert described.status is not WorkflowExecutionStatus.RUNNING
    assert sqlite_store.read_stream(driver.subject_id)[-1].type == "screening.failed"


async def test_a_repeated_correction_to_an_ended_subject_is_answered_from_the_stored_events(
    time_env: WorkflowEnvironment, gateway: SubjectGateway, sqlite_store: SqlEventStore
) -> None:
    driver = SubjectDriver(time_env, gateway, new_subject())
    await screen_failed(driver)
    correction = c.RecordCorrection(
        occurred_at=await driver.now(),
        target_seq=1,
        field="sex",
        new_value="male",
        reason="source document check",
    )
    key = str(uuid.uuid4())
    first = await gateway.submit(driver.subject_id, correction, INVESTIGATOR, key)
    handle = time_env.client.get_workflow_handle_for(
        SubjectWorkflow.run, workflow_id_for(driver.subject_id)
    )
    await handle.result()  # the re-opened run took its one decision and ended again
    count = sqlite_store.count_events()

    again = await gateway.submit(driver.subject_id, correction, INVESTIGATOR, key)

    assert again.events == first.events
    assert sqlite_store.count_events() == count


async def test_the_workflow_itself_remembers_a_command_id_beyond_temporals_update_record(
    time_env: WorkflowEnvironment, gateway: SubjectGateway, sqlite_store: SqlEventStore
) -> None:
    """After continue-as-new or a re-open, Temporal no longer knows the update id; the workflow's
    own memory of command ids (carried in its input) answers."""
    driver = SubjectDriver(time_env, gateway, new_subject())
    await driver.register()
    key = str(uuid.uuid4())
    command = await consent(driver)
    first = await gateway.submit(driver.subject_id, command, COORDINATOR, key)
    handle = time_env.client.get_workflow_handle_for(
        SubjectWorkflow.run, workflow_id_for(driver.subject_id)
    )
    # Sealed as the gateway would: the validator refuses anything else.
    submission = await default_signer().seal(
        c.Submission(command=command, actor=COORDINATOR, command_id=key),
        purpose=SUBMIT_PURPOSE,
        target=workflow_id_for(driver.subject_id),
    )

    again = await handle.execute_update(SubjectWorkflow.submit, submission, id="another-update")

    assert again.repeated and again.events == first.events
    assert len(sqlite_store.read_stream(driver.subject_id)) == 2
