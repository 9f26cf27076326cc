"""Command ids at the HTTP edge: the Idempotency-Key header and the documented answers."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Header
from pydantic import BaseModel

from domain.errors import ValueOutOfRange

__all__ = [
    "COMMAND_RESPONSES",
    "READ_RESPONSES",
    "ErrorBody",
    "FieldError",
    "IdempotencyKey",
    "PendingBody",
    "UnavailableBody",
    "ValidationBody",
    "command_id",
    "form_command_id",
    "parse_command_id",
]

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="A UUID chosen by the client for this command; reuse it to retry.",
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
    return parse_command_id(key, "Idempotency-Key") if key is not None else None


class FieldError(BaseModel):
    field: str | None
    rule: str | None
    msg: str | None


class ValidationBody(BaseModel):
    detail: list[FieldError]


class ErrorBody(BaseModel):
    detail: Any
    code: str | None = None
    field: str | None = None


class PendingBody(BaseModel):
    command_id: str
    status: str
    detail: str


class UnavailableBody(BaseModel):
    detail: str
    dependency: str


_COMMON: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "not authenticated"},
    403: {"model": ErrorBody, "description": "the role may not do this"},
    404: {"model": ErrorBody, "description": "no such subject or command"},
    422: {"model": ValidationBody, "description": "bad input: each {field, rule, msg}"},
    503: {
        "model": UnavailableBody,
        "description": "Temporal, the worker or the event store is unavailable; see Retry-After",
    },
}

READ_RESPONSES: dict[int | str, dict[str, Any]] = dict(_COMMON)

COMMAND_RESPONSES: dict[int | str, dict[str, Any]] = {
    **_COMMON,
    202: {
        "model": PendingBody,
        "description": "accepted, answer still pending; poll GET /api/commands/{command_id}",
    },
    409: {
        "model": ErrorBody,
        "description": "refused in this phase, or the Idempotency-Key was used for another body",
    },
}
