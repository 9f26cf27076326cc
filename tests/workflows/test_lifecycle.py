"""A subject's whole life, registration to Month 12: time-skipping, dev server, PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from domain.events import verify_chain
from domain.protocol import Protocol
from domain.schedule import visit_schedule
from domain.subject import fold
from domain.values import Phase, VisitStatus
from store.base import EventStore
from store.sql import SqlEventStore
from system.gateway import SubjectGateway
from tests.workflows.harness import SubjectDriver, new_subject
from worker import build_worker
from workflows.subject import SubjectWorkflow, workflow_id_for

EXPECTED_TYPES = [
    "subject.registered",
    "consent.signed",
    "screening.recorded",
    "eligibility.signed",
    "subject.enrolled",
    "apheresis.recorded",
    "product.released",
    "lymphodepletion.planned",
    "lymphodepletion.approved",
    *["lymphodepletion.dose_given"] * 6,
    "infusion.recorded",
]


async def run_full_lifecycle(
    env: WorkflowEnvironment,
    gateway: SubjectGateway,
    store: EventStore,
    infusion_in_days: int = 7,
) -> None:
    """Registration to completion at Month 12, checked event by event and against the fold."""
    protocol = gateway.protocol
    driver = SubjectDriver(env, gateway, new_subject())
    infusion_date = await driver.to_infusion("SLE", infusion_in_days=infusion_in_days)

    state = await driver.state()
    assert state.phase is Phase.INFUSED
    assert state.visits == visit_schedule(infusion_date, protocol)
    for visit, definition in zip(state.visits, protocol.visits, strict=True):
        assert visit.code == definition.code
        assert (visit.shifted_from or visit.target) == infusion_date + timedelta(
            days=definition.target_day
        )
        assert visit.window_start <= visit.target <= visit.window_end

    for code in ("D0", "M1", "M2", "M3", "M6", "M12"):
        await driver.complete_visit(code, response="CR" if code == "M12" else "PR")

    handle = env.client.get_workflow_handle_for(
        SubjectWorkflow.run, workflow_id_for(driver.subject_id)
    )
    final = await handle.result()
    assert final.phase is Phase.COMPLETED
    assert all(v.status is VisitStatus.COMPLETED for v in final.visits)

    events = store.read_stream(driver.subject_id)
    # The dated re-checks (when the protocol has them) come before the plan and the infusion.
    types = [e.type for e in events if e.type != "measurement.recorded"]
    if driver.dated_results:
        first = [e.type for e in events].index("measurement.recorded")
        assert first < [e.type for e in events].index("lymphodepletion.planned")
    doses = len(protocol.lymphodepletion.drugs[0].days) * len(protocol.lymphodepletion.drugs)
    expected_start = [t for t in EXPECTED_TYPES if t != "lymphodepletion.dose_given"]
    expected_start[9:9] = ["lymphodepletion.dose_given"] * doses
    if protocol.custody is not None:
        # Enrollment under custody rules also issues the chain-of-identity id and books slots.
        at = expected_start.index("subject.enrolled") + 1
        expected_start[at:at] = ["coi.assigned"]
        if protocol.custody.slots is not None:
            expected_start.insert(at + 1, "custody.slots_booked")
    assert types[: len(expected_start)] == expected_start
    assert types[-1] == "participation.ended"
    assert types.count("visit.completed") == 6
    assert types.count("visit.window_opened") == 6
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert verify_chain(driver.subject_id, store.read_raw(driver.subject_id)) is None
    assert fold(events) == final


async def test_subject_goes_from_registration_to_completion_at_month_12(
    time_env: WorkflowEnvironment, gateway: SubjectGateway, sqlite_store: SqlEventStore
) -> None:
    await run_full_lifecycle(time_env, gateway, sqlite_store)


@pytest.mark.postgres
async def test_lifecycle_persists_to_postgresql(
    time_env: WorkflowEnvironment,
    postgres_url: str,
    task_queue: str,
    protocol: Protocol,
    tmp_path: Path,
) -> None:
    store = SqlEventStore(postgres_url)
    try:
        async with build_worker(time_env.client, store, task_queue, tmp_path / "outbox.jsonl"):
            gateway = SubjectGateway(time_env.client, task_queue, protocol)
            await run_full_lifecycle(time_env, gateway, store)
    finally:
        store.close()


@pytest.mark.devserver
@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
async def test_lifecycle_on_the_real_dev_server_with_short_windows(
    dev_env: WorkflowEnvironment,
    backend: str,
    tmp_path: Path,
    postgres_database_url: Callable[[str], str],
    task_queue: str,
    short_protocol: Protocol,
) -> None:
    url = (
        f"sqlite:///{tmp_path}/events.db"
        if backend == "sqlite"
        else postgres_database_url("lifecycle_dev")
    )
    store = SqlEventStore(url)
    try:
        async with build_worker(dev_env.client, store, task_queue, tmp_path / "outbox.jsonl"):
            gateway = SubjectGateway(dev_env.client, task_queue, short_protocol)
            await run_full_lifecycle(dev_env, gateway, store, infusion_in_days=0)
    finally:
        store.close()
