"""The subject page's safety section and its forms, through the dashboard on the real worker."""

from __future__ import annotations

import re
from datetime import date, timedelta

import httpx
from temporalio.testing import WorkflowEnvironment

from store.sql import SqlEventStore
from system.gateway import SubjectGateway
from tests.web.conftest import ClientFor, Clock
from tests.web.login import logged_in, submit
from tests.workflows.harness import SubjectDriver

AE_FORMS = ("record_adverse_event", "record_crs", "record_icans")


async def consented(env: WorkflowEnvironment, gateway: SubjectGateway, subject_id: str) -> date:
    driver = SubjectDriver(env, gateway, subject_id)
    await driver.register()
    await driver.consent()
    return await driver.today()


def relatedness() -> dict[str, str]:
    return {"related_to_jy231": "probable", "related_to_lymphodepletion": "unlikely"}


async def post_form(
    client: httpx.AsyncClient, subject_id: str, form: str, data: dict[str, str | list[str]]
) -> httpx.Response:
    return await submit(client, f"/subjects/{subject_id}/commands/{form}", data)


def offered(page: str, subject_id: str) -> set[str]:
    return set(re.findall(rf'href="/subjects/{subject_id}/commands/([a-z_]+)"', page))


async def test_a_crs_recorded_through_the_form_shows_its_computed_grade_with_its_components(
    client_for: ClientFor, time_env: WorkflowEnvironment, gateway: SubjectGateway, subject_id: str
) -> None:
    today = await consented(time_env, gateway, subject_id)
    cora = await logged_in(client_for, "cora")
    form = (await cora.get(f"/subjects/{subject_id}/commands/record_crs")).text
    # Components only: the grade is computed, never typed.
    assert 'name="crs.max_temperature_c"' in form and 'name="crs.hypoxia"' in form
    assert 'name="grade"' not in form and 'name="crs.grade"' not in form

    response = await post_form(
        cora,
        subject_id,
        "record_crs",
        {
            "crs.max_temperature_c": "38.9",
            "crs.hypotension": "no_vasopressor",
            "crs.hypoxia": "low_flow",
            "onset_on": today.isoformat(),
            "outcome": "not_recovered",
            **relatedness(),
        },
    )
    assert response.status_code == 303, response.text
    assert "ae.recorded" in response.headers["location"]

    page = (await cora.get(f"/subjects/{subject_id}")).text
    row = page[page.index(f'id="ae-{subject_id}-AE-1"') :]
    row = row[: row.index("</tr>")]
    assert "CRS grade 2" in row
    assert "computed (ASTCT 2019)" in row
    assert "38.9 °C" in row
    assert "<i>hypotension</i> no vasopressor" in row
    assert "<i>hypoxia</i> low flow" in row
    assert "not serious" in row
    state = (await client_for("mona").get(f"/api/subjects/{subject_id}")).json()
    assert state["adverse_events"][0]["grade"] == 2


async def test_a_crs_form_without_a_temperature_is_refused_next_to_that_field(
    client_for: ClientFor,
    time_env: WorkflowEnvironment,
    gateway: SubjectGateway,
    sqlite_store: SqlEventStore,
    subject_id: str,
) -> None:
    today = await consented(time_env, gateway, subject_id)
    cora = await logged_in(client_for, "cora")
    response = await post_form(
        cora,
        subject_id,
        "record_crs",
        {"crs.hypotension": "none", "onset_on": today.isoformat(), **relatedness()},
    )
    assert response.status_code == 422
    assert re.search(
        r'class="field-error" data-field="crs.max_temperature_c">[^<]*required', response.text
    )
    # What was typed is kept for the retry.
    assert '<option value="none" selected>none</option>' in response.text
    assert "ae.recorded" not in [e.type for e in sqlite_store.read_stream(subject_id)]


async def test_an_unarousable_icans_with_an_ice_score_is_refused_at_the_top_of_the_form(
    client_for: ClientFor, time_env: WorkflowEnvironment, gateway: SubjectGateway, subject_id: str
) -> None:
    today = await consented(time_env, gateway, subject_id)
    cora = await logged_in(client_for, "cora")
    response = await post_form(
        cora,
        subject_id,
        "record_icans",
        {
            "icans.ice_score": "6",
            "icans.consciousness": "unarousable",
            "onset_on": today.isoformat(),
            **relatedness(),
        },
    )
    assert response.status_code == 422
    assert re.search(r'role="alert">icans: [^<]*unarousable patient', response.text)


async def test_a_general_ae_needs_its_term_and_grade_each_flagged_on_its_field(
    client_for: ClientFor, time_env: WorkflowEnvironment, gateway: SubjectGateway, subject_id: str
) -> None:
    today = await consented(time_env, gateway, subject_id)
    cora = await logged_in(client_for, "cora")
    response = await post_form(
        cora, subject_id, "record_adverse_event", {"onset_on": today.isoformat(), **relatedness()}
    )
    assert response.status_code == 422
    assert 'data-field="term">Field required' in response.text
    assert 'data-field="grade">Field required' in response.text


