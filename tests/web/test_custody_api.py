"""Custody over the REST API: shipper-log CSV upload, labels, the material board, the bedside
check as a command, against the real worker on the time-skipping server."""

from __future__ import annotations

from datetime import timedelta

from temporalio.testing import WorkflowEnvironment

from store.sql import SqlEventStore
from system.gateway import SubjectGateway
from tests.web.conftest import ClientFor
from tests.workflows.custody_driver import to_site
from tests.workflows.harness import SubjectDriver


async def stored_product(
    time_env: WorkflowEnvironment, gateway: SubjectGateway, subject_id: str
) -> tuple[SubjectDriver, str]:
    driver = SubjectDriver(time_env, gateway, subject_id)
    await driver.register("SLE")
    await driver.consent()
    await driver.screening("SLE")
    await driver.eligible_and_enrolled()
    return driver, await to_site(driver)


def csv_of(driver_now: str, temperatures: list[float]) -> str:
    lines = ["timestamp,temperature_c"]
    lines += [f"{driver_now},{t}" for t in temperatures]
    return "\n".join(lines) + "\n"


async def test_a_shipper_csv_with_an_excursion_quarantines_the_unit(
    time_env: WorkflowEnvironment,
    gateway: SubjectGateway,
    client_for: ClientFor,
    subject_id: str,
) -> None:
    driver, product = await stored_product(time_env, gateway, subject_id)
    at = (await driver.now() - timedelta(minutes=30)).isoformat()
    response = await client_for("cora").post(
        f"/api/subjects/{subject_id}/units/{product}/temperature-log",
        params={"logger_id": "DS-0042"},
        content=csv_of(at, [-181.0, -149.0, -180.0]),
        headers={"Content-Type": "text/csv"},
    )
    assert response.status_code == 200, response.text
    types = [e["type"] for e in response.json()["events"]]
    assert types == ["temperature.log_checked", "custody.quarantined"]
    state = (await client_for("cora").get(f"/api/subjects/{subject_id}")).json()
    unit = state["custody"]["units"][-1]
    assert unit["quarantined"] is True and unit["temperature_ok"] is False


async def test_a_malformed_csv_is_refused_422_naming_the_field_and_records_nothing(
    time_env: WorkflowEnvironment,
    gateway: SubjectGateway,
    client_for: ClientFor,
    subject_id: str,
    sqlite_store: SqlEventStore,
) -> None:
    _, product = await stored_product(time_env, gateway, subject_id)
    before = len(sqlite_store.read_stream(subject_id))
    response = await client_for("cora").post(
        f"/api/subjects/{subject_id}/units/{product}/temperature-log",
        params={"logger_id": "DS-0042"},
        content="when,degrees\n2026-01-01T00:00:00+00:00,-180\n",
    )
    assert response.status_code == 422
    [detail] = response.json()["detail"]
    assert detail["field"] == "csv" and "time column" in detail["msg"]
    assert len(sqlite_store.read_stream(subject_id)) == before


async def test_labels_are_pngs_for_the_coi_and_for_each_unit_and_unknown_units_404(
    time_env: WorkflowEnvironment,
    gateway: SubjectGateway,
    client_for: ClientFor,
    subject_id: str,
) -> None:
    _, product = await stored_product(time_env, gateway, subject_id)
    client = client_for("mona")
    for params in ({}, {"unit_id": product}):
        response = await client.get(f"/api/subjects/{subject_id}/label.png", params=params)
        assert response.status_code == 200
        assert response.headers["content-type"] == "image/png"
        assert response.content.startswith(b"\x89PNG\r\n\x1a\n")
    missing = await client.get(
        f"/api/subjects/{subject_id}/label.png", params={"unit_id": "B000126000000X-PR09"}
    )
    assert missing.status_code == 404 and missing.json()["field"] == "unit_id"


async def test_the_material_board_lists_the_stored_product_as_awaiting_infusion(
    time_env: WorkflowEnvironment,
    gateway: SubjectGateway,
    client_for: ClientFor,
    subject_id: str,
) -> None:
    _, product = await stored_product(time_env, gateway, subject_id)
    response = await client_for("mona").get("/api/custody/board")
    assert response.status_code == 200
    rows = [r for r in response.json() if r["subject_id"] == subject_id]
    assert [(r["unit_id"], r["stage"], r["step"]) for r in rows] == [
        (product, "awaiting_infusion", "stored")
    ]


async def test_a_bedside_check_sent_as_a_command_records_its_failure(
    time_env: WorkflowEnvironment,
    gateway: SubjectGateway,
    client_for: ClientFor,
    subject_id: str,
) -> None:
    driver, product = await stored_product(time_env, gateway, subject_id)
    infusion_date = await driver.lymphodepletion()
    await driver.give_ld_doses()
    await driver.sleep_until(infusion_date)
    state = await driver.state()
    response = await client_for("cora").post(
        f"/api/subjects/{subject_id}/commands",
        json={
            "type": "verify_bedside",
            "occurred_at": (await driver.now()).isoformat(),
            "subject_id": subject_id,
            "coi": state.custody.coi,
            "unit_id": product,
            "weight_kg": 60,
            "tu_per_kg": 5e6,
        },
    )
    assert response.status_code == 200, response.text
    [event] = response.json()["events"]
    assert event["type"] == "bedside_check.failed"
    assert any("not thawed" in p for p in event["payload"]["problems"])


async def test_booking_a_full_week_is_refused_409_and_a_free_one_moves_the_chain(
    time_env: WorkflowEnvironment,
    gateway: SubjectGateway,
    client_for: ClientFor,
) -> None:
    slots = gateway.protocol.custody.slots  # type: ignore[union-attr]
    assert slots is not None
    drivers = []
    for n in range(slots.apheresis_per_week + 1):
        driver = SubjectDriver(time_env, gateway, f"S-SLOT{n}")
        await driver.register("SLE")
        await driver.consent()
        await driver.screening("SLE")
        await driver.eligible_and_enrolled()
        drivers.append(driver)
    booked = [(await d.state()).custody.booking for d in drivers]
    assert booked[0] is not None and len({b.apheresis_on for b in booked if b}) == 1
    client = client_for("cora")
    week = await client.get("/api/custody/slots")
    assert week.json()[0]["apheresis"] == slots.apheresis_per_week + 1
    assert week.json()[0]["over_capacity"] is True

    last = drivers[-1].subject_id
    full = await client.post(
        f"/api/subjects/{last}/slots", json={"apheresis_on": booked[0].apheresis_on.isoformat()}
    )
    assert full.status_code == 409 and "is full" in full.json()["detail"]
    later = booked[0].apheresis_on + timedelta(days=14)
    while not gateway.protocol.calendar.is_working_day(later):
        later += timedelta(days=1)
    moved = await client.post(
        f"/api/subjects/{last}/slots", json={"apheresis_on": later.isoformat()}
    )
    assert moved.status_code == 200, moved.text
    [booked_event] = moved.json()["events"]
    assert booked_event["payload"]["apheresis_on"] == later.isoformat()
    assert booked_event["payload"]["rescheduled"] is True
