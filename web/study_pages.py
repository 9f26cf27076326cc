"""The study page and the study's commands: dose-level slot requests and signed reviews.

Both go to the StudyWorkflow through StudyGateway; the page itself is read from the store.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError
from temporalio.service import RPCError, RPCStatusCode

from domain.actors import Actor, Role
from domain.errors import DomainError, NotFound, RoleNotAllowed
from system.gateway import StudyGateway
from web.charts import escalation_svg
from web.context import AppContext, context
from web.errors import status_for
from web.pages import FormWriter, subject_page_response
from web.rendering import render
from web.security import page_actor
from web.signing import SIGNING_FIELDS, mark_signed, sign_from_form, signing_context
from web.study_forms import REVIEW_FIELDS, field_errors, parse_review, review_form
from web.study_view import load_study

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

Ctx = Annotated[AppContext, Depends(context)]
Reader = Annotated[Actor, Depends(page_actor)]

_NOT_RUNNING = "the study workflow is not running; start it before sending study commands"


def _study(ctx: AppContext) -> StudyGateway:
    if ctx.study is None:
        raise NotFound("this dashboard is not connected to a study workflow")
    return ctx.study


def _not_running(exc: RPCError) -> dict[str, str]:
    # Only a missing workflow is the user's to fix; anything else is an outage, logged as one.
    if exc.status is not RPCStatusCode.NOT_FOUND:
        raise exc
    return {"__all__": _NOT_RUNNING}


async def _form_values(request: Request, *names: str) -> dict[str, str]:
    form = await request.form()
    return {n: v for n in names if isinstance(v := form.get(n), str)}


async def _study_page(
    ctx: AppContext,
    request: Request,
    actor: Actor,
    *,
    notice: str = "",
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    view = await asyncio.to_thread(load_study, ctx.store, ctx.gateway.protocol)
    review = review_form(view, actor, values, errors) if ctx.study is not None else None
    return render(
        ctx,
        request,
        "study.html",
        status_code=status_code,
        actor=actor,
        study=view,
        escalation=escalation_svg(
            view.cohorts,
            ctx.gateway.protocol.safety.dlt_window_days,
            ctx.gateway.protocol.safety.sentinel_stagger_days,
        ),
        review=review,
        notice=notice,
        signing=signing_context(request, ctx, "sign_safety_review", values or {}),
    )


@router.get("/study")
async def study_page(request: Request, actor: Reader, ctx: Ctx, notice: str = "") -> HTMLResponse:
    return await _study_page(ctx, request, actor, notice=notice)


@router.post("/study/reviews")
async def sign_review(request: Request, actor: FormWriter, ctx: Ctx) -> Response:
    study = _study(ctx)
    if actor.role is not Role.PI:
        raise RoleNotAllowed("only the principal investigator signs safety reviews")
    values = await _form_values(request, *REVIEW_FIELDS, *SIGNING_FIELDS)
    fields = REVIEW_FIELDS
    try:
        review = parse_review(
            {k: values[k] for k in REVIEW_FIELDS if k in values}, datetime.now(UTC)
        )
        signature = (await sign_from_form(request, ctx, actor, review, values)).signature
        await study.sign_safety_review(
            review.dose_level, review.decision, review.summary, actor, signature
        )
    except ValidationError as exc:
        errors, code = field_errors(exc, fields), 422
    except DomainError as exc:
        errors, code = field_errors(exc, fields), status_for(exc)
    except RPCError as exc:
        errors, code = _not_running(exc), 409
    else:
        mark_signed(request, ctx)
        notice = f"Safety review for {review.dose_level} signed: {review.decision}"
        return RedirectResponse(f"/study?{urlencode({'notice': notice})}", status_code=303)
    return await _study_page(ctx, request, actor, values=values, errors=errors, status_code=code)


@router.post("/subjects/{subject_id}/slot")
async def request_slot(request: Request, subject_id: str, actor: FormWriter, ctx: Ctx) -> Response:
    study = _study(ctx)
    dose_level = (await _form_values(request, "dose_level")).get("dose_level", "").strip()
    try:
        answer = await study.request_slot(subject_id, dose_level, actor)
    except DomainError as exc:
        errors, code = field_errors(exc, ("dose_level",)), status_for(exc)
    except RPCError as exc:
        errors, code = _not_running(exc), 409
    else:
        if answer.decision != "refused":
            until = f" (until {answer.wait_until.isoformat()})" if answer.wait_until else ""
            notice = f"Dose-level slot {answer.dose_level}: {answer.decision} — {answer.reason}"
            query = urlencode({"notice": notice + until})
            return RedirectResponse(f"/subjects/{subject_id}?{query}", status_code=303)
        # A refusal is the study's answer, not a failure: shown at the level it refuses.
        errors, code = {"dose_level": answer.reason}, 409
    return await subject_page_response(
        ctx,
        request,
        actor,
        subject_id,
        slot_value=dose_level,
        slot_errors=errors,
        status_code=code,
    )