async def test_safety_forms_are_offered_by_phase_role_and_what_there_is_to_act_on(
    client_for: ClientFor, time_env: WorkflowEnvironment, gateway: SubjectGateway, subject_id: str
) -> None:
    driver = SubjectDriver(time_env, gateway, subject_id)
    await driver.register()
    cora = await logged_in(client_for, "cora")
    page = (await cora.get(f"/subjects/{subject_id}")).text
    # AEs are collected from consent onwards.
    assert not offered(page, subject_id) & set(AE_FORMS)

    await driver.consent()
    page = (await cora.get(f"/subjects/{subject_id}")).text
    assert set(AE_FORMS) <= offered(page, subject_id)
    # Nothing to report or resolve yet, and no infusion to monitor after.
    assert not offered(page, subject_id) & {
        "report_sae",
        "resolve_adverse_event",
        "record_daily_monitoring",
    }

    mona = await logged_in(client_for, "mona")
    # A monitor is offered the oversight forms only (queries, SDV), never a safety form.
    monitor_offer = offered((await mona.get(f"/subjects/{subject_id}")).text, subject_id)
    assert monitor_offer == {"open_query", "verify_source"}
    refused = await mona.get(f"/subjects/{subject_id}/commands/record_crs")
    assert refused.status_code == 403


async def test_a_serious_ae_is_reported_and_resolved_through_the_forms(
    client_for: ClientFor, time_env: WorkflowEnvironment, gateway: SubjectGateway, subject_id: str
) -> None:
    today = await consented(time_env, gateway, subject_id)
    ivan = await logged_in(client_for, "ivan")
    ae_id = f"{subject_id}-AE-1"
    recorded = await post_form(
        ivan,
        subject_id,
        "record_adverse_event",
        {
            "term": "Pneumonia",
            "grade": "3",
            "onset_on": today.isoformat(),
            "seriousness": ["hospitalisation", "important_medical_event"],
            **relatedness(),
        },
    )
    assert recorded.status_code == 303, recorded.text
    page = (await ivan.get(f"/subjects/{subject_id}")).text
    assert "hospitalisation, important medical event" in page
    assert 'class="sae sae-due"' in page
    assert f"/commands/report_sae?ae_id={ae_id}" in page

    form = (await ivan.get(f"/subjects/{subject_id}/commands/report_sae?ae_id={ae_id}")).text
    assert f'name="ae_id" value="{ae_id}"' in form
    reported_at = re.search(r'name="reported_at" value="([^"]+)"', form)
    assert reported_at is not None  # prefilled with the current time (UTC)
    reported = await post_form(
        ivan,
        subject_id,
        "report_sae",
        {
            "ae_id": ae_id,
            "reported_at": reported_at.group(1),
            "recipient": "sponsor safety desk",
            "reference": "SAE-001",
        },
    )
    assert reported.status_code == 303, reported.text
    page = (await ivan.get(f"/subjects/{subject_id}")).text
    assert 'class="sae sae-reported"' in page
    assert "report_sae?ae_id" not in page

    # A domain refusal with a field lands next to that field.
    early = (today - timedelta(days=1)).isoformat()
    refused = await post_form(
        ivan, subject_id, "resolve_adverse_event", {"ae_id": ae_id, "resolved_on": early}
    )
    assert refused.status_code == 422
    assert 'data-field="resolved_on">resolved_on is before the onset' in refused.text
    resolved = await post_form(
        ivan,
        subject_id,
        "resolve_adverse_event",
        {"ae_id": ae_id, "resolved_on": today.isoformat(), "outcome": "recovered"},
    )
    assert resolved.status_code == 303, resolved.text
    page = (await ivan.get(f"/subjects/{subject_id}")).text
    assert f"recovered <small>({today.isoformat()})</small>" in page
    assert "resolve_adverse_event" not in offered(page, subject_id)


async def test_daily_monitoring_recorded_through_the_form_fills_its_day(
    client_for: ClientFor,
    time_env: WorkflowEnvironment,
    gateway: SubjectGateway,
    subject_id: str,
    clock: Clock,
) -> None:
    driver = SubjectDriver(time_env, gateway, subject_id)
    infusion_date = await driver.to_infusion("SLE")
    await driver.sleep_until(infusion_date + timedelta(days=1))
    clock.value = infusion_date + timedelta(days=1)
    cora = await logged_in(client_for, "cora")
    page = (await cora.get(f"/subjects/{subject_id}")).text
    assert page.count('class="day status-') == 14
    assert "/commands/record_daily_monitoring?day=1" in page
    assert "/commands/record_daily_monitoring?day=2" not in page  # not begun yet

    response = await post_form(
        cora,
        subject_id,
        "record_daily_monitoring",
        {"day": "1", "max_temperature_c": "37.8", "ice_score": "10"},
    )
    assert response.status_code == 303, response.text
    page = (await cora.get(f"/subjects/{subject_id}")).text
    day1 = page[page.index('data-day="1"') :]
    day1 = day1[: day1.index("</li>")]
    assert "status-recorded" in day1
    assert "37.8 °C" in day1 and "ICE 10" in day1
    assert 'data-day="2"' in page and "status-upcoming" in page
