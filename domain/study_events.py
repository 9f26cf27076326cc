"""Events of the study stream ("study-<trial id>"): cohorts and dose escalation
(``domain/events.py`` puts them in the ``EventPayload`` union)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from domain.payload import Payload

__all__ = [
    "CohortDltOutcome",
    "CohortExpanded",
    "CohortSlotGranted",
    "CohortSubjectInfused",
    "DoseEscalated",
    "DoseLevelStopped",
    "EscalationEligible",
    "SafetyReviewSigned",
]


class CohortSlotGranted(Payload):
    type: Literal["study.slot_granted"] = "study.slot_granted"
    subject_id: str
    dose_level: str
    granted_on: date
    sentinel: bool


class CohortSubjectInfused(Payload):
    type: Literal["study.subject_infused"] = "study.subject_infused"
    subject_id: str
    dose_level: str
    infused_on: date


class CohortDltOutcome(Payload):
    type: Literal["study.dlt_outcome"] = "study.dlt_outcome"
    subject_id: str
    dose_level: str
    outcome: Literal["dlt", "no_dlt", "not_evaluable"]


class CohortExpanded(Payload):
    type: Literal["study.cohort_expanded"] = "study.cohort_expanded"
    dose_level: str
    size: int
    dlts: int
    evaluable: int


class EscalationEligible(Payload):
    type: Literal["study.escalation_eligible"] = "study.escalation_eligible"
    dose_level: str
    dlts: int
    evaluable: int


class DoseLevelStopped(Payload):
    type: Literal["study.level_stopped"] = "study.level_stopped"
    dose_level: str
    dlts: int
    evaluable: int
    # The level below, which then needs six evaluable subjects; None when there is none.
    de_escalated_to: str | None


class SafetyReviewSigned(Payload):
    type: Literal["study.safety_review_signed"] = "study.safety_review_signed"
    dose_level: str
    decision: Literal["escalate", "stay"]
    summary: str


class DoseEscalated(Payload):
    type: Literal["study.escalated"] = "study.escalated"
    from_level: str
    to_level: str
