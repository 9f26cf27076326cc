"""The ORR report for the dashboard: domain.report's figures, read from the store and formatted."""

from __future__ import annotations

from markupsafe import Markup
from pydantic import BaseModel, ConfigDict

from domain.report import TIMEPOINTS, OrrCell, OrrReport, orr, rows_from_streams
from store.base import EventStore
from web.charts import orr_svg

__all__ = ["OrrTable", "ci_text", "load_orr", "orr_chart", "orr_tables"]


class OrrTable(BaseModel):
    """One timepoint's cells: overall first, then per disease, then per dose level."""

    model_config = ConfigDict(frozen=True)

    timepoint: str
    cells: tuple[OrrCell, ...]


def load_orr(store: EventStore) -> OrrReport:
    """The same report `trial report orr` prints: every stream through the workflows' fold."""
    streams = (store.read_stream(name) for name in store.streams())
    return orr(rows_from_streams(streams))


def _pct(value: float) -> str:
    return f"{value * 100:.0f}"


def ci_text(cell: OrrCell) -> str:
    """E.g. "40 % (12–74 %)"; a dash when nothing at the timepoint was evaluable."""
    if cell.orr is None or cell.ci_low is None or cell.ci_high is None:
        return "—"
    return f"{_pct(cell.orr)} % ({_pct(cell.ci_low)}–{_pct(cell.ci_high)} %)"


def orr_chart(report: OrrReport) -> Markup:
    """The overall ORR of each timepoint with its interval, as one picture."""
    points: list[tuple[str, float | None, float | None, float | None, str]] = []
    for timepoint in TIMEPOINTS:
        cell = report.cell(timepoint)
        if cell is None:
            points.append((timepoint, None, None, None, "none"))
            continue
        caption = f"{cell.responders}/{cell.evaluable}"
        points.append((timepoint, cell.orr, cell.ci_low, cell.ci_high, caption))
    return orr_svg(points)


def orr_tables(report: OrrReport) -> list[OrrTable]:
    return [
        OrrTable(timepoint=tp, cells=tuple(c for c in report.cells if c.timepoint == tp))
        for tp in TIMEPOINTS
    ]
