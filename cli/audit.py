"""`trial audit`: verify the hash chain, replay a subject, check determinism, export the trail.

Exit codes: 0 clean / no difference, 1 something is broken or differs, 2 bad input,
3 Temporal (needed for the live comparison and the determinism check) is not reachable.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer
from rich.console import Console
from rich.table import Table
from temporalio.service import RPCError

from audit.determinism import (
    ReplayOutcome,
    check_histories,
    subject_to_workflow_id,
    subject_workflow_ids,
)
from audit.export import export_csv, export_jsonl
from audit.live import TemporalUnavailable, connect_temporal, live_state
from audit.odm import export_odm
from audit.replay import ReplayResult, replay_subject
from audit.signatures import with_signature_findings
from audit.statediff import FieldDifference, diff_states
from audit.verify import VerifyReport, verify_store
from cli.audit_log import register as register_log_commands
from cli.audit_log import verify_against_checkpoint
from domain.errors import DomainError
from domain.state import SubjectState
from store.base import EventStore
from store.factory import open_store
from system.config import load_settings

__all__ = ["EXIT_BROKEN", "EXIT_CLEAN", "EXIT_INVALID", "EXIT_TEMPORAL_DOWN", "app"]

EXIT_CLEAN = 0
EXIT_BROKEN = 1
EXIT_INVALID = 2
EXIT_TEMPORAL_DOWN = 3

app = typer.Typer(
    help="Audit the event store: verify, replay, determinism, export.", no_args_is_help=True
)

StoreUrl = Annotated[
    str | None,
    typer.Option("--store-url", help="Event store URL (default: EVENT_STORE_URL or .data/)."),
]
AsJson = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


class ExportFormat(StrEnum):
    JSONL = "jsonl"
    CSV = "csv"
    ODM = "odm"


def _out() -> Console:
    return Console(highlight=False, soft_wrap=True)


def _err() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


def _fail(message: str, code: int) -> typer.Exit:
    _err().print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)


@contextmanager
def _store(url: str | None) -> Iterator[EventStore]:
    store = open_store(url or load_settings().event_store_url)
    try:
        yield store
    finally:
        store.close()


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


# -- verify ------------------------------------------------------------------------------------


def _show_report(report: VerifyReport) -> None:
    console = _out()
    if report.clean:
        console.print(
            f"[green]OK[/] {report.streams_checked} stream(s), {report.events_checked} event(s): "
            "every hash, chain link, seq, indexed column and stream head verifies."
        )
        if report.tree_size is not None:
            console.print(f"Merkle log: size {report.tree_size}, root {report.root}")
        return
    table = Table(title=f"{len(report.findings)} finding(s)")
    table.add_column("stream")
    table.add_column("seq", justify="right")
    table.add_column("log position", justify="right")
    table.add_column("problem")
    for finding in report.findings:
        position = "" if finding.position is None else str(finding.position)
        table.add_row(finding.stream, str(finding.seq), position, finding.problem)
    console.print(table)
    console.print(
        f"[bold red]BROKEN[/] {len(report.findings)} of {report.streams_checked} stream(s); "
        f"{report.events_checked} event(s) read."
    )


@app.command()
def verify(
    subject: Annotated[str | None, typer.Option("--subject", help="Only this subject.")] = None,
    checkpoint: Annotated[
        Path | None,
        typer.Option(
            "--checkpoint",
            help="Also prove the store extends this signed checkpoint (consistency proof).",
        ),
    ] = None,
    public_key: Annotated[
        Path | None,
        typer.Option("--public-key", help="Trusted checkpoint key (default: the configured one)."),
    ] = None,
    proof_out: Annotated[
        Path | None, typer.Option("--proof-out", help="Write the consistency proof here (JSON).")
    ] = None,
    as_json: AsJson = False,
    store_url: StoreUrl = None,
) -> None:
    """Recompute every hash, link, seq and indexed column, check heads and the Merkle log."""
    if checkpoint is not None and subject is not None:
        raise _fail("--checkpoint covers the whole store; leave out --subject", EXIT_INVALID)
    with _store(store_url) as store:
        if subject is not None and not store.read_raw(subject) and store.head(subject) is None:
            raise _fail(f"no events for subject {subject!r} in the store", EXIT_INVALID)
        if checkpoint is not None:
            report = verify_against_checkpoint(store, checkpoint, public_key, proof_out)
        else:
            report = verify_store(store, subject)
        # Signatures bind the hashes of the events they sign (21 CFR 11.70).
        report = with_signature_findings(report, store, subject)
    if as_json:
        _print_json({**report.model_dump(mode="json"), "clean": report.clean})
    else:
        _show_report(report)
    raise typer.Exit(EXIT_CLEAN if report.clean else EXIT_BROKEN)


# -- replay ------------------------------------------------------------------------------------


def _parse_time(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise _fail(
            f"--as-of {text!r} is not an ISO 8601 time (e.g. 2026-03-02T09:00:00Z)",
            EXIT_INVALID,
        ) from None


async def _live(subject: str) -> SubjectState:
    settings = load_settings()
    client = await connect_temporal(settings)
    try:
        return await live_state(client, settings.task_queue, subject)
    except DomainError as exc:
        raise TemporalUnavailable(f"Temporal has no live workflow: {exc.message}") from exc
    except RPCError as exc:
        raise TemporalUnavailable(f"Temporal refused the state query: {exc.message}") from exc


def _state_table(state: SubjectState) -> Table:
    table = Table(title="state", show_header=False)
    table.add_column("field")
    table.add_column("value")
    for name, value in state.model_dump(mode="json").items():
        if value in (None, [], {}, ()):
            continue
        shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        table.add_row(name, shown if len(shown) <= 160 else shown[:157] + "…")
    return table


def _timeline_table(result: ReplayResult) -> Table:
    table = Table(title="timeline")
    for column in ("seq", "recorded (UTC)", "occurred", "who", "protocol", "what", "why"):
        table.add_column(column)
    for entry in result.timeline:
        table.add_row(
            str(entry.seq),
            entry.recorded_at.isoformat(timespec="seconds"),
            entry.occurred_at.isoformat(timespec="seconds"),
            f"{entry.user_id} ({entry.role})",
            entry.protocol_version,
            f"{entry.type}: {entry.what}",
            entry.reason or "",
        )
    return table


def _show_replay(result: ReplayResult, differences: list[FieldDifference] | None) -> None:
    console = _out()
    when = result.as_of.isoformat() if result.as_of else "now"
    console.print(
        f"subject {result.subject_id} as of {when}: {len(result.timeline)} of "
        f"{result.events_total} event(s) folded"
    )
    console.print(_state_table(result.state))
    console.print(_timeline_table(result))
    if differences is None:
        return
    if not differences:
        console.print("[green]MATCH[/] the live workflow reports exactly the replayed state.")
        return
    table = Table(title="[bold red]stored replay differs from the live workflow[/]")
    for column in ("field", "stored events", "live workflow"):
        table.add_column(column)
    for diff in differences:
        table.add_row(diff.field, json.dumps(diff.stored), json.dumps(diff.live))
    console.print(table)


@app.command()
def replay(
    subject: Annotated[str, typer.Argument(help="Subject id.")],
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Fold events recorded at or before this time (ISO 8601)."),
    ] = None,
    as_json: AsJson = False,
    store_url: StoreUrl = None,
) -> None:
    """Rebuild a subject's state from stored events; without --as-of, compare with the live one."""
    moment = _parse_time(as_of) if as_of is not None else None
    with _store(store_url) as store:
        result = replay_subject(store, subject, moment)
    if result.events_total == 0:
        raise _fail(f"no events for subject {subject!r} in the store", EXIT_INVALID)
    differences: list[FieldDifference] | None = None
    live: SubjectState | None = None
    unavailable: str | None = None
    if moment is None:
        try:
            live = asyncio.run(_live(subject))
            differences = diff_states(result.state, live)
        except TemporalUnavailable as exc:
            unavailable = str(exc)
    if as_json:
        _print_json(
            {
                **result.model_dump(mode="json"),
                "live": live.model_dump(mode="json") if live is not None else None,
                "differences": (
                    [d.model_dump(mode="json") for d in differences]
                    if differences is not None
                    else None
                ),
                "live_unavailable": unavailable,
            }
        )
    else:
        _show_replay(result, differences)
    if unavailable is not None:
        raise _fail(
            f"cannot compare with the live workflow: {unavailable}. The replay above comes "
            "from the event store alone.",
            EXIT_TEMPORAL_DOWN,
        )
    raise typer.Exit(EXIT_BROKEN if differences else EXIT_CLEAN)


