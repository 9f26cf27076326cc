"""`trial measure ...`: the dated results before lymphodepletion (and weights at infusion)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer

from cli.options import AsJson, At, Password, User, client, occurred_at
from cli.output import print_result

__all__ = ["app"]

app = typer.Typer(
    help="Dated results: creatinine, eGFR, weight, pregnancy test, infection, counts.",
    no_args_is_help=True,
)

On = Annotated[
    datetime | None,
    typer.Option("--on", formats=["%Y-%m-%d"], help="Collection date YYYY-MM-DD; default today."),
]


def _record(
    subject_id: str,
    measurement: dict[str, Any],
    on: datetime | None,
    at: datetime | None,
    user: str | None,
    password: str | None,
    as_json: bool,
) -> None:
    body = {
        "type": "record_measurement",
        "occurred_at": occurred_at(at),
        "measurement": {**measurement, "collected_on": (on or datetime.now()).date().isoformat()},
    }
    result = client(user, password).post(f"/api/subjects/{subject_id}/commands", body)
    print_result(result, as_json)


@app.command("creatinine")
def creatinine(
    subject_id: str,
    value: Annotated[float, typer.Option()],
    unit: Annotated[str, typer.Option(help="umol/L or mg/dL")],
    on: On = None,
    at: At = None,
    user: User = None,
    password: Password = None,
    as_json: AsJson = False,
) -> None:
    """Serum creatinine; clearance is derived by Cockcroft–Gault."""
    _record(
        subject_id, {"kind": "creatinine", "value": value, "unit": unit}, on, at, user, password,
        as_json,
    )  # fmt: skip


@app.command("egfr")
def egfr(
    subject_id: str,
    value: Annotated[float, typer.Option(help="mL/min/1.73 m²")],
    equation: Annotated[str, typer.Option(help="CKD-EPI 2021, CKD-EPI 2009, MDRD or EKFC")],
    on: On = None,
    at: At = None,
    user: User = None,
    password: Password = None,
    as_json: AsJson = False,
) -> None:
    """A laboratory-reported eGFR with its equation."""
    _record(
        subject_id, {"kind": "egfr", "value": value, "equation": equation}, on, at, user,
        password, as_json,
    )  # fmt: skip


@app.command("weight")
def weight(
    subject_id: str,
    kg: Annotated[float, typer.Option()],
    on: On = None,
    at: At = None,
    user: User = None,
    password: Password = None,
    as_json: AsJson = False,
) -> None:
    """Body weight for dosing."""
    _record(subject_id, {"kind": "weight", "kg": kg}, on, at, user, password, as_json)


@app.command("pregnancy-test")
def pregnancy_test(
    subject_id: str,
    result: Annotated[str, typer.Option(help="negative or positive")],
    sample: Annotated[str, typer.Option(help="urine or serum")] = "urine",
    on: On = None,
    at: At = None,
    user: User = None,
    password: Password = None,
    as_json: AsJson = False,
) -> None:
    """Pregnancy test (women of childbearing potential)."""
    body = {"kind": "pregnancy_test", "result": result, "sample": sample}
    _record(subject_id, body, on, at, user, password, as_json)


@app.command("infection")
def infection(
    subject_id: str,
    active: Annotated[
        bool, typer.Option("--active/--none", help="Active infection needing systemic treatment")
    ],
    on: On = None,
    at: At = None,
    user: User = None,
    password: Password = None,
    as_json: AsJson = False,
) -> None:
    """Infection assessment."""
    body = {"kind": "infection", "active_infection_needing_systemic_treatment": active}
    _record(subject_id, body, on, at, user, password, as_json)


@app.command("counts")
def counts(
    subject_id: str,
    hemoglobin: Annotated[float, typer.Option(help="g/L")],
    platelets: Annotated[float, typer.Option(help="×10⁹/L")],
    anc: Annotated[float | None, typer.Option(help="×10⁹/L")] = None,
    on: On = None,
    at: At = None,
    user: User = None,
    password: Password = None,
    as_json: AsJson = False,
) -> None:
    """Blood counts."""
    body: dict[str, Any] = {
        "kind": "blood_counts",
        "hemoglobin_g_per_l": hemoglobin,
        "platelets_10e9_per_l": platelets,
    }
    if anc is not None:
        body["anc_10e9_per_l"] = anc
    _record(subject_id, body, on, at, user, password, as_json)
