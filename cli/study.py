"""`trial study show|slot|review`: dose-level cohorts and the study's commands via the API."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cli.api_client import Credentials
from cli.monitoring import SignPassword
from cli.options import AsJson, Password, User, client
from cli.output import console, print_json, print_table

__all__ = ["app"]

app = typer.Typer(
    help="Dose-level cohorts (3+3, sentinel staggering): show them, request slots, sign reviews.",
    no_args_is_help=True,
)

DoseLevel = Annotated[str, typer.Option("--dose-level", help="DL1, DL2 or DL3")]


@app.command()
def show(user: User = None, password: Password = None, as_json: AsJson = False) -> None:
    """Each dose level's cohort, DLT outcomes, 3+3 decision and pending safety reviews."""
    view = client(user, password).get("/api/study")
    if as_json:
        print_json(view)
        return
    if not view.get("running"):
        console.print(f"study {view.get('study_id')}: nothing recorded yet (no slot granted)")
        return
    rows = [_cohort_row(cohort) for cohort in view.get("cohorts", [])]
    columns = ("Dose level", "Status", "Members", "DLT", "Evaluable", "Decision")
    print_table(f"Study {view['study_id']}", columns, rows)
    pending = view.get("reviews_pending") or []
    if pending:
        console.print(f"[bold]Safety review pending (PI):[/] {', '.join(pending)}")


def _cohort_row(cohort: dict[str, Any]) -> list[Any]:
    members = ", ".join(
        m["subject_id"] + (" (sentinel)" if m.get("sentinel") else "")
        for m in cohort.get("members", [])
    )
    count = f"{len(cohort.get('members', []))}/{cohort['size']}"
    return [
        cohort["dose_level"],
        cohort["status"],
        f"{count} {members}".strip(),
        cohort["dlts"],
        cohort["evaluable"],
        cohort["decision"],
    ]


@app.command()
def slot(
    subject_id: str,
    dose_level: DoseLevel,
    user: User = None,
    password: Password = None,
    as_json: AsJson = False,
) -> None:
    """Ask the study for a slot at the subject's enrolled dose level (before lymphodepletion).

    Exits 0 when granted or told to wait, 1 when refused.
    """
    answer = client(user, password).post(
        f"/api/subjects/{subject_id}/slot", {"dose_level": dose_level}
    )
    if as_json:
        print_json(answer)
        return
    until = f" until {answer['wait_until']}" if answer.get("wait_until") else ""
    sentinel = " (sentinel)" if answer.get("sentinel") else ""
    console.print(
        f"slot {answer['dose_level']} for {answer['subject_id']}: "
        f"[bold]{answer['decision']}[/]{sentinel}{until} — {answer['reason']}"
    )


@app.command()
def review(
    dose_level: DoseLevel,
    decision: Annotated[str, typer.Option(help="escalate or stay")],
    summary: Annotated[str, typer.Option(help="The review's reasoning, kept with the event")],
    user: User = None,
    password: Password = None,
    sign_password: SignPassword = None,
    as_json: AsJson = False,
) -> None:
    """Sign the safety review of a level eligible for escalation (PI only; an electronic
    signature, so the password is re-entered)."""
    username, _ = Credentials(user, password).resolved()
    secret = sign_password or typer.prompt(f"Password of {username} to sign", hide_input=True)
    body = {
        "dose_level": dose_level,
        "decision": decision,
        "summary": summary,
        "username": username,
        "password": secret,
    }
    state = client(user, password).post("/api/study/reviews", body)
    if as_json:
        print_json(state)
        return
    console.print(f"safety review for {dose_level} signed: [bold]{decision}[/]")
    rows = [[c["dose_level"], c["status"]] for c in state.get("cohorts", [])]
    print_table("Dose levels", ("Dose level", "Status"), rows)
