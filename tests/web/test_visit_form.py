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
    response = await submit(
        cora,
        f"/subjects/{subject_id}/commands/complete_visit",
        {"code": "D0", "completed_on": today.isoformat(), "response": "PR"},
    )
    assert response.status_code == 303, response.text
    assert "visit.completed" in response.headers["location"]

    form = (await cora.get(f"/subjects/{subject_id}/commands/complete_visit")).text
    assert "D0" not in visit_options(form)
    assert visit_options(form)  # the later visits stay on offer
