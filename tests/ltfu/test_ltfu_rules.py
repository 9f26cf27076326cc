"""LTFU in the pure domain: consent, schedule, visits and contacts, loss, delayed AEs, its end."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain import commands as c
from domain.deadlines import next_deadline
from domain.errors import MissingPrerequisite, ValueOutOfRange, WrongPhase
from domain.protocol import Protocol
from domain.values import Phase, VisitStatus
from tests.domain.journey import COORDINATOR, SYSTEM, Journey


def _after_month_12(protocol: Protocol) -> Journey:
    j = Journey(protocol, subject_id="S-LTFU1")
    j.to_phase("follow_up")
    for visit in j.state.visits:
        if visit.status is VisitStatus.PLANNED:
            j.send(COORDINATOR, j.complete(visit.code))
    return j


def _consent(j: Journey, decision: str = "signed", **kw: object) -> c.RecordLtfuConsent:
    return c.RecordLtfuConsent(
        occurred_at=j.now,
        decision=decision,  # type: ignore[arg-type]
        decided_on=j.today,
        consent_version="LTFU-1.0",
        **kw,  # type: ignore[arg-type]
    )


def test_signing_ltfu_consent_after_month_12_schedules_years_2_to_15(protocol_v2: Protocol) -> None:
    j = _after_month_12(protocol_v2)
    j.send(COORDINATOR, _consent(j))
    assert j.state.phase is Phase.LTFU
    ltfu = [v for v in j.state.visits if v.code.startswith("LTFU-")]
    # Year 1 is the Month 12 visit, done: it is not repeated.
    assert [v.code for v in ltfu] == [f"LTFU-Y{y}" for y in range(2, 16)]
    assert j.state.infusion_date is not None
    y15 = j.state.visit("LTFU-Y15")
    assert (
        y15 is not None
        and y15.window_start <= j.state.infusion_date + timedelta(days=5475) <= y15.window_end
    )
    assert all(protocol_v2.calendar.is_working_day(v.target) for v in ltfu)


def test_refusing_ltfu_after_month_12_completes_participation_cleanly(
    protocol_v2: Protocol,
) -> None:
    j = _after_month_12(protocol_v2)
    events = j.send(COORDINATOR, _consent(j, "refused"))
    assert [e.type for e in events] == ["ltfu.consent_recorded", "participation.ended"]
    assert j.state.phase is Phase.COMPLETED and j.state.outcome == "completed"
    assert next_deadline(j.state, protocol_v2, safety=False, ltfu=True) is None


def test_ltfu_consent_before_month_12_needs_an_early_termination(protocol_v2: Protocol) -> None:
    j = Journey(protocol_v2, subject_id="S-LTFU2")
    j.to_phase("follow_up")
    j.send(COORDINATOR, j.complete("M1"))
    with pytest.raises(MissingPrerequisite, match="early_termination"):
        j.send(COORDINATOR, _consent(j))
    j.send(COORDINATOR, _consent(j, early_termination=True))
    statuses = {v.code: v.status for v in j.state.visits}
    assert statuses["M2"] is VisitStatus.CANCELLED and statuses["M12"] is VisitStatus.CANCELLED
    # Month 12 was not done, so the year-1 examination is owed in LTFU.
    assert statuses["LTFU-Y1"] is VisitStatus.PLANNED


def test_an_in_person_year_refuses_a_phone_call_and_missing_samples_open_a_deviation(
    protocol_v2: Protocol,
) -> None:
    j = _after_month_12(protocol_v2)
    j.send(COORDINATOR, _consent(j))
    y2 = j.state.visit("LTFU-Y2")
    assert y2 is not None
    j.go_to(y2.target)
    with pytest.raises(ValueOutOfRange, match="examination in person") as err:
        j.send(
            COORDINATOR,
            c.CompleteLtfuVisit(
                occurred_at=j.now, code="LTFU-Y2", completed_on=j.today, mode="phone"
            ),
        )
    assert err.value.field == "mode"
    events = j.send(
        COORDINATOR,
        c.CompleteLtfuVisit(
            occurred_at=j.now, code="LTFU-Y2", completed_on=j.today, mode="visit", samples=("VCN",)
        ),
    )
    assert [e.type for e in events] == ["ltfu.visit_completed", "deviation.opened"]
    assert "RCL not collected" in j.state.deviations[-1].detail
    y6 = j.state.visit("LTFU-Y6")
    assert y6 is not None
    j.go_to(y6.target)
    j.send(
        COORDINATOR,
        c.CompleteLtfuVisit(
            occurred_at=j.now, code="LTFU-Y6", completed_on=j.today, mode="questionnaire"
        ),
    )
    done = j.state.visit("LTFU-Y6")
    assert done is not None and done.status is VisitStatus.COMPLETED


def test_three_failed_contact_attempts_in_a_row_lose_the_subject(protocol_v2: Protocol) -> None:
    j = _after_month_12(protocol_v2)
    j.send(COORDINATOR, _consent(j))

    def attempt(reached: bool) -> list[str]:
        j.advance(7)
        cmd = c.RecordContactAttempt(
            occurred_at=j.now, attempted_on=j.today, method="phone", reached=reached
        )
        return [e.type for e in j.send(COORDINATOR, cmd)]

    attempt(False)
    attempt(False)
    attempt(True)  # reached: the count starts over
    assert j.state.ltfu is not None and j.state.ltfu.failed_contacts == 0
    attempt(False)
    attempt(False)
    assert attempt(False) == ["ltfu.contact_attempted", "participation.ended"]
    assert j.state.phase is Phase.LOST_TO_FOLLOW_UP


def test_a_delayed_adverse_event_is_recorded_in_its_category(protocol_v2: Protocol) -> None:
    j = _after_month_12(protocol_v2)
    j.send(COORDINATOR, _consent(j))
    j.advance(400)
    j.send(
        COORDINATOR,
        c.RecordDelayedAdverseEvent(
            occurred_at=j.now,
            category="new_malignancy",
            term="T-cell lymphoma",
            onset_on=j.today,
            serious=True,
        ),
    )
    assert j.state.ltfu is not None
    (ae,) = j.state.ltfu.delayed_aes
    assert (ae.category, ae.term, ae.serious) == ("new_malignancy", "T-cell lymphoma", True)


def test_without_an_ltfu_decision_the_main_study_completes_after_the_decision_days(
    protocol_v2: Protocol,
) -> None:
    j = _after_month_12(protocol_v2)
    deadline = next_deadline(j.state, protocol_v2, safety=False, ltfu=True)
    assert deadline is not None and isinstance(deadline.command, c.EndParticipation)
    m12 = j.state.visit("M12")
    assert m12 is not None and m12.completed_on is not None
    assert deadline.command.ended_on == m12.completed_on + timedelta(days=28)
    # Without the LTFU patch (old histories) the study completes at the last visit.
    old = next_deadline(j.state, protocol_v2, safety=False, ltfu=False)
    assert old is not None and isinstance(old.command, c.EndParticipation)
    assert old.command.ended_on == m12.completed_on


def test_ltfu_commands_under_a_protocol_without_ltfu_say_so(protocol: Protocol) -> None:
    j = _after_month_12(protocol)
    with pytest.raises(MissingPrerequisite, match="has no long-term follow-up"):
        j.send(COORDINATOR, _consent(j))


def test_the_last_timepoint_resolved_ends_ltfu_as_completed(protocol_v2: Protocol) -> None:
    j = _after_month_12(protocol_v2)
    j.send(COORDINATOR, _consent(j))
    for visit in j.state.visits:
        if visit.status is VisitStatus.PLANNED:
            j.go_to(visit.target)
            mode = "visit"
            point = protocol_v2.ltfu.timepoint(visit.code) if protocol_v2.ltfu else None
            assert point is not None
            j.send(
                COORDINATOR,
                c.CompleteLtfuVisit(
                    occurred_at=j.now,
                    code=visit.code,
                    completed_on=j.today,
                    mode=mode,
                    samples=point.samples,
                ),
            )
    deadline = next_deadline(j.state, protocol_v2, safety=False, ltfu=True)
    assert deadline is not None and isinstance(deadline.command, c.EndParticipation)
    j.send(SYSTEM, deadline.command.model_copy(update={"occurred_at": j.now}))
    assert j.state.phase is Phase.COMPLETED
    with pytest.raises(WrongPhase):
        j.send(COORDINATOR, _consent(j))
