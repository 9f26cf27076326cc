"""Chain of custody in real headless Chromium: print a unit's label, type the COI at the
bedside check (two people), and see the unit's custody timeline on the subject page."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Page, expect
from temporalio.testing import WorkflowEnvironment

from domain.protocol import Protocol
from system.gateway import SubjectGateway
from tests.domain.custody_steps import handoff
from tests.web.live import LiveServer
from tests.web.test_dashboard_browser import browser, log_in
from tests.workflows.custody_driver import to_site
from tests.workflows.harness import COORDINATOR, SubjectDriver

__all__ = ["browser"]

pytestmark = pytest.mark.browser


async def thawed_product(
    env: WorkflowEnvironment, task_queue: str, protocol: Protocol, subject_id: str
) -> tuple[str, str]:
    driver = SubjectDriver(env, SubjectGateway(env.client, task_queue, protocol), subject_id)
    await driver.register("SLE")
    await driver.consent()
    await driver.screening("SLE")
    await driver.eligible_and_enrolled()
    product = await to_site(driver)
    infusion_date = await driver.lymphodepletion()
    await driver.give_ld_doses()
    await driver.sleep_until(infusion_date)
    await driver.send(COORDINATOR, handoff(await driver.now(), "thawed", product))
    coi = (await driver.state()).custody.coi
    assert coi is not None
    return coi, product


async def bedside_check(
    page: Page, server: LiveServer, subject_id: str, coi: str, unit: str
) -> None:
    await page.goto(f"{server.url}/subjects/{subject_id}")
    await page.click("text=Bedside identity check")
    # Typed as a person reads it off the label, with the label's spaces.
    await page.fill("#f-subject_id", subject_id)
    await page.fill("#f-coi", f"{coi[:5]} {coi[5:7]} {coi[7:13]} {coi[13:]}")
    await page.fill("#f-unit_id", unit)
    await page.fill("#f-weight_kg", "60")
    await page.fill("#f-tu_per_kg", "5000000")
    await page.click("button:has-text('Record')")


async def test_print_a_label_check_at_the_bedside_twice_and_see_the_custody_timeline(
    browser: Browser,
    live_server: LiveServer,
    time_env: WorkflowEnvironment,
    task_queue: str,
    protocol: Protocol,
    subject_id: str,
) -> None:
    coi, product = await thawed_product(time_env, task_queue, protocol, subject_id)
    logged_at = (await time_env.get_current_time()).isoformat()

    nurse = await browser.new_page(viewport={"width": 1280, "height": 900})
    await nurse.add_init_script("window.print = () => { window.__printed = true; };")
    await log_in(nurse, live_server, "cora")
    await nurse.goto(f"{live_server.url}/subjects/{subject_id}")
    await expect(nurse.locator("#coi")).to_have_text(coi)
    await nurse.locator(f"[id=\"unit-{product}\"] a:has-text('label')").click()
    image = nurse.locator("#label-image")
    await expect(image).to_be_visible()
    # Visible is not loaded: on a busy machine the PNG may still be decoding.
    await image.evaluate(
        "img => img.complete ? null : new Promise(r => { img.onload = r; img.onerror = r; })"
    )
    width = await image.evaluate("img => img.complete ? img.naturalWidth : 0")
    assert width > 0
    await nurse.click("#print-label")
    assert await nurse.evaluate("window.__printed === true")

    # A shipper's data-logger export for the fresh unit, uploaded from the subject page.
    await nurse.goto(f"{live_server.url}/subjects/{subject_id}")
    fresh = f"{coi}-AP01"
    await nurse.select_option("select[name=unit_id]", fresh)
    await nurse.fill("input[name=logger_id]", "DS-0042")
    csv = f"timestamp,celsius\n{logged_at},4.5\n{logged_at},5.0\n"
    await nurse.set_input_files(
        "input[name=csv]",
        files=[{"name": "log.csv", "mimeType": "text/csv", "buffer": csv.encode()}],
    )
    await nurse.click("button:has-text('Check and record')")
    await expect(nurse.locator(".notice")).to_contain_text("temperature.log_checked", timeout=15000)
    await expect(nurse.locator(f'[id="unit-{fresh}"]')).to_contain_text("temperature within limits")

    await bedside_check(nurse, live_server, subject_id, coi, product)
    await expect(nurse.locator(".notice")).to_contain_text("bedside_check.verified", timeout=15000)

    # The same person again is not a second verification: recorded as a failed check.
    await bedside_check(nurse, live_server, subject_id, coi, product)
    await expect(nurse.locator(".notice")).to_contain_text("bedside_check.failed", timeout=15000)

    await bedside_check(nurse, live_server, subject_id, coi, product)
    await expect(nurse.locator(".notice")).to_contain_text("bedside_check.verified", timeout=15000)
    investigator = await browser.new_page(viewport={"width": 1280, "height": 900})
    await log_in(investigator, live_server, "ivan")
    await bedside_check(investigator, live_server, subject_id, coi, product)
    await expect(investigator.locator(".notice")).to_contain_text(
        "bedside_check.verified", timeout=15000
    )

    timeline = investigator.locator(f'[id="unit-{product}"] .custody-timeline')
    for step in ("manufactured", "quality released", "shipped cryopreserved", "stored", "thawed"):
        await expect(timeline).to_contain_text(step)
    await expect(timeline).to_contain_text("verified by cora")
    await expect(timeline).to_contain_text("verified by ivan")
