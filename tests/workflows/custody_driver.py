"""The chain of custody driven through the real workflow, in the test server's time."""

from __future__ import annotations

from datetime import timedelta

from domain.actors import Actor, Role
from domain.custody_events import CertificateOfAnalysis
from tests.domain.custody_steps import (
    COA_OK,
    collect,
    handoff,
    manufactured,
    quality_release,
    verify,
)
from tests.workflows.harness import COORDINATOR, INVESTIGATOR, SubjectDriver

__all__ = ["NURSE", "thaw_and_check", "to_manufacturing", "to_site"]

NURSE = Actor(user_id="nora", role=Role.COORDINATOR)


async def _later(driver: SubjectDriver, **delta: float) -> None:
    await driver.env.sleep(timedelta(**delta))


async def to_manufacturing(driver: SubjectDriver) -> str:
    """Collect a fresh unit and hand it on to manufacturing start; returns its unit id."""
    result = await driver.send(COORDINATOR, collect(await driver.now()))
    unit = result.events[0].payload.unit_id  # type: ignore[union-attr]
    for step, hours in (
        ("packed", 1),
        ("shipped", 1),
        ("received_at_manufacturing", 20),
        ("manufacturing_started", 1),
    ):
        await _later(driver, hours=hours)
        await driver.send(COORDINATOR, handoff(await driver.now(), step, unit))
    return unit


async def to_site(driver: SubjectDriver, coa: CertificateOfAnalysis = COA_OK) -> str:
    """Manufacture, release and return the product to the site's storage; its unit id."""
    source = await to_manufacturing(driver)
    await _later(driver, days=10)
    result = await driver.send(COORDINATOR, manufactured(await driver.now(), source))
    product = result.events[0].payload.unit_id  # type: ignore[union-attr]
    await _later(driver, days=14)
    await driver.send(COORDINATOR, quality_release(await driver.now(), product, coa))
    if coa is not COA_OK:
        return product
    for step in ("shipped_cryopreserved", "received_at_site", "stored"):
        await _later(driver, hours=6)
        await driver.send(COORDINATOR, handoff(await driver.now(), step, product))
    return product


async def thaw_and_check(driver: SubjectDriver, product: str) -> None:
    """On the infusion day: thaw, then two different people verify at the bedside."""
    await driver.send(COORDINATOR, handoff(await driver.now(), "thawed", product))
    state = await driver.state()
    assert state.custody.coi is not None
    for actor in (NURSE, INVESTIGATOR):
        await _later(driver, minutes=5)
        await driver.send(
            actor, verify(await driver.now(), driver.subject_id, state.custody.coi, product)
        )
