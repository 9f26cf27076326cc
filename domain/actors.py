"""Who acts: users carry a role, and the role decides what they may write."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["SYSTEM_ACTOR", "Actor", "Role"]


class Role(StrEnum):
    COORDINATOR = "coordinator"
    INVESTIGATOR = "investigator"
    PI = "pi"
    MONITOR = "monitor"
    # Timers and the study workflow act as the system; no human can hold this role.
    SYSTEM = "system"


class Actor(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    user_id: str = Field(min_length=1, max_length=64)
    role: Role


SYSTEM_ACTOR = Actor(user_id="system", role=Role.SYSTEM)
