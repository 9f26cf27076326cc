"""Study actions from the dashboard: slot requests on the subject page, the PI's signed review.

Both go through StudyGateway to the StudyWorkflow on the real worker.
"""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
from temporalio.testing import WorkflowEnvironment

from domain.protocol import Protocol
from store.sql import SqlEventStore
from system.gateway import StudyGateway, SubjectGateway
from tests.safety.test_study_workflow import infuse, ready_for_slot
from tests.web.conftest import ClientFor
from tests.web.login import logged_in, submit
from tests.workflows.harness import COORDINATOR, SubjectDriver

# The review is an electronic signature: user id and password at the session's first signing.
SIGN = {"signature_username": "petra", "signature_password": "petra-demo-2024"}


def quiet(protocol: Protocol) -> Protocol:
    # No daily monitoring records to keep up with: these tests look at the DLT window only.
    return protocol.model_copy(
        update={"safety": protocol.safety.model_copy(update={"daily_monitoring_days": 0})}
    )


async def enrolled(
    env: WorkflowEnvironment, study: StudyGateway, subject_id: str, level: str = "DL1"
) -> SubjectDriver:
    await study.start()
    gated = SubjectGateway(env.client, study.task_queue, study.protocol, study.workflow_id)
    driver = SubjectDriver(env, gated, subject_id)
    await driver.register()
    await driver.consent()
    await driver.screening()
    await driver.eligible_and_enrolled(level)
    return driver


def study_types(store: SqlEventStore, study: StudyGateway) -> list[str]:
    return [e.type for e in store.read_stream(study.workflow_id)]


def field_error(page: str, name: str) -> str:
    found = re.search(rf'<span class="field-error" data-field="{name}">([^<]*)</span>', page)
    assert found is not None, f"no error shown at {name}"
    return found.group(1)


async def request_slot(client: httpx.AsyncClient, subject_id: str, level: str) -> httpx.Response:
    return await submit(client, f"/subjects/{subject_id}/slot", {"dose_level": level})


async def dl1_eligible_for_escalation(
    env: WorkflowEnvironment, task_queue: str, protocol: Protocol
) -> StudyGateway:
    """A DL1 cohort of three, staggered after its sentinel, through the DLT window, no DLT."""
    studies = StudyGateway(env.client, task_queue, quiet(protocol))
    await studies.start()
    gated = SubjectGateway(env.client, task_queue, studies.protocol, studies.workflow_id)
    stagger = protocol.safety.sentinel_stagger_days
    window = protocol.safety.dlt_window_days
    sentinel = await ready_for_slot(env, gated)
    await studies.request_slot(sentinel.subject_id, "DL1", COORDINATOR)
    sentinel_infused = await infuse(sentinel, studies)
    cohort = [sentinel]
    for _ in range(2):
        driver = await ready_for_slot(env, gated)
        await driver.sleep_until(sentinel_infused + timedelta(days=stagger))
        granted = await studies.request_slot(driver.subject_id, "DL1", COORDINATOR)
        assert granted.decision == "granted"
        infused = await infuse(driver, studies)
        cohort.append(driver)
    await cohort[-1].sleep_until(infused + timedelta(days=window + 2))
    dl1 = (await studies.state()).cohort("DL1")
    assert dl1 is not None and dl1.status == "escalation_eligible"
    return studies


# --- slots ----------------------------------------------------------------------------------


async def test_staff_see_the_slot_form_for_an_enrolled_subject_and_monitors_do_not(
    client_for: ClientFor,
    time_env: WorkflowEnvironment,
    gateway: SubjectGateway,
    study: StudyGateway,
    subject_id: str,
) -> None:
    await enrolled(time_env, study, subject_id)
    page = (await (await logged_in(client_for, "cora")).get(f"/subjects/{subject_id}")).text
    assert f'action="/subjects/{subject_id}/slot"' in page
    assert '<option value="DL1" selected>DL1</option>' in page
    mona = (await (await logged_in(client_for, "mona")).get(f"/subjects/{subject_id}")).text
    assert "/slot" not in mona


async def test_a_slot_at_another_level_than_enrolled_is_refused_next_to_the_dose_level(
    client_for: ClientFor,
    time_env: WorkflowEnvironment,
    gateway: SubjectGateway,
    study: StudyGateway,
    sqlite_store: SqlEventStore,
    subject_id: str,
) -> None:
    await enrolled(time_env, study, subject_id)
    response = await request_slot(await logged_in(client_for, "cora"), subject_id, "DL2")
    assert response.status_code == 422
    assert "enrolled at DL1, not DL2" in field_error(response.text, "dose_level")
    assert "study.slot_granted" not in study_types(sqlite_store, study)


async def test_a_slot_requested_from_the_subject_page_is_granted_and_the_form_goes_away(
    client_for: ClientFor,
    time_env: WorkflowEnvironment,
    gateway: SubjectGateway,
    study: StudyGateway,
    sqlite_store: SqlEventStore,
    subject_id: str,
) -> None:
    driver = await enrolled(time_env, study, subject_id)
    cora = await logged_in(client_for, "cora")
    response = await request_slot(cora, subject_id, "DL1")
    assert response.status_code == 303, response.text
    page = (await cora.get(response.headers["location"])).text
    assert "Dose-level slot DL1: granted" in page and "sentinel" in page
    assert f'action="/subjects/{subject_id}/slot"' not in page
    assert (await driver.state()).slot_dose_level == "DL1"
    assert study_types(sqlite_store, study) == ["study.slot_granted"]


