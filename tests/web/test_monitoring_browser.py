"""The monitor's round in real headless Chromium: a query opened by the monitor, answered by the
coordinator, then the data verified against source and the query closed by the monitor."""

from __future__ import annotations

import os
import re
import shutil

import pytest
from playwright.async_api import Browser, Page, expect
from temporalio.testing import WorkflowEnvironment

from domain.protocol import Protocol
from system.gateway import SubjectGateway
from tests.web.live import ROOT, LiveServer
from tests.web.test_dashboard_browser import ARTIFACTS, browser, log_in
from tests.workflows.harness import SubjectDriver

__all__ = ["browser"]

pytestmark = pytest.mark.browser

SHOTS = ("monitoring-query-opened.png", "monitoring-query-answered.png", "monitoring-round.png")


async def _submit(page: Page, notice: str) -> None:
    await page.click("button[type=submit]:has-text('Record')")
    await expect(page.locator(".notice")).to_contain_text(notice, timeout=15000)


async def test_the_monitors_round_open_answer_verify_close(
    browser: Browser,
    live_server: LiveServer,
    time_env: WorkflowEnvironment,
    task_queue: str,
    protocol: Protocol,
    subject_id: str,
) -> None:
    driver = SubjectDriver(
        time_env, SubjectGateway(time_env.client, task_queue, protocol), subject_id
    )
    await driver.register()
    await driver.consent()
    await driver.screening()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    monitor = await browser.new_page(viewport={"width": 1280, "height": 1000})
    await log_in(monitor, live_server, "mona")
    await monitor.goto(f"{live_server.url}/subjects/{subject_id}")
    await monitor.locator("li.type-screening-recorded a.raise-query").click()
    await expect(monitor.locator("#f-target_seq")).to_have_value("3")
    await monitor.fill("#f-field", "record.hemoglobin")
    await monitor.fill("#f-question", "Haemoglobin 105 g/L: please confirm against the lab report.")
    await _submit(monitor, "query.opened")
    query = monitor.locator(f"#query-{subject_id}-Q1")
    await expect(query).to_contain_text("open")
    await expect(query).to_contain_text("Screening")
    await monitor.screenshot(path=str(ARTIFACTS / SHOTS[0]), full_page=True)

    coordinator = await browser.new_page(viewport={"width": 1280, "height": 1000})
    await log_in(coordinator, live_server, "cora")
    board_row = coordinator.locator("table.board tr", has_text=subject_id)
    await expect(board_row.locator("td.open-queries")).to_have_text("1")
    await coordinator.goto(f"{live_server.url}/subjects/{subject_id}")
    await coordinator.locator(f"#query-{subject_id}-Q1 a", has_text="Answer").click()
    await expect(coordinator.locator("#f-query_id")).to_have_value(f"{subject_id}-Q1")
    await coordinator.fill("#f-answer", "Confirmed: lab report of 2 March shows 105 g/L.")
    await _submit(coordinator, "query.answered")
    await expect(coordinator.locator(f"#query-{subject_id}-Q1")).to_contain_text("answered")
    await coordinator.screenshot(path=str(ARTIFACTS / SHOTS[1]), full_page=True)

    await monitor.goto(f"{live_server.url}/subjects/{subject_id}")
    await monitor.locator("#sdv-screening a", has_text="Verify").click()
    await expect(monitor.locator("#f-form")).to_have_value("screening")
    await _submit(monitor, "sdv.verified")
    await expect(monitor.locator("#sdv-screening")).to_contain_text("verified")
    await monitor.locator(f"#query-{subject_id}-Q1 a", has_text="Close").click()
    await _submit(monitor, "query.closed")
    await expect(monitor.locator(f"#query-{subject_id}-Q1")).to_contain_text("closed")
    for step in ("query.opened", "query.answered", "sdv.verified", "query.closed"):
        await expect(monitor.locator(f"li.type-{step.replace('.', '-')}")).to_have_count(1)
    await monitor.screenshot(path=str(ARTIFACTS / SHOTS[2]), full_page=True)

    await monitor.goto(f"{live_server.url}/monitoring")
    site = monitor.locator("tr.site[data-site='SBH-01']")
    await expect(site.locator("td.verified-percent")).to_have_text(re.compile(r"\d+\.\d %"))
    if os.environ.get("JY231_UPDATE_DOCS") == "1":
        for name in SHOTS:
            shutil.copyfile(ARTIFACTS / name, ROOT / "docs" / name)
