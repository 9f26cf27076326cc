"""The primary outcome: objective response rate per timepoint, with exact 95 % intervals.

ORR = (CR + PR) / evaluable, where evaluable means assessed with a Cheson 2007 category
(CR, PR, SD, PD); an NE assessment is counted but is not in the denominator. Reported overall,
per disease and per dose level, at each protocol timepoint (D0, M1, M2, M3, M6, M12).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict

from domain.events import Event
from domain.subject import fold
from domain.values import Disease, Response, VisitStatus

__all__ = [
    "TIMEPOINTS",
    "OrrCell",
    "OrrReport",
    "ResponseRow",
    "clopper_pearson",
    "orr",
    "regularized_beta",
    "rows_from_streams",
]

TIMEPOINTS = ("D0", "M1", "M2", "M3", "M6", "M12")
_EVALUABLE: frozenset[str] = frozenset({"CR", "PR", "SD", "PD"})


class ResponseRow(BaseModel):
    """One assessed visit of one infused subject."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    subject_id: str
    disease: Disease
    dose_level: str
    timepoint: str
    response: Response


class OrrCell(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    timepoint: str
    by: Literal["overall", "disease", "dose_level"]
    group: str
    assessed: int
    evaluable: int
    cr: int
    pr: int
    sd: int
    pd: int
    ne: int
    responders: int
    orr: float | None
    ci_low: float | None
    ci_high: float | None


class OrrReport(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    confidence: float
    cells: tuple[OrrCell, ...]

    def cell(self, timepoint: str, by: str = "overall", group: str = "all") -> OrrCell | None:
        return next(
            (c for c in self.cells if (c.timepoint, c.by, c.group) == (timepoint, by, group)),
            None,
        )


# -- exact binomial interval ---------------------------------------------------------------------


def _beta_continued_fraction(a: float, b: float, x: float) -> float:
    """Lentz's continued fraction for the incomplete beta function (Numerical Recipes 6.4)."""
    tiny, eps = 1e-300, 1e-15
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 10_000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < eps:
            return h
    raise ArithmeticError("incomplete beta continued fraction did not converge")


def regularized_beta(x: float, a: float, b: float) -> float:
    """I_x(a, b), the CDF of Beta(a, b) at x."""
    if not 0.0 <= x <= 1.0:
        raise ValueError("x must lie in [0, 1]")
    if x in (0.0, 1.0):
        return x
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    front = math.exp(log_front)
    # The continued fraction converges fast only on one side of the mean; use symmetry there.
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_continued_fraction(a, b, x) / a
    return 1.0 - front * _beta_continued_fraction(b, a, 1.0 - x) / b


def _beta_quantile(p: float, a: float, b: float) -> float:
    low, high = 0.0, 1.0
    for _ in range(200):  # bisection to well below 1e-12
        mid = (low + high) / 2
        if regularized_beta(mid, a, b) < p:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def clopper_pearson(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """The exact (Clopper–Pearson) interval for a binomial proportion."""
    if trials <= 0 or not 0 <= successes <= trials:
        raise ValueError("need 0 <= successes <= trials and trials > 0")
    alpha = 1.0 - confidence
    low = 0.0 if successes == 0 else _beta_quantile(alpha / 2, successes, trials - successes + 1)
    high = (
        1.0
        if successes == trials
        else _beta_quantile(1 - alpha / 2, successes + 1, trials - successes)
    )
    return low, high


# -- the report ----------------------------------------------------------------------------------


def _cell(
    timepoint: str,
    by: Literal["overall", "disease", "dose_level"],
    group: str,
    rows: Sequence[ResponseRow],
    confidence: float,
) -> OrrCell:
    counts = {r: sum(row.response == r for row in rows) for r in ("CR", "PR", "SD", "PD", "NE")}
    evaluable = sum(row.response in _EVALUABLE for row in rows)
    responders = counts["CR"] + counts["PR"]
    rate = low = high = None
    if evaluable:
        rate = responders / evaluable
        low, high = clopper_pearson(responders, evaluable, confidence)
    return OrrCell(
        timepoint=timepoint,
        by=by,
        group=group,
        assessed=len(rows),
        evaluable=evaluable,
        cr=counts["CR"],
        pr=counts["PR"],
        sd=counts["SD"],
        pd=counts["PD"],
        ne=counts["NE"],
        responders=responders,
        orr=rate,
        ci_low=low,
        ci_high=high,
    )


def orr(rows: Iterable[ResponseRow], confidence: float = 0.95) -> OrrReport:
    """ORR per timepoint, overall, per disease and per dose level (groups that have rows)."""
    all_rows = list(rows)
    cells: list[OrrCell] = []
    for timepoint in TIMEPOINTS:
        at = [r for r in all_rows if r.timepoint == timepoint]
        cells.append(_cell(timepoint, "overall", "all", at, confidence))
        for disease in sorted({r.disease for r in at}):
            group = [r for r in at if r.disease == disease]
            cells.append(_cell(timepoint, "disease", disease, group, confidence))
        for level in sorted({r.dose_level for r in at}):
            group = [r for r in at if r.dose_level == level]
            cells.append(_cell(timepoint, "dose_level", level, group, confidence))
    return OrrReport(confidence=confidence, cells=tuple(cells))


def rows_from_streams(streams: Iterable[Sequence[Event]]) -> list[ResponseRow]:
    """Response rows from subject streams, through the same fold the workflows use.

    Folding (rather than reading visit.completed payloads) applies recorded corrections of a
    response, so the report shows the corrected value.
    """
    rows: list[ResponseRow] = []
    for events in streams:
        if not events or events[0].type != "subject.registered":
            continue  # the study stream, or anything else that is not a subject
        state = fold(events)
        if state.disease is None or state.dose_level is None or state.infusion_date is None:
            continue
        for visit in state.visits:
            if visit.status is VisitStatus.COMPLETED and visit.response is not None:
                rows.append(
                    ResponseRow(
                        subject_id=state.subject_id,
                        disease=state.disease,
                        dose_level=state.dose_level,
                        timepoint=visit.code,
                        response=visit.response,
                    )
                )
    return rows
