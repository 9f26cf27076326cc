"""Dashboard forms of issue 12 on the real worker: dated results, the PI's signed renal
override, AE updates (grade history, worst grade) and SUSAR reports, with bad input refused
next to its field and nothing recorded."""

from __future__ import annotations

import re
from datetime import date, timedelta

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from store.sql import SqlEventStore
from system.gateway import SubjectGateway
from tests.web.conftest import ClientFor, Clock
from tests.web.live import PASSWORDS
from tests.web.login import logged_in
from tests.web.test_safety_pages import consented, offered, post_form, relatedness
from tests.workflows.harness import SubjectDriver


def field_error(page: str, field: str) -> str:
    found = re.search(rf'class="field-error" data-field="{re.escape(field)}">([^<]*)<', page)
    assert found is not None, f"no error shown at {field}"
    return found.group(1)


def types(store: SqlEventStore, subject_id: str) -> list[str]:
    return [e.type for e in store.read_stream(subject_id)]


async def awaiting_product(env: WorkflowEnvironment, gateway: SubjectGateway, sid: str) -> date:
    driver = SubjectDriver(env, gateway, sid)
    await driver.register()
    await driver.consent()
    await driver.screening()
    await driver.eligible_and_enrolled()
    await driver.product()
    return await driver.today()


async def record(client: httpx.AsyncClient, sid: str, form: str, **values: str) -> httpx.Response:
    data = {f"measurement.{k}": v for k, v in values.items()}
    return await post_form(client, sid, form, data)


async def rechecks_on(client: httpx.AsyncClient, sid: str, on: date, egfr: str) -> None:
    day = on.isoformat()
    for form, values in (
        ("record_egfr", {"value": egfr, "equation": "CKD-EPI 2021"}),
        ("record_weight", {"kg": "60"}),
        ("record_infection_status", {"active_infection_needing_systemic_treatment": "false"}),
        ("record_pregnancy_test", {"sample": "urine", "result": "negative"}),
        ("record_blood_counts", {"hemoglobin_g_per_l": "118", "platelets_10e9_per_l": "190"}),
    ):
        response = await record(client, sid, form, collected_on=day, **values)
        assert response.status_code == 303, response.text


@pytest.mark.parametrize(
    ("form", "values", "field", "message"),
    [
        (
            "record_creatinine",
            {"value": "5", "unit": "umol/L"},
            "measurement.value",
            "between 10 and 2000",
        ),
        (
            "record_creatinine",
            {"value": "abc", "unit": "mg/dL"},
            "measurement.value",
            "valid number",
        ),
        ("record_egfr", {"value": "inf", "equation": "MDRD"}, "measurement.value", "finite"),
        ("record_weight", {"kg": "12"}, "measurement.kg", "greater than or equal to 30"),
        (
            "record_infection_status",
            {"active_infection_needing_systemic_treatment": ""},
            "measurement.active_infection_needing_systemic_treatment",
            "required",
        ),
        (
            "record_blood_counts",
            {"hemoglobin_g_per_l": "nan", "platelets_10e9_per_l": "100"},
            "measurement.hemoglobin_g_per_l",
            "finite",
        ),
    ],
)
async def test_a_bad_result_is_refused_next_to_its_field_and_nothing_is_recorded(
    client_for: ClientFor,
    time_env: WorkflowEnvironment,
    gateway: SubjectGateway,
    sqlite_store: SqlEventStore,
    subject_id: str,
    form: str,
    values: dict[str, str],
    field: str,
    message: str,
) -> None:
    today = await consented(time_env, gateway, subject_id)
    cora = await logged_in(client_for, "cora")
    response = await record(cora, subject_id, form, collected_on=today.isoformat(), **values)
    assert response.status_code == 422
    assert message in field_error(response.text, field)
    assert "measurement.recorded" not in types(sqlite_store, subject_id)


async def test_a_result_dated_tomorrow_is_refused_at_its_date(
    client_for: ClientFor,
    time_env: WorkflowEnvironment,
    gateway: SubjectGateway,
    sqlite_store: SqlEventStore,
    subject_id: str,
) -> None:
    today = await consented(time_env, gateway, subject_id)
    cora = await logged_in(client_for, "cora")
    tomorrow = (today + timedelta(days=2)).isoformat()
    response = await record(cora, subject_id, "record_weight", collected_on=tomorrow, kg="60")
    assert response.status_code == 422
    assert "future" in field_error(response.text, "measurement.collected_on")
    assert "measurement.recorded" not in types(sqlite_store, subject_id)


