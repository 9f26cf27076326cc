"""Authentication for the API (HTTP Basic) and the dashboard (signed session cookie)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPBasic, HTTPBasicCredentials

from domain.actors import Actor, Role
from domain.errors import RoleNotAllowed
from web.context import AppContext, context
from web.session import COOKIE_NAME

__all__ = [
    "LoginRequired",
    "api_actor",
    "api_writer",
    "page_actor",
    "page_writer",
    "refuse_monitor",
]

_basic = HTTPBasic(auto_error=False, realm="JY231")


class LoginRequired(Exception):
    """Raised for dashboard pages without a valid session; answered with a redirect."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def api_actor(
    ctx: Annotated[AppContext, Depends(context)],
    credentials: Annotated[HTTPBasicCredentials | None, Depends(_basic)],
) -> Actor:
    actor = ctx.users.verify(credentials.username, credentials.password) if credentials else None
    if actor is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="valid credentials required (HTTP Basic)",
            headers={"WWW-Authenticate": 'Basic realm="JY231"'},
        )
    return actor


def refuse_monitor(actor: Actor) -> Actor:
    # Checked before the body is used or Temporal is called: a monitor's write never leaves
    # the web process, whatever the command.
    if actor.role is Role.MONITOR:
        raise RoleNotAllowed("monitors have read-only access and cannot record anything")
    return actor


def api_writer(actor: Annotated[Actor, Depends(api_actor)]) -> Actor:
    return refuse_monitor(actor)


def page_actor(request: Request, ctx: Annotated[AppContext, Depends(context)]) -> Actor:
    token = request.cookies.get(COOKIE_NAME)
    username = ctx.signer.unsign(token) if token else None
    user = ctx.users.get(username) if username else None
    if user is None:
        raise LoginRequired(request.url.path)
    return user.actor


def page_writer(actor: Annotated[Actor, Depends(page_actor)]) -> Actor:
    return refuse_monitor(actor)
