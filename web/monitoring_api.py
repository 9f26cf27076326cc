"""REST API of the monitors' work: query lists, SDV status and the per-site monitoring report.

Queries are opened, answered, closed and re-opened, and forms verified, through the ordinary
command endpoint (``POST /api/subjects/{id}/commands``); monitors may send those commands only.
"""

from __future__ import annotations

import asyncio
import io
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from temporalio.service import RPCError

from audit.export import export_csv, export_jsonl
from audit.odm import export_odm
from domain.actors import Actor, Role
from domain.commands import Command
from domain.errors import NotFound, RoleNotAllowed
from domain.monitoring_events import SignatureMeaning
from domain.study import StudyState
from store.projection import BoardRow
from system.gateway import StudyGateway
from web.api import check_role
from web.context import AppContext, context
from web.monitoring_view import QueryRow, SdvRow, SiteReport, query_rows, sdv_rows, site_reports
from web.responses import API_RESPONSES
from web.security import api_actor, api_writer, client_address
from web.signing import SIGNED_COMMANDS, SignatureRefused, attest
from web.sites import visible
from web.study_api import NOT_RUNNING, StudyNotRunning
from workflows.study import DatabaseLockSubmission
from workflows.subject import SubmitResult

__all__ = ["router"]

router = APIRouter(prefix="/api", tags=["monitoring"], responses=API_RESPONSES)

Ctx = Annotated[AppContext, Depends(context)]
Reader = Annotated[Actor, Depends(api_actor)]
Writer = Annotated[Actor, Depends(api_writer)]
Status = Literal["open", "answered", "closed"]


async def _row(ctx: AppContext, subject_id: str) -> BoardRow:
    row = await asyncio.to_thread(ctx.store.board_row, subject_id)
    if row is None:
        raise NotFound(f"no subject {subject_id!r}", field="subject_id")
    return row


@router.get("/queries")
async def queries(
    actor: Reader,
    ctx: Ctx,
    site: str | None = None,
    status: Status | None = None,
    min_age_days: Annotated[int | None, Query(ge=0)] = None,
) -> list[QueryRow]:
    """Every query of the study, overdue first; filter by site, status and age in days."""
    rows = visible(ctx, actor, await asyncio.to_thread(ctx.store.board))
    return query_rows(
        rows,
        ctx.today(),
        ctx.gateway.protocol,
        site=site or None,
        status=status,
        min_age_days=min_age_days,
    )


@router.get("/subjects/{subject_id}/queries")
async def subject_queries(
    subject_id: str, _: Reader, ctx: Ctx, status: Status | None = None
) -> list[QueryRow]:
    row = await _row(ctx, subject_id)
    return query_rows([row], ctx.today(), ctx.gateway.protocol, status=status)


@router.get("/subjects/{subject_id}/sdv")
async def subject_sdv(subject_id: str, _: Reader, ctx: Ctx) -> list[SdvRow]:
    """Each form holding data: its SDV requirement (protocol data) and whether it is verified."""
    return sdv_rows(await _row(ctx, subject_id), ctx.gateway.protocol)


@router.get("/monitoring/report")
async def monitoring_report(actor: Reader, ctx: Ctx) -> list[SiteReport]:
    """Per site: verified %, open and overdue queries, overdue visits."""
    rows = visible(ctx, actor, await asyncio.to_thread(ctx.store.board))
    return site_reports(rows, ctx.today(), ctx.gateway.protocol)


class SignRequest(BaseModel):
    """A signing command with the signature's components re-entered (21 CFR 11.200)."""

    model_config = ConfigDict(extra="forbid")

    command: Command
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    meaning: SignatureMeaning | None = None


@router.post("/subjects/{subject_id}/signatures")
async def sign(
    subject_id: str, body: SignRequest, request: Request, actor: Writer, ctx: Ctx
) -> SubmitResult:
    """Sign eligibility, lymphodepletion approval, the PI's renal threshold override or the
    casebook (sign-off and lock).

    Every API call is its own session, so both components are re-entered: the user id and the
    password of the authenticated signer. The signature event names the printed name, the
    meaning and the hashes of the signed events.
    """
    command = body.command
    check_role(command, actor)
    if command.type not in SIGNED_COMMANDS:
        signed = ", ".join(k for k in SIGNED_COMMANDS if k != "sign_safety_review")
        raise SignatureRefused(
            f"{command.type} is not an electronic signature; sign one of: {signed}",
            field="command.type",
        )
    attestation = await attest(
        ctx,
        actor,
        address=client_address(request),
        password=body.password,
        username=body.username,
        meaning=body.meaning or SIGNED_COMMANDS[command.type],
        first_in_session=True,
    )
    signed_command = command.model_copy(update={"signature": attestation})
    return await ctx.gateway.submit(subject_id, signed_command, actor)


class DatabaseLockBody(BaseModel):
    """Lock: a reason and the PI's signature components; unlock: a reason."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000)
    username: str | None = Field(default=None, max_length=64)
    password: str | None = Field(default=None, max_length=256)
    meaning: SignatureMeaning = "responsibility"


def _pi_study(ctx: AppContext, actor: Actor) -> StudyGateway:
    if actor.role is not Role.PI:
        raise RoleNotAllowed("only the principal investigator locks and unlocks the database")
    if ctx.study is None:
        raise StudyNotRunning("this app is not connected to a study workflow")
    return ctx.study


@router.post("/study/database-lock")
async def lock_database(
    body: DatabaseLockBody, request: Request, actor: Writer, ctx: Ctx
) -> StudyState:
    """Study-wide database lock, signed (user id and password re-entered) with a reason.

    After it nothing but audit reads is possible: every subject command is refused (409).
    """
    study = _pi_study(ctx, actor)
    attestation = await attest(
        ctx,
        actor,
        address=client_address(request),
        password=body.password or "",
        username=body.username,
        meaning=body.meaning,
        first_in_session=True,
    )
    submission = DatabaseLockSubmission(
        lock=True, reason=body.reason, actor=actor, signature=attestation
    )
    try:
        return await study.database_lock(submission)
    except RPCError as exc:
        raise StudyNotRunning(NOT_RUNNING) from exc


@router.post("/study/database-unlock")
async def unlock_database(body: DatabaseLockBody, actor: Writer, ctx: Ctx) -> StudyState:
    """The recorded unlock of the study database (PI, with a reason)."""
    study = _pi_study(ctx, actor)
    submission = DatabaseLockSubmission(lock=False, reason=body.reason, actor=actor)
    try:
        return await study.database_lock(submission)
    except RPCError as exc:
        raise StudyNotRunning(NOT_RUNNING) from exc


_EXPORT_TYPES = {
    "odm": "application/xml",
    "jsonl": "application/x-ndjson",
    "csv": "text/csv; charset=utf-8",
}


@router.get("/subjects/{subject_id}/export", response_class=Response)
async def export_subject(
    subject_id: str, _: Reader, ctx: Ctx, format: Literal["odm", "jsonl", "csv"] = "odm"
) -> Response:
    """One subject's audit trail: CDISC ODM 1.3.2 (with queries, SDV and signatures), JSON
    Lines or CSV. A subject of another site is a 404 like everywhere else."""
    await _row(ctx, subject_id)
    out = io.StringIO()
    writer = {"odm": export_odm, "jsonl": export_jsonl, "csv": export_csv}[format]
    await asyncio.to_thread(writer, ctx.store, out, subject_id)
    name = f"{subject_id}-audit.{'xml' if format == 'odm' else format}"
    return Response(
        out.getvalue(),
        media_type=_EXPORT_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
