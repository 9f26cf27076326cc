"""Small value types shared by commands, events and state."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Disease",
    "EndOutcome",
    "Phase",
    "Response",
    "Route",
    "ScheduledVisit",
    "Sex",
    "VisitStatus",
]

Disease = Literal["SLE", "SS", "SSc", "DM", "ANCA-AAV"]
Sex = Literal["female", "male"]
Route = Literal["intravenous", "splenic_artery", "lymph_node"]
# Cheson 2007 response categories; NE when the assessment could not be made.
Response = Literal["CR", "PR", "SD", "PD", "NE"]
EndOutcome = Literal["completed", "withdrawn", "lost_to_follow_up", "died"]


class Phase(StrEnum):
    NEW = "new"
    REGISTERED = "registered"
    CONSENTED = "consented"
    SCREENING = "screening"
    ELIGIBLE = "eligible"
    SCREEN_FAILED = "screen_failed"
    ENROLLED = "enrolled"
    APHERESIS = "apheresis"
    AWAITING_PRODUCT = "awaiting_product"
    LYMPHODEPLETION = "lymphodepletion"
    INFUSED = "infused"
    FOLLOW_UP = "follow_up"
    # Long-term follow-up after the main study, under its own consent.
    LTFU = "long_term_follow_up"
    COMPLETED = "completed"
    WITHDRAWN = "withdrawn"
    LOST_TO_FOLLOW_UP = "lost_to_follow_up"
    DIED = "died"

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL

    @property
    def is_active(self) -> bool:
        return self is not Phase.NEW and self not in _TERMINAL


_TERMINAL = frozenset(
    {Phase.SCREEN_FAILED, Phase.COMPLETED, Phase.WITHDRAWN, Phase.LOST_TO_FOLLOW_UP, Phase.DIED}
)


class VisitStatus(StrEnum):
    PLANNED = "planned"
    COMPLETED = "completed"
    MISSED = "missed"
    # Main-study visits left open at an early termination followed by LTFU.
    CANCELLED = "cancelled"


class ScheduledVisit(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str
    label: str
    target: date
    window_start: date
    window_end: date
    status: VisitStatus = VisitStatus.PLANNED
    completed_on: date | None = None
    response: Response | None = None
    shifted_from: date | None = Field(
        default=None, description="The unshifted target when the site calendar moved it"
    )
