"""Issue 12's forms in real headless Chromium: dated results fill the re-check before
lymphodepletion, the PI signs a renal override below the threshold, an AE goes 3 → 1 and
keeps its worst grade, and a SUSAR report to one recipient shows on the subject page."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, Page, expect
from temporalio.testing import WorkflowEnvironment

from domain.protocol import Protocol
from system.gateway import SubjectGateway
from tests.web.live import PASSWORDS, LiveServer
from tests.web.test_dashboard_browser import ARTIFACTS, browser, log_in
from tests.workflows.harness import SubjectDriver

__all__ = ["browser"]

pytestmark = pytest.mark.browser


async def open_form(page: Page, server: LiveServer, subject_id: str, title: str) -> None:
    await page.goto(f"{server.url}/subjects/{subject_id}")
    await page.click(f"a.button:has-text('{title}')")


async def recorded(page: Page, subject_id: str, event: str) -> None:
    await page.click("form.command button[type=submit]")
    await expect(page).to_have_url(re.compile(rf"/subjects/{subject_id}\?notice="), timeout=20000)
    await expect(page.locator(".notice")).to_contain_text(event)


async def test_results_an_override_a_downgraded_ae_and_a_susar_report_through_the_forms(
    browser: Browser,
    live_server: LiveServer,
    time_env: WorkflowEnvironment,
    task_queue: str,
    protocol: Protocol,
    subject_id: str,
) -> None:
    gateway = SubjectGateway(time_env.client, task_queue, protocol)
    driver = SubjectDriver(time_env, gateway, subject_id)
    await driver.register()
    await driver.consent()
    await driver.screening()
    await driver.eligible_and_enrolled()
    await driver.product()
    day = (await driver.today()).isoformat()

    cora = await browser.new_page(viewport={"width": 1280, "height": 900})
    await log_in(cora, live_server, "cora")

    # A creatinine implausible for its unit is refused next to the value, then corrected.
    await open_form(cora, live_server, subject_id, "Record creatinine")
    await cora.fill("#f-measurement-collected_on", day)
    await cora.fill("#f-measurement-value", "2.5")
    await cora.select_option("#f-measurement-unit", "umol/L")
    await cora.click("form.command button[type=submit]")
    error = cora.locator(".field-error[data-field='measurement.value']")
    await expect(error).to_contain_text("between 10 and 2000")
    await cora.select_option("#f-measurement-unit", "mg/dL")
    await recorded(cora, subject_id, "measurement.recorded")
    await expect(cora.locator("#recheck-renal")).to_have_class(re.compile("status-fresh"))
    await expect(cora.locator("#recheck-weight")).to_have_class(re.compile("status-missing"))

    await open_form(cora, live_server, subject_id, "Record weight")
    await cora.fill("#f-measurement-collected_on", day)
    await cora.fill("#f-measurement-kg", "60")
    await recorded(cora, subject_id, "measurement.recorded")
    await open_form(cora, live_server, subject_id, "Record infection assessment")
    await cora.fill("#f-measurement-collected_on", day)
    field = "#f-measurement-active_infection_needing_systemic_treatment"
    await cora.select_option(field, "false")
    await recorded(cora, subject_id, "measurement.recorded")
    await open_form(cora, live_server, subject_id, "Record pregnancy test")
    await cora.fill("#f-measurement-collected_on", day)
    await cora.select_option("#f-measurement-result", "negative")
    await recorded(cora, subject_id, "measurement.recorded")
    await open_form(cora, live_server, subject_id, "Record blood counts")
    await cora.fill("#f-measurement-collected_on", day)
    await cora.fill("#f-measurement-hemoglobin_g_per_l", "118")
    await cora.fill("#f-measurement-platelets_10e9_per_l", "190")
    await recorded(cora, subject_id, "measurement.recorded")

    for what in ("renal", "weight", "infection", "pregnancy_test", "blood_counts"):
        await expect(cora.locator(f"#recheck-{what}")).to_have_class(re.compile("status-fresh"))
    # A woman born 1980 (45 or 46), 60 kg, creatinine 2.5 mg/dL: (140 − age) × 60 × 0.85 /
    # (72 × 2.5) is 26.6–26.9 mL/min.
    renal = cora.locator("[id='renal-fludarabine']")
    await expect(renal).to_contain_text(re.compile(r"creatinine clearance 26\.[69] mL/min"))
    await expect(renal).to_contain_text("do not give")

    # The PI documents and signs the override; the page then shows the plan's basis.
    petra = await browser.new_page(viewport={"width": 1280, "height": 900})
    await log_in(petra, live_server, "petra")
    await open_form(petra, live_server, subject_id, "PI override of the renal threshold")
    await petra.fill("#f-factor", "0.5")
    await petra.fill("#f-reason", "no alternative conditioning; nephrology consulted")
    await petra.fill("#f-signature_username", "petra")
    await petra.fill("#f-signature_password", PASSWORDS["petra"])
    await recorded(petra, subject_id, "renal.override_recorded, signature.applied")
    renal = petra.locator("[id='renal-fludarabine']")
    await expect(renal).to_contain_text("PI override")
    await expect(renal).to_contain_text("nephrology consulted")

    # A serious, related, unexpected AE: a SUSAR with a clock per recipient.
    await open_form(cora, live_server, subject_id, "Record adverse event")
    await cora.fill("#f-term", "Guillain-Barre syndrome")
    await cora.select_option("#f-grade", "3")
    await cora.fill("#f-onset_on", day)
    await cora.check("input[name=seriousness][value=hospitalisation]")
    await cora.select_option("#f-related_to_jy231", "probable")
    await cora.select_option("#f-related_to_lymphodepletion", "unlikely")
    await recorded(cora, subject_id, "susar.identified")
    ae_id = f"{subject_id}-AE-1"
    await expect(cora.locator("tr.susar-report.status-due")).to_have_count(3)

    await cora.locator(f"[id='ae-{ae_id}'] a:has-text('Update')").click()
    await expect(cora.locator("#f-ae_id")).to_have_value(ae_id)
    await cora.select_option("#f-grade", "1")
    await recorded(cora, subject_id, "ae.updated")
    grade = cora.locator(f"[id='ae-{ae_id}'] td.grade")
    await expect(grade).to_contain_text("grade 3 (worst; now grade 1)")
    await expect(grade.locator(".grade-history")).to_contain_text(re.compile(r"3 \(.+\) → 1"))

    await cora.locator(f"[id='susar-{ae_id}-regulator-initial'] a:has-text('Report')").click()
    await expect(cora.locator("#f-recipient")).to_have_value("regulator")
    now = await driver.now()
    await cora.fill("#f-reported_at", now.strftime("%Y-%m-%dT%H:%M"))
    await cora.fill("#f-reference", "NMPA-2026-0042")
    await recorded(cora, subject_id, "susar.reported")
    sent = cora.locator(f"[id='susar-{ae_id}-regulator-initial']")
    await expect(sent).to_have_class(re.compile("status-sent"))
    await expect(sent).to_contain_text("NMPA-2026-0042")
    await expect(cora.locator("tr.susar-report.status-due")).to_have_count(2)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await cora.screenshot(path=str(ARTIFACTS / "issue12-subject.png"), full_page=True)
