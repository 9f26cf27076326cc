"""Friendly commands for the steps staff record: consent, screening, enrollment ... visits."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.api_client import EXIT_INPUT, fail
from cli.monitoring import Meaning, SignPassword, sign_and_send
from cli.options import (
    AsJson,
    At,
    Password,
    User,
    client,
    days_option,
    occurred_at,
    read_json_file,
)
from cli.output import print_json, print_result, print_table

__all__ = ["ld_app", "register_commands", "visit_app"]

Day = Annotated[
    datetime | None, typer.Option(formats=["%Y-%m-%d"], help="YYYY-MM-DD; default today.")
]
Reason = Annotated[str | None, typer.Option(help="Why (kept with the event).")]

ld_app = typer.Typer(help="Lymphodepletion: plan, approve, record doses.", no_args_is_help=True)
visit_app = typer.Typer(help="Follow-up visits.", no_args_is_help=True)


def _day(value: datetime | None) -> str:
    return (value or datetime.now()).date().isoformat()


def _send(
    subject_id: str,
    body: dict[str, Any],
    at: datetime | None,
    reason: str | None,
    user: str | None,
    password: str | None,
    as_json: bool,
) -> None:
    command = {**body, "occurred_at": occurred_at(at), "reason": reason}
    result = client(user, password).post(f"/api/subjects/{subject_id}/commands", command)
    print_result(result, as_json)


def consent(
    subject_id: str,
    version: Annotated[str, typer.Option("--version", help="Consent form version")],
    childbearing_potential: Annotated[
        bool, typer.Option("--childbearing-potential/--no-childbearing-potential")
    ],
    signed_on: Day = None,
    reason: Reason = None,
    at: At = None,
    user: User = None,
    password: Password = None,
    as_json: AsJson = False,
) -> None:
    """Record the signed informed consent."""
    body = {
        "type": "sign_consent",
        "consent_version": version,
        "signed_on": _day(signed_on),
        "childbearing_potential": childbearing_potential,
    }
    _send(subject_id, body, at, reason, user, password, as_json)


def screening(
    subject_id: str,
    file: Annotated[Path, typer.Argument(help="Screening record JSON (see examples/)")],
    reason: Reason = None,
    at: At = None,
    user: User = None,
    password: Password = None,
    as_json: AsJson = False,
) -> None:
    """Record screening results from a JSON file; the system judges eligibility."""
    record = read_json_file(file)
    if not isinstance(record, dict):
        raise fail(f"{file} must hold a JSON object", EXIT_INPUT)
    _send(
        subject_id,
        {"type": "record_screening", "record": record},
        at,
        reason,
        user,
        password,
        as_json,
    )


def enroll(
    subject_id: str,
    dose_level: Annotated[str, typer.Option(help="DL1, DL2 or DL3")],
    route: Annotated[str, typer.Option(help="intravenous, splenic_artery or lymph_node")],
    reason: Reason = None,
    at: At = None,
    user: User = None,
    password: Password = None,
    as_json: AsJson = False,
) -> None:
    """Enroll an eligible subject at a dose level and route."""
    _send(
        subject_id,
        {"type": "enroll", "dose_level": dose_level, "route": route},
        at,
        reason,
        user,
        password,
        as_json,
    )


def apheresis(
    subject_id: str,
    volume_ml: Annotated[float, typer.Option(help="Collected volume in mL")],
    collected_on: Day = None,
    reason: Reason = None,
    at: At = None,
    user: User = None,
    password: Password = None,
    as_json: AsJson = False,
) -> None:
    """Record the apheresis collection."""
    body = {"type": "record_apheresis", "collected_on": _day(collected_on), "volume_ml": volume_ml}
    _send(subject_id, body, at, reason, user, password, as_json)


def release(
    subject_id: str,
    lot: Annotated[str, typer.Option(help="Product lot")],
    total_tu: Annotated[float, typer.Option(help="Total transducing units in the lot")],
    released_on: Day = None,
    reason: Reason = None,
    at: At = None,
    user: User = None,
    password: Password = None,
    as_json: AsJson = False,
) -> None:
    """Record the CAR-T product release."""
    body = {
        "type": "record_product_release",
        "lot": lot,
        "released_on": _day(released_on),
        "total_tu": total_tu,
    }
    _send(subject_id, body, at, reason, user, password, as_json)


@ld_app.command("plan")
def ld_plan(
    subject_id: str,
    infusion_date: Annotated[datetime, typer.Option(formats=["%Y-%m-%d"])],
    height_cm: Annotated[float, typer.Option()],
    weight_kg: Annotated[
        float | None, typer.Option(help="Only for protocols without dated re-checks")
    ] = None,
    egfr: Annotated[
        float | None,
        typer.Option(help="mL/min/1.73 m²; only for protocols without dated renal results"),
    ] = None,
    reason: Reason = None,
    at: At = None,
    user: User = None,
    password: Password = None,
    as_json: AsJson = False,
) -> None:
    """Plan fludarabine/cyclophosphamide before the infusion date.

    Weight and kidney function come from the dated results recorded with `trial measure`.
    """
    body: dict[str, Any] = {
        "type": "plan_lymphodepletion",
        "infusion_date": _day(infusion_date),
        "height_cm": height_cm,
    }
    body.update({k: v for k, v in (("weight_kg", weight_kg), ("egfr", egfr)) if v is not None})
    _send(subject_id, body, at, reason, user, password, as_json)


@ld_app.command("approve")
def ld_approve(
    subject_id: str,
    reason: Reason = None,
    at: At = None,
    user: User = None,
    password: Password = None,
    sign_password: SignPassword = None,
    meaning: Meaning = None,
    as_json: AsJson = False,
) -> None:
    """PI approval of the lymphodepletion plan: an electronic signature (password re-entered)."""
    body = {"type": "approve_lymphodepletion", "reason": reason}
    if at is not None:
        body["occurred_at"] = occurred_at(at)
    result = sign_and_send(subject_id, body, user, password, sign_password, meaning)
    print_result(result, as_json)


@ld_app.command("dose")
def ld_dose(
    subject_id: str,
    drug: Annotated[str, typer.Option(help="fludarabine or cyclophosphamide")],
    day: Annotated[int, typer.Option(help="Day relative to infusion, e.g. -5")],
    mg: Annotated[float, typer.Option(help="Dose given, mg")],
    given_on: Day = None,
    reason: Reason = None,
    at: At = None,
    user: User = None,
    password: Password = None,
    as_json: AsJson = False,
) -> None:
    """Record one lymphodepletion dose given."""
    body = {
        "type": "record_lymphodepletion_dose",
        "drug": drug,
        "day": day,
        "mg": mg,
        "given_on": _day(given_on),
    }
    _send(subject_id, body, at, reason, user, password, as_json)


def infuse(
    subject_id: str,
    tu_per_kg: Annotated[float, typer.Option(help="Transducing units per kg")],
    weight_kg: Annotated[
        float | None, typer.Option(help="Only for protocols without dated weights")
    ] = None,
    infused_on: Day = None,
    reason: Reason = None,
    at: At = None,
    user: User = None,
    password: Password = None,
    as_json: AsJson = False,
) -> None:
    """Record the JY231 infusion (Day 0); the visit schedule is computed from it."""
    body: dict[str, Any] = {
        "type": "record_infusion",
        "infused_on": _day(infused_on),
        "tu_per_kg": tu_per_kg,
    }
    if weight_kg is not None:
        body["weight_kg"] = weight_kg
    _send(subject_id, body, at, reason, user, password, as_json)


@visit_app.command("complete")
def visit_complete(
    subject_id: str,
    code: Annotated[str, typer.Argument(help="Visit code: D0, M1, M2, M3, M6, M12")],
    response: Annotated[
        str | None, typer.Option(help="CR, PR, SD, PD or NE (none at D0, the baseline)")
    ] = None,
    sledai_2k: Annotated[int | None, typer.Option(help="SLE: SLEDAI-2K")] = None,
    essdai: Annotated[int | None, typer.Option(help="SS: ESSDAI")] = None,
    mrss: Annotated[int | None, typer.Option(help="SSc: modified Rodnan skin score")] = None,
    ild_status: Annotated[
        str | None, typer.Option(help="SSc: ILD against baseline: improved, stable, worsened")
    ] = None,
    tis: Annotated[float | None, typer.Option(help="DM: ACR/EULAR total improvement score")] = None,
    bvas: Annotated[int | None, typer.Option(help="ANCA-AAV: BVAS v3")] = None,
    glucocorticoid: Annotated[
        float | None,
        typer.Option(help="Glucocorticoid dose, mg/day prednisone equivalent (0 if none)"),
    ] = None,
    completed_on: Day = None,
    reason: Reason = None,
    at: At = None,
    user: User = None,
    password: Password = None,
    as_json: AsJson = False,
) -> None:
    """Record a completed visit: after Day 0 the response, the disease's activity measure(s)
    and the glucocorticoid dose."""
    body: dict[str, object] = {
        "type": "complete_visit",
        "code": code,
        "completed_on": _day(completed_on),
    }
    if response is not None:
        body["response"] = response
    measures = {"sledai_2k": sledai_2k, "essdai": essdai, "mrss": mrss,
                "ild_status": ild_status, "tis": tis, "bvas": bvas}  # fmt: skip
    activity = {k: v for k, v in measures.items() if v is not None}
    if activity:
        body["activity"] = activity
    if glucocorticoid is not None:
        body["glucocorticoid_mg_per_day"] = glucocorticoid
    _send(subject_id, body, at, reason, user, password, as_json)


def board(
    phase: Annotated[str | None, typer.Option(help="Only this phase")] = None,
    disease: Annotated[str | None, typer.Option(help="Only this disease")] = None,
    dose_level: Annotated[str | None, typer.Option(help="Only this dose level")] = None,
    user: User = None,
    password: Password = None,
    as_json: AsJson = False,
) -> None:
    """Where every subject stands and what is due next."""
    rows = client(user, password).get(
        "/api/board", phase=phase, disease=disease, dose_level=dose_level
    )
    if as_json:
        print_json(rows)
        return
    print_table(
        "Subject board",
        [
            "subject",
            "disease",
            "phase",
            "dose",
            "day",
            "next visit",
            "window",
            "overdue",
            "deviations",
        ],
        [
            [
                r["subject_id"],
                r["disease"],
                r["phase"],
                r["dose_level"],
                r["days_since_infusion"],
                _visit(r["next_visit"]),
                _window(r["next_visit"]),
                " ".join(v["code"] for v in r["overdue"]),
                r["open_deviations"],
            ]
            for r in rows
        ],
    )


def visits(
    due_within: Annotated[str, typer.Option("--due-within", help="e.g. 14d or 2w")] = "14d",
    user: User = None,
    password: Password = None,
    as_json: AsJson = False,
) -> None:
    """Visits due soon, overdue first."""
    rows = client(user, password).get("/api/visits/upcoming", days=days_option(due_within))
    if as_json:
        print_json(rows)
        return
    print_table(
        f"Visits due within {due_within}",
        ["subject", "visit", "target", "window", "status"],
        [
            [
                r["subject_id"],
                f"{r['label']} ({r['code']})",
                r["target"],
                f"{r['window_start']} – {r['window_end']}",
                "OVERDUE" if r["overdue"] else f"in {r['days_until']} d",
            ]
            for r in rows
        ],
    )


def _visit(visit: dict[str, Any] | None) -> str:
    return f"{visit['code']} {visit['target']}" if visit else ""


def _window(visit: dict[str, Any] | None) -> str:
    return f"{visit['window_start']} – {visit['window_end']}" if visit else ""


def register_commands(app: typer.Typer) -> None:
    """Add the friendly commands to the top-level `trial` app."""
    for command in (consent, screening, enroll, apheresis, release, infuse, board, visits):
        app.command(command.__name__)(command)
    app.add_typer(ld_app, name="ld")
    app.add_typer(visit_app, name="visit")
