"""The trial's pictures in real headless Chromium: swimlane, funnel and enrollment, dose
escalation, the month calendar and ORR with intervals, each checked and saved as a screenshot."""

from __future__ import annotations

import os
import shutil
from datetime import timedelta

from playwright.async_api import Browser, Page, expect
from temporalio.testing import WorkflowEnvironment

from domain.protocol import Protocol
from system.gateway import StudyGateway, SubjectGateway
from tests.histories.scenarios import screen_failure
from tests.safety.test_study_workflow import infuse, ready_for_slot
from tests.web.conftest import Clock
from tests.web.live import ROOT, LiveServer
from tests.web.test_dashboard_browser import ARTIFACTS, browser, log_in
from tests.web.test_study_pages import quiet
from tests.workflows.harness import COORDINATOR, SubjectDriver, new_subject

__all__ = ["browser"]


async def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / name), full_page=True)
    if os.environ.get("JY231_UPDATE_DOCS") == "1":
        shutil.copyfile(ARTIFACTS / name, ROOT / "docs" / name)


async def test_every_picture_renders_from_the_trial_in_the_browser(
    browser: Browser,
    live_server: LiveServer,
    time_env: WorkflowEnvironment,
    task_queue: str,
    protocol: Protocol,
    clock: Clock,
) -> None:
    # A sentinel at DL1 infused through the study, a second subject in screening, one screen
    # failure: enough for every picture to have something to draw.
    study = StudyGateway(time_env.client, task_queue, quiet(protocol))
    await study.start()
    gated = SubjectGateway(time_env.client, task_queue, study.protocol, study.workflow_id)
    sentinel = await ready_for_slot(time_env, gated)
    await study.request_slot(sentinel.subject_id, "DL1", COORDINATOR)
    infused_on = await infuse(sentinel, study)
    await sentinel.complete_visit("D0")  # the baseline
    screening = SubjectDriver(time_env, gated, new_subject())
    await screening.register()
    await screening.consent()
    await screen_failure(SubjectDriver(time_env, gated, new_subject()))
    # Look at the trial a month after the infusion: Month 1 is due.
    clock.value = infused_on + timedelta(days=27)

    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    await log_in(page, live_server, "mona")

    await page.get_by_role("link", name="Overview").click()
    await expect(page.locator("#funnel svg.chart rect.funnel-bar")).to_have_count(6)
    await expect(page.locator("#enrollment svg.chart")).to_have_attribute(
        "aria-label", f"Enrollment 1 of {protocol.protocol.target_enrollment}"
    )
    await expect(page.locator("#screen-failures")).to_contain_text("1")
    await _shot(page, "overview.png")

    await page.goto(f"{live_server.url}/subjects/{sentinel.subject_id}")
    lane = page.locator("#swimlane svg.chart")
    await expect(lane.locator("rect.visit-done")).to_have_count(1)  # D0
    await expect(lane.locator("rect.visit-due")).to_have_count(1)  # M1's window is open
    await expect(lane.locator("line.today")).to_have_count(1)
    await expect(lane.locator("rect.phase-follow_up, rect.phase-infused")).not_to_have_count(0)
    await _shot(page, "swimlane.png")

    await page.get_by_role("link", name="Study").click()
    escalation = page.locator("#escalation svg.chart")
    await expect(escalation.locator("circle.in-window")).to_have_count(1)
    await expect(escalation.locator("circle.in-window title")).to_contain_text(
        f"in DLT window until {(infused_on + timedelta(days=protocol.safety.dlt_window_days))}"
    )
    opens = infused_on + timedelta(days=protocol.safety.sentinel_stagger_days)
    await expect(escalation).to_contain_text(f"next slot opens {opens}")
    await _shot(page, "escalation.png")

    m1 = infused_on + timedelta(days=28)
    await page.goto(f"{live_server.url}/calendar?month={m1:%Y-%m}")
    await expect(
        page.locator("#calendar a.cal-visit", has_text=sentinel.subject_id)
    ).not_to_have_count(0)
    await expect(page.get_by_role("link", name="Subscribe (.ics)")).to_be_visible()
    await _shot(page, "calendar.png")

    # Month 1 assessed, so the ORR and the SLE responses have a first point each.
    await sentinel.complete_visit("M1", "PR")
    await page.get_by_role("link", name="ORR report").click()
    chart = page.locator("#orr-chart svg.chart")
    await expect(chart.locator("circle.point")).not_to_have_count(0)
    await expect(chart.locator("line.ci")).not_to_have_count(0)
    await expect(page.locator("#disease-SLE svg.chart circle.point.series-2")).not_to_have_count(0)
    await _shot(page, "orr-chart.png")
