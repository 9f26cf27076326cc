"""Sites: a user of site A gets 404 for a subject of site B everywhere (API, dashboard, CLI,
exports), lists keep their own sites' subjects, and a role may differ per site."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from temporalio.testing import WorkflowEnvironment

from domain.protocol import Protocol
from store.sql import SqlEventStore
from system.gateway import SubjectGateway
from tests.cli.test_cli_api import trial
from tests.web.conftest import Clock
from tests.web.live import PASSWORDS, LiveServer
from tests.web.test_api import now_iso
from web.app import create_app
from web.auth import UserDirectory

PASSWORD = "site-demo-2024"
SITE_A, SITE_B = "SBH-01", "SBH-02"


@pytest.fixture(scope="module")
def site_users_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    digest = PasswordHasher().hash(PASSWORD)
    path = tmp_path_factory.mktemp("users") / "users.toml"
    path.write_text(
        f"""
[users.anna]
role = "coordinator"
name = "Anna (site A)"
password_hash = "{digest}"
sites = ["{SITE_A}"]

[users.bert]
role = "coordinator"
name = "Bert (site B)"
password_hash = "{digest}"
sites = ["{SITE_B}"]

[users.mia]
role = "monitor"
name = "Mia (monitor of site B)"
password_hash = "{digest}"
sites = ["{SITE_B}"]

