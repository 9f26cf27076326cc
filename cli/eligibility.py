"""`trial eligibility` (being written)."""

from __future__ import annotations

import typer

__all__ = ["app"]

app = typer.Typer(help="Check screening records against the protocol.", no_args_is_help=True)
