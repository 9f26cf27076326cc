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
) -> SubjectDriver:
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
    await driver.complete_visit("D0")  # the baseline: no response
    for code, response in responses.items():
        await driver.complete_visit(code, response)
    return driver


def _cell(report: dict[str, Any], timepoint: str, by: str, group: str) -> dict[str, Any]:
    [cell] = [
        c
        for c in report["cells"]
        if (c["timepoint"], c["by"], c["group"]) == (timepoint, by, group)
    ]
    return cell


def _counts(cell: dict[str, Any]) -> tuple[int, ...]:
    keys = ("denominator", "cr", "pr", "sd", "pd", "ne", "missed", "withdrawn", "responders")
    return tuple(cell[k] for k in keys)


async def test_the_orr_endpoint_counts_ne_missed_and_withdrawn_as_non_responders(
    client_for: ClientFor,
    time_env: WorkflowEnvironment,
    gateway: SubjectGateway,
    sqlite_store: SqlEventStore,
) -> None:
    await _drive(time_env, gateway, "SLE", "DL1", {"M1": "CR"})
    await _drive(time_env, gateway, "SLE", "DL1", {"M1": "NE"})
    await _drive(time_env, gateway, "SSc", "DL2", {"M1": "PD"})
    leaving = await _drive(time_env, gateway, "SLE", "DL1", {})
    await leaving.send(
        INVESTIGATOR,
        c.EndParticipation(
            occurred_at=await leaving.now(),
            outcome="withdrawn",
            ended_on=await leaving.today(),
            reason="moved away",
        ),
    )
    absent = await _drive(time_env, gateway, "SLE", "DL1", {})
    m1 = (await absent.state()).visit("M1")
    assert m1 is not None
    # Past the window: the workflow's own timer records the visit missed.
    await absent.sleep_until(m1.window_end + timedelta(days=2))
    for _ in range(100):
        visit = (await absent.state()).visit("M1")
        if visit is not None and visit.status == "missed":
            break
        await time_env.sleep(timedelta(hours=1))
    else:
        raise AssertionError("M1 was not recorded missed")

    response = await client_for("mona").get("/api/report/orr")
    assert response.status_code == 200
    report = response.json()

    # Counted by hand: N, CR, PR, SD, PD, NE, missed, withdrawn, responders.
    assert _counts(_cell(report, "M1", "overall", "all")) == (5, 1, 0, 0, 1, 1, 1, 1, 1)
    assert _counts(_cell(report, "M1", "disease", "SLE")) == (4, 1, 0, 0, 0, 1, 1, 1, 1)
    assert _counts(_cell(report, "M1", "disease", "SSc")) == (1, 0, 0, 0, 1, 0, 0, 0, 0)
    assert _counts(_cell(report, "M1", "dose_level", "DL2")) == (1, 0, 0, 0, 1, 0, 0, 0, 0)
    assert "non-responders" in report["rule"]
    # Day 0 is the baseline, never a timepoint.
    assert all(c["timepoint"] != "D0" for c in report["cells"])

    # 1/5 and 0/1: published exact Clopper-Pearson 95 % limits.
    m1_all = _cell(report, "M1", "overall", "all")
    assert (m1_all["orr"], m1_all["ci_low"], m1_all["ci_high"]) == (
        0.2,
        pytest.approx(0.0051, abs=1e-4),
        pytest.approx(0.7164, abs=1e-4),
    )
    ssc = _cell(report, "M1", "disease", "SSc")
    assert (ssc["orr"], ssc["ci_low"], ssc["ci_high"]) == (0.0, 0.0, pytest.approx(0.975))
    assert report["confidence"] == 0.95
    # The harness records SLEDAI-2K 4 on 5 mg/day (12 at screening) at both SLE visits: LLDAS
    # for the CR and the NE subject; the withdrawn and the missed one are non-responders.
    [lldas] = [
        c
        for c in report["disease_cells"]
        if (c["timepoint"], c["disease"], c["definition"]) == ("M1", "SLE", "LLDAS")
    ]
    assert (lldas["responders"], lldas["denominator"], lldas["rate"]) == (2, 4, 0.5)
    assert (lldas["ci_low"], lldas["ci_high"]) == (
        pytest.approx(0.0676, abs=1e-4),
        pytest.approx(0.9324, abs=1e-4),
    )

    # Byte for byte what `trial report orr --json` prints for the same store.
    cli_json = json.dumps(load_orr(str(sqlite_store.url)).model_dump(mode="json"))
    assert json.loads(cli_json) == report

    page = await (await logged_in(client_for, "mona")).get("/report/orr")
    assert page.status_code == 200
    assert "20 % (1–72 %)" in page.text
    assert "50 % (7–93 %)" in page.text  # LLDAS
    assert "non-responders" in page.text
    assert 'href="/report/orr"' in page.text


async def test_an_empty_store_reports_no_timepoint_and_states_the_rule(
    client_for: ClientFor,
) -> None:
    report = (await client_for("cora").get("/api/report/orr")).json()
    assert report["cells"] == [] and report["disease_cells"] == []
    assert "every infused subject" in report["rule"]


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
