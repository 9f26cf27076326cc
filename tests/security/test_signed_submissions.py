"""Only the gateway's sealed submissions reach history: forged, replayed, moved or tampered
updates sent straight to Temporal are refused by the validator and record nothing."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from domain import commands as c
from domain.actors import Actor, Role
from domain.protocol import Protocol
from domain.signing import Keyring
from store.sql import SqlEventStore
from system.gateway import StudyGateway, SubjectGateway
from system.keys import load_keyring
from system.signing import SubmissionSigner
from tests.workflows.harness import COORDINATOR, SubjectDriver, new_subject
from worker import build_worker
from workflows.study import SLOT_PURPOSE, SlotRequest, StudyWorkflow
from workflows.subject import SUBMIT_PURPOSE, SubjectWorkflow, workflow_id_for

MALLORY = Actor(user_id="mallory", role=Role.PI)


@pytest.fixture
async def registered(
    time_env: WorkflowEnvironment, sqlite_store: SqlEventStore, task_queue: str, protocol: Protocol
) -> AsyncIterator[SubjectDriver]:
    async with build_worker(time_env.client, sqlite_store, task_queue):
        driver = SubjectDriver(
            time_env, SubjectGateway(time_env.client, task_queue, protocol), new_subject()
        )
        await driver.register()
        yield driver


def _refusal(info: pytest.ExceptionInfo[WorkflowUpdateFailedError]) -> ApplicationError:
    cause = info.value.cause
    assert isinstance(cause, ApplicationError)
    return cause


async def _consent(driver: SubjectDriver) -> c.SignConsent:
    return c.SignConsent(
        occurred_at=await driver.now(),
        consent_version=driver.gateway.protocol.version,
        signed_on=await driver.today(),
        childbearing_potential=True,
    )


async def _accepted_updates(driver: SubjectDriver) -> int:
    handle = driver.env.client.get_workflow_handle(workflow_id_for(driver.subject_id))
    history = await handle.fetch_history()
    return sum(
        e.HasField("workflow_execution_update_accepted_event_attributes") for e in history.events
    )


async def test_a_forged_update_as_a_made_up_pi_is_refused_and_records_nothing(
    registered: SubjectDriver, sqlite_store: SqlEventStore
) -> None:
    """What `temporal workflow update execute --name submit --input '{...}'` sends."""
    before = await _accepted_updates(registered)
    raw: dict[str, Any] = {
        "command": (await _consent(registered)).model_dump(mode="json"),
        "actor": {"user_id": "mallory", "role": "pi"},
    }
    handle = registered.env.client.get_workflow_handle(workflow_id_for(registered.subject_id))

    with pytest.raises(WorkflowUpdateFailedError) as info:
        await handle.execute_update("submit", raw)

    assert _refusal(info).type == "signature_refused"
    assert [e.type for e in sqlite_store.read_stream(registered.subject_id)] == [
        "subject.registered"
    ]
    # A rejected update is never accepted into the workflow's history either.
    assert await _accepted_updates(registered) == before == 1


async def test_a_submission_sealed_with_another_key_is_refused(
    registered: SubjectDriver, sqlite_store: SqlEventStore
) -> None:
    stranger = SubmissionSigner(
        Keyring(active="test-s1", keys={"test-s1": secrets.token_bytes(32)})
    )
    forged = await stranger.seal(
        c.Submission(command=await _consent(registered), actor=MALLORY),
        purpose=SUBMIT_PURPOSE,
        target=workflow_id_for(registered.subject_id),
    )
    handle = registered.env.client.get_workflow_handle_for(
        SubjectWorkflow.run, workflow_id_for(registered.subject_id)
    )

    with pytest.raises(WorkflowUpdateFailedError) as info:
        await handle.execute_update(SubjectWorkflow.submit, forged)

    assert "does not verify" in str(_refusal(info))
    assert len(sqlite_store.read_stream(registered.subject_id)) == 1


async def test_a_captured_submission_replayed_after_the_window_is_refused(
    registered: SubjectDriver, sqlite_store: SqlEventStore
) -> None:
    signer = SubmissionSigner(load_keyring("submission"))
    captured = await signer.seal(
        c.Submission(command=await _consent(registered), actor=COORDINATOR),
        purpose=SUBMIT_PURPOSE,
        target=workflow_id_for(registered.subject_id),
    )
    await registered.env.sleep(timedelta(minutes=6))
    handle = registered.env.client.get_workflow_handle_for(
        SubjectWorkflow.run, workflow_id_for(registered.subject_id)
    )

    with pytest.raises(WorkflowUpdateFailedError) as info:
        await handle.execute_update(SubjectWorkflow.submit, captured)

    assert "more than 5 minutes ago" in str(_refusal(info))
    assert len(sqlite_store.read_stream(registered.subject_id)) == 1


async def test_a_fresh_seal_cannot_be_moved_to_another_subject_or_another_actor(
    registered: SubjectDriver, sqlite_store: SqlEventStore
) -> None:
    other = SubjectDriver(registered.env, registered.gateway, new_subject())
    await other.register()
    signer = SubmissionSigner(load_keyring("submission"))
    sealed = await signer.seal(
        c.Submission(command=await _consent(registered), actor=COORDINATOR),
        purpose=SUBMIT_PURPOSE,
        target=workflow_id_for(registered.subject_id),
    )
    moved = registered.env.client.get_workflow_handle_for(
        SubjectWorkflow.run, workflow_id_for(other.subject_id)
    )
    own = registered.env.client.get_workflow_handle_for(
        SubjectWorkflow.run, workflow_id_for(registered.subject_id)
    )

    with pytest.raises(WorkflowUpdateFailedError) as to_other:
        await moved.execute_update(SubjectWorkflow.submit, sealed)
    with pytest.raises(WorkflowUpdateFailedError) as as_mallory:
        await own.execute_update(
            SubjectWorkflow.submit, sealed.model_copy(update={"actor": MALLORY})
        )

    assert _refusal(to_other).type == "signature_refused"
    assert _refusal(as_mallory).type == "signature_refused"
    assert len(sqlite_store.read_stream(registered.subject_id)) == 1
    assert len(sqlite_store.read_stream(other.subject_id)) == 1
    # The untouched seal, sent where it was meant to go, is accepted.
    result = await own.execute_update(SubjectWorkflow.submit, sealed)
    assert [e.type for e in result.events] == ["consent.signed"]
    assert result.events[0].actor == COORDINATOR


async def test_nobody_outside_the_workflow_may_act_as_the_system(
    registered: SubjectDriver, sqlite_store: SqlEventStore
) -> None:
    with pytest.raises(Exception, match="system actor"):
        await registered.send(Actor(user_id="system", role=Role.SYSTEM), await _consent(registered))
    assert len(sqlite_store.read_stream(registered.subject_id)) == 1


async def test_forged_study_updates_are_refused(
    time_env: WorkflowEnvironment, sqlite_store: SqlEventStore, task_queue: str, protocol: Protocol
) -> None:
    async with build_worker(time_env.client, sqlite_store, task_queue):
        study = StudyGateway(time_env.client, task_queue, protocol)
        await study.start()
        handle = time_env.client.get_workflow_handle_for(StudyWorkflow.run, study.workflow_id)
        stranger = SubmissionSigner(
            Keyring(active="x", keys={"x": secrets.token_bytes(32)}),
            clock=time_env.get_current_time,
        )
        forged_slot = await stranger.seal(
            SlotRequest(subject_id="P-003", dose_level="DL1", actor=MALLORY),
            purpose=SLOT_PURPOSE,
            target=study.workflow_id,
        )

        with pytest.raises(WorkflowUpdateFailedError) as unsigned_review:
            await handle.execute_update(
                "sign_safety_review",
                {
                    "dose_level": "DL1",
                    "decision": "escalate",
                    "summary": "ok",
                    "actor": {"user_id": "mallory", "role": "pi"},
                },
            )
        with pytest.raises(WorkflowUpdateFailedError) as slot:
            await handle.execute_update(StudyWorkflow.request_slot, forged_slot)

        assert _refusal(unsigned_review).type == "signature_refused"
        assert _refusal(slot).type == "signature_refused"
        assert sqlite_store.read_stream(study.workflow_id) == []