[users.paul]
role = "investigator"
name = "Paul (investigator at A, PI at B)"
password_hash = "{digest}"
sites = {{ "{SITE_A}" = "investigator", "{SITE_B}" = "pi" }}
""",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def site_app(
    gateway: SubjectGateway, sqlite_store: SqlEventStore, site_users_file: Path, clock: Clock
) -> FastAPI:
    users = UserDirectory.load(site_users_file)
    return create_app(gateway, sqlite_store, users, session_secret="s", today=clock)


@pytest.fixture
async def as_user(site_app: FastAPI) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    transport = httpx.ASGITransport(app=site_app)
    clients = {
        name: httpx.AsyncClient(transport=transport, base_url="http://t", auth=(name, PASSWORD))
        for name in ("anna", "bert", "mia", "paul")
    }
    yield clients
    for client in clients.values():
        await client.aclose()


async def _register(
    client: httpx.AsyncClient, env: WorkflowEnvironment, subject_id: str, site: str
) -> httpx.Response:
    return await client.post(
        "/api/subjects",
        json={
            "occurred_at": await now_iso(env),
            "subject_id": subject_id,
            "disease": "SLE",
            "sex": "female",
            "birth_date": "1980-06-15",
            "site_id": site,
        },
    )


SUBJECT_PATHS = [
    "/api/subjects/{id}",
    "/api/subjects/{id}/events",
    "/api/subjects/{id}/visits",
    "/api/subjects/{id}/visits.ics",
    "/api/subjects/{id}/queries",
    "/api/subjects/{id}/sdv",
    "/api/subjects/{id}/export?format=odm",
    "/api/subjects/{id}/export?format=jsonl",
]


async def test_a_user_of_site_a_gets_404_for_a_subject_of_site_b_in_the_api_and_lists(
    as_user: dict[str, httpx.AsyncClient], time_env: WorkflowEnvironment
) -> None:
    anna, bert, mia = as_user["anna"], as_user["bert"], as_user["mia"]
    assert (await _register(anna, time_env, "S-SITEA", SITE_A)).status_code == 201
    assert (await _register(bert, time_env, "S-SITEB", SITE_B)).status_code == 201
    elsewhere = await _register(anna, time_env, "S-SITEX", SITE_B)
    assert elsewhere.status_code == 403 and SITE_B in elsewhere.json()["detail"]

    for path in SUBJECT_PATHS:
        assert (await anna.get(path.format(id="S-SITEB"))).status_code == 404, path
        assert (await bert.get(path.format(id="S-SITEB"))).status_code == 200, path
        assert (await mia.get(path.format(id="S-SITEA"))).status_code == 404, path
    command = {"type": "open_query", "occurred_at": await now_iso(time_env)}
    for client, subject in ((anna, "S-SITEB"), (mia, "S-SITEA")):
        response = await client.post(
            f"/api/subjects/{subject}/commands", json={**command, "target_seq": 1, "question": "?"}
        )
        assert response.status_code == 404
        assert subject in response.json()["detail"]

    assert [b["subject_id"] for b in (await anna.get("/api/board")).json()] == ["S-SITEA"]
    assert [b["subject_id"] for b in (await mia.get("/api/board")).json()] == ["S-SITEB"]
    opened = await mia.post(
        "/api/subjects/S-SITEB/commands", json={**command, "target_seq": 1, "question": "DOB?"}
    )
    assert opened.status_code == 200, opened.text
    assert (await anna.get("/api/queries")).json() == []
    assert [q["subject_id"] for q in (await bert.get("/api/queries")).json()] == ["S-SITEB"]
    report = (await mia.get("/api/monitoring/report")).json()
    assert [r["site_id"] for r in report] == [SITE_B]


async def test_a_role_per_site_decides_what_a_user_may_do_at_each_site(
    as_user: dict[str, httpx.AsyncClient], time_env: WorkflowEnvironment
) -> None:
    paul = as_user["paul"]
    await _register(as_user["anna"], time_env, "S-PAULA", SITE_A)
    await _register(as_user["bert"], time_env, "S-PAULB", SITE_B)
    unlock = {"type": "unlock_casebook", "occurred_at": await now_iso(time_env), "reason": "x"}
    # An investigator at A may not send a PI-only command there ...
    at_a = await paul.post("/api/subjects/S-PAULA/commands", json=unlock)
    assert at_a.status_code == 403
    # ... but is the PI at B: the role passes, the domain answers that nothing is locked.
    at_b = await paul.post("/api/subjects/S-PAULB/commands", json=unlock)
    assert at_b.status_code == 409 and "not locked" in at_b.json()["detail"]


async def test_the_dashboard_hides_another_sites_subject_with_a_404(
    site_app: FastAPI, as_user: dict[str, httpx.AsyncClient], time_env: WorkflowEnvironment
) -> None:
    await _register(as_user["bert"], time_env, "S-DASHB", SITE_B)
    browser = httpx.AsyncClient(transport=httpx.ASGITransport(app=site_app), base_url="http://t")
    async with browser:
        login = await browser.post(
            "/login", data={"username": "anna", "password": PASSWORD, "next": "/board"}
        )
        assert login.status_code == 303
        assert (await browser.get("/subjects/S-DASHB")).status_code == 404
        assert (await browser.get("/subjects/S-DASHB/commands/answer_query")).status_code == 404
        assert "S-DASHB" not in (await browser.get("/board")).text
        assert "S-DASHB" not in (await browser.get("/queries")).text


@pytest.fixture
def site_server(
    time_env: WorkflowEnvironment,
    live_worker: None,
    sqlite_store: SqlEventStore,
    site_users_file: Path,
    clock: Clock,
    task_queue: str,
    protocol: Protocol,
) -> Iterator[LiveServer]:
    users = UserDirectory.load(site_users_file)
    target = time_env.client.service_client.config.target_host
    server = LiveServer(target, task_queue, protocol, sqlite_store, users, clock).start()
    try:
        yield server
    finally:
        server.stop()


async def test_the_cli_gets_not_found_for_another_sites_subject(
    site_server: LiveServer, time_env: WorkflowEnvironment, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with httpx.AsyncClient(
        base_url=site_server.url, auth=("bert", PASSWORD), timeout=60
    ) as bert:
        assert (await _register(bert, time_env, "S-CLIB", SITE_B)).status_code == 201
    monkeypatch.setitem(PASSWORDS, "anna", PASSWORD)
    monkeypatch.setitem(PASSWORDS, "bert", PASSWORD)
    hidden = await trial(site_server, "anna", "subject", "show", "S-CLIB")
    assert hidden.exit_code == 1 and "no subject 'S-CLIB'" in hidden.output
    shown = await trial(site_server, "bert", "subject", "show", "S-CLIB", "--json")
    assert shown.exit_code == 0, shown.output
