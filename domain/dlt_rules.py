"""The protocol's duration-dependent DLT rules, as data: exceptions to the related grade ≥ 3
non-haematologic rule (a short, manageable toxicity is not dose-limiting) and prolonged
grade 4 cytopenias."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["DltException", "ProlongedCytopenia"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DltException(_Frozen):
    """A CTCAE term whose grade ≥ threshold episode is a DLT only if it lasts longer than
    ``max_days`` (inclusive: an episode of exactly ``max_days`` days is not a DLT)."""

    term: str = Field(min_length=1)
    max_days: int = Field(ge=0)
    source: str = Field(min_length=1)
    site_default: bool = False


class ProlongedCytopenia(_Frozen):
    """Grade ≥ ``grade_min`` of these haematologic terms still present after ``beyond_day``
    days from the infusion is a DLT, related or not (lymphodepletion and CAR-T both cause it)."""

    terms: tuple[str, ...]
    grade_min: int = Field(default=4, ge=1, le=5)
    beyond_day: int = Field(ge=1)
    source: str = Field(min_length=1)
    site_default: bool = False
