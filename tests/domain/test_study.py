"""The study core: slots, sentinel staggering and the 3+3 rule, without Temporal."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from domain.actors import SYSTEM_ACTOR, Actor, Role
from domain.errors import RoleNotAllowed, WrongPhase
from domain.events import Event, seal
from domain.protocol import load_protocol
from domain.study import (
    RecordDltOutcome,
    RecordSubjectInfused,
    RequestSlot,
    SignSafetyReview,
    SlotDecision,
    StudyCommand,
    StudyState,
    apply_study,
    decide_study,
    fold_study,
    slot_decision,
)

PROTOCOL = load_protocol()
COORDINATOR = Actor(user_id="cora", role=Role.COORDINATOR)
PI = Actor(user_id="petra", role=Role.PI)
STAGGER = PROTOCOL.safety.sentinel_stagger_days


class Study:
    def __init__(self) -> None:
        self.state = StudyState.initial(PROTOCOL)
        self.now = datetime(2026, 3, 2, 9, tzinfo=UTC)
        self.events: list[Event] = []

    def send(self, command: StudyCommand, actor: Actor = SYSTEM_ACTOR) -> list[Event]:
        new = decide_study(self.state, command, actor, self.now, PROTOCOL)
        sealed = seal(
            new,
            stream="study-NCT06243159",
            last_seq=self.state.last_seq,
            last_hash=self.state.last_hash,
            actor=actor,
            recorded_at=self.now,
            protocol_version=PROTOCOL.version,
        )
        for event in sealed:
            self.state = apply_study(self.state, event)
        self.events.extend(sealed)
        return sealed

    def request(self, subject: str, level: str = "DL1") -> SlotDecision:
        command = RequestSlot(occurred_at=self.now, subject_id=subject, dose_level=level)
        answer = slot_decision(self.state, command, self.now, PROTOCOL)
        self.send(command, COORDINATOR)
        return answer

    def infuse(self, subject: str, level: str = "DL1") -> None:
        self.send(
            RecordSubjectInfused(
                occurred_at=self.now, subject_id=subject, dose_level=level, infused_on=self.today
            )
        )

    def outcome(self, subject: str, outcome: str, level: str = "DL1") -> list[str]:
        command = RecordDltOutcome.model_validate(
            {
                "occurred_at": self.now,
                "subject_id": subject,
                "dose_level": level,
                "outcome": outcome,
            }
        )
        return [e.type for e in self.send(command)]

    @property
    def today(self) -> date:
        return self.now.date()

    def advance(self, days: int) -> None:
        self.now += timedelta(days=days)

    def treat(self, subjects: list[str], level: str = "DL1") -> None:
        """Grant and infuse, respecting the sentinel stagger."""
        for subject in subjects:
            answer = self.request(subject, level)
            if answer.decision == "wait" and answer.wait_until is not None:
                self.now = datetime.combine(answer.wait_until, self.now.timetz())
                answer = self.request(subject, level)
            assert answer.decision == "granted", answer.reason
            self.infuse(subject, level)


def test_the_first_subject_of_the_lowest_level_is_the_sentinel_and_higher_levels_are_closed() -> (
    None
):
    study = Study()
    assert study.request("S1").sentinel
    refused = study.request("S2", "DL2")
    assert refused.decision == "refused" and "closed" in refused.reason


def test_second_subject_waits_for_the_sentinel_infusion_and_then_the_stagger() -> None:
    study = Study()
    study.request("S1")
    assert study.request("S2") == SlotDecision(
        subject_id="S2",
        dose_level="DL1",
        decision="wait",
        reason="the sentinel subject has not been infused yet",
    )
    study.infuse("S1")
    infused = study.today
    study.advance(STAGGER - 1)
    waiting = study.request("S2")
    assert (waiting.decision, waiting.wait_until) == ("wait", infused + timedelta(days=STAGGER))
    study.advance(1)
    assert study.request("S2").decision == "granted"
    # The third subject is not staggered.
    assert study.request("S3").decision == "granted"
    assert study.request("S4").decision == "wait"


def test_a_repeated_request_returns_the_same_grant_without_a_new_event() -> None:
    study = Study()
    study.request("S1")
    count = len(study.events)
    assert study.request("S1").decision == "granted"
    assert len(study.events) == count


def test_no_dlt_in_three_makes_the_level_eligible_for_escalation() -> None:
    study = Study()
    study.treat(["S1", "S2", "S3"])
    assert study.outcome("S1", "no_dlt") == ["study.dlt_outcome"]
    study.outcome("S2", "no_dlt")
    assert study.outcome("S3", "no_dlt") == ["study.dlt_outcome", "study.escalation_eligible"]


def test_one_dlt_in_three_expands_the_cohort_to_six() -> None:
    study = Study()
    study.treat(["S1", "S2", "S3"])
    study.outcome("S1", "dlt")
    study.outcome("S2", "no_dlt")
    assert study.outcome("S3", "no_dlt") == ["study.dlt_outcome", "study.cohort_expanded"]
    cohort = study.state.cohort("DL1")
    assert cohort is not None and (cohort.status, cohort.size) == ("expanded", 6)
    assert study.request("S4").decision == "granted"


def test_one_dlt_in_six_is_eligible_and_two_in_six_stops_the_level() -> None:
    eligible, stopped = Study(), Study()
    for study, last in ((eligible, "no_dlt"), (stopped, "dlt")):
        study.treat(["S1", "S2", "S3"])
        for subject, result in (("S1", "dlt"), ("S2", "no_dlt"), ("S3", "no_dlt")):
            study.outcome(subject, result)
        study.treat(["S4", "S5", "S6"])
        study.outcome("S4", "no_dlt")
        study.outcome("S5", "no_dlt")
        study.outcome("S6", last)
    assert [e.type for e in eligible.events][-1] == "study.escalation_eligible"
    assert [e.type for e in stopped.events][-1] == "study.level_stopped"


def test_two_dlts_stop_the_level_at_once_and_de_escalate_to_six_at_the_level_below() -> None:
    study = Study()
    study.treat(["S1", "S2", "S3"])
    for subject in ("S1", "S2", "S3"):
        study.outcome(subject, "no_dlt")
    study.send(
        SignSafetyReview(
            occurred_at=study.now, dose_level="DL1", decision="escalate", summary="0/3"
        ),
        PI,
    )
    study.treat(["S4", "S5", "S6"], "DL2")
    study.outcome("S4", "dlt", "DL2")
    assert study.outcome("S5", "dlt", "DL2") == ["study.dlt_outcome", "study.level_stopped"]
    dl1, dl2 = study.state.cohort("DL1"), study.state.cohort("DL2")
    assert dl1 is not None and dl2 is not None
    assert dl2.status == "stopped"
    assert (dl1.status, dl1.size) == ("expanded", 6)
    assert study.request("S7", "DL2").decision == "refused"
    assert study.request("S7", "DL1").decision == "granted"


def test_a_not_evaluable_subject_is_replaced() -> None:
    study = Study()
    study.treat(["S1", "S2", "S3"])
    assert study.request("S4").decision == "wait"
    study.outcome("S2", "not_evaluable")
    assert study.request("S4").decision == "granted"


def test_escalation_needs_the_pi_signature_on_an_eligible_level() -> None:
    study = Study()
    review = SignSafetyReview(
        occurred_at=study.now, dose_level="DL1", decision="escalate", summary="0/3"
    )
    with pytest.raises(WrongPhase, match="safety review"):
        study.send(review, PI)
    study.treat(["S1", "S2", "S3"])
    for subject in ("S1", "S2", "S3"):
        study.outcome(subject, "no_dlt")
    with pytest.raises(RoleNotAllowed):
        study.send(review, COORDINATOR)
    assert study.request("S4", "DL2").decision == "refused"
    types = [e.type for e in study.send(review, PI)]
    assert types == ["study.safety_review_signed", "study.escalated"]
    assert study.request("S4", "DL2").sentinel


def test_folding_the_study_stream_gives_the_live_state() -> None:
    study = Study()
    study.treat(["S1", "S2", "S3"])
    study.outcome("S1", "dlt")
    assert fold_study(study.events, StudyState.initial(PROTOCOL)) == study.state
