"""Dashboard sessions for httpx tests: log in through the real form and keep the cookie."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import httpx

from tests.web.conftest import ClientFor
from tests.web.live import PASSWORDS

__all__ = ["csrf_token", "logged_in", "submit"]

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


async def logged_in(client_for: ClientFor, username: str) -> httpx.AsyncClient:
    client = client_for(None)
    response = await client.post(
        "/login", data={"username": username, "password": PASSWORDS[username], "next": "/board"}
    )
    assert response.status_code == 303, response.text
    return client


async def csrf_token(client: httpx.AsyncClient, page: str = "/board") -> str:
    """The session's token, read from a page the way a browser's form carries it."""
    response = await client.get(page)
    found = _TOKEN.search(response.text)
    assert found is not None, f"no CSRF token on {page}"
    return found.group(1)


async def submit(
    client: httpx.AsyncClient, path: str, data: Mapping[str, str | Sequence[str]]
) -> httpx.Response:
    """POST a dashboard form as the browser does: with the token from the page."""
    return await client.post(path, data={**data, "csrf_token": await csrf_token(client)})
