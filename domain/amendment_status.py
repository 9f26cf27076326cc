"""A subject's pending re-consent after an amendment (a field of ``SubjectState``)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict

__all__ = ["Reconsent"]


class Reconsent(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    consent_version: str
    due_on: date
    overdue: bool = False
