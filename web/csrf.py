"""CSRF protection for the dashboard's forms: a per-session token in a hidden field.

The session cookie is sent with any request the browser makes to this site, including one a
hostile page makes it submit; only pages this app rendered know the session's token. The API
under /api authenticates every request with HTTP Basic and needs none of this.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from domain.actors import Actor
from web.context import AppContext, context
from web.security import page_actor, refuse_monitor
from web.session import COOKIE_NAME, Session

__all__ = ["FIELD", "CsrfRefused", "csrf_for", "form_actor", "form_writer"]

FIELD = "csrf_token"


class CsrfRefused(Exception):
    """A dashboard POST without this session's token; answered 403 and nothing is recorded."""


def _session(request: Request, ctx: AppContext) -> Session | None:
    cookie = request.cookies.get(COOKIE_NAME)
    return ctx.signer.session(cookie) if cookie else None


def csrf_for(request: Request, ctx: AppContext) -> str | None:
    """The token the page's forms carry; None when nobody is logged in."""
    session = _session(request, ctx)
    return ctx.signer.csrf_token(session) if session else None


async def form_actor(
    request: Request,
    ctx: Annotated[AppContext, Depends(context)],
    actor: Annotated[Actor, Depends(page_actor)],
) -> Actor:
    """The logged-in user of a dashboard POST whose form carries the session's token."""
    session = _session(request, ctx)
    # Starlette caches the parsed form, so the handler reads the same one again for free.
    submitted = (await request.form()).get(FIELD)
    if session is None or not isinstance(submitted, str):
        raise CsrfRefused("the form carries no security token")
    if not ctx.signer.csrf_valid(session, submitted):
        raise CsrfRefused("the form's security token does not belong to this session")
    return actor


async def form_writer(actor: Annotated[Actor, Depends(form_actor)]) -> Actor:
    return refuse_monitor(actor)
