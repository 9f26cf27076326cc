"""Checks every decision shares: dates not in the future, deviations numbered per subject."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from domain import events as e
from domain.errors import ValueOutOfRange
from domain.state import SubjectState

__all__ = ["CLOCK_SKEW", "deviation", "not_future"]

# Clocks at the site and on the server disagree a little; beyond this a time is "in the future".
CLOCK_SKEW = timedelta(minutes=5)


def not_future(day: date, now: datetime, field: str) -> None:
    if day > (now + CLOCK_SKEW).date():
        raise ValueOutOfRange(f"{field} {day.isoformat()} is in the future", field=field)


def deviation(s: SubjectState, kind: str, detail: str) -> e.DeviationOpened:
    number = len(s.deviations) + 1
    return e.DeviationOpened(deviation_id=f"{s.subject_id}-DEV-{number}", kind=kind, detail=detail)
