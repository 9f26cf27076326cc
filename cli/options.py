"""Options shared by every API-backed command, and small parsing helpers."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.api_client import EXIT_INPUT, ApiClient, Credentials, fail

__all__ = [
    "AsJson",
    "At",
    "Password",
    "User",
    "client",
    "days_option",
    "occurred_at",
    "read_json_file",
]

User = Annotated[str | None, typer.Option("--user", "-u", help="User name (default: $JY231_USER).")]
Password = Annotated[
    str | None, typer.Option("--password", "-p", help="Password (default: $JY231_PASSWORD).")
]
AsJson = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
At = Annotated[
    datetime | None,
    typer.Option("--at", help="When it happened (ISO date-time, UTC if no zone); default now."),
]


def client(user: str | None, password: str | None) -> ApiClient:
    return ApiClient(Credentials(user, password))


def occurred_at(at: datetime | None) -> str:
    moment = at or datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.isoformat()


def today_or(value: datetime | None) -> str:
    return (value.date() if value else date.today()).isoformat()


def read_json_file(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise fail(f"cannot read {path}: {exc.strerror}", EXIT_INPUT) from exc
    except json.JSONDecodeError as exc:
        raise fail(f"{path} is not valid JSON: {exc.msg} (line {exc.lineno})", EXIT_INPUT) from exc


def days_option(text: str) -> int:
    """'14d', '2w' or '14' as a number of days."""
    match = re.fullmatch(r"\s*(\d+)\s*([dw]?)\s*", text)
    if not match:
        raise fail(f"--due-within {text!r}: use a number of days like 14d or 2w", EXIT_INPUT)
    return int(match.group(1)) * (7 if match.group(2) == "w" else 1)
