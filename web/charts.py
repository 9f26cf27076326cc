"""Server-rendered SVG pictures of the trial: no script, no CDN, styled by classes in style.css.

Each function takes read-side data and returns markup for a template (``Markup``, with every
text escaped), so the pictures render the same in the browser, in tests and in screenshots.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from html import escape

from markupsafe import Markup

from domain.events import Event
from domain.state import SubjectState
from domain.subject import apply
from domain.values import Phase, ScheduledVisit, VisitStatus
from store.projection import BoardRow
from web.study_view import CohortView

__all__ = [
    "FUNNEL_STAGES",
    "FunnelStage",
    "PhaseSpan",
    "enrollment_svg",
    "escalation_svg",
    "funnel",
    "funnel_svg",
    "orr_svg",
    "phase_spans",
    "swimlane_svg",
]


class _Svg:
    """A small SVG writer; every attribute and text is escaped here, once."""

    def __init__(self, width: int, height: int, label: str) -> None:
        self.width, self.height = width, height
        self._parts = [
            f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
            f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
            f'aria-label="{escape(label)}"><title>{escape(label)}</title>'
        ]

    def rect(
        self, x: float, y: float, w: float, h: float, cls: str, title: str | None = None
    ) -> None:
        tip = f"<title>{escape(title)}</title>" if title else ""
        self._parts.append(
            f'<rect class="{escape(cls)}" x="{x:.1f}" y="{y:.1f}" '
            f'width="{max(w, 1.0):.1f}" height="{h:.1f}">{tip}</rect>'
        )

    def line(self, x1: float, y1: float, x2: float, y2: float, cls: str) -> None:
        self._parts.append(
            f'<line class="{escape(cls)}" x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}"/>'
        )

    def circle(self, x: float, y: float, r: float, cls: str, title: str | None = None) -> None:
        tip = f"<title>{escape(title)}</title>" if title else ""
        self._parts.append(
            f'<circle class="{escape(cls)}" cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}">{tip}</circle>'
        )

    def text(
        self, x: float, y: float, body: str, cls: str = "label", anchor: str = "start"
    ) -> None:
        self._parts.append(
            f'<text class="{escape(cls)}" x="{x:.1f}" y="{y:.1f}" '
            f'text-anchor="{anchor}">{escape(body)}</text>'
        )

    def markup(self) -> Markup:
        return Markup("".join([*self._parts, "</svg>"]))


# -- the subject's swimlane ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PhaseSpan:
    """A phase the subject was in, from the day it began until the next one (None: still on)."""

    phase: str
    start: date
    end: date | None


def phase_spans(events: Sequence[Event]) -> list[PhaseSpan]:
    """The phases a subject passed through, dated by when staff say each step happened."""
    spans: list[PhaseSpan] = []
    state = SubjectState()
    for event in events:
        before = state.phase
        state = apply(state, event)
        if state.phase is not before and state.phase is not Phase.NEW:
            day = event.occurred_at.date()
            if spans:
                spans[-1] = PhaseSpan(spans[-1].phase, spans[-1].start, day)
            spans.append(PhaseSpan(state.phase.value, day, None))
    if spans and state.phase.is_terminal:
        last = spans[-1]
        spans[-1] = PhaseSpan(last.phase, last.start, last.start)
    return spans


def _visit_class(visit: ScheduledVisit, today: date) -> str:
    if visit.status is VisitStatus.COMPLETED:
        return "visit-done"
    if visit.status is VisitStatus.MISSED:
        return "visit-missed"
    if visit.window_end < today:
        return "visit-overdue"
    if visit.window_start <= today:
        return "visit-due"
    return "visit-planned"


def swimlane_svg(
    spans: Sequence[PhaseSpan], visits: Sequence[ScheduledVisit], today: date
) -> Markup:
    """Phases as a lane of coloured bars and each visit as its shaded window with the target
    marked, on one time axis with today drawn across."""
    days = [s.start for s in spans] + [today]
    days += [d for v in visits for d in (v.window_start, v.window_end)]
    first, last = min(days), max(days)
    first -= timedelta(days=2)
    last += timedelta(days=2)
    width, left, lane = 900, 110, 26
    height = 40 + lane * (1 + len(visits)) + 20
    span_days = max((last - first).days, 1)

    def x(day: date) -> float:
        return left + (width - left - 10) * (day - first).days / span_days

    svg = _Svg(width, height, "Subject timeline: phases and visit windows")
    # Month ticks: enough to read dates without crowding a year-long follow-up.
    tick = date(first.year, first.month, 1)
    while tick <= last:
        if tick >= first:
            svg.line(x(tick), 22, x(tick), height - 18, "grid")
            svg.text(x(tick) + 2, 16, tick.strftime("%b %Y"), "axis")
        tick = date(tick.year + tick.month // 12, tick.month % 12 + 1, 1)
    svg.text(4, 40 + lane * 0.6, "Phase", "lane-label")
    for span in spans:
        end = span.end or today
        svg.rect(
            x(span.start),
            30,
            x(end) - x(span.start),
            lane - 8,
            f"phase-bar phase-{span.phase}",
            f"{span.phase.replace('_', ' ')}: {span.start.isoformat()} – "
            + (span.end.isoformat() if span.end else "now"),
        )
    for i, visit in enumerate(visits, start=1):
        y = 30 + lane * i
        cls = _visit_class(visit, today)
        svg.text(4, y + lane * 0.6, visit.label, "lane-label")
        svg.rect(
            x(visit.window_start),
            y,
            x(visit.window_end + timedelta(days=1)) - x(visit.window_start),
            lane - 8,
            f"window {cls}",
            f"{visit.label}: window {visit.window_start.isoformat()} – "
            f"{visit.window_end.isoformat()}, target {visit.target.isoformat()}, "
            f"{cls.removeprefix('visit-')}",
        )
        svg.line(x(visit.target), y - 2, x(visit.target), y + lane - 6, "target")
    svg.line(x(today), 20, x(today), height - 14, "today")
    svg.text(x(today), height - 4, f"today {today.isoformat()}", "today-label", "middle")
    return svg.markup()


# -- enrollment and the phase funnel -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FunnelStage:
    name: str
    count: int


FUNNEL_STAGES = ("registered", "consented", "eligible", "enrolled", "infused", "Month 12")

# How far each phase shows a subject got; terminal phases are placed by what the row still tells.
_REACHED = {
    Phase.REGISTERED: 0,
    Phase.CONSENTED: 1,
    Phase.SCREENING: 1,
    Phase.SCREEN_FAILED: 1,
    Phase.ELIGIBLE: 2,
    Phase.ENROLLED: 3,
    Phase.APHERESIS: 3,
    Phase.AWAITING_PRODUCT: 3,
    Phase.LYMPHODEPLETION: 3,
    Phase.INFUSED: 4,
    Phase.FOLLOW_UP: 4,
    # Long-term follow-up starts after Month 12.
    Phase.LTFU: 5,
    Phase.COMPLETED: 5,
}


def _reached(row: BoardRow) -> int:
    stage = _REACHED.get(row.phase, 0)
    if row.dose_level is not None:
        stage = max(stage, 3)
    if row.infusion_date is not None:
        stage = max(stage, 4)
    return stage


def funnel(rows: Iterable[BoardRow]) -> list[FunnelStage]:
    """Subjects who reached each stage (a withdrawn subject counts up to the last stage its
    record shows: enrolled once it has a dose level, infused once it has an infusion date)."""
    counts = [0] * len(FUNNEL_STAGES)
    for row in rows:
        if row.phase is Phase.NEW:
            continue
        for stage in range(_reached(row) + 1):
            counts[stage] += 1
    return [FunnelStage(name, n) for name, n in zip(FUNNEL_STAGES, counts, strict=True)]


def funnel_svg(stages: Sequence[FunnelStage]) -> Markup:
    width, bar, gap = 640, 30, 8
    svg = _Svg(width, (bar + gap) * len(stages) + 10, "Phase funnel")
    top = max((s.count for s in stages), default=0) or 1
    for i, stage in enumerate(stages):
        w = (width - 260) * stage.count / top
        y = 5 + i * (bar + gap)
        svg.text(4, y + bar * 0.65, stage.name, "lane-label")
        svg.rect(
            120 + (width - 260 - w) / 2, y, w, bar, "funnel-bar", f"{stage.name}: {stage.count}"
        )
        svg.text(width - 130, y + bar * 0.65, str(stage.count), "count")
    return svg.markup()


def enrollment_svg(enrolled: int, target: int) -> Markup:
    width = 640
    svg = _Svg(width, 56, f"Enrollment {enrolled} of {target}")
    scale = (width - 20) / max(target, enrolled, 1)
    svg.rect(10, 12, target * scale, 22, "target-bar", f"target {target}")
    svg.rect(10, 12, enrolled * scale, 22, "enrolled-bar", f"enrolled {enrolled}")
    svg.text(10, 50, f"{enrolled} enrolled of {target} planned", "count")
    return svg.markup()


# -- dose escalation -----------------------------------------------------------------------------


def _next_slot(cohort: CohortView, stagger_days: int) -> date | None:
    """When an open level with places left can take its next subject: after the sentinel's
    stagger (sentinel staggering holds everyone else until then)."""
    if cohort.status != "open" or len(cohort.members) >= cohort.size:
        return None
    sentinel = next((m for m in cohort.members if m.sentinel), None)
    if sentinel is None or sentinel.infused_on is None:
        return None
    return sentinel.infused_on + timedelta(days=stagger_days)


def escalation_svg(
    cohorts: Sequence[CohortView], dlt_window_days: int, stagger_days: int
) -> Markup:
    """One row per dose level: each subject a circle coloured by DLT outcome (open: still in the
    DLT window, with the day it closes), the level's status and DLT count beside it."""
    width, row_h = 760, 56
    svg = _Svg(width, 20 + row_h * len(cohorts), "Dose escalation: cohorts and DLTs")
    for i, cohort in enumerate(cohorts):
        y = 14 + i * row_h
        svg.text(4, y + 24, cohort.dose_level, "lane-label")
        svg.text(
            4,
            y + 42,
            f"{cohort.status} · {cohort.dlts} DLT / {cohort.evaluable} evaluable",
            "small",
        )
        for j, member in enumerate(cohort.members):
            cx = 240 + j * 44
            if member.outcome == "dlt":
                cls, state = "dlt", "DLT"
            elif member.outcome == "no_dlt":
                cls, state = "no-dlt", "no DLT"
            elif member.outcome == "not_evaluable":
                cls, state = "not-evaluable", "not evaluable"
            elif member.infused_on is not None:
                closes = member.infused_on + timedelta(days=dlt_window_days)
                cls = "in-window"
                state = f"in DLT window until {closes.isoformat()}"
            else:
                cls, state = "granted", f"slot granted {member.granted_on.isoformat()}"
            sentinel = " (sentinel)" if member.sentinel else ""
            svg.circle(cx, y + 20, 14, f"member {cls}", f"{member.subject_id}{sentinel}: {state}")
            svg.text(cx, y + 48, member.subject_id[-4:], "tiny", "middle")
        for j in range(len(cohort.members), cohort.size):
            svg.circle(240 + j * 44, y + 20, 14, "member empty", "open place")
        opens = _next_slot(cohort, stagger_days)
        if opens is not None:
            svg.text(
                260 + cohort.size * 44, y + 24, f"next slot opens {opens.isoformat()}", "small"
            )
    return svg.markup()


