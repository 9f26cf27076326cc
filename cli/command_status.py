"""`trial command ID`: whether a command was applied, refused (why) or is still pending."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.api_client import EXIT_DOMAIN, EXIT_NOT_RUNNING, fail
from cli.options import AsJson, Password, User, client
from cli.output import console, print_json

__all__ = ["command"]


def command(
    command_id: Annotated[str, typer.Argument(help="The command id (Idempotency-Key), a UUID")],
    user: User = None,
    password: Password = None,
    as_json: AsJson = False,
) -> None:
    """Show what became of a command: applied (its events), refused (why) or pending."""
    status = client(user, password).get(f"/api/commands/{command_id}")
    if as_json:
        print_json(status)
    else:
        line = f"{status['command_id']}: {status['status']}"
        if status.get("subject_id"):
            line += f" · {status['subject_id']}"
        if status.get("seqs"):
            line += f" · events {', '.join(map(str, status['seqs']))}"
        if status.get("message"):
            line += f" · {status['message']}"
        console.print(line, markup=False)
    if status["status"] == "refused":
        raise fail(status.get("message") or "refused", EXIT_DOMAIN)
    if status["status"] == "pending":
        raise typer.Exit(EXIT_NOT_RUNNING)
