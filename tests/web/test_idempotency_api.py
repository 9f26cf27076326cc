"""Idempotency-Key on the REST API and command ids on the dashboard's forms."""

from __future__ import annotations

import re
import uuid

import httpx
from fastapi import FastAPI
from temporalio.testing import WorkflowEnvironment

from store.sql import SqlEventStore
from system.gateway import SubjectGateway
from tests.web.conftest import ClientFor
from tests.web.live import PASSWORDS
from tests.web.login import logged_in, submit
from tests.web.test_api import consent_body, register_body, registered
from web.app import create_app
from web.auth import UserDirectory


async def test_a_repeated_idempotency_key_answers_the_first_result_and_records_once(
    client_for: ClientFor,
    time_env: WorkflowEnvironment,
    gateway: SubjectGateway,
    subject_id: str,
    sqlite_store: SqlEventStore,
) -> None:
    cora = client_for("cora")
    key = str(uuid.uuid4())
    body = await register_body(time_env, subject_id)
    first = await cora.post("/api/subjects", json=body, headers={"Idempotency-Key": key})
    again = await cora.post("/api/subjects", json=body, headers={"Idempotency-Key": key})
    assert (first.status_code, again.status_code) == (201, 201), again.text
    assert again.json()["events"] == first.json()["events"]
    assert first.json()["command_id"] == key

    consent = await consent_body(time_env, gateway)
    path = f"/api/subjects/{subject_id}/commands"
    key2 = str(uuid.uuid4())
    one = await cora.post(path, json=consent, headers={"Idempotency-Key": key2})
    two = await cora.post(path, json=consent, headers={"Idempotency-Key": key2})
    assert (one.status_code, two.status_code) == (200, 200), two.text
    assert two.json()["events"] == one.json()["events"]
    assert [e.type for e in sqlite_store.read_stream(subject_id)] == [
        "subject.registered",
        "consent.signed",
    ]

    status = await cora.get(f"/api/commands/{key2}")
    assert status.status_code == 200
    assert status.json()["status"] == "applied" and status.json()["seqs"] == [2]


async def test_the_same_key_with_a_different_body_is_a_409_naming_the_conflict(
    client_for: ClientFor,
    time_env: WorkflowEnvironment,
    gateway: SubjectGateway,
    subject_id: str,
    sqlite_store: SqlEventStore,
) -> None:
    await registered(client_for, time_env, subject_id)
    cora = client_for("cora")
    path = f"/api/subjects/{subject_id}/commands"
    key = str(uuid.uuid4())
    consent = await consent_body(time_env, gateway)
    assert (await cora.post(path, json=consent, headers={"Idempotency-Key": key})).is_success
    other = {**consent, "reason": "a different request"}
    response = await cora.post(path, json=other, headers={"Idempotency-Key": key})
    assert response.status_code == 409
    assert response.json()["code"] == "duplicate_command"
    assert "already used for a different command" in response.json()["detail"]
    assert len(sqlite_store.read_stream(subject_id)) == 2


