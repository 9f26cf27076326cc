"""Commands of long-term follow-up (LTFU): its consent, annual visits and contacts, delayed AEs.

Kept beside ``domain/commands.py`` (which puts them in the ``Command`` union) so the LTFU
vocabulary reads in one place.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, field_validator

from domain.inputs import InputModel

__all__ = [
    "CompleteLtfuVisit",
    "RecordContactAttempt",
    "RecordDelayedAdverseEvent",
    "RecordLtfuConsent",
]

Text = Annotated[str, Field(min_length=1, max_length=2000)]
ContactMode = Literal["visit", "phone", "questionnaire"]
AttemptMethod = Literal["phone", "letter", "email", "home_visit", "next_of_kin", "registry"]
# FDA 2020 LTFU guidance: delayed adverse events to watch for after an integrating vector.
DelayedAeCategory = Literal["new_malignancy", "neurologic", "autoimmune", "haematologic"]


class _LtfuCommand(InputModel):
    # Non-finite numbers, control and bidi characters are refused on every field (InputModel).

    occurred_at: AwareDatetime
    reason: str | None = Field(default=None, max_length=2000)


class RecordLtfuConsent(_LtfuCommand):
    """The subject's decision on long-term follow-up, after Month 12 or an early termination."""

    type: Literal["record_ltfu_consent"] = "record_ltfu_consent"
    decision: Literal["signed", "refused"]
    decided_on: date
    consent_version: str = Field(min_length=1, max_length=32)
    # The main study ends before its last visit; its open visits are cancelled.
    early_termination: bool = False


class CompleteLtfuVisit(_LtfuCommand):
    type: Literal["complete_ltfu_visit"] = "complete_ltfu_visit"
    code: str = Field(min_length=1, max_length=16)
    completed_on: date
    mode: ContactMode
    samples: tuple[str, ...] = ()

    @field_validator("samples", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        # Forms send "VCN, RCL" as one text field.
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value


class RecordContactAttempt(_LtfuCommand):
    """A documented attempt to reach a subject in LTFU; enough failed ones in a row lose them."""

    type: Literal["record_contact_attempt"] = "record_contact_attempt"
    attempted_on: date
    method: AttemptMethod
    reached: bool = False


class RecordDelayedAdverseEvent(_LtfuCommand):
    type: Literal["record_delayed_adverse_event"] = "record_delayed_adverse_event"
    category: DelayedAeCategory
    term: Text
    onset_on: date
    serious: bool = False
