"""Events of registration, consent, screening, eligibility and enrolment; part of the subject's
stream (``domain/events.py`` puts them in the ``EventPayload`` union)."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from domain.payload import Payload
from domain.values import Disease, Route, Sex

__all__ = [
    "ConsentSigned",
    "ConsentWithdrawn",
    "CriterionSummary",
    "EligibilitySigned",
    "ScreenFailed",
    "ScreeningRecorded",
    "SubjectEnrolled",
    "SubjectRegistered",
]


class SubjectRegistered(Payload):
    type: Literal["subject.registered"] = "subject.registered"
    subject_id: str
    disease: Disease
    sex: Sex
    birth_date: date
    site_id: str


class ConsentSigned(Payload):
    type: Literal["consent.signed"] = "consent.signed"
    consent_version: str
    signed_on: date
    childbearing_potential: bool


class ConsentWithdrawn(Payload):
    type: Literal["consent.withdrawn"] = "consent.withdrawn"
    withdrawn_on: date


class CriterionSummary(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    criterion: str
    verdict: Literal["met", "not_met", "missing"]
    reason: str


class ScreeningRecorded(Payload):
    type: Literal["screening.recorded"] = "screening.recorded"
    record: dict[str, Any]
    eligible: bool
    criteria: tuple[CriterionSummary, ...]


class EligibilitySigned(Payload):
    type: Literal["eligibility.signed"] = "eligibility.signed"
    decision: Literal["eligible", "not_eligible"]
    screening_seq: int


class ScreenFailed(Payload):
    type: Literal["screening.failed"] = "screening.failed"
    cause: Literal["not_eligible", "window_expired"]
    detail: str


class SubjectEnrolled(Payload):
    type: Literal["subject.enrolled"] = "subject.enrolled"
    dose_level: str
    route: Route
