"""Temporal's own views speak the trial's language: subjects are found by phase through the
visibility query, and describe where they stand, on a real dev server."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from domain.protocol import Protocol
from store.sql import SqlEventStore
from system.gateway import SubjectGateway
from tests.workflows.harness import SubjectDriver, new_subject
from worker import build_worker
from workflows.search_attributes import SEARCH_ATTRIBUTES, current_details
from workflows.subject import SEARCH_ATTRIBUTES_PATCH, SubjectWorkflow, workflow_id_for

pytestmark = [pytest.mark.devserver]

HISTORY = Path(__file__).parents[1] / "histories" / "subject_search_attributes.json"


@pytest.fixture(scope="module")
async def trial_env() -> AsyncIterator[WorkflowEnvironment]:
    """A dev server with the trial's search attributes registered, as `make run` starts it."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(Path(sys.executable).parent / "temporal"),
        data_converter=pydantic_data_converter,
        search_attributes=SEARCH_ATTRIBUTES,
    )
    try:
        yield env
    finally:
        await env.shutdown()


async def _listed(env: WorkflowEnvironment, query: str, expected: set[str]) -> set[str]:
    """Visibility is eventually consistent: poll briefly until the expected ids show."""
    found: set[str] = set()
    for _ in range(50):
        found = {w.id async for w in env.client.list_workflows(query)}
        if expected <= found:
            break
        await asyncio.sleep(0.2)
    return found


async def test_subjects_are_listed_by_phase_through_the_visibility_query(
    trial_env: WorkflowEnvironment, sqlite_store: SqlEventStore, protocol: Protocol
) -> None:
    task_queue = f"sa-{uuid.uuid4().hex[:8]}"
    gateway = SubjectGateway(trial_env.client, task_queue, protocol, search_attributes=True)
    consented, registered = new_subject(), new_subject()
    async with build_worker(trial_env.client, sqlite_store, task_queue):
        for subject in (consented, registered):
            await SubjectDriver(trial_env, gateway, subject).register()
        await SubjectDriver(trial_env, gateway, consented).consent()

        query = f'TrialPhase="consented" AND TaskQueue="{task_queue}"'
        found = await _listed(trial_env, query, {workflow_id_for(consented)})
        assert found == {workflow_id_for(consented)}
        found = await _listed(
            trial_env,
            f'TrialPhase="registered" AND TrialDisease="SLE" AND TaskQueue="{task_queue}"',
            {workflow_id_for(registered)},
        )
        assert found == {workflow_id_for(registered)}

        handle = trial_env.client.get_workflow_handle(workflow_id_for(consented))
        described = await handle.describe()
        assert await described.static_summary() == f"JY231 subject {consented}"
        history = await handle.fetch_history()
    if os.environ.get("JY231_RECORD_HISTORIES"):
        HISTORY.write_text(history.to_json() + "\n", encoding="utf-8")


def test_the_saved_search_attribute_history_carries_its_patch_and_upserts() -> None:
    history = WorkflowHistory.from_json("sa", HISTORY.read_text(encoding="utf-8"))
    assert any(
        e.marker_recorded_event_attributes.marker_name == "core_patch"
        and SEARCH_ATTRIBUTES_PATCH.encode()
        in e.marker_recorded_event_attributes.SerializeToString()
        for e in history.events
        if e.HasField("marker_recorded_event_attributes")
    )
    assert any(
        e.HasField("upsert_workflow_search_attributes_event_attributes") for e in history.events
    )


async def test_the_saved_search_attribute_history_replays_against_the_current_workflow() -> None:
    history = WorkflowHistory.from_json("sa", HISTORY.read_text(encoding="utf-8"))
    replayer = Replayer(workflows=[SubjectWorkflow], data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure


def test_current_details_say_the_phase_and_what_the_workflow_waits_for() -> None:
    from domain.state import SubjectState

    assert "nothing; participation has ended" in current_details(
        SubjectState(phase="withdrawn"),
        None,  # type: ignore[arg-type]
    )
    assert current_details(SubjectState(), None).startswith("**Phase:** new")
