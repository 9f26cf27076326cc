"""The chain of custody through the real SubjectWorkflow on the time-skipping server: every
handoff from collection to the bedside, the two-person check, and the custody clocks."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from domain import commands as c
from domain.errors import MissingPrerequisite, ValueOutOfRange
from domain.events import verify_chain
from domain.protocol import Protocol
from domain.subject import fold
from domain.values import Phase
from store.sql import SqlEventStore
from system.gateway import SubjectGateway
from tests.domain.custody_steps import COA_OOS, handoff, temperature_log, verify
from tests.domain.prechecks import weight_command
from tests.workflows.custody_driver import NURSE, thaw_and_check, to_site
from tests.workflows.harness import COORDINATOR, INVESTIGATOR, PI, SubjectDriver, new_subject
from worker import build_worker


@pytest.fixture
def outbox(tmp_path: Path) -> Path:
    return tmp_path / "notifications.jsonl"


@pytest.fixture
async def subjects(
    time_env: WorkflowEnvironment,
    sqlite_store: SqlEventStore,
    task_queue: str,
    protocol: Protocol,
    outbox: Path,
) -> AsyncIterator[SubjectGateway]:
    async with build_worker(time_env.client, sqlite_store, task_queue, outbox):
        yield SubjectGateway(time_env.client, task_queue, protocol)


async def enrolled(time_env: WorkflowEnvironment, gateway: SubjectGateway) -> SubjectDriver:
    driver = SubjectDriver(time_env, gateway, new_subject())
    await driver.register("SLE")
    await driver.consent()
    await driver.screening("SLE")
    await driver.eligible_and_enrolled()
    return driver


async def infusion_day(driver: SubjectDriver) -> None:
    infusion_date = await driver.lymphodepletion()
    await driver.give_ld_doses()
    await driver.sleep_until(infusion_date)
    await driver.env.sleep(timedelta(hours=9))
    if driver.dated_results:
        # The dose uses the day's measured weight (60 kg, as verified at the bedside).
        await driver.send(COORDINATOR, weight_command(await driver.now(), infusion_date))


def alerts(outbox: Path) -> list[dict[str, object]]:
    if not outbox.exists():
        return []
    return [json.loads(line) for line in outbox.read_text().splitlines() if line]


async def test_enrollment_to_infusion_records_every_handoff_and_the_two_person_check(
    time_env: WorkflowEnvironment, subjects: SubjectGateway, sqlite_store: SqlEventStore
) -> None:
    driver = await enrolled(time_env, subjects)
    product = await to_site(driver)
    await infusion_day(driver)
    await thaw_and_check(driver, product)
    await time_env.sleep(timedelta(minutes=5))
    now = await driver.now()
    result = await driver.send(
        INVESTIGATOR,
        c.RecordInfusion(occurred_at=now, infused_on=now.date(), weight_kg=60, tu_per_kg=5e6),
    )
    assert [e.type for e in result.events] == ["infusion.recorded", "custody.handoff"]
    assert result.summary is not None and result.summary.phase is Phase.INFUSED

    events = sqlite_store.read_stream(driver.subject_id)
    coi = (await driver.state()).custody.coi
    assert coi is not None
    trail = [
        (e.payload.step, e.payload.unit_id.removeprefix(coi), e.actor.user_id)  # type: ignore[union-attr]
        for e in events
        if e.type == "custody.handoff"
    ]
    assert [(step, unit) for step, unit, _ in trail] == [
        ("collected", "-AP01"),
        ("packed", "-AP01"),
        ("shipped", "-AP01"),
        ("received_at_manufacturing", "-AP01"),
        ("manufacturing_started", "-AP01"),
        ("shipped_cryopreserved", "-PR01"),
        ("received_at_site", "-PR01"),
        ("stored", "-PR01"),
        ("thawed", "-PR01"),
        ("infused", "-PR01"),
    ]
    types = [e.type for e in events]
    for kind in ("coi.assigned", "custody.manufactured", "quality.released"):
        assert types.count(kind) == 1
    checks = [e for e in events if e.type == "bedside_check.verified"]
    assert [e.actor.user_id for e in checks] == ["nora", "ivan"]
    assert verify_chain(driver.subject_id, sqlite_store.read_raw(driver.subject_id)) is None
    # Timers (the Day 0 window reminder) may add events after the infusion; compare the fold
    # of exactly the events the live state has seen.
    live = await driver.state()
    stored = sqlite_store.read_stream(driver.subject_id)
    assert fold(e for e in stored if e.seq <= live.last_seq) == live


async def test_thaw_clock_expiry_fires_in_the_workflow_and_the_infusion_is_refused(
    time_env: WorkflowEnvironment, subjects: SubjectGateway, outbox: Path
) -> None:
    driver = await enrolled(time_env, subjects)
    product = await to_site(driver)
    await infusion_day(driver)
    await thaw_and_check(driver, product)
    await time_env.sleep(timedelta(minutes=40))

    state = await driver.state()
    unit = state.custody.unit(product)
    assert unit is not None and unit.quarantined and "thaw_to_infusion" in unit.overdue
    assert state.deviations[-1].kind == "thaw_to_infusion_overdue"
    kinds = [a["kind"] for a in alerts(outbox)]
    assert "custody.overdue" in kinds and "custody.quarantined" in kinds

    now = await driver.now()
    with pytest.raises(ValueOutOfRange, match="quarantined"):
        await driver.send(
            INVESTIGATOR,
            c.RecordInfusion(occurred_at=now, infused_on=now.date(), weight_kg=60, tu_per_kg=5e6),
        )


async def test_a_failed_bedside_check_is_stored_alerted_and_the_infusion_stays_refused(
    time_env: WorkflowEnvironment, subjects: SubjectGateway, outbox: Path
) -> None:
    driver = await enrolled(time_env, subjects)
    product = await to_site(driver)
    await infusion_day(driver)
    now = await driver.now()
    await driver.send(COORDINATOR, handoff(now, "thawed", product))
    state = await driver.state()
    assert state.custody.coi is not None
    wrong = verify(now, driver.subject_id, state.custody.coi, product, tu_per_kg=3e7)
    result = await driver.send(NURSE, wrong)
    assert [e.type for e in result.events] == ["bedside_check.failed"]
    security = [a for a in alerts(outbox) if a["kind"] == "bedside_check.failed"]
    assert len(security) == 1 and "SECURITY" in str(security[0]["message"])
    with pytest.raises(MissingPrerequisite, match="bedside identity check"):
        await driver.send(
            INVESTIGATOR,
            c.RecordInfusion(occurred_at=now, infused_on=now.date(), weight_kg=60, tu_per_kg=5e6),
        )


async def test_excursion_and_out_of_spec_lot_reach_the_alert_outbox(
    time_env: WorkflowEnvironment, subjects: SubjectGateway, outbox: Path
) -> None:
    driver = await enrolled(time_env, subjects)
    product = await to_site(driver, COA_OOS)
    state = await driver.state()
    assert state.phase is Phase.APHERESIS
    await driver.send(
        COORDINATOR, temperature_log(await driver.now(), product, [-170.0, -140.0, -171.0])
    )
    await driver.send(
        PI,
        c.DecideOutOfSpec(
            occurred_at=await driver.now(),
            unit_id=product,
            decision="not_use",
            reason="viability below specification and a shipper excursion",
        ),
    )
    kinds = [a["kind"] for a in alerts(outbox)]
    assert "quality.out_of_spec" in kinds and "custody.quarantined" in kinds
    assert (await driver.state()).phase is Phase.ENROLLED
