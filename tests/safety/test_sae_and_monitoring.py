"""SAE report clock and daily monitoring on the time-skipping server, alerts in the outbox."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from activities.notifications import read_outbox
from domain import commands as c
from domain.values import Phase
from store.sql import SqlEventStore
from system.gateway import SubjectGateway
from tests.workflows.harness import COORDINATOR, INVESTIGATOR, SubjectDriver, new_subject
from workflows.subject import SubjectWorkflow, workflow_id_for


async def test_unreported_sae_is_marked_overdue_after_24_hours_with_an_urgent_alert(
    time_env: WorkflowEnvironment,
    subjects: SubjectGateway,
    sqlite_store: SqlEventStore,
    outbox: Path,
) -> None:
    driver = SubjectDriver(time_env, subjects, new_subject())
    await driver.register()
    await driver.consent()
    aware = await driver.now()
    await driver.send(
        COORDINATOR,
        c.RecordAdverseEvent(
            occurred_at=aware,
            term="Pneumonia",
            grade=3,
            onset_on=aware.date(),
            seriousness=("hospitalisation",),
            related_to_jy231="unrelated",
            related_to_lymphodepletion="unrelated",
        ),
    )
    ae_id = f"{driver.subject_id}-AE-1"

    await time_env.sleep(timedelta(hours=23))
    assert not (await driver.state()).adverse_events[0].sae_overdue
    assert read_outbox(outbox) == []

    await time_env.sleep(timedelta(hours=2))
    state = await driver.state()
    assert state.adverse_events[0].sae_overdue
    assert [d.kind for d in state.deviations] == ["late_sae_report"]
    types = [e.type for e in sqlite_store.read_stream(driver.subject_id)]
    assert types[-2:] == ["sae.overdue", "deviation.opened"]
    (alert,) = read_outbox(outbox)
    assert (alert.kind, alert.severity, alert.subject_id) == (
        "sae.overdue",
        "urgent",
        driver.subject_id,
    )
    assert ae_id in alert.message

    # The late report is still accepted and recorded as late.
    result = await driver.send(
        COORDINATOR,
        c.ReportSae(
            occurred_at=await driver.now(),
            ae_id=ae_id,
            reported_at=await driver.now(),
            recipient="NMPA and sponsor safety desk",
            reference="SAE-2026-001",
        ),
    )
    assert result.events[0].payload.late is True  # type: ignore[union-attr]


async def test_a_monitoring_day_without_a_record_is_flagged_missed(
    time_env: WorkflowEnvironment,
    subjects: SubjectGateway,
    sqlite_store: SqlEventStore,
    outbox: Path,
) -> None:
    driver = SubjectDriver(time_env, subjects, new_subject())
    infusion_date = await driver.to_infusion("SLE")
    await driver.sleep_until(infusion_date + timedelta(days=1))
    await driver.send(
        COORDINATOR,
        c.RecordDailyMonitoring(occurred_at=await driver.now(), day=1, max_temperature_c=37.4),
    )
    # Day 2 passes with nothing recorded; day 3 is recorded.
    await driver.sleep_until(infusion_date + timedelta(days=3))
    await driver.send(
        COORDINATOR,
        c.RecordDailyMonitoring(occurred_at=await driver.now(), day=3, max_temperature_c=36.9),
    )
    state = await driver.state()
    assert state.monitoring_recorded == (1, 3)
    assert state.monitoring_missed == (2,)
    missed = [
        e for e in sqlite_store.read_stream(driver.subject_id) if e.type == "monitoring.missed"
    ]
    assert [(e.payload.day, e.payload.on) for e in missed] == [  # type: ignore[union-attr]
        (2, infusion_date + timedelta(days=2))
    ]
    monitoring_alerts = [n.kind for n in read_outbox(outbox) if n.kind.startswith("monitoring")]
    assert monitoring_alerts == ["monitoring.missed"]


async def test_a_fatal_ae_ends_participation_but_the_workflow_waits_for_the_sae_report(
    time_env: WorkflowEnvironment,
    subjects: SubjectGateway,
    sqlite_store: SqlEventStore,
) -> None:
    driver = SubjectDriver(time_env, subjects, new_subject())
    await driver.to_infusion("SLE")
    now = await driver.now()
    result = await driver.send(
        INVESTIGATOR,
        c.RecordAdverseEvent(
            occurred_at=now,
            term="Cardiac arrest",
            grade=5,
            onset_on=now.date(),
            seriousness=("death",),
            related_to_jy231="possible",
            related_to_lymphodepletion="unlikely",
            outcome="fatal",
        ),
    )
    assert [e.type for e in result.events] == [
        "ae.recorded",
        "dlt.flagged",
        "susar.identified",
        "participation.ended",
    ]
    await time_env.sleep(timedelta(hours=1))
    state = await driver.state()
    assert (state.phase, state.dlt_outcome) == (Phase.DIED, "dlt")

    handle = time_env.client.get_workflow_handle_for(
        SubjectWorkflow.run, workflow_id_for(driver.subject_id)
    )
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
    await driver.send(
        COORDINATOR,
        c.ReportSae(
            occurred_at=await driver.now(),
            ae_id=f"{driver.subject_id}-AE-1",
            reported_at=await driver.now(),
            recipient="NMPA",
            reference="SAE-2026-002",
        ),
    )
    # A related death is a SUSAR: the workflow also waits for its expedited reports.
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
    for kind in ("initial", "follow_up"):
        for recipient in ("regulator", "ethics_committee", "sponsor"):
            await driver.send(
                COORDINATOR,
                c.ReportSusar(
                    occurred_at=await driver.now(),
                    ae_id=f"{driver.subject_id}-AE-1",
                    recipient=recipient,
                    kind=kind,  # type: ignore[arg-type]
                    reported_at=await driver.now(),
                    reference=f"SUSAR-{recipient}-{kind}",
                ),
            )
    final = await handle.result()
    assert final.unreported_saes == ()
    types = [e.type for e in sqlite_store.read_stream(driver.subject_id)]
    assert types[-8:-6] == ["dlt.window_closed", "sae.reported"]
    assert types[-6:] == ["susar.reported"] * 6
