"""Replay guard: every saved history of the current SubjectWorkflow must replay cleanly.

A workflow change that alters the commands issued for an existing history would break the
subjects already running; this fails before such a change ships. Regenerate the histories
with ``python -m tests.histories.record`` only for a deliberate, versioned change.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workflows.subject import (
    CUSTODY_PATCH,
    LEAN_RESULTS_PATCH,
    LTFU_PATCH,
    RESPONSE_PATCH,
    SAFETY_PATCH,
    SITE_TZ_PATCH,
    SUSAR_PATCH,
    UPDATE_COUNT_PATCH,
    VISIT_ALERTS_PATCH,
    SubjectWorkflow,
)

HISTORIES = sorted((Path(__file__).parents[1] / "histories").glob("subject_*.json"))


def test_the_replay_guard_has_histories_to_replay() -> None:
    names = {path.name for path in HISTORIES}
    assert {
        "subject_full_lifecycle.json",
        "subject_screen_failure.json",
        "subject_withdrawal.json",
        "subject_pre_safety_full_lifecycle.json",
        "subject_pre_safety_screen_failure.json",
        "subject_pre_safety_withdrawal.json",
        "subject_pre_visit_alerts_full_lifecycle.json",
        "subject_pre_visit_alerts_screen_failure.json",
        "subject_pre_visit_alerts_withdrawal.json",
        "subject_issue12_full_lifecycle.json",
        "subject_issue12_withdrawal.json",
        "subject_issue12_susar_overdue.json",
        "subject_issue14_custody_lifecycle.json",
    } <= names


def test_issue12_histories_start_under_a_protocol_with_dated_rechecks() -> None:
    path = Path(__file__).parents[1] / "histories" / "subject_issue12_full_lifecycle.json"
    history = WorkflowHistory.from_json(path.stem, path.read_text(encoding="utf-8"))
    started = history.events[0].workflow_execution_started_event_attributes
    assert b'"pre_lymphodepletion":{' in started.input.payloads[0].data.replace(b" ", b"")


def test_current_histories_carry_every_patch_and_older_ones_do_not() -> None:
    def patched(name: str, patch: str) -> bool:
        path = Path(__file__).parents[1] / "histories" / name
        history = WorkflowHistory.from_json(name, path.read_text(encoding="utf-8"))
        return any(
            e.marker_recorded_event_attributes.marker_name == "core_patch"
            and patch.encode() in e.marker_recorded_event_attributes.SerializeToString()
            for e in history.events
            if e.HasField("marker_recorded_event_attributes")
        )

    for patch in (SAFETY_PATCH, VISIT_ALERTS_PATCH):
        assert patched("subject_full_lifecycle.json", patch)
    assert not patched("subject_pre_safety_full_lifecycle.json", SAFETY_PATCH)
    assert patched("subject_pre_visit_alerts_full_lifecycle.json", SAFETY_PATCH)
    assert not patched("subject_pre_visit_alerts_full_lifecycle.json", VISIT_ALERTS_PATCH)
    # Issue 15: site time zones; the older histories keep UTC midnight.
    assert patched("subject_issue15_tz_full_lifecycle.json", SITE_TZ_PATCH)
    assert not patched("subject_full_lifecycle.json", SITE_TZ_PATCH)
    assert patched("subject_issue15_ltfu_main_study_run.json", LTFU_PATCH)
    assert not patched("subject_full_lifecycle.json", LTFU_PATCH)
    # Issue 14: subjects started before the chain of custody replay without it.
    for patch in (SAFETY_PATCH, VISIT_ALERTS_PATCH, CUSTODY_PATCH):
        assert patched("subject_issue14_custody_lifecycle.json", patch)
    assert not patched("subject_full_lifecycle.json", CUSTODY_PATCH)
    assert not patched("subject_issue13_full_lifecycle.json", CUSTODY_PATCH)


def _has_patch(name: str, patch: str) -> bool:
    path = Path(__file__).parents[1] / "histories" / name
    history = WorkflowHistory.from_json(name, path.read_text(encoding="utf-8"))
    return any(
        e.marker_recorded_event_attributes.marker_name == "core_patch"
        and patch.encode() in e.marker_recorded_event_attributes.SerializeToString()
        for e in history.events
        if e.HasField("marker_recorded_event_attributes")
    )


def test_issue13_histories_carry_lean_results_and_the_update_budget() -> None:
    for scenario in ("full_lifecycle", "screen_failure", "withdrawal"):
        for patch in (LEAN_RESULTS_PATCH, UPDATE_COUNT_PATCH):
            assert _has_patch(f"subject_issue13_{scenario}.json", patch), (scenario, patch)
    # Recorded before issue 13: they prove older subjects still replay.
    assert not _has_patch("subject_full_lifecycle.json", LEAN_RESULTS_PATCH)
    assert not _has_patch("subject_full_lifecycle.json", UPDATE_COUNT_PATCH)


def test_issue12_histories_carry_the_susar_clocks_and_older_ones_do_not() -> None:
    for scenario in ("full_lifecycle", "withdrawal", "susar_overdue"):
        assert _has_patch(f"subject_issue12_{scenario}.json", SUSAR_PATCH), scenario
    assert not _has_patch("subject_issue13_full_lifecycle.json", SUSAR_PATCH)


def test_the_susar_history_records_an_overdue_report() -> None:
    path = Path(__file__).parents[1] / "histories" / "subject_issue12_susar_overdue.json"
    history = WorkflowHistory.from_json(path.stem, path.read_text(encoding="utf-8"))
    timers = [e for e in history.events if e.HasField("timer_fired_event_attributes")]
    assert len(timers) >= 2  # the SAE clock and the SUSAR clocks fired


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_saved_history_replays_against_the_current_workflow(path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem, path.read_text(encoding="utf-8"))
    replayer = Replayer(workflows=[SubjectWorkflow], data_converter=pydantic_data_converter)

    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)

    assert result.replay_failure is None, f"{path.name}: {result.replay_failure}"
    assert len(history.events) > 10


def test_the_response_history_carries_its_patch_and_older_ones_do_not() -> None:
    """Day 0 without a response and follow-ups with activity: only after ``issue12-response``."""
    assert _has_patch("subject_issue12_response_lifecycle.json", RESPONSE_PATCH)
    for older in (
        "subject_issue12_full_lifecycle.json",
        "subject_issue14_custody_lifecycle.json",
        "subject_issue15_tz_full_lifecycle.json",
    ):
        assert not _has_patch(older, RESPONSE_PATCH), older
    path = Path(__file__).parents[1] / "histories" / "subject_issue12_response_lifecycle.json"
    history = WorkflowHistory.from_json(path.stem, path.read_text(encoding="utf-8"))
    updates = [
        e.workflow_execution_update_accepted_event_attributes.accepted_request.input.args
        for e in history.events
        if e.HasField("workflow_execution_update_accepted_event_attributes")
    ]
    bodies = [p.data.replace(b" ", b"") for args in updates for p in args.payloads]
    visits = [b for b in bodies if b'"type":"complete_visit"' in b]
    assert len(visits) == 6
    assert b'"response":null' in visits[0] and b'"activity":null' in visits[0]
    assert all(b'"sledai_2k":4' in b and b'"response":"PR"' in b for b in visits[1:])
