"""The security log (logins, failures, lockouts, logouts), for the PI: a page and JSON."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from domain.actors import Actor, Role
from domain.errors import RoleNotAllowed
from store.security import SecurityEvent
from web.context import AppContext, context
from web.rendering import render
from web.responses import API_RESPONSES
from web.security import api_actor, page_actor

__all__ = ["router"]

router = APIRouter()
Ctx = Annotated[AppContext, Depends(context)]


def _pi_only(actor: Actor) -> Actor:
    if actor.role is not Role.PI:
        raise RoleNotAllowed("only the PI reads the security log")
    return actor


def _row(event: SecurityEvent) -> dict[str, Any]:
    return {
        "at": datetime.fromtimestamp(event.at, UTC).isoformat(),
        "kind": event.kind,
        "username": event.username,
        "address": event.address,
        "detail": event.detail,
    }


@router.get("/api/security/events", tags=["security"], responses=API_RESPONSES)
async def security_events_api(
    ctx: Ctx, actor: Annotated[Actor, Depends(api_actor)], limit: int = 200
) -> list[dict[str, Any]]:
    """Newest first: logins, failures, lockouts and logouts (PI only)."""
    _pi_only(actor)
    return [_row(e) for e in await asyncio.to_thread(ctx.security.events, min(limit, 1000))]


@router.get("/security", include_in_schema=False)
async def security_page(
    request: Request, ctx: Ctx, actor: Annotated[Actor, Depends(page_actor)]
) -> HTMLResponse:
    _pi_only(actor)
    rows = [_row(e) for e in await asyncio.to_thread(ctx.security.events, 500)]
    return render(ctx, request, "security.html", actor=actor, events=rows)
