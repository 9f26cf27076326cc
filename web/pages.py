"""The dashboard: login, board, subject pages with timeline and calendar, command forms."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

import structlog
from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from domain.actors import Actor
from domain.errors import DomainError, NotFound
from domain.events import Event
from domain.state import SubjectState
from domain.subject import fold
from domain.values import Phase
from system.redaction import remember_secret
from web.api import check_role
from web.charts import phase_spans, swimlane_svg
from web.commands import form_command_id
from web.context import AppContext, context
from web.csrf import form_actor, form_writer
from web.custody_view import unit_views
from web.errors import status_for
from web.forms import FormInputError, FormSpec, available_forms, form_errors, form_for, parse_form
from web.ics import calendar
from web.login_guard import AccountLocked
from web.monitoring_view import subject_oversight
from web.readside import board_item, due_visits, visit_status
from web.rendering import render
from web.results_view import results_view
from web.safety_forms import with_recipients
from web.safety_view import ae_rows, monitoring_days
from web.security import (
    client_address,
    live_session,
    page_actor,
    page_writer,
    refuse_monitor_unless,
)
from web.session import COOKIE_NAME
from web.signing import mark_signed, sign_from_form, signing_context
from web.sites import require_site, visible
from web.study_forms import slot_form
from web.susar_view import susar_rows
from web.visit_choices import VISIT_FORMS, with_activity_fields, with_visit_choices

__all__ = ["FormWriter", "router", "subject_page_response"]

log = structlog.get_logger(__name__)

router = APIRouter(include_in_schema=False)

Ctx = Annotated[AppContext, Depends(context)]
Reader = Annotated[Actor, Depends(page_actor)]
Writer = Annotated[Actor, Depends(page_writer)]
# POSTs from dashboard forms: the form must carry the session's CSRF token.
FormWriter = Annotated[Actor, Depends(form_writer)]
FormActor = Annotated[Actor, Depends(form_actor)]

_DISEASES = ("SLE", "SS", "SSc", "DM", "ANCA-AAV")
_HIDDEN_PAYLOAD = {"type", "schema_version"}


def _safe_next(target: str) -> str:
    # Only local paths, so the login form cannot be used to redirect users off-site; never
    # back to a POST-only path such as /logout, which a redirect would turn into a GET.
    local = target.startswith("/") and not target.startswith("//")
    return target if local and target != "/logout" else "/board"


@router.get("/")
async def home() -> RedirectResponse:
    return RedirectResponse("/board", status_code=303)


@router.get("/login")
async def login_form(request: Request, ctx: Ctx, next: str = "/board") -> HTMLResponse:
    return render(ctx, request, "login.html", next=_safe_next(next), error=None, actor=None)


@router.post("/login")
async def login(
    request: Request,
    ctx: Ctx,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/board",
) -> Response:
    address = client_address(request)
    remember_secret(password)
    try:
        # In a thread: argon2 and the failure counters must not stall the event loop.
        actor = await asyncio.to_thread(ctx.guard.login, username, password, address)
    except (AccountLocked, PermissionError) as exc:
        locked = isinstance(exc, AccountLocked)
        response = render(
            ctx,
            request,
            "login.html",
            status_code=429 if locked else 401,
            next=_safe_next(next),
            error=str(exc) if locked else "Unknown user or wrong password.",
            actor=None,
        )
        if isinstance(exc, AccountLocked):
            response.headers["Retry-After"] = str(exc.retry_after_s)
        return response
    cookie, session = ctx.signer.issue(actor.user_id)
    await asyncio.to_thread(ctx.security.open_session, session.sid, actor.user_id)
    redirect = RedirectResponse(_safe_next(next), status_code=303)
    redirect.set_cookie(
        COOKIE_NAME,
        cookie,
        max_age=ctx.signer.max_age_s,
        httponly=True,
        samesite="lax",
        secure=ctx.secure_cookies,
    )
    return redirect


@router.post("/logout", dependencies=[Depends(form_actor)])
async def logout(request: Request, ctx: Ctx) -> RedirectResponse:
    # Ended on the server: the old cookie, replayed, opens nothing.
    session = live_session(request, ctx)
    if session is not None:
        await asyncio.to_thread(ctx.security.revoke_session, session.sid)
        ctx.security.log_event(
            "logout", "session ended", username=session.username, address=client_address(request)
        )
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE_NAME, httponly=True, samesite="lax", secure=ctx.secure_cookies)
    return response


@router.get("/board")
async def board_page(
    request: Request,
    actor: Reader,
    ctx: Ctx,
    phase: str = "",
    disease: str = "",
    dose_level: str = "",
) -> HTMLResponse:
    phase_filter = phase if phase in {p.value for p in Phase} else None
    rows = visible(
        ctx,
        actor,
        await asyncio.to_thread(ctx.store.board, phase_filter, disease or None, dose_level or None),
    )
    today = ctx.today()
    return render(
        ctx,
        request,
        "board.html",
        actor=actor,
        items=[board_item(row, today) for row in rows],
        today=today,
        phases=[p.value for p in Phase if p is not Phase.NEW],
        diseases=_DISEASES,
        filters={"phase": phase, "disease": disease, "dose_level": dose_level},
    )


@router.get("/visits")
async def visits_page(request: Request, actor: Reader, ctx: Ctx, days: int = 14) -> HTMLResponse:
    days = max(0, min(days, 366))
    rows = visible(ctx, actor, await asyncio.to_thread(ctx.store.board))
    return render(
        ctx,
        request,
        "visits.html",
        actor=actor,
        visits=due_visits(rows, ctx.today(), days),
        days=days,
        today=ctx.today(),
    )


@router.get("/visits.ics")
async def visits_ics(actor: Reader, ctx: Ctx, days: int = 14) -> Response:
    rows = visible(ctx, actor, await asyncio.to_thread(ctx.store.board))
    visits = due_visits(rows, ctx.today(), max(0, min(days, 366)))
    body = calendar(visits, "JY231 visits", zone_name=ctx.gateway.protocol.calendar.timezone)
    return Response(body, media_type="text/calendar; charset=utf-8")


@router.get("/subjects/{subject_id}/visits.ics")
async def subject_ics(subject_id: str, actor: Reader, ctx: Ctx) -> Response:
    row = await asyncio.to_thread(ctx.store.board_row, subject_id)
    if row is None:
        raise NotFound(f"no subject {subject_id!r}")
    body = calendar(
        due_visits([row], ctx.today(), 100_000),
        f"JY231 {subject_id}",
        zone_name=ctx.gateway.protocol.calendar.timezone,
    )
    return Response(body, media_type="text/calendar; charset=utf-8")


def _timeline(events: list[Event]) -> list[dict[str, Any]]:
    entries = []
    for event in events:
        payload = event.payload.model_dump(mode="json", exclude=_HIDDEN_PAYLOAD)
        if event.type == "screening.recorded":
            payload = {"eligible": payload["eligible"], "disease": payload["record"].get("disease")}
        elif event.type == "infusion.recorded":
            payload.pop("schedule", None)
        elif event.type == "lymphodepletion.planned":
            payload["doses"] = len(payload.get("doses", []))
        entries.append(
            {
                "event": event,
                "payload": payload,
                "correction": payload if event.type == "correction.recorded" else None,
            }
        )
    return entries


async def _state_or_none(ctx: AppContext, subject_id: str) -> SubjectState | None:
    # The page still shows the stored history when Temporal is unreachable.
    try:
        return await ctx.gateway.state(subject_id)
    except DomainError:
        return None
    except Exception:
        log.warning("workflow state unavailable", subject_id=subject_id, exc_info=True)
        return None


@router.get("/subjects/new")
async def register_form(request: Request, actor: Writer, ctx: Ctx) -> HTMLResponse:
    spec = form_for("register")
    assert spec is not None
    return _form_page(ctx, request, actor, spec, None, {}, {})


@router.get("/subjects/{subject_id}")
async def subject_page(
    request: Request, subject_id: str, actor: Reader, ctx: Ctx, notice: str = ""
) -> HTMLResponse:
    return await subject_page_response(ctx, request, actor, subject_id, notice=notice)


async def subject_page_response(
    ctx: AppContext,
    request: Request,
    actor: Actor,
    subject_id: str,
    *,
    notice: str = "",
    slot_value: str | None = None,
    slot_errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """The subject page; a refused slot request comes back here with its errors."""
    events = await asyncio.to_thread(ctx.store.read_stream, subject_id)
    if not events:
        raise NotFound(f"no subject {subject_id!r}")
    row = await asyncio.to_thread(ctx.store.board_row, subject_id)
    state = await _state_or_none(ctx, subject_id)
    # Safety is read from the stored stream, so it shows even while Temporal is down.
    stored = fold(events)
    today = ctx.today()
    protocol = ctx.gateway.protocol
    visits = [(v, visit_status(v, today)) for v in (row.visits if row else ())]
    forms = available_forms(state, actor.role, protocol) if state else []
    return render(
        ctx,
        request,
        "subject.html",
        status_code=status_code,
        actor=actor,
        subject_id=subject_id,
        row=row,
        state=state,
        timeline=_timeline(events),
        swimlane=swimlane_svg(phase_spans(events), row.visits if row else (), today),
        visits=visits,
        # Each visit's disease activity, dose and derived responses (domain/response.py).
        assessments={a.code: a for a in stored.assessments},
        forms=[f for f in forms if f.group == "course"],
        safety_forms=[f for f in forms if f.group == "safety"],
        custody_forms=[f for f in forms if f.group == "custody"],
        results_forms=[f for f in forms if f.group == "results"],
        results=results_view(stored, protocol, today),
        susars=susar_rows(stored, protocol, today),
        custody_coi=stored.custody.coi,
        custody_booking=stored.custody.booking,
        custody_units=unit_views(stored),
        can_write=actor.role.value != "monitor",
        monitoring_forms=[f for f in forms if f.group == "monitoring"],
        **subject_oversight(row, stored.signatures, (f.command for f in forms), today, protocol),
        adverse_events=ae_rows(stored, protocol, today),
        dlt_outcome=stored.dlt_outcome,
        monitoring=monitoring_days(events, stored, protocol, today),
        notice=notice,
        slot=slot_form(
            state,
            actor,
            protocol,
            study_configured=ctx.study is not None,
            value=slot_value,
            errors=slot_errors,
        ),
    )


def _form_page(
    ctx: AppContext,
    request: Request,
    actor: Actor,
    spec: FormSpec,
    subject_id: str | None,
    values: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
) -> HTMLResponse:
    action = f"/subjects/{subject_id}/commands/{spec.command}" if subject_id else "/subjects/new"
    # A form shown again after a refusal gets a new id: the refused command recorded nothing.
    return render(
        ctx,
        request,
        "form.html",
        status_code=status_code,
        actor=actor,
        spec=spec,
        subject_id=subject_id,
        action=action,
        values=values,
        errors=errors,
        command_id=str(uuid.uuid4()),
        signing=signing_context(request, ctx, spec.type, values),
    )


async def _subject_form(ctx: AppContext, subject_id: str, command_type: str) -> FormSpec:
    spec = form_for(command_type)
    if spec is None or command_type == "register":
        raise NotFound(f"no form for {command_type!r}")
    if command_type in VISIT_FORMS:
        row = await asyncio.to_thread(ctx.store.board_row, subject_id)
        spec = with_visit_choices(spec, row.visits if row else ())
        spec = with_activity_fields(spec, row.disease if row else None, ctx.gateway.protocol)
    return with_recipients(spec, ctx.gateway.protocol)


@router.get("/subjects/{subject_id}/commands/{command_type}")
async def command_form(
    request: Request, subject_id: str, command_type: str, actor: Reader, ctx: Ctx
) -> HTMLResponse:
    spec = await _subject_form(ctx, subject_id, command_type)
    refuse_monitor_unless(actor, spec.type)
    # Links from the subject page name the AE or day they are about, e.g. ?ae_id=...
    values = {
        f.name: request.query_params[f.name] for f in spec.fields if f.name in request.query_params
    }
    for f in spec.fields:
        if f.kind == "datetime":
            values.setdefault(f.name, datetime.now(UTC).strftime("%Y-%m-%dT%H:%M"))
    return _form_page(ctx, request, actor, spec, subject_id, values, {})


async def _submit_form(
    request: Request, actor: Actor, ctx: AppContext, spec: FormSpec, subject_id: str | None
) -> Response:
    form = await request.form()
    values: dict[str, str] = {}
    uploads: dict[str, bytes] = {}
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):
            uploads[key.removesuffix("_file_")] = await value.read()
        elif key in values:
            # A multiselect sends one value per chosen option.
            values[key] = f"{values[key]},{value}"
        else:
            values[key] = value
    command_id = form_command_id(values.pop("command_id", ""))
    try:
        command = parse_form(spec, values, uploads, datetime.now(UTC))
        actor = require_site(ctx, actor, command)
        check_role(command, actor)
        command = await sign_from_form(request, ctx, actor, command, values)
        if subject_id is None:
            result = await ctx.gateway.register(command, actor, command_id)
            target = command.subject_id
        else:
            result = await ctx.gateway.submit(subject_id, command, actor, command_id)
            target = subject_id
    except (ValidationError, FormInputError) as exc:
        return _form_page(
            ctx, request, actor, spec, subject_id, values, form_errors(exc, spec), 422
        )
    except DomainError as exc:
        errors = {exc.field or "__all__": exc.message}
        if exc.field and exc.field not in {f.name for f in spec.fields}:
            errors = {"__all__": exc.message}
        code = status_for(exc)
        return _form_page(ctx, request, actor, spec, subject_id, values, errors, code)
    if any(e.type == "signature.applied" for e in result.events):
        mark_signed(request, ctx)
    recorded = ", ".join(e.type for e in result.events) or "nothing new"
    verb = "already recorded" if result.repeated else "recorded"
    query = urlencode({"notice": f"{spec.title}: {verb} {recorded}"})
    return RedirectResponse(f"/subjects/{target}?{query}", status_code=303)


@router.post("/subjects/new")
async def register_submit(request: Request, actor: FormWriter, ctx: Ctx) -> Response:
    spec = form_for("register")
    assert spec is not None
    return await _submit_form(request, actor, ctx, spec, None)


@router.post("/subjects/{subject_id}/commands/{command_type}")
async def command_submit(
    request: Request, subject_id: str, command_type: str, actor: FormActor, ctx: Ctx
) -> Response:
    spec = await _subject_form(ctx, subject_id, command_type)
    refuse_monitor_unless(actor, spec.type)
    return await _submit_form(request, actor, ctx, spec, subject_id)
