"""Replay guard for issue 10's workflow changes: RFC 8785 sealing and the checkpoint timer.

``issue10_subject_full_lifecycle.json`` was recorded after the ``issue10-jcs-hash`` patch; the
older ``subject_*.json`` histories (replayed by test_replay.py) were recorded before it and must
keep sealing with the legacy scheme, or a worker restarted mid-workflow would carry hashes that
no longer match the store's head.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workflows.checkpoint import CheckpointWorkflow
from workflows.persist import JCS_HASH_PATCH
from workflows.subject import SubjectWorkflow

HERE = Path(__file__).parents[1] / "histories"


def _history(name: str) -> WorkflowHistory:
    return WorkflowHistory.from_json(name, (HERE / name).read_text(encoding="utf-8"))


def _patched(history: WorkflowHistory, patch: str) -> bool:
    return any(
        e.marker_recorded_event_attributes.marker_name == "core_patch"
        and patch.encode() in e.marker_recorded_event_attributes.SerializeToString()
        for e in history.events
        if e.HasField("marker_recorded_event_attributes")
    )


def _append_inputs(history: WorkflowHistory) -> list[bytes]:
    return [
        p.data
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
        and e.activity_task_scheduled_event_attributes.activity_type.name == "append_events"
        for p in e.activity_task_scheduled_event_attributes.input.payloads
    ]


def test_only_the_new_history_seals_under_rfc8785() -> None:
    new = _history("issue10_subject_full_lifecycle.json")
    old = _history("subject_full_lifecycle.json")

    assert _patched(new, JCS_HASH_PATCH) and not _patched(old, JCS_HASH_PATCH)
    assert all(b'"hash_scheme":"rfc8785-sha256"' in p for p in _append_inputs(new))
    assert not any(b"hash_scheme" in p for p in _append_inputs(old))


@pytest.mark.parametrize(
    ("name", "workflow"),
    [
        ("issue10_subject_full_lifecycle.json", SubjectWorkflow),
        ("issue10_checkpoint_workflow.json", CheckpointWorkflow),
    ],
)
async def test_issue10_history_replays_against_the_current_workflow(
    name: str, workflow: type
) -> None:
    replayer = Replayer(workflows=[workflow], data_converter=pydantic_data_converter)

    result = await replayer.replay_workflow(_history(name), raise_on_replay_failure=False)

    assert result.replay_failure is None, f"{name}: {result.replay_failure}"
