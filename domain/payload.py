"""The base every event payload shares, whatever area it belongs to."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["Payload"]


class Payload(BaseModel):
    """Frozen, with no unknown fields; ``schema_version`` tells an upcaster which shape it reads."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = 1
