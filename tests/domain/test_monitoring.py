"""Queries, source data verification, Part 11 signatures and casebook locks in the pure domain."""

from __future__ import annotations

import pytest

from domain import commands as c
from domain.errors import MissingPrerequisite, RoleNotAllowed, WrongPhase
from domain.protocol import load_protocol
from domain.signatures import check_signatures
from domain.subject import fold
from tests.domain.journey import COORDINATOR, MONITOR, PI, Journey

PROTOCOL = load_protocol()


def _attest(signer: str = "petra", components: str = "password") -> c.SignatureAttestation:
    return c.SignatureAttestation(
        signer_id=signer,
        printed_name="Petra (Principal Investigator)",
        meaning="approval",
        components=components,  # type: ignore[arg-type]
    )


def _in_follow_up() -> Journey:
    """Day 0 (the baseline, no response) and Month 1 (response PR) done."""
    j = Journey(PROTOCOL)
    j.to_phase("follow_up")
    j.send(COORDINATOR, j.complete("M1"))
    return j


def _seq_of(j: Journey, event_type: str) -> int:
    return next(e.seq for e in reversed(j.events) if e.type == event_type)


def test_query_open_answer_correct_close_each_step_is_an_event() -> None:
    j = _in_follow_up()
    target = _seq_of(j, "visit.completed")
    j.send(
        MONITOR,
        c.OpenQuery(occurred_at=j.now, target_seq=target, field="response", question="PR or CR?"),
    )
    query = j.state.queries[0]
    assert (query.query_id, query.status, query.form) == ("S-0001-Q1", "open", "visit:M1")
    j.send(COORDINATOR, c.AnswerQuery(occurred_at=j.now, query_id="S-0001-Q1", answer="CR"))
    j.send(
        COORDINATOR,
        c.RecordCorrection(
            occurred_at=j.now, target_seq=target, field="response", new_value="CR", reason="Q1"
        ),
    )
    j.send(MONITOR, c.CloseQuery(occurred_at=j.now, query_id="S-0001-Q1"))
    types = [e.type for e in j.events[-4:]]
    assert types == ["query.opened", "query.answered", "correction.recorded", "query.closed"]
    assert [e.actor.user_id for e in j.events[-4:]] == ["mona", "cora", "cora", "mona"]
    closed = j.state.queries[0]
    assert closed.status == "closed" and closed.answer == "CR"
    assert fold(j.events) == j.state


def test_a_query_is_reopened_with_a_reason_and_answered_again() -> None:
    j = _in_follow_up()
    j.send(MONITOR, c.OpenQuery(occurred_at=j.now, target_seq=1, question="Birth date?"))
    j.send(COORDINATOR, c.AnswerQuery(occurred_at=j.now, query_id="S-0001-Q1", answer="ok"))
    with pytest.raises(WrongPhase, match="is answered, not open"):
        j.send(COORDINATOR, c.AnswerQuery(occurred_at=j.now, query_id="S-0001-Q1", answer="x"))
    j.send(
        MONITOR,
        c.ReopenQuery(
            occurred_at=j.now, query_id="S-0001-Q1", question="Source?", reason="vague answer"
        ),
    )
    assert j.state.queries[0].status == "open"
    assert j.events[-1].reason == "vague answer"


def test_monitors_raise_queries_but_cannot_answer_them_and_staff_cannot_close_them() -> None:
    j = _in_follow_up()
    j.send(MONITOR, c.OpenQuery(occurred_at=j.now, target_seq=1, question="?"))
    with pytest.raises(RoleNotAllowed):
        j.send(MONITOR, c.AnswerQuery(occurred_at=j.now, query_id="S-0001-Q1", answer="x"))
    with pytest.raises(RoleNotAllowed):
        j.send(COORDINATOR, c.CloseQuery(occurred_at=j.now, query_id="S-0001-Q1"))


def test_sdv_is_reset_visibly_by_a_later_correction_of_verified_data() -> None:
    j = _in_follow_up()
    j.send(MONITOR, c.VerifySource(occurred_at=j.now, form="visit:M1"))
    assert j.state.sdv[0].verified
    target = _seq_of(j, "visit.completed")
    j.send(
        COORDINATOR,
        c.RecordCorrection(
            occurred_at=j.now, target_seq=target, field="response", new_value="CR", reason="x"
        ),
    )
    correction, reset = j.events[-2:]
    assert (correction.type, reset.type) == ("correction.recorded", "sdv.reset")
    assert reset.payload.form == "visit:M1"  # type: ignore[union-attr]
    assert reset.payload.cause_seq == correction.seq  # type: ignore[union-attr]
    mark = j.state.sdv[0]
    assert not mark.verified and mark.reset_seq == reset.seq
    j.send(MONITOR, c.VerifySource(occurred_at=j.now, form="visit:M1"))
    assert j.state.sdv[0].verified


def test_sdv_of_a_form_without_data_is_refused() -> None:
    j = _in_follow_up()
    with pytest.raises(MissingPrerequisite, match="holds no data"):
        j.send(MONITOR, c.VerifySource(occurred_at=j.now, form="visit:M6"))


