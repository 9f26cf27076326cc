"""`trial eligibility`: judge a screening record file against the protocol, or show its schema.

Exit codes: 0 eligible, 1 not eligible or incomplete, 2 the input could not be judged at all.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from domain.eligibility import EligibilityResult, evaluate
from domain.protocol import DEFAULT_PROTOCOL_VERSION, Protocol, load_protocol
from domain.screening import ScreeningRecord

__all__ = ["EXIT_ELIGIBLE", "EXIT_INVALID", "EXIT_NOT_ELIGIBLE", "app"]

EXIT_ELIGIBLE = 0
EXIT_NOT_ELIGIBLE = 1
EXIT_INVALID = 2

app = typer.Typer(help="Check screening records against the protocol.", no_args_is_help=True)

_STYLE = {"met": "green", "not_met": "bold red", "missing": "yellow"}


def _fail(message: str) -> typer.Exit:
    Console(stderr=True, highlight=False, soft_wrap=True).print(f"[bold red]error:[/] {message}")
    return typer.Exit(EXIT_INVALID)


def _describe(error: Any) -> str:
    """One pydantic error as 'field: what is wrong (input: …)', without pydantic's URL."""
    where = ".".join(str(part) for part in error["loc"]) or "record"
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "missing":
        return f"{where}: required field is missing"
    if error["type"] == "extra_forbidden":
        return f"{where}: unknown field (see `trial eligibility schema`)"
    return f"{where}: {message} (input: {error.get('input')!r})"


def _load_record(path: Path) -> ScreeningRecord:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _fail(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(f"{path}: cannot read ({exc})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _fail(
            f"{path}: not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    if not isinstance(data, dict):
        raise _fail(f"{path}: expected a JSON object with the screening fields")
    try:
        return ScreeningRecord.model_validate(data)
    except ValidationError as exc:
        lines = "\n".join(f"  - {_describe(err)}" for err in exc.errors())
        raise _fail(f"{path}: invalid screening record\n{lines}") from None


def _load_protocol(version: str) -> Protocol:
    try:
        return load_protocol(version)
    except KeyError:
        raise _fail(f"no protocol with version {version!r}") from None


def _table(result: EligibilityResult, record: ScreeningRecord, protocol: Protocol) -> Table:
    table = Table(
        title=f"{protocol.protocol.id} v{protocol.version} — {record.disease}, "
        f"screened {record.screening_date}",
        caption="Exclusions: met = the subject is NOT excluded.",
    )
    for column in ("Criterion", "Verdict", "Rule", "Value", "Reason"):
        table.add_column(column, overflow="fold")
    for v in result.verdicts:
        table.add_row(
            v.criterion,
            f"[{_STYLE[v.verdict]}]{v.verdict}[/]",
            v.rule,
            v.value or "—",
            v.reason,
        )
    return table


@app.command()
def check(
    file: Annotated[Path, typer.Argument(help="Screening record as JSON.", show_default=False)],
    as_json: Annotated[bool, typer.Option("--json", help="Print the verdicts as JSON.")] = False,
    protocol_version: Annotated[
        str, typer.Option("--protocol-version", help="Protocol version the subject consented to.")
    ] = DEFAULT_PROTOCOL_VERSION,
) -> None:
    """Judge every inclusion and exclusion criterion; exit 0 only when all are met."""
    protocol = _load_protocol(protocol_version)
    record = _load_record(file)
    result = evaluate(record, protocol.eligibility)
    if as_json:
        payload = {"protocol_version": protocol.version, **result.model_dump(mode="json")}
        typer.echo(json.dumps(payload, indent=2, ensure_ascii=False))
    else:
        # Piped output gets a wide fixed layout; a terminal keeps its own width.
        console = Console(width=None if sys.stdout.isatty() else 160)
        console.print(_table(result, record, protocol))
        counts = {k: len(result.with_verdict(k)) for k in ("met", "not_met", "missing")}
        colour = {"eligible": "green", "not_eligible": "red", "incomplete": "yellow"}[result.status]
        console.print(
            f"[bold {colour}]{result.status.upper().replace('_', ' ')}[/] — "
            f"{counts['met']} met, {counts['not_met']} not met, {counts['missing']} missing"
        )
    raise typer.Exit(EXIT_ELIGIBLE if result.eligible else EXIT_NOT_ELIGIBLE)


@app.command()
def schema() -> None:
    """Print the JSON Schema of a screening record."""
    typer.echo(json.dumps(ScreeningRecord.model_json_schema(), indent=2, ensure_ascii=False))
