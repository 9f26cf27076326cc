"""Deadline timers are restarted only when the deadline moves (patch issue13-steady-timers).

Every command wakes the subject's loop to recompute its next deadline. Before the patch each
wake-up cancelled the running timer and started a new one for the very same instant; a subject
now keeps its timer while the instant stays where it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment

from domain import commands as c
from domain.values import Phase
from system.gateway import SubjectGateway
from tests.histories.scenarios import correct_apheresis
from tests.workflows.harness import INVESTIGATOR, SubjectDriver, new_subject
from workflows.deadline_timer import STEADY_TIMERS_PATCH
from workflows.subject import SubjectWorkflow, workflow_id_for

_HISTORIES = Path(__file__).parents[1] / "histories"


@dataclass(frozen=True)
class TimerCounts:
    started: int
    cancelled: int
    fired: int
    # Cancelled, then started again at once for the same instant: the waste this patch ends.
    restarted_unchanged: int


def _count_timers(events: list[HistoryEvent]) -> TimerCounts:
    due: dict[str, datetime] = {}
    cancelled_due: datetime | None = None
    started = cancelled = fired = restarted = 0
    for event in events:
        if event.event_type == EventType.EVENT_TYPE_TIMER_STARTED:
            attributes = event.timer_started_event_attributes
            instant = event.event_time.ToDatetime() + attributes.start_to_fire_timeout.ToTimedelta()
            due[attributes.timer_id] = instant
            started += 1
            if cancelled_due is not None and abs(instant - cancelled_due) < timedelta(seconds=1):
                restarted += 1
            cancelled_due = None
        elif event.event_type == EventType.EVENT_TYPE_TIMER_CANCELED:
            cancelled += 1
            cancelled_due = due[event.timer_canceled_event_attributes.timer_id]
        elif event.event_type == EventType.EVENT_TYPE_TIMER_FIRED:
            fired += 1
    return TimerCounts(started, cancelled, fired, restarted)


def _has_patch(events: list[HistoryEvent], patch: str) -> bool:
    return any(
        e.marker_recorded_event_attributes.marker_name == "core_patch"
        and patch.encode() in e.marker_recorded_event_attributes.SerializeToString()
        for e in events
        if e.HasField("marker_recorded_event_attributes")
    )


async def _corrections(driver: SubjectDriver, count: int) -> None:
    """Commands that change nothing any deadline depends on (the subject's recorded sex)."""
    state = await driver.state()
    for number in range(count):
        value = "male" if (state.sex == "female") == (number % 2 == 0) else "female"
        await driver.send(
            INVESTIGATOR,
            c.RecordCorrection(
                occurred_at=await driver.now(),
                target_seq=1,
                field="sex",
                new_value=value,
                reason=f"source document check {number}",
            ),
        )


async def test_a_completed_subject_never_restarted_a_timer_for_an_unchanged_deadline(
    time_env: WorkflowEnvironment, gateway: SubjectGateway
) -> None:
    driver = SubjectDriver(time_env, gateway, new_subject())
    await driver.register("SLE")
    await _corrections(driver, 4)
    await driver.consent()
    await driver.screening("SLE")
    await driver.eligible_and_enrolled()
    await driver.product()
    await correct_apheresis(driver)
    infusion_date = await driver.lymphodepletion()
    await driver.give_ld_doses()
    await driver.infuse(infusion_date)
    for code in ("D0", "M1", "M2", "M3", "M6", "M12"):
        # Commands between visits: the next visit's reminder stays where it was.
        await _corrections(driver, 3)
        await driver.complete_visit(code)
    handle = time_env.client.get_workflow_handle_for(
        SubjectWorkflow.run, workflow_id_for(driver.subject_id)
    )
    assert (await handle.result()).phase is Phase.COMPLETED
    events = list((await handle.fetch_history()).events)
    assert _has_patch(events, STEADY_TIMERS_PATCH)
    counts = _count_timers(events)
    assert counts.fired >= 10, counts  # the visit reminders and warnings did fire
    assert counts.restarted_unchanged == 0, counts
    # What is still cancelled is a timer whose deadline moved (a visit done before its
    # reminder, a phase change), at most one per command that moved something, plus the
    # last one when the subject completes.
    commands = len(driver.results)
    assert counts.cancelled < commands // 2, (counts, commands)


def test_before_the_patch_the_same_life_restarted_timers_for_unchanged_deadlines() -> None:
    """The recorded pre-patch history of the same life, for contrast (it still replays)."""
    path = _HISTORIES / "subject_issue13_full_lifecycle.json"
    history = WorkflowHistory.from_json(path.stem, path.read_text(encoding="utf-8"))
    events = list(history.events)
    assert not _has_patch(events, STEADY_TIMERS_PATCH)
    assert _count_timers(events).restarted_unchanged > 0


def test_the_recorded_steady_histories_keep_their_timers() -> None:
    """The histories the replay guard holds for this patch (``record_issue13``)."""
    for name in (
        "subject_issue13_steady_timers_full_lifecycle.json",
        "subject_issue13_steady_timers_withdrawal.json",
    ):
        path = _HISTORIES / name
        events = list(WorkflowHistory.from_json(name, path.read_text(encoding="utf-8")).events)
        assert _has_patch(events, STEADY_TIMERS_PATCH), name
        assert _count_timers(events).restarted_unchanged == 0, name
