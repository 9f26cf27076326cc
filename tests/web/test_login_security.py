"""Hardened logins over HTTP: server-side sessions, lockout, bearer tokens, security headers."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from store.security import SecurityStore
from store.sql import SqlEventStore
from system.gateway import SubjectGateway
from tests.web.conftest import ClientFor
from tests.web.live import PASSWORDS
from tests.web.login import logged_in, submit
from web.app import create_app
from web.auth import UserDirectory
from web.session import COOKIE_NAME
from web.token_cache import RECHECK_S

PAGES = ["/login", "/board", "/visits", "/alerts", "/study", "/report/orr", "/subjects/new"]


def _client(app: FastAPI, base_url: str = "http://test") -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url)


async def test_a_logged_out_cookie_opens_nothing(client_for: ClientFor) -> None:
    cora = await logged_in(client_for, "cora")
    cookie = cora.cookies[COOKIE_NAME]
    assert (await cora.get("/board")).status_code == 200

    assert (await submit(cora, "/logout", {})).status_code == 303

    replay = client_for(None)
    replay.cookies.set(COOKIE_NAME, cookie)
    answer = await replay.get("/board")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login")


async def test_an_idle_session_ends(
    gateway: SubjectGateway, sqlite_store: SqlEventStore, users: UserDirectory
) -> None:
    app = create_app(gateway, sqlite_store, users, session_secret="s", session_idle_s=0.2)
    async with _client(app) as client:
        await client.post("/login", data={"username": "cora", "password": PASSWORDS["cora"]})
        assert (await client.get("/board")).status_code == 200
        await asyncio.sleep(0.3)
        assert (await client.get("/board")).status_code == 303


async def test_twenty_wrong_passwords_lock_the_login_and_the_right_one_then_fails(
    app: FastAPI, client_for: ClientFor
) -> None:
    client = client_for(None)
    for _ in range(20):
        wrong = await client.post("/login", data={"username": "ivan", "password": "guess-guess"})
        assert wrong.status_code == 401
    right = await client.post("/login", data={"username": "ivan", "password": PASSWORDS["ivan"]})
    assert right.status_code == 429
    assert "locked" in right.text
    assert COOKIE_NAME not in client.cookies
    # The API refuses the same account too, before any password check.
    api = client_for("ivan")
    assert (await api.get("/api/board")).status_code == 429

    # The PI sees it in the security log; nobody else may read it.
    petra = client_for("petra")
    kinds = [e["kind"] for e in (await petra.get("/api/security/events")).json()]
    assert kinds.count("login.failed") == 20 and "login.locked" in kinds
    assert (await client_for("cora").get("/api/security/events")).status_code == 403
    page = await (await logged_in(client_for, "petra")).get("/security")
    assert page.status_code == 200 and "login.locked" in page.text


async def test_bearer_tokens_are_scoped_and_revocable(app: FastAPI, client_for: ClientFor) -> None:
    security: SecurityStore = app.state.ctx.security
    token = security.create_token("cora", "coordinator", "test")
    read_only = security.create_token("cora", "monitor", "test")
    async with _client(app) as client:
        auth = {"Authorization": f"Bearer {token}"}
        assert (await client.get("/api/board", headers=auth)).status_code == 200
        refused = await client.post(
            "/api/subjects/S-TOKEN-1/commands",
            headers={"Authorization": f"Bearer {read_only}"},
            json={"type": "sign_consent"},
        )
        assert refused.status_code == 403

        security.revoke_token(token.split("_")[1])
        assert (await client.get("/api/board", headers=auth)).status_code == 401
        forged = {"Authorization": f"Bearer {token[:-4]}AAAA"}
        assert (await client.get("/api/board", headers=forged)).status_code == 401
    # Only digests are stored: the database holds no token secret.
    with security.engine.connect() as conn:
        dumped = " ".join(str(row) for row in conn.exec_driver_sql("SELECT * FROM api_tokens"))
    assert token.split("_", 2)[2] not in dumped


async def test_a_token_revoked_by_another_process_is_refused_within_a_second(
    gateway: SubjectGateway, sqlite_store: SqlEventStore, users: UserDirectory, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'security.db'}"
    # The CLI (`trial user token revoke`) writes the same database through its own engine.
    web, cli = SecurityStore(url), SecurityStore(url)
    app = create_app(gateway, sqlite_store, users, session_secret="s", security=web)
    token = cli.create_token("cora", "coordinator", "test")
    auth = {"Authorization": f"Bearer {token}"}
    async with _client(app) as client:
        assert (await client.get("/api/board", headers=auth)).status_code == 200
        cli.revoke_token(token.split("_")[1])
        await asyncio.sleep(RECHECK_S)
        assert (await client.get("/api/board", headers=auth)).status_code == 401
    web.close()
    cli.close()


@pytest.mark.parametrize("page", PAGES)
async def test_every_page_carries_the_security_headers(client_for: ClientFor, page: str) -> None:
    client = await logged_in(client_for, "petra")
    answer = await client.get(page)
    assert answer.status_code == 200
    csp = answer.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["referrer-policy"] == "no-referrer"


async def test_the_session_cookie_is_secure_when_served_over_https(
    gateway: SubjectGateway, sqlite_store: SqlEventStore, users: UserDirectory
) -> None:
    plain = create_app(gateway, sqlite_store, users, session_secret="s")
    secure = create_app(gateway, sqlite_store, users, session_secret="s", secure_cookies=True)
    form = {"username": "cora", "password": PASSWORDS["cora"]}
    async with _client(plain) as a, _client(secure, "https://test") as b:
        plain_cookie = (await a.post("/login", data=form)).headers["set-cookie"]
        secure_answer = await b.post("/login", data=form)
    assert "secure" not in plain_cookie.lower()
    assert "; secure" in secure_answer.headers["set-cookie"].lower()
    assert "httponly" in secure_answer.headers["set-cookie"].lower()
    assert secure_answer.headers["strict-transport-security"].startswith("max-age=")