async def test_results_recorded_by_form_fill_the_recheck_and_the_renal_function_on_the_page(
    client_for: ClientFor,
    time_env: WorkflowEnvironment,
    gateway: SubjectGateway,
    clock: Clock,
    subject_id: str,
) -> None:
    today = await awaiting_product(time_env, gateway, subject_id)
    cora = await logged_in(client_for, "cora")
    page = (await cora.get(f"/subjects/{subject_id}")).text
    assert 'id="recheck-renal" class="recheck status-missing"' in page
    assert {"record_creatinine", "record_egfr", "record_pregnancy_test"} <= offered(
        page, subject_id
    )

    day = today.isoformat()
    response = await record(cora, subject_id, "record_weight", collected_on=day, kg="61")
    assert response.status_code == 303, response.text
    response = await record(
        cora, subject_id, "record_creatinine", collected_on=day, value="1.1", unit="mg/dL"
    )
    assert response.status_code == 303, response.text
    page = (await cora.get(f"/subjects/{subject_id}")).text
    assert 'id="recheck-weight" class="recheck status-fresh"' in page
    assert 'id="recheck-renal" class="recheck status-fresh"' in page
    assert 'id="recheck-infection" class="recheck status-missing"' in page
    assert "creatinine 1.1 mg/dL" in page and f"weight 61 kg on {day}" in page
    renal = page[page.index('id="renal-fludarabine"') :]
    renal = renal[: renal.index("</p>")]
    assert "Cockcroft–Gault" in renal and "planning would use now" in renal

    # Eight days on, the 7-day window counted back from "today" no longer holds them.
    clock.value = today + timedelta(days=8)
    page = (await cora.get(f"/subjects/{subject_id}")).text
    assert 'id="recheck-weight" class="recheck status-stale"' in page
    assert 'id="recheck-renal" class="recheck status-stale"' in page


async def test_the_pi_signs_a_renal_override_by_form_and_the_plan_relies_on_it(
    client_for: ClientFor,
    time_env: WorkflowEnvironment,
    gateway: SubjectGateway,
    sqlite_store: SqlEventStore,
    subject_id: str,
) -> None:
    today = await awaiting_product(time_env, gateway, subject_id)
    cora = await logged_in(client_for, "cora")
    await rechecks_on(cora, subject_id, today, egfr="25")
    page = (await cora.get(f"/subjects/{subject_id}")).text
    assert "do not give" in page
    assert "override_renal_threshold" not in offered(page, subject_id)  # the PI's alone

    petra = await logged_in(client_for, "petra")
    form = (await petra.get(f"/subjects/{subject_id}/commands/override_renal_threshold")).text
    assert 'name="signature_password"' in form and 'name="signature_username"' in form
    override = {"drug": "fludarabine", "factor": "0.5", "reason": "nephrology consulted"}
    wrong = await post_form(
        petra,
        subject_id,
        "override_renal_threshold",
        {**override, "signature_username": "petra", "signature_password": "not-it"},
    )
    assert wrong.status_code == 422 and "password is not correct" in wrong.text
    too_high = await post_form(
        petra,
        subject_id,
        "override_renal_threshold",
        {**override, "factor": "1.5", "signature_username": "petra"},
    )
    assert too_high.status_code == 422
    assert "less than or equal to 1" in field_error(too_high.text, "factor")
    assert "renal.override_recorded" not in types(sqlite_store, subject_id)

    signed = await post_form(
        petra,
        subject_id,
        "override_renal_threshold",
        {**override, "signature_username": "petra", "signature_password": PASSWORDS["petra"]},
    )
    assert signed.status_code == 303, signed.text
    recorded = types(sqlite_store, subject_id)
    at = recorded.index("renal.override_recorded")
    expected = ["renal.override_recorded", "signature.applied", "deviation.opened"]
    assert recorded[at : at + 3] == expected
    page = (await petra.get(f"/subjects/{subject_id}")).text
    renal = page[page.index('id="renal-fludarabine"') :]
    renal = renal[: renal.index("</p>")]
    assert "PI override" in renal and "nephrology consulted" in renal
    assert "dose ×0.5" in renal and "do not give" not in renal
    assert "renal threshold override: fludarabine at ×0.5" in page


async def test_an_unsigned_renal_override_is_refused_by_the_api(
    client_for: ClientFor, time_env: WorkflowEnvironment, gateway: SubjectGateway, subject_id: str
) -> None:
    await awaiting_product(time_env, gateway, subject_id)
    body = {
        "type": "override_renal_threshold",
        "occurred_at": "2026-01-01T00:00:00Z",
        "factor": 0.5,
        "reason": "x",
    }
    response = await client_for("petra").post(f"/api/subjects/{subject_id}/commands", json=body)
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "signature"


async def test_a_grade_3_to_1_update_by_form_keeps_the_worst_grade_and_the_history(
    client_for: ClientFor,
    time_env: WorkflowEnvironment,
    gateway: SubjectGateway,
    sqlite_store: SqlEventStore,
    subject_id: str,
) -> None:
    today = await consented(time_env, gateway, subject_id)
    cora = await logged_in(client_for, "cora")
    recorded = await post_form(
        cora,
        subject_id,
        "record_adverse_event",
        {"term": "Rash maculo-papular", "grade": "3", "onset_on": today.isoformat(),
         "outcome": "not_recovered", **relatedness()},
    )  # fmt: skip
    assert recorded.status_code == 303, recorded.text
    ae_id = f"{subject_id}-AE-1"
    empty = await post_form(cora, subject_id, "update_adverse_event", {"ae_id": ae_id})
    assert empty.status_code == 422
    assert "at least one field" in empty.text
    assert "ae.updated" not in types(sqlite_store, subject_id)

    form = await cora.get(f"/subjects/{subject_id}/commands/update_adverse_event?ae_id={ae_id}")
    assert f'value="{ae_id}"' in form.text
    down = {"ae_id": ae_id, "grade": "1"}
    updated = await post_form(cora, subject_id, "update_adverse_event", down)
    assert updated.status_code == 303, updated.text
    page = (await cora.get(f"/subjects/{subject_id}")).text
    row = page[page.index(f'id="ae-{ae_id}"') :]
    row = row[: row.index("</tr>")]
    assert "grade 3</b> (worst; now grade 1)" in row
    assert re.search(r"grades 3 <small>\([0-9-]+\)</small> → 1 <small>", row)


