"""One subject, registration to the end of 15 years of follow-up, on the time-skipping server."""

from __future__ import annotations

import time

from temporalio.testing import WorkflowEnvironment

from domain import commands as c
from domain.subject import fold
from domain.values import Phase, VisitStatus
from store.sql import SqlEventStore
from system.gateway import SubjectGateway
from tests.ltfu.runs import run_chain
from tests.workflows.harness import COORDINATOR, SubjectDriver, new_subject
from workflows.subject import SubjectWorkflow, workflow_id_for

# The year that is let pass without a contact, to see the missed window become a deviation.
SKIPPED = "LTFU-Y7"


async def test_a_subject_runs_from_registration_through_month_12_and_15_years_of_ltfu(
    time_env: WorkflowEnvironment, gateway_v2: SubjectGateway, sqlite_store: SqlEventStore
) -> None:
    started = time.monotonic()
    driver = SubjectDriver(time_env, gateway_v2, new_subject())
    await driver.to_infusion("SLE")
    for code in ("D0", "M1", "M2", "M3", "M6", "M9", "M12"):
        await driver.complete_visit(code)
    await driver.send(
        COORDINATOR,
        c.RecordLtfuConsent(
            occurred_at=await driver.now(),
            decision="signed",
            decided_on=await driver.today(),
            consent_version="LTFU-1.0",
        ),
    )
    state = await driver.state()
    assert state.phase is Phase.LTFU
    timepoints = [v for v in state.visits if v.code.startswith("LTFU-")]
    assert [v.code for v in timepoints] == [f"LTFU-Y{y}" for y in range(2, 16)]
    protocol = gateway_v2.protocol
    assert protocol.ltfu is not None
    for visit in timepoints:
        if visit.code == SKIPPED:
            continue
        point = protocol.ltfu.timepoint(visit.code)
        assert point is not None
        await driver.sleep_until(visit.target)
        await driver.send(
            COORDINATOR,
            c.CompleteLtfuVisit(
                occurred_at=await driver.now(),
                code=visit.code,
                completed_on=visit.target,
                mode="visit" if point.kind == "visit" else "questionnaire",
                samples=point.samples,
            ),
        )
    handle = time_env.client.get_workflow_handle_for(
        SubjectWorkflow.run, workflow_id_for(driver.subject_id)
    )
    final = await handle.result()
    elapsed = time.monotonic() - started

    assert final.phase is Phase.COMPLETED and final.outcome == "completed"
    statuses = {v.code: v.status for v in final.visits}
    assert statuses[SKIPPED] is VisitStatus.MISSED
    assert all(s is VisitStatus.COMPLETED for code, s in statuses.items() if code != SKIPPED)
    assert [d.kind for d in final.deviations] == ["missed_visit"]
    assert SKIPPED in final.deviations[0].detail or "year 7" in final.deviations[0].detail
    assert final.infusion_date is not None and final.ended_on is not None
    assert (final.ended_on - final.infusion_date).days >= 15 * 365
    assert fold(sqlite_store.read_stream(driver.subject_id)) == final

    chain = await run_chain(time_env.client, workflow_id_for(driver.subject_id))
    stored = len(sqlite_store.read_stream(driver.subject_id))
    print(
        f"\n15-year subject {driver.subject_id}: {stored} "
        f"events, {chain.runs} workflow run(s), largest history {chain.largest_events} events / "
        f"{chain.largest_bytes / 1024:.0f} KiB, {elapsed:.1f} s wall clock"
    )
