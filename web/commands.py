"""Command ids at the HTTP edge: the Idempotency-Key header and a form's hidden id."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Header

from domain.errors import ValueOutOfRange

__all__ = [
    "IdempotencyKey",
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
