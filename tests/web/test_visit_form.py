"""The complete-visit form offers the subject's planned visits, not a free-text code."""

from __future__ import annotations

import re

from temporalio.testing import WorkflowEnvironment

from system.gateway import SubjectGateway
from tests.web.conftest import ClientFor
from tests.web.login import logged_in, submit
from tests.workflows.harness import SubjectDriver


def visit_options(page: str) -> dict[str, str]:
    select = page[page.index('<select id="f-code" name="code">') :]
    select = select[: select.index("</select>")]
    return dict(re.findall(r'<option value="([^"]+)"[^>]*>([^<]+)</option>', select))


async def test_the_complete_visit_form_lists_planned_visits_with_label_and_window(
    client_for: ClientFor, time_env: WorkflowEnvironment, gateway: SubjectGateway, subject_id: str
) -> None:
    driver = SubjectDriver(time_env, gateway, subject_id)
    await driver.to_infusion("SLE")
    planned = [v for v in (await driver.state()).visits if v.status == "planned"]
    cora = await logged_in(client_for, "cora")
    form = (await cora.get(f"/subjects/{subject_id}/commands/complete_visit")).text
    assert '<input id="f-code"' not in form

    options = visit_options(form)
    assert list(options) == [v.code for v in sorted(planned, key=lambda v: v.target)]
    d0 = next(v for v in planned if v.code == "D0")
    window = f"{d0.window_start.isoformat()} – {d0.window_end.isoformat()}"
    assert options["D0"] == f"D0 · {d0.label} · window {window}"


async def test_a_visit_completed_through_the_select_is_no_longer_offered(
    client_for: ClientFor, time_env: WorkflowEnvironment, gateway: SubjectGateway, subject_id: str
) -> None:
    driver = SubjectDriver(time_env, gateway, subject_id)
    await driver.to_infusion("SLE")
    today = await driver.today()
    cora = await logged_in(client_for, "cora")
    # Day 0 is the baseline: a response there is refused beside its field, nothing recorded.
    refused = await submit(
        cora,
        f"/subjects/{subject_id}/commands/complete_visit",
        {"code": "D0", "completed_on": today.isoformat(), "response": "PR"},
    )
    assert refused.status_code == 422
    assert 'data-field="response"' in refused.text and "baseline" in refused.text
    response = await submit(
        cora,
        f"/subjects/{subject_id}/commands/complete_visit",
        {"code": "D0", "completed_on": today.isoformat()},
    )
    assert response.status_code == 303, response.text
    assert "visit.completed" in response.headers["location"]

    form = (await cora.get(f"/subjects/{subject_id}/commands/complete_visit")).text
    assert "D0" not in visit_options(form)
    assert visit_options(form)  # the later visits stay on offer


async def test_a_follow_up_visit_records_the_diseases_measures_and_the_derived_responses(
    client_for: ClientFor, time_env: WorkflowEnvironment, gateway: SubjectGateway, subject_id: str
) -> None:
    driver = SubjectDriver(time_env, gateway, subject_id)
    await driver.to_infusion("SLE")  # screening SLEDAI-2K 12
    await driver.complete_visit("D0")
    m1 = (await driver.state()).visit("M1")
    assert m1 is not None
    await driver.sleep_until(m1.target)
    cora = await logged_in(client_for, "cora")
    url = f"/subjects/{subject_id}/commands/complete_visit"
    form = (await cora.get(url)).text
    # The SLE measure and the dose; no other disease's measure.
    assert 'name="activity.sledai_2k"' in form and 'name="glucocorticoid_mg_per_day"' in form
    assert 'name="activity.bvas"' not in form and 'name="activity.mrss"' not in form
    visit = {"code": "M1", "completed_on": m1.target.isoformat(), "response": "PR"}
    refused = await submit(cora, url, {**visit, "glucocorticoid_mg_per_day": "5"})
    assert refused.status_code == 422
    assert 'data-field="activity.sledai_2k"' in refused.text
    assert [v.status for v in (await driver.state()).visits][:2] == ["completed", "planned"]
    done = await submit(
        cora, url, {**visit, "activity.sledai_2k": "4", "glucocorticoid_mg_per_day": "5"}
    )
    assert done.status_code == 303, done.text
    [assessment] = (await driver.state()).assessments
    assert assessment.activity is not None and assessment.activity.sledai_2k == 4
    assert {r.name: r.met for r in assessment.responses} == {
        "DORIS remission": False,
        "LLDAS": True,
        "SRI-4 (SLEDAI-2K component)": True,
    }
    page = (await cora.get(f"/subjects/{subject_id}")).text
    assert "LLDAS: met" in page and "DORIS remission: not met" in page
