"""What every value typed in by staff must be before a model accepts it.

A value that cannot be stored or shown safely must be refused where it enters, naming its field:
a NaN in a dose or a bidi override in a site id would otherwise pass the domain's range checks
(NaN compares false with every bound) and poison the record for every later reader.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

__all__ = ["INPUT_CONFIG", "InputModel", "unsafe_value"]

# Line breaks and tabs are ordinary in free text (a reason, a note); every other control is not.
_ALLOWED_CONTROLS = frozenset("\n\r\t")
# Embeddings, overrides and isolates reorder what a reader sees (CVE-2021-42574 "Trojan Source").
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u061c")

INPUT_CONFIG = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


def _text_problem(text: str) -> str | None:
    for char in text:
        if char in _BIDI_CONTROLS:
            return f"contains the bidirectional control U+{ord(char):04X}"
        if char not in _ALLOWED_CONTROLS and unicodedata.category(char) in ("Cc", "Cs"):
            return f"contains the control character U+{ord(char):04X}"
    return None


def unsafe_value(value: Any) -> str | None:
    """Why ``value`` (any JSON-like tree) cannot be stored as typed, or None when it can."""
    if isinstance(value, str):
        return _text_problem(value)
    if isinstance(value, float):
        return None if math.isfinite(value) else "must be a finite number"
    if isinstance(value, Mapping):
        for key, item in value.items():
            problem = unsafe_value(key) or unsafe_value(item)
            if problem:
                return problem
        return None
    if isinstance(value, list | tuple | set | frozenset):
        return next((p for p in map(unsafe_value, value) if p), None)
    return None


class InputModel(BaseModel):
    """Base of every model that holds values typed in by a person (commands and their parts)."""

    model_config = INPUT_CONFIG

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        # Nested input models check their own fields; only plain values are looked into here.
        if isinstance(value, BaseModel):
            return value
        problem = unsafe_value(value)
        if problem:
            raise ValueError(problem)
        return value
