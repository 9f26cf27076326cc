"""Re-consent after an amendment: who must sign the new consent form, by when, who is late.

A page for staff and the same list over REST; read from the board, so it works while
Temporal is down.
"""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict

from domain.actors import Actor
from store.base import BoardRow
from web.context import AppContext, context
from web.rendering import render
from web.responses import API_RESPONSES
from web.security import api_actor, page_actor

__all__ = ["ReconsentDue", "reconsent_due", "router"]

router = APIRouter()

Ctx = Annotated[AppContext, Depends(context)]


class ReconsentDue(BaseModel):
    model_config = ConfigDict(frozen=True)

    subject_id: str
    phase: str
    protocol_version: str
    consent_version: str
    due_on: date
    overdue: bool
    days_left: int


def reconsent_due(rows: list[BoardRow], today: date) -> list[ReconsentDue]:
    """Subjects with a pending re-consent, overdue first, then by due day."""
    out = [
        ReconsentDue(
            subject_id=row.subject_id,
            phase=row.phase.value,
            protocol_version=row.protocol_version,
            consent_version=row.reconsent_version,
            due_on=row.reconsent_due_on,
            # The timer marks it overdue after the due day; staff see it from then on.
            overdue=row.reconsent_overdue or today > row.reconsent_due_on,
            days_left=(row.reconsent_due_on - today).days,
        )
        for row in rows
        if row.reconsent_version is not None
        and row.reconsent_due_on is not None
        and not row.phase.is_terminal
    ]
    return sorted(out, key=lambda r: (not r.overdue, r.due_on, r.subject_id))


@router.get("/api/reconsent", tags=["protocol"], responses=API_RESPONSES)
async def reconsent_api(_: Annotated[Actor, Depends(api_actor)], ctx: Ctx) -> list[ReconsentDue]:
    """Subjects who must sign an amended consent form again: due and overdue."""
    rows = await asyncio.to_thread(ctx.store.board)
    return reconsent_due(rows, ctx.today())


@router.get("/reconsent", include_in_schema=False)
async def reconsent_page(
    request: Request, actor: Annotated[Actor, Depends(page_actor)], ctx: Ctx
) -> HTMLResponse:
    rows = await asyncio.to_thread(ctx.store.board)
    return render(
        ctx,
        request,
        "reconsent.html",
        actor=actor,
        due=reconsent_due(rows, ctx.today()),
        today=ctx.today(),
    )
