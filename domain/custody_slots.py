"""Manufacturing slots: the chain of dates booked for a subject, from site capacity data.

A booking names the apheresis day; the site's lead times give the rest (manufacturing
start, release after QC testing, product back at the site, the earliest infusion). The
capacity per week is site data too; whether a week is full is known only across subjects,
so it is checked where all subjects are visible (the web layer), not here.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from pydantic import BaseModel, ConfigDict, computed_field

from domain.custody import SlotChain
from domain.custody_protocol import SlotRules
from domain.protocol import Protocol, SiteCalendar

__all__ = ["WeekLoad", "chain_from", "first_apheresis_day", "week_load"]


def _working(day: date, calendar: SiteCalendar) -> date:
    while not calendar.is_working_day(day):
        day += timedelta(days=1)
    return day


def first_apheresis_day(enrolled_on: date, rules: SlotRules, calendar: SiteCalendar) -> date:
    return _working(enrolled_on + timedelta(days=rules.days_to_apheresis), calendar)


def chain_from(apheresis_on: date, rules: SlotRules, protocol: Protocol) -> SlotChain:
    """The dates that follow from an apheresis day; lymphodepletion fits between arrival and
    the infusion (its first day is protocol data, e.g. day -5)."""
    start = apheresis_on + timedelta(days=1)
    release = start + timedelta(days=rules.manufacturing_days + rules.release_testing_days)
    at_site = release + timedelta(days=rules.shipping_days)
    lead = -min(protocol.lymphodepletion.days)
    return SlotChain(
        apheresis_on=apheresis_on,
        manufacturing_start_on=start,
        release_on=release,
        at_site_on=at_site,
        earliest_infusion_on=at_site + timedelta(days=lead),
    )


class WeekLoad(BaseModel):
    model_config = ConfigDict(frozen=True)

    week: str
    apheresis: int
    manufacturing: int
    apheresis_capacity: int
    manufacturing_capacity: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def over_capacity(self) -> bool:
        return (
            self.apheresis > self.apheresis_capacity
            or self.manufacturing > self.manufacturing_capacity
        )


def _week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def week_load(chains: Iterable[SlotChain], rules: SlotRules) -> list[WeekLoad]:
    """Bookings per ISO week against the site's capacity."""
    apheresis: dict[str, int] = {}
    manufacturing: dict[str, int] = {}
    for chain in chains:
        apheresis[_week(chain.apheresis_on)] = apheresis.get(_week(chain.apheresis_on), 0) + 1
        key = _week(chain.manufacturing_start_on)
        manufacturing[key] = manufacturing.get(key, 0) + 1
    return [
        WeekLoad(
            week=week,
            apheresis=apheresis.get(week, 0),
            manufacturing=manufacturing.get(week, 0),
            apheresis_capacity=rules.apheresis_per_week,
            manufacturing_capacity=rules.manufacturing_per_week,
        )
        for week in sorted(set(apheresis) | set(manufacturing))
    ]
