"""Command ids at the HTTP edge: the Idempotency-Key header, the body's ``command_id``, and a
form's hidden id.

The command models forbid unknown fields and stay free of transport concerns, so a JSON body's
``command_id`` is taken out before the command is parsed (CommandIdRoute) and compared with the
header here; the OpenAPI document still shows it on every command body.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Coroutine, MutableMapping
from typing import Annotated, Any

from fastapi import Depends, Header, Request, Response
from fastapi.routing import APIRoute

from domain.errors import ValueOutOfRange

__all__ = [
    "BODY_FIELD",
    "CommandIdRoute",
    "CommandKey",
    "IdempotencyKey",
    "command_id",
    "command_key",
    "document_body_command_id",
    "form_command_id",
    "parse_command_id",
]

BODY_FIELD = "command_id"
HEADER = "Idempotency-Key"
# Where the route leaves the body's command id for the dependency (absent: the body had none).
_SCOPE_KEY = "jy231.body_command_id"
_UUID_SCHEMA = {
    "type": "string",
    "format": "uuid",
    "description": f"A UUID chosen by the client for this command, instead of the {HEADER} "
    "header (when both are sent they must be the same); reuse it to retry.",
}

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias=HEADER,
        description="A UUID chosen by the client for this command; reuse it to retry. "
        f"The body's `{BODY_FIELD}` may carry it instead.",
    ),
]


def parse_command_id(text: str, field: str) -> str:
    """The canonical (lower-case, hyphenated) form of a UUID, or a 422 naming ``field``."""
    try:
        return str(uuid.UUID(text.strip()))
    except ValueError as exc:
        raise ValueOutOfRange(f"{field} must be a UUID, got {text[:60]!r}", field=field) from exc


def form_command_id(text: str) -> str | None:
    """A form's hidden command id; a missing or mangled one just gets a fresh id downstream."""
    try:
        return str(uuid.UUID(text.strip())) if text.strip() else None
    except ValueError:
        return None


def command_id(key: str | None) -> str | None:
    return parse_command_id(key, HEADER) if key is not None else None


async def command_key(request: Request, key: IdempotencyKey = None) -> str | None:
    """The command's id from the header or the body (None: the server chooses one).

    Both may be sent only if they name the same id: two different ids for one request would
    leave it unclear which retry it belongs to."""
    from_header = command_id(key)
    if _SCOPE_KEY not in request.scope:
        return from_header
    raw = request.scope[_SCOPE_KEY]
    if not isinstance(raw, str):
        raise ValueOutOfRange(f"{BODY_FIELD} must be a UUID string", field=BODY_FIELD)
    from_body = parse_command_id(raw, BODY_FIELD)
    if from_header is not None and from_header != from_body:
        raise ValueOutOfRange(
            f"the {HEADER} header names command {from_header} but the body's {BODY_FIELD} "
            f"names {from_body}; send one of them, or the same id in both",
            field=BODY_FIELD,
        )
    return from_body


CommandKey = Annotated[str | None, Depends(command_key)]


def _take_command_id(raw: bytes, scope: MutableMapping[str, Any]) -> tuple[bytes, Any]:
    """The body without ``command_id``, as bytes and parsed (None: not a JSON object)."""
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return raw, None  # FastAPI answers it with its own 422
    if not isinstance(body, dict):
        return raw, None
    if BODY_FIELD not in body:
        return raw, body
    scope[_SCOPE_KEY] = body.pop(BODY_FIELD)
    return json.dumps(body).encode(), body


class _CommandIdRequest(Request):
    async def body(self) -> bytes:
        raw = await super().body()
        if "jy231.body_read" not in self.scope:
            self.scope["jy231.body_read"] = True
            self._body, parsed = _take_command_id(raw, self.scope)
            if parsed is not None:
                # What ``json()`` would parse from ``_body`` again: FastAPI asks for it next.
                self._json = parsed
        return self._body


class CommandIdRoute(APIRoute):
    """A route whose JSON body may carry ``command_id`` beside the command's own fields."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            return await handler(_CommandIdRequest(request.scope, request.receive))

        return route


def document_body_command_id(spec: dict[str, Any]) -> dict[str, Any]:
    """Shows ``command_id`` on the body of every operation that takes the Idempotency-Key."""
    schemas = spec.get("components", {}).get("schemas", {})
    for operation in (op for ops in spec.get("paths", {}).values() for op in ops.values()):
        names = {p.get("name") for p in operation.get("parameters", ())}
        if HEADER not in names:
            continue
        content = operation.get("requestBody", {}).get("content", {})
        body = content.get("application/json", {}).get("schema", {})
        for ref in [body, *body.get("oneOf", ())]:
            name = ref.get("$ref", "").rpartition("/")[2]
            if name in schemas:
                schemas[name].setdefault("properties", {})[BODY_FIELD] = _UUID_SCHEMA
    return spec
