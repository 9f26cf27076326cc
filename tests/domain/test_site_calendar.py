"""The site's clock and calendar: local midnight in Asia/Shanghai, China's public holidays."""

from __future__ import annotations

from datetime import UTC, date, datetime

from domain.deadlines import next_deadline
from domain.protocol import Protocol
from domain.schedule import visit_schedule
from domain.site_calendar import local_midnight, site_time, utc_protocol
from domain.state import SubjectState
from domain.values import Phase


def test_a_day_at_the_site_begins_at_1600_utc_of_the_day_before() -> None:
    assert local_midnight(date(2026, 10, 8), "Asia/Shanghai") == datetime(
        2026, 10, 7, 16, 0, tzinfo=UTC
    )
    assert local_midnight(date(2026, 10, 8)) == datetime(2026, 10, 8, tzinfo=UTC)


def test_the_site_date_of_an_instant_is_taken_in_the_site_zone() -> None:
    assert site_time(datetime(2026, 10, 7, 17, 0, tzinfo=UTC), "Asia/Shanghai").date() == date(
        2026, 10, 8
    )


def test_the_registered_protocol_calendar_knows_chinas_holidays_and_make_up_working_days(
    protocol: Protocol,
) -> None:
    cal = protocol.calendar
    assert cal.timezone == "Asia/Shanghai"
    # National Day, and the lunar Spring Festival of 2027 (Chinese New Year is 6 February).
    assert not cal.is_working_day(date(2026, 10, 1))
    assert not cal.is_working_day(date(2027, 2, 6))
    # Saturday 10 October 2026 is an official make-up working day (调休), so visits may fall on it.
    assert date(2026, 10, 10).weekday() == 5
    assert cal.is_working_day(date(2026, 10, 10))
    assert not cal.is_working_day(date(2026, 10, 17))  # an ordinary Saturday


def test_a_visit_whose_target_falls_on_national_day_moves_to_a_working_day_in_its_window(
    protocol: Protocol,
) -> None:
    # Month 1 is day 28 ± 3: an infusion on 3 September 2026 puts it on 1 October.
    m1 = next(v for v in visit_schedule(date(2026, 9, 3), protocol) if v.code == "M1")
    assert m1.shifted_from == date(2026, 10, 1)
    assert m1.window_start <= m1.target <= m1.window_end
    assert protocol.calendar.is_working_day(m1.target)
    assert m1.target == date(2026, 9, 30)


def test_a_visit_on_a_make_up_saturday_stays_where_it_is(protocol: Protocol) -> None:
    # Month 2 is day 56: an infusion on 15 August 2026 puts it on Saturday 10 October.
    m2 = next(v for v in visit_schedule(date(2026, 8, 15), protocol) if v.code == "M2")
    assert m2.target == date(2026, 10, 10)
    assert m2.shifted_from is None


def test_the_screening_deadline_falls_at_local_midnight_and_at_utc_midnight_before_the_patch(
    protocol: Protocol,
) -> None:
    state = SubjectState(subject_id="S-TZ1", phase=Phase.CONSENTED, consented_on=date(2026, 3, 2))
    deadline = next_deadline(state, protocol)
    assert deadline is not None
    # 28 days after 2 March is 30 March; it begins at 16:00 UTC on 29 March in Taiyuan.
    assert deadline.due_at == datetime(2026, 3, 29, 16, 0, tzinfo=UTC)
    old = next_deadline(state, utc_protocol(protocol))
    assert old is not None and old.due_at == datetime(2026, 3, 30, tzinfo=UTC)
