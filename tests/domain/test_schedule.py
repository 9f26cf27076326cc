"""Visit dates and windows from the infusion date, moved off weekends and holidays."""

from __future__ import annotations

from datetime import date

import pytest

from domain.protocol import Protocol, SiteCalendar, VisitDefinition, load_protocol
from domain.schedule import (
    nearest_working_day_in_window,
    visit_schedule,
    window_open_reminder_date,
)
from domain.values import ScheduledVisit, VisitStatus


@pytest.fixture(scope="module")
def protocol() -> Protocol:
    return load_protocol("1.0")


def _by_code(visits: tuple[ScheduledVisit, ...]) -> dict[str, ScheduledVisit]:
    return {v.code: v for v in visits}


def _with_visit(protocol: Protocol, visit: VisitDefinition, calendar: SiteCalendar) -> Protocol:
    return protocol.model_copy(update={"visits": (visit,), "calendar": calendar})


def test_schedule_has_every_protocol_visit_in_order_all_planned(protocol: Protocol) -> None:
    visits = visit_schedule(date(2026, 3, 2), protocol)
    assert [v.code for v in visits] == ["D0", "M1", "M2", "M3", "M6", "M12"]
    assert all(v.status is VisitStatus.PLANNED for v in visits)


def test_working_day_targets_are_infusion_plus_target_day_with_windows(protocol: Protocol) -> None:
    visits = _by_code(visit_schedule(date(2026, 3, 2), protocol))
    m1 = visits["M1"]  # 2 Mar + 28 = Monday 30 Mar, window ±3
    assert (m1.target, m1.window_start, m1.window_end, m1.shifted_from) == (
        date(2026, 3, 30),
        date(2026, 3, 27),
        date(2026, 4, 2),
        None,
    )
    assert visits["M12"].target == date(2027, 3, 2)  # + 365 days, a Tuesday
    assert visits["D0"].window_end == date(2026, 3, 3)


def test_sunday_target_moves_to_the_monday_because_saturday_is_not_working(
    protocol: Protocol,
) -> None:
    m3 = _by_code(visit_schedule(date(2026, 3, 2), protocol))["M3"]
    # 2 Mar + 90 = Sunday 31 May; Monday is 1 day away, Friday 2.
    assert m3.shifted_from == date(2026, 5, 31)
    assert m3.target == date(2026, 6, 1)


def test_saturday_target_moves_to_the_friday_because_it_is_nearer(protocol: Protocol) -> None:
    m6 = _by_code(visit_schedule(date(2026, 3, 2), protocol))["M6"]
    # 2 Mar + 180 = Saturday 29 Aug.
    assert m6.shifted_from == date(2026, 8, 29)
    assert m6.target == date(2026, 8, 28)


def test_shift_keeps_the_window_anchored_on_the_unshifted_target(protocol: Protocol) -> None:
    m6 = _by_code(visit_schedule(date(2026, 3, 2), protocol))["M6"]
    assert (m6.window_start, m6.window_end) == (date(2026, 8, 15), date(2026, 9, 12))


def test_holiday_target_moves_to_nearest_working_day_earlier_on_a_tie(protocol: Protocol) -> None:
    # 3 Sep 2026 + 28 = Thursday 1 Oct (holiday); Wed 30 Sep works, Fri 2 Oct is a holiday.
    m1 = _by_code(visit_schedule(date(2026, 9, 3), protocol))["M1"]
    assert (m1.shifted_from, m1.target) == (date(2026, 10, 1), date(2026, 9, 30))

    calendar = SiteCalendar(holidays=(date(2026, 4, 1),))  # a Wednesday
    visit = VisitDefinition(
        code="V", label="V", target_day=30, window_before_days=2, window_after_days=2
    )
    (v,) = visit_schedule(date(2026, 3, 2), _with_visit(protocol, visit, calendar))
    # Tuesday and Thursday are both 1 day away: the earlier wins.
    assert (v.shifted_from, v.target) == (date(2026, 4, 1), date(2026, 3, 31))


def test_target_stays_put_when_no_working_day_lies_inside_its_window(protocol: Protocol) -> None:
    visit = VisitDefinition(
        code="V", label="V", target_day=5, window_before_days=0, window_after_days=1
    )
    # 2 Mar + 5 = Saturday 7 Mar; the window is Saturday–Sunday only.
    (v,) = visit_schedule(date(2026, 3, 2), _with_visit(protocol, visit, SiteCalendar()))
    assert (v.target, v.shifted_from) == (date(2026, 3, 7), None)


def test_target_moves_to_a_working_day_on_the_very_edge_of_its_window(protocol: Protocol) -> None:
    visit = VisitDefinition(
        code="V", label="V", target_day=6, window_before_days=2, window_after_days=0
    )
    # 2 Mar + 6 = Sunday 8 Mar; the window opens on Friday 6 Mar, its only working day.
    (v,) = visit_schedule(date(2026, 3, 2), _with_visit(protocol, visit, SiteCalendar()))
    assert (v.target, v.shifted_from, v.window_start) == (
        date(2026, 3, 6),
        date(2026, 3, 8),
        date(2026, 3, 6),
    )


def test_day_0_stays_on_the_infusion_date_even_on_a_weekend(protocol: Protocol) -> None:
    d0 = _by_code(visit_schedule(date(2026, 3, 7), protocol))["D0"]  # a Saturday
    assert (d0.target, d0.shifted_from) == (date(2026, 3, 7), None)


def test_nearest_working_day_is_none_when_the_window_has_none() -> None:
    saturday, sunday = date(2026, 3, 7), date(2026, 3, 8)
    assert nearest_working_day_in_window(saturday, saturday, sunday, SiteCalendar()) is None


def test_reminder_goes_out_three_days_before_the_window_opens(protocol: Protocol) -> None:
    m1 = _by_code(visit_schedule(date(2026, 3, 2), protocol))["M1"]
    assert window_open_reminder_date(m1, protocol) == date(2026, 3, 24)
