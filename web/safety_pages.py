"""Dashboard pages for safety and outcomes: the ORR report and the alerts."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from domain.actors import Actor
from web.alerts import newest_first
from web.context import AppContext, context
from web.monitoring_view import query_rows
from web.orr_view import (
    ci_text,
    disease_charts,
    disease_tables,
    load_orr,
    orr_chart,
    orr_tables,
)
from web.rendering import render
from web.security import page_actor
from web.sites import visible, visible_subject_ids

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

Ctx = Annotated[AppContext, Depends(context)]
Reader = Annotated[Actor, Depends(page_actor)]


@router.get("/report/orr")
async def orr_page(request: Request, actor: Reader, ctx: Ctx) -> HTMLResponse:
    report = await asyncio.to_thread(load_orr, ctx.store, ctx.gateway.protocol)
    return render(
        ctx,
        request,
        "orr.html",
        actor=actor,
        report=report,
        tables=orr_tables(report),
        chart=orr_chart(report),
        disease_tables=disease_tables(report),
        disease_charts=disease_charts(report),
        confidence=report.confidence,
        ci_text=ci_text,
        today=ctx.today(),
    )


@router.get("/alerts")
async def alerts_page(request: Request, actor: Reader, ctx: Ctx) -> HTMLResponse:
    alerts = await asyncio.to_thread(newest_first, ctx.outbox)
    seen = await asyncio.to_thread(visible_subject_ids, ctx, actor)
    alerts = alerts if seen is None else [a for a in alerts if a.subject_id in seen]
    rows = visible(ctx, actor, await asyncio.to_thread(ctx.store.board))
    protocol = ctx.gateway.protocol
    # Queries unanswered after the protocol's query_answer_days, computed from the board.
    overdue = [q for q in query_rows(rows, ctx.today(), protocol) if q.overdue]
    return render(
        ctx,
        request,
        "alerts.html",
        actor=actor,
        alerts=alerts,
        queries=overdue,
        answer_days=protocol.monitoring.query_answer_days,
    )
