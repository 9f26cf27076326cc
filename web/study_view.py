"""The study page: dose-level cohorts folded from the study stream in the event store.

Read from the store with domain.study's fold rather than queried from the StudyWorkflow, so the
page works while Temporal is down and shows exactly what was recorded.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from domain import events as e
from domain import monitoring_events as me
from domain.protocol import Protocol
from domain.study import Cohort, CohortMember, LevelStatus, StudyState, fold_study, study_id_for
from store.base import EventStore

__all__ = ["CohortView", "StudyView", "load_study", "study_view"]


class CohortView(BaseModel):
    model_config = ConfigDict(frozen=True)

    dose_level: str
    status: LevelStatus
    size: int
    members: tuple[CohortMember, ...]
    dlts: int
    evaluable: int
    # The 3+3 step in words: where the level stands and why.
    decision: str
    # Eligible for escalation and the PI has not signed a safety review since.
    review_pending: bool
    # Every recorded 3+3 step and review for the level, oldest first.
    history: tuple[str, ...]


class StudyView(BaseModel):
    model_config = ConfigDict(frozen=True)

    study_id: str
    running: bool
    cohorts: tuple[CohortView, ...]
    # Dose levels waiting for the PI's signed safety review.
    reviews_pending: tuple[str, ...] = ()
    last_recorded_at: datetime | None = None


def _history(events: Sequence[e.Event]) -> dict[str, list[tuple[str, str]]]:
    """dose level -> [(event type, words)] for the events that decide a level's course."""
    notes: dict[str, list[tuple[str, str]]] = {}

    def note(level: str, kind: str, text: str) -> None:
        notes.setdefault(level, []).append((kind, text))

    reviewed: str | None = None
    for event in events:
        p = event.payload
        match p:
            case e.CohortExpanded():
                note(
                    p.dose_level,
                    p.type,
                    f"expanded to {p.size}: {p.dlts} DLT in {p.evaluable} evaluable",
                )
            case e.EscalationEligible():
                note(
                    p.dose_level,
                    p.type,
                    f"eligible for escalation: {p.dlts} DLT in {p.evaluable} evaluable",
                )
            case e.DoseLevelStopped():
                below = (
                    f"de-escalated to {p.de_escalated_to}"
                    if p.de_escalated_to
                    else ("no lower dose level")
                )
                note(
                    p.dose_level,
                    p.type,
                    f"stopped: {p.dlts} DLTs in {p.evaluable} evaluable; {below}",
                )
                if p.de_escalated_to:
                    note(p.de_escalated_to, p.type, f"expanded to 6 after {p.dose_level} stopped")
            case e.SafetyReviewSigned():
                reviewed = p.dose_level
                note(
                    p.dose_level,
                    p.type,
                    f"safety review signed by {event.actor.user_id}: {p.decision} — {p.summary}",
                )
            case me.SignatureApplied() if reviewed is not None:
                # 21 CFR 11.50: the printed name, the date and time and the meaning.
                note(
                    reviewed,
                    p.type,
                    f"electronic signature: {p.printed_name}, "
                    f"{event.recorded_at:%Y-%m-%d %H:%M:%S} UTC, meaning: {p.meaning}",
                )
                reviewed = None
            case e.DoseEscalated():
                note(p.from_level, p.type, f"escalated to {p.to_level}")
                note(p.to_level, p.type, f"opened by escalation from {p.from_level}")
    return notes


def _decision(cohort: Cohort, pending: bool) -> str:
    active = len(cohort.active)
    counts = f"{cohort.dlts} DLT in {cohort.evaluable} evaluable"
    match cohort.status:
        case "closed":
            return "not open: escalation has not reached this level"
        case "open" | "expanded":
            return f"enrolling {active} of {cohort.size}; {counts}"
        case "escalation_eligible":
            if pending:
                return f"{counts}: eligible for escalation — safety review pending (PI)"
            return f"{counts}: the PI decided to stay at this level"
        case "escalated":
            return f"{counts}: escalated after a signed safety review"
        case "stopped":
            return f"{counts}: stopped (≥ 2 DLTs)"
    return cohort.status  # pragma: no cover


def study_view(study_id: str, events: Sequence[e.Event], protocol: Protocol) -> StudyView:
    if not events:
        return StudyView(study_id=study_id, running=False, cohorts=())
    state = fold_study(events, StudyState.initial(protocol))
    history = _history(events)
    cohorts = []
    for cohort in state.cohorts:
        notes = history.get(cohort.dose_level, [])
        kinds = [kind for kind, _ in notes]
        # A review is pending from eligibility until the next signed review.
        last_eligible = max(
            (i for i, k in enumerate(kinds) if k == "study.escalation_eligible"), default=-1
        )
        signed_since = "study.safety_review_signed" in kinds[last_eligible + 1 :]
        pending = cohort.status == "escalation_eligible" and not signed_since
        cohorts.append(
            CohortView(
                dose_level=cohort.dose_level,
                status=cohort.status,
                size=cohort.size,
                members=cohort.members,
                dlts=cohort.dlts,
                evaluable=cohort.evaluable,
                decision=_decision(cohort, pending),
                review_pending=pending,
                history=tuple(text for _, text in notes),
            )
        )
    return StudyView(
        study_id=study_id,
        running=True,
        cohorts=tuple(cohorts),
        reviews_pending=tuple(c.dose_level for c in cohorts if c.review_pending),
        last_recorded_at=events[-1].recorded_at,
    )


def load_study(store: EventStore, protocol: Protocol) -> StudyView:
    study_id = study_id_for(protocol)
    return study_view(study_id, store.read_stream(study_id), protocol)
