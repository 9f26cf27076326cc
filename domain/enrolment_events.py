"""Events of registration, consent, screening, eligibility and enrolment; part of the subject's
stream (``domain/events.py`` puts them in the ``EventPayload`` union)."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

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


class _Payload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = 1


class SubjectRegistered(_Payload):
    type: Literal["subject.registered"] = "subject.registered"
    subject_id: str
    disease: Disease
    sex: Sex
    birth_date: date
    site_id: str


class ConsentSigned(_Payload):
    type: Literal["consent.signed"] = "consent.signed"
    consent_version: str
    signed_on: date
    childbearing_potential: bool


class ConsentWithdrawn(_Payload):
    type: Literal["consent.withdrawn"] = "consent.withdrawn"
    withdrawn_on: date


class CriterionSummary(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    criterion: str
    verdict: Literal["met", "not_met", "missing"]
    reason: str


class ScreeningRecorded(_Payload):
    type: Literal["screening.recorded"] = "screening.recorded"
    record: dict[str, Any]
    eligible: bool
    criteria: tuple[CriterionSummary, ...]


class EligibilitySigned(_Payload):
    type: Literal["eligibility.signed"] = "eligibility.signed"
    decision: Literal["eligible", "not_eligible"]
    screening_seq: int


class ScreenFailed(_Payload):
    type: Literal["screening.failed"] = "screening.failed"
    cause: Literal["not_eligible", "window_expired"]
    detail: str


class SubjectEnrolled(_Payload):
    type: Literal["subject.enrolled"] = "subject.enrolled"
    dose_level: str
    route: Route
