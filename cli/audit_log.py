"""`trial audit checkpoint|prove|crosscheck` and `verify --checkpoint` on the CLI.

Exit codes as for the rest of `trial audit`: 0 clean, 1 broken, 2 bad input (a missing key, an
unreadable checkpoint file, an unknown event), 3 Temporal not reachable (crosscheck).
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import ValidationError
from rich.console import Console
from temporalio.service import RPCError

from audit.checkpoint import (
    Checkpoint,
    CheckpointConfig,
    CheckpointKeyError,
    CheckpointLog,
    FileNotary,
    Notary,
    checkpoint_config,
    load_public_key,
    load_signing_key,
)
from audit.crosscheck import CrosscheckReport, crosscheck
from audit.live import TemporalUnavailable, connect_temporal
from audit.proofs import CheckpointRefused, check_checkpoint, inclusion_document, take_checkpoint
from audit.verify import VerifyReport
from store.base import EventStore
from store.factory import open_store
from system.config import load_settings

__all__ = ["config", "register", "verify_against_checkpoint"]

EXIT_CLEAN, EXIT_BROKEN, EXIT_INVALID, EXIT_TEMPORAL_DOWN = 0, 1, 2, 3


def _err(message: str) -> None:
    Console(stderr=True, highlight=False, soft_wrap=True).print(f"[bold red]error:[/] {message}")


def _write_json(data: Any, out: Path | None) -> None:
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if out is None or str(out) == "-":
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")


def config() -> CheckpointConfig:
    return checkpoint_config(load_settings().data_dir)


def notaries(cfg: CheckpointConfig) -> tuple[Notary, ...]:
    return (FileNotary(cfg.notary_file),) if cfg.notary_file is not None else ()


def read_checkpoint(path: Path) -> Checkpoint:
    try:
        text = path.read_text(encoding="utf-8").strip()
        # A checkpoint file, or a copy of the checkpoint log: the last line is the newest.
        if text.startswith("{") and "\n{" in text and text.endswith("}"):
            text = text.splitlines()[-1]
        return Checkpoint.model_validate_json(text)
    except (OSError, ValidationError, ValueError) as exc:
        raise CheckpointKeyError(f"{path} is not a readable checkpoint: {exc}") from None


def trusted_key(cfg: CheckpointConfig, public_key: Path | None) -> Ed25519PublicKey:
    if public_key is not None:
        return load_public_key(public_key)
    published = cfg.key_file.with_suffix(".pub")
    if cfg.key_env is None and published.exists():
        return load_public_key(published)
    return load_signing_key(cfg).public


def checkpoint_command(store: EventStore, out: Path | None, as_json: bool) -> None:
    cfg = config()
    try:
        key = load_signing_key(cfg)
    except CheckpointKeyError as exc:
        _err(str(exc))
        raise typer.Exit(EXIT_INVALID) from None
    log = CheckpointLog(cfg.log_dir)
    try:
        checkpoint = take_checkpoint(store, key, log, cfg.log_id, datetime.now(UTC), notaries(cfg))
    except CheckpointRefused as exc:
        _err(f"not signing a checkpoint over a store that does not verify: {exc}")
        raise typer.Exit(EXIT_BROKEN) from None
    if out is not None:
        _write_json(checkpoint.model_dump(), out)
    if as_json:
        _write_json(checkpoint.model_dump(), None)
    else:
        Console(highlight=False, soft_wrap=True).print(
            f"[green]checkpoint[/] size {checkpoint.tree_size} root {checkpoint.root} at "
            f"{checkpoint.time}, key {checkpoint.key_id}; appended to {log.checkpoints_file}"
            + (f" and {out}" if out is not None else "")
        )


def verify_against_checkpoint(
    store: EventStore,
    checkpoint_file: Path,
    public_key: Path | None,
    proof_out: Path | None,
) -> VerifyReport:
    cfg = config()
    try:
        checkpoint = read_checkpoint(checkpoint_file)
        public = trusted_key(cfg, public_key)
    except (CheckpointKeyError, OSError, ValueError) as exc:
        _err(str(exc))
        raise typer.Exit(EXIT_INVALID) from None
    report, document = check_checkpoint(store, checkpoint, public, CheckpointLog(cfg.log_dir))
    if document is not None and proof_out is not None:
        _write_json(document, proof_out)
    return report


def prove_command(store: EventStore, subject: str, seq: int, out: Path | None) -> None:
    cfg = config()
    log = CheckpointLog(cfg.log_dir)
    latest = log.latest()
    if latest is None:
        _err(f"no checkpoint in {log.checkpoints_file}: run `trial audit checkpoint` first")
        raise typer.Exit(EXIT_INVALID)
    try:
        document = inclusion_document(store, latest, subject, seq)
    except LookupError as exc:
        _err(str(exc.args[0]))
        raise typer.Exit(EXIT_INVALID) from None
    _write_json(document, out)


StoreUrl = Annotated[
    str | None,
    typer.Option("--store-url", help="Event store URL (default: EVENT_STORE_URL or .data/)."),
]


@contextmanager
def _store(url: str | None) -> Iterator[EventStore]:
    store = open_store(url or load_settings().event_store_url)
    try:
        yield store
    finally:
        store.close()


async def _crosscheck(store: EventStore, subject: str | None) -> CrosscheckReport:
    client = await connect_temporal(load_settings())
    try:
        return await crosscheck(client, store, [subject] if subject is not None else None)
    except RPCError as exc:
        raise TemporalUnavailable(f"Temporal refused the history request: {exc.message}") from exc


def crosscheck_command(store: EventStore, subject: str | None, as_json: bool) -> None:
    try:
        report = asyncio.run(_crosscheck(store, subject))
    except TemporalUnavailable as exc:
        _err(str(exc))
        raise typer.Exit(EXIT_TEMPORAL_DOWN) from None
    if as_json:
        _write_json({**report.model_dump(mode="json"), "clean": report.clean}, None)
    else:
        console = Console(highlight=False, soft_wrap=True)
        for stream, reason in sorted(report.skipped.items()):
            console.print(f"[yellow]SKIPPED[/] {stream}: {reason}")
        for found in report.discrepancies:
            console.print(f"[bold red]DIFFERS[/] {found.stream} seq {found.seq}: {found.problem}")
        verdict = "[green]MATCH[/]" if report.clean else "[bold red]DIFFERENT[/]"
        console.print(
            f"{verdict} {report.events_compared} event(s) compared with "
            f"{report.histories_read} workflow history(ies); {len(report.discrepancies)} "
            f"difference(s), {len(report.skipped)} stream(s) skipped"
        )
    raise typer.Exit(EXIT_CLEAN if report.clean else EXIT_BROKEN)


def register(app: typer.Typer) -> None:
    """Add `checkpoint`, `prove` and `crosscheck` to the `trial audit` group."""

    @app.command(name="crosscheck")
    def crosscheck_cli(
        subject: Annotated[
            str | None, typer.Option("--subject", help="Only this subject's workflow.")
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
        store_url: StoreUrl = None,
    ) -> None:
        """Compare the store with the events the workflows appended, as Temporal recorded them."""
        with _store(store_url) as store:
            crosscheck_command(store, subject, as_json)

    @app.command()
    def checkpoint(
        out: Annotated[
            Path | None, typer.Option("--out", help="Also write the checkpoint to this file.")
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print the checkpoint.")] = False,
        store_url: StoreUrl = None,
    ) -> None:
        """Verify the store, then sign (size, root, time) and append it to the checkpoint log."""
        with _store(store_url) as store:
            checkpoint_command(store, out, as_json)

    @app.command()
    def prove(
        subject: Annotated[str, typer.Argument(help="Subject (stream) id.")],
        seq: Annotated[int, typer.Argument(help="The event's seq in the stream.")],
        out: Annotated[
            Path | None, typer.Option("--out", help="Write the proof here (default: stdout).")
        ] = None,
        store_url: StoreUrl = None,
    ) -> None:
        """Print an inclusion proof of one event against the latest checkpoint (JSON)."""
        with _store(store_url) as store:
            prove_command(store, subject, seq, out)
