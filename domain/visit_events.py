"""Events of the visit schedule, deviations, corrections and the end of participation; part of the
subject's stream (``domain/events.py`` puts them in the ``EventPayload`` union)."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import Field

from domain.payload import Payload
from domain.response import DerivedResponse, DiseaseActivity
from domain.values import EndOutcome, Response

__all__ = [
    "CorrectionRecorded",
    "DeviationOpened",
    "ParticipationEnded",
    "VisitCompleted",
    "VisitMissed",
    "VisitRescheduled",
    "VisitWindowOpened",
]


class VisitRescheduled(Payload):
    type: Literal["visit.rescheduled"] = "visit.rescheduled"
    code: str
    target: date


class VisitWindowOpened(Payload):
    type: Literal["visit.window_opened"] = "visit.window_opened"
    code: str
    window_start: date
    window_end: date


def _absent(value: object) -> bool:
    return value is None or value == ()


class VisitCompleted(Payload):
    """Schema 1: the Cheson response at every visit, Day 0 included. Schema 2 (protocols with
    a ``[response]`` section): no response at the baseline visit; after it the disease activity,
    the glucocorticoid dose and the disease-specific responses derived from them. The schema-2
    fields are left out of the dump when absent, so schema-1 events hash as they were written."""

    type: Literal["visit.completed"] = "visit.completed"
    code: str
    completed_on: date
    response: Response | None
    activity: DiseaseActivity | None = Field(default=None, exclude_if=_absent)
    glucocorticoid_mg_per_day: float | None = Field(default=None, exclude_if=_absent)
    responses: tuple[DerivedResponse, ...] = Field(default=(), exclude_if=_absent)


class VisitMissed(Payload):
    type: Literal["visit.missed"] = "visit.missed"
    code: str
    window_end: date


class DeviationOpened(Payload):
    type: Literal["deviation.opened"] = "deviation.opened"
    deviation_id: str
    kind: str
    detail: str


class CorrectionRecorded(Payload):
    type: Literal["correction.recorded"] = "correction.recorded"
    target_seq: int
    field: str
    old_value: Any
    new_value: Any
    # The eligibility verdict after a correction that changed it (a screening value); left out
    # of the record when None so corrections written before it hash as they did.
    eligible: bool | None = Field(default=None, exclude_if=lambda v: v is None)
    # The disease-specific responses derived again after a visit's activity or glucocorticoid
    # dose was corrected; left out when None, like ``eligible``.
    responses: tuple[DerivedResponse, ...] | None = Field(
        default=None, exclude_if=lambda v: v is None
    )


class ParticipationEnded(Payload):
    type: Literal["participation.ended"] = "participation.ended"
    outcome: EndOutcome
    ended_on: date
