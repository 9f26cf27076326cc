"""`trial report`: outcome reports read straight from the event store (Temporal not needed)."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from domain.protocol import load_protocol
from domain.report import OrrCell, OrrReport, orr, rows_from_streams
from store.factory import open_store

__all__ = ["app", "load_orr"]

app = typer.Typer(help="Outcome reports from the event store.", no_args_is_help=True)


def load_orr(store_url: str | None) -> OrrReport:
    store = open_store(store_url)
    try:
        streams = (store.read_stream(name) for name in store.streams())
        rules = load_protocol().response
        return orr(rows_from_streams(streams), definitions=rules.definitions if rules else ())
    finally:
        store.close()


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def _rate(responders: int, denominator: int, rate: float | None) -> str:
    return "—" if rate is None else f"{responders}/{denominator} {_percent(rate)}"


def _ci(low: float | None, high: float | None) -> str:
    return "—" if low is None else f"{_percent(low)}–{_percent(high)}"


def _table(report: OrrReport) -> Table:
    table = Table(
        title="Objective response rate (CR + PR, Cheson 2007; registered primary outcome)",
        caption=f"{report.rule} Exact (Clopper–Pearson) {report.confidence:.0%} CI.",
    )
    columns = ("Timepoint", "Group", "N", "CR", "PR", "SD", "PD", "NE", "Missed", "Withdrawn")
    for column in (*columns, "Not yet", "ORR", "95% CI"):
        table.add_column(column, justify="left" if column in ("Timepoint", "Group") else "right")

    def add(cell: OrrCell) -> None:
        group = "overall" if cell.by == "overall" else f"{cell.by.replace('_', ' ')} {cell.group}"
        counts = (cell.denominator, cell.cr, cell.pr, cell.sd, cell.pd, cell.ne, cell.missed,
                  cell.withdrawn, cell.not_yet)  # fmt: skip
        table.add_row(
            cell.timepoint, group, *(str(n) for n in counts),
            _rate(cell.responders, cell.denominator, cell.orr), _ci(cell.ci_low, cell.ci_high),
        )  # fmt: skip

    for cell in report.cells:
        add(cell)
    return table


def _disease_table(report: OrrReport) -> Table:
    table = Table(
        title="Disease-specific responses (protocol [response]; site defaults)",
        caption="Same denominator; a visit without the measures counts as a non-responder.",
    )
    for column in ("Timepoint", "Disease", "Response", "Rule", "N", "Not evaluable", "Rate",
                   "95% CI"):  # fmt: skip
        table.add_column(column, justify="right" if column in ("N", "Not evaluable") else "left")
    for cell in report.disease_cells:
        table.add_row(
            cell.timepoint, cell.disease, cell.definition, cell.rule, str(cell.denominator),
            str(cell.not_evaluable), _rate(cell.responders, cell.denominator, cell.rate),
            _ci(cell.ci_low, cell.ci_high),
        )  # fmt: skip
    return table


@app.command("orr")
def orr_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    store_url: Annotated[
        str | None,
        typer.Option("--store-url", help="Event store URL (default: EVENT_STORE_URL or .data)."),
    ] = None,
) -> None:
    """ORR at each follow-up timepoint (overall, per disease, per dose level) and the
    disease-specific response rates; Day 0 is the baseline."""
    report = load_orr(store_url)
    if as_json:
        typer.echo(json.dumps(report.model_dump(mode="json"), indent=2, ensure_ascii=False))
        return
    console = Console(width=None if sys.stdout.isatty() else 160)
    console.print(_table(report))
    if report.disease_cells:
        console.print(_disease_table(report))
