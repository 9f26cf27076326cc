"""Screen failure, expiry, withdrawal, missed visits and rejected commands on the test server."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError
from temporalio.testing import WorkflowEnvironment

from activities.notifications import read_outbox
from domain import commands as c
from domain.errors import MissingPrerequisite, RoleNotAllowed, ValueOutOfRange, WrongPhase
from domain.site_calendar import local_midnight
from domain.subject import fold
from domain.values import Phase, VisitStatus
from store.sql import SqlEventStore
from system.gateway import SubjectGateway
from tests.domain.prechecks import weight_command
from tests.workflows.harness import (
    COORDINATOR,
    INVESTIGATOR,
    MONITOR,
    PI,
    SubjectDriver,
    new_subject,
)
from worker import default_outbox
from workflows.subject import SubjectWorkflow, workflow_id_for


def types_of(store: SqlEventStore, subject_id: str) -> list[str]:
    return [e.type for e in store.read_stream(subject_id)]


async def result_of(env: WorkflowEnvironment, subject_id: str) -> Phase:
    handle = env.client.get_workflow_handle_for(SubjectWorkflow.run, workflow_id_for(subject_id))
    return (await handle.result()).phase


async def test_pi_signing_not_eligible_ends_screening_as_screen_failure(
    time_env: WorkflowEnvironment, gateway: SubjectGateway, sqlite_store: SqlEventStore
) -> None:
    driver = SubjectDriver(time_env, gateway, new_subject())
    await driver.register("SSc")
    await driver.consent()
    await driver.screening("SSc", hemoglobin={"value": 59, "unit": "g/L"})
    assert (await driver.state()).screening_eligible is False

    with pytest.raises(MissingPrerequisite, match="do not meet every criterion"):
        await driver.send(
            PI, c.SignEligibility(occurred_at=await driver.now(), decision="eligible")
        )
    await driver.send(
        PI, c.SignEligibility(occurred_at=await driver.now(), decision="not_eligible")
    )

    assert await result_of(time_env, driver.subject_id) is Phase.SCREEN_FAILED
    assert types_of(sqlite_store, driver.subject_id)[-2:] == [
        "eligibility.signed",
        "screening.failed",
    ]


async def test_screening_not_finished_within_window_fails_by_timer(
    time_env: WorkflowEnvironment, gateway: SubjectGateway, sqlite_store: SqlEventStore
) -> None:
    driver = SubjectDriver(time_env, gateway, new_subject())
    await driver.register("DM")
    await driver.consent()
    consented = await driver.today()
    await driver.sleep_until(consented + timedelta(days=29))

    assert await result_of(time_env, driver.subject_id) is Phase.SCREEN_FAILED
    failed = sqlite_store.read_stream(driver.subject_id)[-1]
    assert failed.type == "screening.failed"
    assert failed.actor.role == "system"
    # The window ends at the site's midnight (Asia/Shanghai), 16:00 UTC the day before.
    due = local_midnight(consented + timedelta(days=28), "Asia/Shanghai")
    assert due <= failed.recorded_at < due + timedelta(minutes=1)


async def test_withdrawal_during_lymphodepletion_ends_participation_and_stops_timers(
    time_env: WorkflowEnvironment, gateway: SubjectGateway, sqlite_store: SqlEventStore
) -> None:
    driver = SubjectDriver(time_env, gateway, new_subject())
    await driver.register("ANCA-AAV")
    await driver.consent()
    await driver.screening("ANCA-AAV")
    await driver.eligible_and_enrolled()
    await driver.product()
    await driver.lymphodepletion()
    assert (await driver.state()).phase is Phase.LYMPHODEPLETION

    await driver.send(
        COORDINATOR,
        c.WithdrawConsent(
            occurred_at=await driver.now(),
            withdrawn_on=await driver.today(),
            reason="subject no longer wishes to take part",
        ),
    )
    assert await result_of(time_env, driver.subject_id) is Phase.WITHDRAWN
    events = sqlite_store.read_stream(driver.subject_id)
    assert [e.type for e in events][-2:] == ["consent.withdrawn", "participation.ended"]
    assert events[-1].reason == "subject no longer wishes to take part"

    handle = time_env.client.get_workflow_handle(workflow_id_for(driver.subject_id))
    history = await handle.fetch_history()
    started = [e for e in history.events if e.HasField("timer_started_event_attributes")]
    fired = [e for e in history.events if e.HasField("timer_fired_event_attributes")]
    cancelled = [e for e in history.events if e.HasField("timer_canceled_event_attributes")]
    assert len(started) == len(fired) + len(cancelled)


async def test_missed_month_2_visit_records_a_deviation_and_follow_up_continues(
    time_env: WorkflowEnvironment, gateway: SubjectGateway, sqlite_store: SqlEventStore
) -> None:
    driver = SubjectDriver(time_env, gateway, new_subject())
    await driver.to_infusion("SS")
    await driver.complete_visit("D0", "SD")
    await driver.complete_visit("M1", "PR")
    m2 = (await driver.state()).visit("M2")
    assert m2 is not None

    await driver.sleep_until(m2.window_end + timedelta(days=2))
    state = await driver.state()
    assert state.visit("M2").status is VisitStatus.MISSED  # type: ignore[union-attr]
    assert [d.kind for d in state.deviations] == ["missed_visit"]
    tail = types_of(sqlite_store, driver.subject_id)
    assert tail[tail.index("visit.missed") + 1] == "deviation.opened"

    alerts = {n.kind: n for n in read_outbox(default_outbox(sqlite_store))}
    assert alerts["visit.missed"].severity == "warning"
    assert "M2 was not done" in alerts["visit.missed"].message
    assert alerts["visit.window_opened"].recipients == ("coordinator",)

    await driver.complete_visit("M3", "CR")
    assert (await driver.state()).phase is Phase.FOLLOW_UP
    assert fold(sqlite_store.read_stream(driver.subject_id)) == await driver.state()


async def test_refused_commands_say_why_and_record_nothing(
    time_env: WorkflowEnvironment, gateway: SubjectGateway, sqlite_store: SqlEventStore
) -> None:
    driver = SubjectDriver(time_env, gateway, new_subject())
    await driver.register("SLE")
    before = sqlite_store.count_events()
    now = await driver.now()

    with pytest.raises(WrongPhase, match="cannot enroll while the subject is registered"):
        await driver.send(
            INVESTIGATOR, c.EnrollSubject(occurred_at=now, dose_level="DL1", route="intravenous")
        )
    with pytest.raises(RoleNotAllowed, match="read-only"):
        await driver.send(
            MONITOR,
            c.SignConsent(
                occurred_at=now,
                consent_version="1.0",
                signed_on=now.date(),
                childbearing_potential=False,
            ),
        )
    with pytest.raises(ValueOutOfRange) as bad_version:
        await driver.send(
            COORDINATOR,
            c.SignConsent(
                occurred_at=now,
                consent_version="0.9",
                signed_on=now.date(),
                childbearing_potential=False,
            ),
        )
    assert bad_version.value.field == "consent_version"
    with pytest.raises(ValueOutOfRange, match="in the future"):
        await driver.send(
            COORDINATOR,
            c.SignConsent(
                occurred_at=now,
                consent_version="1.0",
                signed_on=now.date() + timedelta(days=2),
                childbearing_potential=False,
            ),
        )
    with pytest.raises(ValidationError, match="volume_ml"):
        c.RecordApheresis(occurred_at=now, collected_on=now.date(), volume_ml=-5)

    await driver.consent()
    await driver.screening("SLE")
    with pytest.raises(RoleNotAllowed, match="allowed: pi"):
        await driver.send(INVESTIGATOR, c.SignEligibility(occurred_at=now, decision="eligible"))
    assert sqlite_store.count_events() == before + 2
    assert (await driver.state()).phase is Phase.SCREENING


async def test_infusion_outside_the_dose_level_range_is_refused_naming_the_field(
    time_env: WorkflowEnvironment, gateway: SubjectGateway, sqlite_store: SqlEventStore
) -> None:
    driver = SubjectDriver(time_env, gateway, new_subject())
    await driver.register("SLE")
    await driver.consent()
    await driver.screening("SLE")
    await driver.eligible_and_enrolled("DL1")
    await driver.product()
    infusion_date = await driver.lymphodepletion()
    await driver.give_ld_doses()
    await driver.sleep_until(infusion_date)
    await driver.send(COORDINATOR, weight_command(await driver.now(), infusion_date))
    count = sqlite_store.count_events()

    with pytest.raises(ValueOutOfRange) as refused:
        await driver.send(
            INVESTIGATOR,
            c.RecordInfusion(
                occurred_at=await driver.now(), infused_on=infusion_date, tu_per_kg=2e7
            ),
        )
    assert refused.value.field == "tu_per_kg"
    assert "DL1" in refused.value.message
    assert sqlite_store.count_events() == count
