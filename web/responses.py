"""The answers every REST operation documents besides its success: the real error bodies.

web.errors writes these bodies; the models here are how the OpenAPI document describes them,
so a client (and the schema-driven fuzz test) can rely on each status having this shape.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

__all__ = [
    "API_RESPONSES",
    "COMMAND_RESPONSES",
    "ErrorBody",
    "FieldError",
    "PendingBody",
    "UnavailableBody",
    "ValidationBody",
]


class FieldError(BaseModel):
    """One refused input: the field (dotted path; null for the body as a whole), the rule it
    broke and a message for people."""

    field: str | None
    rule: str | None
    msg: str | None


class ValidationBody(BaseModel):
    detail: list[FieldError]


class ErrorBody(BaseModel):
    """A refusal: the message, and for the domain's refusals its code and the field at fault."""

    detail: str
    code: str | None = None
    field: str | None = None


class PendingBody(BaseModel):
    command_id: str
    status: str
    detail: str


class UnavailableBody(BaseModel):
    """``dependency`` names what does not answer; a refused seal of this server's own (a key or
    clock misconfiguration) answers ``code`` and ``field`` instead."""

    detail: str
    dependency: str | None = None
    code: str | None = None
    field: str | None = None


# Every /api operation: authentication, role and site scoping, the domain's refusals and the
# outage answer can reach any of them.
API_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "not authenticated (see WWW-Authenticate)"},
    403: {"model": ErrorBody, "description": "the role may not do this"},
    404: {"model": ErrorBody, "description": "no such subject, unit or command"},
    409: {"model": ErrorBody, "description": "refused in the record's present state"},
    422: {"model": ValidationBody, "description": "bad input: each {field, rule, msg}"},
    429: {"model": ErrorBody, "description": "account locked after failed logins; Retry-After"},
    503: {
        "model": UnavailableBody,
        "description": "Temporal, the worker or the event store is unavailable; see Retry-After",
    },
}

COMMAND_RESPONSES: dict[int | str, dict[str, Any]] = {
    **API_RESPONSES,
    202: {
        "model": PendingBody,
        "description": "accepted, answer still pending; poll GET /api/commands/{command_id}",
    },
    409: {
        "model": ErrorBody,
        "description": "refused in this phase, or the Idempotency-Key was used for another body",
    },
}
