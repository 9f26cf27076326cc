"""The study's commands over REST: a subject's dose-level slot and the PI's signed review.

Same StudyGateway as the dashboard forms in web.study_pages; refusals go through the shared
DomainError handler in web.errors, so the status codes match the rest of the API.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from temporalio.service import RPCError, RPCStatusCode

from domain.actors import Actor, Role
from domain.errors import DomainError, RoleNotAllowed
from domain.monitoring_events import SignatureMeaning
from domain.study import SlotDecision, StudyState
from system.gateway import StudyGateway
from web.context import AppContext, context
from web.responses import API_RESPONSES, ErrorBody
from web.security import api_writer, client_address
from web.signing import attest

__all__ = ["NOT_RUNNING", "ReviewBody", "SlotBody", "StudyNotRunning", "router"]

router = APIRouter(prefix="/api", tags=["study"], responses=API_RESPONSES)

Ctx = Annotated[AppContext, Depends(context)]
Writer = Annotated[Actor, Depends(api_writer)]

NOT_RUNNING = "the study workflow is not running; start it before sending study commands"
# The same rule as domain.study's commands, so bad input is a 422 before Temporal is called.
_DOSE_LEVEL = r"^DL[0-9]+$"


class StudyNotRunning(DomainError):
    """No StudyWorkflow to ask: a state of the system (409), not a fault of the input."""

    code = "study_not_running"


class SlotBody(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    dose_level: str = Field(pattern=_DOSE_LEVEL, examples=["DL1"])


class ReviewBody(BaseModel):
    """What domain.study.SignSafetyReview needs from the PI; the workflow stamps the time."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    dose_level: str = Field(pattern=_DOSE_LEVEL, examples=["DL1"])
    decision: Literal["escalate", "stay"]
    summary: str = Field(min_length=1, max_length=4000)
    # The review is an electronic signature: the PI's user id and password, re-entered.
    username: str | None = Field(default=None, max_length=64)
    password: str | None = Field(default=None, max_length=256)
    meaning: SignatureMeaning = "review"


class SlotRefusal(BaseModel):
    """409 body of a refused slot: the usual error fields plus the study's full answer."""

    detail: str
    code: Literal["slot_refused"] = "slot_refused"
    field: Literal["dose_level"] = "dose_level"
    decision: SlotDecision


def _study(ctx: AppContext) -> StudyGateway:
    if ctx.study is None:
        raise StudyNotRunning("this app is not connected to a study workflow")
    return ctx.study


def _missing_study(exc: RPCError) -> StudyNotRunning:
    # Only a missing workflow is a 409; anything else is an outage and stays a 500.
    if exc.status is not RPCStatusCode.NOT_FOUND:
        raise exc
    return StudyNotRunning(NOT_RUNNING)


@router.post(
    "/subjects/{subject_id}/slot",
    response_model=SlotDecision,
    responses={
        409: {
            "model": SlotRefusal | ErrorBody,
            "description": "The study refuses the slot (body carries its decision), no study "
            "workflow is running, or the domain refuses",
        },
    },
)
async def request_slot(
    subject_id: str, body: SlotBody, actor: Writer, ctx: Ctx
) -> SlotDecision | JSONResponse:
    """Ask the StudyWorkflow for a dose-level slot before lymphodepletion.

    ``granted`` (returned once the subject holds it) or ``wait`` (with ``wait_until`` when
    sentinel staggering sets a date) answer 200; a ``refused`` slot answers 409.
    """
    study = _study(ctx)
    try:
        answer = await study.request_slot(subject_id, body.dose_level, actor)
    except RPCError as exc:
        raise _missing_study(exc) from exc
    if answer.decision == "refused":
        # A refusal changes nothing, so it is an error status the CLI and scripts can test for.
        refusal = SlotRefusal(detail=answer.reason, decision=answer)
        return JSONResponse(refusal.model_dump(mode="json"), status_code=409)
    return answer


@router.post("/study/reviews")
async def sign_safety_review(
    request: Request, body: ReviewBody, actor: Writer, ctx: Ctx
) -> StudyState:
    """The PI's signed safety review of a level the 3+3 rule made eligible for escalation."""
    # Checked here so a non-PI's review never reaches Temporal; the workflow checks again.
    if actor.role is not Role.PI:
        raise RoleNotAllowed("only the principal investigator signs safety reviews")
    study = _study(ctx)
    signature = await attest(
        ctx,
        actor,
        address=client_address(request),
        password=body.password or "",
        username=body.username,
        meaning=body.meaning,
        first_in_session=True,
    )
    try:
        return await study.sign_safety_review(
            body.dose_level, body.decision, body.summary, actor, signature
        )
    except RPCError as exc:
        raise _missing_study(exc) from exc
