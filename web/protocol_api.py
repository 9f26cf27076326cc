"""Protocol versions over REST: the PI registers a signed amendment; anyone reads the versions.

Registering records the amendment on the trial's protocol stream and tells every running
subject (each moves onto it on its effective day, at a safe point, as ``protocol.amended``).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from domain.actors import Actor
from domain.protocol_diff import diff_protocols
from system.amendments import AmendmentRegistry, notify_subjects
from web.context import AppContext, context
from web.responses import API_RESPONSES
from web.security import api_actor, api_writer
from workflows.amendment import AmendmentNotice

__all__ = ["AmendmentBody", "router"]

router = APIRouter(prefix="/api/protocol", tags=["protocol"], responses=API_RESPONSES)

Ctx = Annotated[AppContext, Depends(context)]
Writer = Annotated[Actor, Depends(api_writer)]
Reader = Annotated[Actor, Depends(api_actor)]


class AmendmentBody(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    toml: str = Field(min_length=1, max_length=500_000, description="The protocol file's text")
    effective_on: date


class AmendmentRegistered(BaseModel):
    version: str
    previous_version: str
    effective_on: date
    sha256: str
    summary: str
    changes: int
    subjects_notified: list[str]
    subjects_skipped: dict[str, str]


@router.post("/amendments", status_code=201)
async def register_amendment(body: AmendmentBody, actor: Writer, ctx: Ctx) -> AmendmentRegistered:
    """The PI signs a new protocol version into force from ``effective_on`` (site days)."""
    current = ctx.gateway.protocol
    registry = AmendmentRegistry(ctx.store)
    new, registered = await asyncio.to_thread(
        registry.register, body.toml, body.effective_on, actor, datetime.now(UTC), current
    )
    if body.effective_on <= ctx.today():
        # New registrations start under the version now in force.
        ctx.gateway.protocol = new
    fanout = await notify_subjects(
        ctx.gateway.client,
        ctx.store,
        AmendmentNotice(protocol=new, effective_on=body.effective_on, actor=actor),
    )
    return AmendmentRegistered(
        version=registered.version,
        previous_version=registered.previous_version,
        effective_on=registered.effective_on,
        sha256=registered.sha256,
        summary=registered.summary,
        changes=len(diff_protocols(current, new)),
        subjects_notified=fanout.notified,
        subjects_skipped=fanout.skipped,
    )


@router.get("/amendments")
async def list_amendments(_: Reader, ctx: Ctx) -> list[dict[str, Any]]:
    """Every registered amendment, oldest first (without the file text)."""
    registered = await asyncio.to_thread(
        AmendmentRegistry(ctx.store).registered, ctx.gateway.protocol
    )
    return [r.model_dump(mode="json", exclude={"toml"}) for r in registered]
