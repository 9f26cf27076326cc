"""The REST API under /api: commands in, state, events, board and visit calendars out."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Response, status

from domain.actors import Actor
from domain.commands import Command, RegisterSubject
from domain.errors import NotFound, RoleNotAllowed, ValueOutOfRange
from domain.events import Event
from domain.state import SubjectState
from domain.subject import ALLOWED_ROLES
from domain.values import Phase, ScheduledVisit
from store.projection import BoardRow
from system.commands import CommandStatus
from web.commands import CommandIdRoute, CommandKey, parse_command_id
from web.context import AppContext, context
from web.ics import calendar
from web.readside import BoardItem, DueVisit, board_item, due_visits
from web.responses import API_RESPONSES, COMMAND_RESPONSES
from web.security import api_actor, api_command_writer, api_writer
from web.signing import require_no_client_signature
from web.sites import require_site, visible
from workflows.subject import SubmitResult

__all__ = ["check_role", "router"]

# Every operation documents the error bodies it can answer (web.responses); command operations
# add 202.
router = APIRouter(prefix="/api", tags=["api"], responses=API_RESPONSES, route_class=CommandIdRoute)

Ctx = Annotated[AppContext, Depends(context)]
Reader = Annotated[Actor, Depends(api_actor)]
Writer = Annotated[Actor, Depends(api_writer)]
# Monitors may send the oversight commands (queries, SDV) here, nothing else.
CommandWriter = Annotated[Actor, Depends(api_command_writer)]

_ICS = "text/calendar; charset=utf-8"
# Far more subjects than the trial will have: the set of known subjects stays small.
_KNOWN_SUBJECTS_MAX = 100_000
# Every planned visit of one subject, however far ahead.
_WHOLE_SCHEDULE_DAYS = 100_000


def check_role(command: Any, actor: Actor) -> None:
    """Refuse a role the domain would refuse anyway, without a round trip to Temporal."""
    allowed = ALLOWED_ROLES.get(command.type, frozenset())
    if actor.role not in allowed:
        names = ", ".join(sorted(r.value for r in allowed))
        raise RoleNotAllowed(
            f"role {actor.role.value!r} may not {command.type.replace('_', ' ')}; allowed: {names}"
        )


async def _row(ctx: AppContext, subject_id: str) -> BoardRow:
    row = await asyncio.to_thread(ctx.store.board_row, subject_id)
    if row is None:
        raise NotFound(f"no subject {subject_id!r}", field="subject_id")
    return row


async def _require_subject(ctx: AppContext, subject_id: str) -> None:
    if subject_id in ctx.known_subjects:
        return
    # The stream's head, not the board row: a command needs no visit schedule parsed.
    if await asyncio.to_thread(ctx.store.head, subject_id) is None:
        raise NotFound(f"no subject {subject_id!r}", field="subject_id")
    if len(ctx.known_subjects) < _KNOWN_SUBJECTS_MAX:
        ctx.known_subjects.add(subject_id)


@router.post("/subjects", status_code=status.HTTP_201_CREATED, responses=COMMAND_RESPONSES)
async def register_subject(
    command: RegisterSubject, actor: Writer, ctx: Ctx, key: CommandKey
) -> SubmitResult:
    """Register a new subject; the actor is the authenticated user.

    Send an ``Idempotency-Key`` header (a UUID) or a ``command_id`` in the body, and send the
    same request again with it after a timeout: it is answered with the first outcome and
    records nothing twice."""
    actor = require_site(ctx, actor, command)
    check_role(command, actor)
    return await ctx.gateway.register(command, actor, key)


@router.post("/subjects/{subject_id}/commands", responses=COMMAND_RESPONSES)
async def submit_command(
    subject_id: str,
    command: Annotated[Command, Body()],
    actor: CommandWriter,
    ctx: Ctx,
    key: CommandKey,
) -> SubmitResult:
    """Send any command (discriminated by ``type``) to one subject's workflow.

    ``Idempotency-Key`` (or the body's ``command_id``) as for registration: a repeat returns
    the first outcome; the same key with a different body is a 409. Electronic signatures
    (eligibility, lymphodepletion approval, casebook sign-off) go to ``/signatures`` instead,
    with the password re-entered."""
    actor = require_site(ctx, actor, command)
    check_role(command, actor)
    if not isinstance(command, RegisterSubject):
        await _require_subject(ctx, subject_id)
    require_no_client_signature(command)
    if isinstance(command, RegisterSubject) and command.subject_id != subject_id:
        raise ValueOutOfRange(
            f"body registers {command.subject_id!r} but the path names {subject_id!r}",
            field="subject_id",
        )
    return await ctx.gateway.submit(subject_id, command, actor, key)


@router.get("/commands/{command_id}")
async def command_status(command_id: str, _: Reader, ctx: Ctx) -> CommandStatus:
    """Whether a command was applied (its events' seqs), refused (why) or is still pending."""
    found = await ctx.gateway.command_status(parse_command_id(command_id, "command_id"))
    if found is None:
        raise NotFound(
            f"no command {command_id} is known: it was never received, or it was refused "
            "before this server restarted; send it again with the same id",
            field="command_id",
        )
    return found


@router.get("/subjects/{subject_id}")
async def subject_state(subject_id: str, _: Reader, ctx: Ctx) -> SubjectState:
    return await ctx.gateway.state(subject_id)


@router.get("/subjects/{subject_id}/events")
async def subject_events(subject_id: str, _: Reader, ctx: Ctx) -> list[Event]:
    events = await asyncio.to_thread(ctx.store.read_stream, subject_id)
    if not events:
        raise NotFound(f"no subject {subject_id!r}", field="subject_id")
    return events


@router.get("/subjects/{subject_id}/visits")
async def subject_visits(subject_id: str, _: Reader, ctx: Ctx) -> list[ScheduledVisit]:
    return list((await _row(ctx, subject_id)).visits)


@router.get("/subjects/{subject_id}/visits.ics", response_class=Response)
async def subject_visits_ics(subject_id: str, _: Reader, ctx: Ctx) -> Response:
    row = await _row(ctx, subject_id)
    visits = due_visits([row], ctx.today(), _WHOLE_SCHEDULE_DAYS)
    body = calendar(
        visits, f"JY231 {subject_id} visits", zone_name=ctx.gateway.protocol.calendar.timezone
    )
    return Response(body, media_type=_ICS, headers=_attachment(f"{subject_id}-visits.ics"))


@router.get("/board")
async def board(
    actor: Reader,
    ctx: Ctx,
    phase: Phase | None = None,
    disease: str | None = None,
    dose_level: str | None = None,
) -> list[BoardItem]:
    rows = await asyncio.to_thread(
        ctx.store.board, phase.value if phase else None, disease or None, dose_level or None
    )
    today = ctx.today()
    return [board_item(row, today) for row in visible(ctx, actor, rows)]


@router.get("/visits/upcoming")
async def upcoming_visits(
    actor: Reader, ctx: Ctx, days: Annotated[int, Query(ge=0, le=366)] = 14
) -> list[DueVisit]:
    rows = visible(ctx, actor, await asyncio.to_thread(ctx.store.board))
    return due_visits(rows, ctx.today(), days)


@router.get("/visits.ics", response_class=Response)
async def visits_ics(
    actor: Reader, ctx: Ctx, days: Annotated[int, Query(ge=0, le=366)] = 14
) -> Response:
    rows = visible(ctx, actor, await asyncio.to_thread(ctx.store.board))
    body = calendar(
        due_visits(rows, ctx.today(), days),
        "JY231 upcoming visits",
        zone_name=ctx.gateway.protocol.calendar.timezone,
    )
    return Response(body, media_type=_ICS, headers=_attachment("jy231-visits.ics"))


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'inline; filename="{name}"'}
