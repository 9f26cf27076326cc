"""`trial protocol diff|amend|list`: protocol versions, what an amendment changes, signing it in."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from cli.api_client import EXIT_INPUT, fail
from cli.options import AsJson, Password, User, client
from cli.output import console, print_json, print_table
from domain.protocol import PROTOCOLS_DIR, Protocol, load_protocol, load_protocol_file
from domain.protocol_diff import diff_protocols

__all__ = ["app"]

app = typer.Typer(
    help="Protocol versions: what an amendment changes, and the PI's signature putting it in "
    "force.",
    no_args_is_help=True,
)


def _protocol(ref: str) -> Protocol:
    """A version ("v2", "2.0") under protocols/, or a protocol file's path."""
    path = Path(ref)
    try:
        if path.suffix == ".toml":
            return load_protocol_file(path)
        version = ref.removeprefix("v")
        return load_protocol(version if "." in version else f"{version}.0")
    except OSError as exc:
        raise fail(f"cannot read {ref}: {exc.strerror}", EXIT_INPUT) from exc
    except (ValueError, ValidationError) as exc:
        raise fail(f"{ref} is not a valid protocol file: {exc}", EXIT_INPUT) from exc
    except KeyError as exc:
        raise fail(f"no protocol version {ref!r} under {PROTOCOLS_DIR}", EXIT_INPUT) from exc


def _short(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):
        text = ", ".join(f"{k}={v}" for k, v in value.items() if v not in (None, [], ()))
    elif isinstance(value, list):
        text = ", ".join(
            str(v["code"]) if isinstance(v, dict) and "code" in v else str(v) for v in value
        )
    else:
        text = str(value)
    return text if len(text) <= 70 else text[:67] + "..."


@app.command()
def diff(old: str, new: str, as_json: AsJson = False) -> None:
    """What changed from OLD to NEW (versions like v1 / 2.0, or .toml files): criteria, visits,
    doses, safety rules, long-term follow-up."""
    changes = diff_protocols(_protocol(old), _protocol(new))
    if as_json:
        print_json([ch.model_dump(mode="json") for ch in changes])
        return
    if not changes:
        console.print("no differences")
        return
    rows = [[ch.section, ch.path, ch.kind, _short(ch.old), _short(ch.new)] for ch in changes]
    print_table(f"{old} → {new}", ("Section", "Setting", "Change", "Old", "New"), rows)


@app.command()
def amend(
    file: Path,
    effective: Annotated[
        datetime, typer.Option("--effective", help="First day in force (site date, YYYY-MM-DD).")
    ],
    user: User = None,
    password: Password = None,
    as_json: AsJson = False,
) -> None:
    """Sign FILE (a new protocol version with an [amendment] section) into force as the PI.

    Running subjects move onto it on its effective day at their next safe point.
    """
    _protocol(str(file))  # a bad file is refused here, before anything is sent
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise fail(f"cannot read {file}: {exc.strerror}", EXIT_INPUT) from exc
    effective_on: date = effective.date()
    answer = client(user, password).post(
        "/api/protocol/amendments", {"toml": text, "effective_on": effective_on.isoformat()}
    )
    if as_json:
        print_json(answer)
        return
    console.print(
        f"protocol [bold]{answer['version']}[/] (after {answer['previous_version']}) signed into "
        f"force from {answer['effective_on']}; sha256 {answer['sha256'][:16]}…, "
        f"{answer['changes']} changes"
    )
    console.print(
        f"subjects told: {len(answer['subjects_notified'])}; not told: "
        f"{len(answer['subjects_skipped'])}"
    )


@app.command("list")
def list_amendments(user: User = None, password: Password = None, as_json: AsJson = False) -> None:
    """The amendments registered so far."""
    rows = client(user, password).get("/api/protocol/amendments")
    if as_json:
        print_json(rows)
        return
    print_table(
        "Protocol amendments",
        ("Version", "After", "Effective", "Summary"),
        [[r["version"], r["previous_version"], r["effective_on"], r["summary"]] for r in rows],
    )