async def test_a_monitor_cannot_request_a_slot_and_nothing_is_recorded(
    client_for: ClientFor,
    time_env: WorkflowEnvironment,
    gateway: SubjectGateway,
    study: StudyGateway,
    sqlite_store: SqlEventStore,
    subject_id: str,
) -> None:
    await enrolled(time_env, study, subject_id)
    response = await request_slot(await logged_in(client_for, "mona"), subject_id, "DL1")
    assert response.status_code == 403
    assert "read-only" in response.text
    assert study_types(sqlite_store, study) == []


async def test_a_slot_request_while_no_study_workflow_runs_says_so_on_the_subject_page(
    client_for: ClientFor, time_env: WorkflowEnvironment, gateway: SubjectGateway, subject_id: str
) -> None:
    driver = SubjectDriver(time_env, gateway, subject_id)
    await driver.register()
    await driver.consent()
    await driver.screening()
    await driver.eligible_and_enrolled("DL1")
    response = await request_slot(await logged_in(client_for, "cora"), subject_id, "DL1")
    assert response.status_code == 409
    assert "the study workflow is not running" in response.text
    assert (await driver.state()).slot_dose_level is None


async def test_a_refused_review_shows_its_error_even_before_the_study_has_recorded_anything(
    client_for: ClientFor, study: StudyGateway, sqlite_store: SqlEventStore
) -> None:
    petra = await logged_in(client_for, "petra")
    form = {"dose_level": "DL1", "decision": "stay", "summary": "no study yet", **SIGN}
    response = await submit(petra, "/study/reviews", form)
    assert response.status_code == 409
    assert "the study workflow is not running" in response.text
    assert study_types(sqlite_store, study) == []


# --- safety reviews -------------------------------------------------------------------------


async def test_only_the_pi_is_offered_the_review_form_with_the_domains_decisions(
    client_for: ClientFor,
    time_env: WorkflowEnvironment,
    gateway: SubjectGateway,
    study: StudyGateway,
    subject_id: str,
) -> None:
    await enrolled(time_env, study, subject_id)
    await study.request_slot(subject_id, "DL1", COORDINATOR)
    petra = (await (await logged_in(client_for, "petra")).get("/study")).text
    assert 'action="/study/reviews"' in petra
    decisions = petra[
        petra.index('name="decision"') : petra.index("</select>", petra.index('name="decision"'))
    ]
    assert re.findall(r'<option value="([a-z_]+)"', decisions) == ["escalate", "stay"]
    for user in ("cora", "ivan", "mona"):
        page = (await (await logged_in(client_for, user)).get("/study")).text
        assert "/study/reviews" not in page, user


async def test_an_investigator_cannot_sign_a_review_and_nothing_is_recorded(
    client_for: ClientFor,
    time_env: WorkflowEnvironment,
    gateway: SubjectGateway,
    study: StudyGateway,
    sqlite_store: SqlEventStore,
    subject_id: str,
) -> None:
    await enrolled(time_env, study, subject_id)
    ivan = await logged_in(client_for, "ivan")
    form = {"dose_level": "DL1", "decision": "stay", "summary": "not mine to sign"}
    response = await submit(ivan, "/study/reviews", form)
    assert response.status_code == 403
    assert "principal investigator" in response.text
    assert study_types(sqlite_store, study) == []


async def test_a_review_of_a_level_not_eligible_is_refused_next_to_the_dose_level(
    client_for: ClientFor,
    time_env: WorkflowEnvironment,
    gateway: SubjectGateway,
    study: StudyGateway,
    sqlite_store: SqlEventStore,
    subject_id: str,
) -> None:
    await enrolled(time_env, study, subject_id)
    await study.request_slot(subject_id, "DL1", COORDINATOR)
    petra = await logged_in(client_for, "petra")
    form = {"dose_level": "DL1", "decision": "escalate", "summary": "too early", **SIGN}
    response = await submit(petra, "/study/reviews", form)
    assert response.status_code == 409
    assert "DL1 is open" in field_error(response.text, "dose_level")
    # The PI's input is kept for a second try.
    assert "too early</textarea>" in response.text

    blank = await submit(petra, "/study/reviews", {**form, "summary": " "})
    assert blank.status_code == 422
    assert "at least 1 character" in field_error(blank.text, "summary")
    assert "study.safety_review_signed" not in study_types(sqlite_store, study)


async def test_the_pi_escalates_an_eligible_level_from_the_study_page(
    client_for: ClientFor,
    time_env: WorkflowEnvironment,
    gateway: SubjectGateway,
    task_queue: str,
    protocol: Protocol,
    sqlite_store: SqlEventStore,
) -> None:
    studies = await dl1_eligible_for_escalation(time_env, task_queue, protocol)

    petra = await logged_in(client_for, "petra")
    page = (await petra.get("/study")).text
    assert '<option value="DL1" selected>DL1 (review pending)</option>' in page
    response = await submit(
        petra,
        "/study/reviews",
        {"dose_level": "DL1", "decision": "escalate", "summary": "0 DLT in 3 evaluable", **SIGN},
    )
    assert response.status_code == 303, response.text
    page = (await petra.get(response.headers["location"])).text
    assert "Safety review for DL1 signed: escalate" in page
    assert "safety review signed by petra: escalate — 0 DLT in 3 evaluable" in page
    assert "opened by escalation from DL1" in page
    types = study_types(sqlite_store, studies)
    assert types[-3:] == ["study.safety_review_signed", "signature.applied", "study.escalated"]
