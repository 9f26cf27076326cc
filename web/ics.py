"""iCalendar (RFC 5545) for visit schedules, written by hand: one all-day VEVENT per visit."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from domain.site_calendar import zone
from web.readside import DueVisit

__all__ = ["calendar"]

_PRODID = "-//Shanxi Bethune Hospital//JY231 NCT06243159 orchestrator//EN"


def _escape(text: str) -> str:
    # RFC 5545 §3.3.11: backslash, semicolon, comma and newline are escaped in TEXT values.
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _fold(line: str) -> str:
    """Fold content lines longer than 75 octets (§3.1), never splitting a UTF-8 character."""
    encoded = line.encode()
    if len(encoded) <= 75:
        return line
    parts: list[str] = []
    chunk = ""
    limit = 75
    for char in line:
        if len((chunk + char).encode()) > limit:
            parts.append(chunk)
            chunk = ""
            limit = 74  # continuation lines start with one space
        chunk += char
    parts.append(chunk)
    return "\r\n ".join(parts)


def _day(value: date) -> str:
    return value.strftime("%Y%m%d")


def _offset(delta: timedelta | None) -> str:
    minutes = int((delta or timedelta()).total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"


def _vtimezone(zone_name: str, year: int) -> list[str]:
    """A VTIMEZONE for the site's zone (§3.6.5), its offsets as they stand in ``year``.

    Written from the tz database through zoneinfo; a zone with daylight saving gets both
    observances, each dated at the first instant of the year it is in force.
    """
    tz = zone(zone_name)
    lines = ["BEGIN:VTIMEZONE", f"TZID:{zone_name}"]
    seen: set[timedelta | None] = set()
    for month in (1, 7):
        moment = datetime(year, month, 1, tzinfo=tz)
        offset = moment.utcoffset()
        if offset in seen:
            continue
        seen.add(offset)
        kind = "DAYLIGHT" if moment.dst() else "STANDARD"
        lines += [
            f"BEGIN:{kind}",
            f"DTSTART:{year}{month:02d}01T000000",
            f"TZOFFSETFROM:{_offset(offset)}",
            f"TZOFFSETTO:{_offset(offset)}",
            f"TZNAME:{moment.tzname()}",
            f"END:{kind}",
        ]
    lines.append("END:VTIMEZONE")
    return lines


def calendar(
    visits: Iterable[DueVisit], name: str, now: datetime | None = None, zone_name: str = "UTC"
) -> str:
    """Visits as all-day events of the site's days; the calendar names the site's zone."""
    moment = now or datetime.now(UTC)
    stamp = moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{_PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{_escape(name)}",
        f"X-WR-TIMEZONE:{zone_name}",
        *_vtimezone(zone_name, moment.year),
    ]
    for visit in visits:
        state = "OVERDUE " if visit.overdue else ""
        lines += [
            "BEGIN:VEVENT",
            f"UID:{visit.subject_id}-{visit.code}@jy231.nct06243159",
            f"DTSTAMP:{stamp}",
            f"DTSTART;VALUE=DATE:{_day(visit.target)}",
            f"DTEND;VALUE=DATE:{_day(visit.target + timedelta(days=1))}",
            f"SUMMARY:{_escape(f'{state}{visit.subject_id} {visit.label} ({visit.code})')}",
            "DESCRIPTION:"
            + _escape(
                f"Window {visit.window_start.isoformat()} to {visit.window_end.isoformat()} "
                f"(site days, {zone_name})"
            ),
            "CATEGORIES:JY231",
            "TRANSP:TRANSPARENT",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "".join(_fold(line) + "\r\n" for line in lines)
