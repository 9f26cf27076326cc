"""The folded state of a subject's long-term follow-up (a field of ``SubjectState``)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict

from domain.ltfu_commands import DelayedAeCategory

__all__ = ["DelayedAe", "LtfuStatus"]


class DelayedAe(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    seq: int
    category: DelayedAeCategory
    term: str
    onset_on: date
    serious: bool


class LtfuStatus(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    decision: Literal["signed", "refused"]
    decided_on: date
    consent_version: str
    early_termination: bool = False
    failed_contacts: int = 0
    delayed_aes: tuple[DelayedAe, ...] = ()
