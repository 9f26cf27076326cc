"""Date bounds every command shares: no clinical fact before the study, no birth before 1900.

The bounds are protocol data (``[plausibility]``); a date outside them is a typing error (year 1,
2999 for 1999), refused naming the field before anything is decided or recorded.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel

from domain.errors import ValueOutOfRange
from domain.protocol import Protocol

__all__ = ["check_plausible_dates"]

# Dates of the subject's life before the study, bounded by the birth-date bound only.
_LIFE_DATES = frozenset({"birth_date"})


def _day(value: object) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return None


def check_plausible_dates(command: BaseModel, protocol: Protocol) -> None:
    """Refuse a clinical date before the study's start or a birth date before the bound.

    Top-level dates of a command are clinical facts of the study; so is a screening record's
    ``screening_date``. A record's look-back dates (a diagnosis, a vaccine) may predate the study
    and are checked against the screening date by the record itself.
    """
    bounds = protocol.plausibility
    for name, value in command:
        if isinstance(value, BaseModel) and "screening_date" in type(value).model_fields:
            screening = _day(getattr(value, "screening_date", None))
            _at_least(screening, bounds.earliest_clinical_date, f"{name}.screening_date")
            birth = getattr(value, "birth_date", None)
            _at_least(_day(birth), bounds.earliest_birth_date, f"{name}.birth_date")
            continue
        lower = bounds.earliest_birth_date if name in _LIFE_DATES else bounds.earliest_clinical_date
        _at_least(_day(value), lower, name)


def _at_least(day: date | None, lower: date, field: str) -> None:
    if day is not None and day < lower:
        raise ValueOutOfRange(
            f"{field} {day.isoformat()} is before {lower.isoformat()}, the earliest plausible "
            "date for it; check the year",
            field=field,
        )
