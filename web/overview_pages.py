"""Pictures of the whole trial: enrollment and the phase funnel, the site's visit calendar."""

from __future__ import annotations

import asyncio
import calendar as month_grid
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from domain.actors import Actor
from domain.subject import fold
from domain.values import Phase, ScheduledVisit
from web.charts import enrollment_svg, funnel, funnel_svg
from web.context import AppContext, context
from web.readside import visit_status
from web.rendering import render
from web.security import page_actor

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
Ctx = Annotated[AppContext, Depends(context)]
Reader = Annotated[Actor, Depends(page_actor)]


@router.get("/overview")
async def overview_page(request: Request, actor: Reader, ctx: Ctx) -> HTMLResponse:
    rows = await asyncio.to_thread(ctx.store.board)
    stages = funnel(rows)
    enrolled = next(s.count for s in stages if s.name == "enrolled")
    failed = [r.subject_id for r in rows if r.phase is Phase.SCREEN_FAILED]
    reasons = await asyncio.to_thread(_screen_fail_reasons, ctx, failed)
    target = ctx.gateway.protocol.protocol.target_enrollment
    return render(
        ctx,
        request,
        "overview.html",
        actor=actor,
        today=ctx.today(),
        enrollment=enrollment_svg(enrolled, target),
        funnel=funnel_svg(stages),
        stages=stages,
        reasons=reasons.most_common(),
    )


def _screen_fail_reasons(ctx: AppContext, subject_ids: list[str]) -> Counter[str]:
    reasons: Counter[str] = Counter()
    for subject_id in subject_ids:
        state = fold(ctx.store.read_stream(subject_id))
        reasons[state.screen_fail_cause or "not recorded"] += 1
    return reasons


@dataclass(frozen=True, slots=True)
class CalendarEntry:
    subject_id: str
    visit: ScheduledVisit
    status: str


def _month(value: str, today: date) -> date:
    try:
        year, month = (int(part) for part in value.split("-"))
        return date(year, month, 1)
    except ValueError:
        return today.replace(day=1)


@router.get("/calendar")
async def calendar_page(request: Request, actor: Reader, ctx: Ctx, month: str = "") -> HTMLResponse:
    """The site's visits of one month on a Monday-first grid, each on its target day."""
    today = ctx.today()
    first = _month(month, today)
    rows = await asyncio.to_thread(ctx.store.board)
    by_day: dict[date, list[CalendarEntry]] = {}
    for row in rows:
        for visit in row.visits:
            if (visit.target.year, visit.target.month) == (first.year, first.month):
                entry = CalendarEntry(row.subject_id, visit, visit_status(visit, today))
                by_day.setdefault(visit.target, []).append(entry)
    weeks = month_grid.Calendar(firstweekday=0).monthdatescalendar(first.year, first.month)
    previous = (first - timedelta(days=1)).replace(day=1)
    following = (first.replace(day=28) + timedelta(days=7)).replace(day=1)
    return render(
        ctx,
        request,
        "calendar.html",
        actor=actor,
        today=today,
        first=first,
        weeks=weeks,
        by_day=by_day,
        previous=previous,
        following=following,
    )
