"""The safety and outcome API: ORR report, alert outbox and study cohorts (read-only)."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends

from activities.notifications import Notification
from domain.actors import Actor
from domain.report import OrrReport
from web.alerts import newest_first
from web.context import AppContext, context
from web.orr_view import load_orr
from web.responses import API_RESPONSES
from web.security import api_actor
from web.sites import visible_subject_ids
from web.study_view import StudyView, load_study

__all__ = ["router"]

router = APIRouter(prefix="/api", tags=["safety and outcomes"], responses=API_RESPONSES)

Ctx = Annotated[AppContext, Depends(context)]
Reader = Annotated[Actor, Depends(api_actor)]


@router.get("/report/orr")
async def orr_report(_: Reader, ctx: Ctx) -> OrrReport:
    """ORR per follow-up timepoint (Day 0 is the baseline), overall, per disease and per dose
    level, and each disease-specific response rate, with exact 95 % CIs. The denominator is
    every infused subject at the timepoint: NE, missed and withdrawn count as non-responders
    (``rule``). The same figures as ``trial report orr --json``.
    """
    return await asyncio.to_thread(load_orr, ctx.store, ctx.gateway.protocol)


@router.get("/alerts")
async def alerts(actor: Reader, ctx: Ctx) -> list[Notification]:
    """Safety alerts from the notification outbox (overdue SAE reports, DLTs, missed
    monitoring days), newest first; only those of the user's sites' subjects."""
    found = await asyncio.to_thread(newest_first, ctx.outbox)
    seen = await asyncio.to_thread(visible_subject_ids, ctx, actor)
    return found if seen is None else [a for a in found if a.subject_id in seen]


@router.get("/study")
async def study(_: Reader, ctx: Ctx) -> StudyView:
    """Dose-level cohorts, DLT outcomes, the 3+3 decision and pending safety reviews."""
    return await asyncio.to_thread(load_study, ctx.store, ctx.gateway.protocol)
