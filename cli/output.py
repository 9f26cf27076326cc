"""Printing results: JSON for scripts (``--json``), rich tables for people."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

__all__ = ["console", "print_json", "print_result", "print_table"]

console = Console(highlight=False, soft_wrap=True)


def print_json(data: Any) -> None:
    # Plain print, not rich: scripts parse this and must not see wrapping or markup.
    print(json.dumps(data, indent=2, ensure_ascii=False))


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if cell is None else str(cell) for cell in row))
    # A fresh console reads the terminal width (or $COLUMNS) now, not at import time.
    Console(highlight=False).print(table)


def print_result(result: dict[str, Any], as_json: bool) -> None:
    """A submitted command's outcome: the events recorded and the phase reached."""
    if as_json:
        print_json(result)
        return
    state = result.get("summary") or result.get("state") or {}
    for event in result.get("events", []):
        console.print(
            f"[green]recorded[/] #{event['seq']} {event['type']} "
            f"by {event['actor']['user_id']} ({event['actor']['role']})"
        )
    console.print(f"subject {state.get('subject_id')} is now [bold]{state.get('phase')}[/]")