def test_a_signed_eligibility_binds_the_screening_and_the_decision_hashes() -> None:
    j = Journey(PROTOCOL)
    j.to_phase("screening")
    sealed = j.send(
        PI, c.SignEligibility(occurred_at=j.now, decision="eligible", signature=_attest())
    )
    decision, signature = sealed
    assert signature.type == "signature.applied"
    refs = signature.payload.signed  # type: ignore[union-attr]
    screening = next(e for e in j.events if e.type == "screening.recorded")
    assert [(r.seq, r.hash) for r in refs] == [
        (screening.seq, screening.hash),
        (decision.seq, None),
    ]
    assert signature.prev_hash == decision.hash
    record = j.state.signatures[0]
    assert (record.printed_name, record.meaning) == ("Petra (Principal Investigator)", "approval")
    assert check_signatures("S-0001", [e.model_dump(mode="json") for e in j.events]) == []


def test_a_changed_signed_event_invalidates_the_signature() -> None:
    j = Journey(PROTOCOL)
    j.to_phase("screening")
    j.send(PI, c.SignEligibility(occurred_at=j.now, decision="eligible", signature=_attest()))
    rows = [e.model_dump(mode="json") for e in j.events]
    screening = next(r for r in rows if r["type"] == "screening.recorded")
    screening["payload"]["eligible"] = False
    problems = check_signatures("S-0001", rows)
    assert [(p.signed_seq, p.problem) for p in problems] == [
        (screening["seq"], "signed event changed after signing (hash differs)")
    ]
    decision = next(r for r in rows if r["type"] == "eligibility.signed")
    decision["payload"]["decision"] = "not_eligible"
    assert {p.signed_seq for p in check_signatures("S-0001", rows)} == {
        screening["seq"],
        decision["seq"],
    }


def test_a_signature_for_someone_else_is_refused() -> None:
    j = Journey(PROTOCOL)
    j.to_phase("screening")
    with pytest.raises(RoleNotAllowed, match="signer themself"):
        j.send(
            PI, c.SignEligibility(occurred_at=j.now, decision="eligible", signature=_attest("x"))
        )


def test_casebook_sign_off_needs_a_signature_and_closed_queries_then_locks() -> None:
    j = _in_follow_up()
    with pytest.raises(MissingPrerequisite, match="electronic signature"):
        j.send(PI, c.SignCasebook(occurred_at=j.now))
    j.send(MONITOR, c.OpenQuery(occurred_at=j.now, target_seq=1, question="?"))
    with pytest.raises(MissingPrerequisite, match="close the queries"):
        j.send(PI, c.SignCasebook(occurred_at=j.now, signature=_attest()))
    j.send(MONITOR, c.CloseQuery(occurred_at=j.now, query_id="S-0001-Q1"))
    signature, locked = j.send(PI, c.SignCasebook(occurred_at=j.now, signature=_attest()))
    assert (signature.type, locked.type) == ("signature.applied", "casebook.locked")
    data_seqs = {x.seq for x in j.state.ledger if x.form is not None}
    assert {r.seq for r in signature.payload.signed} == data_seqs  # type: ignore[union-attr]
    assert j.state.locks == ("casebook",)


def test_a_locked_casebook_refuses_commands_until_the_pi_unlocks_it_with_a_reason() -> None:
    j = _in_follow_up()
    j.send(PI, c.SignCasebook(occurred_at=j.now, signature=_attest()))
    correction = c.RecordCorrection(
        occurred_at=j.now, target_seq=1, field="sex", new_value="male", reason="typo"
    )
    with pytest.raises(WrongPhase, match="signed and locked"):
        j.send(COORDINATOR, correction)
    with pytest.raises(WrongPhase, match="signed and locked"):
        j.send(MONITOR, c.OpenQuery(occurred_at=j.now, target_seq=1, question="?"))
    j.send(PI, c.UnlockCasebook(occurred_at=j.now, reason="late lab value"))
    assert j.events[-1].type == "casebook.unlocked" and j.events[-1].reason == "late lab value"
    j.send(COORDINATOR, correction)
    assert j.state.sex == "male"


def test_a_locked_visit_refuses_changes_to_that_visit_only() -> None:
    j = _in_follow_up()
    j.send(PI, c.SignCasebook(occurred_at=j.now, scope="visit:M1", signature=_attest()))
    target = _seq_of(j, "visit.completed")
    with pytest.raises(WrongPhase, match="visit:M1 of S-0001 is signed and locked"):
        j.send(
            COORDINATOR,
            c.RecordCorrection(
                occurred_at=j.now, target_seq=target, field="response", new_value="CR", reason="x"
            ),
        )
    j.send(
        COORDINATOR,
        c.RecordCorrection(
            occurred_at=j.now, target_seq=1, field="sex", new_value="male", reason="x"
        ),
    )
    assert j.state.locks == ("visit:M1",)
