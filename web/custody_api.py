"""REST API of the chain of custody: shipper-log CSV upload, labels, the material board.

Handoffs, release, the PI's out-of-spec decision and the bedside check are ordinary commands
sent to ``POST /api/subjects/{id}/commands``.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict

from domain import custody_commands as cc
from domain.actors import Actor
from domain.custody import CustodyUnit
from domain.custody_slots import WeekLoad, chain_from, week_load
from domain.errors import MissingPrerequisite, NotFound, ValueOutOfRange, WrongPhase
from domain.shipper_log import parse_logger_csv
from domain.state import SubjectState
from domain.subject import fold
from domain.values import Phase
from web.api import check_role
from web.context import AppContext, context
from web.custody_view import MaterialItem, VeinToVein, material_board, vein_to_vein
from web.labels import label_png
from web.responses import API_RESPONSES
from web.security import api_actor, api_writer
from workflows.subject import SubmitResult

__all__ = [
    "SlotRequest",
    "all_custody_states",
    "book_slots",
    "custody_states",
    "label_for",
    "router",
    "slot_load",
    "stored_state",
    "temperature_command",
]

router = APIRouter(prefix="/api", tags=["custody"], responses=API_RESPONSES)

Ctx = Annotated[AppContext, Depends(context)]
Reader = Annotated[Actor, Depends(api_actor)]
Writer = Annotated[Actor, Depends(api_writer)]

_MAX_CSV_BYTES = 2_000_000
# Phases in which a subject's material can be anywhere but in the subject.
_MOVING = (Phase.ENROLLED, Phase.APHERESIS, Phase.AWAITING_PRODUCT, Phase.LYMPHODEPLETION)


async def stored_state(ctx: AppContext, subject_id: str) -> SubjectState:
    """The subject folded from the store, so labels print while Temporal is down."""
    events = await asyncio.to_thread(ctx.store.read_stream, subject_id)
    if not events:
        raise NotFound(f"no subject {subject_id!r}", field="subject_id")
    return fold(events)


async def custody_states(ctx: AppContext) -> list[SubjectState]:
    def load() -> list[SubjectState]:
        rows = [r for phase in _MOVING for r in ctx.store.board(phase.value)]
        return [fold(ctx.store.read_stream(r.subject_id)) for r in rows]

    return await asyncio.to_thread(load)


async def all_custody_states(ctx: AppContext) -> list[SubjectState]:
    """Every subject folded, for the vein-to-vein figures (a pilot's handful of streams)."""

    def load() -> list[SubjectState]:
        rows = [r for r in ctx.store.board() if r.phase not in (Phase.NEW, Phase.REGISTERED)]
        return [fold(ctx.store.read_stream(r.subject_id)) for r in rows]

    return await asyncio.to_thread(load)


class SlotRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    apheresis_on: date


def slot_load(states: list[SubjectState], ctx: AppContext) -> list[WeekLoad]:
    rules = ctx.gateway.protocol.custody.slots if ctx.gateway.protocol.custody else None
    if rules is None:
        return []
    return week_load((s.custody.booking for s in states if s.custody.booking), rules)


async def book_slots(
    ctx: AppContext, subject_id: str, apheresis_on: date, actor: Actor
) -> SubmitResult:
    """Move the subject's apheresis day when that week still has apheresis and manufacturing
    capacity (counted over every subject's booking; the domain checks the rest)."""
    protocol = ctx.gateway.protocol
    rules = protocol.custody.slots if protocol.custody else None
    if rules is None:
        raise MissingPrerequisite("the protocol has no manufacturing slot data")
    wanted = chain_from(apheresis_on, rules, protocol)
    others = [s for s in await custody_states(ctx) if s.subject_id != subject_id]
    load = {w.week: w for w in slot_load(others, ctx)}
    for day, kind in (
        (wanted.apheresis_on, "apheresis"),
        (wanted.manufacturing_start_on, "manufacturing"),
    ):
        year, week, _ = day.isocalendar()
        booked = load.get(f"{year}-W{week:02d}")
        used = (booked.apheresis if kind == "apheresis" else booked.manufacturing) if booked else 0
        capacity = rules.apheresis_per_week if kind == "apheresis" else rules.manufacturing_per_week
        if used >= capacity:
            raise WrongPhase(
                f"{kind} week {year}-W{week:02d} is full ({used} of {capacity} slots booked)",
                field="apheresis_on",
            )
    command = cc.BookSlots(occurred_at=datetime.now(UTC), apheresis_on=apheresis_on)
    check_role(command, actor)
    return await ctx.gateway.submit(subject_id, command, actor)


def label_for(state: SubjectState, unit_id: str | None) -> bytes:
    if state.custody.coi is None:
        raise MissingPrerequisite(
            f"subject {state.subject_id} has no chain-of-identity id (not enrolled under the "
            "chain of custody)",
            field="subject_id",
        )
    unit: CustodyUnit | None = None
    if unit_id:
        unit = state.custody.unit(unit_id)
        if unit is None:
            raise NotFound(f"unit {unit_id} is not one of this subject's units", field="unit_id")
    return label_png(state.subject_id, state.custody.coi, unit)


def temperature_command(unit_id: str, logger_id: str, body: bytes) -> cc.UploadTemperatureLog:
    if len(body) > _MAX_CSV_BYTES:
        raise ValueOutOfRange(f"the CSV is larger than {_MAX_CSV_BYTES} bytes", field="csv")
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueOutOfRange("the CSV is not UTF-8 text", field="csv") from exc
    if not logger_id.strip():
        raise ValueOutOfRange("logger_id is required", field="logger_id")
    return cc.UploadTemperatureLog(
        occurred_at=datetime.now(UTC),
        unit_id=unit_id,
        logger_id=logger_id.strip(),
        readings=parse_logger_csv(text),
    )


@router.post("/subjects/{subject_id}/units/{unit_id}/temperature-log")
async def upload_temperature_log(
    subject_id: str, unit_id: str, request: Request, actor: Writer, ctx: Ctx, logger_id: str = ""
) -> SubmitResult:
    """A shipper data-logger CSV (``text/csv`` body: a time and a °C column) for one unit."""
    command = temperature_command(unit_id, logger_id, await request.body())
    check_role(command, actor)
    return await ctx.gateway.submit(subject_id, command, actor)


@router.get("/subjects/{subject_id}/label.png", response_class=Response)
async def label(subject_id: str, _: Reader, ctx: Ctx, unit_id: str = "") -> Response:
    """The subject's COI label, or a unit's label with ``?unit_id=``: PNG with a QR code."""
    png = label_for(await stored_state(ctx, subject_id), unit_id or None)
    return Response(png, media_type="image/png")


@router.post("/subjects/{subject_id}/slots")
async def book_subject_slots(
    subject_id: str, request: SlotRequest, actor: Writer, ctx: Ctx
) -> SubmitResult:
    """Book or move the apheresis day (409 when its week, or the manufacturing week that
    follows, is full)."""
    return await book_slots(ctx, subject_id, request.apheresis_on, actor)


@router.get("/custody/slots")
async def custody_slots(_: Reader, ctx: Ctx) -> list[WeekLoad]:
    """Booked apheresis and manufacturing slots per ISO week against the site's capacity."""
    return slot_load(await custody_states(ctx), ctx)


@router.get("/custody/board")
async def custody_board(_: Reader, ctx: Ctx) -> list[MaterialItem]:
    """Material in transit, in manufacturing or awaiting infusion, across all subjects."""
    return material_board(await custody_states(ctx))


@router.get("/custody/vein-to-vein")
async def custody_vein_to_vein(_: Reader, ctx: Ctx) -> VeinToVein:
    """Days from first collection to infusion per infused subject, and their median."""
    return vein_to_vein(await all_custody_states(ctx))
