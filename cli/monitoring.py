"""`trial query|sdv|casebook|monitoring`: the monitors' round and the PI's sign-off via the API.

Electronic signatures (casebook sign-off, eligibility, lymphodepletion approval) re-enter the
password at the moment of signing: ``--sign-password`` or a hidden prompt (21 CFR 11.200).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cli.api_client import Credentials
from cli.options import AsJson, Password, User, client, occurred_at
from cli.output import print_json, print_result, print_table

__all__ = [
    "casebook_app",
    "database_app",
    "monitoring_app",
    "query_app",
    "sdv_app",
    "sign_and_send",
]

query_app = typer.Typer(help="Queries: open, answer, close, re-open, list.", no_args_is_help=True)
sdv_app = typer.Typer(help="Source data verification per form.", no_args_is_help=True)
casebook_app = typer.Typer(
    help="Casebook sign-off (signature + lock) and unlock.", no_args_is_help=True
)
monitoring_app = typer.Typer(help="The per-site monitoring report.", no_args_is_help=True)

Reason = Annotated[str | None, typer.Option(help="Why (kept with the event).")]
SignPassword = Annotated[
    str | None,
    typer.Option(
        "--sign-password",
        help="Your password, re-entered to sign (prompted, hidden, when not given).",
    ),
]
Meaning = Annotated[
    str | None,
    typer.Option(help="Meaning of the signature: authorship, review, approval, responsibility."),
]


def _send(subject_id: str, body: dict[str, Any], user: str | None, password: str | None) -> Any:
    command = {"occurred_at": occurred_at(None), **body}
    return client(user, password).post(f"/api/subjects/{subject_id}/commands", command)


def sign_and_send(
    subject_id: str,
    body: dict[str, Any],
    user: str | None,
    password: str | None,
    sign_password: str | None,
    meaning: str | None,
) -> Any:
    """Send a signing command with the signer's user id and the password re-entered now."""
    username, _ = Credentials(user, password).resolved()
    secret = sign_password or typer.prompt(f"Password of {username} to sign", hide_input=True)
    request = {
        "command": {"occurred_at": occurred_at(None), **body},
        "username": username,
        "password": secret,
        "meaning": meaning,
    }
    return client(user, password).post(f"/api/subjects/{subject_id}/signatures", request)


@query_app.command("open")
def open_query(
    subject_id: str,
    seq: Annotated[int, typer.Option("--seq", help="The event (#seq) the query is about")],
    question: Annotated[str, typer.Option(help="What the site should clarify")],
    field: Annotated[str | None, typer.Option(help="The field, if one")] = None,
    user: User = None,
    password: Password = None,
    as_json: AsJson = False,
) -> None:
    """Raise a query on a recorded event (monitors)."""
    body = {"type": "open_query", "target_seq": seq, "field": field, "question": question}
    print_result(_send(subject_id, body, user, password), as_json)


@query_app.command("answer")
def answer_query(
    subject_id: str,
    query_id: str,
    answer: Annotated[str, typer.Option(help="The site's answer")],
    user: User = None,
    password: Password = None,
    as_json: AsJson = False,
) -> None:
    """Answer an open query (site staff); correct the data with a correction where needed."""
    body = {"type": "answer_query", "query_id": query_id, "answer": answer}
    print_result(_send(subject_id, body, user, password), as_json)


@query_app.command("close")
def close_query(
    subject_id: str,
    query_id: str,
    user: User = None,
    password: Password = None,
    as_json: AsJson = False,
) -> None:
    """Close a query (monitors)."""
    body = {"type": "close_query", "query_id": query_id}
    print_result(_send(subject_id, body, user, password), as_json)


@query_app.command("reopen")
def reopen_query(
    subject_id: str,
    query_id: str,
    question: Annotated[str, typer.Option(help="The follow-up question")],
    reason: Annotated[str, typer.Option(help="Why the answer does not settle it")],
    user: User = None,
    password: Password = None,
    as_json: AsJson = False,
) -> None:
    """Re-open an answered or closed query (monitors)."""
    body = {"type": "reopen_query", "query_id": query_id, "question": question, "reason": reason}
    print_result(_send(subject_id, body, user, password), as_json)


@query_app.command("list")
def list_queries(
    subject_id: Annotated[str | None, typer.Option("--subject")] = None,
    site: Annotated[str | None, typer.Option()] = None,
    status: Annotated[str | None, typer.Option(help="open, answered or closed")] = None,
    min_age_days: Annotated[int | None, typer.Option("--older-than")] = None,
    user: User = None,
    password: Password = None,
    as_json: AsJson = False,
) -> None:
    """Queries of one subject or the whole study, overdue first."""
    api = client(user, password)
    params = {k: v for k, v in {"site": site, "status": status}.items() if v}
    if min_age_days is not None:
        params["min_age_days"] = str(min_age_days)
    path = f"/api/subjects/{subject_id}/queries" if subject_id else "/api/queries"
    rows = api.get(path, **params)
    if as_json:
        print_json(rows)
        return
    columns = ("Query", "Subject", "Form", "Event", "Status", "Age", "Question", "Answer")
    print_table(
        "Queries",
        columns,
        [
            [
                q["query_id"],
                q["subject_id"],
                q["form_label"],
                f"#{q['target_seq']}",
                q["status"] + (" OVERDUE" if q["overdue"] else ""),
                f"{q['age_days']} d",
                q["question"],
                q["answer"],
            ]
            for q in rows
        ],
    )


