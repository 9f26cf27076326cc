"""The corrections added by patch issue9-more-corrections, through the real workflow: a new
run takes them (and marks its history); a run that never meets one carries no marker, so
histories recorded before the patch replay unchanged."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from temporalio.testing import WorkflowEnvironment

from domain import commands as c
from domain.protocol import Protocol
from store.sql import SqlEventStore
from system.gateway import SubjectGateway
from tests.cleanup import terminate_subjects
from tests.workflows.harness import INVESTIGATOR, SubjectDriver, new_subject
from tests.workflows.test_replay import _has_patch
from worker import build_worker
from workflows.subject import MORE_CORRECTIONS_PATCH, workflow_id_for


@pytest.fixture
async def gateway(
    time_env: WorkflowEnvironment, sqlite_store: SqlEventStore, task_queue: str, protocol: Protocol
) -> AsyncIterator[SubjectGateway]:
    async with build_worker(time_env.client, sqlite_store, task_queue):
        yield SubjectGateway(time_env.client, task_queue, protocol, store=sqlite_store)
        await terminate_subjects(time_env.client, sqlite_store)


async def _markers(env: WorkflowEnvironment, subject_id: str) -> list[str]:
    history = await env.client.get_workflow_handle(workflow_id_for(subject_id)).fetch_history()
    # Core writes the patch id into the marker's details as plain JSON (no codec).
    return [
        str(event.marker_recorded_event_attributes)
        for event in history.events
        if event.HasField("marker_recorded_event_attributes")
    ]


async def _correct(driver: SubjectDriver, field: str, value: str) -> list[str]:
    result = await driver.send(
        INVESTIGATOR,
        c.RecordCorrection(
            occurred_at=await driver.now(),
            target_seq=1,
            field=field,
            new_value=value,
            reason="registration form mis-keyed",
        ),
    )
    return [e.type for e in result.events]


async def test_a_new_run_corrects_the_disease_and_marks_its_history(
    time_env: WorkflowEnvironment, gateway: SubjectGateway
) -> None:
    driver = SubjectDriver(time_env, gateway, new_subject())
    await driver.register("SLE")
    await driver.consent()
    assert await _correct(driver, "disease", "SS") == ["correction.recorded"]
    assert (await driver.state()).disease == "SS"
    assert any(MORE_CORRECTIONS_PATCH in m for m in await _markers(time_env, driver.subject_id))


async def test_a_correction_correctable_before_the_patch_leaves_no_marker(
    time_env: WorkflowEnvironment, gateway: SubjectGateway
) -> None:
    driver = SubjectDriver(time_env, gateway, new_subject())
    await driver.register("SLE")
    assert await _correct(driver, "sex", "male") == ["correction.recorded"]
    assert not any(MORE_CORRECTIONS_PATCH in m for m in await _markers(time_env, driver.subject_id))


def test_the_recorded_corrections_history_carries_the_patch_and_older_ones_do_not() -> None:
    """The replay guard replays it (tests/workflows/test_replay.py globs subject_*.json)."""
    assert _has_patch("subject_issue9_more_corrections.json", MORE_CORRECTIONS_PATCH)
    for older in ("subject_issue9_full_lifecycle.json", "subject_issue12_response_lifecycle.json"):
        assert not _has_patch(older, MORE_CORRECTIONS_PATCH), older
