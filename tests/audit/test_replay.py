"""Replaying stored events gives exactly the state the live workflow reported at that time."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import datetime
from pathlib import Path

import pytest
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

from audit.live import live_state
from audit.replay import replay_subject
from audit.statediff import diff_states
from cli.main import app
from domain import commands as c
from domain.events import PlannedDose
from domain.protocol import Protocol
from domain.state import SubjectState
from domain.values import Phase
from store.sql import SqlEventStore
from system.gateway import SubjectGateway
from tests.audit.tamper import populate, rewrite
from tests.histories.scenarios import APHERESIS_CORRECTION_REASON, correct_apheresis, full_life
from tests.workflows.harness import COORDINATOR, SubjectDriver, new_subject
from worker import build_worker
from workflows.subject import workflow_id_for


@pytest.fixture
async def gateway(
    time_env: WorkflowEnvironment, sqlite_store: SqlEventStore, task_queue: str, protocol: Protocol
) -> AsyncIterator[SubjectGateway]:
    async with build_worker(time_env.client, sqlite_store, task_queue):
        yield SubjectGateway(time_env.client, task_queue, protocol)


@pytest.fixture
async def new_driver(
    time_env: WorkflowEnvironment, gateway: SubjectGateway
) -> AsyncIterator[Callable[[], SubjectDriver]]:
    """Drivers whose still-running workflows are terminated after the test.

    The time-skipping server is shared by the session: a workflow left waiting on a timer after
    its worker is gone would hold every later test's clock.
    """
    drivers: list[SubjectDriver] = []

    def make() -> SubjectDriver:
        drivers.append(SubjectDriver(time_env, gateway, new_subject()))
        return drivers[-1]

    yield make
    for driver in drivers:
        handle = time_env.client.get_workflow_handle(workflow_id_for(driver.subject_id))
        with contextlib.suppress(RPCError):
            await handle.terminate("test finished")


async def _snapshot(driver: SubjectDriver, store: SqlEventStore) -> tuple[datetime, SubjectState]:
    """The live state now, and the recorded_at of the last event it has folded in."""
    state = await driver.state()
    last = store.read_stream(driver.subject_id)[state.last_seq - 1]
    return last.recorded_at, state


async def _give(driver: SubjectDriver, doses: Iterable[PlannedDose]) -> None:
    for dose in sorted(doses, key=lambda d: (d.on, d.drug)):
        await driver.sleep_until(dose.on)
        await driver.send(
            COORDINATOR,
            c.RecordLymphodepletionDose(
                occurred_at=await driver.now(),
                drug=dose.drug,
                day=dose.day,
                mg=dose.mg,
                given_on=dose.on,
            ),
        )


async def test_replay_as_of_equals_the_state_the_workflow_reported_then(
    time_env: WorkflowEnvironment,
    gateway: SubjectGateway,
    sqlite_store: SqlEventStore,
    new_driver: Callable[[], SubjectDriver],
) -> None:
    driver = new_driver()
    snapshots: dict[str, tuple[datetime, SubjectState]] = {}

    await driver.register("SLE")
    snapshots["before consent"] = await _snapshot(driver, sqlite_store)
    await driver.consent()
    await driver.screening("SLE")
    await driver.eligible_and_enrolled()
    await driver.product()
    await correct_apheresis(driver)
    infusion_date = await driver.lymphodepletion()
    plan = (await driver.state()).ld_plan
    assert plan is not None
    first_day = min(d.on for d in plan.doses)
    await _give(driver, [d for d in plan.doses if d.on == first_day])
    snapshots["mid lymphodepletion"] = await _snapshot(driver, sqlite_store)
    await _give(driver, [d for d in plan.doses if d.on != first_day])
    await driver.infuse(infusion_date)
    for code in ("D0", "M1", "M2", "M3"):
        await driver.complete_visit(code)
    snapshots["after month 3"] = await _snapshot(driver, sqlite_store)

    assert snapshots["before consent"][1].phase is Phase.REGISTERED
    assert snapshots["mid lymphodepletion"][1].phase is Phase.LYMPHODEPLETION
    assert 0 < len(snapshots["mid lymphodepletion"][1].ld_doses) < len(plan.doses)
    assert snapshots["after month 3"][1].phase is Phase.FOLLOW_UP
    for label, (as_of, reported) in snapshots.items():
        replayed = replay_subject(sqlite_store, driver.subject_id, as_of)
        assert diff_states(replayed.state, reported) == [], label
        assert replayed.state == reported, label


async def test_timeline_tells_who_when_what_why_and_the_corrected_values(
    time_env: WorkflowEnvironment,
    gateway: SubjectGateway,
    sqlite_store: SqlEventStore,
    new_driver: Callable[[], SubjectDriver],
) -> None:
    driver = new_driver()
    await driver.register("SLE")
    await driver.consent()
    await driver.screening("SLE")
    await driver.eligible_and_enrolled()
    await driver.product()
    await correct_apheresis(driver)

    result = replay_subject(sqlite_store, driver.subject_id)

    first = result.timeline[0]
    assert (first.type, first.user_id, first.role) == ("subject.registered", "cora", "coordinator")
    correction = result.timeline[-1]
    assert correction.type == "correction.recorded"
    assert correction.reason == APHERESIS_CORRECTION_REASON
    assert (correction.field, correction.old_value, correction.new_value) == (
        "volume_ml",
        180.0,
        185.0,
    )
    assert result.state.apheresis_volume_ml == 185.0


async def test_replay_matches_the_live_workflow_and_reports_a_tampered_field(
    time_env: WorkflowEnvironment,
    gateway: SubjectGateway,
    sqlite_store: SqlEventStore,
    new_driver: Callable[[], SubjectDriver],
) -> None:
    driver = new_driver()
    await full_life(driver)
    live = await live_state(time_env.client, gateway.task_queue, driver.subject_id)
    # Timers keep adding events (the end of participation); compare at the live state's event.
    stored = sqlite_store.read_stream(driver.subject_id)
    as_of = stored[live.last_seq - 1].recorded_at

    assert diff_states(replay_subject(sqlite_store, driver.subject_id, as_of).state, live) == []

    last_visit = max(e.seq for e in stored[: live.last_seq] if e.type == "visit.completed")
    rewrite(
        sqlite_store, driver.subject_id, last_visit, lambda e: e["payload"].update(response="CR")
    )
    differences = diff_states(replay_subject(sqlite_store, driver.subject_id, as_of).state, live)

    # The visit as folded, and the event's values as kept for corrections (issue 9).
    assert [d.field for d in differences] == ["recorded", "visits"]


def test_replay_cli_prints_the_state_as_of_a_time_without_temporal(tmp_path: Path) -> None:
    store = SqlEventStore(f"sqlite:///{tmp_path / 'events.db'}")
    populate(store)
    store.close()
    url = f"sqlite:///{tmp_path / 'events.db'}"

    at_enrolment = CliRunner().invoke(
        app,
        ["audit", "replay", "S-001", "--as-of", "2025-03-03T13:00:00Z", "--json",
         "--store-url", url],
    )  # fmt: skip
    now = CliRunner().invoke(
        app, ["audit", "replay", "S-001", "--json", "--store-url", url],
        env={"TEMPORAL_ADDRESS": "127.0.0.1:1"},
    )  # fmt: skip

    assert at_enrolment.exit_code == 0, at_enrolment.output
    data = json.loads(at_enrolment.stdout)
    assert data["state"]["phase"] == "enrolled"
    assert [e["seq"] for e in data["timeline"]] == [1, 2, 3, 4, 5]
    assert now.exit_code == 3
    assert "not reachable at 127.0.0.1:1" in now.stderr
    live_attempt = json.loads(now.stdout)
    assert live_attempt["live"] is None and live_attempt["differences"] is None
    assert live_attempt["timeline"][-1]["what"] == "corrected volume_ml of event 6: 212.5 -> 221.5"
