"""SUSARs: expectedness against the reference safety information, the 7/15-day clocks per
recipient, initial and follow-up reports, overdue marks (pure domain), and the durable clocks
on the time-skipping server."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from activities.notifications import read_outbox
from domain import commands as c
from domain.deadlines import next_deadline
from domain.errors import ValueOutOfRange, WrongPhase
from domain.protocol import load_protocol
from domain.subject import fold
from domain.susar import susar_clocks
from store.sql import SqlEventStore
from system.gateway import SubjectGateway
from tests.domain.journey import COORDINATOR, INVESTIGATOR, SYSTEM
from tests.safety.test_adverse_events import ae, infused
from tests.workflows.harness import COORDINATOR as WF_COORDINATOR
from tests.workflows.harness import SubjectDriver, new_subject

PROTOCOL = load_protocol()
assert PROTOCOL.expedited is not None
RULES = PROTOCOL.expedited
AE1 = "S-0001-AE-1"
GBS: dict[str, Any] = {
    "term": "Guillain-Barre syndrome",
    "grade": 3,
    "seriousness": ("hospitalisation",),
    "related_to_jy231": "possible",
}


def _types(events: list[Any]) -> list[str]:
    return [e.type for e in events]


@pytest.mark.parametrize(
    ("fields", "susar"),
    [
        (GBS, True),
        ({**GBS, "related_to_jy231": "unlikely"}, False),
        ({**GBS, "seriousness": ()}, False),
        ({**GBS, "term": "Nausea"}, False),  # expected up to grade 3 in the RSI
        ({**GBS, "term": "Nausea", "grade": 4}, True),  # above the RSI's grade
    ],
)
def test_a_susar_is_serious_related_and_unexpected(fields: dict[str, Any], susar: bool) -> None:
    j = infused()
    events = j.send(INVESTIGATOR, ae(j, **fields))
    assert ("susar.identified" in _types(events)) is susar
    assert (j.state.adverse_events[0].susar is not None) is susar


def test_a_non_fatal_susar_owes_each_recipient_an_initial_report_within_15_days() -> None:
    j = infused()
    j.send(INVESTIGATOR, ae(j, **GBS))
    clocks = susar_clocks(j.state, RULES)
    assert {(k.recipient, k.kind) for k in clocks} == {
        ("regulator", "initial"),
        ("ethics_committee", "initial"),
        ("sponsor", "initial"),
    }
    assert {k.due_at for k in clocks} == {j.now + timedelta(days=15)}


def test_a_fatal_susar_owes_initial_reports_by_day_7_and_follow_ups_by_day_15() -> None:
    j = infused()
    j.send(
        INVESTIGATOR,
        ae(j, **{**GBS, "grade": 5, "outcome": "fatal", "seriousness": ("death",)}),
    )
    due = {(k.recipient, k.kind): k.due_at - j.now for k in susar_clocks(j.state, RULES)}
    assert len(due) == 6
    assert due[("regulator", "initial")] == timedelta(days=7)
    assert due[("regulator", "follow_up")] == timedelta(days=15)


def test_reports_are_recorded_per_recipient_and_late_after_the_clock() -> None:
    j = infused()
    j.send(INVESTIGATOR, ae(j, **GBS))
    since = j.now
    j.advance(15)
    j.now += timedelta(minutes=1)

    def report(recipient: str, kind: str = "initial") -> c.ReportSusar:
        return c.ReportSusar(
            occurred_at=j.now,
            ae_id=AE1,
            recipient=recipient,
            kind=kind,  # type: ignore[arg-type]
            reported_at=j.now,
            reference=f"SUSAR-{recipient}",
        )

    (event,) = j.send(COORDINATOR, report("sponsor"))
    assert event.payload.late is True  # type: ignore[union-attr]
    with pytest.raises(WrongPhase, match="already recorded"):
        j.send(COORDINATOR, report("sponsor"))
    with pytest.raises(ValueOutOfRange) as refused:
        j.send(COORDINATOR, report("newspaper"))
    assert refused.value.field == "recipient"
    with pytest.raises(ValueOutOfRange) as refused:
        j.send(COORDINATOR, report("regulator", "follow_up"))
    assert refused.value.field == "kind"
    assert since + timedelta(days=15) < j.now


def test_a_follow_up_needs_the_initial_report_first() -> None:
    j = infused()
    j.send(INVESTIGATOR, ae(j, **{**GBS, "seriousness": ("life_threatening",)}))
    follow_up = c.ReportSusar(
        occurred_at=j.now,
        ae_id=AE1,
        recipient="regulator",
        kind="follow_up",
        reported_at=j.now,
        reference="F-1",
    )
    with pytest.raises(ValueOutOfRange, match="initial report"):
        j.send(COORDINATOR, follow_up)


def test_the_overdue_mark_comes_at_the_due_time_with_a_deviation() -> None:
    j = infused()
    j.send(INVESTIGATOR, ae(j, **GBS))
    due = j.now + timedelta(days=15)
    mark = c.MarkSusarOverdue(occurred_at=j.now, ae_id=AE1, recipient="regulator", kind="initial")
    j.now = due - timedelta(seconds=1)
    with pytest.raises(WrongPhase, match="due at"):
        j.send(SYSTEM, mark)
    j.now = due
    events = j.send(SYSTEM, mark)
    assert _types(events) == ["susar.overdue", "deviation.opened"]
    assert j.state.deviations[-1].kind == "late_susar_report"
    assert ("regulator", "initial") in (j.state.adverse_events[0].susar.overdue or ())  # type: ignore[union-attr]
    assert fold(j.events) == j.state


def test_a_susar_that_becomes_life_threatening_restarts_on_the_7_day_clock() -> None:
    j = infused()
    j.send(INVESTIGATOR, ae(j, **GBS))
    j.advance(2)
    events = j.send(
        INVESTIGATOR,
        c.UpdateAdverseEvent(
            occurred_at=j.now, ae_id=AE1, seriousness=("hospitalisation", "life_threatening")
        ),
    )
    assert "susar.identified" in _types(events)
    susar = j.state.adverse_events[0].susar
    assert susar is not None and susar.category == "fatal_or_life_threatening"
    assert susar.since == j.now


def test_the_next_deadline_includes_the_susar_clocks_only_when_asked() -> None:
    j = infused()
    j.send(INVESTIGATOR, ae(j, **GBS))
    state = j.state.model_copy(update={"visits": (), "monitoring_recorded": tuple(range(1, 15))})
    state = state.model_copy(update={"dlt_outcome": "no_dlt"})
    deadline = next_deadline(state, PROTOCOL)
    assert deadline is not None and isinstance(deadline.command, c.MarkSaeOverdue)
    reported = j.state.adverse_events[0].model_copy(update={"sae_reported_at": j.now})
    state = state.model_copy(update={"adverse_events": (reported,)})
    deadline = next_deadline(state, PROTOCOL)
    assert deadline is not None and isinstance(deadline.command, c.MarkSusarOverdue)
    assert next_deadline(state, PROTOCOL, expedited=False) is None


async def test_susar_clocks_are_durable_timers_that_mark_each_missing_report_overdue(
    time_env: WorkflowEnvironment,
    subjects: SubjectGateway,
    sqlite_store: SqlEventStore,
    outbox: Path,
) -> None:
    """15 days skipped in seconds: the reports sent stay done, the missing one is overdue."""
    driver = SubjectDriver(time_env, subjects, new_subject())
    await driver.register()
    await driver.consent()
    aware = await driver.now()
    await driver.send(
        WF_COORDINATOR,
        c.RecordAdverseEvent(
            occurred_at=aware,
            onset_on=aware.date(),
            related_to_lymphodepletion="unlikely",
            **GBS,
        ),
    )
    ae_id = f"{driver.subject_id}-AE-1"
    state = await driver.state()
    assert state.adverse_events[0].susar is not None
    await driver.send(
        WF_COORDINATOR,
        c.ReportSae(
            occurred_at=await driver.now(),
            ae_id=ae_id,
            reported_at=await driver.now(),
            recipient="sponsor safety desk",
            reference="SAE-1",
        ),
    )
    for recipient in ("sponsor", "ethics_committee"):
        await driver.send(
            WF_COORDINATOR,
            c.ReportSusar(
                occurred_at=await driver.now(),
                ae_id=ae_id,
                recipient=recipient,
                kind="initial",
                reported_at=await driver.now(),
                reference=f"SUSAR-{recipient}",
            ),
        )

    await time_env.sleep(timedelta(days=14, hours=23))
    susar = (await driver.state()).adverse_events[0].susar
    assert susar is not None and susar.overdue == ()

    await time_env.sleep(timedelta(hours=2))
    state = await driver.state()
    susar = state.adverse_events[0].susar
    assert susar is not None and susar.overdue == (("regulator", "initial"),)
    assert [d.kind for d in state.deviations] == ["late_susar_report"]
    types = [e.type for e in sqlite_store.read_stream(driver.subject_id)]
    assert types.count("susar.overdue") == 1
    kinds = [n.kind for n in read_outbox(outbox)]
    assert kinds == ["susar.identified", "susar.overdue"]


async def test_a_life_threatening_susar_runs_a_7_day_initial_and_a_15_day_follow_up_clock(
    time_env: WorkflowEnvironment,
    subjects: SubjectGateway,
    sqlite_store: SqlEventStore,
    outbox: Path,
) -> None:
    """Time skipped past each clock by an hour either side: day 7 catches the missing initial
    report, day 15 the missing follow-ups; what was sent stays done."""
    driver = SubjectDriver(time_env, subjects, new_subject())
    await driver.register()
    await driver.consent()
    aware = await driver.now()
    fields = {**GBS, "grade": 4, "seriousness": ("life_threatening",)}
    await driver.send(
        WF_COORDINATOR,
        c.RecordAdverseEvent(
            occurred_at=aware,
            onset_on=aware.date(),
            related_to_lymphodepletion="unlikely",
            **fields,
        ),
    )
    ae_id = f"{driver.subject_id}-AE-1"
    susar = (await driver.state()).adverse_events[0].susar
    assert susar is not None and susar.category == "fatal_or_life_threatening"

    async def report(recipient: str, kind: str) -> None:
        now = await driver.now()
        await driver.send(
            WF_COORDINATOR,
            c.ReportSusar(
                occurred_at=now,
                ae_id=ae_id,
                recipient=recipient,
                kind=kind,  # type: ignore[arg-type]
                reported_at=now,
                reference=f"{kind}-{recipient}",
            ),
        )

    async def overdue() -> set[tuple[str, str]]:
        found = (await driver.state()).adverse_events[0].susar
        assert found is not None
        return set(found.overdue)

    await driver.send(
        WF_COORDINATOR,
        c.ReportSae(
            occurred_at=aware, ae_id=ae_id, reported_at=aware, recipient="sponsor", reference="S1"
        ),
    )
    await report("sponsor", "initial")
    await report("ethics_committee", "initial")

    await time_env.sleep(timedelta(days=6, hours=23))
    assert await overdue() == set()
    await time_env.sleep(timedelta(hours=2))
    assert await overdue() == {("regulator", "initial")}

    await report("sponsor", "follow_up")
    await time_env.sleep(timedelta(days=7, hours=21))  # 14 days 23 hours after awareness
    assert await overdue() == {("regulator", "initial")}
    await time_env.sleep(timedelta(hours=2))
    assert await overdue() == {
        ("regulator", "initial"),
        ("regulator", "follow_up"),
        ("ethics_committee", "follow_up"),
    }
    state = await driver.state()
    assert [d.kind for d in state.deviations] == ["late_susar_report"] * 3
    types = [e.type for e in sqlite_store.read_stream(driver.subject_id)]
    assert types.count("susar.overdue") == 3
