"""The REST API against the real worker on the time-skipping server: every endpoint and status."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from temporalio.testing import WorkflowEnvironment

from store.sql import SqlEventStore
from system.gateway import SubjectGateway
from tests.domain.factories import eligible_record_json
from tests.web.conftest import ClientFor, Clock
from tests.web.live import PASSWORDS
from tests.workflows.harness import SubjectDriver


async def now_iso(env: WorkflowEnvironment) -> str:
    return (await env.get_current_time()).isoformat()


async def register_body(env: WorkflowEnvironment, subject_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "occurred_at": await now_iso(env),
        "subject_id": subject_id,
        "disease": "SLE",
        "sex": "female",
        "birth_date": "1980-06-15",
        **extra,
    }


async def consent_body(env: WorkflowEnvironment, gateway: SubjectGateway) -> dict[str, Any]:
    now = await env.get_current_time()
    return {
        "type": "sign_consent",
        "occurred_at": now.isoformat(),
        "consent_version": gateway.protocol.version,
        "signed_on": now.date().isoformat(),
        "childbearing_potential": True,
    }


async def registered(client_for: ClientFor, env: WorkflowEnvironment, subject_id: str) -> None:
    response = await client_for("cora").post(
        "/api/subjects", json=await register_body(env, subject_id)
    )
    assert response.status_code == 201, response.text


# --- authentication -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/api/board", "/api/subjects/S-NONE", "/api/visits/upcoming", "/api/visits.ics"]
)
async def test_requests_without_credentials_get_401_with_a_basic_challenge(
    client_for: ClientFor, path: str
) -> None:
    response = await client_for(None).get(path)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Basic")


async def test_a_wrong_password_gets_401(client_for: ClientFor) -> None:
    client = client_for(None)
    response = await client.get("/api/board", auth=("cora", "not-her-password"))
    assert response.status_code == 401


async def test_openapi_is_published_with_the_api_paths(client_for: ClientFor) -> None:
    spec = (await client_for(None).get("/openapi.json")).json()
    assert {"/api/subjects", "/api/subjects/{subject_id}/commands", "/api/board"} <= set(
        spec["paths"]
    )
    assert (await client_for(None).get("/docs")).status_code == 200


# --- writing --------------------------------------------------------------------------------


async def test_registering_returns_201_with_the_event_recorded_under_the_authenticated_user(
    client_for: ClientFor, time_env: WorkflowEnvironment, subject_id: str
) -> None:
    response = await client_for("cora").post(
        "/api/subjects", json=await register_body(time_env, subject_id)
    )
    assert response.status_code == 201
    body = response.json()
    assert [e["type"] for e in body["events"]] == ["subject.registered"]
    assert body["events"][0]["actor"] == {"user_id": "cora", "role": "coordinator"}
    assert body["summary"]["phase"] == "registered"


async def test_an_actor_in_the_body_is_refused_so_it_cannot_be_forged(
    client_for: ClientFor, time_env: WorkflowEnvironment, subject_id: str
) -> None:
    body = await register_body(time_env, subject_id, actor={"user_id": "petra", "role": "pi"})
    response = await client_for("cora").post("/api/subjects", json=body)
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "actor"


async def test_a_command_moves_the_subject_on_and_appears_in_state_and_events(
    client_for: ClientFor,
    time_env: WorkflowEnvironment,
    gateway: SubjectGateway,
    subject_id: str,
) -> None:
    await registered(client_for, time_env, subject_id)
    client = client_for("ivan")
    response = await client.post(
        f"/api/subjects/{subject_id}/commands", json=await consent_body(time_env, gateway)
    )
    assert response.status_code == 200, response.text
    assert response.json()["summary"]["phase"] == "consented"

    state = (await client.get(f"/api/subjects/{subject_id}")).json()
    assert state["phase"] == "consented"
    assert state["subject_id"] == subject_id

    events = (await client.get(f"/api/subjects/{subject_id}/events")).json()
    assert [(e["seq"], e["type"], e["actor"]["user_id"]) for e in events] == [
        (1, "subject.registered", "cora"),
        (2, "consent.signed", "ivan"),
    ]
    assert events[1]["prev_hash"] == events[0]["hash"]


async def test_screening_json_is_accepted_as_a_command_body(
    client_for: ClientFor,
    time_env: WorkflowEnvironment,
    gateway: SubjectGateway,
    subject_id: str,
) -> None:
    await registered(client_for, time_env, subject_id)
    client = client_for("cora")
    await client.post(
        f"/api/subjects/{subject_id}/commands", json=await consent_body(time_env, gateway)
    )
    today = (await time_env.get_current_time()).date()
    response = await client.post(
        f"/api/subjects/{subject_id}/commands",
        json={
            "type": "record_screening",
            "occurred_at": await now_iso(time_env),
            "record": eligible_record_json("SLE", screening_date=today),
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["events"][0]["payload"]["eligible"] is True


# --- error statuses -------------------------------------------------------------------------


async def test_invalid_fields_get_422_naming_field_and_rule(
    client_for: ClientFor, time_env: WorkflowEnvironment
) -> None:
    body = await register_body(time_env, "bad id!", disease="flu")
    response = await client_for("cora").post("/api/subjects", json=body)
    assert response.status_code == 422
    fields = {d["field"]: d for d in response.json()["detail"]}
    assert fields["subject_id"]["rule"] == "string_pattern_mismatch"
    assert "disease" in fields
    assert all(d["msg"] for d in fields.values())


async def test_an_unknown_command_type_gets_422(
    client_for: ClientFor, time_env: WorkflowEnvironment, subject_id: str
) -> None:
    await registered(client_for, time_env, subject_id)
    response = await client_for("cora").post(
        f"/api/subjects/{subject_id}/commands",
        json={"type": "teleport", "occurred_at": await now_iso(time_env)},
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["rule"] == "union_tag_invalid"


async def test_a_value_out_of_range_from_the_domain_gets_422_with_its_field(
    client_for: ClientFor,
    time_env: WorkflowEnvironment,
    gateway: SubjectGateway,
    subject_id: str,
) -> None:
    await registered(client_for, time_env, subject_id)
    body = await consent_body(time_env, gateway)
    body["occurred_at"] = (await time_env.get_current_time() + timedelta(days=3)).isoformat()
    response = await client_for("cora").post(f"/api/subjects/{subject_id}/commands", json=body)
    assert response.status_code == 422
    [detail] = response.json()["detail"]
    assert detail["field"] == "occurred_at"
    assert detail["rule"] == "value_out_of_range"
    assert detail["msg"] == "occurred_at is in the future"


async def test_a_command_in_the_wrong_phase_gets_409(
    client_for: ClientFor, time_env: WorkflowEnvironment, subject_id: str
) -> None:
    await registered(client_for, time_env, subject_id)
    response = await client_for("ivan").post(
        f"/api/subjects/{subject_id}/commands",
        json={
            "type": "enroll",
            "occurred_at": await now_iso(time_env),
            "dose_level": "DL1",
            "route": "intravenous",
        },
    )
    assert response.status_code == 409
    assert response.json()["code"] == "wrong_phase"
    assert "registered" in response.json()["detail"]


async def test_registering_the_same_subject_twice_gets_409(
    client_for: ClientFor, time_env: WorkflowEnvironment, subject_id: str
) -> None:
    await registered(client_for, time_env, subject_id)
    response = await client_for("cora").post(
        "/api/subjects", json=await register_body(time_env, subject_id)
    )
    assert response.status_code == 409


async def test_a_role_the_command_does_not_allow_gets_403(
    client_for: ClientFor, time_env: WorkflowEnvironment, subject_id: str
) -> None:
    await registered(client_for, time_env, subject_id)
    response = await client_for("cora").post(
        f"/api/subjects/{subject_id}/commands",
        json={
            "type": "sign_eligibility",
            "occurred_at": await now_iso(time_env),
            "decision": "eligible",
        },
    )
    assert response.status_code == 403
    assert "allowed: pi" in response.json()["detail"]


async def test_a_system_only_command_from_staff_gets_403(
    client_for: ClientFor, time_env: WorkflowEnvironment, subject_id: str
) -> None:
    await registered(client_for, time_env, subject_id)
    response = await client_for("petra").post(
        f"/api/subjects/{subject_id}/commands",
        json={"type": "expire_screening", "occurred_at": await now_iso(time_env)},
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    "path",
    [
        "/api/subjects/S-NOBODY",
        "/api/subjects/S-NOBODY/events",
        "/api/subjects/S-NOBODY/visits",
        "/api/subjects/S-NOBODY/visits.ics",
    ],
)
async def test_an_unknown_subject_gets_404(client_for: ClientFor, path: str) -> None:
    response = await client_for("mona").get(path)
    assert response.status_code == 404
    assert "S-NOBODY" in response.json()["detail"]


async def test_a_command_for_an_unknown_subject_gets_404(
    client_for: ClientFor, time_env: WorkflowEnvironment
) -> None:
    response = await client_for("cora").post(
        "/api/subjects/S-NOBODY/commands",
        json={"type": "approve_lymphodepletion", "occurred_at": await now_iso(time_env)},
    )
    # The coordinator may not approve anyway, so use the PI to reach the workflow lookup.
    assert response.status_code == 403
    response = await client_for("petra").post(
        "/api/subjects/S-NOBODY/commands",
        json={"type": "approve_lymphodepletion", "occurred_at": await now_iso(time_env)},
    )
    assert response.status_code == 404


# --- monitors are read-only -----------------------------------------------------------------

WRITE_BODIES: dict[str, dict[str, Any]] = {
    "register": {
        "type": "register",
        "subject_id": "S-MONITOR",
        "disease": "SLE",
        "sex": "male",
        "birth_date": "1970-01-01",
    },
    "sign_consent": {
        "type": "sign_consent",
        "consent_version": "1.0",
        "signed_on": "2024-01-01",
        "childbearing_potential": False,
    },
    "enroll": {"type": "enroll", "dose_level": "DL1", "route": "intravenous"},
    "record_apheresis": {
        "type": "record_apheresis",
        "collected_on": "2024-01-01",
        "volume_ml": 100,
    },
    "approve_lymphodepletion": {"type": "approve_lymphodepletion"},
    "complete_visit": {
        "type": "complete_visit",
        "code": "M1",
        "completed_on": "2024-01-01",
        "response": "PR",
    },
    "record_correction": {
        "type": "record_correction",
        "target_seq": 1,
        "field": "sex",
        "new_value": "male",
        "reason": "typo",
    },
    # Even an invalid body is refused for the role first: nothing of a monitor's is parsed.
    "garbage": {"type": "no-such-command"},
}


@pytest.mark.parametrize("command", sorted(WRITE_BODIES))
async def test_a_monitor_is_refused_403_on_the_command_endpoint(
    client_for: ClientFor,
    time_env: WorkflowEnvironment,
    subject_id: str,
    command: str,
    sqlite_store: SqlEventStore,
) -> None:
    await registered(client_for, time_env, subject_id)
    body = {"occurred_at": await now_iso(time_env), **WRITE_BODIES[command]}
    response = await client_for("mona").post(f"/api/subjects/{subject_id}/commands", json=body)
    assert response.status_code == 403
    assert "read-only" in response.json()["detail"]
    assert [e.type for e in sqlite_store.read_stream(subject_id)] == ["subject.registered"]


@pytest.mark.parametrize("valid", [True, False])
async def test_a_monitor_is_refused_403_on_registration(
    client_for: ClientFor,
    time_env: WorkflowEnvironment,
    subject_id: str,
    valid: bool,
    sqlite_store: SqlEventStore,
) -> None:
    body = await register_body(time_env, subject_id) if valid else {"subject_id": 7}
    response = await client_for("mona").post("/api/subjects", json=body)
    assert response.status_code == 403
    assert sqlite_store.head(subject_id) is None


async def test_a_monitor_reads_every_endpoint(
    client_for: ClientFor, time_env: WorkflowEnvironment, subject_id: str
) -> None:
    await registered(client_for, time_env, subject_id)
    client = client_for("mona")
    for path in [
        f"/api/subjects/{subject_id}",
        f"/api/subjects/{subject_id}/events",
        f"/api/subjects/{subject_id}/visits",
        f"/api/subjects/{subject_id}/visits.ics",
        "/api/board",
        "/api/visits/upcoming?days=14",
        "/api/visits.ics",
    ]:
        response = await client.get(path)
        assert response.status_code == 200, (path, response.text)


# --- board, visits and calendars ------------------------------------------------------------


async def infused_subject(
    time_env: WorkflowEnvironment, gateway: SubjectGateway, subject_id: str
) -> date:
    driver = SubjectDriver(time_env, gateway, subject_id)
    return await driver.to_infusion("SLE")


async def test_the_board_shows_phase_days_since_infusion_next_visit_and_overdue_visits(
    client_for: ClientFor,
    time_env: WorkflowEnvironment,
    gateway: SubjectGateway,
    subject_id: str,
    clock: Clock,
) -> None:
    infusion = await infused_subject(time_env, gateway, subject_id)
    client = client_for("cora")
    clock.value = infusion + timedelta(days=2)
    [row] = (await client.get("/api/board", params={"phase": "infused"})).json()
    assert row["subject_id"] == subject_id
    assert row["days_since_infusion"] == 2
    assert row["next_visit"]["code"] == "D0"
    assert row["overdue"] == [] or [v["code"] for v in row["overdue"]] == ["D0"]
    assert row["open_deviations"] == 0

    visits = (await client.get(f"/api/subjects/{subject_id}/visits")).json()
    clock.value = date.fromisoformat(visits[1]["window_end"]) + timedelta(days=1)
    [row] = (await client.get("/api/board", params={"disease": "SLE", "dose_level": "DL1"})).json()
    assert [v["code"] for v in row["overdue"]] == [v["code"] for v in visits[:2]]

    assert (await client.get("/api/board", params={"disease": "SSc"})).json() == []
    assert (await client.get("/api/board", params={"phase": "nonsense"})).status_code == 422


async def test_upcoming_visits_list_overdue_first_then_by_date(
    client_for: ClientFor,
    time_env: WorkflowEnvironment,
    gateway: SubjectGateway,
    subject_id: str,
    clock: Clock,
) -> None:
    await infused_subject(time_env, gateway, subject_id)
    client = client_for("cora")
    visits = (await client.get(f"/api/subjects/{subject_id}/visits")).json()
    m1 = next(v for v in visits if v["code"] == "M1")
    # Just after D0's window closed and with M1's window opening within 14 days.
    clock.value = date.fromisoformat(m1["window_start"]) - timedelta(days=3)
    due = (await client.get("/api/visits/upcoming", params={"days": 14})).json()
    mine = [(d["code"], d["overdue"]) for d in due if d["subject_id"] == subject_id]
    assert mine[0] == ("D0", True)
    assert ("M1", False) in mine
    assert all(not d["overdue"] for d in due[len([x for x in due if x["overdue"]]) :])
    assert "M12" not in [c for c, _ in mine]


async def test_the_calendar_files_are_rfc5545_with_crlf_all_day_events_uid_and_dtstamp(
    client_for: ClientFor,
    time_env: WorkflowEnvironment,
    gateway: SubjectGateway,
    subject_id: str,
) -> None:
    await infused_subject(time_env, gateway, subject_id)
    client = client_for("cora")
    response = await client.get(f"/api/subjects/{subject_id}/visits.ics")
    assert response.headers["content-type"].startswith("text/calendar")
    ics = response.text
    assert ics.startswith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n")
    assert ics.endswith("END:VCALENDAR\r\n")
    assert "\n" not in ics.replace("\r\n", "")
    assert ics.count("BEGIN:VEVENT") == 6
    assert f"UID:{subject_id}-M12@jy231.nct06243159\r\n" in ics
    assert "DTSTAMP:" in ics and "DTSTART;VALUE=DATE:" in ics
    # Visit days are days at the site: the calendar names its zone and carries its VTIMEZONE.
    assert "X-WR-TIMEZONE:Asia/Shanghai\r\n" in ics
    assert "BEGIN:VTIMEZONE\r\nTZID:Asia/Shanghai\r\n" in ics and "TZOFFSETTO:+0800" in ics
    assert all(len(line.encode()) <= 75 for line in ics.split("\r\n"))

    everyone = (await client.get("/api/visits.ics", params={"days": 366})).text
    assert f"UID:{subject_id}-D0@jy231.nct06243159" in everyone


async def test_a_subject_before_infusion_has_an_empty_schedule(
    client_for: ClientFor, time_env: WorkflowEnvironment, subject_id: str
) -> None:
    await registered(client_for, time_env, subject_id)
    response = await client_for("cora").get(f"/api/subjects/{subject_id}/visits")
    assert response.status_code == 200
    assert response.json() == []


async def test_an_unexpected_failure_answers_500_without_a_traceback(
    app: FastAPI, sqlite_store: SqlEventStore
) -> None:
    # A real failure in the read model: its table is gone underneath the running app.
    with sqlite_store.engine.begin() as conn:
        conn.execute(text("DROP TABLE subject_board"))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://test", auth=("cora", PASSWORDS["cora"])
    ) as client:
        response = await client.get("/api/board")
        page = await client.get("/visits")
    assert response.status_code == 500
    assert response.json() == {"detail": "internal error; it has been logged"}
    assert "Traceback" not in response.text and "subject_board" not in response.text
    assert page.status_code in (303, 500)
