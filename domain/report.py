"""The primary outcome: objective response rate per timepoint, with exact 95 % intervals.

Day 0 (the infusion day) is the baseline, not a timepoint. At each follow-up timepoint the
denominator is every infused subject who has reached it: an assessment of NE, a missed visit and
participation ended before the visit (withdrawn, lost to follow-up, died, or the visit cancelled)
count as non-responders; subjects whose visit is still ahead are left out (``not_yet``). The
registered ORR is (CR + PR) over that denominator (Cheson 2007 categories); each
disease-specific response (protocol ``[response]``) is the share of the disease's subjects at the
timepoint whose visit met it, a visit without the measures counting as a non-responder. Reported
overall, per disease and per dose level.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict

from domain.events import Event
from domain.response import DerivedResponse, ResponseDefinition
from domain.subject import fold
from domain.values import Disease, Response, VisitStatus

__all__ = [
    "RULE",
    "TIMEPOINTS",
    "DiseaseResponseCell",
    "OrrCell",
    "OrrReport",
    "ResponseRow",
    "clopper_pearson",
    "orr",
    "regularized_beta",
    "rows_from_streams",
]

# The main-study follow-up visits of every protocol version, in time order (Month 9 came with
# amendment 1); Day 0 is the baseline and long-term follow-up has no response assessment.
TIMEPOINTS = ("M1", "M2", "M3", "M6", "M9", "M12")
RULE = (
    "Denominator: every infused subject at the timepoint. NE, a missed visit and participation "
    "ended before the visit (withdrawn, lost to follow-up, died) count as non-responders; "
    "subjects not yet at the timepoint are left out. Day 0 (infusion) is the baseline."
)

RowStatus = Literal["assessed", "missed", "withdrawn", "not_yet"]


class ResponseRow(BaseModel):
    """One infused subject at one follow-up timepoint."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    subject_id: str
    disease: Disease
    dose_level: str
    timepoint: str
    status: RowStatus = "assessed"
    # The Cheson category of an assessed visit.
    response: Response | None = None
    disease_responses: tuple[DerivedResponse, ...] = ()