async def test_a_susar_report_by_form_shows_per_recipient_and_bad_input_is_refused(
    client_for: ClientFor,
    time_env: WorkflowEnvironment,
    gateway: SubjectGateway,
    sqlite_store: SqlEventStore,
    subject_id: str,
) -> None:
    today = await consented(time_env, gateway, subject_id)
    cora = await logged_in(client_for, "cora")
    recorded = await post_form(
        cora,
        subject_id,
        "record_adverse_event",
        {"term": "Guillain-Barre syndrome", "grade": "3", "onset_on": today.isoformat(),
         "seriousness": "hospitalisation", "outcome": "not_recovered", **relatedness()},
    )  # fmt: skip
    assert recorded.status_code == 303, recorded.text
    ae_id = f"{subject_id}-AE-1"
    page = (await cora.get(f"/subjects/{subject_id}")).text
    assert page.count('class="susar-report status-due"') == 3  # one initial report each
    link = f"/subjects/{subject_id}/commands/report_susar?ae_id={ae_id}&amp;recipient=regulator"
    assert link in page
    form = (await cora.get(link.replace("&amp;", "&") + "&kind=initial")).text
    assert '<option value="regulator" selected>NMPA / CDE</option>' in form

    now = (await SubjectDriver(time_env, gateway, subject_id).now()).strftime("%Y-%m-%dT%H:%M")
    report = {"ae_id": ae_id, "recipient": "regulator", "kind": "initial", "reported_at": now}
    no_reference = await post_form(cora, subject_id, "report_susar", {**report, "reference": ""})
    assert no_reference.status_code == 422
    assert "required" in field_error(no_reference.text, "reference")
    follow_up = await post_form(
        cora, subject_id, "report_susar", {**report, "kind": "follow_up", "reference": "F-1"}
    )
    assert follow_up.status_code == 422
    assert "follow_up report" in follow_up.text
    assert "susar.reported" not in types(sqlite_store, subject_id)

    sent = await post_form(cora, subject_id, "report_susar", {**report, "reference": "CN-7"})
    assert sent.status_code == 303, sent.text
    page = (await cora.get(f"/subjects/{subject_id}")).text
    row = page[page.index(f'id="susar-{ae_id}-regulator-initial"') :]
    row = row[: row.index("</tr>")]
    assert "status-sent" in row and "CN-7" in row and "NMPA / CDE" in row
    assert page.count('class="susar-report status-due"') == 2


async def test_the_pi_confirms_an_infusion_weight_beyond_the_tolerance_by_form(
    client_for: ClientFor,
    time_env: WorkflowEnvironment,
    gateway: SubjectGateway,
    sqlite_store: SqlEventStore,
    subject_id: str,
) -> None:
    driver = SubjectDriver(time_env, gateway, subject_id)
    await driver.register()
    await driver.consent()
    await driver.screening()
    await driver.eligible_and_enrolled()
    await driver.product()
    infusion_date = await driver.lymphodepletion()
    await driver.give_ld_doses()
    await driver.sleep_until(infusion_date)

    cora = await logged_in(client_for, "cora")
    day = infusion_date.isoformat()
    response = await record(cora, subject_id, "record_weight", collected_on=day, kg="70")
    assert response.status_code == 303, response.text
    page = (await cora.get(f"/subjects/{subject_id}")).text
    weight = page[page.index('id="infusion-weight"') :]
    weight = weight[: weight.index("</p>")]
    assert "planned on 60 kg" in weight and "latest 70 kg" in weight
    assert "change 16.7 % (tolerance 10 %)" in weight and "needs the PI's confirmation" in weight
    assert "confirm_infusion_weight" not in offered(page, subject_id)

    petra = await logged_in(client_for, "petra")
    blank = await post_form(petra, subject_id, "confirm_infusion_weight", {"reason": ""})
    assert blank.status_code == 422
    assert "required" in field_error(blank.text, "reason")
    assert "infusion.weight_confirmed" not in types(sqlite_store, subject_id)
    confirmed = await post_form(
        petra, subject_id, "confirm_infusion_weight", {"reason": "re-weighed on two scales"}
    )
    assert confirmed.status_code == 303, confirmed.text
    page = (await petra.get(f"/subjects/{subject_id}")).text
    weight = page[page.index('id="infusion-weight"') :]
    assert "PI confirmed" in weight[: weight.index("</p>")]
    assert "70 kg of " + day in weight[: weight.index("</p>")]