async def test_a_malformed_key_is_a_422_naming_the_header(
    client_for: ClientFor, time_env: WorkflowEnvironment, subject_id: str
) -> None:
    response = await client_for("cora").post(
        "/api/subjects",
        json=await register_body(time_env, subject_id),
        headers={"Idempotency-Key": "not-a-uuid"},
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "Idempotency-Key"


async def test_the_command_id_may_come_in_the_body_when_there_is_no_header(
    client_for: ClientFor,
    time_env: WorkflowEnvironment,
    gateway: SubjectGateway,
    subject_id: str,
    sqlite_store: SqlEventStore,
) -> None:
    cora = client_for("cora")
    key = str(uuid.uuid4())
    body = {**await register_body(time_env, subject_id), "command_id": key}
    first = await cora.post("/api/subjects", json=body)
    assert first.status_code == 201, first.text
    assert first.json()["command_id"] == key
    # The same id once in the header, once in the body: one request, answered as the first.
    again = await cora.post(
        "/api/subjects", json={**body, "command_id": key.upper()}, headers={"Idempotency-Key": key}
    )
    assert again.status_code == 201 and again.json()["events"] == first.json()["events"]

    path = f"/api/subjects/{subject_id}/commands"
    consent_key = str(uuid.uuid4())
    consent = {**await consent_body(time_env, gateway), "command_id": consent_key}
    one = await cora.post(path, json=consent)
    two = await cora.post(path, json=consent)
    assert (one.status_code, two.status_code) == (200, 200), two.text
    assert two.json()["events"] == one.json()["events"]
    assert [e.command_id for e in sqlite_store.read_stream(subject_id)] == [key, consent_key]
    status = (await cora.get(f"/api/commands/{consent_key}")).json()
    assert (status["status"], status["seqs"]) == ("applied", [2])


async def test_a_header_and_body_naming_different_ids_is_a_422_naming_the_field(
    client_for: ClientFor,
    time_env: WorkflowEnvironment,
    subject_id: str,
    sqlite_store: SqlEventStore,
) -> None:
    cora = client_for("cora")
    body = {**await register_body(time_env, subject_id), "command_id": str(uuid.uuid4())}
    response = await cora.post(
        "/api/subjects", json=body, headers={"Idempotency-Key": str(uuid.uuid4())}
    )
    assert response.status_code == 422
    detail = response.json()["detail"][0]
    assert (detail["field"], detail["rule"]) == ("command_id", "value_out_of_range")
    assert "Idempotency-Key" in detail["msg"]
    for bad in ("not-a-uuid", 42, None):
        refused = await cora.post("/api/subjects", json={**body, "command_id": bad})
        assert refused.status_code == 422
        assert refused.json()["detail"][0]["field"] == "command_id"
    assert sqlite_store.read_stream(subject_id) == []


def test_the_openapi_document_shows_command_id_on_every_command_body(app: FastAPI) -> None:
    schemas = app.openapi()["components"]["schemas"]
    for name in ("RegisterSubject", "SignConsent", "RecordAdverseEvent", "OpenQuery"):
        assert schemas[name]["properties"]["command_id"]["format"] == "uuid", name
    assert "command_id" not in schemas["SubjectState"]["properties"]


async def test_a_command_status_says_refused_and_why_or_404_when_unknown(
    client_for: ClientFor, time_env: WorkflowEnvironment, gateway: SubjectGateway, subject_id: str
) -> None:
    await registered(client_for, time_env, subject_id)
    cora = client_for("cora")
    key = str(uuid.uuid4())
    wrong = {**await consent_body(time_env, gateway), "consent_version": "9.9"}
    refused = await cora.post(
        f"/api/subjects/{subject_id}/commands", json=wrong, headers={"Idempotency-Key": key}
    )
    assert refused.status_code == 422
    status = (await cora.get(f"/api/commands/{key}")).json()
    assert (status["status"], status["field"]) == ("refused", "consent_version")
    unknown = await cora.get(f"/api/commands/{uuid.uuid4()}")
    assert unknown.status_code == 404


async def test_a_refused_command_is_still_reported_refused_after_the_web_app_restarts(
    client_for: ClientFor,
    time_env: WorkflowEnvironment,
    gateway: SubjectGateway,
    subject_id: str,
    sqlite_store: SqlEventStore,
    users: UserDirectory,
) -> None:
    await registered(client_for, time_env, subject_id)
    key = str(uuid.uuid4())
    wrong = {**await consent_body(time_env, gateway), "consent_version": "9.9"}
    refused = await client_for("cora").post(
        f"/api/subjects/{subject_id}/commands", json=wrong, headers={"Idempotency-Key": key}
    )
    assert refused.status_code == 422

    # A new web process: a gateway with an empty memory over the same store and Temporal.
    restarted = create_app(
        SubjectGateway(time_env.client, gateway.task_queue, gateway.protocol, store=sqlite_store),
        sqlite_store,
        users,
        session_secret="another-secret",
    )
    transport = httpx.ASGITransport(app=restarted)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://test", auth=("cora", PASSWORDS["cora"])
    ) as client:
        status = (await client.get(f"/api/commands/{key}")).json()
        assert status["status"] == "refused"
        assert (status["subject_id"], status["command_type"]) == (subject_id, "sign_consent")
        assert (status["code"], status["field"]) == ("value_out_of_range", "consent_version")
        assert "9.9" in status["message"]
        # Nothing was recorded for it: the refusal is no clinical event.
        assert [e.type for e in sqlite_store.read_stream(subject_id)] == ["subject.registered"]


_COMMAND_ID = re.compile(r'name="command_id" value="([^"]+)"')


async def test_a_dashboard_form_re_posted_with_its_command_id_records_once(
    client_for: ClientFor, sqlite_store: SqlEventStore, subject_id: str
) -> None:
    cora = await logged_in(client_for, "cora")
    page = await cora.get("/subjects/new")
    found = _COMMAND_ID.search(page.text)
    assert found is not None, "the form carries no command id"
    form = {
        "subject_id": subject_id,
        "disease": "SLE",
        "birth_date": "1980-06-15",
        "sex": "female",
        "command_id": found.group(1),
    }
    first = await submit(cora, "/subjects/new", form)
    again = await submit(cora, "/subjects/new", form)  # the browser re-posts after a timeout
    assert (first.status_code, again.status_code) == (303, 303), again.text
    assert [e.type for e in sqlite_store.read_stream(subject_id)] == ["subject.registered"]

    changed = await submit(cora, "/subjects/new", {**form, "sex": "male"})
    assert changed.status_code == 409
    assert "already used for a different command" in changed.text
    assert len(sqlite_store.read_stream(subject_id)) == 1
