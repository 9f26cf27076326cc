"""An amendment signed by the PI reaches a running subject as protocol.amended; re-consent."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

import pytest
from temporalio.testing import WorkflowEnvironment

from domain import commands as c
from domain.actors import Actor, Role
from domain.errors import MissingPrerequisite, RoleNotAllowed, ValueOutOfRange
from domain.protocol import PROTOCOLS_DIR, Protocol
from domain.state import SubjectState
from domain.values import VisitStatus
from store.sql import SqlEventStore
from system.amendments import AmendmentRegistry, notify_subjects, protocol_stream
from system.gateway import SubjectGateway
from tests.workflows.harness import COORDINATOR, PI, SubjectDriver, new_subject
from workflows.amendment import AmendmentNotice

V2_TEXT = (PROTOCOLS_DIR / "NCT06243159-v2.toml").read_text(encoding="utf-8")


async def _until_amended(driver: SubjectDriver) -> SubjectState:
    for _ in range(100):
        state = await driver.state()
        if state.protocol_version == "2.0":
            return state
        await asyncio.sleep(0.05)
    raise AssertionError("the amendment never reached the subject")


async def test_a_signed_amendment_reaches_a_subject_in_follow_up_and_blocks_until_re_consent(
    time_env: WorkflowEnvironment, gateway: SubjectGateway, sqlite_store: SqlEventStore
) -> None:
    driver = SubjectDriver(time_env, gateway, new_subject())
    await driver.to_infusion("SLE")
    for code in ("D0", "M1", "M2", "M3"):
        await driver.complete_visit(code)
    before = {v.code: v for v in (await driver.state()).visits}

    today = await driver.today()
    registry = AmendmentRegistry(sqlite_store)
    new, registered = registry.register(V2_TEXT, today, PI, await driver.now(), gateway.protocol)
    assert registered.version == "2.0" and len(registered.sha256) == 64
    stored = sqlite_store.read_stream(protocol_stream(gateway.protocol))
    assert [e.type for e in stored] == ["protocol.amendment_registered"]
    assert stored[0].actor == PI
    fanout = await notify_subjects(
        time_env.client, sqlite_store, AmendmentNotice(protocol=new, effective_on=today, actor=PI)
    )
    assert fanout.notified == [driver.subject_id]

    state = await _until_amended(driver)
    after = {v.code: v for v in state.visits}
    for code in ("D0", "M1", "M2", "M3"):
        assert after[code] == before[code]
    assert after["M6"].window_start < before["M6"].window_start
    assert after["M9"].status is VisitStatus.PLANNED
    amended = sqlite_store.read_stream(driver.subject_id)[-1]
    assert amended.type == "protocol.amended" and amended.protocol_version == "2.0"

    with pytest.raises(MissingPrerequisite, match=r"must re-consent to consent form version 2\.0"):
        await driver.complete_visit("M6")
    await driver.send(
        COORDINATOR,
        c.RecordReconsent(
            occurred_at=await driver.now(),
            decision="signed",
            consent_version="2.0",
            decided_on=await driver.today(),
        ),
    )
    await driver.complete_visit("M6")
    m6 = (await driver.state()).visit("M6")
    assert m6 is not None and m6.status is VisitStatus.COMPLETED


def test_only_the_pi_signs_an_amendment_and_a_bad_file_is_refused_naming_the_file(
    sqlite_store: SqlEventStore, protocol: Protocol
) -> None:
    registry = AmendmentRegistry(sqlite_store)
    now = datetime(2027, 1, 4, 9, tzinfo=UTC)
    investigator = Actor(user_id="ivan", role=Role.INVESTIGATOR)
    with pytest.raises(RoleNotAllowed, match="only the PI"):
        registry.register(V2_TEXT, date(2027, 1, 4), investigator, now, protocol)
    with pytest.raises(ValueOutOfRange) as bad:
        registry.register("[protocol\nid=", date(2027, 1, 4), PI, now, protocol)
    assert bad.value.field == "file"
    with pytest.raises(ValueOutOfRange) as old_day:
        registry.register(V2_TEXT, date(2027, 1, 3), PI, now, protocol)
    assert old_day.value.field == "effective_on"
    assert sqlite_store.read_stream(protocol_stream(protocol)) == []
