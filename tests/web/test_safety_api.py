"""ORR report, alerts and study endpoints against the real worker on the time-skipping server."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from cli.report import load_orr
from domain import commands as c
from domain.grading import CrsComponents, Hypotension
from domain.protocol import Protocol
from store.sql import SqlEventStore
from system.gateway import StudyGateway, SubjectGateway
from tests.web.conftest import ClientFor
from tests.web.login import logged_in
from tests.workflows.harness import COORDINATOR, INVESTIGATOR, SubjectDriver, new_subject
from workflows.study import study_workflow_id

SAFETY_READS = ["/api/report/orr", "/api/alerts", "/api/study"]


@pytest.mark.parametrize("path", SAFETY_READS)
async def test_safety_reads_without_credentials_get_401_with_a_basic_challenge(
    client_for: ClientFor, path: str
) -> None:
    response = await client_for(None).get(path)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Basic")


@pytest.mark.parametrize("path", SAFETY_READS)
async def test_a_monitor_reads_every_safety_endpoint(client_for: ClientFor, path: str) -> None:
    response = await client_for("mona").get(path)
    assert response.status_code == 200, response.text


async def test_a_monitor_posting_an_adverse_event_gets_403_and_nothing_is_recorded(
    client_for: ClientFor,
    time_env: WorkflowEnvironment,
    gateway: SubjectGateway,
    sqlite_store: SqlEventStore,
    subject_id: str,
) -> None:
    driver = SubjectDriver(time_env, gateway, subject_id)
    await driver.register()
    await driver.consent()
    now = await time_env.get_current_time()
    body = {
        "type": "record_adverse_event",
        "occurred_at": now.isoformat(),
        "kind": "CRS",
        "crs": {"max_temperature_c": 39.0, "hypotension": "no_vasopressor"},
        "onset_on": now.date().isoformat(),
        "related_to_jy231": "probable",
        "related_to_lymphodepletion": "unlikely",
    }
    response = await client_for("mona").post(f"/api/subjects/{subject_id}/commands", json=body)
    assert response.status_code == 403
    assert "read-only" in response.json()["detail"]
    assert [e.type for e in sqlite_store.read_stream(subject_id)] == [
        "subject.registered",
        "consent.signed",
    ]
    # The same body from a coordinator is recorded, so the 403 was the role and nothing else.
    accepted = await client_for("cora").post(f"/api/subjects/{subject_id}/commands", json=body)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["events"][0]["payload"]["grade"] == 2


# --- ORR ------------------------------------------------------------------------------------


async def _drive(
    env: WorkflowEnvironment,
    gateway: SubjectGateway,
    disease: str,
    dose_level: str,
    responses: dict[str, str],
) -> None:
    driver = SubjectDriver(env, gateway, new_subject())
    await driver.register(disease)
    await driver.consent()
    await driver.screening(disease)
    await driver.eligible_and_enrolled(dose_level)
    await driver.product()
    infusion_date = await driver.lymphodepletion()
    await driver.give_ld_doses()
    await driver.sleep_until(infusion_date)
    # A dose inside the level's TU/kg range (the harness's default fits DL1 only).
    tu_per_kg = {"DL1": 5e6, "DL2": 2e7}[dose_level]
    await driver.infuse(infusion_date, tu_per_kg)
    for code, response in responses.items():
        await driver.complete_visit(code, response)


def _cell(report: dict[str, Any], timepoint: str, by: str, group: str) -> dict[str, Any]:
    [cell] = [
        c
        for c in report["cells"]
        if (c["timepoint"], c["by"], c["group"]) == (timepoint, by, group)
    ]
    return cell


def _counts(cell: dict[str, Any]) -> tuple[int, ...]:
    keys = ("assessed", "evaluable", "cr", "pr", "sd", "pd", "ne", "responders")
    return tuple(cell[k] for k in keys)


async def test_the_orr_endpoint_matches_a_hand_count_and_the_cli_report(
    client_for: ClientFor,
    time_env: WorkflowEnvironment,
    gateway: SubjectGateway,
    sqlite_store: SqlEventStore,
) -> None:
    await _drive(time_env, gateway, "SLE", "DL1", {"D0": "PR", "M1": "CR"})
    await _drive(time_env, gateway, "SLE", "DL1", {"D0": "SD", "M1": "NE"})
    await _drive(time_env, gateway, "SSc", "DL2", {"D0": "CR", "M1": "PD"})

    response = await client_for("mona").get("/api/report/orr")
    assert response.status_code == 200
    report = response.json()

    # Counted by hand: assessed, evaluable, CR, PR, SD, PD, NE, responders.
    assert _counts(_cell(report, "D0", "overall", "all")) == (3, 3, 1, 1, 1, 0, 0, 2)
    assert _counts(_cell(report, "D0", "disease", "SLE")) == (2, 2, 0, 1, 1, 0, 0, 1)
    assert _counts(_cell(report, "D0", "disease", "SSc")) == (1, 1, 1, 0, 0, 0, 0, 1)
    assert _counts(_cell(report, "D0", "dose_level", "DL2")) == (1, 1, 1, 0, 0, 0, 0, 1)
    # NE is assessed but not evaluable.
    assert _counts(_cell(report, "M1", "overall", "all")) == (3, 2, 1, 0, 0, 1, 1, 1)
    assert _counts(_cell(report, "M1", "disease", "SLE")) == (2, 1, 1, 0, 0, 0, 1, 1)
    assert _counts(_cell(report, "M2", "overall", "all"))[0] == 0

    # Published exact Clopper-Pearson 95 % limits for 2/3, 1/2 and 0/1.
    d0 = _cell(report, "D0", "overall", "all")
    assert d0["orr"] == pytest.approx(2 / 3)
    assert (d0["ci_low"], d0["ci_high"]) == (
        pytest.approx(0.0943, abs=1e-4),
        pytest.approx(0.9916, abs=1e-4),
    )
    m1 = _cell(report, "M1", "overall", "all")
    assert (m1["orr"], m1["ci_low"], m1["ci_high"]) == (
        0.5,
        pytest.approx(0.0126, abs=1e-4),
        pytest.approx(0.9874, abs=1e-4),
    )
    ssc = _cell(report, "M1", "disease", "SSc")
    assert (ssc["orr"], ssc["ci_low"], ssc["ci_high"]) == (0.0, 0.0, pytest.approx(0.975))
    assert report["confidence"] == 0.95

    # Byte for byte what `trial report orr --json` prints for the same store.
    cli_json = json.dumps(load_orr(str(sqlite_store.url)).model_dump(mode="json"))
    assert json.loads(cli_json) == report

    page = await (await logged_in(client_for, "mona")).get("/report/orr")
    assert page.status_code == 200
    assert "67 % (9–99 %)" in page.text
    assert "50 % (1–99 %)" in page.text
    assert 'href="/report/orr"' in page.text


async def test_an_empty_store_reports_no_evaluable_subjects_at_any_timepoint(
    client_for: ClientFor,
) -> None:
    report = (await client_for("cora").get("/api/report/orr")).json()
    overall = [c for c in report["cells"] if c["by"] == "overall"]
    assert [c["timepoint"] for c in overall] == ["D0", "M1", "M2", "M3", "M6", "M12"]
    assert all(c["evaluable"] == 0 and c["orr"] is None for c in overall)


# --- alerts ---------------------------------------------------------------------------------


async def test_alerts_list_dlt_overdue_sae_and_missed_monitoring_newest_first(
    client_for: ClientFor, time_env: WorkflowEnvironment, gateway: SubjectGateway, subject_id: str
) -> None:
    driver = SubjectDriver(time_env, gateway, subject_id)
    infusion_date = await driver.to_infusion("SLE")
    now = await driver.now()
    # Grade 3 CRS inside the DLT window, hospitalised: a DLT and an SAE report clock at once.
    await driver.send(
        INVESTIGATOR,
        c.RecordAdverseEvent(
            occurred_at=now,
            kind="CRS",
            crs=CrsComponents(max_temperature_c=39.4, hypotension=Hypotension.ONE_VASOPRESSOR),
            onset_on=now.date(),
            seriousness=("hospitalisation",),
            related_to_jy231="probable",
            related_to_lymphodepletion="unlikely",
        ),
    )
    # Past the 24 h report deadline and past the end of monitoring day 1, with nothing recorded.
    await driver.sleep_until(infusion_date + timedelta(days=2))
    await time_env.sleep(timedelta(hours=12))

    response = await client_for("mona").get("/api/alerts")
    assert response.status_code == 200
    safety = {"dlt.flagged", "sae.overdue", "monitoring.missed"}
    # Visit reminders share the outbox; this test is about the safety alerts among them.
    alerts = [a for a in response.json() if a["subject_id"] == subject_id and a["kind"] in safety]
    kinds = [a["kind"] for a in alerts]
    assert safety <= set(kinds)
    raised = [a["raised_at"] for a in alerts]
    assert raised == sorted(raised, reverse=True)
    assert kinds[-1] == "dlt.flagged"  # raised first, so listed last
    assert next(a for a in alerts if a["kind"] == "sae.overdue")["severity"] == "urgent"

    page = await (await logged_in(client_for, "mona")).get("/alerts")
    assert page.status_code == 200
    assert f"SAE {subject_id}-AE-1 of {subject_id}: expedited report overdue" in page.text
    assert "no daily monitoring record for day 1" in page.text

    # The subject page shows the same facts from the subject's own stream.
    subject_page = (await (await logged_in(client_for, "mona")).get(f"/subjects/{subject_id}")).text
    assert "CRS grade 3" in subject_page
    assert "sae-overdue" in subject_page
    assert "CRS grade 3 (≥ 3)" in subject_page  # the DLT rule met
    assert 'data-day="1" title' in subject_page and "status-missed" in subject_page


# --- study ----------------------------------------------------------------------------------


async def test_without_a_study_stream_the_study_endpoint_and_page_say_none_is_running(
    client_for: ClientFor, protocol: Protocol
) -> None:
    body = (await client_for("mona").get("/api/study")).json()
    assert body == {
        "study_id": study_workflow_id(protocol),
        "running": False,
        "cohorts": [],
        "reviews_pending": [],
        "last_recorded_at": None,
    }
    page = await (await logged_in(client_for, "mona")).get("/study")
    assert "No study workflow running" in page.text


async def test_a_granted_slot_shows_the_subject_as_sentinel_of_its_dose_level_cohort(
    client_for: ClientFor,
    time_env: WorkflowEnvironment,
    gateway: SubjectGateway,
    task_queue: str,
    protocol: Protocol,
    subject_id: str,
) -> None:
    study = StudyGateway(time_env.client, task_queue, protocol)
    await study.start()
    gated = SubjectGateway(time_env.client, task_queue, protocol, study_id=study.workflow_id)
    driver = SubjectDriver(time_env, gated, subject_id)
    await driver.register()
    await driver.consent()
    await driver.screening()
    await driver.eligible_and_enrolled("DL1")
    answer = await study.request_slot(subject_id, "DL1", COORDINATOR)
    assert answer.decision == "granted"

    body = (await client_for("mona").get("/api/study")).json()
    assert body["running"] is True
    levels = {co["dose_level"]: co for co in body["cohorts"]}
    assert [m["subject_id"] for m in levels["DL1"]["members"]] == [subject_id]
    assert levels["DL1"]["members"][0]["sentinel"] is True
    assert levels["DL1"]["members"][0]["outcome"] is None
    assert levels["DL1"]["status"] == "open"
    assert levels["DL1"]["decision"] == "enrolling 1 of 3; 0 DLT in 0 evaluable"
    assert levels["DL2"]["status"] == "closed"
    assert body["reviews_pending"] == []

    page = (await (await logged_in(client_for, "cora")).get("/study")).text
    assert f'href="/subjects/{subject_id}"' in page
    assert "enrolling 1 of 3" in page
    await time_env.client.get_workflow_handle(study.workflow_id).terminate("test finished")
