"""Deadlines fire at midnight in the site's zone (Asia/Shanghai), on the time-skipping server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from temporalio.testing import WorkflowEnvironment

from domain.site_calendar import local_midnight
from domain.values import Phase
from store.sql import SqlEventStore
from system.gateway import SubjectGateway
from tests.workflows.harness import SubjectDriver, new_subject
from workflows.subject import SubjectWorkflow, workflow_id_for


async def test_the_screening_window_closes_at_taiyuan_midnight_which_is_1600_utc(
    time_env: WorkflowEnvironment, gateway: SubjectGateway, sqlite_store: SqlEventStore
) -> None:
    assert gateway.protocol.calendar.timezone == "Asia/Shanghai"
    driver = SubjectDriver(time_env, gateway, new_subject())
    await driver.register()
    await driver.consent()
    state = await driver.state()
    assert state.consented_on is not None
    expiry = state.consented_on + timedelta(days=gateway.protocol.protocol.screening_window_days)
    await driver.sleep_until(expiry + timedelta(days=1))
    handle = time_env.client.get_workflow_handle_for(
        SubjectWorkflow.run, workflow_id_for(driver.subject_id)
    )
    assert (await handle.result()).phase is Phase.SCREEN_FAILED
    due = local_midnight(expiry, "Asia/Shanghai")
    assert due == datetime.combine(expiry, datetime.min.time(), tzinfo=UTC) - timedelta(hours=8)
    events = sqlite_store.read_stream(driver.subject_id)
    failed = [e for e in events if e.type == "screening.failed"]
    assert len(failed) == 1
    # The timer fires at the instant the site's day begins, not at UTC midnight eight hours on.
    assert due <= failed[0].recorded_at < due + timedelta(minutes=1)
