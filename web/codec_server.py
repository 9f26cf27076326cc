"""The codec endpoint the Temporal UI calls to show encrypted payloads to authorised staff.

Temporal's remote-codec protocol: ``POST /codec/decode`` (and ``/codec/encode``) with a JSON
``{"payloads": [...]}`` body in protobuf-JSON form, answered in kind. The UI runs in the
browser on its own origin, so the answer carries CORS headers for that origin only, with
credentials: the dashboard's session cookie (same site) or an API credential authenticates.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from temporalio.api.common.v1 import Payloads

from domain.actors import Actor, Role
from system.codec import PayloadKeyError
from web.context import AppContext, context
from web.security import authenticate, live_session

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
Ctx = Annotated[AppContext, Depends(context)]


def _cors(request: Request, ctx: AppContext, response: Response) -> None:
    origin = request.headers.get("origin")
    if origin and origin in ctx.codec_origins:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Credentials"] = "true"
        response.headers["Access-Control-Allow-Methods"] = "POST, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = (
            "Content-Type, X-Namespace, Authorization"
        )
        response.headers["Access-Control-Max-Age"] = "600"
    response.headers["Vary"] = "Origin"


async def _actor(request: Request, ctx: AppContext) -> Actor:
    # The UI sends the dashboard's cookie (same site) when set to include credentials.
    session = live_session(request, ctx)
    user = ctx.users.get(session.username) if session else None
    return user.actor if user is not None else await authenticate(request, ctx)


@router.options("/codec/{operation}")
async def codec_preflight(operation: str, request: Request, ctx: Ctx) -> Response:
    response = Response(status_code=204)
    _cors(request, ctx, response)
    return response


@router.post("/codec/{operation}")
async def codec(operation: str, request: Request, ctx: Ctx) -> Response:
    if operation not in {"decode", "encode"}:
        raise HTTPException(404, "the codec offers /codec/decode and /codec/encode")
    actor = await _actor(request, ctx)
    if operation == "encode" and actor.role is Role.MONITOR:
        raise HTTPException(403, "monitors may decode payloads, not encode them")
    if ctx.codec is None:
        raise HTTPException(503, "this web app holds no payload keys")
    try:
        payloads = json_format.Parse(await request.body(), Payloads())
    except (json_format.ParseError, DecodeError, UnicodeDecodeError) as exc:
        raise HTTPException(422, f"body: not a Payloads JSON object ({exc})") from None
    try:
        if operation == "decode":
            result = await ctx.codec.decode(list(payloads.payloads))
        else:
            result = await ctx.codec.encode(list(payloads.payloads))
    except PayloadKeyError as exc:
        raise HTTPException(422, str(exc)) from None
    response = Response(
        json_format.MessageToJson(Payloads(payloads=result)), media_type="application/json"
    )
    _cors(request, ctx, response)
    return response
