"""The issue-9 histories (command ids, no debris) are what the replay guard replays them as."""

from __future__ import annotations

from pathlib import Path

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory

from workflows.subject import COMMAND_IDS_PATCH, NO_DEBRIS_PATCH

HISTORIES = Path(__file__).parents[1] / "histories"


def _history(name: str) -> WorkflowHistory:
    return WorkflowHistory.from_json(name, (HISTORIES / name).read_text(encoding="utf-8"))


def _patched(history: WorkflowHistory, patch: str) -> bool:
    return any(
        e.marker_recorded_event_attributes.marker_name == "core_patch"
        and patch.encode() in e.marker_recorded_event_attributes.SerializeToString()
        for e in history.events
        if e.HasField("marker_recorded_event_attributes")
    )


def test_issue9_histories_carry_the_command_id_and_no_debris_patches() -> None:
    repeated = _history("subject_issue9_repeated_command.json")
    assert _patched(repeated, COMMAND_IDS_PATCH)
    assert _patched(_history("subject_issue9_full_lifecycle.json"), NO_DEBRIS_PATCH)
    assert not _patched(_history("subject_full_lifecycle.json"), COMMAND_IDS_PATCH)


def test_a_refused_registration_history_ends_its_run_at_once() -> None:
    history = _history("subject_issue9_refused_registration.json")
    types = [e.event_type for e in history.events]
    assert types[-1] == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED
    assert EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED not in types
