"""Expedited reporting of suspected unexpected serious adverse reactions (SUSARs, ICH E2A).

A SUSAR is serious, related to JY231 and not listed as expected in the reference safety
information (protocol data). Fatal or life-threatening ones are reported within 7 calendar
days of first knowledge, with a follow-up report by day 15; all others within 15 days. Each
recipient (regulator NMPA/CDE, ethics committee, sponsor) has its own reports and clocks; a
missed clock is an overdue event, a protocol deviation and an alert.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Category",
    "ExpectedEvent",
    "ExpeditedRules",
    "Recipient",
    "ReportKind",
    "category_of",
    "is_expected",
    "required_reports",
]

Category = Literal["fatal_or_life_threatening", "other"]
ReportKind = Literal["initial", "follow_up"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ExpectedEvent(_Frozen):
    """A reference-safety-information entry: the term and the worst grade that is expected."""

    term: str = Field(min_length=1)
    max_expected_grade: int = Field(default=5, ge=1, le=5)


class Recipient(_Frozen):
    code: str = Field(pattern=r"^[a-z_]{2,32}$")
    name: str = Field(min_length=1)


class ExpeditedRules(_Frozen):
    source: str = Field(min_length=1)
    site_default: bool = False
    fatal_or_life_threatening_days: int = Field(default=7, gt=0)
    # Follow-up of a fatal / life-threatening SUSAR, counted from the same day 0.
    follow_up_days: int = Field(default=15, gt=0)
    other_days: int = Field(default=15, gt=0)
    recipients: tuple[Recipient, ...]
    # The reference safety information (e.g. the Investigator's Brochure): what is expected.
    reference_safety_information: tuple[ExpectedEvent, ...]
    rsi_source: str = Field(min_length=1)
    rsi_site_default: bool = False

    def recipient(self, code: str) -> Recipient | None:
        return next((r for r in self.recipients if r.code == code), None)


def is_expected(rules: ExpeditedRules, term: str, worst_grade: int) -> bool:
    """Listed in the RSI at this severity; a fatal outcome of a listed event that the RSI does
    not list as fatal is unexpected (ICH E2A)."""
    entry = next(
        (x for x in rules.reference_safety_information if x.term.casefold() == term.casefold()),
        None,
    )
    return entry is not None and worst_grade <= entry.max_expected_grade


def category_of(seriousness: tuple[str, ...]) -> Category:
    return (
        "fatal_or_life_threatening" if {"death", "life_threatening"} & set(seriousness) else "other"
    )


def required_reports(
    rules: ExpeditedRules, category: Category, since: datetime
) -> list[tuple[str, ReportKind, datetime]]:
    """(recipient, report kind, due) for every report a SUSAR of this category needs."""
    out: list[tuple[str, ReportKind, datetime]] = []
    for recipient in rules.recipients:
        if category == "fatal_or_life_threatening":
            out.append(
                (
                    recipient.code,
                    "initial",
                    since + timedelta(days=rules.fatal_or_life_threatening_days),
                )
            )
            out.append((recipient.code, "follow_up", since + timedelta(days=rules.follow_up_days)))
        else:
            out.append((recipient.code, "initial", since + timedelta(days=rules.other_days)))
    return out
