"""The follow-up visit schedule from the infusion date, moved onto the site's working days."""

from __future__ import annotations

from datetime import date, timedelta

from domain.protocol import Protocol, SiteCalendar, VisitDefinition
from domain.values import ScheduledVisit

__all__ = [
    "nearest_working_day_in_window",
    "schedule_visit",
    "visit_schedule",
    "window_open_reminder_date",
]


def nearest_working_day_in_window(
    target: date, start: date, end: date, calendar: SiteCalendar
) -> date | None:
    """The working day closest to ``target`` within [start, end]; the earlier one on a tie."""
    for distance in range((max(target - start, end - target)).days + 1):
        for candidate in (target - timedelta(days=distance), target + timedelta(days=distance)):
            if start <= candidate <= end and calendar.is_working_day(candidate):
                return candidate
    return None


def _schedule_one(
    infusion_date: date, visit: VisitDefinition, protocol: Protocol
) -> ScheduledVisit:
    target = infusion_date + timedelta(days=visit.target_day)
    start = target - timedelta(days=visit.window_before_days)
    end = target + timedelta(days=visit.window_after_days)
    moved = None
    # Day 0 is the infusion itself: it happened on its date whatever the calendar says.
    if visit.target_day > 0:
        moved = nearest_working_day_in_window(target, start, end, protocol.calendar)
    if moved is None or moved == target:
        return ScheduledVisit(
            code=visit.code, label=visit.label, target=target, window_start=start, window_end=end
        )
    return ScheduledVisit(
        code=visit.code,
        label=visit.label,
        target=moved,
        window_start=start,
        window_end=end,
        shifted_from=target,
    )


def schedule_visit(
    infusion_date: date, visit: VisitDefinition, protocol: Protocol
) -> ScheduledVisit:
    """One visit (or LTFU timepoint) from the infusion date, on the site's working days."""
    return _schedule_one(infusion_date, visit, protocol)


def visit_schedule(infusion_date: date, protocol: Protocol) -> tuple[ScheduledVisit, ...]:
    """Every protocol visit; windows stay anchored on the unshifted target day."""
    return tuple(_schedule_one(infusion_date, v, protocol) for v in protocol.visits)


def window_open_reminder_date(visit: ScheduledVisit, protocol: Protocol) -> date:
    return visit.window_start - timedelta(days=protocol.reminders.days_before_window)