# -- ORR over timepoints -------------------------------------------------------------------------


OrrPoint = tuple[str, float | None, float | None, float | None, str]


def orr_svg(
    points: Sequence[OrrPoint],
    *,
    label: str = "Objective response rate by timepoint with confidence intervals",
    name: str = "ORR (Cheson)",
    more: Sequence[tuple[str, Sequence[OrrPoint]]] = (),
) -> Markup:
    """Rates per timepoint as points with their exact confidence intervals as bars.

    ``points``: (timepoint, rate, ci_low, ci_high, caption such as "3/5"); None where nothing
    at that timepoint could be counted, drawn as a gap with its caption. ``more``: further named
    series (disease-specific responses) drawn beside the first, each with its own colour and a
    legend; their timepoints are those of ``points``.
    """
    series: list[tuple[str, Sequence[OrrPoint]]] = [(name, points), *more]
    width, left, bottom = 640, 50, 40
    top = 16 + (14 * len(series) if more else 0)
    height = top + 204 + bottom
    plot_h = height - top - bottom
    step = (width - left - 20) / max(len(points), 1)
    lane = min(step / (len(series) + 1), 16.0)
    svg = _Svg(width, height, label)

    def y(value: float) -> float:
        return top + plot_h * (1 - value)

    for pct in (0, 25, 50, 75, 100):
        svg.line(left, y(pct / 100), width - 10, y(pct / 100), "grid")
        svg.text(left - 6, y(pct / 100) + 4, f"{pct} %", "axis", "end")
    for k, (title, _) in enumerate(series if more else ()):
        svg.circle(left + 6, 10 + 14 * k, 4, f"point series-{k}")
        svg.text(left + 14, 14 + 14 * k, title, "small")
    for i, (timepoint, *_rest, caption) in enumerate(points):
        cx = left + step * (i + 0.5)
        svg.text(cx, height - bottom + 16, timepoint, "lane-label", "middle")
        svg.text(cx, height - bottom + 30, caption, "small", "middle")
    for k, (title, values) in enumerate(series):
        offset = (k - (len(series) - 1) / 2) * lane
        cls = f" series-{k}" if more else ""
        for i, (timepoint, rate, low, high, caption) in enumerate(values):
            if rate is None or low is None or high is None:
                continue
            cx = left + step * (i + 0.5) + offset
            tip = f"{timepoint}: {title} {rate:.0%} ({low:.0%}–{high:.0%}), {caption}"
            svg.line(cx, y(low), cx, y(high), f"ci{cls}")
            svg.line(cx - 6, y(low), cx + 6, y(low), f"ci{cls}")
            svg.line(cx - 6, y(high), cx + 6, y(high), f"ci{cls}")
            svg.circle(cx, y(rate), 5, f"point{cls}", tip)
    return svg.markup()
