"""Dashboard pages of the chain of custody: labels, the material board, shipper-log upload."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from domain.actors import Actor
from domain.errors import DomainError
from web.api import check_role
from web.context import AppContext, context
from web.custody_api import (
    all_custody_states,
    book_slots,
    custody_states,
    label_for,
    slot_load,
    stored_state,
    temperature_command,
)
from web.custody_view import material_board, vein_to_vein
from web.errors import status_for, validation_detail
from web.pages import FormWriter, subject_page_response
from web.rendering import render
from web.security import page_actor

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

Ctx = Annotated[AppContext, Depends(context)]
Reader = Annotated[Actor, Depends(page_actor)]


@router.get("/subjects/{subject_id}/label.png")
async def label_page(subject_id: str, actor: Reader, ctx: Ctx, unit_id: str = "") -> Response:
    png = label_for(await stored_state(ctx, subject_id), unit_id or None)
    return Response(png, media_type="image/png")


@router.get("/subjects/{subject_id}/label")
async def printable_label(
    request: Request, subject_id: str, actor: Reader, ctx: Ctx, unit_id: str = ""
) -> HTMLResponse:
    """A page holding just the label, for the browser's print dialog."""
    state = await stored_state(ctx, subject_id)
    label_for(state, unit_id or None)  # refuses an unknown unit before the page renders
    query = urlencode({"unit_id": unit_id}) if unit_id else ""
    return render(
        ctx,
        request,
        "custody_label.html",
        actor=actor,
        subject_id=subject_id,
        unit_id=unit_id,
        src=f"/subjects/{subject_id}/label.png" + (f"?{query}" if query else ""),
    )


@router.get("/material")
async def material_page(request: Request, actor: Reader, ctx: Ctx) -> HTMLResponse:
    items = material_board(await custody_states(ctx))
    states = await custody_states(ctx)
    v2v = vein_to_vein(await all_custody_states(ctx))
    return render(
        ctx,
        request,
        "material.html",
        actor=actor,
        items=items,
        v2v=v2v,
        slots=slot_load(states, ctx),
    )


@router.post("/subjects/{subject_id}/slots")
async def slots_submit(request: Request, subject_id: str, actor: FormWriter, ctx: Ctx) -> Response:
    form = await request.form()
    try:
        day = date.fromisoformat(str(form.get("apheresis_on") or ""))
    except ValueError:
        return await subject_page_response(
            ctx, request, actor, subject_id, notice="Slots refused: apheresis_on is not a date",
            status_code=422,
        )  # fmt: skip
    try:
        result = await book_slots(ctx, subject_id, day, actor)
    except DomainError as exc:
        return await subject_page_response(
            ctx, request, actor, subject_id, notice=f"Slots refused: {exc.message}",
            status_code=status_for(exc),
        )  # fmt: skip
    recorded = ", ".join(e.type for e in result.events)
    query = urlencode({"notice": f"Slots: recorded {recorded}"})
    return RedirectResponse(f"/subjects/{subject_id}?{query}", status_code=303)


@router.post("/subjects/{subject_id}/temperature-log")
async def temperature_log_submit(
    request: Request, subject_id: str, actor: FormWriter, ctx: Ctx
) -> Response:
    form = await request.form()
    upload = form.get("csv")
    body = await upload.read() if isinstance(upload, UploadFile) else b""
    unit_id = str(form.get("unit_id") or "")
    logger_id = str(form.get("logger_id") or "")
    try:
        command = temperature_command(unit_id, logger_id, body)
        check_role(command, actor)
        result = await ctx.gateway.submit(subject_id, command, actor)
    except ValidationError as exc:
        detail = validation_detail(list(exc.errors()))
        message = "; ".join(f"{d['field']}: {d['msg']}" for d in detail)
        return await subject_page_response(
            ctx,
            request,
            actor,
            subject_id,
            notice=f"Shipper log refused: {message}",
            status_code=422,
        )
    except DomainError as exc:
        return await subject_page_response(
            ctx,
            request,
            actor,
            subject_id,
            notice=f"Shipper log refused: {exc.message}",
            status_code=status_for(exc),
        )
    recorded = ", ".join(e.type for e in result.events)
    query = urlencode({"notice": f"Shipper log: recorded {recorded}"})
    return RedirectResponse(f"/subjects/{subject_id}?{query}", status_code=303)
