"""`trial demo seed` fills a new installation through the running API, one subject per stage,
and the seeded board is what the README shows."""

from __future__ import annotations

import asyncio
import os
import shutil

from playwright.async_api import Browser, expect

from cli.demo import DEMO_SUBJECTS, seed
from domain.subject import fold
from store.sql import SqlEventStore
from tests.web.live import ROOT, LiveServer
from tests.web.test_dashboard_browser import ARTIFACTS, browser, log_in

__all__ = ["browser"]


async def test_the_demo_seeds_a_subject_at_every_stage_through_the_api_and_only_once(
    live_server: LiveServer, sqlite_store: SqlEventStore, browser: Browser
) -> None:
    seeded = await asyncio.to_thread(seed, live_server.url)

    assert seeded == [s.subject_id for s in DEMO_SUBJECTS]
    phases = {row.subject_id: row.phase.value for row in sqlite_store.board()}
    assert phases == {
        "SBH-D01": "registered",
        "SBH-D02": "consented",
        "SBH-D03": "screening",
        "SBH-D04": "screen_failed",
        "SBH-D05": "eligible",
        "SBH-D06": "enrolled",
        "SBH-D07": "apheresis",
        "SBH-D08": "awaiting_product",
        "SBH-D09": "lymphodepletion",
        "SBH-D10": "withdrawn",
    }
    # Every fact came through the workflows, recorded under the demo users' roles.
    events = sqlite_store.read_stream("SBH-D09")
    assert {e.actor.user_id for e in events} >= {"cora", "ivan", "petra"}
    state = fold(events)
    assert state.ld_approved and len(state.ld_doses) == 2
    assert [ae.term for ae in state.adverse_events] == ["Nausea"]
    consent = next(e for e in sqlite_store.read_stream("SBH-D05") if e.type == "consent.signed")
    assert consent.payload.signed_on < consent.recorded_at.date()  # type: ignore[union-attr]

    assert await asyncio.to_thread(seed, live_server.url) == []
    assert len(sqlite_store.board()) == len(DEMO_SUBJECTS)

    page = await browser.new_page(viewport={"width": 1280, "height": 800})
    await log_in(page, live_server, "petra")
    await expect(page.locator("table.board tbody tr")).to_have_count(len(DEMO_SUBJECTS))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "seeded-board.png"), full_page=True)
    if os.environ.get("JY231_UPDATE_DOCS") == "1":
        shutil.copyfile(ARTIFACTS / "seeded-board.png", ROOT / "docs" / "dashboard.png")
