"""Authentication for the API (bearer tokens or HTTP Basic) and the dashboard (sessions)."""

from __future__ import annotations

import asyncio
import base64
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPBasic, HTTPBasicCredentials

from domain.access import ALLOWED_ROLES
from domain.actors import Actor, Role
from domain.errors import RoleNotAllowed
from system.redaction import remember_secret
from web.context import AppContext, context
from web.login_guard import AccountLocked
from web.session import COOKIE_NAME, Session
from web.sites import scoped_actor

__all__ = [
    "MONITOR_COMMANDS",
    "LoginRequired",
    "api_actor",
    "api_command_writer",
    "api_writer",
    "authenticate",
    "client_address",
    "live_session",
    "page_actor",
    "page_writer",
    "refuse_monitor",
    "refuse_monitor_unless",
]

_basic = HTTPBasic(auto_error=False, realm="JY231")


class LoginRequired(Exception):
    """Raised for dashboard pages without a valid session; answered with a redirect."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        detail=detail,
        headers={"WWW-Authenticate": 'Basic realm="JY231", Bearer realm="JY231"'},
    )


async def _bearer(ctx: AppContext, presented: str) -> Actor:
    # The token cache (web.token_cache) looks the token up in the store at most once a second
    # and at once after any revocation in this process; the user list is checked every time.
    token = await ctx.tokens.token(presented)
    user = ctx.users.get(token.username) if token else None
    if token is None or user is None:
        raise _unauthorized("unknown or revoked token")
    role = Role(token.role)
    # A token is scoped to its role when made; it dies with a role change of its user,
    # except a read-only (monitor) token, which any user may hold.
    if role is not Role.MONITOR and role is not user.role:
        raise _unauthorized("the token's role is no longer the user's role")
    return Actor(user_id=user.username, role=role)


async def authenticate(request: Request, ctx: AppContext) -> Actor:
    """The caller of an API request: a bearer token, or HTTP Basic through the login guard."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    value = value.strip()
    if value:
        # Whatever happens next, this never appears in a log line of this request.
        remember_secret(value)
    if scheme.lower() == "bearer" and value:
        return await _bearer(ctx, value)
    if scheme.lower() != "basic" or not value:
        raise _unauthorized("valid credentials required (Bearer token or HTTP Basic)")
    try:
        username, _, password = base64.b64decode(value, validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        raise _unauthorized("malformed HTTP Basic credentials") from None
    remember_secret(password)
    try:
        # In a thread (argon2 and SQLite must not stall the event loop), once per credential.
        return await ctx.guard.basic_async(username, password, client_address(request))
    except AccountLocked as exc:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            detail=str(exc),
            headers={"Retry-After": str(exc.retry_after_s)},
        ) from None
    except PermissionError:
        raise _unauthorized("valid credentials required (Bearer token or HTTP Basic)") from None


async def api_actor(
    request: Request,
    ctx: Annotated[AppContext, Depends(context)],
    # Declared so the OpenAPI document offers HTTP Basic; parsed in ``authenticate``.
    _credentials: Annotated[HTTPBasicCredentials | None, Depends(_basic)],
) -> Actor:
    # Another site's subject is a 404; the actor's role is the one at the subject's site.
    return await scoped_actor(request, ctx, await authenticate(request, ctx))


def refuse_monitor(actor: Actor) -> Actor:
    # Checked before the body is used or Temporal is called: a monitor's write never leaves
    # the web process, whatever the command.
    if actor.role is Role.MONITOR:
        raise RoleNotAllowed("monitors have read-only access and cannot record anything")
    return actor


async def api_writer(actor: Annotated[Actor, Depends(api_actor)]) -> Actor:
    return refuse_monitor(actor)


# What a monitor may write: queries and source data verification, never clinical data.
MONITOR_COMMANDS = frozenset(k for k, roles in ALLOWED_ROLES.items() if Role.MONITOR in roles)


def refuse_monitor_unless(actor: Actor, command_type: object) -> Actor:
    if actor.role is Role.MONITOR and command_type not in MONITOR_COMMANDS:
        refuse_monitor(actor)
    return actor


async def api_command_writer(
    request: Request, actor: Annotated[Actor, Depends(api_actor)]
) -> Actor:
    """A writer of the command endpoint: a monitor only for queries and SDV.

    The body's ``type`` is peeked at before the command is parsed, so any other body of a
    monitor's is still refused for the role first, whatever it holds.
    """
    if actor.role is not Role.MONITOR:
        return actor
    try:
        body = await request.json()
    except ValueError:
        body = None
    kind = body.get("type") if isinstance(body, dict) else None
    return refuse_monitor_unless(actor, kind)


def live_session(request: Request, ctx: AppContext) -> Session | None:
    """The cookie's session when it is signed, open (not logged out) and not idle."""
    token = request.cookies.get(COOKIE_NAME)
    session = ctx.signer.session(token) if token else None
    if session is None:
        return None
    username = ctx.security.touch_session(session.sid, ctx.session_idle_s, ctx.signer.max_age_s)
    return session if username == session.username else None


async def page_actor(request: Request, ctx: Annotated[AppContext, Depends(context)]) -> Actor:
    # A database read (and a write once a minute): not on the event loop.
    session = await asyncio.to_thread(live_session, request, ctx)
    user = ctx.users.get(session.username) if session else None
    if user is None:
        raise LoginRequired(request.url.path)
    return await scoped_actor(request, ctx, user.actor)


async def page_writer(actor: Annotated[Actor, Depends(page_actor)]) -> Actor:
    return refuse_monitor(actor)
