"""`trial report`: outcome reports read straight from the event store (Temporal not needed)."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from domain.report import OrrCell, OrrReport, orr, rows_from_streams
from store.factory import open_store

__all__ = ["app", "load_orr"]

app = typer.Typer(help="Outcome reports from the event store.", no_args_is_help=True)


def load_orr(store_url: str | None) -> OrrReport:
    store = open_store(store_url)
    try:
        streams = (store.read_stream(name) for name in store.streams())
        return orr(rows_from_streams(streams))
    finally:
        store.close()


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def _table(report: OrrReport) -> Table:
    table = Table(
        title="Objective response rate (CR + PR over evaluable; Cheson 2007)",
        caption=f"Exact (Clopper–Pearson) {report.confidence:.0%} CI; NE is not evaluable.",
    )
    for column in ("Timepoint", "Group", "CR", "PR", "SD", "PD", "NE", "ORR", "95% CI"):
        table.add_column(column, justify="left" if column in ("Timepoint", "Group") else "right")

    def add(cell: OrrCell) -> None:
        group = "overall" if cell.by == "overall" else f"{cell.by.replace('_', ' ')} {cell.group}"
        ci = "—" if cell.ci_low is None else f"{_percent(cell.ci_low)}–{_percent(cell.ci_high)}"
        rate = (
            "—" if cell.orr is None else f"{cell.responders}/{cell.evaluable} {_percent(cell.orr)}"
        )
        table.add_row(
            cell.timepoint, group, *(str(n) for n in (cell.cr, cell.pr, cell.sd, cell.pd, cell.ne)),
            rate, ci,
        )  # fmt: skip

    for cell in report.cells:
        add(cell)
    return table


@app.command("orr")
def orr_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    store_url: Annotated[
        str | None,
        typer.Option("--store-url", help="Event store URL (default: EVENT_STORE_URL or .data)."),
    ] = None,
) -> None:
    """ORR at D0, M1, M2, M3, M6 and M12: overall, per disease and per dose level."""
    report = load_orr(store_url)
    if as_json:
        typer.echo(json.dumps(report.model_dump(mode="json"), indent=2, ensure_ascii=False))
        return
    Console(width=None if sys.stdout.isatty() else 140).print(_table(report))
