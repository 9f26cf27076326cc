"""apply / fold for one subject: folding sealed events into the subject's state (pure; the
workflow and audit replay share it). ``domain/subject.py`` is its public face, with ``decide``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from domain import events as e
from domain.amendments import evolve_amendment
from domain.corrections import apply_correction, track_correctable, with_visit
from domain.custody_apply import evolve_custody
from domain.errors import DomainError
from domain.ltfu import evolve_ltfu
from domain.lymphodepletion import evolve_ld
from domain.monitoring import evolve_monitoring, ledger_entry
from domain.response import baseline_activity, with_assessment
from domain.safety_rules import evolve_safety
from domain.state import Deviation, SubjectState
from domain.values import Phase, VisitStatus

__all__ = ["ChainMismatch", "apply", "fold"]


class ChainMismatch(DomainError):
    """An event does not continue the state it is folded into (wrong seq or prev_hash)."""

    code = "chain_mismatch"


def apply(state: SubjectState, event: e.Event) -> SubjectState:
    """Fold one sealed event into the state. Pure; the workflow and audit replay share it."""
    if event.seq != state.last_seq + 1 or event.prev_hash != state.last_hash:
        raise ChainMismatch(
            f"event {event.stream}#{event.seq} does not follow #{state.last_seq} of the state"
        )
    changes = _evolve(state, event)
    changes.update(track_correctable(state, event, changes))
    changes.update(last_seq=event.seq, last_hash=event.hash, ledger=ledger_entry(state, event))
    return state.model_copy(update=changes)


def fold(events: Iterable[e.Event], state: SubjectState | None = None) -> SubjectState:
    current = state or SubjectState()
    for event in events:
        current = apply(current, event)
    return current


def _mark(state: SubjectState, seq: int, ref: str) -> dict[int, str]:
    return {**state.correctable, seq: ref}


def _evolve(s: SubjectState, event: e.Event) -> dict[str, Any]:
    p = event.payload
    match p:
        case e.SubjectRegistered():
            return {
                "subject_id": p.subject_id,
                "phase": Phase.REGISTERED,
                "protocol_version": event.protocol_version,
                "disease": p.disease,
                "sex": p.sex,
                "birth_date": p.birth_date,
                "site_id": p.site_id,
                "correctable": _mark(s, event.seq, "subject.registered"),
            }
        case e.ConsentSigned():
            return {
                "phase": Phase.CONSENTED,
                "consented_on": p.signed_on,
                "childbearing_potential": p.childbearing_potential,
            }
        case e.ConsentWithdrawn():
            return {}
        case e.ScreeningRecorded():
            return {
                "phase": Phase.SCREENING,
                "screening_seq": event.seq,
                "screening_eligible": p.eligible,
                "response_baseline": baseline_activity(p.record),
            }
        case e.EligibilitySigned():
            return {"phase": Phase.ELIGIBLE} if p.decision == "eligible" else {}
        case e.ScreenFailed():
            return {"phase": Phase.SCREEN_FAILED, "screen_fail_cause": p.cause}
        case e.SubjectEnrolled():
            return {"phase": Phase.ENROLLED, "dose_level": p.dose_level, "route": p.route}
        case e.ApheresisRecorded():
            return {
                "phase": Phase.APHERESIS,
                "apheresis_count": s.apheresis_count + 1,
                "apheresis_volume_ml": p.volume_ml,
                "correctable": _mark(s, event.seq, "apheresis.recorded"),
            }
        case e.ProductReleased():
            return {
                "phase": Phase.AWAITING_PRODUCT,
                "product_lot": p.lot,
                "product_total_tu": p.total_tu,
            }
        case e.ManufacturingFailed():
            # A failed lot sends the subject back to a repeat apheresis.
            return {"phase": Phase.ENROLLED, "manufacturing_failures": s.manufacturing_failures + 1}
        case e.LymphodepletionPlanned():
            return {"ld_plan": e.current_plan(p), "ld_plan_seq": event.seq}
        case e.LymphodepletionApproved():
            return {"phase": Phase.LYMPHODEPLETION, "ld_approved": True}
        case e.LymphodepletionDoseGiven():
            return {
                "ld_doses": (*s.ld_doses, p),
                "correctable": _mark(s, event.seq, f"lymphodepletion.dose_given:{p.drug}:{p.day}"),
            }
        case e.InfusionRecorded():
            return {
                "phase": Phase.INFUSED,
                "infusion_date": p.infused_on,
                "tu_per_kg": p.tu_per_kg,
                "total_tu": p.total_tu,
                "visits": p.schedule,
            }
        case e.VisitRescheduled():
            return {"visits": with_visit(s, p.code, target=p.target)}
        case e.VisitWindowOpened():
            return {"windows_opened": (*s.windows_opened, p.code)}
        case e.VisitCompleted():
            return {
                "phase": Phase.FOLLOW_UP,
                "visits": with_visit(
                    s,
                    p.code,
                    status=VisitStatus.COMPLETED,
                    completed_on=p.completed_on,
                    response=p.response,
                ),
                # Schema-1 events carry no activity: nothing is added for them.
                "assessments": with_assessment(s.assessments, p),
                "correctable": _mark(s, event.seq, f"visit.completed:{p.code}"),
            }
        case e.VisitMissed():
            return {
                # A missed LTFU timepoint leaves the subject in long-term follow-up.
                "phase": Phase.LTFU if s.phase is Phase.LTFU else Phase.FOLLOW_UP,
                "visits": with_visit(s, p.code, status=VisitStatus.MISSED),
            }
        case e.DeviationOpened():
            deviation = Deviation(
                deviation_id=p.deviation_id, kind=p.kind, detail=p.detail, opened_seq=event.seq
            )
            return {"deviations": (*s.deviations, deviation)}
        case e.CorrectionRecorded():
            return apply_correction(s, event, p)
        case e.ParticipationEnded():
            return {"phase": Phase(p.outcome), "outcome": p.outcome, "ended_on": p.ended_on}
    # Each area folds its own events and answers None for the others; the first answer wins.
    for evolve in _EVOLVERS:
        changes = evolve(s, event)
        if changes is not None:
            return changes
    raise AssertionError(f"unhandled event type {event.type}")  # pragma: no cover


_EVOLVERS = (
    evolve_custody,
    evolve_safety,
    evolve_ld,
    evolve_ltfu,
    evolve_amendment,
    evolve_monitoring,
)