class OrrCell(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    timepoint: str
    by: Literal["overall", "disease", "dose_level"]
    group: str
    # Infused subjects at the timepoint: assessed + missed + withdrawn.
    denominator: int
    assessed: int
    cr: int
    pr: int
    sd: int
    pd: int
    ne: int
    missed: int
    withdrawn: int
    not_yet: int
    responders: int
    orr: float | None
    ci_low: float | None
    ci_high: float | None


class DiseaseResponseCell(BaseModel):
    """One disease-specific response at one timepoint, over the disease's infused subjects."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    timepoint: str
    disease: Disease
    definition: str
    rule: str
    source: str
    denominator: int
    responders: int
    # Assessed visits whose measures could not be judged (recorded before activity was, or no
    # screening value to compare with); counted as non-responders like missed and withdrawn.
    not_evaluable: int
    missed: int
    withdrawn: int
    rate: float | None
    ci_low: float | None
    ci_high: float | None


class OrrReport(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    confidence: float
    rule: str = RULE
    timepoints: tuple[str, ...] = ()
    cells: tuple[OrrCell, ...]
    disease_cells: tuple[DiseaseResponseCell, ...] = ()

    def cell(self, timepoint: str, by: str = "overall", group: str = "all") -> OrrCell | None:
        return next(
            (c for c in self.cells if (c.timepoint, c.by, c.group) == (timepoint, by, group)),
            None,
        )

    def disease_cell(
        self, timepoint: str, disease: str, definition: str
    ) -> DiseaseResponseCell | None:
        key = (timepoint, disease, definition)
        return next(
            (c for c in self.disease_cells if (c.timepoint, c.disease, c.definition) == key), None
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


def _interval(
    responders: int, denominator: int, confidence: float
) -> tuple[float | None, float | None, float | None]:
    if not denominator:
        return None, None, None
    low, high = clopper_pearson(responders, denominator, confidence)
    return responders / denominator, low, high


def _cell(
    timepoint: str,
    by: Literal["overall", "disease", "dose_level"],
    group: str,
    rows: Sequence[ResponseRow],
    confidence: float,
) -> OrrCell:
    reached = [r for r in rows if r.status != "not_yet"]
    assessed = [r for r in reached if r.status == "assessed"]
    counts = {k: sum(r.response == k for r in assessed) for k in ("CR", "PR", "SD", "PD")}
    responders = counts["CR"] + counts["PR"]
    rate, low, high = _interval(responders, len(reached), confidence)
    return OrrCell(
        timepoint=timepoint,
        by=by,
        group=group,
        denominator=len(reached),
        assessed=len(assessed),
        cr=counts["CR"],
        pr=counts["PR"],
        sd=counts["SD"],
        pd=counts["PD"],
        # An assessed visit without a category (none recorded) is as good as NE.
        ne=len(assessed) - sum(counts.values()),
        missed=sum(r.status == "missed" for r in reached),
        withdrawn=sum(r.status == "withdrawn" for r in reached),
        not_yet=len(rows) - len(reached),
        responders=responders,
        orr=rate,
        ci_low=low,
        ci_high=high,
    )


def _disease_cells(
    timepoint: str,
    rows: Sequence[ResponseRow],
    definitions: Sequence[ResponseDefinition],
    confidence: float,
) -> list[DiseaseResponseCell]:
    cells: list[DiseaseResponseCell] = []
    for disease in sorted({r.disease for r in rows}):
        reached = [r for r in rows if r.disease == disease and r.status != "not_yet"]
        named = [d for d in definitions if d.disease == disease]
        seen = {x.name for r in reached for x in r.disease_responses}
        extra = sorted(seen - {d.name for d in named})
        for name in [*(d.name for d in named), *extra]:
            definition = next((d for d in named if d.name == name), None)
            verdicts = [
                next((x.met for x in r.disease_responses if x.name == name), None)
                for r in reached
                if r.status == "assessed"
            ]
            responders = sum(v is True for v in verdicts)
            rate, low, high = _interval(responders, len(reached), confidence)
            cells.append(
                DiseaseResponseCell(
                    timepoint=timepoint,
                    disease=disease,
                    definition=name,
                    rule=definition.rule if definition else "",
                    source=definition.source if definition else "",
                    denominator=len(reached),
                    responders=responders,
                    not_evaluable=sum(v is None for v in verdicts),
                    missed=sum(r.status == "missed" for r in reached),
                    withdrawn=sum(r.status == "withdrawn" for r in reached),
                    rate=rate,
                    ci_low=low,
                    ci_high=high,
                )
            )
    return cells


def orr(
    rows: Iterable[ResponseRow],
    confidence: float = 0.95,
    definitions: Sequence[ResponseDefinition] = (),
) -> OrrReport:
    """Per timepoint any subject has: the registered ORR overall, per disease and per dose
    level, and each disease-specific response of ``definitions`` (or seen in the rows)."""
    all_rows = list(rows)
    present = {r.timepoint for r in all_rows}
    order = [t for t in TIMEPOINTS if t in present] + sorted(present - set(TIMEPOINTS))
    cells: list[OrrCell] = []
    disease_cells: list[DiseaseResponseCell] = []
    for timepoint in order:
        at = [r for r in all_rows if r.timepoint == timepoint]
        cells.append(_cell(timepoint, "overall", "all", at, confidence))
        for disease in sorted({r.disease for r in at}):
            group = [r for r in at if r.disease == disease]
            cells.append(_cell(timepoint, "disease", disease, group, confidence))
        for level in sorted({r.dose_level for r in at}):
            group = [r for r in at if r.dose_level == level]
            cells.append(_cell(timepoint, "dose_level", level, group, confidence))
        disease_cells.extend(_disease_cells(timepoint, at, definitions, confidence))
    return OrrReport(
        confidence=confidence,
        timepoints=tuple(order),
        cells=tuple(cells),
        disease_cells=tuple(disease_cells),
    )


def _status(visit_status: VisitStatus, ended: bool) -> RowStatus:
    if visit_status is VisitStatus.COMPLETED:
        return "assessed"
    if visit_status is VisitStatus.MISSED:
        return "missed"
    if visit_status is VisitStatus.CANCELLED or ended:
        return "withdrawn"
    return "not_yet"


def rows_from_streams(streams: Iterable[Sequence[Event]]) -> list[ResponseRow]:
    """One row per infused subject and follow-up timepoint, through the workflows' own fold.

    Folding (rather than reading visit.completed payloads) applies recorded corrections of a
    response, so the report shows the corrected value. A Day 0 response recorded before Day 0
    became the baseline is not a timepoint and is left out.
    """
    rows: list[ResponseRow] = []
    for events in streams:
        if not events or events[0].type != "subject.registered":
            continue  # the study stream, or anything else that is not a subject
        state = fold(events)
        if state.disease is None or state.dose_level is None or state.infusion_date is None:
            continue
        derived = {a.code: a.responses for a in state.assessments}
        for visit in state.visits:
            if visit.code not in TIMEPOINTS:
                continue
            status = _status(visit.status, state.phase.is_terminal)
            rows.append(
                ResponseRow(
                    subject_id=state.subject_id,
                    disease=state.disease,
                    dose_level=state.dose_level,
                    timepoint=visit.code,
                    status=status,
                    response=visit.response if status == "assessed" else None,
                    disease_responses=derived.get(visit.code, ()) if status == "assessed" else (),
                )
            )
    return rows