@sdv_app.command("verify")
def verify(
    subject_id: str,
    form: Annotated[str, typer.Option(help="e.g. screening, visit:M1, adverse_events")],
    user: User = None,
    password: Password = None,
    as_json: AsJson = False,
) -> None:
    """Mark a form's data verified against source (monitors)."""
    print_result(
        _send(subject_id, {"type": "verify_source", "form": form}, user, password), as_json
    )


@sdv_app.command("show")
def show_sdv(
    subject_id: str, user: User = None, password: Password = None, as_json: AsJson = False
) -> None:
    """Each form's SDV requirement and status."""
    rows = client(user, password).get(f"/api/subjects/{subject_id}/sdv")
    if as_json:
        print_json(rows)
        return
    print_table(
        f"SDV of {subject_id}",
        ("Form", "Requirement", "Status", "By", "Reset by"),
        [[r["form"], r["level"], r["status"], r["verified_by"], r["reset_cause"]] for r in rows],
    )


@casebook_app.command("sign")
def sign_casebook(
    subject_id: str,
    scope: Annotated[str, typer.Option(help="casebook, or one visit: visit:M1")] = "casebook",
    meaning: Meaning = None,
    sign_password: SignPassword = None,
    user: User = None,
    password: Password = None,
    as_json: AsJson = False,
) -> None:
    """The PI's sign-off, an electronic signature that locks the casebook (or one visit)."""
    body = {"type": "sign_casebook", "scope": scope}
    result = sign_and_send(subject_id, body, user, password, sign_password, meaning)
    print_result(result, as_json)


@casebook_app.command("unlock")
def unlock_casebook(
    subject_id: str,
    reason: Annotated[str, typer.Option(help="Why the locked data must change")],
    scope: Annotated[str, typer.Option(help="casebook, or one visit: visit:M1")] = "casebook",
    user: User = None,
    password: Password = None,
    as_json: AsJson = False,
) -> None:
    """Unlock a signed casebook (PI, with a reason)."""
    body = {"type": "unlock_casebook", "scope": scope, "reason": reason}
    print_result(_send(subject_id, body, user, password), as_json)


@monitoring_app.command("report")
def report(user: User = None, password: Password = None, as_json: AsJson = False) -> None:
    """Per site: verified %, open and overdue queries, overdue visits."""
    rows = client(user, password).get("/api/monitoring/report")
    if as_json:
        print_json(rows)
        return
    print_table(
        "Monitoring report",
        ("Site", "Subjects", "Verified", "Open queries", "Overdue queries", "Overdue visits"),
        [
            [
                r["site_id"],
                r["subjects"],
                f"{r['forms_verified']}/{r['forms_to_verify']} ({r['verified_percent']} %)",
                r["open_queries"],
                r["overdue_queries"],
                r["overdue_visits"],
            ]
            for r in rows
        ],
    )


database_app = typer.Typer(help="The study-wide database lock (PI).", no_args_is_help=True)


@database_app.command("lock")
def lock_database(
    reason: Annotated[str, typer.Option(help="Why the database is locked (e.g. final analysis)")],
    meaning: Meaning = None,
    sign_password: SignPassword = None,
    user: User = None,
    password: Password = None,
    as_json: AsJson = False,
) -> None:
    """Lock the study database, signed; afterwards nothing but audit reads is possible."""
    username, _ = Credentials(user, password).resolved()
    secret = sign_password or typer.prompt(f"Password of {username} to sign", hide_input=True)
    body = {"reason": reason, "username": username, "password": secret}
    if meaning:
        body["meaning"] = meaning
    state = client(user, password).post("/api/study/database-lock", body)
    _print_lock(state, as_json)


@database_app.command("unlock")
def unlock_database(
    reason: Annotated[str, typer.Option(help="Why the locked database must change")],
    user: User = None,
    password: Password = None,
    as_json: AsJson = False,
) -> None:
    """Unlock the study database (PI, with a reason); the unlock is recorded."""
    state = client(user, password).post("/api/study/database-unlock", {"reason": reason})
    _print_lock(state, as_json)


def _print_lock(state: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(state)
    else:
        locked = state.get("database_locked")
        print(f"study database {'LOCKED' if locked else 'unlocked'}")
