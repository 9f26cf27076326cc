"""Commands of re-consent after an amendment; ``domain/commands.py`` puts them in its union."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import AwareDatetime, Field

from domain.inputs import InputModel

__all__ = ["MarkReconsentOverdue", "RecordReconsent"]


class _AmendmentCommand(InputModel):
    # Non-finite numbers, control and bidi characters are refused on every field (InputModel).

    occurred_at: AwareDatetime
    reason: str | None = Field(default=None, max_length=2000)


class RecordReconsent(_AmendmentCommand):
    type: Literal["record_reconsent"] = "record_reconsent"
    decision: Literal["signed", "declined"]
    consent_version: str = Field(min_length=1, max_length=32)
    decided_on: date


class MarkReconsentOverdue(_AmendmentCommand):
    """Raised by the re-consent timer when its due day has passed without a decision."""

    type: Literal["mark_reconsent_overdue"] = "mark_reconsent_overdue"
