"""The ORR report for the dashboard: domain.report's figures, read from the store and formatted."""

from __future__ import annotations

from markupsafe import Markup
from pydantic import BaseModel, ConfigDict

from domain.protocol import Protocol
from domain.report import DiseaseResponseCell, OrrCell, OrrReport, orr, rows_from_streams
from store.base import EventStore
from web.charts import OrrPoint, orr_svg

__all__ = [
    "DiseaseTable",
    "OrrTable",
    "ci_text",
    "disease_charts",
    "disease_tables",
    "load_orr",
    "orr_chart",
    "orr_tables",
]


class OrrTable(BaseModel):
    """One timepoint's cells: overall first, then per disease, then per dose level."""

    model_config = ConfigDict(frozen=True)

    timepoint: str
    cells: tuple[OrrCell, ...]


class DiseaseRow(BaseModel):
    model_config = ConfigDict(frozen=True)

    definition: str
    rule: str
    source: str
    # One per timepoint of the report, None where the disease had nobody there.
    cells: tuple[DiseaseResponseCell | None, ...]


class DiseaseTable(BaseModel):
    """One disease's specific responses: a row per definition, a column per timepoint."""

    model_config = ConfigDict(frozen=True)

    disease: str
    rows: tuple[DiseaseRow, ...]


def load_orr(store: EventStore, protocol: Protocol | None = None) -> OrrReport:
    """The same report `trial report orr` prints: every stream through the workflows' fold,
    with the disease-specific definitions (rule, source) of ``protocol``."""
    streams = (store.read_stream(name) for name in store.streams())
    rules = protocol.response if protocol is not None else None
    return orr(rows_from_streams(streams), definitions=rules.definitions if rules else ())


def _pct(value: float) -> str:
    return f"{value * 100:.0f}"


def ci_text(cell: OrrCell | DiseaseResponseCell | None) -> str:
    """E.g. "40 % (12–74 %)"; a dash when nobody had reached the timepoint."""
    if cell is None:
        return "—"
    rate = cell.orr if isinstance(cell, OrrCell) else cell.rate
    if rate is None or cell.ci_low is None or cell.ci_high is None:
        return "—"
    return f"{_pct(rate)} % ({_pct(cell.ci_low)}–{_pct(cell.ci_high)} %)"


def _point(timepoint: str, cell: OrrCell | DiseaseResponseCell | None) -> OrrPoint:
    if cell is None:
        return (timepoint, None, None, None, "none")
    rate = cell.orr if isinstance(cell, OrrCell) else cell.rate
    return (timepoint, rate, cell.ci_low, cell.ci_high, f"{cell.responders}/{cell.denominator}")


def orr_chart(report: OrrReport) -> Markup:
    """The overall registered ORR of each timepoint with its interval, as one picture."""
    return orr_svg([_point(t, report.cell(t)) for t in report.timepoints])


def disease_charts(report: OrrReport) -> dict[str, Markup]:
    """Per disease: its registered ORR beside each of its disease-specific responses."""
    charts: dict[str, Markup] = {}
    timepoints = report.timepoints
    for table in disease_tables(report):
        registered = [_point(t, report.cell(t, "disease", table.disease)) for t in timepoints]
        more = [
            (row.definition, [_point(t, c) for t, c in zip(timepoints, row.cells, strict=True)])
            for row in table.rows
        ]
        charts[table.disease] = orr_svg(
            registered,
            label=f"{table.disease}: registered ORR and disease-specific responses by timepoint",
            more=more,
        )
    return charts


def orr_tables(report: OrrReport) -> list[OrrTable]:
    return [
        OrrTable(timepoint=tp, cells=tuple(c for c in report.cells if c.timepoint == tp))
        for tp in report.timepoints
    ]


def disease_tables(report: OrrReport) -> list[DiseaseTable]:
    tables: list[DiseaseTable] = []
    for disease in dict.fromkeys(c.disease for c in report.disease_cells):
        cells = [c for c in report.disease_cells if c.disease == disease]
        rows = []
        for name in dict.fromkeys(c.definition for c in cells):
            first = next(c for c in cells if c.definition == name)
            rows.append(
                DiseaseRow(
                    definition=name,
                    rule=first.rule,
                    source=first.source,
                    cells=tuple(report.disease_cell(t, disease, name) for t in report.timepoints),
                )
            )
        tables.append(DiseaseTable(disease=disease, rows=tuple(rows)))
    return tables
