"""The ORR report for the dashboard: domain.report's figures, read from the store and formatted."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from domain.report import TIMEPOINTS, OrrCell, OrrReport, orr, rows_from_streams
from store.base import EventStore

__all__ = ["OrrTable", "ci_text", "load_orr", "orr_tables"]


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


def orr_tables(report: OrrReport) -> list[OrrTable]:
    return [
        OrrTable(timepoint=tp, cells=tuple(c for c in report.cells if c.timepoint == tp))
        for tp in TIMEPOINTS
    ]