# -- determinism -------------------------------------------------------------------------------


async def _determinism(subject: str | None) -> list[ReplayOutcome]:
    client = await connect_temporal(load_settings())
    try:
        ids = (
            [subject_to_workflow_id(subject)]
            if subject is not None
            else await subject_workflow_ids(client)
        )
        return await check_histories(client, ids)
    except RPCError as exc:
        raise TemporalUnavailable(f"Temporal refused the history request: {exc.message}") from exc


@app.command()
def determinism(
    subject: Annotated[str | None, typer.Argument(help="Subject id (or use --all).")] = None,
    all_subjects: Annotated[bool, typer.Option("--all", help="Every subject workflow.")] = False,
    as_json: AsJson = False,
) -> None:
    """Replay workflow histories from Temporal against the current SubjectWorkflow code."""
    if (subject is None) == (not all_subjects):
        raise _fail("give exactly one of SUBJECT or --all", EXIT_INVALID)
    try:
        outcomes = asyncio.run(_determinism(subject))
    except TemporalUnavailable as exc:
        raise _fail(str(exc), EXIT_TEMPORAL_DOWN) from None
    failed = [o for o in outcomes if not o.passed]
    if as_json:
        _print_json([o.model_dump(mode="json") for o in outcomes])
    else:
        console = _out()
        for outcome in outcomes:
            if outcome.passed:
                console.print(f"[green]PASS[/] {outcome.workflow_id} ({outcome.events} events)")
            else:
                console.print(f"[bold red]FAIL[/] {outcome.workflow_id}: {outcome.error}")
        console.print(f"{len(outcomes) - len(failed)} passed, {len(failed)} failed")
    raise typer.Exit(EXIT_BROKEN if failed else EXIT_CLEAN)


# -- export ------------------------------------------------------------------------------------


def _export(fmt: ExportFormat, store: EventStore, out: TextIO, subject: str | None) -> int:
    if fmt is ExportFormat.JSONL:
        return export_jsonl(store, out, subject)
    if fmt is ExportFormat.CSV:
        return export_csv(store, out, subject)
    return export_odm(store, out, subject)


@app.command()
def export(
    out: Annotated[Path, typer.Argument(help="Output file ('-' for standard output).")],
    fmt: Annotated[ExportFormat, typer.Option("--format", help="jsonl, csv or odm.")],
    subject: Annotated[str | None, typer.Option("--subject", help="Only this subject.")] = None,
    store_url: StoreUrl = None,
) -> None:
    """Write the full audit trail: stored envelopes (jsonl), flat rows (csv) or CDISC ODM 1.3.2."""
    with _store(store_url) as store:
        if str(out) == "-":
            count = _export(fmt, store, sys.stdout, subject)
        else:
            # newline="" lets the csv module write its own line endings.
            with out.open("w", encoding="utf-8", newline="") as handle:
                count = _export(fmt, store, handle, subject)
    _err().print(f"exported {count} event(s) as {fmt.value} to {out}")


register_log_commands(app)
