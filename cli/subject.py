"""`trial subject register|show|events|submit`: subjects and raw commands through the API."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.api_client import EXIT_INPUT, fail
from cli.monitoring import Meaning, SignPassword, sign_and_send
from cli.options import AsJson, At, Password, User, client, occurred_at, read_json_file
from cli.output import console, print_json, print_result, print_table

# Commands that are electronic signatures; the server refuses them without the password.
SIGNED_TYPES = frozenset(
    {"sign_eligibility", "approve_lymphodepletion", "override_renal_threshold", "sign_casebook"}
)

__all__ = ["app"]

app = typer.Typer(
    help="Register subjects, show their state and history, send commands.", no_args_is_help=True
)


@app.command()
def register(
    subject_id: Annotated[str, typer.Argument(help="e.g. SBH-001")],
    disease: Annotated[str, typer.Option(help="SLE, SS, SSc, DM or ANCA-AAV")],
    sex: Annotated[str, typer.Option(help="female or male")],
    birth_date: Annotated[datetime, typer.Option(formats=["%Y-%m-%d"], help="YYYY-MM-DD")],
    site: Annotated[str, typer.Option(help="Site id")] = "SBH-01",
    reason: Annotated[str | None, typer.Option(help="Optional note")] = None,
    at: At = None,
    user: User = None,
    password: Password = None,
    as_json: AsJson = False,
) -> None:
    """Register a new subject (starts their workflow)."""
    body: dict[str, Any] = {
        "occurred_at": occurred_at(at),
        "subject_id": subject_id,
        "disease": disease,
        "sex": sex,
        "birth_date": birth_date.date().isoformat(),
        "site_id": site,
        "reason": reason,
    }
    print_result(client(user, password).post("/api/subjects", body), as_json)


@app.command()
def show(
    subject_id: str, user: User = None, password: Password = None, as_json: AsJson = False
) -> None:
    """Where the subject stands: phase, dosing, visits."""
    state = client(user, password).get(f"/api/subjects/{subject_id}")
    if as_json:
        print_json(state)
        return
    console.print(
        f"[bold]{state['subject_id']}[/] · {state['disease']} · phase [bold]{state['phase']}[/]"
    )
    for key in ("consented_on", "dose_level", "route", "product_lot", "infusion_date", "tu_per_kg"):
        if state.get(key) is not None:
            console.print(f"  {key.replace('_', ' ')}: {state[key]}")
    if state.get("visits"):
        print_table(
            "Visits",
            ["code", "label", "target", "window", "status"],
            [
                [
                    v["code"],
                    v["label"],
                    v["target"],
                    f"{v['window_start']} – {v['window_end']}",
                    v["status"],
                ]
                for v in state["visits"]
            ],
        )


@app.command()
def events(
    subject_id: str, user: User = None, password: Password = None, as_json: AsJson = False
) -> None:
    """The subject's recorded events, oldest first."""
    rows = client(user, password).get(f"/api/subjects/{subject_id}/events")
    if as_json:
        print_json(rows)
        return
    print_table(
        f"Events of {subject_id}",
        ["seq", "type", "who", "occurred", "reason"],
        [
            [
                e["seq"],
                e["type"],
                f"{e['actor']['user_id']} ({e['actor']['role']})",
                e["occurred_at"],
                e.get("reason") or "",
            ]
            for e in rows
        ],
    )


@app.command()
def submit(
    file: Annotated[Path, typer.Argument(help="JSON file: a command, or {subject_id, command}")],
    subject_id: Annotated[
        str | None, typer.Option("--subject", help="Subject, if not in the file")
    ] = None,
    user: User = None,
    password: Password = None,
    sign_password: SignPassword = None,
    meaning: Meaning = None,
    as_json: AsJson = False,
) -> None:
    """Send any command from a JSON file (the API's command body, with its `type`).

    An electronic signature (sign_eligibility, approve_lymphodepletion,
    override_renal_threshold, sign_casebook) asks for the password again (or takes
    --sign-password)."""
    data = read_json_file(file)
    if not isinstance(data, dict):
        raise fail(f"{file} must hold a JSON object", EXIT_INPUT)
    command: dict[str, Any] = data.get("command", data)
    subject = subject_id or data.get("subject_id") or command.get("subject_id")
    if not subject:
        raise fail("which subject? pass --subject or put subject_id in the file", EXIT_INPUT)
    command.setdefault("occurred_at", occurred_at(None))
    api = client(user, password)
    if command.get("type", "register") == "register" and "disease" in command:
        result = api.post("/api/subjects", {k: v for k, v in command.items() if k != "type"})
    elif command.get("type") in SIGNED_TYPES:
        result = sign_and_send(subject, command, user, password, sign_password, meaning)
    else:
        result = api.post(f"/api/subjects/{subject}/commands", command)
    print_result(result, as_json)
