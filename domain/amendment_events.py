"""Events of protocol amendments and re-consent; ``domain/events.py`` puts them in its union."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict

from domain.payload import Payload
from domain.values import ScheduledVisit

__all__ = [
    "ProtocolAmended",
    "ProtocolAmendmentRegistered",
    "ReconsentOverdue",
    "ReconsentRecorded",
    "VisitChange",
]


class ProtocolAmendmentRegistered(Payload):
    """On the trial's protocol stream: the PI signed a new protocol version into force."""

    type: Literal["protocol.amendment_registered"] = "protocol.amendment_registered"
    version: str
    previous_version: str
    number: int
    summary: str
    effective_on: date
    # SHA-256 of the protocol file as signed, and the file itself: a subject's history can be
    # judged again under exactly this text whatever happens to the file later.
    sha256: str
    toml: str
    # 21 CFR Part 11 §11.50: the meaning of the signature.
    signature_meaning: Literal["approved"] = "approved"


class VisitChange(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str
    label: str
    change: Literal["added", "moved", "window_changed", "removed"]
    old_target: date | None = None
    new_target: date | None = None
    old_window: tuple[date, date] | None = None
    new_window: tuple[date, date] | None = None


class ProtocolAmended(Payload):
    """A running subject moved onto a new protocol version at a safe point."""

    type: Literal["protocol.amended"] = "protocol.amended"
    from_version: str
    to_version: str
    number: int
    effective_on: date
    summary: str
    # The whole schedule after the amendment: visits done stay as they were.
    visits: tuple[ScheduledVisit, ...]
    changes: tuple[VisitChange, ...] = ()
    # Set when the amendment brings a consent form this subject must sign again.
    reconsent_version: str | None = None
    reconsent_due_on: date | None = None


class ReconsentRecorded(Payload):
    type: Literal["consent.reconsent_recorded"] = "consent.reconsent_recorded"
    decision: Literal["signed", "declined"]
    consent_version: str
    decided_on: date


class ReconsentOverdue(Payload):
    type: Literal["consent.reconsent_overdue"] = "consent.reconsent_overdue"
    consent_version: str
    due_on: date
