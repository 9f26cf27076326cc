"""decide/apply: every phase transition allowed and refused, roles, corrections, the fold."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from domain import commands as c
from domain.actors import Actor, Role
from domain.errors import (
    MissingPrerequisite,
    NotFound,
    RoleNotAllowed,
    ValueOutOfRange,
    WrongPhase,
)
from domain.events import verify_chain
from domain.protocol import Protocol, load_protocol
from domain.subject import ALLOWED_PHASES, ALLOWED_ROLES, decide, fold
from domain.values import Phase
from tests.domain import custody_steps
from tests.domain.journey import COORDINATOR, INVESTIGATOR, PI, SYSTEM, Journey
from tests.domain.prechecks import weight_command

PROTOCOL = load_protocol()
_COI = "B0001260000013"
_UNIT = f"{_COI}-AP01"


def command_of(kind: str, j: Journey) -> Any:
    """A well-formed command of each type, so only the phase or the role can refuse it."""
    now, today = j.now, j.today
    factories: dict[str, Callable[[], Any]] = {
        "register": j.register,
        "sign_consent": j.consent,
        "withdraw_consent": j.withdraw,
        "record_screening": j.screening,
        "sign_eligibility": j.sign,
        "enroll": j.enroll,
        "record_apheresis": j.apheresis,
        "record_product_release": j.release,
        "record_manufacturing_failure": j.failure,
        "plan_lymphodepletion": j.plan,
        "approve_lymphodepletion": j.approve,
        "record_lymphodepletion_dose": lambda: c.RecordLymphodepletionDose(
            occurred_at=now, drug="fludarabine", day=-5, mg=50, given_on=today
        ),
        "record_infusion": lambda: c.RecordInfusion(
            occurred_at=now, infused_on=today, weight_kg=60, tu_per_kg=5e6
        ),
        "reschedule_visit": lambda: c.RescheduleVisit(occurred_at=now, code="M1", target=today),
        "complete_visit": lambda: c.CompleteVisit(
            occurred_at=now, code="M1", completed_on=today, response="PR"
        ),
        "miss_visit": lambda: c.MissVisit(occurred_at=now, code="M1"),
        "open_visit_window": lambda: c.OpenVisitWindow(occurred_at=now, code="M1"),
        "expire_screening": lambda: c.ExpireScreening(occurred_at=now),
        "record_correction": lambda: c.RecordCorrection(
            occurred_at=now, target_seq=1, field="sex", new_value="male", reason="typo"
        ),
        "end_participation": lambda: c.EndParticipation(
            occurred_at=now, outcome="lost_to_follow_up", ended_on=today, reason="no contact"
        ),
        # Safety and study commands (issue #6).
        "record_adverse_event": lambda: c.RecordAdverseEvent(
            occurred_at=now,
            term="Nausea",
            grade=1,
            onset_on=today,
            related_to_jy231="unlikely",
            related_to_lymphodepletion="possible",
        ),
        "update_adverse_event": lambda: c.UpdateAdverseEvent(occurred_at=now, ae_id="X", grade=2),
        "resolve_adverse_event": lambda: c.ResolveAdverseEvent(
            occurred_at=now, ae_id="X", resolved_on=today
        ),
        "report_sae": lambda: c.ReportSae(
            occurred_at=now, ae_id="X", reported_at=now, recipient="sponsor", reference="R-1"
        ),
        "mark_sae_overdue": lambda: c.MarkSaeOverdue(occurred_at=now, ae_id="X"),
        "report_susar": lambda: c.ReportSusar(
            occurred_at=now,
            ae_id="X",
            recipient="regulator",
            kind="initial",
            reported_at=now,
            reference="S-1",
        ),
        "mark_susar_overdue": lambda: c.MarkSusarOverdue(
            occurred_at=now, ae_id="X", recipient="regulator", kind="initial"
        ),
        "record_daily_monitoring": lambda: c.RecordDailyMonitoring(
            occurred_at=now, day=1, max_temperature_c=37.0
        ),
        "mark_monitoring_missed": lambda: c.MarkMonitoringMissed(occurred_at=now, day=1),
        "close_dlt_window": lambda: c.CloseDltWindow(occurred_at=now),
        # Dated results and the lymphodepletion safety decisions (issue #12).
        "record_measurement": lambda: weight_command(now, today),
        "override_renal_threshold": lambda: c.OverrideRenalThreshold(
            occurred_at=now, factor=0.5, reason="benefit outweighs risk; nephrology agrees"
        ),
        "confirm_infusion_weight": lambda: c.ConfirmInfusionWeight(
            occurred_at=now, reason="weight re-measured twice on the ward scale"
        ),
        "grant_study_slot": lambda: c.GrantStudySlot(
            occurred_at=now, study_id="study-NCT06243159", dose_level="DL1", sentinel=True
        ),
        # Long-term follow-up (issue #15).
        "record_ltfu_consent": lambda: c.RecordLtfuConsent(
            occurred_at=now, decision="signed", decided_on=today, consent_version="LTFU-1.0"
        ),
        "complete_ltfu_visit": lambda: c.CompleteLtfuVisit(
            occurred_at=now, code="LTFU-Y2", completed_on=today, mode="visit"
        ),
        "record_contact_attempt": lambda: c.RecordContactAttempt(
            occurred_at=now, attempted_on=today, method="phone"
        ),
        "record_delayed_adverse_event": lambda: c.RecordDelayedAdverseEvent(
            occurred_at=now, category="neurologic", term="Peripheral neuropathy", onset_on=today
        ),
        "record_reconsent": lambda: c.RecordReconsent(
            occurred_at=now, decision="signed", consent_version="2.0", decided_on=today
        ),
        "mark_reconsent_overdue": lambda: c.MarkReconsentOverdue(occurred_at=now),
        # Chain of identity and custody (issue #14).
        "record_custody": lambda: custody_steps.collect(now),
        "record_manufactured": lambda: custody_steps.manufactured(now, _UNIT),
        "record_quality_release": lambda: custody_steps.quality_release(now, _UNIT),
        "decide_out_of_spec": lambda: c.DecideOutOfSpec(
            occurred_at=now, unit_id=_UNIT, decision="use", reason="benefit outweighs"
        ),
        "upload_temperature_log": lambda: custody_steps.temperature_log(now, _UNIT, [4.0]),
        "verify_bedside": lambda: custody_steps.verify(now, j.subject_id, _COI, _UNIT),
        "book_slots": lambda: c.BookSlots(occurred_at=now, apheresis_on=today),
        "mark_custody_overdue": lambda: c.MarkCustodyOverdue(
            occurred_at=now, unit_id=_UNIT, timer="fresh_transit"
        ),
        # Oversight (issue #16).
        "open_query": lambda: c.OpenQuery(occurred_at=now, target_seq=1, question="Source?"),
        "answer_query": lambda: c.AnswerQuery(occurred_at=now, query_id="Q", answer="Checked"),
        "close_query": lambda: c.CloseQuery(occurred_at=now, query_id="Q"),
        "reopen_query": lambda: c.ReopenQuery(
            occurred_at=now, query_id="Q", question="Again?", reason="unclear"
        ),
        "verify_source": lambda: c.VerifySource(occurred_at=now, form="registration"),
        "sign_casebook": lambda: c.SignCasebook(
            occurred_at=now,
            signature=c.SignatureAttestation(
                signer_id="pi", printed_name="P", meaning="responsibility", components="password"
            ),
        ),
        "unlock_casebook": lambda: c.UnlockCasebook(occurred_at=now, reason="late lab value"),
    }
    return factories[kind]()


def actor_for(kind: str) -> Actor:
    roles = ALLOWED_ROLES[kind]
    for role in (Role.PI, Role.INVESTIGATOR, Role.COORDINATOR, Role.SYSTEM, Role.MONITOR):
        if role in roles:
            return Actor(user_id=role.value, role=role)
    raise AssertionError(kind)


def journey_in(phase: Phase) -> Journey:
    j = Journey(PROTOCOL)
    if phase is Phase.SCREEN_FAILED:
        j.to_phase("screening")
        j.send(PI, j.sign("not_eligible"))
    elif phase is Phase.WITHDRAWN:
        j.to_phase("consented")
        j.send(COORDINATOR, j.withdraw())
    elif phase in (Phase.LOST_TO_FOLLOW_UP, Phase.DIED):
        j.to_phase("infused")
        j.send(
            COORDINATOR,
            c.EndParticipation(
                occurred_at=j.now,
                outcome=phase.value,
                ended_on=j.today,
                reason="reported",  # type: ignore[arg-type]
            ),
        )
    elif phase is Phase.LTFU:
        # Only an amended protocol (v2.0) has long-term follow-up.
        j = Journey(load_protocol("2.0"))
        j.to_phase("completed_visits")
        j.send(
            COORDINATOR,
            c.RecordLtfuConsent(
                occurred_at=j.now,
                decision="signed",
                decided_on=j.today,
                consent_version="LTFU-1.0",
            ),
        )
    else:
        j.to_phase(phase.value)
    assert j.state.phase is phase
    return j


ALL_PHASES = list(Phase)
ALL_KINDS = sorted(ALLOWED_PHASES)


@pytest.mark.parametrize("phase", ALL_PHASES, ids=lambda p: p.value)
@pytest.mark.parametrize("kind", ALL_KINDS)
def test_each_command_is_refused_outside_its_phases_and_passes_the_gate_inside(
    kind: str, phase: Phase
) -> None:
    j = journey_in(phase)
    command = command_of(kind, j)
    if phase in ALLOWED_PHASES[kind]:
        try:
            decide(j.state, command, actor_for(kind), j.now, PROTOCOL)
        except WrongPhase as exc:
            assert "while the subject is" not in exc.message
        except (MissingPrerequisite, NotFound, ValueOutOfRange):
            pass  # past the phase gate; refused for its content
    else:
        expected = (
            f"subject {j.subject_id} is already registered"
            if kind == "register"
            else f"while the subject is {phase.value.replace('_', ' ')}"
        )
        with pytest.raises(WrongPhase, match=expected):
            decide(j.state, command, actor_for(kind), j.now, PROTOCOL)


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
@pytest.mark.parametrize("kind", ALL_KINDS)
def test_each_command_is_refused_for_roles_not_allowed_to_send_it(kind: str, role: Role) -> None:
    j = journey_in(Phase.INFUSED)
    if role in ALLOWED_ROLES[kind]:
        return
    with pytest.raises(RoleNotAllowed):
        decide(j.state, command_of(kind, j), Actor(user_id="u", role=role), j.now, PROTOCOL)


def test_monitor_is_told_monitors_are_read_only() -> None:
    j = journey_in(Phase.REGISTERED)
    with pytest.raises(RoleNotAllowed, match="monitors have read-only access"):
        decide(j.state, j.consent(), Actor(user_id="m", role=Role.MONITOR), j.now, PROTOCOL)


def test_only_the_pi_signs_eligibility_and_approves_lymphodepletion() -> None:
    assert ALLOWED_ROLES["sign_eligibility"] == {Role.PI}
    assert ALLOWED_ROLES["approve_lymphodepletion"] == {Role.PI}


def test_happy_path_runs_the_phases_in_protocol_order() -> None:
    j = Journey(PROTOCOL)
    j.to_phase("completed")
    phases = []
    state = fold([])
    for event in j.events:
        state = fold([event], state)
        if not phases or phases[-1] != state.phase.value:
            phases.append(state.phase.value)
    assert phases == [
        "registered",
        "consented",
        "screening",
        "eligible",
        "enrolled",
        "apheresis",
        "awaiting_product",
        "lymphodepletion",
        "infused",
        "follow_up",
        "completed",
    ]


def test_manufacturing_failure_returns_the_subject_to_a_repeat_apheresis() -> None:
    j = journey_in(Phase.APHERESIS)
    j.send(COORDINATOR, j.failure())
    assert j.state.phase is Phase.ENROLLED
    j.send(COORDINATOR, j.apheresis())
    assert (j.state.apheresis_count, j.state.manufacturing_failures) == (2, 1)


@pytest.mark.parametrize(
    "phase", [p for p in Phase if p.is_active and p is not Phase.REGISTERED], ids=lambda p: p.value
)
def test_consent_can_be_withdrawn_from_every_active_phase(phase: Phase) -> None:
    j = journey_in(phase)
    events = j.send(COORDINATOR, j.withdraw())
    assert [e.type for e in events] == ["consent.withdrawn", "participation.ended"]
    assert j.state.phase is Phase.WITHDRAWN


@pytest.mark.parametrize("outcome", ["lost_to_follow_up", "died"])
@pytest.mark.parametrize("phase", [p for p in Phase if p.is_active], ids=lambda p: p.value)
def test_loss_to_follow_up_and_death_end_participation_from_every_active_phase(
    phase: Phase, outcome: str
) -> None:
    j = journey_in(phase)
    j.send(
        COORDINATOR,
        c.EndParticipation(occurred_at=j.now, outcome=outcome, ended_on=j.today, reason="x"),  # type: ignore[arg-type]
    )
    assert j.state.phase.value == outcome


def test_completion_is_refused_while_visits_remain() -> None:
    j = journey_in(Phase.FOLLOW_UP)
    with pytest.raises(MissingPrerequisite, match="every scheduled visit"):
        j.send(
            SYSTEM,
            c.EndParticipation(occurred_at=j.now, outcome="completed", ended_on=j.today),
        )


def test_eligible_signature_is_refused_when_a_criterion_is_not_met() -> None:
    j = journey_in(Phase.CONSENTED)
    j.send(COORDINATOR, j.screening(platelets={"value": 29, "unit": "10^9/L"}))
    assert j.state.screening_eligible is False
    with pytest.raises(MissingPrerequisite, match="do not meet every criterion"):
        j.send(PI, j.sign("eligible"))


def test_unknown_dose_level_is_refused_naming_the_field() -> None:
    j = journey_in(Phase.ELIGIBLE)
    with pytest.raises(ValueOutOfRange) as refused:
        j.send(INVESTIGATOR, j.enroll("DL9"))
    assert refused.value.field == "dose_level"


def test_lymphodepletion_dose_far_from_the_plan_is_refused() -> None:
    j = journey_in(Phase.LYMPHODEPLETION)
    planned = j.state.ld_plan.doses[0]  # type: ignore[union-attr]
    j.go_to(planned.on)
    with pytest.raises(ValueOutOfRange, match="within ±10%") as refused:
        j.send(
            COORDINATOR,
            c.RecordLymphodepletionDose(
                occurred_at=j.now,
                drug=planned.drug,
                day=planned.day,
                mg=planned.mg * 1.5,
                given_on=planned.on,
            ),
        )
    assert refused.value.field == "mg"


def test_infusion_before_lymphodepletion_is_complete_is_refused() -> None:
    j = journey_in(Phase.LYMPHODEPLETION)
    with pytest.raises(MissingPrerequisite, match="missing doses"):
        j.send(INVESTIGATOR, j.infuse())


def test_completing_a_visit_outside_its_window_opens_a_deviation() -> None:
    j = journey_in(Phase.FOLLOW_UP)
    m1 = j.state.visit("M1")
    assert m1 is not None
    late = m1.window_end + timedelta(days=1)
    j.go_to(late)
    events = j.send(COORDINATOR, j.complete("M1", "SD").model_copy(update={"completed_on": late}))
    assert [e.type for e in events] == ["visit.completed", "deviation.opened"]
    assert j.state.deviations[0].kind == "visit_out_of_window"


def test_miss_visit_is_refused_while_the_window_is_still_open() -> None:
    j = journey_in(Phase.FOLLOW_UP)
    with pytest.raises(WrongPhase, match="still open"):
        j.send(SYSTEM, c.MissVisit(occurred_at=j.now, code="M1"))


def test_correction_supersedes_a_value_and_keeps_the_original_event() -> None:
    j = journey_in(Phase.FOLLOW_UP)
    j.send(COORDINATOR, j.complete("M1", "PR"))
    target = j.events[-1]
    j.send(
        INVESTIGATOR,
        c.RecordCorrection(
            occurred_at=j.now,
            target_seq=target.seq,
            field="response",
            new_value="CR",
            reason="central read of the imaging",
        ),
    )
    assert j.state.visit("M1").response == "CR"  # type: ignore[union-attr]
    correction = j.state.corrections[-1]
    assert (correction.old_value, correction.new_value) == ("PR", "CR")
    assert correction.reason == "central read of the imaging"
    assert j.events[target.seq - 1] == target
    assert target.payload.response == "PR"  # type: ignore[union-attr]


def test_correction_needs_a_reason_and_a_correctable_target() -> None:
    j = journey_in(Phase.CONSENTED)
    with pytest.raises(ValueError, match="reason"):
        c.RecordCorrection(occurred_at=j.now, target_seq=1, field="sex", new_value="male")  # type: ignore[call-arg]
    with pytest.raises(NotFound, match="no correctable value"):
        j.send(
            COORDINATOR,
            c.RecordCorrection(
                occurred_at=j.now,
                # Consent is correctable now (issue 9); no event holds seq 99.
                target_seq=99,
                field="signed_on",
                new_value="2026-01-01",
                reason="typo",
            ),
        )


def test_commands_dated_in_the_future_are_refused() -> None:
    j = journey_in(Phase.REGISTERED)
    consent = j.consent().model_copy(update={"occurred_at": j.now + timedelta(hours=1)})
    with pytest.raises(ValueOutOfRange) as refused:
        j.send(COORDINATOR, consent)
    assert refused.value.field == "occurred_at"


def test_folding_the_stored_events_gives_the_decided_state_and_the_chain_verifies(
    protocol: Protocol,
) -> None:
    j = Journey(protocol)
    j.to_phase("completed")
    assert fold(j.events) == j.state
    raw = [e.model_dump(mode="json") for e in j.events]
    assert verify_chain(j.subject_id, raw) is None
