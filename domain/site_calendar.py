"""The site's clock and calendar: days begin at midnight in the site's zone, not in UTC.

A clinical date ("the visit window closes on 3 October") is a day at the site. In Taiyuan a
day starts at 16:00 UTC of the day before, so every deadline is the site's local midnight
turned into an instant, and "today" in a decision is the site's date of ``now``.

Public holidays come from the ``holidays`` package, expanded into the protocol's calendar when
the protocol file is loaded (never inside a workflow): the expanded dates travel in the
workflow input, so a newer ``holidays`` release cannot change the timers of a running subject.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, tzinfo
from functools import cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from domain.protocol import Protocol

__all__ = ["local_midnight", "public_calendar", "site_time", "utc_protocol", "zone"]


@cache
def zone(name: str) -> tzinfo:
    """The tz database zone; UTC by name so old protocols (no zone) keep their exact instants."""
    return UTC if name == "UTC" else ZoneInfo(name)


def local_midnight(day: date, zone_name: str = "UTC") -> datetime:
    """The UTC instant at which ``day`` begins at the site."""
    return datetime.combine(day, time.min, tzinfo=zone(zone_name)).astimezone(UTC)


def site_time(now: datetime, zone_name: str = "UTC") -> datetime:
    """``now`` seen from the site, so that ``.date()`` is the site's calendar day."""
    return now.astimezone(zone(zone_name))


def public_calendar(
    country: str, first_year: int, last_year: int
) -> tuple[tuple[date, ...], tuple[date, ...]]:
    """(public holidays, official make-up working days on weekends) for the years, inclusive.

    China moves working days around its lunar-calendar holidays (调休): a Saturday or Sunday
    can be an official working day. The ``holidays`` package lists both; only the years it
    knows the State Council's announcement for carry make-up days, later years carry the
    statutory holidays alone.
    """
    import holidays  # the only non-stdlib import here; used by the protocol loader alone

    years = range(first_year, last_year + 1)
    table = holidays.country_holidays(country, years=years)
    days = tuple(sorted(d for d in table if first_year <= d.year <= last_year))
    workdays = tuple(sorted(d for d in table.weekend_workdays if first_year <= d.year <= last_year))
    return days, workdays


def utc_protocol(protocol: Protocol) -> Protocol:
    """The protocol with its site clock at UTC, for workflows started before site zones."""
    if protocol.calendar.timezone == "UTC":
        return protocol
    calendar = protocol.calendar.model_copy(update={"timezone": "UTC"})
    return protocol.model_copy(update={"calendar": calendar})
