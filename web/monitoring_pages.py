"""Dashboard pages of the monitors' work: the study-wide query list and the monitoring report."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from domain.actors import Actor
from web.context import AppContext, context
from web.monitoring_view import query_rows, site_reports
from web.rendering import render
from web.security import page_actor
from web.sites import visible

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

Ctx = Annotated[AppContext, Depends(context)]
Reader = Annotated[Actor, Depends(page_actor)]

_STATUSES = ("open", "answered", "closed")


@router.get("/queries")
async def queries_page(
    request: Request, actor: Reader, ctx: Ctx, site: str = "", status: str = "", min_age: str = ""
) -> HTMLResponse:
    rows = visible(ctx, actor, await asyncio.to_thread(ctx.store.board))
    age = int(min_age) if min_age.isdigit() else None
    found = query_rows(
        rows,
        ctx.today(),
        ctx.gateway.protocol,
        site=site or None,
        status=status if status in _STATUSES else None,
        min_age_days=age,
    )
    return render(
        ctx,
        request,
        "queries.html",
        actor=actor,
        queries=found,
        sites=sorted({r.site_id for r in rows if r.site_id}),
        statuses=_STATUSES,
        filters={"site": site, "status": status, "min_age": min_age},
        answer_days=ctx.gateway.protocol.monitoring.query_answer_days,
    )


@router.get("/monitoring")
async def monitoring_page(request: Request, actor: Reader, ctx: Ctx) -> HTMLResponse:
    rows = visible(ctx, actor, await asyncio.to_thread(ctx.store.board))
    protocol = ctx.gateway.protocol
    today = ctx.today()
    return render(
        ctx,
        request,
        "monitoring.html",
        actor=actor,
        reports=site_reports(rows, today, protocol),
        overdue=[q for q in query_rows(rows, today, protocol) if q.overdue],
        answer_days=protocol.monitoring.query_answer_days,
        today=today,
    )
