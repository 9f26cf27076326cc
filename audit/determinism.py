"""Replay Temporal workflow histories against the current SubjectWorkflow code.

A change to the workflow that alters the commands it issues for an existing history would
break every running subject on the next worker deploy; this finds that before the deploy.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict
from temporalio.client import Client, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter
from temporalio.worker import Replayer

from system.codec import default_data_converter
from system.keys import KeyConfigError
from workflows.subject import SubjectWorkflow, workflow_id_for

__all__ = [
    "ReplayOutcome",
    "check_histories",
    "replay_history",
    "subject_to_workflow_id",
    "subject_workflow_ids",
]


class ReplayOutcome(BaseModel):
    model_config = ConfigDict(frozen=True)

    workflow_id: str
    run_id: str | None
    events: int
    passed: bool
    error: str | None = None


def _converter() -> DataConverter:
    # Histories are encrypted with the payload keys; without them only histories from before
    # encryption can be read (the codec passes those through either way).
    try:
        return default_data_converter()
    except KeyConfigError:
        return pydantic_data_converter


def _replayer() -> Replayer:
    return Replayer(workflows=[SubjectWorkflow], data_converter=_converter())


async def replay_history(history: WorkflowHistory, run_id: str | None = None) -> ReplayOutcome:
    """Replay one history; a nondeterminism error becomes a failed outcome, not an exception."""
    result = await _replayer().replay_workflow(history, raise_on_replay_failure=False)
    failure = result.replay_failure
    error = None if failure is None else f"{type(failure).__name__}: {failure}"
    return ReplayOutcome(
        workflow_id=history.workflow_id,
        run_id=run_id,
        events=len(history.events),
        passed=failure is None,
        error=error,
    )


async def subject_workflow_ids(client: Client) -> list[str]:
    """Every SubjectWorkflow execution the namespace still holds, newest run of each id."""
    ids: list[str] = []
    async for execution in client.list_workflows(f"WorkflowType = '{SubjectWorkflow.__name__}'"):
        if execution.id not in ids:
            ids.append(execution.id)
    return sorted(ids)


async def check_histories(client: Client, workflow_ids: Iterable[str]) -> list[ReplayOutcome]:
    outcomes: list[ReplayOutcome] = []
    for workflow_id in workflow_ids:
        handle = client.get_workflow_handle(workflow_id)
        description = await handle.describe()
        history = await handle.fetch_history()
        outcomes.append(await replay_history(history, run_id=description.run_id))
    return outcomes


def subject_to_workflow_id(subject: str) -> str:
    """Accept a subject id or an already-prefixed workflow id."""
    return subject if subject.startswith(workflow_id_for("")) else workflow_id_for(subject)
