"""Security headers on every response (pure ASGI middleware): pages, API answers and errors
carry the CSP and no-store; static files may be cached; the API docs get their own CSP;
HSTS only behind HTTPS."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from store.sql import SqlEventStore
from system.gateway import SubjectGateway
from tests.web.conftest import ClientFor
from web.app import create_app
from web.auth import UserDirectory
from web.headers import DOCS_CSP, PAGE_CSP

_FIXED = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
}


def _has_fixed_headers(response: httpx.Response) -> None:
    for name, value in _FIXED.items():
        assert response.headers.get_list(name) == [value], name


async def test_pages_and_api_answers_carry_the_page_csp_and_no_store(
    client_for: ClientFor,
) -> None:
    for response in (
        await client_for(None).get("/login"),
        await client_for("cora").get("/api/board"),
        # An error answered by the app's handlers gets the headers too.
        await client_for(None).get("/api/board"),
        await client_for("cora").get("/api/subjects/S-NONE"),
    ):
        _has_fixed_headers(response)
        assert response.headers.get_list("content-security-policy") == [PAGE_CSP]
        assert response.headers["cache-control"] == "no-store"
        assert "strict-transport-security" not in response.headers
    assert (await client_for(None).get("/api/board")).status_code == 401


async def test_static_files_may_be_cached_and_the_docs_get_their_own_policy(
    client_for: ClientFor,
) -> None:
    static = await client_for(None).get("/static/style.css")
    assert static.status_code == 200
    _has_fixed_headers(static)
    assert "no-store" not in static.headers.get("cache-control", "")
    docs = await client_for(None).get("/docs")
    assert docs.status_code == 200
    assert docs.headers["content-security-policy"] == DOCS_CSP


async def test_behind_https_every_answer_carries_hsts(
    gateway: SubjectGateway, sqlite_store: SqlEventStore, users: UserDirectory
) -> None:
    app: FastAPI = create_app(gateway, sqlite_store, users, secure_cookies=True)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="https://test"
    ) as client:
        for path in ("/login", "/api/board", "/static/style.css"):
            response = await client.get(path)
            assert response.headers["strict-transport-security"] == "max-age=31536000", path
