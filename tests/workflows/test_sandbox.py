"""The worker's sandbox: workflow code is still refused the clock, randomness, ids, the
environment and files; the workflow modules are not passed through; the serialization contexts
the worker's event loop gets without entering the sandbox are the stock sandbox's."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from typing import Any

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.client import Client
from temporalio.converter import (
    ActivitySerializationContext,
    PayloadCodec,
    SerializationContext,
    WithSerializationContext,
    WorkflowSerializationContext,
)
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner
from temporalio.worker.workflow_sandbox._runner import _Instance

from system.sandbox import sandbox_runner
from tests.workflows.sandbox_probe import FORBIDDEN, ActivityProbe, ForbiddenProbe, echo
from workflows.checkpoint import CheckpointWorkflow
from workflows.study import StudyWorkflow
from workflows.subject import SubjectWorkflow


@pytest.mark.parametrize("attempt", sorted(FORBIDDEN))
async def test_workflow_code_under_the_workers_sandbox_is_refused(
    time_env: WorkflowEnvironment, task_queue: str, attempt: str
) -> None:
    async with Worker(
        time_env.client,
        task_queue=task_queue,
        workflows=[ForbiddenProbe],
        workflow_runner=sandbox_runner(),
    ):
        outcome = await time_env.client.execute_workflow(
            ForbiddenProbe.run, attempt, id=f"probe-{uuid.uuid4()}", task_queue=task_queue
        )

    assert outcome == "RestrictedWorkflowAccessError"


@pytest.mark.parametrize("workflow", [SubjectWorkflow, StudyWorkflow, CheckpointWorkflow])
def test_the_workflow_modules_are_checked_by_the_sandbox_not_passed_through(
    workflow: type,
) -> None:
    """A passed-through module is the host's and the sandbox's checks never see its calls."""
    restrictions = sandbox_runner().restrictions
    module = workflow.__module__

    assert not restrictions.passthrough_all_modules
    assert not any(
        module == passed or module.startswith(f"{passed}.")
        for passed in restrictions.passthrough_modules
    )


class _RecordingCodec(PayloadCodec, WithSerializationContext):
    """Passes payloads unchanged and records every serialization context it is given."""

    def __init__(self, seen: list[SerializationContext]) -> None:
        self.seen = seen

    def with_context(self, context: SerializationContext) -> _RecordingCodec:
        self.seen.append(context)
        return self

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return list(payloads)

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return list(payloads)


async def _contexts_seen(
    time_env: WorkflowEnvironment,
    runner: SandboxedWorkflowRunner,
    task_queue: str,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[list[SerializationContext], int]:
    """The contexts one ActivityProbe run gave the codec, and how many context queries entered
    the sandbox to be answered."""
    seen: list[SerializationContext] = []
    entered: list[str] = []
    stock_run_code = _Instance._run_code

    def run_code(self: _Instance, code: str, **extra_globals: Any) -> None:
        if "_context(" in code:
            entered.append(code)
        stock_run_code(self, code, **extra_globals)

    monkeypatch.setattr(_Instance, "_run_code", run_code)
    converter = dataclasses.replace(
        time_env.client.data_converter, payload_codec=_RecordingCodec(seen)
    )
    config = time_env.client.config()
    config["data_converter"] = converter
    client = Client(**config)
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[ActivityProbe],
        activities=[echo],
        workflow_runner=runner,
    ):
        result = await client.execute_workflow(
            ActivityProbe.run, "hello", id="context-probe", task_queue=task_queue
        )
    assert result == "hello"
    return seen, len(entered)


async def test_context_queries_answer_as_the_stock_sandbox_without_entering_it(
    time_env: WorkflowEnvironment, task_queue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ours = sandbox_runner()
    stock = SandboxedWorkflowRunner(restrictions=ours.restrictions)

    stock_seen, stock_entered = await _contexts_seen(time_env, stock, task_queue, monkeypatch)
    ours_seen, ours_entered = await _contexts_seen(time_env, ours, task_queue, monkeypatch)

    assert ours_seen == stock_seen
    assert {type(c) for c in ours_seen} == {
        WorkflowSerializationContext,
        ActivitySerializationContext,
    }
    assert stock_entered > 0
    assert ours_entered == 0
