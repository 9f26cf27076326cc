"""The study's REST commands against the real worker: slot requests and the PI's review."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from temporalio.testing import WorkflowEnvironment

from domain.protocol import Protocol
from store.sql import SqlEventStore
from system.gateway import StudyGateway, SubjectGateway
from tests.safety.test_study_workflow import infuse, ready_for_slot
from tests.web.conftest import ClientFor
from tests.web.test_study_pages import dl1_eligible_for_escalation, enrolled, quiet, study_types
from tests.workflows.harness import COORDINATOR

# A review is an electronic signature: the PI's user id and password are re-entered.
REVIEW = {
    "dose_level": "DL1",
    "decision": "stay",
    "summary": "0 DLT in 3 evaluable",
    "username": "petra",
    "password": "petra-demo-2024",
}


def slot_path(subject_id: str) -> str:
    return f"/api/subjects/{subject_id}/slot"


async def test_both_study_commands_are_published_in_the_openapi_schema(app: FastAPI) -> None:
    paths = app.openapi()["paths"]
    assert "409" in paths["/api/subjects/{subject_id}/slot"]["post"]["responses"]
    assert "403" in paths["/api/study/reviews"]["post"]["responses"]


# --- slots ----------------------------------------------------------------------------------


async def test_an_enrolled_subject_is_granted_the_sentinel_slot_and_holds_it(
    client_for: ClientFor,
    time_env: WorkflowEnvironment,
    gateway: SubjectGateway,
    study: StudyGateway,
    sqlite_store: SqlEventStore,
    subject_id: str,
) -> None:
    driver = await enrolled(time_env, study, subject_id)
    response = await client_for("cora").post(slot_path(subject_id), json={"dose_level": "DL1"})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["decision"] == "granted" and answer["sentinel"] is True
    assert (await driver.state()).slot_dose_level == "DL1"
    assert study_types(sqlite_store, study) == ["study.slot_granted"]


async def test_the_second_subject_waits_for_the_sentinel_then_until_the_stagger_date(
    client_for: ClientFor,
    time_env: WorkflowEnvironment,
    gateway: SubjectGateway,
    task_queue: str,
    protocol: Protocol,
) -> None:
    studies = StudyGateway(time_env.client, task_queue, quiet(protocol))
    await studies.start()
    gated = SubjectGateway(time_env.client, task_queue, studies.protocol, studies.workflow_id)
    sentinel = await ready_for_slot(time_env, gated)
    second = await ready_for_slot(time_env, gated)
    await studies.request_slot(sentinel.subject_id, "DL1", COORDINATOR)
    ivan = client_for("ivan")

    before = await ivan.post(slot_path(second.subject_id), json={"dose_level": "DL1"})
    assert before.status_code == 200, before.text
    assert before.json()["decision"] == "wait" and before.json()["wait_until"] is None
    assert "not been infused" in before.json()["reason"]

    infused = await infuse(sentinel, studies)
    after = await ivan.post(slot_path(second.subject_id), json={"dose_level": "DL1"})
    assert after.status_code == 200, after.text
    stagger = protocol.safety.sentinel_stagger_days
    assert after.json()["decision"] == "wait"
    assert after.json()["wait_until"] == (infused + timedelta(days=stagger)).isoformat()
    assert (await second.state()).slot_dose_level is None


async def test_a_slot_at_a_closed_dose_level_is_refused_with_409_and_the_studys_answer(
    client_for: ClientFor,
    time_env: WorkflowEnvironment,
    gateway: SubjectGateway,
    study: StudyGateway,
    sqlite_store: SqlEventStore,
    subject_id: str,
) -> None:
    driver = await enrolled(time_env, study, subject_id, level="DL2")
    response = await client_for("cora").post(slot_path(subject_id), json={"dose_level": "DL2"})
    assert response.status_code == 409, response.text
    body = response.json()
    assert body["code"] == "slot_refused" and body["field"] == "dose_level"
    assert "DL2 is closed" in body["detail"]
    assert body["decision"]["decision"] == "refused"
    assert (await driver.state()).slot_dose_level is None
    assert study_types(sqlite_store, study) == []


async def test_bad_slot_input_is_422_at_the_dose_level_and_nothing_is_recorded(
    client_for: ClientFor,
    time_env: WorkflowEnvironment,
    gateway: SubjectGateway,
    study: StudyGateway,
    sqlite_store: SqlEventStore,
    subject_id: str,
) -> None:
    await enrolled(time_env, study, subject_id)
    cora = client_for("cora")
    malformed = await cora.post(slot_path(subject_id), json={"dose_level": "level one"})
    assert malformed.status_code == 422
    assert malformed.json()["detail"][0]["field"] == "dose_level"
    other_level = await cora.post(slot_path(subject_id), json={"dose_level": "DL2"})
    assert other_level.status_code == 422
    assert "enrolled at DL1, not DL2" in other_level.json()["detail"][0]["msg"]
    unknown = await cora.post(slot_path("S-NOBODY"), json={"dose_level": "DL1"})
    assert unknown.status_code == 404
    assert study_types(sqlite_store, study) == []


async def test_a_monitor_requesting_a_slot_gets_403_and_nothing_is_recorded(
    client_for: ClientFor,
    time_env: WorkflowEnvironment,
    gateway: SubjectGateway,
    study: StudyGateway,
    sqlite_store: SqlEventStore,
    subject_id: str,
) -> None:
    driver = await enrolled(time_env, study, subject_id)
    response = await client_for("mona").post(slot_path(subject_id), json={"dose_level": "DL1"})
    assert response.status_code == 403
    assert "read-only" in response.json()["detail"]
    assert (await driver.state()).slot_dose_level is None
    assert study_types(sqlite_store, study) == []


async def test_a_slot_request_while_no_study_workflow_runs_is_409(
    client_for: ClientFor,
    time_env: WorkflowEnvironment,
    gateway: SubjectGateway,
    study: StudyGateway,
    sqlite_store: SqlEventStore,
    subject_id: str,
) -> None:
    # The subject exists and is gated; then the StudyWorkflow goes away (an outage or reset).
    await enrolled(time_env, study, subject_id)
    await time_env.client.get_workflow_handle(study.workflow_id).terminate("test: study down")
    response = await client_for("cora").post(slot_path(subject_id), json={"dose_level": "DL1"})
    assert response.status_code == 409
    assert response.json()["code"] == "study_not_running"
    assert "the study workflow is not running" in response.json()["detail"]


# --- safety reviews -------------------------------------------------------------------------


async def test_only_the_pi_may_sign_a_review_and_others_get_403_before_temporal(
    client_for: ClientFor, study: StudyGateway, sqlite_store: SqlEventStore
) -> None:
    # No study workflow runs: a 403 here shows the role was refused before Temporal was asked.
    for user, why in (("cora", "principal investigator"), ("ivan", "principal investigator")):
        response = await client_for(user).post("/api/study/reviews", json=REVIEW)
        assert response.status_code == 403, user
        assert why in response.json()["detail"]
    monitor = await client_for("mona").post("/api/study/reviews", json=REVIEW)
    assert monitor.status_code == 403
    assert "read-only" in monitor.json()["detail"]
    petra = await client_for("petra").post("/api/study/reviews", json=REVIEW)
    assert petra.status_code == 409
    assert petra.json()["code"] == "study_not_running"
    assert study_types(sqlite_store, study) == []


async def test_a_review_of_a_level_not_eligible_is_409_and_bad_input_422(
    client_for: ClientFor, gateway: SubjectGateway, study: StudyGateway, sqlite_store: SqlEventStore
) -> None:
    await study.start()
    petra = client_for("petra")
    early = await petra.post("/api/study/reviews", json=REVIEW)
    assert early.status_code == 409
    assert early.json()["code"] == "wrong_phase" and "DL1 is open" in early.json()["detail"]
    for bad in ({**REVIEW, "decision": "maybe"}, {**REVIEW, "summary": ""}, {"dose_level": "DL1"}):
        assert (await petra.post("/api/study/reviews", json=bad)).status_code == 422, bad
    assert study_types(sqlite_store, study) == []


async def test_the_pi_escalates_after_a_cohort_of_three_without_dlt(
    client_for: ClientFor,
    time_env: WorkflowEnvironment,
    gateway: SubjectGateway,
    task_queue: str,
    protocol: Protocol,
    sqlite_store: SqlEventStore,
) -> None:
    studies = await dl1_eligible_for_escalation(time_env, task_queue, protocol)
    response = await client_for("petra").post(
        "/api/study/reviews", json={**REVIEW, "decision": "escalate"}
    )
    assert response.status_code == 200, response.text
    status = {c["dose_level"]: c["status"] for c in response.json()["cohorts"]}
    assert status["DL1"] == "escalated" and status["DL2"] == "open"
    types = study_types(sqlite_store, studies)
    assert types[-3:] == ["study.safety_review_signed", "signature.applied", "study.escalated"]
    signature = sqlite_store.read_stream(studies.workflow_id)[-2]
    assert signature.payload.meaning == "review"  # type: ignore[union-attr]
    view = (await client_for("mona").get("/api/study")).json()
    assert view["reviews_pending"] == []
