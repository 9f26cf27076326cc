"""Field-by-field differences between two subject states (stored replay vs live workflow)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from domain.state import SubjectState

__all__ = ["FieldDifference", "diff_states"]


class FieldDifference(BaseModel):
    model_config = ConfigDict(frozen=True)

    field: str
    stored: Any
    live: Any


def diff_states(stored: SubjectState, live: SubjectState) -> list[FieldDifference]:
    """Compare the JSON forms, so a difference reads the same as the values an auditor sees."""
    left = stored.model_dump(mode="json")
    right = live.model_dump(mode="json")
    return [
        FieldDifference(field=name, stored=left.get(name), live=right.get(name))
        for name in sorted(left.keys() | right.keys())
        if left.get(name) != right.get(name)
    ]
