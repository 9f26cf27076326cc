"""Events of long-term follow-up; ``domain/events.py`` puts them in the ``EventPayload`` union."""

from __future__ import annotations

from datetime import date
from typing import Literal

from domain.ltfu_commands import AttemptMethod, ContactMode, DelayedAeCategory
from domain.payload import Payload
from domain.values import ScheduledVisit

__all__ = [
    "DelayedAdverseEventRecorded",
    "LtfuConsentRecorded",
    "LtfuContactAttempted",
    "LtfuVisitCompleted",
]


class LtfuConsentRecorded(Payload):
    type: Literal["ltfu.consent_recorded"] = "ltfu.consent_recorded"
    decision: Literal["signed", "refused"]
    decided_on: date
    consent_version: str
    early_termination: bool = False
    # Main-study visits still open at an early termination: they will not be done.
    cancelled: tuple[str, ...] = ()
    # The LTFU timepoints, scheduled when the consent was signed under the version then in force.
    schedule: tuple[ScheduledVisit, ...] = ()


class LtfuVisitCompleted(Payload):
    type: Literal["ltfu.visit_completed"] = "ltfu.visit_completed"
    code: str
    completed_on: date
    mode: ContactMode
    samples: tuple[str, ...] = ()


class LtfuContactAttempted(Payload):
    type: Literal["ltfu.contact_attempted"] = "ltfu.contact_attempted"
    attempted_on: date
    method: AttemptMethod
    reached: bool
    # Failed attempts in a row, this one included; 0 when the subject was reached.
    failed_in_a_row: int


class DelayedAdverseEventRecorded(Payload):
    type: Literal["ltfu.delayed_ae_recorded"] = "ltfu.delayed_ae_recorded"
    category: DelayedAeCategory
    term: str
    onset_on: date
    serious: bool
