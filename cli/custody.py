"""`trial custody …` and `trial label`: the chain of custody through the running web API.

Manufacture, quality release and the PI's out-of-spec decision are ordinary commands; send
them with `trial subject submit` and a JSON body.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from cli.api_client import EXIT_DOMAIN, EXIT_INPUT, fail
from cli.options import AsJson, At, Password, User, client, occurred_at
from cli.output import console, print_json, print_result, print_table
from domain.errors import DomainError
from domain.shipper_log import parse_logger_csv

__all__ = ["app", "label"]

app = typer.Typer(
    help="Chain of identity and custody: handoffs, shipper logs, bedside check, material.",
    no_args_is_help=True,
)

_STEPS = (
    "collected, packed, shipped, received_at_manufacturing, manufacturing_started, "
    "shipped_cryopreserved, received_at_site, stored, thawed"
)


@app.command()
def handoff(
    subject_id: str,
    step: Annotated[str, typer.Argument(help=_STEPS)],
    from_party: Annotated[str, typer.Option("--from", help="Who hands the unit over")],
    to_party: Annotated[str, typer.Option("--to", help="Who receives it")],
    location: Annotated[str, typer.Option(help="Where the unit is now")],
    unit: Annotated[str | None, typer.Option(help="Unit id (not for 'collected')")] = None,
    courier: Annotated[str | None, typer.Option(help="Courier (shipments)")] = None,
    shipper_id: Annotated[str | None, typer.Option(help="Shipper id (shipments)")] = None,
    volume_ml: Annotated[float | None, typer.Option(help="Collected volume")] = None,
    at: At = None,
    user: User = None,
    password: Password = None,
    as_json: AsJson = False,
) -> None:
    """Record one custody step of a unit ('collected' creates the next apheresis unit)."""
    body: dict[str, Any] = {
        "type": "record_custody",
        "occurred_at": occurred_at(at),
        "step": step,
        "unit_id": unit,
        "from_party": from_party,
        "to_party": to_party,
        "location": location,
        "courier": courier,
        "shipper_id": shipper_id,
        "volume_ml": volume_ml,
    }
    body = {k: v for k, v in body.items() if v is not None}
    result = client(user, password).post(f"/api/subjects/{subject_id}/commands", body)
    print_result(result, as_json)


@app.command("log")
def temperature_log(
    subject_id: str,
    unit: str,
    csv_file: Annotated[Path, typer.Argument(help="Data-logger CSV: a time and a °C column")],
    logger: Annotated[str, typer.Option(help="Shipper / data-logger id")],
    user: User = None,
    password: Password = None,
    as_json: AsJson = False,
) -> None:
    """Check a shipper's data-logger CSV against the protocol's limits; exit 1 on excursion."""
    try:
        data = csv_file.read_bytes()
    except OSError as exc:
        raise fail(f"cannot read {csv_file}: {exc.strerror}", EXIT_INPUT) from exc
    try:
        # Checked here first so a malformed file is bad input (exit 2), not a refusal.
        parse_logger_csv(data.decode("utf-8-sig"))
    except (DomainError, UnicodeDecodeError) as exc:
        message = exc.message if isinstance(exc, DomainError) else "not UTF-8 text"
        raise fail(f"{csv_file}: {message}", EXIT_INPUT) from exc
    response = client(user, password).request(
        "POST",
        f"/api/subjects/{subject_id}/units/{unit}/temperature-log",
        params={"logger_id": logger},
        content=data,
        headers={"Content-Type": "text/csv"},
    )
    result = response.json()
    print_result(result, as_json)
    if any(e["type"] == "custody.quarantined" for e in result["events"]):
        if not as_json:
            console.print(f"[bold red]EXCURSION[/]: unit {unit} is quarantined")
        raise typer.Exit(EXIT_DOMAIN)


@app.command()
def verify(
    subject_id: str,
    wristband: Annotated[str, typer.Option(help="Subject id scanned from the wristband")],
    coi: Annotated[str, typer.Option(help="COI scanned from the product label")],
    unit: Annotated[str, typer.Option(help="Unit id scanned from the product label")],
    weight_kg: Annotated[float, typer.Option(help="Current weight")],
    tu_per_kg: Annotated[float, typer.Option(help="Dose to give, TU/kg")],
    at: At = None,
    user: User = None,
    password: Password = None,
    as_json: AsJson = False,
) -> None:
    """One person's bedside identity check; a mismatch is recorded and exits 1."""
    body = {
        "type": "verify_bedside",
        "occurred_at": occurred_at(at),
        "subject_id": wristband,
        "coi": coi,
        "unit_id": unit,
        "weight_kg": weight_kg,
        "tu_per_kg": tu_per_kg,
    }
    result = client(user, password).post(f"/api/subjects/{subject_id}/commands", body)
    print_result(result, as_json)
    failed = [e for e in result["events"] if e["type"] == "bedside_check.failed"]
    if failed:
        if not as_json:
            for problem in failed[0]["payload"]["problems"]:
                console.print(f"[bold red]MISMATCH[/]: {problem}")
        raise typer.Exit(EXIT_DOMAIN)


