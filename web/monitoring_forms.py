"""Dashboard forms of the monitors and the PI's oversight: queries, SDV, casebook unlock."""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel

from domain import commands as c
from domain.protocol import Protocol
from domain.state import SubjectState
from web.form_fields import FormSpec, fields_of

__all__ = ["MONITORING_FORMS"]

# ``signature`` is made by the server from the re-entered password (web/signing.py).
_IMPLICIT = frozenset({"type", "occurred_at", "signature"})
_LABELS = {
    "target_seq": "Event # (from the timeline)",
    "field": "Field (optional)",
    "query_id": "Query",
    "form": "Form",
    "scope": "Scope (casebook or visit:<code>)",
}


def _has_open_query(state: SubjectState, protocol: Protocol) -> bool:
    return any(q.status == "open" for q in state.queries)


def _has_unclosed_query(state: SubjectState, protocol: Protocol) -> bool:
    return any(q.status != "closed" for q in state.queries)


def _has_answered_query(state: SubjectState, protocol: Protocol) -> bool:
    return any(q.status != "open" for q in state.queries)


def _has_data(state: SubjectState, protocol: Protocol) -> bool:
    return any(x.form is not None for x in state.ledger)


def _is_locked(state: SubjectState, protocol: Protocol) -> bool:
    return bool(state.locks)


def _spec(
    command: str,
    title: str,
    model: type[BaseModel],
    applies: Callable[[SubjectState, Protocol], bool] | None = None,
) -> FormSpec:
    fields = fields_of(model, exclude=_IMPLICIT, labels=_LABELS)
    return FormSpec(
        command,
        title,
        model,
        tuple(sorted(fields, key=lambda f: f.name == "reason")),
        group="monitoring",
        applies=applies,
    )


MONITORING_FORMS: dict[str, FormSpec] = {
    spec.command: spec
    for spec in (
        _spec("open_query", "Open query", c.OpenQuery),
        _spec("answer_query", "Answer query", c.AnswerQuery, _has_open_query),
        _spec("close_query", "Close query", c.CloseQuery, _has_unclosed_query),
        _spec("reopen_query", "Re-open query", c.ReopenQuery, _has_answered_query),
        _spec("verify_source", "Verify source data", c.VerifySource),
        _spec("sign_casebook", "Sign off and lock casebook", c.SignCasebook, _has_data),
        _spec("unlock_casebook", "Unlock casebook", c.UnlockCasebook, _is_locked),
    )
}
