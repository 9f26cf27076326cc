"""Dashboard sessions for httpx tests: log in through the real form and keep the cookie."""

from __future__ import annotations

import httpx

from tests.web.conftest import ClientFor
from tests.web.live import PASSWORDS

__all__ = ["logged_in"]


async def logged_in(client_for: ClientFor, username: str) -> httpx.AsyncClient:
    client = client_for(None)
    response = await client.post(
        "/login", data={"username": username, "password": PASSWORDS[username], "next": "/board"}
    )
    assert response.status_code == 303, response.text
    return client
