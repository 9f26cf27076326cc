"""Errors and log calls with credentials about: no password, token, cookie or Authorization
value reaches any log line, in either log format, from structlog or the stdlib loggers."""

from __future__ import annotations

import base64
import logging
from typing import Annotated

import httpx
import pytest
import structlog
from fastapi import Depends, FastAPI, Request

from domain.actors import Actor
from store.security import SecurityStore
from system.logging import configure_logging
from system.redaction import redact_text
from tests.web.live import PASSWORDS, USERS_FILE
from web.app import create_app
from web.auth import UserDirectory
from web.security import api_actor
from web.session import COOKIE_NAME

PASSWORD = PASSWORDS["cora"]


class _NoGateway:
    """The routes under test never reach Temporal."""


def _app(security: SecurityStore) -> FastAPI:
    app = create_app(
        _NoGateway(),  # type: ignore[arg-type]
        _NoStore(),  # type: ignore[arg-type]
        UserDirectory.load(USERS_FILE),
        session_secret="s",
        security=security,
        outbox=None,
    )
    log = structlog.get_logger("test.boom")

    @app.get("/api/boom")
    async def boom(request: Request, actor: Annotated[Actor, Depends(api_actor)]) -> None:
        # The request's own credential, decoded, in a local variable and in the error text.
        scheme, _, value = request.headers["authorization"].partition(" ")
        remembered = base64.b64decode(value).decode() if scheme == "Basic" else value
        log.info("request seen", headers=dict(request.headers), password=PASSWORD)
        raise RuntimeError(f"could not use {remembered!r} with {request.headers['authorization']}")

    return app


class _NoStore:
    pass


@pytest.mark.parametrize("fmt", ["console", "json"])
async def test_no_credential_reaches_the_logs_after_errors(
    fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(fmt)
    security = SecurityStore()
    token = security.create_token("cora", "coordinator", "t")
    app = _app(security)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        basic = await client.get("/api/boom", auth=("cora", PASSWORD))
        bearer = await client.get("/api/boom", headers={"Authorization": f"Bearer {token}"})
        client.cookies.set(COOKIE_NAME, "cookie-value-that-is-secret")
        wrong = await client.post("/login", data={"username": "cora", "password": "hunter2hunter2"})
    logging.getLogger("uvicorn.error").error(
        "bad request: Authorization: Basic %s; password=%s",
        base64.b64encode(f"cora:{PASSWORD}".encode()).decode(),
        PASSWORD,
    )
    try:
        raise ValueError(f"token={token}")
    except ValueError:
        logging.getLogger("temporalio.worker").exception("activity failed")

    assert basic.status_code == bearer.status_code == 500
    assert wrong.status_code == 401
    out = capsys.readouterr()
    logs = out.out + out.err
    assert "RuntimeError" in logs and "activity failed" in logs
    secrets = [
        PASSWORD,
        base64.b64encode(f"cora:{PASSWORD}".encode()).decode(),
        token,
        # The secret part may itself contain "_" (urlsafe base64): split off only the prefix and id.
        token.split("_", 2)[2],
        "hunter2hunter2",
        "cookie-value-that-is-secret",
    ]
    for secret in secrets:
        assert secret not in logs, f"{secret!r} in the {fmt} logs"


def test_redaction_keeps_the_rest_of_the_text() -> None:
    assert redact_text("user cora failed: Authorization: Bearer abcdef123456") == (
        "user cora failed: Authorization: Bearer [redacted]"
    )
    assert redact_text("password='x y', next=/board") == "password='[redacted]', next=/board"
