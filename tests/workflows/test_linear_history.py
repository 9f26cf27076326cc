"""A subject's history grows linearly with its commands, and a run never nears 2,000 updates."""

from __future__ import annotations

from datetime import date

from temporalio.api.enums.v1 import EventType
from temporalio.client import WithStartWorkflowOperation, WorkflowHistory
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.testing import WorkflowEnvironment

from domain import commands as c
from domain.events import verify_chain
from domain.protocol import Protocol
from domain.subject import fold
from domain.values import Phase
from store.sql import SqlEventStore
from system.gateway import SubjectGateway
from system.signing import default_signer
from tests.workflows.harness import COORDINATOR, INVESTIGATOR, new_subject
from worker import build_worker
from workflows.subject import (
    SUBMIT_PURPOSE,
    SubjectWorkflow,
    SubjectWorkflowInput,
    SubmitResult,
    workflow_id_for,
)


def _history_bytes(history: WorkflowHistory) -> int:
    return sum(event.ByteSize() for event in history.events)


def _correction(now: object, number: int) -> c.RecordCorrection:
    # Alternating values, so every correction changes something and is accepted.
    return c.RecordCorrection(
        occurred_at=now,  # type: ignore[arg-type]
        target_seq=1,
        field="sex",
        new_value="male" if number % 2 else "female",
        reason=f"source document check {number}",
    )


async def _start(
    env: WorkflowEnvironment, task_queue: str, protocol: Protocol, subject_id: str, budget: int
) -> tuple[SubmitResult, str]:
    """Register through update-with-start with a chosen updates-per-run budget."""
    operation = WithStartWorkflowOperation(
        SubjectWorkflow.run,
        SubjectWorkflowInput(subject_id=subject_id, protocol=protocol, max_updates_per_run=budget),
        id=workflow_id_for(subject_id),
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )
    result = await env.client.execute_update_with_start_workflow(
        SubjectWorkflow.submit,
        # Sealed as the gateway would: the validator refuses anything else.
        await default_signer().seal(
            c.Submission(
                command=c.RegisterSubject(
                    occurred_at=await env.get_current_time(),
                    subject_id=subject_id,
                    disease="SLE",
                    sex="female",
                    birth_date=date(1980, 6, 15),
                ),
                actor=COORDINATOR,
            ),
            purpose=SUBMIT_PURPOSE,
            target=workflow_id_for(subject_id),
        ),
        start_workflow_operation=operation,
    )
    handle = await operation.workflow_handle()
    assert handle.result_run_id is not None
    return result, handle.result_run_id


async def test_history_bytes_per_command_stay_constant_as_the_subject_grows(
    time_env: WorkflowEnvironment,
    sqlite_store: SqlEventStore,
    task_queue: str,
    protocol: Protocol,
) -> None:
    subject_id = new_subject()
    async with build_worker(time_env.client, sqlite_store, task_queue):
        gateway = SubjectGateway(time_env.client, task_queue, protocol)
        registered, _ = await _start(time_env, task_queue, protocol, subject_id, budget=1000)
        assert registered.state is None
        assert registered.summary is not None
        assert registered.summary.phase is Phase.REGISTERED
        handle = time_env.client.get_workflow_handle(workflow_id_for(subject_id))
        now = await time_env.get_current_time()
        sizes: dict[int, int] = {}
        for number in range(1, 301):
            await gateway.submit(subject_id, _correction(now, number), INVESTIGATOR)
            if number in (5, 10, 295, 300):
                sizes[number] = _history_bytes(await handle.fetch_history())
        state = await gateway.state(subject_id)

    early = (sizes[10] - sizes[5]) / 5
    late = (sizes[300] - sizes[295]) / 5
    assert late < early * 1.25, f"per-command bytes grew from {early:.0f} to {late:.0f}"
    assert len(state.corrections) == 300
    events = sqlite_store.read_stream(subject_id)
    assert fold(events) == state
    assert verify_chain(subject_id, sqlite_store.read_raw(subject_id)) is None


async def test_a_run_continues_as_new_after_its_update_budget(
    time_env: WorkflowEnvironment,
    sqlite_store: SqlEventStore,
    task_queue: str,
    protocol: Protocol,
) -> None:
    subject_id = new_subject()
    async with build_worker(time_env.client, sqlite_store, task_queue):
        gateway = SubjectGateway(time_env.client, task_queue, protocol)
        _, first_run = await _start(time_env, task_queue, protocol, subject_id, budget=5)
        now = await time_env.get_current_time()
        for number in range(1, 13):
            result = await gateway.submit(subject_id, _correction(now, number), INVESTIGATOR)
            assert result.summary is not None
            assert result.summary.last_seq == number + 1
        state = await gateway.state(subject_id)
        first = await time_env.client.get_workflow_handle(
            workflow_id_for(subject_id), run_id=first_run
        ).fetch_history()
        latest = await time_env.client.get_workflow_handle(workflow_id_for(subject_id)).describe()

    accepted = [
        e
        for e in first.events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
    ]
    assert first.events[-1].event_type == (EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW)
    assert 5 <= len(accepted) < 13
    assert latest.run_id != first_run
    # The next run starts from the folded state: nothing lost, the chain unbroken.
    assert len(state.corrections) == 12
    assert state.last_seq == 13
    assert fold(sqlite_store.read_stream(subject_id)) == state
    assert verify_chain(subject_id, sqlite_store.read_raw(subject_id)) is None
