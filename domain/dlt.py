"""Dose-limiting toxicity from an AE's grade history: its worst grade, how long it stayed at or
above a grade, and the protocol's DLT rules (``DltRules``).

Every AE update is its own event, so the history is in the stream; the state keeps it folded
(``AdverseEvent.grade_history``) and the worst grade, which is what DLTs, reports and exports
use: a CRS that went 3 → 1 stays a grade 3 CRS.
"""

from __future__ import annotations

from datetime import date, timedelta

from domain.protocol import DltRules
from domain.state import AdverseEvent, GradeChange

__all__ = ["dlt_rule_for", "episodes_at_or_above"]


def episodes_at_or_above(
    history: tuple[GradeChange, ...], grade: int, *, resolved_on: date | None, as_of: date
) -> list[tuple[date, date, bool]]:
    """(start, end, ongoing) of each stretch at ``grade`` or worse; an ongoing one ends as_of."""
    episodes: list[tuple[date, date, bool]] = []
    start: date | None = None
    for change in sorted(history, key=lambda h: (h.on, h.seq)):
        if change.grade >= grade and start is None:
            start = change.on
        elif change.grade < grade and start is not None:
            episodes.append((start, change.on, False))
            start = None
    if start is not None:
        if resolved_on is not None:
            episodes.append((start, resolved_on, False))
        else:
            episodes.append((start, as_of, True))
    return episodes


def _longest(episodes: list[tuple[date, date, bool]]) -> int:
    return max(((end - start).days for start, end, _ in episodes), default=0)


def dlt_rule_for(
    ae: AdverseEvent, rules: DltRules, *, infusion_date: date, as_of: date
) -> str | None:
    """The DLT rule the AE meets by ``as_of``, in words, or None (not, or not yet, a DLT).

    Onset inside the window is the caller's check. An excepted term becomes a DLT once an
    episode outlasts its allowance; a prolonged cytopenia once it is still present after the
    protocol day.
    """
    worst = ae.worst
    history = ae.grade_history or (GradeChange(grade=ae.grade, on=ae.onset_on, seq=0),)
    related = ae.related_to_jy231 in rules.related_attributions
    if ae.kind == "CRS" and worst >= rules.crs_grade_min:
        return f"CRS grade {worst} (≥ {rules.crs_grade_min})"
    if ae.kind == "ICANS" and worst >= rules.icans_grade_min:
        return f"ICANS grade {worst} (≥ {rules.icans_grade_min})"
    if related and worst == 5 and rules.related_grade_5:
        return "grade 5 AE related to JY231"
    cytopenia = rules.prolonged_cytopenia
    if ae.haematologic and cytopenia is not None and _term_in(ae.term, cytopenia.terms):
        limit = infusion_date + timedelta(days=cytopenia.beyond_day)
        episodes = episodes_at_or_above(
            history, cytopenia.grade_min, resolved_on=ae.resolved_on, as_of=as_of
        )
        if any(end > limit for _, end, _ in episodes):
            return (
                f"{ae.term} grade ≥ {cytopenia.grade_min} beyond day {cytopenia.beyond_day} "
                "after infusion"
            )
        return None
    threshold = rules.related_non_haematologic_grade_min
    if not related or ae.haematologic or worst < threshold:
        return None
    base = f"grade {worst} non-haematologic AE related to JY231 (≥ {threshold})"
    exception = next(
        (x for x in rules.non_haematologic_exceptions if _term_in(ae.term, (x.term,))), None
    )
    if exception is None:
        return base
    days = _longest(
        episodes_at_or_above(history, threshold, resolved_on=ae.resolved_on, as_of=as_of)
    )
    if days > exception.max_days:
        return f"{base}: {ae.term} lasting {days} days (> {exception.max_days})"
    return None


def _term_in(term: str, terms: tuple[str, ...]) -> bool:
    return term.casefold() in {t.casefold() for t in terms}