@app.command()
def book(
    subject_id: str,
    apheresis_on: Annotated[str, typer.Option(help="Apheresis day (YYYY-MM-DD)")],
    user: User = None,
    password: Password = None,
    as_json: AsJson = False,
) -> None:
    """Book or move the apheresis day; refused (exit 1) when its week is full."""
    result = client(user, password).post(
        f"/api/subjects/{subject_id}/slots", {"apheresis_on": apheresis_on}
    )
    print_result(result, as_json)


@app.command()
def slots(user: User = None, password: Password = None, as_json: AsJson = False) -> None:
    """Booked apheresis and manufacturing slots per week against the site's capacity."""
    weeks = client(user, password).get("/api/custody/slots")
    if as_json:
        print_json(weeks)
        return
    rows = [
        [
            w["week"],
            f"{w['apheresis']}/{w['apheresis_capacity']}",
            f"{w['manufacturing']}/{w['manufacturing_capacity']}",
            "OVER CAPACITY" if w["over_capacity"] else "",
        ]
        for w in weeks
    ]
    print_table("Slots", ("Week", "Apheresis", "Manufacturing", ""), rows)


@app.command()
def board(user: User = None, password: Password = None, as_json: AsJson = False) -> None:
    """Material in transit, in manufacturing or awaiting infusion."""
    items = client(user, password).get("/api/custody/board")
    if as_json:
        print_json(items)
        return
    rows = [
        [
            i["stage"].replace("_", " "),
            i["subject_id"],
            i["unit_id"],
            i["step"].replace("_", " "),
            i["holder"],
            i["location"],
            i["release"] + (" QUARANTINED" if i["quarantined"] else ""),
            i["temperature"],
        ]
        for i in items
    ]
    columns = ("Stage", "Subject", "Unit", "Step", "Held by", "Where", "Release", "Temperature")
    print_table("Material", columns, rows)


def label(
    subject_id: str,
    unit: Annotated[str | None, typer.Option(help="A unit's label; default: the COI label")] = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="PNG file to write")] = Path(
        "label.png"
    ),
    user: User = None,
    password: Password = None,
) -> None:
    """Write a printable PNG label (COI, unit id, QR code) for a subject or one of its units."""
    params = {"unit_id": unit} if unit else {}
    response = client(user, password).request(
        "GET", f"/api/subjects/{subject_id}/label.png", params=params
    )
    try:
        output.write_bytes(response.content)
    except OSError as exc:
        raise fail(f"cannot write {output}: {exc.strerror}", EXIT_INPUT) from exc
    console.print(f"wrote {output} ({len(response.content)} bytes)")
